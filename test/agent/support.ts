// Helpers for the agent's integration tests: reference headers from the parser, a consumer that reads a
// whole topic back, and header records comparable field by field.

import type { AgentRunConfig } from '@rstwatch/agent';
import { ADDR_BYTES, HeaderColumns, RST_PAYLOAD_MAX } from '@rstwatch/core';
import { createKafka } from '@rstwatch/kafka';
import { parseCaptureFile } from '@rstwatch/packet';
import { decodeHeaderBatch, decodeSensorStats, type SensorStats } from '@rstwatch/wire';

/** One header as plain fields (addresses as hex), for deep equality. */
export type HeaderRecord = Record<string, number | string>;

const hex = (a: Uint8Array, o: number, n: number) => Buffer.from(a.subarray(o, o + n)).toString('hex');

export function headerRecord(c: HeaderColumns, i: number): HeaderRecord {
  const rst = c.rstPayloadLen[i]!;
  return {
    tsUs: c.tsUs[i]!,
    seq: c.seq[i]!,
    ack: c.ack[i]!,
    tsVal: c.tsVal[i]!,
    tsEcr: c.tsEcr[i]!,
    ipLen: c.ipLen[i]!,
    payloadLen: c.payloadLen[i]!,
    srcPort: c.srcPort[i]!,
    dstPort: c.dstPort[i]!,
    window: c.window[i]!,
    flags: c.flags[i]!,
    ipId: c.ipId[i]!,
    mss: c.mss[i]!,
    vlan: c.vlan[i]!,
    ipVersion: c.ipVersion[i]!,
    ttl: c.ttl[i]!,
    wscale: c.wscale[i]!,
    optFlags: c.optFlags[i]!,
    tunnel: c.tunnel[i]!,
    src: hex(c.srcAddr, i * ADDR_BYTES, ADDR_BYTES),
    dst: hex(c.dstAddr, i * ADDR_BYTES, ADDR_BYTES),
    rst: hex(c.rstPayload, i * RST_PAYLOAD_MAX, rst),
  };
}

/** Every header of a capture file, in capture order, as one batch (and as records). */
export async function referenceHeaders(
  path: string,
): Promise<{ cols: HeaderColumns; records: HeaderRecord[] }> {
  const parts: HeaderColumns[] = [];
  await parseCaptureFile(path, {
    onBatch: (b) => {
      const copy = HeaderColumns.allocate(Math.max(1, b.length));
      for (let i = 0; i < b.length; i++) copy.copyFrom(b, i);
      parts.push(copy);
    },
  });
  const n = parts.reduce((s, p) => s + p.length, 0);
  const cols = HeaderColumns.allocate(Math.max(1, n));
  for (const p of parts) for (let i = 0; i < p.length; i++) cols.copyFrom(p, i);
  const records: HeaderRecord[] = [];
  for (let i = 0; i < cols.length; i++) records.push(headerRecord(cols, i));
  return { cols, records };
}

export interface ReceivedBatch {
  partition: number;
  offset: number;
  key: Buffer | null;
  sensorId: string;
  batchSeq: bigint;
  records: HeaderRecord[];
}

/** Reads `topic` from the beginning until `done(messagesSoFar)` or the timeout. */
export async function readTopic<T>(
  brokers: string[],
  topic: string,
  decode: (partition: number, offset: number, key: Buffer | null, value: Buffer) => T,
  done: (got: T[]) => boolean,
  timeoutMs = 60_000,
): Promise<T[]> {
  const kafka = createKafka({ brokers, clientId: 'agent-test-reader' });
  const c = kafka.consumer({
    groupId: `${topic}-reader-${Date.now()}`,
    fromBeginning: true,
    maxWaitTimeMs: 100,
  });
  const got: T[] = [];
  await c.connect();
  try {
    await c.subscribe([topic]);
    let resolveDone!: () => void;
    const finished = new Promise<void>((r) => {
      resolveDone = r;
    });
    await c.run({
      eachBatch: async (b) => {
        for (const m of b.messages) got.push(decode(b.partition, Number(m.offset), m.key, m.value!));
        if (done(got)) resolveDone();
      },
    });
    if (!done(got)) {
      await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
    }
    return got;
  } finally {
    await c.disconnect();
  }
}

export function decodeBatch(
  partition: number,
  offset: number,
  key: Buffer | null,
  value: Buffer,
): ReceivedBatch {
  const { meta, columns } = decodeHeaderBatch(value);
  const records: HeaderRecord[] = [];
  for (let i = 0; i < columns.length; i++) records.push(headerRecord(columns, i));
  return { partition, offset, key, sensorId: meta.sensorId, batchSeq: meta.batchSeq, records };
}

export function decodeStats(_p: number, _o: number, _k: Buffer | null, value: Buffer): SensorStats {
  return decodeSensorStats(value);
}

/** Agent settings for tests: small batches so a small capture makes many messages. */
export function testAgentConfig(brokers: string[], over: Partial<AgentRunConfig>): AgentRunConfig {
  return {
    sensorId: 'test-sensor',
    kafka: { brokers, clientId: 'agent-test' },
    maxHeaders: 5,
    maxBytes: 1 << 20,
    lingerMs: 20,
    bufferMaxBytes: 8 << 20,
    compression: 'none',
    acks: -1,
    idempotent: true,
    heartbeatIntervalS: 1,
    retries: 2,
    shutdownTimeoutMs: 10_000,
    ...over,
  };
}
