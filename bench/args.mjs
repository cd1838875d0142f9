// Command-line options of the bench scripts: Node's parseArgs, plus `--help` / `-h` (the script's
// opening comment, which documents it) and a short message instead of a stack trace on a bad option.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The `//` comment block at the top of a script, without the markers. */
function headerOf(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = [];
  for (const line of lines.slice(lines[0]?.startsWith('#!') ? 1 : 0)) {
    if (!line.startsWith('//')) break;
    out.push(line.replace(/^\/\/ ?/, ''));
  }
  return `${out.join('\n')}\n`;
}

/** `parseArgs(config)` for the script at `metaUrl` (its `import.meta.url`). */
export function parseBenchArgs(metaUrl, config) {
  const file = fileURLToPath(metaUrl);
  const options = { ...config.options, help: { type: 'boolean', short: 'h' } };
  let parsed;
  try {
    parsed = parseArgs({ ...config, options });
  } catch (err) {
    process.stderr.write(`bench/${basename(file)}: ${err.message}\n(--help for the options)\n`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(headerOf(file));
    process.exit(0);
  }
  return parsed;
}
