import type { CaptureSource, HeaderSink } from '@rstwatch/capture';
import { deadlineIn, type HeaderColumns } from '@rstwatch/core';
import { KafkaError } from '@rstwatch/kafka';
import { createParseStats } from '@rstwatch/packet';
import { describe, expect, it } from 'vitest';
import { Agent, type AgentCodec, type AgentConfig } from './agent.js';
import { BufferedSender } from './sender.js';
import { createAgentStats } from './stats.js';
import { FakeProducer, makeHeaders } from './testing.js';

/** Codec stand-in: value = "seq:first,last seqs" padded to a fixed size so byte budgets are predictable. */
const codec: AgentCodec = {
  encodeHeaderBatch(meta, cols) {
    const s = `${meta.batchSeq}:${Array.from(cols.seq.subarray(0, cols.length)).join(',')}`;
    const b = Buffer.alloc(Math.max(100, s.length));
    b.write(s);
    return b;
  },
  encodeSensorStats(s) {
    return Buffer.from(JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  },
};

function decode(v: Buffer): { seq: bigint; seqs: number[] } {
  const [a, b] = v.toString().replace(/\0+$/, '').split(':');
  return { seq: BigInt(a!), seqs: b!.split(',').map(Number) };
}

/** A source that emits the given batches, then waits for stop (like a live interface) or ends. */
class ArraySource implements CaptureSource {
  readonly describe = 'test';
  private stats = createParseStats();
  constructor(
    readonly live: boolean,
    private readonly batches: HeaderColumns[],
    private readonly waitForStop = false,
  ) {}
  async run(sink: HeaderSink, signal: AbortSignal): Promise<void> {
    for (const b of this.batches) {
      this.stats.packets += b.length;
      this.stats.tcp += b.length;
      const r = sink(b);
      if (r !== undefined) await r;
    }
    if (this.waitForStop && !signal.aborted)
      await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
  }
  parseStats() {
    return this.stats;
  }
  kernelStats() {
    return this.live ? { received: 7, dropped: 2, ifDropped: 1 } : undefined;
  }
}

const base: AgentConfig = {
  sensorId: 's1',
  topic: 'h',
  statsTopic: 'st',
  maxHeaders: 4,
  maxBytes: 1 << 20,
  lingerMs: 20,
  bufferMaxBytes: 1 << 20,
  heartbeatIntervalS: 0,
  shutdownTimeoutMs: 2000,
  backoffInitialMs: 5,
  backoffMaxMs: 20,
};

const oneFlow = (n: number) =>
  makeHeaders(Array.from({ length: n }, (_, i) => ({ src: 1, dst: 2, sport: 1000, dport: 80 + (i % 1) })));

describe('Agent', () => {
  it('sends every header once, batchSeq increments, final heartbeat carries the counters', async () => {
    const producer = new FakeProducer(3);
    const agent = new Agent(base, { source: new ArraySource(false, [oneFlow(10)]), producer, codec });
    await agent.start();
    await agent.captureDone;
    await agent.stop();
    const msgs = producer.on('h').map((m) => ({ ...decode(m.value), p: m.partition, key: m.key }));
    expect(msgs.map((m) => m.seq)).toEqual([0n, 1n, 2n]);
    expect(msgs.flatMap((m) => m.seqs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(msgs.map((m) => m.p)).size).toBe(1);
    expect(msgs[0]!.key).toHaveLength(4);
    expect(agent.stats.headersSent).toBe(10);
    expect(agent.stats.batchesSent).toBe(3);
    expect(agent.stats.lastBatchSeq).toBe(2n);
    const hb = producer.on('st');
    expect(hb).toHaveLength(1);
    expect(hb[0]!.key!.toString()).toBe('s1');
    const snap = JSON.parse(hb[0]!.value.toString());
    expect(snap).toMatchObject({
      sensorId: 's1',
      final: true,
      tcpHeaders: 10,
      headersSent: 10,
      lastBatchSeq: '2',
    });
  });

  it('live source: drops whole batches when the buffer is full, counts them, resumes when Kafka returns', async () => {
    const producer = new FakeProducer(1);
    producer.down = true;
    const agent = new Agent(
      { ...base, bufferMaxBytes: 350, heartbeatIntervalS: 0 },
      { source: new ArraySource(true, [oneFlow(40)], true), producer, codec },
    );
    await agent.start();
    await new Promise((r) => setTimeout(r, 50));
    // 10 batches of 4 headers, 100 bytes each; 3 fit in 350 bytes, 7 dropped.
    expect(agent.stats.bufferedBatches).toBe(3);
    expect(agent.stats.batchesDropped.buffer_full).toBe(7);
    expect(agent.stats.headersDropped.buffer_full).toBe(28);
    expect(agent.stats.sendFailures).toBeGreaterThan(0);
    expect(agent.stats.lastBatchSeq).toBe(9n);
    producer.down = false;
    await new Promise((r) => setTimeout(r, 100));
    expect(agent.stats.headersSent).toBe(12);
    expect(producer.on('h').map((m) => decode(m.value).seq)).toEqual([0n, 1n, 2n]);
    await agent.stop();
    const snap = JSON.parse(producer.on('st').at(-1)!.value.toString());
    expect(snap.headersDropped.buffer_full).toBe(28);
    expect(snap.kernelDrops).toBe(2);
    expect(snap.ifDrops).toBe(1);
  });

  it('file source at full speed: blocks instead of dropping', async () => {
    const producer = new FakeProducer(2);
    producer.delayMs = 2;
    const batches = Array.from({ length: 20 }, () => oneFlow(8));
    const agent = new Agent(
      { ...base, bufferMaxBytes: 250 },
      { source: new ArraySource(false, batches), producer, codec },
    );
    await agent.start();
    await agent.captureDone;
    await agent.stop();
    expect(agent.stats.headersSent).toBe(160);
    expect(agent.stats.headersDropped.buffer_full).toBe(0);
    const seqs = producer.on('h').map((m) => decode(m.value).seq);
    expect(seqs).toEqual(seqs.slice().sort((a, b) => (a < b ? -1 : 1)));
  });

  it('counts what is still buffered at the shutdown deadline as dropped', async () => {
    const producer = new FakeProducer(1);
    producer.down = true;
    const agent = new Agent(
      { ...base, shutdownTimeoutMs: 100 },
      { source: new ArraySource(true, [oneFlow(8)], true), producer, codec },
    );
    await agent.start();
    await new Promise((r) => setTimeout(r, 30));
    await agent.stop();
    expect(agent.stats.headersDropped.shutdown).toBe(8);
    expect(agent.stats.bufferedBatches).toBe(0);
    expect(agent.stats.heartbeatFailures).toBe(1);
  });

  it('emits periodic heartbeats', async () => {
    const producer = new FakeProducer(1);
    const agent = new Agent(
      { ...base, heartbeatIntervalS: 0.05 },
      { source: new ArraySource(true, [oneFlow(3)], true), producer, codec },
    );
    await agent.start();
    await new Promise((r) => setTimeout(r, 180));
    await agent.stop();
    expect(producer.on('st').length).toBeGreaterThanOrEqual(3);
  });
});

describe('BufferedSender', () => {
  it('groups queued batches into requests no larger than maxRequestBytes', async () => {
    const stats = createAgentStats();
    const calls: number[] = [];
    const sender = new BufferedSender(
      { topic: 't', bufferMaxBytes: 10_000, maxRequestBytes: 250 },
      {
        producer: {
          async send(_t, m) {
            calls.push(m.length);
          },
        },
      },
      { stats },
    );
    for (let i = 0; i < 5; i++)
      sender.offer({
        partition: 0,
        key: Buffer.alloc(4),
        value: Buffer.alloc(100),
        headers: 1,
        seq: BigInt(i),
      });
    await sender.start();
    await sender.stop(deadlineIn(1000));
    expect(sender.complete).toBe(true);
    expect(calls).toEqual([2, 2, 1]);
    expect(stats.batchesSent).toBe(5);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('abandons a request that hangs, replaces the producer, sends the batches again', async () => {
    const stats = createAgentStats();
    const fresh = new FakeProducer(1);
    const sender = new BufferedSender(
      { topic: 't', bufferMaxBytes: 10_000, sendTimeoutMs: 50 },
      {
        producer: { send: () => new Promise(() => {}) }, // never answers
        replaceProducer: async () => fresh,
      },
      { stats },
    );
    sender.offer({ partition: 0, key: Buffer.alloc(4), value: Buffer.alloc(10), headers: 2, seq: 0n });
    await sender.start();
    await sender.stop(deadlineIn(2000));
    expect(sender.complete).toBe(true);
    expect(sender.stuck).toBe(1);
    expect(stats.sendFailures).toBe(1);
    expect(fresh.sent).toHaveLength(1);
    expect(stats.headersSent).toBe(2);
    expect(stats.producerReplacements).toEqual({ stuck: 1, producer_state: 0 });
  });

  it('resends a failed request with exactly its batches, not regrouped with batches queued since', async () => {
    const stats = createAgentStats();
    const calls: bigint[][] = [];
    let fail = 2;
    let offerMore: (() => void) | undefined;
    const sender = new BufferedSender(
      { topic: 't', bufferMaxBytes: 10_000, maxRequestBytes: 1000, backoffInitialMs: 1 },
      {
        producer: {
          async send(_t, m) {
            calls.push(m.map((x) => x.value.readBigUInt64BE()));
            offerMore?.();
            offerMore = undefined;
            if (fail-- > 0) throw new Error('connection lost after the broker wrote the request');
          },
        },
      },
      { stats },
    );
    const batch = (seq: number) => {
      const value = Buffer.alloc(100);
      value.writeBigUInt64BE(BigInt(seq));
      return { partition: seq % 2, key: Buffer.alloc(4), value, headers: 1, seq: BigInt(seq) };
    };
    sender.offer(batch(0));
    sender.offer(batch(1));
    offerMore = () => {
      for (let i = 2; i < 6; i++) sender.offer(batch(i));
    };
    await sender.start();
    await sender.stop(deadlineIn(2000));
    expect(sender.complete).toBe(true);
    // Two failures of [0, 1]: both resends are [0, 1] although 2..5 were queued during the first.
    expect(calls).toEqual([
      [0n, 1n],
      [0n, 1n],
      [0n, 1n],
      [2n, 3n, 4n, 5n],
    ]);
    expect(stats.sendFailures).toBe(2);
    expect(stats.batchesSent).toBe(6);
  });

  /** One 3-header batch through a sender on `send`; `replaceProducer` hands out `fresh` (if any). */
  async function oneBatch(send: () => Promise<void>, fresh?: FakeProducer) {
    const stats = createAgentStats();
    const reasons: string[] = [];
    const sender = new BufferedSender(
      { topic: 't', bufferMaxBytes: 10_000, backoffInitialMs: 1 },
      {
        producer: { send },
        replaceProducer: async (reason) => {
          reasons.push(reason);
          return fresh;
        },
      },
      { stats },
    );
    sender.offer({ partition: 0, key: Buffer.alloc(4), value: Buffer.alloc(10), headers: 3, seq: 0n });
    await sender.start();
    await sender.stop(deadlineIn(2000));
    return { drained: sender.complete, stats, reasons };
  }

  it('replaces the producer when the broker refuses its idempotent sequence, then resends', async () => {
    const outOfOrder = new KafkaError('producer: sending 1 message(s) failed: out of order sequence number', {
      kind: 'broker',
      code: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    });
    let oldSends = 0;
    const fresh = new FakeProducer(1);
    const r = await oneBatch(async () => {
      oldSends++;
      throw outOfOrder; // kafkajs keeps the producer id: it would fail like this forever
    }, fresh);
    expect(r.drained).toBe(true);
    expect(oldSends).toBe(1);
    expect(r.reasons).toEqual(['producer_state']);
    expect(r.stats.producerReplacements).toEqual({ stuck: 0, producer_state: 1 });
    expect(fresh.sent).toHaveLength(1);
    expect(r.stats.headersSent).toBe(3);
  });

  it('keeps retrying on the same producer for other errors', async () => {
    let sends = 0;
    const r = await oneBatch(async () => {
      if (sends++ < 3) throw new KafkaError('connect ECONNREFUSED', { kind: 'connection' });
    });
    expect(r.drained).toBe(true);
    expect(sends).toBe(4);
    expect(r.reasons).toEqual([]);
    expect(r.stats.producerReplacements).toEqual({ stuck: 0, producer_state: 0 });
  });

  it('drops a batch larger than the whole buffer as too_large', () => {
    const stats = createAgentStats();
    const sender = new BufferedSender(
      { topic: 't', bufferMaxBytes: 50 },
      { producer: { send: async () => {} } },
      { stats },
    );
    expect(
      sender.offer({ partition: 0, key: Buffer.alloc(4), value: Buffer.alloc(60), headers: 3, seq: 0n }),
    ).toBe(false);
    expect(stats.headersDropped.too_large).toBe(3);
  });
});
