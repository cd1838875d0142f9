// A processor whose flow table is too small for the connections open at once: it ends the idlest flows
// early to make room, counts them in rstwatch_processor_flow_evictions_total, and still writes a flow
// record for every connection (the evicted ones when evicted, the rest when they expire).
import { HeaderColumns, TCP_SYN } from '@rstwatch/core';
import { createKafka } from '@rstwatch/kafka';
import { encodeHeaderBatch } from '@rstwatch/wire';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';
import { freePort } from '../support/kafka.js';
import {
  removeTempDirs,
  startProcessorInProcess,
  testTopics,
  waitAllCommitted,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const SENSOR = 'evict-sensor';
const MAX_FLOWS = 16; // the smallest table the engine takes
const CONNECTIONS = 20;

/** One batch: SYNs of `CONNECTIONS` connections, 10.8.0.1:(41000 + k) -> 10.8.0.2:443, 1 ms apart. */
function synBatch(baseUs: number): Buffer {
  const c = HeaderColumns.allocate(CONNECTIONS);
  for (let k = 0; k < CONNECTIONS; k++) {
    for (const [a, last] of [
      [c.srcAddr, 1],
      [c.dstAddr, 2],
    ] as const) {
      a.set([0xff, 0xff, 10, 8, 0, last], k * 16 + 10);
    }
    c.srcPort[k] = 41_000 + k;
    c.dstPort[k] = 443;
    c.flags[k] = TCP_SYN;
    c.seq[k] = 5000 + k;
    c.window[k] = 64_240;
    c.ipLen[k] = 60;
    c.ipVersion[k] = 4;
    c.ttl[k] = 64;
    c.tsUs[k] = baseUs + k * 1000;
  }
  c.length = CONNECTIONS;
  return Buffer.from(encodeHeaderBatch({ sensorId: SENSOR, batchSeq: 0n }, c));
}

describe('processor: a full flow table', () => {
  const handles: ClickHouseHandle[] = [];
  afterAll(async () => {
    for (const h of handles) await h.cleanup();
    removeTempDirs();
  });

  it('counts the flows it evicts to make room, and writes a record for every connection', async () => {
    const topics = await testTopics('proc-evict', brokers, 1);
    const producer = createKafka({ brokers, clientId: 'processor-test-evict' }).producer({
      idempotent: true,
      acks: -1,
    });
    await producer.connect();
    try {
      const value = synBatch((Date.now() - 60_000) * 1000);
      await producer.send(topics.headers, [{ value, partition: 0 }]);
    } finally {
      await producer.disconnect();
    }
    const ch = await getClickHouse();
    handles.push(ch);
    const proc = startProcessorInProcess(brokers, topics, ch.client, await freePort(), {
      maxFlows: MAX_FLOWS,
    });
    let evicted: number | undefined;
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers], 120_000);
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000);
      evicted = await proc.metric('rstwatch_processor_flow_evictions_total');
    } finally {
      await proc.stop();
    }
    expect(evicted).toBe(CONNECTIONS - MAX_FLOWS);
    const flows = await ch.client.query<{ port: number }>(
      `SELECT orig_p AS port FROM ${ch.client.database}.flows WHERE sensor = {s:String} ORDER BY port`,
      { s: SENSOR },
    );
    expect(flows.map((r) => r.port)).toEqual(Array.from({ length: CONNECTIONS }, (_, k) => 41_000 + k));
  });
});
