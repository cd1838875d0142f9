/**
 * Writes one unit (the rows derived from one range of Kafka offsets) per insert, so that the
 * deduplication token of every insert depends only on that range: a replayed unit carries the same
 * token and ClickHouse drops it. Retries with backoff until acknowledged or shut down; while retrying,
 * the partition is paused (nothing is committed meanwhile).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import {
  eventToRow,
  flowToRow,
  type HeaderBatchRow,
  type SensorStatsRow,
  type StoreClient,
} from '@rstwatch/store';

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

export interface UnitWriterOptions {
  retryInitialMs?: number;
  retryMaxMs?: number;
  onError?: (err: Error, info: { table: string; attempt: number; token: string }) => void;
}

export class UnitWriter {
  insertedRows = { rst_events: 0, flows: 0, sensor_stats: 0, header_batches: 0 };
  failures = 0;
  /** Units currently being retried. */
  retrying = 0;

  constructor(
    private readonly client: StoreClient,
    private readonly opts: UnitWriterOptions = {},
  ) {}

  async write(unit: Unit, hooks: WriteHooks = {}): Promise<void> {
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
    let delay = this.opts.retryInitialMs ?? 100;
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
          delay = Math.min(delay * 2, this.opts.retryMaxMs ?? 5000);
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
