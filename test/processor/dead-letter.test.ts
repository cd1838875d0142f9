// The dead-letter producer when a send times out after the broker wrote it (broker stalled): the next
// dead letter must still reach the topic. An idempotent producer rolls its sequence back after such a
// failure, so the next record goes out under the number the broker already holds, and the broker drops
// it as a duplicate without an error: a dead letter lost without trace. Dead letters are at least once.
import { rm } from 'node:fs/promises';
import { createKafka, type Producer } from '@rstwatch/kafka';
import { deadLetterProducer } from '@rstwatch/processor';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopic } from '../agent/support.js';
import { createTopicWhenReady, type LocalBroker, localBroker, uniqueTopic } from '../support/kafka.js';

let broker: LocalBroker | undefined;
let producer: Producer | undefined;
afterAll(async () => {
  await broker?.resume().catch(() => {});
  await producer?.disconnect().catch(() => {});
  await broker?.stop().catch(() => {});
  if (broker) await rm(broker.dir, { recursive: true, force: true });
});

describe('dead-letter producer', () => {
  it('a send that timed out after the broker wrote it does not swallow the next dead letter', async () => {
    broker = await localBroker();
    const brokers = broker.brokers;
    const topic = uniqueTopic('dead-letter-stall');
    await createTopicWhenReady(brokers, topic, 1);
    const retry = { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 };
    const kafka = createKafka({ brokers, clientId: 'dead-letter-test', requestTimeoutMs: 2000, retry });
    producer = deadLetterProducer(kafka, retry);
    await producer.connect();
    const letter = (name: string) => ({ value: Buffer.from(name), partition: 0 });

    await producer.send(topic, [letter('A')]);
    await broker.pause();
    // The request waits in the frozen broker's socket; kafkajs times it out (twice) and gives up.
    await expect(producer.send(topic, [letter('B')])).rejects.toThrow();
    await broker.resume(); // the broker now writes B
    await producer.send(topic, [letter('C')]);

    const got = await readTopic(
      brokers,
      topic,
      (_p, _o, _k, v) => v.toString(),
      (g) => g.includes('C'),
      20_000,
    );
    // At least once: B was written by the frozen request; C must be there too.
    expect(got).toContain('A');
    expect(got).toContain('B');
    expect(got).toContain('C');
  }, 120_000);
});
