// Per-sensor batch sequence end to end: the processor skips a batch the agent sent twice (rows written
// once, the same message skipped by a new owner whose warm-up replays the original), writes one
// `header_batches` row per batch, and `sensor-health` counts a gap in batch_seq as lost but not a batch
// the agent reported as dropped.
import { HeaderColumns, TCP_ACK, TCP_RST, TCP_SYN } from '@rstwatch/core';
import { createKafka } from '@rstwatch/kafka';
import { runQuery } from '@rstwatch/store';
import { encodeHeaderBatch, encodeSensorStats } from '@rstwatch/wire';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';
import { freePort } from '../support/kafka.js';
import {
  removeTempDirs,
  startProcessorInProcess,
  type TestTopics,
  testTopics,
  uniqueGroup,
  waitAllCommitted,
  waitFor,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const SENSOR = 'seq-sensor';

/** One batch: a connection attempt to a closed port (SYN, then RST+ACK back), its own client port. */
function batch(seq: number, baseUs: number): Buffer {
  const c = HeaderColumns.allocate(2);
  const v4 = (a: Uint8Array, i: number, last: number) => {
    const o = i * 16;
    a[o + 10] = 0xff;
    a[o + 11] = 0xff;
    a.set([10, 9, 0, last], o + 12);
  };
  const ts = baseUs + seq * 10_000;
  // SYN 10.9.0.1:(40000+seq) -> 10.9.0.2:80
  v4(c.srcAddr, 0, 1);
  v4(c.dstAddr, 0, 2);
  c.srcPort[0] = 40_000 + seq;
  c.dstPort[0] = 80;
  c.flags[0] = TCP_SYN;
  c.seq[0] = 1000;
  c.window[0] = 64_240;
  c.ipLen[0] = 60;
  c.tsUs[0] = ts;
  // RST+ACK back
  v4(c.srcAddr, 1, 2);
  v4(c.dstAddr, 1, 1);
  c.srcPort[1] = 80;
  c.dstPort[1] = 40_000 + seq;
  c.flags[1] = TCP_RST | TCP_ACK;
  c.ack[1] = 1001;
  c.ipLen[1] = 40;
  c.tsUs[1] = ts + 200;
  for (const i of [0, 1]) {
    c.ipVersion[i] = 4;
    c.ttl[i] = 64;
  }
  c.length = 2;
  return Buffer.from(encodeHeaderBatch({ sensorId: SENSOR, batchSeq: BigInt(seq) }, c));
}

/** Commits `offset` of partition 0 for `group` without processing anything (a previous owner's state). */
async function commitFor(group: string, topic: string, offset: string): Promise<void> {
  const c = createKafka({ brokers, clientId: 'processor-test-commit' }).consumer({
    groupId: group,
    fromBeginning: true,
    maxWaitTimeMs: 100,
  });
  let assigned = false;
  c.onRebalance((ev) => {
    if (ev.type === 'assign' && ev.partitions.length > 0) assigned = true;
  });
  await c.connect();
  try {
    await c.subscribe([topic]);
    await c.run({ eachBatch: async () => {} });
    await waitFor('the offsets consumer to be assigned', async () => assigned, 30_000);
    await c.commitOffsets([{ topic, partition: 0, offset }]);
  } finally {
    await c.disconnect();
  }
}

describe('processor: per-sensor batch sequence', () => {
  const handles: ClickHouseHandle[] = [];
  afterAll(async () => {
    for (const h of handles) await h.cleanup();
    removeTempDirs();
  });

  it('skips a re-sent batch, writes header_batches, and sensor-health reports the gap as lost', async () => {
    const topics = await testTopics('proc-seq', brokers, 1);
    const baseUs = (Date.now() - 60_000) * 1000;
    // Offsets: 0:b0 1:b1 2:b2 3:b4 4:b2 again (the agent's watchdog) 5:b6. Seq 3 is lost on the way,
    // seq 5 was dropped by the agent (buffer full) and says so in its heartbeat.
    const b2 = batch(2, baseUs);
    const values = [batch(0, baseUs), batch(1, baseUs), b2, batch(4, baseUs), b2, batch(6, baseUs)];
    const producer = createKafka({ brokers, clientId: 'processor-test-seq' }).producer({
      idempotent: true,
      acks: -1,
    });
    await producer.connect();
    try {
      for (const value of values) await producer.send(topics.headers, [{ value, partition: 0 }]);
      const nowMs = Date.now();
      await producer.send(topics.sensors, [
        {
          key: Buffer.from(SENSOR),
          value: Buffer.from(
            encodeSensorStats({
              sensorId: SENSOR,
              tsUs: nowMs * 1000,
              agentVersion: '0.1.0',
              uptimeMs: 120_000,
              packetsSeen: 12,
              tcpHeaders: 12,
              kernelDrops: 0,
              kernelIfDrops: 0,
              parseErrors: {},
              batchesSent: 5,
              bytesSent: 1000,
              sendFailures: 0,
              headersDropped: { buffer_full: 2 },
              batchesDropped: { buffer_full: 1 },
              lastBatchSeq: 6n,
              headersSent: 10,
            }),
          ),
        },
      ]);
    } finally {
      await producer.disconnect();
    }

    const ch = await getClickHouse();
    handles.push(ch);
    // Ports the system says are free (a random one, or the one after it, may be taken).
    const port = await freePort();
    const proc = startProcessorInProcess(brokers, topics, ch.client, port);
    let duplicates: number | undefined;
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000);
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000);
      duplicates = await proc.metric('rstwatch_processor_duplicate_batches_total');
    } finally {
      await proc.stop();
    }
    expect(duplicates).toBe(1);

    const db = ch.client.database;
    const rows = await ch.client.query<{ seq: string; offset: string; headers: number; token: string }>(
      `SELECT toString(batch_seq) AS seq, toString(offset) AS offset, headers, ingest_token AS token
       FROM ${db}.header_batches WHERE sensor = {s:String} ORDER BY offset`,
      { s: SENSOR },
    );
    expect(rows.map((r) => [r.seq, r.offset])).toEqual([
      ['0', '0'],
      ['1', '1'],
      ['2', '2'],
      ['4', '3'],
      ['6', '5'],
    ]);
    expect(rows.every((r) => r.headers === 2 && r.token.startsWith(`${topics.headers}:0:`))).toBe(true);

    // One closed-port event per batch: the re-sent b2 did not reach the engine a second time.
    const perFlow = await ch.client.query<{ port: number; n: number }>(
      `SELECT dst_port AS port, count() AS n FROM ${db}.rst_events WHERE sensor = {s:String} GROUP BY port ORDER BY port`,
      { s: SENSOR },
    );
    expect(perFlow).toEqual([0, 1, 2, 4, 6].map((s) => ({ port: 40_000 + s, n: 1 })));

    const health = await runQuery(ch.client, 'sensor-health');
    expect(health.find((r) => r.sensor === SENSOR)).toMatchObject({
      batches_sent: 5,
      last_batch_seq: 6,
      batches_received: 5,
      batches_dropped: 1,
      lost_batches: 1,
    });
    const stats = await ch.client.query<{ d: Record<string, number>; lost: number }>(
      `SELECT agent_batch_drops AS d, lost_batches AS lost FROM ${db}.sensor_stats WHERE sensor = {s:String}`,
      { s: SENSOR },
    );
    expect(stats).toEqual([{ d: { buffer_full: 1 }, lost: 0 }]);

    // A new owner that takes over at offset 3: its warm-up replays b0..b2 silently, which rebuilds the
    // sequence state, so it skips the re-sent b2 at offset 4 exactly like the first owner did.
    const second: TestTopics = { ...topics, group: uniqueGroup('proc-seq-2') };
    await commitFor(second.group, topics.headers, '3');
    const ch2 = await getClickHouse();
    handles.push(ch2);
    const proc2 = startProcessorInProcess(brokers, second, ch2.client, await freePort());
    try {
      await waitAllCommitted(brokers, second.group, [topics.headers], 120_000);
      duplicates = await proc2.metric('rstwatch_processor_duplicate_batches_total');
    } finally {
      await proc2.stop();
    }
    expect(duplicates).toBe(1);
    const again = await ch2.client.query<{ seq: string }>(
      `SELECT toString(batch_seq) AS seq FROM ${ch2.client.database}.header_batches ORDER BY offset`,
    );
    expect(again.map((r) => r.seq)).toEqual(['4', '6']);
  });
});
