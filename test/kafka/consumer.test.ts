// Consumer behaviour the processor relies on: manual commits only, pause/resume per partition, seek,
// and rebalance notifications.
import { type Batch, type Consumer, createKafka, type RebalanceEvent } from '@rstwatch/kafka';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTopic, uniqueTopic } from '../support/kafka.js';

const brokers = inject('kafkaBrokers').split(',');
const kafka = createKafka({ brokers, clientId: 'consumer-test' });

const open: Consumer[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.disconnect()));
});

async function produce(topic: string, partition: number, from: number, count: number): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  await p.send(
    topic,
    Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`p${partition}-${from + i}`), partition })),
  );
  await p.disconnect();
}

/** A started consumer that records every message as `p<partition>-<offset>` values. */
async function startConsumer(topic: string, groupId: string, onBatch?: (b: Batch) => Promise<void>) {
  const c = kafka.consumer({ groupId, fromBeginning: true, maxWaitTimeMs: 100 });
  open.push(c);
  const seen: string[] = [];
  const rebalances: RebalanceEvent[] = [];
  c.onRebalance((ev) => rebalances.push(ev));
  await c.connect();
  await c.subscribe([topic]);
  await c.run({
    eachBatch: async (b) => {
      for (const m of b.messages) seen.push(m.value!.toString());
      await onBatch?.(b);
    },
  });
  return { c, seen, rebalances };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('consumer', () => {
  it('commits nothing by itself: a restarted member re-reads everything not committed', async () => {
    const topic = uniqueTopic('manual-commit');
    const groupId = `${topic}-g`;
    await createTopic(brokers, topic, 1);
    await produce(topic, 0, 0, 10);

    const first = await startConsumer(topic, groupId);
    await expect.poll(() => first.seen.length, { timeout: 30_000 }).toBe(10);
    await sleep(500); // give an auto-commit (if there were one) time to happen
    expect(await first.c.committedOffsets(topic)).toEqual([{ partition: 0, offset: '-1', metadata: null }]);
    // Metadata travels with the commit (the processor records write intents there).
    await first.c.commitOffsets([{ topic, partition: 0, offset: '4', metadata: 'rstwatch:unit:4-5' }]);
    expect(await first.c.committedOffsets(topic)).toEqual([
      { partition: 0, offset: '4', metadata: 'rstwatch:unit:4-5' },
    ]);
    await first.c.commitOffsets([{ topic, partition: 0, offset: '6' }]);
    expect(await first.c.committedOffsets(topic)).toEqual([{ partition: 0, offset: '6', metadata: null }]);
    await first.c.disconnect();

    const second = await startConsumer(topic, groupId);
    await expect.poll(() => second.seen.length, { timeout: 30_000 }).toBe(4);
    expect(second.seen).toEqual(['p0-6', 'p0-7', 'p0-8', 'p0-9']);
  });

  it('pauses and resumes single partitions', async () => {
    const topic = uniqueTopic('pause');
    await createTopic(brokers, topic, 2);
    await produce(topic, 0, 0, 5);
    await produce(topic, 1, 0, 5);
    const { c, seen } = await startConsumer(topic, `${topic}-g`);
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(10);

    c.pause([{ topic, partitions: [0] }]);
    await produce(topic, 0, 5, 5);
    await produce(topic, 1, 5, 5);
    await expect.poll(() => seen.filter((v) => v.startsWith('p1-')).length, { timeout: 30_000 }).toBe(10);
    await sleep(1000); // several fetch cycles (maxWaitTimeMs 100)
    expect(seen.filter((v) => v.startsWith('p0-'))).toHaveLength(5);

    c.resume([{ topic, partitions: [0] }]);
    await expect.poll(() => seen.filter((v) => v.startsWith('p0-')).length, { timeout: 30_000 }).toBe(10);
    expect(seen.filter((v) => v.startsWith('p0-'))).toEqual(Array.from({ length: 10 }, (_, i) => `p0-${i}`));
  });

  it('re-delivers a batch whose handler throws, and seeks', async () => {
    const topic = uniqueTopic('redeliver');
    await createTopic(brokers, topic, 1);
    await produce(topic, 0, 0, 3);
    let failures = 0;
    const { c, seen } = await startConsumer(topic, `${topic}-g`, async () => {
      if (failures++ === 0) throw new Error('ClickHouse said no');
    });
    // First delivery recorded then failed; the same messages arrive again.
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(6);
    expect(seen).toEqual(['p0-0', 'p0-1', 'p0-2', 'p0-0', 'p0-1', 'p0-2']);

    c.seek({ topic, partition: 0, offset: '1' });
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(8);
    expect(seen.slice(6)).toEqual(['p0-1', 'p0-2']);
  });

  it('reports assignment changes when members join and leave', async () => {
    const topic = uniqueTopic('rebalance');
    const groupId = `${topic}-g`;
    await createTopic(brokers, topic, 4);
    const a = await startConsumer(topic, groupId);
    await expect.poll(() => a.c.assignment().length, { timeout: 30_000 }).toBe(4);
    expect(a.rebalances).toEqual([
      { type: 'assign', partitions: [0, 1, 2, 3].map((partition) => ({ topic, partition })) },
    ]);

    const b = await startConsumer(topic, groupId);
    await expect
      .poll(() => a.c.assignment().length + b.c.assignment().length === 4 && b.c.assignment().length > 0, {
        timeout: 60_000,
      })
      .toBe(true);
    await expect.poll(() => a.c.assignment().length, { timeout: 30_000 }).toBeLessThan(4);
    const parts = (cs: Consumer) => cs.assignment().map((p) => p.partition);
    expect([...parts(a.c), ...parts(b.c)].sort()).toEqual([0, 1, 2, 3]);
    const revokedFromA = a.rebalances.filter((e) => e.type === 'revoke').flatMap((e) => e.partitions);
    expect(revokedFromA.map((p) => p.partition).sort()).toEqual(parts(b.c).sort());

    await b.c.disconnect();
    expect(b.rebalances.at(-1)?.type).toBe('revoke');
    expect(b.c.assignment()).toEqual([]);
    await expect.poll(() => a.c.assignment().length, { timeout: 60_000 }).toBe(4);
  });
});
