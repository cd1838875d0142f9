// SIGTERM mid-stream: the processor (the CLI, a child process) exits 0 within its shutdown deadline, and
// every row it wrote is covered by a committed offset (no pending write intent left behind); a restart
// finishes the stream without writing anything twice.
import { join } from 'node:path';
import { createKafka } from '@rstwatch/kafka';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  EVENT_KEY_SQL,
  type EventKey,
  eventKey,
  generate,
  processorOverrides,
  progress,
  publish,
  queryEmbedded,
  removeTempDirs,
  startProcessor,
  stopProcessor,
  tempDir,
  testTopics,
  waitAllCommitted,
  waitFor,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const DEADLINE_S = 15;

describe('processor: graceful shutdown', () => {
  afterAll(removeTempDirs);
  it('SIGTERM: exit 0 within the deadline, everything written is committed', async () => {
    const dir = tempDir('term');
    const pcap = await generate(dir, 30_000, 5);
    const topics = await testTopics('proc-term', brokers, 4);
    await publish(brokers, topics, pcap, { maxHeaders: 16 });
    const total = (await progress(brokers, topics.group, topics.headers)).total;
    const path = join(dir, 'chdb');
    const conf = processorOverrides(brokers, topics, path, {
      shutdownDeadlineS: DEADLINE_S,
      classifier: { holdMs: 0 },
      warmupMessages: 1_000_000,
      // One source, published in a burst: the source merge (default 500 ms) would hold it all until the
      // partition goes quiet, so nothing would be written mid-stream. merge.test.ts stops and restarts
      // a processor with the merge holding headers.
      mergeDelayMs: 0,
    });

    const first = startProcessor(dir, 'term-1', conf);
    let at = 0;
    try {
      await waitFor(
        'part of the stream to be committed',
        async () => {
          at = (await progress(brokers, topics.group, topics.headers)).committed;
          return at > 0;
        },
        120_000,
        () => first.log().slice(-2000),
        50,
      );
    } finally {
      const stopped = await stopProcessor(first, (DEADLINE_S + 15) * 1000);
      console.log(
        `SIGTERM at ${at}/${total} committed: exited ${stopped.code} in ${Math.round(stopped.ms)} ms`,
      );
      expect(stopped, first.log().slice(-3000)).toMatchObject({ code: 0, killed: false });
      expect(stopped.ms).toBeLessThan(DEADLINE_S * 1000);
    }
    expect(first.log()).toContain('shutting down');

    // Every unit in ClickHouse lies below its partition's committed offset, and no intent is pending.
    const consumer = createKafka({ brokers, clientId: 'processor-test-offsets' }).consumer({
      groupId: topics.group,
    });
    const committed = await consumer.committedOffsets(topics.headers);
    await consumer.disconnect();
    const tokens = await queryEmbedded<{ t: string }>(
      path,
      `SELECT DISTINCT ingest_token AS t FROM (SELECT ingest_token FROM rstwatch.rst_events UNION ALL SELECT ingest_token FROM rstwatch.flows)`,
    );
    const written = new Map<number, number>();
    for (const { t } of tokens) {
      // `topic:partition:first-last` for a unit, `topic:partition:tick-<after>-<us>` for a tick.
      const m = /^(.+):(\d+):(?:(\d+)-(\d+)|tick-(\d+)-\d+)$/.exec(t);
      expect(m, `token ${t}`).not.toBeNull();
      if (m![1] !== topics.headers) continue;
      const p = Number(m![2]);
      written.set(p, Math.max(written.get(p) ?? -1, Number(m![4] ?? m![5])));
    }
    expect(written.size, 'rows written before the SIGTERM').toBeGreaterThan(0);
    for (const c of committed) {
      expect(c.metadata ?? '', `partition ${c.partition}: pending intent`).not.toMatch(
        /rstwatch:unit:|:pending/,
      );
      const last = written.get(c.partition);
      if (last !== undefined) {
        expect(
          Number(c.offset),
          `partition ${c.partition}: rows written up to offset ${last}`,
        ).toBeGreaterThan(last);
      }
    }
    const after = await progress(brokers, topics.group, topics.headers);
    console.log(`committed after SIGTERM: ${after.committed}/${total}`);

    // A restart finishes the stream; nothing is written twice.
    const second = startProcessor(dir, 'term-2', conf);
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers], 120_000, () =>
        second.log().slice(-2000),
      );
    } finally {
      const stopped = await stopProcessor(second, (DEADLINE_S + 15) * 1000);
      expect(stopped, second.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
    }
    const keys = (await queryEmbedded<EventKey>(path, EVENT_KEY_SQL)).map(eventKey);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length - new Set(keys).size, 'duplicate events').toBe(0);
    const [flows] = await queryEmbedded<{ n: number; u: number }>(
      path,
      'SELECT count() AS n, uniqExact(uid) AS u FROM rstwatch.flows',
    );
    expect(flows!.n, 'duplicate flows').toBe(flows!.u);
  });
});
