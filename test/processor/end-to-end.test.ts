// Agent -> Kafka -> processor (the CLI, a child process) -> embedded ClickHouse gives exactly the RST
// events that `rstwatch analyze` reports for the same capture, and the flow records of the connections.
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  analyzeReference,
  diffKeys,
  EVENT_KEY_SQL,
  type EventKey,
  eventKey,
  processorOverrides,
  publish,
  QUICK_EXPIRY,
  queryEmbedded,
  removeTempDirs,
  root,
  startProcessor,
  stopProcessor,
  tempDir,
  testTopics,
  waitAllCommitted,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const sample = join(root, 'test/fixtures/sample.pcap');

/** What a RST event is, without the verdict. */
const packetKey = (k: string) => k.split('|').slice(0, 6).join('|');

describe('processor: capture through Kafka equals analyze', () => {
  afterAll(removeTempDirs);
  // With one partition the processor's engine sees exactly what analyze's single shard sees. With more,
  // each partition's engine only sees its own capture clock, while analyze moves every shard's clock
  // with the whole capture (LocalPipeline's shardNowUs): a held RST is released after a different number
  // of follow-up packets and a few verdicts can differ; the RST packets themselves and the flows must not.
  it.each([
    [1, true],
    [4, false],
  ])(
    'sample.pcap over %i partition(s): the RST events and flows of analyze',
    async (PARTITIONS, sameVerdicts) => {
      const dir = tempDir('e2e');
      // The processor has one engine per partition; analyze one per worker, sharded by the same flow hash.
      // Same count, same shards: the per-host context (TTL baselines, scan counts) is split the same way.
      const ref = await analyzeReference(sample, dir, {
        processor: { workers: PARTITIONS },
        classifier: QUICK_EXPIRY,
      });
      expect(ref.events.length).toBe(74);

      const topics = await testTopics('proc-e2e', brokers, PARTITIONS);
      const sent = await publish(brokers, topics, sample, { maxHeaders: 16 });
      expect(sent).toBe(653);

      const embeddedPath = join(dir, 'chdb');
      const child = startProcessor(
        dir,
        'p1',
        processorOverrides(brokers, topics, embeddedPath, { classifier: QUICK_EXPIRY }),
      );
      try {
        await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000, () =>
          child.log().slice(-3000),
        );
        // The end of the stream: RSTs held to see what follows and open flows are released as the quiet
        // partitions' capture time moves on (a tick per second, recorded in the commit metadata).
        await waitTicksSettled(brokers, topics.group, topics.headers, 60_000, () => child.log().slice(-2000));
      } finally {
        const stopped = await stopProcessor(child);
        expect(stopped, child.log().slice(-3000)).toMatchObject({ code: 0, killed: false });
      }

      const events = await queryEmbedded<EventKey>(embeddedPath, EVENT_KEY_SQL);
      const want = ref.events.map(eventKey).sort();
      const got = events.map(eventKey).sort();
      const d = diffKeys(want, got);
      if (sameVerdicts) {
        expect(d, 'events missing from / extra in ClickHouse').toEqual({ missing: [], extra: [] });
        expect(got).toEqual(want);
      } else {
        expect(diffKeys(want.map(packetKey), got.map(packetKey)), 'RST packets').toEqual({
          missing: [],
          extra: [],
        });
        if (d.missing.length > 0) console.log(`verdicts differing from analyze: ${JSON.stringify(d)}`);
      }

      const [flows] = await queryEmbedded<{ n: number; uids: number }>(
        embeddedPath,
        'SELECT count() AS n, uniqExact(uid) AS uids FROM rstwatch.flows',
      );
      const [stats] = await queryEmbedded<{ n: number }>(
        embeddedPath,
        'SELECT count() AS n FROM rstwatch.sensor_stats',
      );
      console.log(
        `flows: processor ${flows!.n} (${flows!.uids} uids), analyze ${ref.flows.length}; sensor_stats ${stats!.n}`,
      );
      expect(flows!.n).toBe(ref.flows.length);
      // Each flow once, the same connections from the same start (uids are per-engine counters, so they
      // only match with one partition).
      const flowRows = await queryEmbedded<{ uid: string; k: string }>(
        embeddedPath,
        "SELECT uid, concat(formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC'), '|', community_id) AS k FROM rstwatch.flows",
      );
      expect(flowRows.map((f) => f.k).sort()).toEqual(
        ref.flows.map((f) => `${f.ts}|${f.community_id}`).sort(),
      );
      if (sameVerdicts)
        expect(flowRows.map((f) => f.uid).sort()).toEqual(ref.flows.map((f) => String(f.uid)).sort());
      expect(flows!.uids).toBe(flows!.n);
      expect(stats!.n).toBeGreaterThan(0);
    },
  );
});
