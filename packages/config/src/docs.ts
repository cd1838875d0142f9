/** configDocs: the configuration reference (docs/config.md), generated from the schema descriptions. */
import type { z } from 'zod';
import { envName } from './internal/env.js';
import { describeType, docDefault, keysOf, unwrap } from './internal/types.js';
import { configSchema } from './schema.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rows(schema: z.ZodType, path: string[], out: string[]): void {
  for (const key of keysOf(schema)) {
    const field = (unwrap(schema) as z.ZodObject).shape[key] as z.ZodType;
    const p = [...path, key];
    if (keysOf(field).length > 0) {
      out.push(`| **\`${p.join('.')}\`** | section | | | ${cell(field.description ?? '')} |`);
      rows(field, p, out);
      continue;
    }
    const def = docDefault(field);
    out.push(
      `| \`${p.join('.')}\` | ${cell(describeType(field))} | ${def === undefined ? '—' : cell(def)} | \`${envName(p)}\` | ${cell(field.description ?? '')} |`,
    );
  }
}

/** Markdown reference of every configuration key: type, default, environment variable, meaning. */
export function configDocs(): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from packages/config/src/schema.ts by `pnpm --filter @rstwatch/config docs`. Do not edit. -->',
    '',
    'Every rstwatch service reads one YAML file (`--config FILE`, or the path in `RSTWATCH_CONFIG`). Values are',
    'merged in this order, later wins: **defaults < file < environment < command-line flags**. The result is',
    'validated at start: unknown keys are rejected, and an error names the key, where the value came from and',
    'what is allowed, e.g.',
    '',
    '```',
    'config error at clickhouse.writer.maxRows (rstwatch.yaml:12): expected a positive integer, got "x"',
    'config error at agent.compression (env RSTWATCH_AGENT__COMPRESSION): expected one of none|gzip|snappy|lz4|zstd, got "brotli"',
    '```',
    '',
    '**Environment overrides** name the key path: `RSTWATCH_` + the path with `__` between levels, each key in',
    'SNAKE_CASE (`RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS=1000`). Numbers and booleans (`true/false/1/0`) are',
    'converted as the key expects; lists are comma-separated (`RSTWATCH_KAFKA__BROKERS=a:9092,b:9092`).',
    'Variables without `__` (e.g. `RSTWATCH_CONFIG`) are not config keys and are not checked.',
    '`RSTWATCH_CONFIG` is the file path, not a key.',
    '',
    '**Secrets**: `password` fields can instead be read from a file (`passwordFile`, trailing newline removed);',
    'set one or the other. `rstwatch config dump` prints the effective configuration with secrets shown as `<redacted>`;',
    '`rstwatch config check` validates and exits.',
    '',
  ];
  for (const key of keysOf(configSchema)) {
    const section = configSchema.shape[key as keyof typeof configSchema.shape] as z.ZodType;
    out.push(`## \`${key}\``, '', section.description ?? '', '');
    out.push('| key | type | default | environment | description |', '|---|---|---|---|---|');
    rows(section, [key], out);
    out.push('');
  }
  return out.join('\n');
}
