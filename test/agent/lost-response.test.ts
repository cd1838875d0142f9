// A produce request the broker wrote but never answered in time: kafkajs gives up on it and rolls its
// idempotent sequence back, the broker then writes it anyway. The agent's sender must resend exactly
// that request (the broker recognises the duplicate) and not regroup it with batches queued since (the
// broker would refuse the regrouped request as out of order, and every resend after it, forever: seen
// in CI as an agent that never resumed after a broker restart).
import { rm } from 'node:fs/promises';
import {
  BufferedSender,
  createAgentStats,
  type ProducerPort,
  type ProducerReplaceReason,
} from '@rstwatch/agent';
import { deadlineIn } from '@rstwatch/core';
import { createKafka, type Kafka, type Producer } from '@rstwatch/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { createTopicWhenReady, type LocalBroker, localBroker, uniqueTopic } from '../support/kafka.js';
import { readTopic } from './support.js';

let broker: LocalBroker | undefined;
const producers: Producer[] = [];
afterAll(async () => {
  await broker?.resume().catch(() => {});
  await Promise.allSettled(producers.map((p) => p.disconnect()));
  await broker?.stop().catch(() => {});
  if (broker) await rm(broker.dir, { recursive: true, force: true });
});

const batch = (seq: number) => {
  const value = Buffer.alloc(64);
  value.writeUInt32BE(seq);
  return { partition: seq % 2, key: Buffer.from(`k${seq}`), value, headers: 1, seq: BigInt(seq) };
};

async function setup(prefix: string) {
  broker ??= await localBroker();
  const brokers = broker.brokers;
  const topic = uniqueTopic(prefix);
  await createTopicWhenReady(brokers, topic, 2);
  const retry = { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 }; // idempotent needs retries > 0
  const kafka = createKafka({ brokers, clientId: 'lost-response', requestTimeoutMs: 2000, retry });
  const newProducer = async () => {
    const p = kafka.producer({ idempotent: true, acks: -1, retry });
    producers.push(p);
    await p.connect();
    return p;
  };
  return { brokers, topic, kafka, newProducer };
}

/** Records in `topic` (high - low summed over partitions): a duplicate counts. */
async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

/**
 * The scenario on a fresh topic: a sender (over `wrap(producer)`) sends batches 0, 1; the broker is
 * frozen; it sends 2, 3 (kafkajs times the request out); 4..7 are queued at that failure; the broker
 * resumes and writes 2, 3; the sender drains. Returns what happened and the batch numbers in the topic.
 */
async function lostResponse(prefix: string, wrap: (p: Producer) => ProducerPort = (p) => p) {
  const { brokers, topic, kafka, newProducer } = await setup(prefix);
  const stats = createAgentStats();
  const errors: string[] = [];
  const replaced: ProducerReplaceReason[] = [];
  let failed!: () => void;
  const firstFailure = new Promise<void>((r) => (failed = r));
  const sender: BufferedSender = new BufferedSender(
    { topic, bufferMaxBytes: 1 << 20, backoffInitialMs: 1500, backoffMaxMs: 1500 },
    {
      producer: wrap(await newProducer()),
      replaceProducer: async (reason) => {
        replaced.push(reason);
        return newProducer();
      },
    },
    {
      stats,
      onError: (err) => {
        // Queued while the failed request [2, 3] waits to be resent.
        if (errors.length === 0) for (let s = 4; s < 8; s++) sender.offer(batch(s));
        errors.push((err as Error).message);
        failed();
      },
    },
  );
  await sender.start();
  sender.offer(batch(0));
  sender.offer(batch(1));
  await expect.poll(() => stats.batchesSent, { timeout: 30_000 }).toBe(2);
  await broker!.pause();
  sender.offer(batch(2));
  sender.offer(batch(3));
  await firstFailure; // kafkajs gave up on [2, 3] after two 2 s request timeouts
  await broker!.resume(); // the broker now reads and writes [2, 3]; the resend follows after the backoff
  await sender.stop(deadlineIn(60_000));
  const drained = sender.complete;
  const records = await recordCount(kafka, topic); // a duplicate counts
  const inTopic = await readTopic(
    brokers,
    topic,
    (_p, _o, _k, v) => v.readUInt32BE(0),
    (g) => g.length >= records,
    20_000,
  );
  return { drained, stats, errors, replaced, records, inTopic: inTopic.sort((x, y) => x - y) };
}

describe('agent sender: a request written by the broker but unanswered', () => {
  it('is resent as is: every batch in Kafka exactly once, no out-of-order refusal', async () => {
    const r = await lostResponse('lost-response');
    expect(r.drained).toBe(true);
    expect(r.errors.filter((e) => /out of order/i.test(e))).toEqual([]);
    expect(r.replaced).toEqual([]);
    expect(r.stats.batchesSent).toBe(8);
    expect(r.records).toBe(8); // a duplicate would be a ninth
    expect(r.inTopic).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refused as out of order anyway: the producer is replaced and sending resumes', async () => {
    // The resend carries one extra record (as a regrouping sender would), so the real broker refuses it
    // with the real kafkajs error; the sender must recognise it, take a fresh producer, and go on.
    let calls = 0;
    const r = await lostResponse('lost-response-oos', (first) => ({
      send: (t, msgs) => {
        calls++;
        // Call 1: [0, 1]; call 2: [2, 3], timed out; call 3: the resend, with an extra record.
        return first.send(t, calls === 3 ? [...msgs, { ...batch(98), partition: 0 }] : msgs);
      },
    }));
    expect(r.drained).toBe(true);
    expect(r.errors.some((e) => /out of order sequence/i.test(e))).toBe(true);
    expect(r.replaced).toEqual(['producer_state']);
    expect(r.stats.producerReplacements).toEqual({ stuck: 0, producer_state: 1 });
    expect(r.stats.batchesSent).toBe(8);
    // At least once: 2 and 3 are in Kafka from the frozen request and again from the fresh producer.
    expect(r.records).toBe(10);
    expect(r.inTopic).toEqual([0, 1, 2, 2, 3, 3, 4, 5, 6, 7]);
  });
});
