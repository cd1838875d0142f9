// Issue 13: the kernel scenario captures, degraded the way real sensors degrade them (SPAN duplicates,
// loss, two taps with skewed clocks; test/support/degrade.ts), classified by the engine with the
// default configuration. Every variant must report the same RSTs (none missed, none extra) with cause
// and origin accuracy within 0.03 of the clean capture, for each of several seeds. The figures are
// printed.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '@rstwatch/classify';
import { HeaderColumns, type RstEvent } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Degradation,
  degrade,
  type Label,
  readPcap,
  type Score,
  score,
  total,
  writePcap,
} from '../support/degrade.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'test/fixtures/scenarios');
/** Seeds of the degradations (`DEGRADED_SEEDS=11,12,...` tries others; see the loss note below). */
const SEEDS = process.env.DEGRADED_SEEDS
  ? process.env.DEGRADED_SEEDS.split(',').map(Number)
  : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

interface Expected {
  scenario: string;
  config: Record<string, number>;
  rsts: Label[];
}

const scenarios: Expected[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.expected.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Expected);

const tmp = mkdtempSync(join(tmpdir(), 'rstwatch-degraded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Classify one capture with the engine: one batch per parser batch, or batches of `batch` headers (the
 * agent's small Kafka messages; a RST and the packet it answers may then land in two batches).
 */
async function classify(
  file: string,
  config: Record<string, number>,
  batch = 0,
): Promise<{ events: RstEvent[]; engine: Engine }> {
  const engine = Engine.create({ maxFlows: 4096, maxHosts: 1024, ...config });
  const events: RstEvent[] = [];
  await parseCaptureFile(file, {
    onBatch: (b) => {
      if (batch <= 0) {
        events.push(...engine.processBatch(b, 'scenario').events);
        return;
      }
      const rows = Int32Array.from({ length: b.length }, (_, i) => i);
      for (let from = 0; from < b.length; from += batch) {
        const to = Math.min(b.length, from + batch);
        const part = HeaderColumns.allocate(to - from);
        part.gatherFrom(b, rows, from, to);
        events.push(...engine.processBatch(part, 'scenario').events);
      }
    },
  });
  events.push(...engine.finish().events);
  return { events, engine };
}

async function run(how: Degradation, seed: number, batch = 0): Promise<Score> {
  const scores: Score[] = [];
  for (const s of scenarios) {
    const pcap = readPcap(readFileSync(join(FIXTURES, `${s.scenario}.pcap`)));
    const file = join(tmp, `${s.scenario}.${how.kind}.${seed}.pcap`);
    writeFileSync(file, writePcap(degrade(pcap, how, seed)));
    const { events } = await classify(file, s.config, batch);
    scores.push(score(s.scenario, s.rsts, events));
  }
  return total(scores);
}

const fmt = (x: number) => x.toFixed(3);
const rows: string[] = [];

describe('scenario captures degraded like real sensors (issue 13)', () => {
  let clean: Score;

  it('clean: every RST, labels as committed', async () => {
    clean = await run({ kind: 'clean' }, 0);
    rows.push(
      `clean            cause ${fmt(clean.cause / clean.labels)} origin ${fmt(clean.origin / clean.labels)}`,
    );
    expect(clean.missed + clean.extra, clean.wrong.join('\n')).toBe(0);
    expect(clean.labels).toBeGreaterThan(60);
  });

  // Loss: what the remaining packets prove is inferred (the classifier's `inferred_*` and `gap`: a lost SYN
  // from a host that was opening connections to the RST's sender, a FIN proven by its ACK, a SYN proven by
  // the TIME_WAIT's answer), what nothing proves is not. Left wrong, with reasons: a malformed SYN's answer
  // whose SYN was lost is a plain closed port's answer (`closed_port`); one of the retransmissions lost
  // leaves fewer than `retransmitMin` (`app_abort`); over seeds 11-20, seed 16 also loses both the FIN and
  // the last ACK of one close, so the reusing SYN is seen before anything proves the close (0.961).
  // Every seed is held to the bound.
  // The last variant cuts every capture into batches of 3 headers: a RST and the packet it answers often
  // land in two batches, and the engine carries the first into the next batch to wait for the second.
  const variants: Array<[string, Degradation, 'seed' | 'mean', number?]> = [
    ['duplicates', { kind: 'dup' }, 'seed'],
    ['3% loss', { kind: 'loss', fraction: 0.03 }, 'seed'],
    ['±50 µs skew', { kind: 'skew', us: 50 }, 'seed'],
    ['±100 µs skew', { kind: 'skew', us: 100 }, 'seed'],
    ['±100 µs, 3/batch', { kind: 'skew', us: 100 }, 'seed', 3],
  ];
  for (const [name, how, bound, batch] of variants) {
    const what = `same RSTs, accuracy within 0.03 of clean (${bound === 'seed' ? 'each seed' : 'mean of the seeds'})`;
    it(`${name}: ${what} (seeds ${SEEDS.join(',')})`, async () => {
      const results = [];
      for (const seed of SEEDS) {
        const s = await run(how, seed, batch);
        rows.push(
          `${name.padEnd(16)} seed ${seed} cause ${fmt(s.cause / s.labels)} origin ${fmt(s.origin / s.labels)} missed ${s.missed} extra ${s.extra}`,
        );
        if (process.env.DEGRADED_VERBOSE) rows.push(...s.wrong.map((w) => `  ${w}`));
        results.push({ seed, s });
      }
      for (const { seed, s } of results) {
        const why = `${name} seed ${seed}:\n${s.wrong.join('\n')}`;
        expect(s.missed, why).toBe(0);
        expect(s.extra, why).toBe(0);
        if (bound !== 'seed') continue;
        expect(s.cause / s.labels, why).toBeGreaterThanOrEqual(clean.cause / clean.labels - 0.03);
        expect(s.origin / s.labels, why).toBeGreaterThanOrEqual(clean.origin / clean.labels - 0.03);
      }
      if (bound === 'mean') {
        const mean = (k: 'cause' | 'origin') =>
          results.reduce((a, { s }) => a + s[k] / s.labels, 0) / results.length;
        const why = `${name}:\n${results.flatMap(({ s }) => s.wrong).join('\n')}`;
        rows.push(`${name.padEnd(16)} mean   cause ${fmt(mean('cause'))} origin ${fmt(mean('origin'))}`);
        expect(mean('cause'), why).toBeGreaterThanOrEqual(clean.cause / clean.labels - 0.03);
        expect(mean('origin'), why).toBeGreaterThanOrEqual(clean.origin / clean.labels - 0.03);
      }
    });
  }

  afterAll(() => {
    console.log(`degraded scenario accuracy (${scenarios.length} captures):\n${rows.join('\n')}`);
  });
});
