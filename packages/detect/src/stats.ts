/** Counters of the detection engine: plain numbers, read by the services' metrics. */
import { ALERT_RULES, type AlertRule } from './alert.js';

export interface RuleStats {
  /** Alerts raised (version 1 emitted). */
  raised: number;
  /** Update versions emitted (neither the first nor the closing one). */
  updated: number;
  /** Closing versions emitted. */
  closed: number;
  /** Alerts that matched a suppression rule and were not raised. */
  suppressed: number;
  /** Entities whose state was dropped to stay within `alerts.maxEntities`. */
  evicted: number;
}

export interface DetectionStats {
  /** Events accepted (after the duplicate check). */
  events: number;
  /** Events dropped because they were malformed (bad time, missing addresses ...). */
  badEvents: number;
  /** Exact duplicates of a recent event (a processor republishing after a crash), dropped. */
  duplicates: number;
  /** Entities evicted, all detectors. */
  evicted: number;
  /** Alert-event links dropped because `takeLinks()` was not called often enough. */
  linksDropped: number;
  rules: Record<AlertRule, RuleStats>;
}

export function newStats(): DetectionStats {
  const rules = {} as Record<AlertRule, RuleStats>;
  for (const r of ALERT_RULES) rules[r] = { raised: 0, updated: 0, closed: 0, suppressed: 0, evicted: 0 };
  return { events: 0, badEvents: 0, duplicates: 0, evicted: 0, linksDropped: 0, rules };
}
