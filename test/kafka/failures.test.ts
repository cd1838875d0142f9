// Failure behaviour: an unreachable broker fails fast with a clear error, and a broker that goes away
// mid-run surfaces send errors (never swallowed) and works again once it is back. The restart test uses
// its own broker (infra/kafka/start.sh on another port and data dir) so the shared one is not disturbed.
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { createKafka, KafkaError } from '@rstwatch/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type LocalBroker, localBroker } from '../support/kafka.js';

const fastRetry = { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 };

async function timed<T>(p: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const t0 = performance.now();
  try {
    await p;
    return { ms: performance.now() - t0, error: undefined };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

describe('unreachable broker', () => {
  it('connection refused: producer.connect rejects with a connection error within the retry budget', async () => {
    const port = await freePort(); // nothing listens there
    const kafka = createKafka({ brokers: [`127.0.0.1:${port}`], retry: fastRetry });
    const producer = kafka.producer();
    const events: KafkaError[] = [];
    producer.on('error', (e) => events.push(e));
    const { ms, error } = await timed(producer.connect());
    expect(error).toBeInstanceOf(KafkaError);
    const e = error as KafkaError;
    expect(e.kind).toBe('connection');
    expect(e.message).toContain(`producer: connecting to Kafka (127.0.0.1:${port}) failed`);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.cause).toBeDefined();
    expect(events).toEqual([e]);
    expect(ms).toBeLessThan(10_000);
  });

  it('connection refused with default settings still fails in bounded time (admin)', async () => {
    const port = await freePort();
    const admin = createKafka({ brokers: [`127.0.0.1:${port}`] }).admin();
    const { ms, error } = await timed(admin.listTopics());
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).kind).toBe('connection');
    expect(ms).toBeLessThan(30_000);
  }, 60_000);

  describe('a server that accepts connections but never answers', () => {
    let server: Server;
    const sockets: Socket[] = [];
    afterAll(() => {
      for (const s of sockets) s.destroy();
      server?.close();
    });

    it('times out instead of hanging', async () => {
      server = createServer((s) => sockets.push(s)); // swallow everything, answer nothing
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as { port: number };
      const kafka = createKafka({
        brokers: [`127.0.0.1:${port}`],
        requestTimeoutMs: 1000,
        connectionTimeoutMs: 1000,
        retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
      });
      const consumer = kafka.consumer({ groupId: 'never' });
      const { ms, error } = await timed(consumer.connect());
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as KafkaError).message).toContain(
        `consumer group 'never': connecting to Kafka (127.0.0.1:${port}) failed`,
      );
      expect(['timeout', 'connection']).toContain((error as KafkaError).kind);
      expect(ms).toBeLessThan(15_000);
    });
  });
});

describe('broker stopped mid-run and restarted', () => {
  let broker: LocalBroker | undefined;
  afterAll(async () => {
    if (broker === undefined) return;
    await broker.stop(10);
    await rm(broker.dir, { recursive: true, force: true });
  });

  it('surfaces send errors while it is down and sends again after the restart', async () => {
    broker = await localBroker();
    const firstStartMs = broker.lastStartMs;
    const kafka = createKafka({ brokers: broker.brokers, clientId: 'restart-test', retry: fastRetry });
    const topic = 'restart-topic';
    await kafka.admin().createTopics([{ topic, numPartitions: 2 }]);
    const producer = kafka.producer({ idempotent: true, retry: fastRetry, ackTimeoutMs: 2000 });
    const events: KafkaError[] = [];
    producer.on('error', (e) => events.push(e));
    await producer.connect();
    await producer.send(topic, [{ value: Buffer.from('before'), partition: 0 }]);

    const stopped = await timed(broker.stop());
    const down = await timed(producer.send(topic, [{ value: Buffer.from('while down'), partition: 0 }]));
    expect(down.error).toBeInstanceOf(KafkaError);
    expect((down.error as KafkaError).message).toMatch(
      /sending 1 message\(s\) to topic 'restart-topic' failed/,
    );
    expect(events).toContain(down.error);
    expect(down.ms).toBeLessThan(30_000);

    await broker.start();
    // The producer reconnects by itself; the first attempts may still see the broker warming up.
    let sent = false;
    const deadline = Date.now() + 60_000;
    let attempts = 0;
    while (!sent && Date.now() < deadline) {
      attempts++;
      try {
        await producer.send(topic, [{ value: Buffer.from('after'), partition: 0 }]);
        sent = true;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(sent).toBe(true);
    expect(attempts).toBeLessThan(20);
    console.log(
      `[restart] first start ${Math.round(firstStartMs)} ms, clean stop ${Math.round(stopped.ms)} ms, ` +
        `send while down failed after ${Math.round(down.ms)} ms, restart ${Math.round(broker.lastStartMs)} ms, ` +
        `${attempts} send attempt(s) after restart`,
    );
    await producer.send(topic, [{ value: Buffer.from('after 2'), partition: 1 }]);
    await producer.disconnect();

    const admin = kafka.admin();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    // 'before' and 'after' on partition 0 (the failed send wrote nothing), 'after 2' on partition 1.
    expect(offsets.map((o) => o.high)).toEqual(['2', '1']);
  });
});
