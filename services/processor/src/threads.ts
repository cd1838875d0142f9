/**
 * The engine pool's worker threads, startable on their own: `rstwatch analyze` starts them first thing,
 * so a worker boots (Node bootstrap, module loading: tens of milliseconds) while the main thread loads
 * the configuration and the rest of the code, instead of after. Imports nothing but Piscina.
 */
import { Piscina } from 'piscina';

/** Most engines `analyze --shards` runs in parallel. */
export const MAX_SHARDS = 64;

/** The worker count for `--shards N` (default 1), within 1..MAX_SHARDS. */
export function shardWorkers(shards: number | undefined): number {
  return Math.max(1, Math.min(shards ?? 1, MAX_SHARDS));
}

/**
 * Pinned threads running the engine worker. With one thread the pool is `sequential`: the thread holds
 * the next task while it runs one (`concurrentTasksPerWorker: 2`), so a caller may queue an engine's
 * next batches and the worker goes straight from one to the next.
 */
export class WorkerThreads {
  readonly workers: number;
  readonly sequential: boolean;
  /** For EnginePool only. */
  readonly piscina: Piscina;
  private closing: Promise<void> | undefined;

  constructor(workers: number) {
    this.workers = Math.max(1, Math.floor(workers));
    this.sequential = this.workers === 1;
    this.piscina = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: this.sequential ? 2 : 1,
      // Without it, a task Piscina takes from its queue while the worker is busy goes back to the tail,
      // behind later ones. The worker checks the order of a sequential pool's tasks (`seq`).
      stricterFIFO: true,
    });
  }

  /** Stops the threads (idempotent). Threads handed to an EnginePool are closed with it. */
  close(): Promise<void> {
    this.closing ??= this.piscina.close();
    return this.closing;
  }
}

/** Start `workers` threads now (see WorkerThreads). */
export function startWorkerThreads(workers: number): WorkerThreads {
  return new WorkerThreads(workers);
}
