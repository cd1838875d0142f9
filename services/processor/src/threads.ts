/**
 * The engine pool's worker threads, startable on their own: `rstwatch analyze` starts them first thing,
 * so a worker boots (Node bootstrap, module loading: tens of milliseconds) while the main thread loads
 * the configuration and the rest of the code, instead of after. Imports nothing but Piscina.
 */
import { Piscina } from 'piscina';

export interface WorkerThreads {
  readonly workers: number;
  /** Stops the threads (idempotent). Threads handed to an EnginePool are closed with it. */
  close(): Promise<void>;
}

/** The Piscina behind a WorkerThreads (for EnginePool only). */
export const piscinaOf = new WeakMap<WorkerThreads, Piscina>();

/**
 * Start `workers` pinned threads running the engine worker. With one thread the pool is sequential: the
 * thread holds the next task while it runs one (`concurrentTasksPerWorker: 2`), so a caller may queue
 * an engine's next batches and the worker goes straight from one to the next.
 */
export function startWorkerThreads(workers: number): WorkerThreads {
  const n = Math.max(1, Math.floor(workers));
  const sequential = n === 1;
  const piscina = new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: n,
    maxThreads: n,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: sequential ? 2 : 1,
    // Without it, a task Piscina takes from its queue while the worker is busy goes back to the tail,
    // behind later ones. The worker checks the order of a sequential pool's tasks (`seq`).
    stricterFIFO: true,
  });
  let closing: Promise<void> | undefined;
  const threads: WorkerThreads = {
    workers: n,
    close: () => {
      closing ??= piscina.close();
      return closing;
    },
  };
  piscinaOf.set(threads, piscina);
  return threads;
}
