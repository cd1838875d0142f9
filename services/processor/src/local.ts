/**
 * The in-process pipeline behind `analyze` and `run`: header batches are sharded by direction-free flow
 * hash over one engine per worker (so both directions of a flow meet in one engine), one batch per engine
 * in flight, and events are re-ordered into capture order with a bounded buffer before delivery.
 */

import type { EngineConfig, SensorRealities } from '@rstwatch/classify';
import {
  bucketOf,
  type Component,
  type FlowRecord,
  flowHash,
  HeaderColumns,
  type RstEvent,
} from '@rstwatch/core';
import type { FlowRows } from '@rstwatch/flow';
import type { BatchResult } from './internal/tasks.js';
import { addRealities } from './metrics.js';
import { type EngineHandle, EnginePool } from './pool.js';
import { SEQUENTIAL_DEPTH, type WorkerThreads } from './threads.js';

/** What a LocalPipeline is configured with. */
export interface LocalPipelineConfig {
  workers: number;
  engine: Partial<EngineConfig> & { holdMs: number };
  sensor: string;
  /**
   * Build flow records for onFlows (default true); false when only `flowsEnded` is needed; `rows` to get
   * them as binary rows in onFlowRows instead (for a writer that makes their text without objects).
   */
  flowRecords?: boolean | 'rows';
  batchSize?: number;
}

/** Where a LocalPipeline's output goes, and the threads it runs on. */
export interface LocalPipelineDeps {
  /** Events in capture order, in chunks. */
  onEvents: (events: RstEvent[]) => Promise<void> | void;
  /** Flow records as flows end or expire. */
  onFlows: (flows: FlowRecord[]) => Promise<void> | void;
  /** With `flowRecords: 'rows'`: the records as binary rows (read them with FlowRowReader). */
  onFlowRows?: (rows: FlowRows) => Promise<void> | void;
  /** Worker threads started earlier (`startWorkerThreads(workers)`); closed with the pipeline. */
  threads?: WorkerThreads;
}

/** Sorts events by capture time, then by a stable tuple so equal timestamps come out deterministically. */
export function compareEvents(a: RstEvent, b: RstEvent): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.src_ip !== b.src_ip) return a.src_ip < b.src_ip ? -1 : 1;
  if (a.src_port !== b.src_port) return a.src_port - b.src_port;
  return a.seq - b.seq;
}

/** Microseconds of an RFC 3339 `...ss.uuuuuuZ` string produced by formatTsUs. */
function tsUsOf(ts: string): number {
  return Date.parse(`${ts.slice(0, 23)}Z`) * 1000 + Number(ts.slice(23, 26));
}

export class LocalPipeline implements Component {
  headers = 0;
  /** Flows that ended so far (each one passed to onFlows when flow records are on). */
  flowsEnded = 0;
  /** Checksum counters of every engine, known after `finish` (see Engine stats). */
  readonly checksums = { bad: 0, offloaded: 0, offload_hosts: 0, first_host: '' };
  /** Flows ended early to make room in a full flow table, every engine, so far. */
  evictions = 0;
  /** Duplicate, reordered and late packets so far, by sensor (see Engine.sensorRealities). */
  readonly sensors = new Map<string, SensorRealities>();
  private readonly pool: EnginePool;
  private readonly shards: number;
  private readonly engines: EngineHandle[];
  private readonly open: HeaderColumns[];
  /**
   * Per shard, one promise per batch submitted and not yet collected, oldest first; each settles after
   * the one before it (results are collected in order), so the last one settles when the shard is idle.
   */
  private readonly inFlight: Promise<void>[][];
  private readonly shardNowUs: Float64Array;
  private readonly batchSize: number;
  private readonly holdUs: number;
  private pending: RstEvent[] = [];
  /** Capture time (µs) of each pending event, parsed once. */
  private pendingUs: number[] = [];
  /** Shard batches the workers are done with, reused instead of allocating (and faulting in) new ones. */
  private readonly free: HeaderColumns[] = [];
  /** Batches allocated by the pool (only these are reused). */
  private readonly pooled = new WeakSet<HeaderColumns>();
  private shardOf = new Uint8Array(0);
  private rows = new Int32Array(0);
  private lastTsUs = 0;
  private failure: unknown = null;
  private stopped = false;
  // Delivery is serialized so events leave in order even when shards finish out of order.
  private delivery: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: LocalPipelineConfig,
    private readonly deps: LocalPipelineDeps,
  ) {
    const opts = { ...config, ...deps };
    this.shards = Math.max(1, opts.workers);
    this.batchSize = opts.batchSize ?? 8192;
    this.holdUs = opts.engine.holdMs * 1000;
    this.pool = new EnginePool(
      {
        workers: this.shards,
        engine: opts.engine,
        ...(opts.flowRecords !== undefined ? { flowRecords: opts.flowRecords } : {}),
      },
      opts.threads ? { threads: opts.threads } : {},
    );
    this.engines = Array.from({ length: this.shards }, () => this.pool.createEngine());
    this.open = Array.from({ length: this.shards }, () => this.newBatch());
    this.inFlight = Array.from({ length: this.shards }, () => []);
    this.shardNowUs = new Float64Array(this.shards);
  }

  /** Events seen so far (delivered or waiting in the reorder buffer). */
  get rstsSeen(): number {
    return this.pending.length;
  }

  /** Takes ownership of `b`. Resolves when the pipeline can take more (backpressure). */
  async push(b: HeaderColumns): Promise<void> {
    const n = b.length;
    if (n === 0) return;
    this.headers += n;
    this.lastTsUs = Math.max(this.lastTsUs, b.tsUs[n - 1]!);
    if (this.shards === 1) {
      this.submit(0, b);
    } else {
      this.split(b);
      // Its rows were copied into the shards' batches: a pool batch can be refilled at once.
      if (this.pooled.has(b)) {
        b.reset();
        this.free.push(b);
      }
    }
    // Wait for the oldest batch of a full shard only, so the worker always has the next ones queued.
    const depth = this.pool.sequential ? SEQUENTIAL_DEPTH : 2;
    for (const q of this.inFlight) while (q.length > depth) await q[0];
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Distribute `b`'s headers over the shards' open batches, keeping capture order within each shard.
   * Two passes: the shard of every header, then a column-by-column gather per shard (far fewer
   * typed-array switches than copying header by header; addresses move as 32-bit words).
   */
  private split(b: HeaderColumns): void {
    const n = b.length;
    if (this.shardOf.length < n) {
      this.shardOf = new Uint8Array(b.capacity);
      this.rows = new Int32Array(b.capacity);
    }
    const shardOf = this.shardOf;
    const shards = this.shards;
    for (let i = 0; i < n; i++) shardOf[i] = bucketOf(flowHash(b, i), shards);
    const rows = this.rows;
    for (let s = 0; s < shards; s++) {
      let m = 0;
      for (let i = 0; i < n; i++) if (shardOf[i] === s) rows[m++] = i;
      let from = 0;
      while (from < m) {
        let dst = this.open[s]!;
        if (dst.length >= dst.capacity) {
          this.submit(s, dst);
          dst = this.newBatch();
          this.open[s] = dst;
        }
        const to = Math.min(m, from + (dst.capacity - dst.length));
        dst.gatherFrom(b, rows, from, to);
        from = to;
      }
    }
  }

  /**
   * An empty batch from the pipeline's pool, for a producer to fill and `push` (e.g. the capture parser's
   * `newBatch`): it comes back to the pool when its task is done, so a long capture reuses a handful of
   * buffers instead of allocating (and faulting in) a new one per batch.
   */
  newBatch(): HeaderColumns {
    const b = this.free.pop();
    if (b !== undefined) {
      b.reset();
      return b;
    }
    const b2 = HeaderColumns.allocate(this.batchSize, true);
    this.pooled.add(b2);
    return b2;
  }

  /** Submit partial batches, wait for the workers, then let every engine release what it holds. */
  async finish(): Promise<void> {
    for (let s = 0; s < this.shards; s++) if (this.open[s]!.length > 0) this.submit(s, this.open[s]!);
    await Promise.all(this.inFlight.flat());
    if (this.failure !== null) throw this.failure;
    const finals = await Promise.all(this.engines.map((h) => this.pool.finish(h)));
    for (const r of finals) {
      this.flowsEnded += r.flowsEnded;
      this.evictions += r.evictions;
      const ck = r.checksums;
      if (ck) {
        this.checksums.bad += ck.bad;
        this.checksums.offloaded += ck.offloaded;
        this.checksums.offload_hosts += ck.offload_hosts;
        if (this.checksums.first_host === '') this.checksums.first_host = ck.first_host;
      }
      this.addPending(r.events);
      await this.flowsOf(r);
    }
    await this.deliver(true);
    await this.delivery;
  }

  /** The component shape: the engines' pool was built with the pipeline; starting it is all. */
  start(): Promise<void> {
    return this.pool.start();
  }

  /** Release the engines and stop the worker pool by `deadline` (epoch ms). Idempotent. */
  async stop(deadline?: number): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      for (const h of this.engines) this.pool.release(h);
    }
    await this.pool.stop(deadline);
  }

  private submit(s: number, batch: HeaderColumns): void {
    const nowUs = this.lastTsUs;
    const q = this.inFlight[s]!;
    // A sequential pool queues the batch now (its one thread runs tasks in order, and goes on to this one
    // as soon as the previous result reaches this thread); otherwise the batch waits for the engine's
    // previous one. Results are collected in order either way.
    let started: Promise<BatchResult> | null = null;
    if (this.pool.sequential && this.failure === null) {
      started = this.pool.process(this.engines[s]!, batch, this.config.sensor, true, nowUs);
      started.catch(() => {}); // handled in the chain below, in order
    }
    const previous = q.length > 0 ? q[q.length - 1]! : Promise.resolve();
    const link = previous.then(async () => {
      try {
        if (started !== null || this.failure === null) {
          const r = await (started ??
            this.pool.process(this.engines[s]!, batch, this.config.sensor, true, nowUs));
          // A batch of the pool is ours again now (a caller's own batch is never reused).
          if (this.pooled.has(batch)) this.free.push(batch);
          if (this.failure === null) await this.collect(s, r, nowUs);
        }
      } catch (err) {
        this.failure ??= err;
      } finally {
        q.shift(); // this batch's own promise: every earlier one has settled
      }
    });
    q.push(link);
  }

  private async collect(s: number, r: BatchResult, nowUs: number): Promise<void> {
    if (nowUs > this.shardNowUs[s]!) this.shardNowUs[s] = nowUs;
    this.flowsEnded += r.flowsEnded;
    this.evictions += r.evictions;
    addRealities(this.sensors, r.sensors);
    this.addPending(r.events);
    await this.flowsOf(r);
    await this.deliver(false);
  }

  private async flowsOf(r: BatchResult): Promise<void> {
    if (r.flows.length > 0) await this.deps.onFlows(r.flows);
    if (r.rows) {
      if (!this.deps.onFlowRows) throw new Error("flow rows arrived but the pipeline's owner takes no rows");
      await this.deps.onFlowRows(r.rows);
    }
  }

  private addPending(events: RstEvent[]): void {
    for (const e of events) {
      this.pending.push(e);
      this.pendingUs.push(tsUsOf(e.ts));
    }
  }

  /** Deliver events that no shard can precede any more (all of them when `all`). */
  private deliver(all: boolean): Promise<void> {
    if (this.pending.length === 0) return this.delivery;
    let ready: RstEvent[];
    if (all) {
      ready = this.pending;
      this.pending = [];
      this.pendingUs = [];
    } else {
      let min = Number.POSITIVE_INFINITY;
      for (let s = 0; s < this.shards; s++) min = Math.min(min, this.shardNowUs[s]!);
      const cutoff = min - this.holdUs - 1_000_000;
      ready = [];
      const keep: RstEvent[] = [];
      const keepUs: number[] = [];
      const pending = this.pending;
      const us = this.pendingUs;
      for (let k = 0; k < pending.length; k++) {
        if (us[k]! < cutoff) ready.push(pending[k]!);
        else {
          keep.push(pending[k]!);
          keepUs.push(us[k]!);
        }
      }
      if (ready.length === 0) return this.delivery;
      this.pending = keep;
      this.pendingUs = keepUs;
    }
    ready.sort(compareEvents);
    this.delivery = this.delivery.then(() => this.deps.onEvents(ready));
    return this.delivery;
  }
}

/** 32-bit word views over a batch's address columns (16-byte slots, 8-byte aligned in the buffer). */
