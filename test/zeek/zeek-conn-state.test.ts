/**
 * Agreement with Zeek: every trace of Zeek's test suite (README.md) with a conn_state baseline goes through
 * @rstwatch/packet and the Engine as it is (no trace is rewritten or skipped); our flow records are
 * matched with every one of Zeek's TCP rows by 5-tuple, a row we have no flow for counting as a
 * disagreement, and their conn_state compared (>= 99% overall). Every disagreement must be listed, with its reason, in
 * disagreements.md: a new one (or one that went away) fails the test. History is compared too,
 * including the history-only/ traces, and its disagreements are listed the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZEEK_TRACES_MISSING } from '../support/zeek-traces.js';
import {
  connStateTraces,
  disagreementId,
  historyOnlyTraces,
  match,
  ourFlows,
  type Pair,
  TRACES_DIR,
  type TraceSpec,
} from './zeek-compare.js';

const LISTED = readFileSync(join(import.meta.dirname, 'disagreements.md'), 'utf8');

/** IDs listed under a `## heading` of disagreements.md (lines `- \`ID\` — reason`). */
function listed(section: string): string[] {
  const start = LISTED.indexOf(`## ${section}`);
  if (start < 0) return [];
  const rest = LISTED.slice(start + section.length + 3);
  const end = rest.indexOf('\n## ');
  const body = end < 0 ? rest : rest.slice(0, end);
  return [...body.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]!);
}

function historyId(p: Pair): string {
  return `${p.trace} | ${p.zeek.key ?? '(single row)'} | zeek ${p.zeek.history} | rstwatch ${p.ours?.history ?? 'missing'}`;
}

async function compare(specs: TraceSpec[]): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (const t of specs) pairs.push(...match(t.trace, t.rows, await ourFlows(t.capture, t.checksums)).pairs);
  return pairs;
}

const describeZeek = TRACES_DIR === undefined ? describe.skip : describe;
describeZeek(`Zeek conn_state/history agreement (${TRACES_DIR ?? ZEEK_TRACES_MISSING})`, () => {
  it('agrees on conn_state for >= 95% of Zeek TCP rows, and every disagreement is explained', async () => {
    const specs = connStateTraces();
    expect(specs.length).toBeGreaterThanOrEqual(34);
    const pairs = await compare(specs);
    const rows = pairs.filter((p) => p.zeek.connState !== null);
    const bad = rows.filter((p) => p.zeek.connState !== p.ours?.conn_state);
    const rate = 1 - bad.length / rows.length;
    console.log(
      `conn_state agreement: ${rows.length - bad.length}/${rows.length} = ${(rate * 100).toFixed(2)}%`,
    );
    const missing = rows.filter((p) => p.ours === null);
    console.log(
      `TCP connections in Zeek's baselines: ${rows.length} over ${specs.length} traces; rstwatch has no flow for ${missing.length}`,
    );
    expect(rate).toBeGreaterThanOrEqual(0.99);
    expect([...new Set(bad.map(disagreementId))].sort()).toEqual([...new Set(listed('conn_state'))].sort());
  });

  it('reports history agreement and lists every history disagreement', async () => {
    const pairs = await compare([...connStateTraces(), ...historyOnlyTraces()]);
    const rows = pairs.filter((p) => p.zeek.history !== null);
    const bad = rows.filter((p) => p.zeek.history !== p.ours?.history);
    const rate = 1 - bad.length / rows.length;
    console.log(
      `history agreement: ${rows.length - bad.length}/${rows.length} = ${(rate * 100).toFixed(2)}%`,
    );
    expect(rate).toBeGreaterThanOrEqual(0.95);
    expect([...new Set(bad.map(historyId))].sort()).toEqual([...new Set(listed('history'))].sort());
  });
});
