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
 * Tasks the thread of a sequential pool holds at once: the one it runs and the next ones, queued in its
 * message port. The caller's thread may be busy for a while without yielding (the capture parser reads
 * 4 MiB, about four batches, at a time), and Piscina only hands a task over when its result comes back
 * through that thread's event loop; with two, the worker could run dry during each such stretch.
 */
export const SEQUENTIAL_DEPTH = 8;

/**
 * Pinned threads running the engine worker. With one thread the pool is `sequential`: the thread holds
 * the next tasks while it runs one (`SEQUENTIAL_DEPTH`), so a caller may queue an engine's next batches
 * and the worker goes straight from one to the next.
 */
export class WorkerThreads {
  readonly workers: number;
  readonly sequential: boolean;
  /** For EnginePool only. */
  readonly piscina: Piscina;
  private closing: Promise<void> | undefined;

  constructor(workers: number) {
    this.workers = threadCount(workers);
    this.sequential = this.workers === 1;
    this.piscina = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: this.sequential ? SEQUENTIAL_DEPTH : 1,
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

/** The thread count WorkerThreads makes of a requested `workers`. */
function threadCount(workers: number): number {
  return Math.max(1, Math.floor(workers));
}

let early: WorkerThreads | undefined;

/**
 * Start `workers` threads before the rest of the program has loaded (the CLI does it for `analyze` first
 * thing, so the worker boots while the command line, configuration and analysis code load); the next
 * `startWorkerThreads` with the same count takes them. Threads nobody took are closed by
 * `closePrestartedThreads` (call it on the way out, so they do not outlive the command they were for).
 */
export function prestartWorkerThreads(workers: number): WorkerThreads {
  early ??= new WorkerThreads(workers);
  return early;
}

/** Close prestarted threads that no `startWorkerThreads` took (idempotent). */
export function closePrestartedThreads(): Promise<void> {
  const e = early;
  early = undefined;
  return e?.close() ?? Promise.resolve();
}

/** `workers` threads: the prestarted ones when their count matches, else new ones (see WorkerThreads). */
export function startWorkerThreads(workers: number): WorkerThreads {
  const e = early;
  early = undefined;
  if (e !== undefined) {
    if (e.workers === threadCount(workers)) return e;
    void e.close();
  }
  return new WorkerThreads(workers);
}
