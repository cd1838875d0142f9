/**
 * One component shape (issue 12): every long-lived part of a service (agent, consumer loop, writers,
 * senders, engine pool, detection stage, alert forwarder) is built as `new X(config, dependencies,
 * telemetry)`, then `start()`ed and `stop(deadline)`ped. A deadline is always an absolute time in ms
 * since the epoch (`Date.now()` scale), so one deadline can be handed down a chain of components: each
 * uses what is left of it, none adds its own.
 */

/** Something that can be stopped within a deadline (epoch ms); resolves by then at the latest. */
export interface Stoppable {
  /**
   * Stop: finish or hand back what is in progress until `deadline` (epoch ms; default: the component's
   * own shutdown timeout from now), then release resources. Idempotent. Resolves by the deadline even
   * if a dependency hangs (what was not done by then is counted or logged as the component says).
   */
  stop(deadline?: number): Promise<void>;
}

/** A long-lived part of a service. */
export interface Component extends Stoppable {
  /** Begin work. Rejects (naming what failed) when the component cannot start. */
  start(): Promise<void>;
}

/** A deadline `ms` from now (epoch ms). */
export function deadlineIn(ms: number): number {
  return Date.now() + ms;
}

/** Milliseconds left until `deadline` (epoch ms), at least `min`. */
export function msLeft(deadline: number, min = 0): number {
  return Math.max(min, deadline - Date.now());
}

/**
 * Waits for `work` until `deadline` (epoch ms). Resolves `true` when `work` settled in time (its
 * rejection is passed on), `false` when the deadline came first (`work` is left running).
 */
export async function untilDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), msLeft(deadline));
    timer.unref?.();
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A stop step: a component, or a function given the deadline (a client to close, a consumer to disconnect). */
export type StopStep = Stoppable | ((deadline: number) => Promise<void>);

/** Named stop steps, in start order. */
export type StopList = [name: string, step: StopStep][];

/** Least time each step gets, even when an earlier one used up the deadline. */
export const MIN_STOP_MS = 100;

/**
 * Stops `steps` in reverse order, all within one `deadline` (epoch ms). Each step is awaited until the
 * deadline (at least `MIN_STOP_MS`), then left behind; a failed stop goes to `onError`, never thrown.
 */
export async function stopInReverse(
  steps: readonly (readonly [string, StopStep])[],
  deadline: number,
  onError: (name: string, err: unknown) => void = () => {},
): Promise<void> {
  for (const [name, step] of [...steps].reverse()) {
    const until = Math.max(deadline, Date.now() + MIN_STOP_MS);
    let work: Promise<void>;
    try {
      work = typeof step === 'function' ? step(until) : step.stop(until);
    } catch (err) {
      work = Promise.reject(err);
    }
    await untilDeadline(
      work.catch((err: unknown) => onError(name, err)),
      until,
    );
  }
}

/**
 * Starts `components` in order. When one fails to start, those already started are stopped in reverse
 * (within `stopDeadlineMs` from then) and its error is thrown, prefixed with its name.
 */
export async function startInOrder(
  components: readonly (readonly [string, Component])[],
  stopDeadlineMs = 10_000,
  onError?: (name: string, err: unknown) => void,
): Promise<StopList> {
  const started: StopList = [];
  for (const [name, c] of components) {
    try {
      await c.start();
    } catch (err) {
      await stopInReverse(started, deadlineIn(stopDeadlineMs), onError);
      throw new Error(`starting ${name}: ${(err as Error).message}`, { cause: err });
    }
    started.push([name, c]);
  }
  return started;
}

/**
 * `config` over `defaults`: each key `config` leaves out (or sets to `undefined`) takes its default.
 * Components declare their defaults once, as a plain object beside their config type, and apply them here.
 */
export function withDefaults<D extends object, C extends object>(defaults: D, config: C): WithDefaults<D, C> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = v;
  return out as WithDefaults<D, C>;
}

/** `C` with every key of `D` present (typed as `C` declares it, else as the default). */
export type WithDefaults<D, C> = Omit<C, keyof D> & {
  -readonly [K in keyof D]-?: K extends keyof C ? Exclude<C[K], undefined> : D[K];
};
