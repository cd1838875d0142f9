import { Worker } from 'node:worker_threads';
import { HeaderColumns } from '@rstwatch/core';
import { buildColumns, splitBatches, Trace } from '@rstwatch/flow/testing';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';

function mixedTrace(): Trace {
  const tr = new Trace();
  for (let k = 0; k < 60; k++) {
    const c = tr.conn(`10.5.${k >> 4}.${k & 15}:${20000 + k}`, `10.6.0.${k % 7}:${[80, 443, 22][k % 3]}`);
    switch (k % 6) {
      case 0:
        c.syn().rst('r', { seq: 0 });
        break;
      case 1:
        c.handshake().data('o', 100).data('r', 900).ack('o').rst('r');
        break;
      case 2:
        c.handshake().data('o', 10).data('r', 10).fin('o').fin('r').ack('o');
        break;
      case 3:
        c.handshake().data('o', 300).rst('r', { ack: false, ttl: 33 }).data('r', 100);
        break;
      case 4:
        c.syn().synAck().rst('o', { ack: false });
        break;
      default:
        c.handshake().data('o', 50);
    }
  }
  return tr;
}

describe('Engine shared memory', () => {
  it('a worker thread attached to the same memory continues the stream with identical results', async () => {
    const all = mixedTrace().columns();
    const half = Math.floor(all.length / 2);
    const [first, second] = [HeaderColumns.allocate(half), HeaderColumns.allocate(all.length - half, true)];
    for (let i = 0; i < all.length; i++) (i < half ? first : second).copyFrom(all, i);

    const config = { maxFlows: 1024, maxHosts: 256, holdMs: 200 };
    const reference = Engine.create(config);
    const refEvents = [];
    const refFlows = [];
    for (const b of [first, second]) {
      const o = reference.processBatch(b, 'sensor-a');
      refEvents.push(...o.events);
      refFlows.push(...o.flows);
    }
    const fin = reference.finish();
    refEvents.push(...fin.events);
    refFlows.push(...fin.flows);

    const engine = Engine.create(config);
    const o1 = engine.processBatch(first, 'sensor-a');
    const fromWorker = await new Promise<{
      events: unknown[];
      flows: unknown[];
      stats: ReturnType<Engine['stats']>;
    }>((resolve, reject) => {
      const w = new Worker(new URL('./attach.worker.mjs', import.meta.url), {
        workerData: {
          shared: engine.shared,
          buffer: second.buffer,
          capacity: second.capacity,
          length: second.length,
        },
      });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    expect([...o1.events, ...fromWorker.events]).toEqual(refEvents);
    expect([...o1.flows, ...fromWorker.flows]).toEqual(refFlows);
    expect(refEvents.length).toBe(40);
    // counters live in shared memory: the main thread sees what the worker did
    expect(engine.stats()).toEqual(fromWorker.stats);
    expect(engine.stats().headers).toBe(all.length);
    expect(engine.stats().flows_active).toBe(0);
  });

  it('the shared handle is structured-clonable', () => {
    const e = Engine.create({ maxFlows: 64, maxHosts: 16 });
    const copy = structuredClone(e.shared);
    // The tables' memories cross as shared memory (the same bytes), not as copies.
    expect(copy.tracker.flows.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(copy.tracker.hosts.buffer).toBeInstanceOf(SharedArrayBuffer);
    const attached = Engine.attach(copy);
    const tr = new Trace();
    tr.conn('10.0.0.1:1000', '10.0.0.2:80').syn();
    for (const b of splitBatches(tr.columns(), 1)) e.processBatch(b, 's');
    expect(attached.stats().flows_active).toBe(1);
  });
});

describe('engine state shared between attached views', () => {
  it('expires flows the same way whichever view runs advanceTime (the sweep clock is shared)', () => {
    // 12,000 lone SYNs over 12 s of capture time, expired by idle time: the full sweep (once per
    // capture-second) and the partial sweeps in between must not depend on which view ran last.
    const pkts = [];
    for (let k = 0; k < 12_000; k++) {
      pkts.push({
        tsUs: 1_000_000 + k * 1000,
        src: `10.7.${k >> 8}.${k & 255}:${30000 + (k % 1000)}`,
        dst: '10.8.0.1:443',
        flags: 'S',
        seq: k,
      });
    }
    const run = (views: Engine[]) => {
      const flows: string[] = [];
      let i = 0;
      for (const b of splitBatches(buildColumns(pkts), 500)) {
        const v = views[i++ % views.length]!;
        const out = v.processBatch(b, 's');
        const later = v.advanceTime(b.tsUs[b.length - 1]!);
        for (const f of [...out.flows, ...later.flows]) flows.push(`${f.uid}@${i}`);
      }
      return flows;
    };
    const cfg = { flowIdleExpiryS: 1 };
    const single = run([Engine.create(cfg)]);
    const a = Engine.create(cfg);
    const alternating = run([a, Engine.attach(a.shared)]);
    expect(single.length).toBeGreaterThan(1000);
    expect(alternating).toEqual(single);
  });
});
