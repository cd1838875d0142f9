/**
 * Options of the detection engine and the fixed limits it works under. Thresholds come from the
 * `alerts` section of the configuration (documented in the schema); the constants below are not
 * configurable because they only bound memory or absorb transport jitter.
 */
import type { Config } from '@rstwatch/config';
import type { AlertListener, EntityKind } from './alert.js';

export type AlertsConfig = Config['alerts'];
export type ClassifierThresholds = Pick<
  Config['classifier'],
  'scanWindowS' | 'scanMinPorts' | 'burstMinRsts'
>;

export interface DetectionOptions {
  config: AlertsConfig;
  classifier: ClassifierThresholds;
  /** Entity kinds this instance handles (the detection stage runs one per kind); default all. */
  kinds?: readonly EntityKind[];
  /** Called synchronously with each new alert version. */
  onAlert: AlertListener;
}

/** Microseconds per second. */
export const S = 1_000_000;
/** Events may arrive this late (capture time) from different processors; closing waits for it. */
export const LATENESS_US = 5 * S;
/** Updates that neither double the count nor add a source are emitted at most this often. */
export const UPDATE_EVERY_US = 10 * S;
/** Open alerts are checked for quiet (and pending updates flushed) this often, in capture time. */
export const SWEEP_EVERY_US = 1 * S;
/** Duplicate events are recognised within this much capture time ... */
export const DEDUPE_WINDOW_US = 120 * S;
/** ... and among at most this many recent events. */
export const DEDUPE_MAX = 65_536;
/** Alert-event links kept between two `takeLinks()` calls; beyond it they are dropped and counted. */
export const MAX_LINKS = 100_000;
/** Hits of an armed episode kept for its links until it is raised. */
export const MAX_HELD = 10_000;
/** Distinct sources, peers and ports counted per alert (the samples are `sampleSize`). */
export const MAX_DISTINCT = 4096;
/** Values kept per histogram in an alert (TTL deltas, IP ID gaps, signatures, causes). */
export const MAX_HISTOGRAM = 64;
/** Sensors listed per alert. */
export const MAX_SENSORS = 64;
