// Agent replaying kernel-generated captures into a real broker: every TCP header arrives exactly once,
// in capture order within its partition, both directions of a connection in one partition, and decodes
// back to exactly what the parser produced. The final heartbeat accounts for all of it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { partitionOf, runAgent } from '@rstwatch/agent';
import { describe, expect, inject, it } from 'vitest';
import { createTopic, uniqueTopic } from '../support/kafka.js';
import {
  decodeBatch,
  decodeStats,
  type HeaderRecord,
  readTopic,
  referenceHeaders,
  testAgentConfig,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = [
  'test/fixtures/agent/curl-rst.pcap',
  'test/fixtures/packet/kernel-v4.pcap',
  'test/fixtures/packet/kernel-v6-nano.pcap',
  'test/fixtures/packet/kernel-vlan.pcap',
  'test/fixtures/packet/kernel-dumpcap.pcapng',
].filter((f) => existsSync(join(root, f)));

const PARTITIONS = 3;

/** Direction-free connection name. */
function conn(r: HeaderRecord): string {
  const a = `${r.src}:${r.srcPort}`;
  const b = `${r.dst}:${r.dstPort}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

describe('agent: capture file -> Kafka', () => {
  it.each(fixtures)(
    '%s: every header exactly once, in order per partition, decodes back',
    async (fixture) => {
      const path = join(root, fixture);
      const ref = await referenceHeaders(path);
      expect(ref.records.length).toBeGreaterThan(0);
      const topic = uniqueTopic('agent-file');
      const statsTopic = uniqueTopic('agent-file-stats');
      await createTopic(brokers, topic, PARTITIONS);
      await createTopic(brokers, statsTopic, 1);

      const agent = await runAgent(
        testAgentConfig(brokers, { pcap: path, replaySpeed: 'max', topic, statsTopic }),
        {
          signal: new AbortController().signal,
        },
      );
      expect(agent.partitions).toBe(PARTITIONS);
      expect(agent.stats.tcpHeaders).toBe(ref.records.length);
      expect(agent.stats.headersSent).toBe(ref.records.length);

      const total = ref.records.length;
      const got = await readTopic(
        brokers,
        topic,
        decodeBatch,
        (g) => g.reduce((n, b) => n + b.records.length, 0) >= total,
      );
      const received = got.reduce((n, b) => n + b.records.length, 0);
      expect(received).toBe(total);

      // Per partition, in offset order, the headers are exactly the capture's headers of that partition.
      for (let p = 0; p < PARTITIONS; p++) {
        const expected = ref.records.filter((_, i) => partitionOf(ref.cols, i, PARTITIONS) === p);
        const actual = got
          .filter((b) => b.partition === p)
          .sort((a, b) => a.offset - b.offset)
          .flatMap((b) => b.records);
        expect(actual).toEqual(expected);
      }
      // Both directions of every connection share a partition.
      const partOf = new Map<string, Set<number>>();
      for (const b of got)
        for (const r of b.records)
          (partOf.get(conn(r)) ?? partOf.set(conn(r), new Set()).get(conn(r))!).add(b.partition);
      for (const [c, ps] of partOf) expect(ps.size, c).toBe(1);
      // batchSeq: 0..n-1, each once; sensor id and 4-byte keys on every message.
      const seqs = got.map((b) => b.batchSeq).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
      expect(got.every((b) => b.sensorId === 'test-sensor' && b.key?.length === 4)).toBe(true);

      // The final heartbeat accounts for everything.
      const stats = await readTopic(brokers, statsTopic, decodeStats, (g) =>
        g.some((s) => s.headersSent === total),
      );
      const last = stats.at(-1)!;
      expect(last.sensorId).toBe('test-sensor');
      expect(last.tcpHeaders).toBe(total);
      expect(last.headersSent).toBe(total);
      expect(last.batchesSent).toBe(got.length);
      expect(last.lastBatchSeq).toBe(BigInt(got.length - 1));
      expect(Object.values(last.headersDropped).reduce((a, b) => a + b, 0)).toBe(0);
    },
  );
});
