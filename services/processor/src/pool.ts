/**
 * The worker pool: a pinned Piscina pool (no idle-timeout churn) that runs engine tasks. One engine per
 * Kafka partition (or per shard in `analyze`); callers keep at most one batch per engine in flight, so
 * whichever worker takes an engine's next batch has it to itself. A pool of one worker is `sequential`:
 * Piscina keeps tasks in submission order and its single thread runs them one after the other, holding
 * the next one while it runs one, so a caller may queue an engine's next batches and the worker goes
 * straight from one to the next.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { Engine, type EngineConfig } from '@rstwatch/classify';
import { type Component, type HeaderColumns, untilDeadline, withDefaults } from '@rstwatch/core';
import { FlowRowReader } from '@rstwatch/flow';
import type { Piscina } from 'piscina';
import { ENGINE_POOL_DEFAULTS } from './config.js';
import { type BatchResult, type EngineTask, RELEASE_CHANNEL } from './internal/tasks.js';
import { WorkerThreads } from './threads.js';

/** Settings of the pool; the optional ones default to `ENGINE_POOL_DEFAULTS` (config.ts). */
export interface EnginePoolConfig {
  /** Worker threads. */
  workers?: number;
  engine: Partial<EngineConfig>;
  /**
   * Build flow records; false for callers that only count flows; `rows` for callers that take them as
   * binary rows (`BatchResult.rows`, read with FlowRowReader) instead of objects in `flows`.
   */
  flowRecords?: boolean | 'rows';
}

export interface EnginePoolDeps {
  /** Threads started earlier with `startWorkerThreads` (their count wins over `workers`); closed with the pool. */
  threads?: WorkerThreads;
}

/** A handle on one engine's shared state. */
export interface EngineHandle {
  readonly id: number;
  readonly shared: unknown;
}

/** The worker pool as a component: `new EnginePool(config, deps)`, `start()`, `stop(deadline)`. */
export class EnginePool implements Component {
  readonly workers: number;
  /**
   * One thread runs every task, one at a time, in submission order: several batches of one engine may be
   * queued at once. With more workers, keep one batch per engine in flight.
   */
  readonly sequential: boolean;
  private readonly threads: WorkerThreads;
  private readonly piscina: Piscina;
  private readonly engineConfig: Partial<EngineConfig>;
  private readonly records: boolean;
  /** Results keep the workers' rows (`flowRecords: 'rows'`) instead of reading them into `flows`. */
  private readonly keepRows: boolean;
  private readonly released = new BroadcastChannel(RELEASE_CHANNEL);
  private nextId = 1;
  /** Per engine, the `seq` of its next task (sequential pools only). */
  private readonly seqs = new Map<number, number>();

  private stopped: Promise<void> | undefined;

  constructor(config: EnginePoolConfig, deps: EnginePoolDeps = {}) {
    const c = withDefaults(ENGINE_POOL_DEFAULTS, config);
    this.threads = deps.threads ?? new WorkerThreads(c.workers);
    this.workers = this.threads.workers;
    this.sequential = this.threads.sequential;
    this.engineConfig = c.engine;
    this.records = c.flowRecords !== false;
    this.keepRows = c.flowRecords === 'rows';
    this.piscina = this.threads.piscina;
  }

  /** The threads run from construction on (pinned); nothing to start. */
  async start(): Promise<void> {}

  /** Allocate a new engine's shared state (main thread); any worker can attach to it. */
  createEngine(): EngineHandle {
    const engine = Engine.create(this.engineConfig);
    return { id: this.nextId++, shared: engine.shared };
  }

  /** Run the engine over one batch; an ArrayBuffer-backed batch is transferred (unusable here after). */
  process(
    h: EngineHandle,
    cols: HeaderColumns,
    sensor: string,
    emit: boolean,
    nowUs = 0,
  ): Promise<BatchResult> {
    const buffer = cols.buffer;
    const task: EngineTask = {
      kind: 'batch',
      engineId: h.id,
      engine: h.shared,
      buffer,
      capacity: cols.capacity,
      length: cols.length,
      sensor,
      emit,
      nowUs,
      records: this.records,
      seq: this.nextSeq(h),
    };
    const transferList = buffer instanceof ArrayBuffer ? [buffer] : [];
    return this.run(task, { transferList });
  }

  /** Run a task; unless the caller takes rows, the records come back as objects in `flows`. */
  private async run(task: EngineTask, opts?: { transferList: ArrayBuffer[] }): Promise<BatchResult> {
    const r: BatchResult = await this.piscina.run(task, opts);
    if (r.rows && !this.keepRows) {
      for (const f of new FlowRowReader(r.rows).records()) r.flows.push(f);
      delete r.rows;
    }
    return r;
  }

  /**
   * Capture time moves to `nowUs` without input (a quiet partition): release the RSTs held longer than
   * the hold time and end the flows idle longer than their expiry, as if time had passed on the wire.
   */
  advance(h: EngineHandle, nowUs: number, emit: boolean): Promise<BatchResult> {
    return this.run(this.control('tick', h, emit, nowUs));
  }

  /** End of input for this engine: release held RSTs and emit every remaining flow. */
  finish(h: EngineHandle): Promise<BatchResult> {
    return this.run(this.control('finish', h, true, 0));
  }

  /** Forget an engine (revoked partition, finished shard): every worker drops its view of it. */
  release(h: EngineHandle): void {
    this.seqs.delete(h.id);
    this.released.postMessage(h.id);
  }

  /** Tasks queued but not started. */
  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /**
   * Ends the worker threads (tasks in progress finish first). With a `deadline` (epoch ms) it returns by
   * then, leaving the threads to end on their own; without one it waits for them. Idempotent.
   */
  stop(deadline?: number): Promise<void> {
    this.stopped ??= (async () => {
      this.released.close();
      await this.threads.close();
    })();
    return deadline === undefined ? this.stopped : untilDeadline(this.stopped, deadline).then(() => {});
  }

  /** A task that carries no headers. */
  private control(kind: 'tick' | 'finish', h: EngineHandle, emit: boolean, nowUs: number): EngineTask {
    return {
      kind,
      engineId: h.id,
      engine: h.shared,
      buffer: null,
      capacity: 0,
      length: 0,
      sensor: '',
      emit,
      nowUs,
      records: this.records,
      seq: this.nextSeq(h),
    };
  }

  private nextSeq(h: EngineHandle): number {
    if (!this.sequential) return -1;
    const seq = this.seqs.get(h.id) ?? 0;
    this.seqs.set(h.id, seq + 1);
    return seq;
  }
}
