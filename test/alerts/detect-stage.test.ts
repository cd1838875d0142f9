// The detection stage on a real broker: processors publish RST events keyed by entity, `rstwatch detect`
// (a child process, its own consumer group) raises alerts into ClickHouse and the alerts topic.
// - Two processors in one group raise the same alerts as one processor, for the same traffic: detection
//   is keyed by entity, not by which processor classified the flow.
// - A detection stage killed with SIGKILL mid-stream and started again loses no alert and doubles none
//   (the new owner replays before the committed offset; ids and versions come from the events).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config, DeepPartial } from '@rstwatch/config';
import { createKafka } from '@rstwatch/kafka';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
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
  waitAllCommitted,
  waitFor,
} from '../processor/support.js';
import { createTopicWhenReady, uniqueTopic } from '../support/kafka.js';

const brokers = inject('kafkaBrokers').split(',');
const PARTITIONS = 4;

interface AlertRow {
  id: string;
  version: number;
  rule: string;
  entity: string;
  count: number;
  first_seen: string;
  status: string;
}

const ALERTS_SQL = `SELECT id, version, rule, entity, count, status,
  formatDateTime(first_seen, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen
  FROM rstwatch.alerts FINAL ORDER BY rule, entity, first_seen`;

/** One pipeline's topics: the shared headers topic, its own events and alerts topics and groups. */
function overrides(
  topics: TestTopics,
  events: string,
  alerts: string,
  detectGroup: string,
  embeddedPath: string,
  webhook = '',
): DeepPartial<Config> {
  // A processor that takes over a partition mid-stream rebuilds its flows from `warmupMessages` before
  // the committed offset; covering the whole (small) partition makes its verdicts those of one processor.
  const base = processorOverrides(brokers, topics, embeddedPath, {
    classifier: QUICK_EXPIRY,
    warmupMessages: 100_000,
  });
  return {
    ...base,
    kafka: { ...base.kafka, topics: { ...base.kafka?.topics, events, alerts } },
    alerts: {
      groupId: detectGroup,
      replayMessages: 100000,
      webhook: { url: webhook },
      undeliveredPath: join(embeddedPath, '..', `${detectGroup}-undelivered.ndjson`),
    },
  } as DeepPartial<Config>;
}

/** A webhook receiver: the `Idempotency-Key` (`id:version`) of every POST, in arrival order. */
async function webhookReceiver(): Promise<{ url: string; keys: string[]; server: Server }> {
  const keys: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      keys.push(String(req.headers['idempotency-key']));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, keys, server };
}

const alertKey = (a: AlertRow) => `${a.rule}|${a.entity}|${a.first_seen}|${a.count}|${a.id}`;

/**
 * Waits until the detection stage has committed every message of `events` and written what it raised:
 * alerts are raised once capture time is 5 s past their threshold, which at the end of a stream happens
 * when the quiet stage's clock follows wall-clock time (after 5 s of silence).
 */
async function detectDone(
  group: string,
  events: string,
  alerts: string,
  child: ProcessorChild,
): Promise<void> {
  await waitAllCommitted(brokers, group, [events], 120_000, () => child.log().slice(-3000));
  await waitFor('alerts to stop coming', stableTotal(alerts, 10_000), 90_000, () => child.log().slice(-3000));
}

/** The alerts topic as (event.id, event.sequence) pairs, read from the beginning. */
async function alertsTopic(topic: string, expected: number): Promise<string[]> {
  const consumer = createKafka({ brokers, clientId: 'detect-test' }).consumer({
    groupId: uniqueTopic('detect-test-reader'),
    fromBeginning: true,
  });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe([topic]);
    await consumer.run({
      eachBatch: async (b) => {
        for (const m of b.messages) {
          const doc = JSON.parse(m.value!.toString()) as { event: { id: string; sequence: number } };
          seen.push(`${doc.event.id}@${doc.event.sequence}`);
        }
      },
    });
    await waitFor(`${expected} alert documents on ${topic}`, () => seen.length >= expected, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('detection stage (rstwatch detect) on a real broker', () => {
  afterAll(removeTempDirs);

  it('two processors raise the same alerts as one; a detection stage killed mid-stream loses and doubles none', async () => {
    const dir = tempDir('detect');
    const pcap = await generate(dir, 120_000, 3);
    const topics = await testTopics('detect', brokers, PARTITIONS);
    const sent = await publish(brokers, topics, pcap, { maxHeaders: 512 });
    expect(sent).toBeGreaterThan(100_000);

    // Run A: one processor, one detection stage.
    const a = {
      events: uniqueTopic('detect-a-events'),
      alerts: uniqueTopic('detect-a-alerts'),
      group: uniqueTopic('detect-a-group'),
      ch: join(dir, 'a-proc'),
      chDetect: join(dir, 'a-detect'),
    };
    await createTopicWhenReady(brokers, a.events, PARTITIONS);
    await createTopicWhenReady(brokers, a.alerts, 1);
    const topicsA = { ...topics, group: uniqueTopic('detect-a-proc') };
    const hookA = await webhookReceiver();
    const pA = startProcessor(dir, 'pA', overrides(topicsA, a.events, a.alerts, a.group, a.ch));
    const dA = startProcessor(
      dir,
      'dA',
      overrides(topicsA, a.events, a.alerts, a.group, a.chDetect, hookA.url),
      'detect',
    );
    let rowsA: AlertRow[];
    try {
      await waitAllCommitted(brokers, topicsA.group, [topics.headers], 120_000, () => pA.log().slice(-3000));
      // Held RSTs at the end of the stream are released by the quiet partitions' ticks; then nothing more.
      await waitFor('events to stop growing', stableTotal(a.events), 60_000);
      await detectDone(a.group, a.events, a.alerts, dA);
    } finally {
      expect(await stopProcessor(pA), pA.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
      expect(await stopProcessor(dA), dA.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
    }
    rowsA = await queryEmbedded<AlertRow>(a.chDetect, ALERTS_SQL);
    const rules = new Set(rowsA.map((r) => r.rule));
    console.log(`run A: ${rowsA.length} alerts, rules ${[...rules].join(',')}`);
    expect(rowsA.length).toBeGreaterThanOrEqual(5);
    expect(rules.has('port_scan')).toBe(true);
    expect(rules.size).toBeGreaterThanOrEqual(3);
    // The alerts topic holds every version written to ClickHouse (latest per id included).
    const docs = await alertsTopic(a.alerts, rowsA.length);
    for (const r of rowsA) expect(docs).toContain(`${r.id}@${r.version}`);
    // The webhook got every version on the topic, each once (no crash in this run).
    hookA.server.close();
    expect([...hookA.keys].sort()).toEqual(docs.map((d) => d.replace('@', ':')).sort());

    // Run B: two processors in one group; the detection stage is killed mid-stream and started again.
    const b = {
      events: uniqueTopic('detect-b-events'),
      alerts: uniqueTopic('detect-b-alerts'),
      group: uniqueTopic('detect-b-group'),
      chDetect: join(dir, 'b-detect'),
    };
    await createTopicWhenReady(brokers, b.events, PARTITIONS);
    await createTopicWhenReady(brokers, b.alerts, 1);
    const topicsB = { ...topics, group: uniqueTopic('detect-b-proc') };
    const p1 = startProcessor(dir, 'pB1', overrides(topicsB, b.events, b.alerts, b.group, join(dir, 'b1')));
    const p2 = startProcessor(dir, 'pB2', overrides(topicsB, b.events, b.alerts, b.group, join(dir, 'b2')));
    const hookB = await webhookReceiver();
    const detectB = overrides(topicsB, b.events, b.alerts, b.group, b.chDetect, hookB.url);
    const dB1 = startProcessor(dir, 'dB1', detectB, 'detect');
    let dB2: ProcessorChild | null = null;
    try {
      await waitFor(
        'the first detection stage to commit part of the events',
        async () => (await progress(brokers, b.group, b.events)).committed > 0,
        120_000,
        () => dB1.log().slice(-2000),
      );
      const atKill = await progress(brokers, b.group, b.events);
      console.log(`killing the detection stage at ${atKill.committed} of ${atKill.total} events committed`);
      dB1.kill('SIGKILL');
      await dB1.exited;
      dB2 = startProcessor(dir, 'dB2', detectB, 'detect');
      await waitAllCommitted(brokers, topicsB.group, [topics.headers], 120_000, () => p1.log().slice(-2000));
      await waitFor('events to stop growing', stableTotal(b.events), 60_000);
      await detectDone(b.group, b.events, b.alerts, dB2);
    } finally {
      for (const c of [p1, p2, ...(dB2 ? [dB2] : [])]) {
        expect(await stopProcessor(c), c.log().slice(-2000)).toMatchObject({ code: 0, killed: false });
      }
    }
    const rowsB = await queryEmbedded<AlertRow>(b.chDetect, ALERTS_SQL);
    // Same alerts: same rules, entities, episodes, counts and ids; one row per id (FINAL) and no
    // second id for the same episode.
    expect(rowsB.map(alertKey)).toEqual(rowsA.map(alertKey));
    // Across the crash the webhook got every current version at least once (at-least-once delivery).
    hookB.server.close();
    for (const r of rowsB) expect(hookB.keys).toContain(`${r.id}:${r.version}`);
    const [links] = await queryEmbedded<{ n: number; ids: number }>(
      b.chDetect,
      'SELECT count(DISTINCT alert_id, ts, community_id) AS n, uniqExact(alert_id) AS ids FROM rstwatch.alert_events',
    );
    expect(links!.ids).toBe(rowsB.length);
    expect(links!.n).toBeGreaterThanOrEqual(rowsB.reduce((s, r) => s + r.count, 0));
  });
});

/** A condition that holds once the topic has messages and their total stayed the same for `ms`. */
function stableTotal(topic: string, ms = 3000): () => Promise<boolean> {
  let last = -1;
  let since = 0;
  return async () => {
    const { total } = await progress(brokers, 'nobody', topic);
    if (total !== last) {
      last = total;
      since = Date.now();
      return false;
    }
    return total > 0 && Date.now() - since >= ms;
  };
}
