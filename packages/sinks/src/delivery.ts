/**
 * Delivery: hands every alert to every sink without ever blocking or failing the caller. Each sink has
 * its own bounded FIFO queue and one worker that sends in order (batches of up to `maxBatch`), retries
 * a failed send with exponential backoff and jitter, and after `retries` retries (or at once, for a
 * permanent failure) appends the alerts to the undelivered NDJSON file with the sink name and the
 * error. An alert pushed while its sink's queue is full goes to that file too. Every alert ends up
 * delivered or in the file, and counted; one slow or dead sink delays neither the others nor `push`.
 */
import { type Component, deadlineIn, msLeft, withDefaults } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { DELIVERY_DEFAULTS } from './config.js';
import { Fifo } from './internal/fifo.js';
import { UndeliveredFile, type UndeliveredReason, type UndeliveredRecord } from './internal/undelivered.js';
import { type AlertSink, errorText, SinkError } from './sink.js';

export interface BackoffOptions {
  /** Delay before the first retry (before jitter). */
  initialMs: number;
  /** Longest delay. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1, 2, ...): `initialMs * 2^(attempt-1)` capped at `maxMs`, then
 * "equal jitter": uniformly in [d/2, d], so sinks that failed together do not retry in step.
 */
export function backoffDelay(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + (random() * d) / 2);
}

/** Per-sink settings; each defaults to the Delivery-wide one. */
export interface DeliverySinkOptions {
  sink: AlertSink;
  retries?: number;
  maxQueue?: number;
  maxBatch?: number;
}

/** Structured logger (a pino logger fits). */
export interface DeliveryLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Settings of a delivery; the optional ones default to `DELIVERY_DEFAULTS` (config.ts). */
export interface DeliveryConfig {
  /** Retries of a failed send before its alerts are kept as undelivered. */
  retries?: number;
  backoff?: Partial<BackoffOptions>;
  /** Alerts waiting per sink; more go to the undelivered file. */
  maxQueue?: number;
  /** Alerts per `send`. */
  maxBatch?: number;
  /** NDJSON file of undelivered alerts (created with its directory on first use). */
  undeliveredPath: string;
  /** Most time `stop()` without a deadline spends delivering what is queued. */
  shutdownTimeoutMs?: number;
}

export interface DeliveryDeps {
  sinks: readonly (AlertSink | DeliverySinkOptions)[];
  /** For tests: the jitter source. */
  random?: () => number;
}

export interface DeliveryTelemetry {
  log?: DeliveryLog;
}

export interface SinkStats {
  /** Alerts the sink accepted. */
  delivered: number;
  /** Failed sends that were retried. */
  retries: number;
  /** Alerts kept in the undelivered file instead (includes `overflowed`). */
  failed: number;
  /** Alerts waiting (including those being sent). */
  queued: number;
  /** Of `failed`: pushed while the queue was full. */
  overflowed: number;
  /** Alerts that could not even be written to the undelivered file (logged as errors). */
  lost: number;
}

const noLog: DeliveryLog = { warn() {}, error() {} };

class Lane {
  readonly sink: AlertSink;
  readonly stats: SinkStats = { delivered: 0, retries: 0, failed: 0, queued: 0, overflowed: 0, lost: 0 };
  readonly queue = new Fifo<Alert>();
  running = false;
  aborted = false;
  #wake: (() => void) | undefined;
  #idle: (() => void)[] = [];

  constructor(
    sink: AlertSink,
    readonly retries: number,
    readonly maxQueue: number,
    readonly maxBatch: number,
  ) {
    this.sink = sink;
  }

  whenIdle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  settle(): void {
    if (this.running || this.queue.length > 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const r of waiting) r();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        res();
      }
      this.#wake = done;
    });
  }

  abort(): void {
    this.aborted = true;
    this.#wake?.();
  }
}

/** `new Delivery(config, { sinks }, telemetry)`, `start()`, `push(alert)`..., `stop(deadline)`. */
export class Delivery implements Component {
  readonly #lanes: Lane[] = [];
  readonly #shutdownTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #file: UndeliveredFile;
  readonly #log: DeliveryLog;
  readonly #random: () => number;
  #closed = false;

  constructor(config: DeliveryConfig, deps: DeliveryDeps, telemetry: DeliveryTelemetry = {}) {
    const opts = withDefaults(DELIVERY_DEFAULTS, config);
    const names = new Set<string>();
    for (const s of deps.sinks) {
      const o: DeliverySinkOptions = 'sink' in s ? s : { sink: s };
      if (names.has(o.sink.name))
        throw new Error(`two alert sinks are named '${o.sink.name}'; names must be unique`);
      names.add(o.sink.name);
      const retries = o.retries ?? opts.retries;
      const maxQueue = o.maxQueue ?? opts.maxQueue;
      const maxBatch = o.maxBatch ?? opts.maxBatch;
      if (!(retries >= 0 && maxQueue >= 1 && maxBatch >= 1)) {
        throw new RangeError(
          `sink '${o.sink.name}': retries >= 0, maxQueue >= 1 and maxBatch >= 1 are required`,
        );
      }
      this.#lanes.push(new Lane(o.sink, retries, maxQueue, maxBatch));
    }
    this.#backoff = withDefaults(DELIVERY_DEFAULTS.backoff, config.backoff ?? {});
    this.#shutdownTimeoutMs = opts.shutdownTimeoutMs;
    this.#log = telemetry.log ?? noLog;
    this.#random = deps.random ?? Math.random;
    if (!opts.undeliveredPath) throw new Error('Delivery needs an undeliveredPath');
    this.#file = new UndeliveredFile(opts.undeliveredPath, (err, records) => {
      for (const r of records) {
        const lane = this.#lanes.find((l) => l.sink.name === r.sink);
        if (lane) lane.stats.lost++;
      }
      this.#log.error(
        {
          err: errorText(err),
          path: opts.undeliveredPath,
          alerts: records.map((r) => `${r.alert.id}:${r.alert.version}`),
        },
        'alerts could not be delivered nor kept in the undelivered file: lost',
      );
    });
  }

  /** The undelivered NDJSON file. */
  get undeliveredPath(): string {
    return this.#file.path;
  }

  /** Per sink name: a snapshot of its counters. */
  get stats(): Record<string, SinkStats> {
    const out: Record<string, SinkStats> = {};
    for (const l of this.#lanes) out[l.sink.name] = { ...l.stats, queued: l.queue.length };
    return out;
  }

  /** Queues `alert` for every sink. Returns at once; never throws. */
  push(alert: Alert): void {
    let copy: Alert;
    try {
      copy = structuredClone(alert); // the caller may reuse or update its object
    } catch {
      copy = alert;
    }
    for (const lane of this.#lanes) {
      try {
        if (this.#closed) {
          this.#keep(lane, [copy], 'closed', 'pushed after close()', 0);
        } else if (lane.queue.length >= lane.maxQueue) {
          lane.stats.overflowed++;
          this.#keep(lane, [copy], 'queue_full', `queue full (${lane.maxQueue} alerts waiting)`, 0);
        } else {
          lane.queue.push(copy);
          if (!lane.running) this.#run(lane);
        }
      } catch (err) {
        this.#log.error(
          { sink: lane.sink.name, err: errorText(err) },
          'alert delivery: internal error in push',
        );
      }
    }
  }

  #keep(
    lane: Lane,
    alerts: readonly Alert[],
    reason: UndeliveredReason,
    error: string,
    attempts: number,
  ): void {
    const time = new Date().toISOString();
    lane.stats.failed += alerts.length;
    for (const alert of alerts) {
      const rec: UndeliveredRecord = { time, sink: lane.sink.name, reason, error, attempts, alert };
      this.#file.append(rec);
    }
  }

  #run(lane: Lane): void {
    lane.running = true;
    this.#drive(lane)
      .catch((err) =>
        this.#log.error({ sink: lane.sink.name, err: errorText(err) }, 'alert delivery worker failed'),
      )
      .finally(() => {
        lane.running = false;
        // Alerts pushed while the worker was finishing.
        if (lane.queue.length > 0 && !lane.aborted) this.#run(lane);
        else lane.settle();
      });
  }

  async #drive(lane: Lane): Promise<void> {
    const name = lane.sink.name;
    await Promise.resolve(); // alerts pushed in the same tick go out in one batch
    while (lane.queue.length > 0 && !lane.aborted) {
      let batch = lane.queue.peek(lane.maxBatch);
      let attempt = 0;
      for (;;) {
        let err: unknown;
        try {
          await lane.sink.send(batch);
        } catch (e) {
          err = e ?? new Error('send rejected without an error');
        }
        if (lane.aborted) return; // close() took the queue over
        if (err === undefined) {
          lane.stats.delivered += batch.length;
          lane.queue.drop(batch.length);
          break;
        }
        const done = err instanceof SinkError ? Math.max(0, Math.min(err.delivered, batch.length)) : 0;
        if (done > 0) {
          lane.stats.delivered += done;
          lane.queue.drop(done);
          batch = batch.slice(done);
          attempt = 0; // progress: the sink works
        }
        const text = errorText(err);
        if (batch.length === 0) break;
        if (err instanceof SinkError && err.permanent) {
          this.#log.warn(
            { sink: name, err: text, alert: batch[0]!.id },
            'alert rejected permanently, kept as undelivered',
          );
          this.#keep(lane, [batch[0]!], 'permanent', text, attempt + 1);
          lane.queue.drop(1);
          break;
        }
        if (attempt >= lane.retries) {
          this.#log.warn(
            { sink: name, err: text, alerts: batch.length, attempts: attempt + 1 },
            'alert delivery gave up, alerts kept as undelivered',
          );
          this.#keep(lane, batch, 'retries_exhausted', text, attempt + 1);
          lane.queue.drop(batch.length);
          break;
        }
        attempt++;
        lane.stats.retries++;
        const delay = backoffDelay(attempt, this.#backoff, this.#random);
        this.#log.warn(
          { sink: name, err: text, attempt, retryInMs: delay },
          'alert delivery failed, retrying',
        );
        await lane.sleep(delay);
        if (lane.aborted) return;
      }
    }
  }

  /** Waits until every queue is empty (delivered or kept) or `deadlineMs` passed. */
  async flush(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadlineMs));
    });
    try {
      await Promise.race([Promise.all(this.#lanes.map((l) => l.whenIdle())), deadline]);
      await Promise.race([this.#file.flush(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The sinks need no start: each lane starts sending on its first alert. */
  async start(): Promise<void> {}

  /**
   * Stops accepting alerts (later pushes are kept as undelivered), delivers what is queued until
   * `deadline` (epoch ms; default `shutdownTimeoutMs` from now), keeps whatever is left as undelivered
   * (reason `shutdown`; alerts in a send still in progress are kept too, so they may also arrive), then
   * closes the sinks (each given what is left of the deadline, at least 1 s).
   */
  async stop(deadline: number = deadlineIn(this.#shutdownTimeoutMs)): Promise<void> {
    if (this.#closed) return;
    const deadlineMs = msLeft(deadline);
    this.#closed = true;
    await this.flush(deadlineMs);
    for (const lane of this.#lanes) {
      lane.abort();
      const left = lane.queue.takeAll();
      if (left.length > 0) {
        this.#keep(lane, left, 'shutdown', `not delivered within the ${deadlineMs} ms shutdown deadline`, 0);
      }
      lane.settle();
    }
    await this.#file.flush();
    const grace = msLeft(deadline, 1000);
    await Promise.all(
      this.#lanes.map(async (lane) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            lane.sink.close(),
            new Promise<void>((r) => {
              timer = setTimeout(r, grace);
            }),
          ]);
        } catch (err) {
          this.#log.warn({ sink: lane.sink.name, err: errorText(err) }, 'closing alert sink failed');
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
