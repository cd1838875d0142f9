/**
 * Defaults of the processor's components, declared here only (issue 12: one component shape). What the
 * rstwatch configuration sets (`processor.*`, `alerts.*`, `clickhouse.writer.*`) has its defaults in the
 * config schema; these are the settings the configuration does not expose.
 */
import { availableParallelism } from 'node:os';

/** `ConsumerLoop` (processor.ts). */
export const CONSUMER_LOOP_DEFAULTS = {
  /** Messages per unit at most (a unit is one insert per table). */
  unitMaxMessages: 256,
  /** A quiet partition's capture time advances after this much wall-clock silence. */
  tickIdleMs: 1000,
} as const;

/** `UnitWriter` (unit-writer.ts): retry delay, doubling from the first to the most. */
export const UNIT_WRITER_DEFAULTS = {
  retryInitialMs: 100,
  retryMaxMs: 5000,
  /** Most time `stop()` without a deadline waits for the units being written. */
  shutdownTimeoutMs: 10_000,
} as const;

/** `EnginePool` (pool.ts). */
export const ENGINE_POOL_DEFAULTS = {
  /** Worker threads: one per core. */
  workers: availableParallelism(),
  /** Build flow records; false for callers that only count flows. */
  flowRecords: true,
} as const;

/** `DetectStage` (detect-stage.ts). */
export const DETECT_STAGE_DEFAULTS = {
  /** Wall-clock silence after which a partition's capture time follows the clock (closes quiet alerts). */
  idleAdvanceMs: 5000,
} as const;

/** `AlertForwarder` (alert-forwarder.ts). */
export const ALERT_FORWARDER_DEFAULTS = {
  /** Longest wait for one batch's alerts (retries included) before it is committed anyway: they are kept. */
  batchDeadlineMs: 10 * 60_000,
  /** Most time `stop()` without a deadline takes. */
  shutdownTimeoutMs: 10_000,
} as const;
