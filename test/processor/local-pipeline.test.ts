// LocalPipeline over many batches: pool batches handed to the capture parser and reused after their
// task, one engine or several shards; the events must be exactly those of one engine run directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENGINE_CONFIG, Engine } from '@rstwatch/classify';
import type { HeaderColumns, RstEvent } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { compareEvents, EnginePool, LocalPipeline } from '@rstwatch/processor';
import {
  closePrestartedThreads,
  prestartWorkerThreads,
  startWorkerThreads,
  type WorkerThreads,
} from '@rstwatch/processor/threads';
import { generateTrace } from '@rstwatch/tracegen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'rw-local-'));
const file = join(dir, 'trace.pcap');
let reference: RstEvent[] = [];
let flowsReference = 0;

beforeAll(async () => {
  await generateTrace({ out: file, packets: 60_000, seed: 11 });
  // One engine, fed directly with freshly allocated batches.
  const engine = Engine.create({});
  await parseCaptureFile(file, {
    batchSize: 4096,
    onBatch: (b) => {
      const out = engine.processBatch(b, 'test');
      reference.push(...out.events);
      flowsReference += out.flows.length;
    },
  });
  const fin = engine.finish();
  reference.push(...fin.events);
  flowsReference += fin.flows.length;
  reference = reference.sort(compareEvents);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runPipeline(shards: number, flowRecords: boolean, threads?: WorkerThreads) {
  const events: RstEvent[] = [];
  let flows = 0;
  const config = {
    workers: shards,
    engine: DEFAULT_ENGINE_CONFIG,
    sensor: 'test',
    batchSize: 1024,
    flowRecords,
  };
  const pipeline = new LocalPipeline(config, {
    ...(threads ? { threads } : {}),
    onEvents: (e) => {
      events.push(...e);
    },
    onFlows: (f) => {
      flows += f.length;
    },
  });
  const seen = new Set<HeaderColumns>();
  let batches = 0;
  try {
    await parseCaptureFile(file, {
      batchSize: 1024,
      // Small reads: one read parses into at most one batch, so the buffers alive at once are the
      // pipeline's in-flight ones (a 4 MiB read would hand it dozens of batches at once).
      highWaterMark: 64 * 1024,
      newBatch: () => {
        const b = pipeline.newBatch();
        seen.add(b);
        return b;
      },
      onBatch: async (b) => {
        batches++;
        await pipeline.push(b);
      },
    });
    await pipeline.finish();
  } finally {
    await pipeline.stop();
  }
  return { events, flows, flowsEnded: pipeline.flowsEnded, batches, distinctBuffers: seen.size };
}

describe('LocalPipeline', () => {
  it('one engine, pool batches reused: exactly the events of a direct engine run', async () => {
    expect(reference.length).toBeGreaterThan(50);
    const r = await runPipeline(1, true);
    expect(r.batches).toBeGreaterThan(50);
    // A handful of buffers for dozens of batches: they came back to the pool and were refilled.
    expect(r.distinctBuffers).toBeLessThan(12);
    expect(r.events).toEqual(reference);
    expect(r.flows).toBe(flowsReference);
    expect(r.flowsEnded).toBe(flowsReference);
  }, 60_000);

  it('on worker threads started before it (as analyze does): the same events', async () => {
    const threads = startWorkerThreads(1);
    const r = await runPipeline(1, true, threads);
    expect(r.events).toEqual(reference);
    expect(r.flowsEnded).toBe(flowsReference);
    await threads.close(); // already closed with the pipeline: closing again is harmless
    const more = startWorkerThreads(1);
    const pool = new EnginePool({ workers: 3, engine: {} }, { threads: more });
    expect(pool.workers).toBe(1); // the started threads' count wins
    expect(pool.sequential).toBe(true);
    expect((await pool.finish(pool.createEngine())).events).toEqual([]);
    await pool.stop();
  });

  it('prestarted threads (the CLI starts them first thing for analyze): taken once, or closed', async () => {
    const early = prestartWorkerThreads(1);
    expect(prestartWorkerThreads(1)).toBe(early); // one set at a time
    const taken = startWorkerThreads(1);
    expect(taken).toBe(early);
    const fresh = startWorkerThreads(1);
    expect(fresh).not.toBe(early); // taken once: the next start makes new threads
    await fresh.close();
    const r = await runPipeline(1, true, taken);
    expect(r.events).toEqual(reference);

    // Another count: the prestarted threads are closed, new ones started.
    const wrong = prestartWorkerThreads(1);
    const two = startWorkerThreads(2);
    expect(two).not.toBe(wrong);
    expect(two.workers).toBe(2);
    await expect(wrong.piscina.run({})).rejects.toThrow();
    await two.close();

    // Nobody takes them: closePrestartedThreads closes them (the CLI calls it on its way out).
    const unused = prestartWorkerThreads(1);
    await closePrestartedThreads();
    await expect(unused.piscina.run({})).rejects.toThrow();
    await closePrestartedThreads(); // nothing left: harmless
    const after = startWorkerThreads(1);
    expect(after).not.toBe(unused);
    await after.close();
  }, 60_000);

  it('without flow records: the same events and flow count', async () => {
    const r = await runPipeline(1, false);
    expect(r.flows).toBe(0);
    expect(r.flowsEnded).toBe(flowsReference);
    expect(r.events).toEqual(reference);
  }, 60_000);

  it('two shards: every RST once, in capture order, parse batches refilled after the split', async () => {
    const r = await runPipeline(2, true);
    expect(r.distinctBuffers).toBeLessThan(16);
    expect(r.events).toHaveLength(reference.length);
    const key = (e: RstEvent) => `${e.ts} ${e.src_ip}:${e.src_port} ${e.dst_ip}:${e.dst_port} ${e.seq}`;
    expect(r.events.map(key)).toEqual(reference.map(key));
    expect(r.flowsEnded).toBe(flowsReference);
  }, 60_000);

  it('a one-worker pool takes several batches of one engine at once and runs them in order', async () => {
    const batches: HeaderColumns[] = [];
    await parseCaptureFile(file, {
      batchSize: 4096,
      onBatch: (b) => {
        batches.push(b);
      },
    });
    const pool = new EnginePool({ workers: 1, engine: DEFAULT_ENGINE_CONFIG });
    expect(pool.sequential).toBe(true);
    expect(new EnginePool({ workers: 2, engine: DEFAULT_ENGINE_CONFIG }).sequential).toBe(false);
    try {
      const h = pool.createEngine();
      // Every batch submitted before the first result comes back: the worker must still see them in order.
      const results = await Promise.all(batches.map((b) => pool.process(h, b, 'test', true)));
      const fin = await pool.finish(h);
      const events = [...results.flatMap((r) => r.events), ...fin.events].sort(compareEvents);
      expect(events).toEqual(reference);
      expect(results.reduce((n, r) => n + r.headers, 0)).toBe(60_000);
    } finally {
      await pool.stop();
    }
  }, 60_000);

  it('the worker refuses a numbered task that comes out of its engine order', async () => {
    const { default: run } = await import('@rstwatch/processor/worker');
    const engine = Engine.create({ maxFlows: 64, maxHosts: 64 });
    const task = (seq: number) => ({
      kind: 'tick' as const,
      engineId: 1_000_001,
      engine: engine.shared,
      buffer: null,
      capacity: 0,
      length: 0,
      sensor: '',
      emit: true,
      nowUs: 1,
      records: false,
      seq,
    });
    expect(() => run(task(1))).toThrow(/task 1 arrived before task 0/);
    expect(run(task(0)).headers).toBe(0);
    expect(run(task(1)).headers).toBe(0);
    expect(() => run(task(1))).toThrow(/task 1 arrived before task 2/);
    // Unnumbered tasks (pools of several workers) are not checked.
    expect(run(task(-1)).headers).toBe(0);
  });
});
