// The docs match the CLI: every `rstwatch SUBCOMMAND --flag ...` written in README.md and docs/*.md (code
// blocks and inline code) names a subcommand that exists and only flags that its --help lists.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'services/cli/dist/main.js');

/** Commands with subcommands of their own (`config check`). */
const NESTED = new Set(['config']);

export interface DocCommand {
  file: string;
  command: string;
  flags: string[];
}

/** `rstwatch ...` invocations in markdown: fenced code lines and inline code spans. */
export function docCommands(file: string, text: string): DocCommand[] {
  const snippets: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) snippets.push(line);
    else for (const m of line.matchAll(/`([^`]+)`/g)) snippets.push(m[1]!);
  }
  const out: DocCommand[] = [];
  for (const s of snippets) {
    for (const m of s.matchAll(
      /(?:^\s*|[|;&(]\s*|\$ |sudo |exec |\/)(?:pnpm )?rstwatch ([a-z][a-z-]*)((?: +[^\s#|;&)]+)*)/g,
    )) {
      const words = m[2]!.trim().split(/\s+/).filter(Boolean);
      let command = m[1]!;
      if (NESTED.has(command) && words[0] && /^[a-z]/.test(words[0])) command += ` ${words.shift()}`;
      const flags = words
        .filter((w) => w.startsWith('--'))
        .flatMap((w) => w.split('/'))
        .map((w) => w.replace(/=.*$/, ''));
      out.push({ file, command, flags });
    }
  }
  return out;
}

function docs(): DocCommand[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((f) => docCommands(f, readFileSync(join(root, f), 'utf8')));
}

const helpCache = new Map<string, { code: number | null; out: string }>();
function help(command: string) {
  let h = helpCache.get(command);
  if (!h) {
    const args = command === '' ? [] : command.split(' ');
    const r = spawnSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8' });
    h = { code: r.status, out: r.stdout };
    helpCache.set(command, h);
  }
  return h;
}

describe('docs match the CLI', () => {
  it('finds commands and flags in markdown (and would catch a flag that does not exist)', () => {
    const found = docCommands(
      'x.md',
      '```sh\npnpm rstwatch analyze x.pcap --alerts a.ndjson --nope\n```\nrun `rstwatch config dump --show-secrets`',
    );
    expect(found).toEqual([
      { file: 'x.md', command: 'analyze', flags: ['--alerts', '--nope'] },
      { file: 'x.md', command: 'config dump', flags: ['--show-secrets'] },
    ]);
    expect(help('analyze').out).not.toMatch(/--nope\b/);
  });

  it('every documented subcommand exists and every documented flag is in its --help', () => {
    const all = docs();
    expect(all.length).toBeGreaterThan(30);
    const wrong: string[] = [];
    for (const d of all) {
      const h = help(d.command);
      if (h.code !== 0) {
        wrong.push(`${d.file}: rstwatch ${d.command}: no such command`);
        continue;
      }
      for (const f of d.flags) {
        // The program's own flags (--help, --version, --config, --log-level) are valid everywhere.
        if (['--help', '--version'].includes(f)) continue;
        if (
          !new RegExp(`(^|[\\s,])${f}\\b`, 'm').test(h.out) &&
          !new RegExp(`(^|[\\s,])${f}\\b`, 'm').test(help('').out)
        ) {
          wrong.push(`${d.file}: rstwatch ${d.command} ${f}: not in its --help`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
