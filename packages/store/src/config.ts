/**
 * Defaults of the store's components, declared here only (issue 12: one component shape). The processor
 * sets `maxRows` and `maxDelayMs` from `clickhouse.writer.*`, whose defaults are in the config schema.
 */

/** `RowWriter` (writer.ts). */
export const ROW_WRITER_DEFAULTS = {
  /** Flush when the queued rows of any table reach this. */
  maxRows: 50_000,
  /** Flush when the oldest queued unit is this old. */
  maxDelayMs: 1000,
  /** First retry delay; doubles per attempt up to `retryMaxMs`. */
  retryInitialMs: 100,
  retryMaxMs: 5000,
  /** Give up on a batch (reject its units) this long after its first attempt; also `stop()`'s default. */
  deadlineMs: 60_000,
} as const;
