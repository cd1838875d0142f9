// Every compression codec @rstwatch/kafka offers round-trips through the real broker (which decompresses
// to validate batches, so this also checks the Java side reads our lz4/snappy/zstd framing).
import { type Batch, type Compression, createKafka } from '@rstwatch/kafka';
import { describe, expect, inject, it } from 'vitest';
import { createTopic, uniqueTopic } from '../support/kafka.js';

const brokers = inject('kafkaBrokers').split(',');
const kafka = createKafka({ brokers, clientId: 'codec-test' });
const available = await kafka.availableCompressions();

// Column-like payloads: compressible, and distinct per message.
function payload(i: number): Buffer {
  const b = Buffer.alloc(4096);
  for (let j = 0; j < b.length; j += 4) b.writeUInt32LE((i * 1000 + (j >> 6)) >>> 0, j);
  return b;
}

describe('compression codecs', () => {
  it('offers gzip, snappy, lz4 and zstd', () => {
    expect(available).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
  });

  it.each(available)('%s round-trips through the broker', async (compression: Compression) => {
    const topic = uniqueTopic(`codec-${compression}`);
    await createTopic(brokers, topic, 1);
    const producer = kafka.producer({ compression, idempotent: true });
    await producer.connect();
    const n = 200;
    for (let start = 0; start < n; start += 50) {
      await producer.send(
        topic,
        Array.from({ length: 50 }, (_, k) => ({ key: `k${start + k}`, value: payload(start + k) })),
      );
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-g`, fromBeginning: true });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const got: Buffer[] = [];
    await new Promise<void>((res, rej) => {
      consumer
        .run({
          eachBatch: async (b: Batch) => {
            for (const m of b.messages) got[Number(m.offset)] = m.value!;
            if (got.filter(Boolean).length === n) res();
          },
        })
        .catch(rej);
    });
    await consumer.disconnect();
    expect(got).toHaveLength(n);
    for (let i = 0; i < n; i++) expect(Buffer.compare(got[i]!, payload(i)), `message ${i}`).toBe(0);
  });
});
