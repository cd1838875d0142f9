/**
 * Writes one unit (the rows derived from one range of Kafka offsets) per insert, so that the
 * deduplication token of every insert depends only on that range: a replayed unit carries the same
 * token and ClickHouse drops it. Retries with backoff until acknowledged or shut down; while retrying,
 * the partition is paused (nothing is committed meanwhile).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Component,
  deadlineIn,
  type FlowRecord,
  type RstEvent,
  untilDeadline,
  withDefaults,
} from '@rstwatch/core';
import {
  eventToRow,
  flowToRow,
  type HeaderBatchRow,
  type SensorStatsRow,
  type StoreClient,
} from '@rstwatch/store';
import { UNIT_WRITER_DEFAULTS } from './config.js';

export interface Unit {
  token: string;
  events: readonly RstEvent[];
  flows: readonly FlowRecord[];
  sensorStats: readonly SensorStatsRow[];
  /** One row per HeaderBatch consumed (same token as the events of those offsets). */
  headerBatches?: readonly HeaderBatchRow[];
}

export interface WriteHooks {
  /** Called before each retry (e.g. to heartbeat the consumer group). */
  onRetry?: () => void;
  /** Called when the first attempt failed; `resume` once acknowledged. */
  pause?: () => void;
  resume?: () => void;
  /** Abort retrying (shutdown): the write rejects and nothing is committed. */
  signal?: AbortSignal;
}

/** Settings of the writer; the optional ones default to `UNIT_WRITER_DEFAULTS` (config.ts). */
export interface UnitWriterConfig {
  /** First retry delay, doubling up to `retryMaxMs`. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Most time `stop()` without a deadline waits for the units being written. */
  shutdownTimeoutMs?: number;
}

export interface UnitWriterDeps {
  client: StoreClient;
}

export interface UnitWriterTelemetry {
  /** Called on each failed insert attempt (for logs). */
  onError?: (err: Error, info: { table: string; attempt: number; token: string }) => void;
}

/** `new UnitWriter(config, { client }, telemetry)`, `start()`, `write(unit)`..., `stop(deadline)`. */
export class UnitWriter implements Component {
  insertedRows = { rst_events: 0, flows: 0, sensor_stats: 0, header_batches: 0 };
  failures = 0;
  /** Units currently being retried. */
  retrying = 0;
  private readonly opts: Required<UnitWriterConfig> & UnitWriterTelemetry;
  private readonly client: StoreClient;
  /** Units being written (awaited by `stop`). */
  private readonly writing = new Set<Promise<void>>();

  constructor(config: UnitWriterConfig, deps: UnitWriterDeps, telemetry: UnitWriterTelemetry = {}) {
    this.opts = { ...withDefaults(UNIT_WRITER_DEFAULTS, config), ...telemetry };
    this.client = deps.client;
  }

  /** Nothing to start: each `write` inserts at once. */
  async start(): Promise<void> {}

  /**
   * Waits for the units being written until `deadline` (epoch ms; default `shutdownTimeoutMs` from now).
   * A unit's retries end when its `hooks.signal` aborts; the client is closed by its owner.
   */
  async stop(deadline: number = deadlineIn(this.opts.shutdownTimeoutMs)): Promise<void> {
    if (this.writing.size > 0) await untilDeadline(Promise.allSettled([...this.writing]), deadline);
  }

  /** Insert one unit, table by table, retrying each until acknowledged or `hooks.signal` aborts. */
  write(unit: Unit, hooks: WriteHooks = {}): Promise<void> {
    const p = this.writeUnit(unit, hooks);
    this.writing.add(p);
    const done = () => this.writing.delete(p);
    p.then(done, done);
    return p;
  }

  private async writeUnit(unit: Unit, hooks: WriteHooks): Promise<void> {
    const tables: [keyof UnitWriter['insertedRows'], object[]][] = [
      ['rst_events', unit.events.map((e) => eventToRow(e, unit.token))],
      ['flows', unit.flows.map((f) => flowToRow(f, unit.token))],
      ['sensor_stats', unit.sensorStats.map((s) => ({ ...s, ingest_token: unit.token }))],
      ['header_batches', (unit.headerBatches ?? []).map((b) => ({ ...b, ingest_token: unit.token }))],
    ];
    for (const [table, rows] of tables) {
      if (rows.length === 0) continue;
      await this.insert(table, rows, unit.token, hooks);
      this.insertedRows[table] += rows.length;
    }
  }

  private async insert(table: string, rows: object[], token: string, hooks: WriteHooks): Promise<void> {
    let delay = this.opts.retryInitialMs;
    let paused = false;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.client.insert(table, rows, {
            insert_deduplication_token: token,
            deduplicate_blocks_in_dependent_materialized_views: 1,
          });
          return;
        } catch (err) {
          this.failures++;
          this.opts.onError?.(err as Error, { table, attempt, token });
          if (hooks.signal?.aborted) {
            throw new Error(`insert into ${table} (token ${token}) abandoned at shutdown`, { cause: err });
          }
          if (!paused) {
            paused = true;
            this.retrying++;
            hooks.pause?.();
          }
          hooks.onRetry?.();
          await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : {}).catch(() => {});
          delay = Math.min(delay * 2, this.opts.retryMaxMs);
        }
      }
    } finally {
      if (paused) {
        this.retrying--;
        hooks.resume?.();
      }
    }
  }
}
