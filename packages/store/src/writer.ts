/**
 * Batched, acknowledged writer. Callers submit units (the rows derived from one range of Kafka
 * offsets, identified by a token); the writer groups whole units into batches by row count or age,
 * inserts each table's rows with an `insert_deduplication_token` derived from the unit tokens,
 * retries with exponential backoff until a deadline, and resolves each unit's promise only once
 * ClickHouse acknowledged all of its rows: commit the Kafka offsets then, not before.
 * {@link insertAlerts} is the unbatched form for alerts alone.
 */
import { createHash } from 'node:crypto';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import { type Component, deadlineIn, msLeft, untilDeadline, withDefaults } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import type { StoreClient } from './client.js';
import { ROW_WRITER_DEFAULTS } from './config.js';
import { alertLinkToRow, alertToRow, eventToRow, flowToRow, sensorStatsToRow } from './rows.js';
import type { AlertLink, SensorStatsRow } from './schema.js';

/** The rows derived from one range of input, written together and acknowledged together. */
export interface WriteUnit {
  /** Unique and deterministic for the input range, e.g. `${topic}:${partition}:${firstOffset}-${lastOffset}`. */
  token: string;
  events: readonly RstEvent[];
  flows: readonly FlowRecord[];
  sensorStats?: readonly SensorStatsRow[];
  /** Alert versions raised, updated or closed by this input (`alerts`). */
  alerts?: readonly Alert[];
  /** The RST events behind them (`alert_events`). */
  alertLinks?: readonly AlertLink[];
}

/** Settings of the writer; each one left out takes its value from `ROW_WRITER_DEFAULTS` (config.ts). */
export interface RowWriterConfig {
  /** Flush when the queued rows of any table reach this. */
  maxRows?: number;
  /** Flush when the oldest queued unit is this old. */
  maxDelayMs?: number;
  /** First retry delay; doubles per attempt up to `retryMaxMs`. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Give up on a batch (reject its units) this long after its first attempt. */
  deadlineMs?: number;
}

export interface RowWriterDeps {
  client: StoreClient;
}

export interface RowWriterTelemetry {
  /** Called on each failed attempt (for logs); never receives credentials. */
  onError?: (err: Error, info: { table: string; attempt: number; token: string }) => void;
}

export interface WriterStats {
  queuedUnits: number;
  queuedRows: number;
  inFlightRows: number;
  /** Age of the oldest queued unit, ms (0 when none). */
  oldestQueuedMs: number;
  insertedRows: Record<WriterTable, number>;
  batches: number;
  /** Failed insert attempts (each retry that fails counts once). */
  failures: number;
  /** Units whose promise was rejected (deadline passed or writer closed). */
  rejectedUnits: number;
  lastInsertMs: number;
  maxInsertMs: number;
  /** Mean insert latency over all successful inserts, ms. */
  avgInsertMs: number;
  /** False when a batch is being retried or the queue is older than twice `maxDelayMs`. */
  keepingUp: boolean;
}

interface Pending {
  unit: WriteUnit;
  at: number;
  rows: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Insert order: links before their alerts, so a reader who sees an alert finds its events. */
const TABLE_ORDER = ['rst_events', 'flows', 'sensor_stats', 'alert_events', 'alerts'] as const;
type WriterTable = (typeof TABLE_ORDER)[number];
type TableCounts = Record<WriterTable, number>;

const zero = (): TableCounts => ({ rst_events: 0, flows: 0, sensor_stats: 0, alert_events: 0, alerts: 0 });

/** Rows a unit adds to each table. */
function unitRows(u: WriteUnit): TableCounts {
  return {
    rst_events: u.events.length,
    flows: u.flows.length,
    sensor_stats: u.sensorStats?.length ?? 0,
    alert_events: u.alertLinks?.length ?? 0,
    alerts: u.alerts?.length ?? 0,
  };
}

const add = (a: TableCounts, b: TableCounts, sign = 1): TableCounts => {
  const out = zero();
  for (const t of TABLE_ORDER) out[t] = a[t] + sign * b[t];
  return out;
};
const sum = (c: TableCounts) => TABLE_ORDER.reduce((n, t) => n + c[t], 0);
const most = (c: TableCounts) => Math.max(...TABLE_ORDER.map((t) => c[t]));

/** Settings of every insert: the unit's dedup token, also for the rollup views, unknown fields skipped. */
function insertSettings(token: string) {
  return {
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // A field added to the contract before the schema caught up must not block the pipeline.
    input_format_skip_unknown_fields: 1,
  } as const;
}

/** Deduplication token of a batch: the unit's own token, or a digest of all of them in order. */
export function batchToken(tokens: readonly string[]): string {
  if (tokens.length === 1) return tokens[0] as string;
  const h = createHash('sha256');
  for (const t of tokens) h.update(t).update('\n');
  return `${tokens[0]}..${tokens[tokens.length - 1]}#${tokens.length}:${h.digest('hex').slice(0, 32)}`;
}

/** `new RowWriter(config, { client }, telemetry)`, `start()`, `insert(unit)`..., `stop(deadline)`. */
export class RowWriter implements Component {
  readonly #client: StoreClient;
  readonly #cfg: Required<RowWriterConfig>;
  readonly #onError: RowWriterTelemetry['onError'];
  #queue: Pending[] = [];
  #queuedRows = zero();
  #inFlightRows = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closing = false;
  #retrying = false;
  #abort = new AbortController();
  #stats = {
    insertedRows: zero(),
    batches: 0,
    failures: 0,
    rejectedUnits: 0,
    lastInsertMs: 0,
    maxInsertMs: 0,
    totalInsertMs: 0,
    inserts: 0,
  };

  constructor(config: RowWriterConfig, deps: RowWriterDeps, telemetry: RowWriterTelemetry = {}) {
    this.#client = deps.client;
    this.#cfg = withDefaults(ROW_WRITER_DEFAULTS, config);
    this.#onError = telemetry.onError;
    for (const [k, v] of Object.entries(this.#cfg)) {
      if (!Number.isFinite(v) || v <= 0)
        throw new Error(`RowWriter config ${k} must be a positive number, got ${v}`);
    }
  }

  /** Queue a unit; resolves once ClickHouse acknowledged all its rows, rejects after the deadline. */
  insert(unit: WriteUnit): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('RowWriter is closed'));
    return new Promise<void>((resolve, reject) => {
      const n = unitRows(unit);
      this.#queue.push({ unit, at: Date.now(), rows: sum(n), resolve, reject });
      this.#queuedRows = add(this.#queuedRows, n);
      if (most(this.#queuedRows) >= this.#cfg.maxRows) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.#cfg.maxDelayMs);
    });
  }

  /** Write everything queued now; resolves when it is acknowledged (or rejected). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#running) {
      this.#kick();
      await this.#running;
    }
  }

  /** Nothing to start: units are flushed by size and age once inserted. */
  async start(): Promise<void> {}

  /**
   * Flush and stop accepting units. Units not acknowledged by `deadline` (epoch ms; default `deadlineMs`
   * from now) are rejected; an insert that hangs past it is left behind (its units settle when it does).
   */
  async stop(deadline: number = deadlineIn(this.#cfg.deadlineMs)): Promise<void> {
    this.#closing = true;
    const timer = setTimeout(() => this.#abort.abort(), msLeft(deadline));
    try {
      await untilDeadline(this.flush(), deadline);
    } finally {
      clearTimeout(timer);
      // By the deadline or done: whatever still retries gives up now. (untilDeadline's timer can fire
      // just before the abort timer; clearing that one without aborting left a retry loop running on.)
      this.#abort.abort();
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  stats(): WriterStats {
    const s = this.#stats;
    const oldest = this.#queue[0] ? Date.now() - this.#queue[0].at : 0;
    return {
      queuedUnits: this.#queue.length,
      queuedRows: sum(this.#queuedRows),
      inFlightRows: this.#inFlightRows,
      oldestQueuedMs: oldest,
      insertedRows: { ...s.insertedRows },
      batches: s.batches,
      failures: s.failures,
      rejectedUnits: s.rejectedUnits,
      lastInsertMs: s.lastInsertMs,
      maxInsertMs: s.maxInsertMs,
      avgInsertMs: s.inserts ? s.totalInsertMs / s.inserts : 0,
      keepingUp: !this.#retrying && oldest <= 2 * this.#cfg.maxDelayMs,
    };
  }

  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running || this.#queue.length === 0) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) {
        if (this.#closing) this.#kick();
        else
          this.#timer ??= setTimeout(
            () => this.#kick(),
            Math.max(0, this.#cfg.maxDelayMs - (Date.now() - this.#queue[0]!.at)),
          );
      }
    });
  }

  /** Take whole units up to `maxRows` per table; one batch at a time, in submission order. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch: Pending[] = [];
      let n = zero();
      while (this.#queue.length > 0) {
        const next = add(n, unitRows(this.#queue[0]!.unit));
        if (batch.length > 0 && most(next) > this.#cfg.maxRows) break;
        batch.push(this.#queue.shift()!);
        n = next;
      }
      this.#queuedRows = add(this.#queuedRows, n, -1);
      await this.#write(batch);
      // With a partial batch left and no size pressure, wait for the timer unless closing.
      if (!this.#closing && most(this.#queuedRows) < this.#cfg.maxRows) {
        const oldest = this.#queue[0];
        if (oldest && Date.now() - oldest.at < this.#cfg.maxDelayMs) return;
      }
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    const token = batchToken(batch.map((p) => p.unit.token));
    const rows: Record<WriterTable, object[]> = {
      rst_events: [],
      flows: [],
      sensor_stats: [],
      alert_events: [],
      alerts: [],
    };
    for (const { unit } of batch) {
      for (const e of unit.events) rows.rst_events.push(eventToRow(e, unit.token));
      for (const f of unit.flows) rows.flows.push(flowToRow(f, unit.token));
      for (const s of unit.sensorStats ?? []) rows.sensor_stats.push(sensorStatsToRow(s, unit.token));
      for (const l of unit.alertLinks ?? []) rows.alert_events.push(alertLinkToRow(l, unit.token));
      for (const a of unit.alerts ?? []) rows.alerts.push(alertToRow(a, unit.token));
    }
    const total = batch.reduce((a, p) => a + p.rows, 0);
    this.#inFlightRows = total;
    const deadline = Date.now() + this.#cfg.deadlineMs;
    try {
      for (const table of TABLE_ORDER) {
        if (rows[table].length === 0) continue;
        await this.#insertWithRetry(table, rows[table], token, deadline);
        this.#stats.insertedRows[table] += rows[table].length;
      }
      this.#stats.batches++;
      for (const p of batch) p.resolve();
    } catch (err) {
      this.#stats.rejectedUnits += batch.length;
      for (const p of batch) p.reject(err as Error);
    } finally {
      this.#inFlightRows = 0;
      this.#retrying = false;
    }
  }

  async #insertWithRetry(table: WriterTable, rows: object[], token: string, deadline: number): Promise<void> {
    let delay = this.#cfg.retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      try {
        await this.#client.insert(table, rows, insertSettings(token));
        const ms = performance.now() - t0;
        const s = this.#stats;
        s.lastInsertMs = ms;
        s.maxInsertMs = Math.max(s.maxInsertMs, ms);
        s.totalInsertMs += ms;
        s.inserts++;
        return;
      } catch (err) {
        this.#stats.failures++;
        this.#retrying = true;
        this.#onError?.(err as Error, { table, attempt, token });
        const now = Date.now();
        if (isPermanentError(err)) {
          throw new Error(
            `insert into ${table} (token ${token}) rejected by ClickHouse, not retried: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
        if (now + delay > deadline || this.#abort.signal.aborted) {
          throw new Error(
            `insert into ${table} (token ${token}) not acknowledged after ${attempt} attempt(s): ${(err as Error).message}`,
            { cause: err },
          );
        }
        await sleep(delay, this.#abort.signal);
        delay = Math.min(delay * 2, this.#cfg.retryMaxMs);
      }
    }
  }
}

/** Alert versions and their RST-event links derived from one range of input, with its dedup token. */
export interface AlertUnit {
  /** Unique and deterministic for the input range (e.g. `${topic}:${partition}:${first}-${last}` of the events topic). */
  token: string;
  alerts: readonly Alert[];
  links: readonly AlertLink[];
}

/**
 * Insert one unit of alerts without batching: `alert_events` first, then `alerts`, each with the unit's
 * token. One attempt per table; on failure (a `ClickHouseStoreError`) retry the same unit: ClickHouse
 * drops blocks whose token it already has, and `alerts` keeps one row per `(id, version)` anyway.
 */
export async function insertAlerts(client: StoreClient, unit: AlertUnit): Promise<void> {
  const settings = insertSettings(unit.token);
  await client.insert(
    'alert_events',
    unit.links.map((l) => alertLinkToRow(l, unit.token)),
    settings,
  );
  await client.insert(
    'alerts',
    unit.alerts.map((a) => alertToRow(a, unit.token)),
    settings,
  );
}

/**
 * ClickHouse error codes that retrying cannot fix (bad data, schema mismatch): the batch is rejected
 * at once so the caller can dead-letter it instead of stalling until the deadline.
 */
const PERMANENT_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '16', // NO_SUCH_COLUMN_IN_TABLE
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '60', // UNKNOWN_TABLE
  '62', // SYNTAX_ERROR
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '81', // UNKNOWN_DATABASE
  '117', // INCORRECT_DATA
  '441', // CANNOT_PARSE_IPV4 (older servers)
  '676', // CANNOT_PARSE_IPV6
  '675', // CANNOT_PARSE_IPV4
]);

/** True when `err` (or its cause chain) is a ClickHouse error that a retry cannot fix. */
export function isPermanentError(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (e.code !== undefined && PERMANENT_CODES.has(String(e.code))) return true;
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
