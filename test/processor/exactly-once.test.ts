// Exactly-once out of at-least-once in: a processor killed with SIGKILL mid-stream and restarted, and a
// group of two processors where one leaves mid-stream, write exactly the rows of an uninterrupted run
// (same events, same flows, no key twice). One generated capture is published once; each scenario reads
// it with its own consumer group, and the uninterrupted reference run reads it alongside.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  diffKeys,
  EVENT_KEY_SQL,
  type EventKey,
  eventKey,
  generate,
  type ProcessorChild,
  processorOverrides,
  progress,
  publish,
  QUICK_EXPIRY,
  queryEmbedded,
  removeTempDirs,
  startProcessor,
  stopProcessor,
  type TestTopics,
  tempDir,
  testTopics,
  uniqueGroup,
  waitAllCommitted,
  waitFor,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const PARTITIONS = 6;
/** Replay everything before the committed offset, so a new owner's flow state equals the old one's. */
const FULL_WARMUP = 1_000_000;
/**
 * Generated captures pack 60k packets into well under a second of capture time: RSTs are released at
 * the next packet (no hold), and flows by the ticks of the quiet partitions at the end (quick expiry).
 */
const classifier = { ...QUICK_EXPIRY, holdMs: 0 };

interface Rows {
  events: string[];
  flows: string[];
}

/** Every event key and flow uid (with its state) in the embedded engines at `paths`, sorted. */
async function rows(paths: string[]): Promise<Rows> {
  const events: string[] = [];
  const flows: string[] = [];
  for (const p of paths) {
    for (const e of await queryEmbedded<EventKey>(p, EVENT_KEY_SQL)) events.push(eventKey(e));
    for (const f of await queryEmbedded<{ k: string }>(
      p,
      "SELECT concat(uid, '|', conn_state, '|', history, '|', toString(orig_pkts + resp_pkts)) AS k FROM rstwatch.flows",
    )) {
      flows.push(f.k);
    }
  }
  return { events: events.sort(), flows: flows.sort() };
}

function duplicates(keys: string[]): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) dup.push(k);
    seen.add(k);
  }
  return dup;
}

function expectSameRows(got: Rows, want: Rows): void {
  console.log(
    `rows: ${got.events.length} events, ${got.flows.length} flows (uninterrupted run: ${want.events.length}, ${want.flows.length})`,
  );
  expect(want.events.length, 'events in the uninterrupted run').toBeGreaterThan(100);
  expect(want.flows.length, 'flows in the uninterrupted run').toBeGreaterThan(500);
  expect(duplicates(got.events), 'duplicate events').toEqual([]);
  expect(duplicates(got.flows.map((f) => f.split('|')[0]!)), 'duplicate flow uids').toEqual([]);
  expect(diffKeys(want.events, got.events), 'events vs the uninterrupted run').toEqual({
    missing: [],
    extra: [],
  });
  expect(diffKeys(want.flows, got.flows), 'flows vs the uninterrupted run').toEqual({
    missing: [],
    extra: [],
  });
}

describe('processor: exactly-once across crashes and rebalances', () => {
  afterAll(removeTempDirs);
  let work: string;
  let topics: TestTopics;
  let total = 0;
  let pcap = '';
  let reference!: Promise<Rows>;
  let refChild: ProcessorChild | undefined;

  beforeAll(async () => {
    work = tempDir('eo');
    pcap = await generate(work, 60_000, 11);
    topics = await testTopics('proc-eo', brokers, PARTITIONS);
    const headers = await publish(brokers, topics, pcap, { maxHeaders: 32 });
    expect(headers).toBeGreaterThan(50_000);
    total = (await progress(brokers, topics.group, topics.headers)).total;
    console.log(`published ${headers} headers in ${total} messages over ${PARTITIONS} partitions`);
    // The reference: one processor, never interrupted, its own group; runs while the scenarios run.
    const refPath = join(work, 'ref-chdb');
    const child = startProcessor(work, 'ref', processorOverrides(brokers, topics, refPath, { classifier }));
    refChild = child;
    reference = (async () => {
      await waitAllCommitted(brokers, topics.group, [topics.headers], 240_000, () =>
        child.log().slice(-2000),
      );
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000, () => child.log().slice(-2000));
      const stopped = await stopProcessor(child);
      expect(stopped, child.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
      return rows([refPath]);
    })();
    reference.catch(() => {});
  });

  afterAll(async () => {
    if (refChild) await stopProcessor(refChild, 10_000);
  });

  it('SIGKILL mid-stream, then restart: no lost rows, no duplicate rows', async () => {
    const group = uniqueGroup('proc-eo-kill');
    const mine = { ...topics, group };
    const path = join(work, 'kill-chdb');
    const conf = processorOverrides(brokers, mine, path, { warmupMessages: FULL_WARMUP, classifier });
    const first = startProcessor(work, 'kill-1', conf);
    let killedAt = 0;
    try {
      await waitFor(
        'the first processor to commit part (not all) of the stream',
        async () => {
          const p = await progress(brokers, group, topics.headers);
          if (p.committed >= total)
            throw new Error('the processor finished before it could be killed; use a larger input');
          killedAt = p.committed;
          return p.committed > total * 0.1;
        },
        120_000,
        () => first.log().slice(-2000),
        50,
      );
    } finally {
      first.kill('SIGKILL');
    }
    const how = await first.exited;
    expect(how.signal).toBe('SIGKILL');
    const after = await progress(brokers, group, topics.headers);
    console.log(`killed at ${killedAt}/${total} committed (${after.committed} after the kill)`);
    expect(after.committed).toBeLessThan(total);

    const second = startProcessor(work, 'kill-2', conf);
    try {
      // The dead member holds its partitions until its session times out (30 s).
      await waitAllCommitted(brokers, group, [topics.headers], 180_000, () => second.log().slice(-2000));
      await waitTicksSettled(brokers, group, topics.headers, 60_000, () => second.log().slice(-2000));
    } finally {
      const stopped = await stopProcessor(second);
      expect(stopped, second.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
    }
    expectSameRows(await rows([path]), await reference);
  });

  it('two processors share the partitions; one leaves mid-stream; totals stay exact', async () => {
    // Its own topic, published while both members run, so that B leaves with the stream in progress.
    const mine = await testTopics('proc-eo-pair', brokers, PARTITIONS);
    const pathA = join(work, 'pair-a-chdb');
    const pathB = join(work, 'pair-b-chdb');
    const conf = (path: string) =>
      processorOverrides(brokers, mine, path, { warmupMessages: FULL_WARMUP, classifier });
    const a = startProcessor(work, 'pair-a', conf(pathA));
    const b = startProcessor(work, 'pair-b', conf(pathB));
    const created = (c: ProcessorChild) =>
      c
        .log()
        .split('\n')
        .filter((l) => l.includes('"partition state created"') && l.includes(mine.headers)).length;
    const joined = (c: ProcessorChild) =>
      c
        .log()
        .split('\n')
        .some((l) => l.includes('"type":"assign"') && l.includes(mine.headers));
    let publishing: Promise<number> | undefined;
    try {
      await waitFor(
        'both processors to get headers partitions',
        () => joined(a) && joined(b),
        120_000,
        () => `A:\n${a.log().slice(-1500)}\nB:\n${b.log().slice(-1500)}`,
      );
      let published = false;
      publishing = publish(brokers, mine, pcap, { maxHeaders: 32 }).finally(() => {
        published = true;
      });
      publishing.catch(() => {});
      await waitFor(
        'both processors to work on the stream',
        async () =>
          created(a) > 0 &&
          created(b) > 0 &&
          (await progress(brokers, mine.group, mine.headers)).committed > 0,
        120_000,
        () => `A:\n${a.log().slice(-1500)}\nB:\n${b.log().slice(-1500)}`,
        50,
      );
      const before = await progress(brokers, mine.group, mine.headers);
      const stillPublishing = !published;
      const stoppedB = await stopProcessor(b, 45_000);
      expect(stoppedB, b.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
      console.log(
        `B (${created(b)} partitions) stopped in ${Math.round(stoppedB.ms)} ms at ${before.committed}/${before.total} committed, agent ${stillPublishing ? 'still publishing' : 'done'}`,
      );
      expect(await publishing).toBe(60_000);
      await waitAllCommitted(brokers, mine.group, [mine.headers, mine.sensors], 180_000, () =>
        a.log().slice(-2000),
      );
      await waitTicksSettled(brokers, mine.group, mine.headers, 60_000, () => a.log().slice(-2000));
      // A took over B's partitions: it created state for every partition.
      expect(created(a)).toBeGreaterThanOrEqual(PARTITIONS);
    } finally {
      const stoppedA = await stopProcessor(a);
      expect(stoppedA, a.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
      await stopProcessor(b, 10_000);
      await publishing?.catch(() => {});
    }
    expectSameRows(await rows([pathA, pathB]), await reference);
  });
});
