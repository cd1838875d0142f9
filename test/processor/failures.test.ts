// The processor in this process (runProcessor) against the real broker and the embedded ClickHouse:
// ClickHouse refusing inserts for a while (consumption pauses, nothing is committed, then every row is
// written exactly once) and a poison message in the headers topic (dead-lettered, the partition flows on).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@rstwatch/config';
import { createKafka } from '@rstwatch/kafka';
import { runProcessor } from '@rstwatch/processor';
import type { StoreClient } from '@rstwatch/store';
import { createLogger } from '@rstwatch/telemetry';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';
import {
  diffKeys,
  EVENT_KEY_SQL,
  type EventKey,
  eventKey,
  processorOverrides,
  progress,
  publish,
  removeTempDirs,
  root,
  sleep,
  type TestTopics,
  testTopics,
  uniqueGroup,
  waitAllCommitted,
  waitFor,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const sample = join(root, 'test/fixtures/sample.pcap');
const logger = createLogger({ level: 'error', name: 'processor-test' });

/** A StoreClient whose inserts fail while `failing` is set; records every attempt. */
class FlakyClickHouse {
  failing = true;
  /** Which inserts fail while `failing` (default: all). */
  failWhen: (token: string) => boolean = () => true;
  attempts: { table: string; token: string; ok: boolean }[] = [];
  readonly client: StoreClient;
  constructor(inner: StoreClient) {
    this.client = new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop !== 'insert') return Reflect.get(target, prop, receiver);
        return async (table: string, rows: readonly object[], settings?: Record<string, unknown>) => {
          const token = String(settings?.insert_deduplication_token ?? '');
          if (this.failing && this.failWhen(token)) {
            this.attempts.push({ table, token, ok: false });
            throw new Error('injected: ClickHouse unavailable');
          }
          await target.insert(table, rows, settings);
          this.attempts.push({ table, token, ok: true });
        };
      },
    });
  }
}

/** Runs the processor in this process until the returned stop() is called. */
/**
 * `mergeDelayMs`: 0 for tests that read the commit metadata of one source or stop as soon as everything is
 * committed (with the source merge, the default, a burst-published backlog is held until the partition is
 * quiet, past its commits; merge.test.ts covers that).
 */
function startInProcess(
  topics: TestTopics,
  clickhouse: StoreClient,
  warmupMessages?: number,
  mergeDelayMs?: number,
) {
  const config = loadConfig({
    env: {},
    overrides: processorOverrides(
      brokers,
      topics,
      join(tmpdir(), 'rstwatch-processor-test-unused-chdb') /* the test passes its own client */,
      {
        logLevel: 'error',
        ...(warmupMessages !== undefined ? { warmupMessages } : {}),
        ...(mergeDelayMs !== undefined ? { mergeDelayMs } : {}),
      },
    ),
  });
  const ac = new AbortController();
  const done = runProcessor(config, { signal: ac.signal, clickhouse, logger });
  done.catch(() => {});
  return {
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

async function eventKeys(ch: StoreClient): Promise<string[]> {
  const rows = await ch.query<EventKey>(
    EVENT_KEY_SQL.replace('rstwatch.rst_events', `${ch.database}.rst_events`),
  );
  return rows.map(eventKey).sort();
}

async function flowUids(ch: StoreClient): Promise<string[]> {
  const rows = await ch.query<{ uid: string }>(`SELECT uid FROM ${ch.database}.flows`);
  return rows.map((r) => r.uid).sort();
}

describe('processor: failures', () => {
  afterAll(removeTempDirs);
  const handles: ClickHouseHandle[] = [];
  afterAll(async () => {
    for (const h of handles) await h.cleanup().catch(() => {});
  });

  it('ClickHouse failing inserts: consumption pauses, nothing committed, then every row exactly once', async () => {
    const topics = await testTopics('proc-chfail', brokers, 2);
    await publish(brokers, topics, sample, { maxHeaders: 16 });
    const total = (await progress(brokers, topics.group, topics.headers)).total;

    const ch = await getClickHouse();
    handles.push(ch);
    const flaky = new FlakyClickHouse(ch.client);
    const proc = startInProcess(topics, flaky.client);
    try {
      await waitFor('inserts to be attempted and fail', () => flaky.attempts.length >= 6, 60_000);
      // A while of failures (the writer backs off, so only a few attempts).
      await sleep(4000);
      const failedTokens = new Set(flaky.attempts.map((a) => a.token));
      const during = await progress(brokers, topics.group, topics.headers);
      expect(during.committed, 'nothing committed while ClickHouse refuses inserts').toBe(0);
      // Paused: the partitions do not move on to further units while their unit is retried.
      expect(failedTokens.size).toBeLessThanOrEqual(3); // 2 headers partitions + 1 sensors partition
      expect(flaky.attempts.every((a) => !a.ok)).toBe(true);
      console.log(
        `${flaky.attempts.length} failed insert attempts on ${failedTokens.size} units, committed 0/${total}`,
      );

      flaky.failing = false;
      await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000);
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000);
      // The units that failed were written with their original token.
      const okTokens = new Set(flaky.attempts.filter((a) => a.ok).map((a) => a.token));
      for (const t of failedTokens) expect(okTokens.has(t), `unit ${t} written after recovery`).toBe(true);
    } finally {
      await proc.stop();
    }

    // The same stream without failures, into another database of the same engine.
    const ref = await getClickHouse();
    handles.push(ref);
    const refTopics = { ...topics, group: uniqueGroup('proc-chfail-ref') };
    const refProc = startInProcess(refTopics, ref.client);
    try {
      await waitAllCommitted(brokers, refTopics.group, [topics.headers, topics.sensors], 120_000);
      // RSTs held at the end of the stream are written by the quiet partitions' ticks (hold 0.5 s).
      await waitTicksSettled(brokers, refTopics.group, topics.headers, 60_000);
    } finally {
      await refProc.stop();
    }
    const events = await eventKeys(ch.client);
    expect(events.length).toBeGreaterThan(60);
    expect(new Set(events).size, 'no event twice').toBe(events.length);
    expect(diffKeys(await eventKeys(ref.client), await eventKeys(ch.client))).toEqual({
      missing: [],
      extra: [],
    });
    expect(await flowUids(ch.client)).toEqual(await flowUids(ref.client));
  });
  it('a poison message goes to the dead-letter topic; the partition keeps flowing', async () => {
    const topics = await testTopics('proc-poison', brokers, 1);
    const kafka = createKafka({ brokers, clientId: 'processor-test-poison' });
    const producer = kafka.producer({ idempotent: true, acks: -1 });
    await producer.connect();
    const garbage = Buffer.from('this is not a header batch \xff\xfe\x00\x01', 'latin1');
    try {
      await publish(brokers, topics, join(root, 'test/fixtures/scenarios/closed_port_v4.pcap'), {
        maxHeaders: 8,
        sensorId: 'before',
      });
      await producer.send(topics.headers, [{ key: 'poison', value: garbage, partition: 0 }]);
      await producer.send(topics.headers, [{ value: new Uint8Array(0), partition: 0 }]);
    } finally {
      await producer.disconnect();
    }
    const poisonOffset = (await progress(brokers, topics.group, topics.headers)).total - 2;
    await publish(brokers, topics, join(root, 'test/fixtures/scenarios/app_abort_client_v4.pcap'), {
      maxHeaders: 8,
      sensorId: 'after',
    });
    // Later traffic, so that the engine releases the RSTs it holds to see what follows them.
    await publish(brokers, topics, join(root, 'test/fixtures/scenarios/teardown_reset_v4.pcap'), {
      maxHeaders: 8,
      sensorId: 'after',
    });

    const ch = await getClickHouse();
    handles.push(ch);
    const proc = startInProcess(topics, ch.client, undefined, 0);
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000);
    } finally {
      await proc.stop();
    }
    const bySensor = await ch.client.query<{ sensor: string; n: number }>(
      `SELECT sensor, count() AS n FROM ${ch.client.database}.rst_events GROUP BY sensor ORDER BY sensor`,
    );
    expect(bySensor.find((r) => r.sensor === 'before')?.n ?? 0).toBeGreaterThan(0);
    expect(
      bySensor.find((r) => r.sensor === 'after')?.n ?? 0,
      'rows of the batches after the poison',
    ).toBeGreaterThan(0);

    // The dead-letter topic holds both bad messages, with what went wrong and where they came from.
    const dlq = await readAll(topics.deadLetter, 2, 60_000);
    expect(dlq.map((m) => m.headers['rstwatch-offset'])).toEqual([
      String(poisonOffset),
      String(poisonOffset + 1),
    ]);
    const [bad, empty] = dlq;
    expect(bad!.value).toEqual(garbage);
    expect(bad!.key).toBe('poison');
    expect(bad!.headers).toMatchObject({
      'rstwatch-topic': topics.headers,
      'rstwatch-partition': '0',
      'rstwatch-offset': String(poisonOffset),
    });
    expect(bad!.headers['rstwatch-reason']).toMatch(/\w/);
    expect(bad!.headers['rstwatch-error']).toMatch(/\w/);
    expect(empty!.headers['rstwatch-reason']).toBe('empty');
    console.log(
      `dead letters: ${dlq.map((m) => `${m.headers['rstwatch-reason']}: ${m.headers['rstwatch-error']}`).join('; ')}`,
    );
  });
  it('a tick interrupted while its rows are written is redone by the next owner, with the same token', async () => {
    const topics = await testTopics('proc-tick', brokers, 1);
    await publish(brokers, topics, sample, { maxHeaders: 16 });
    const FULL = 1_000_000;

    // First owner: everything committed, then the end-of-stream tick cannot be written; stop it there.
    const ch = await getClickHouse();
    handles.push(ch);
    const flaky = new FlakyClickHouse(ch.client);
    flaky.failWhen = (token) => token.includes(':tick-');
    const first = startInProcess(topics, flaky.client, FULL, 0);
    const consumer = createKafka({ brokers, clientId: 'processor-test-offsets' }).consumer({
      groupId: topics.group,
    });
    let metadata = '';
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000);
      await waitFor(
        'a pending tick in the commit metadata',
        async () => {
          metadata = (await consumer.committedOffsets(topics.headers))[0]?.metadata ?? '';
          return /:pending$/.test(metadata);
        },
        60_000,
        () => `metadata: ${metadata}`,
      );
    } finally {
      await first.stop();
    }
    const pending = flaky.attempts.find((a) => !a.ok && a.token.includes(':tick-'))!.token;
    expect(pending).toMatch(new RegExp(`^${topics.headers}:0:tick-\\d+-\\d+$`));
    expect(metadata).toBe(
      `rstwatch:tick:${pending.slice(pending.lastIndexOf(':tick-') + 6).replace('-', ':')}:pending`,
    );

    // Next owner: replays the stream silently and writes the pending tick with the same token.
    const second = startInProcess(topics, ch.client, FULL, 0);
    try {
      await waitFor(
        'the pending tick to be written',
        async () => !/:pending$/.test((await consumer.committedOffsets(topics.headers))[0]?.metadata ?? ''),
        60_000,
      );
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000);
    } finally {
      await second.stop();
      await consumer.disconnect();
    }
    const [byToken] = await ch.client.query<{ n: number }>(
      `SELECT count() AS n FROM ${ch.client.database}.rst_events WHERE ingest_token = {t:String}`,
      { t: pending },
    );
    expect(byToken!.n, 'rows of the pending tick').toBeGreaterThan(0);

    // The same as a run that was never interrupted.
    const ref = await getClickHouse();
    handles.push(ref);
    const refTopics = { ...topics, group: uniqueGroup('proc-tick-ref') };
    const refProc = startInProcess(refTopics, ref.client, FULL, 0);
    try {
      await waitAllCommitted(brokers, refTopics.group, [topics.headers, topics.sensors], 120_000);
      await waitTicksSettled(brokers, refTopics.group, topics.headers, 60_000);
    } finally {
      await refProc.stop();
    }
    const events = await eventKeys(ch.client);
    expect(new Set(events).size, 'no event twice').toBe(events.length);
    expect(diffKeys(await eventKeys(ref.client), events)).toEqual({ missing: [], extra: [] });
    expect(await flowUids(ch.client)).toEqual(await flowUids(ref.client));
  });
});

/** Reads `n` messages of a one-partition topic from the beginning. */
async function readAll(
  topic: string,
  n: number,
  timeoutMs: number,
): Promise<{ key: string | null; value: Buffer; headers: Record<string, string> }[]> {
  const c = createKafka({ brokers, clientId: 'processor-test-reader' }).consumer({
    groupId: uniqueGroup('proc-dlq-reader'),
    fromBeginning: true,
    maxWaitTimeMs: 100,
  });
  const got: { key: string | null; value: Buffer; headers: Record<string, string> }[] = [];
  await c.connect();
  try {
    await c.subscribe([topic]);
    await c.run({
      eachBatch: async (b) => {
        for (const m of b.messages)
          got.push({ key: m.key?.toString() ?? null, value: m.value!, headers: m.headers });
      },
    });
    await waitFor(
      `${n} messages on ${topic}`,
      () => got.length >= n,
      timeoutMs,
      () => `got ${got.length}`,
    );
    await sleep(500); // no more than n
    return got;
  } finally {
    await c.disconnect();
  }
}
