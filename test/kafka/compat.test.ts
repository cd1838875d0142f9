// KIP-896: Kafka 4 removed old protocol versions. Proves kafkajs 2.2.4 (behind @rstwatch/kafka) still does
// everything rstwatch needs against the broker the tests use.
import { type Batch, createKafka } from '@rstwatch/kafka';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueTopic } from '../support/kafka.js';

const brokers = inject('kafkaBrokers').split(',');

describe(`kafkajs against the test broker (${inject('kafkaSource')})`, () => {
  const kafka = createKafka({ brokers, clientId: 'compat-test' });
  const admin = kafka.admin();
  afterAll(() => admin.disconnect());

  it('creates topics, produces idempotently with acks=all, consumes in batches, commits and describes', async () => {
    const topic = uniqueTopic('compat');
    const groupId = `${topic}-group`;
    expect(await admin.createTopics([{ topic, numPartitions: 3 }])).toEqual([topic]);
    expect(await admin.createTopics([{ topic, numPartitions: 3 }])).toEqual([]); // idempotent
    expect(await admin.listTopics()).toContain(topic);

    const producer = kafka.producer({ idempotent: true, acks: -1 });
    await producer.connect();
    expect(await producer.partitionsFor(topic)).toBe(3);
    const sent = Array.from({ length: 30 }, (_, i) => ({
      key: `k${i}`,
      value: Buffer.from(`v${i}`),
      partition: i % 3,
      headers: { seq: String(i) },
    }));
    await producer.send(topic, sent);
    await producer.disconnect();

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets).toEqual([0, 1, 2].map((partition) => ({ partition, low: '0', high: '10' })));

    const consumer = kafka.consumer({ groupId, fromBeginning: true });
    const received: { partition: number; key: string; value: string; seq: string }[] = [];
    const assigned: number[] = [];
    consumer.onRebalance((ev) => {
      if (ev.type === 'assign') assigned.push(...ev.partitions.map((p) => p.partition));
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const done = new Promise<void>((res, rej) => {
      consumer
        .run({
          eachBatch: async (batch: Batch) => {
            for (const m of batch.messages) {
              received.push({
                partition: batch.partition,
                key: m.key!.toString(),
                value: m.value!.toString(),
                seq: m.headers.seq!,
              });
              expect(Number(m.timestamp)).toBeGreaterThan(Date.now() - 600_000);
            }
            expect(batch.highWatermark).toBe('10');
            await consumer.commitOffsets([
              { topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
            ]);
            if (received.length === sent.length) res();
          },
        })
        .catch(rej);
    });
    await done;
    expect(received.map((r) => r.value).sort()).toEqual(sent.map((m) => m.value.toString()).sort());
    for (const r of received) expect(r.partition).toBe(Number(r.seq) % 3);
    expect(assigned.sort()).toEqual([0, 1, 2]);

    expect(await consumer.committedOffsets(topic)).toEqual(
      [0, 1, 2].map((partition) => ({ partition, offset: '10', metadata: null })),
    );
    expect(await admin.fetchOffsets(groupId, topic)).toEqual(
      [0, 1, 2].map((partition) => ({ partition, offset: '10' })),
    );
    const group = await admin.describeGroup(groupId);
    expect(group.state).toBe('Stable');
    expect(group.members).toHaveLength(1);
    expect(group.members[0]!.clientId).toBe('compat-test');

    await consumer.disconnect();
    expect((await admin.describeGroup(groupId)).state).toBe('Empty');
    await admin.deleteTopics([topic]);
    await expect.poll(() => admin.listTopics(), { timeout: 10_000 }).not.toContain(topic);
  });

  it('auto-creates a topic on first produce with the broker default of 4 partitions', async () => {
    const topic = uniqueTopic('autocreate');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send(topic, [{ value: Buffer.from('x') }]);
    expect(await producer.partitionsFor(topic)).toBe(4);
    await producer.disconnect();
  });

  it('an idle connection arms no timers and raises no process warning (patches/kafkajs@2.2.4.patch)', async () => {
    // Unpatched, kafkajs re-armed a 1 ms timer forever on every connection with nothing to send
    // (~1,800 setTimeout calls/s, ~3% of a core per idle producer), with a negative delay that Node 23+
    // reports as a TimeoutNegativeWarning on stderr, in the middle of the JSON log lines.
    const topic = uniqueTopic('idle');
    const producer = kafka.producer({ idempotent: true, acks: -1 });
    await producer.connect();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    try {
      await producer.send(topic, [{ value: Buffer.from('x') }]); // a request, answered: then idle
      timers = 0;
      await new Promise((r) => realSetTimeout(r, 2000));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      process.off('warning', onWarning);
      await producer.disconnect();
    }
    expect(timers).toBeLessThan(20);
    expect(warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
  });
});
