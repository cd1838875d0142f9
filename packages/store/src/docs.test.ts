// The ClickHouse docs are hand-written around the generated column tables: keep them in sync with the schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUERIES } from './queries.js';
import { TABLES, VIEWS } from './schema.js';

const docs = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');
/** Markdown formatters pad table cells: compare with runs of spaces collapsed. */
const squash = (s: string) => s.replace(/ {2,}/g, ' ');

describe('docs', () => {
  it('clickhouse.md documents every table, column (with its type) and view', () => {
    const md = squash(docs('clickhouse.md'));
    for (const t of TABLES) {
      expect(md).toContain(`### \`${t.name}\``);
      const section = md.slice(md.indexOf(`### \`${t.name}\``)).split('\n### ')[0]!;
      expect(section).toContain(`ORDER BY ${t.orderBy}`);
      for (const c of t.columns)
        expect(section, `${t.name}.${c.name}`).toContain(`| \`${c.name}\` | \`${c.type}\``);
    }
    for (const v of VIEWS) expect(md).toContain(`\`${v.name}\``);
  });

  it('queries.md documents every named query with its SQL', () => {
    const md = docs('queries.md');
    for (const q of QUERIES) {
      expect(md).toContain(`## \`${q.name}\``);
      expect(md).toContain(q.sql);
    }
  });
});
