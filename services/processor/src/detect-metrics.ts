/** Prometheus metrics of the detectors and alert delivery (rstwatch_alerts_*, rstwatch_detect_*). */
import type { Config } from '@rstwatch/config';
import { ALERT_RULES, type DetectionStats } from '@rstwatch/detect';
import type { Delivery } from '@rstwatch/sinks';
import type { Metrics } from '@rstwatch/telemetry';

export interface DetectMetricsSource {
  /** Detection counters, cumulative over every partition this process has held. */
  stats(): DetectionStats;
  /** Events consumed per entity kind (the detection stage; empty in process). */
  eventsByKind?(): Record<string, number>;
  /** Events-topic messages that were not RST events (skipped and logged). */
  badMessages?(): number;
}

export function exposeDetectMetrics(
  m: Metrics,
  config: Config,
  src: DetectMetricsSource,
  delivery: Delivery,
): void {
  m.followCounter(
    'alerts_total',
    'Alerts raised (first versions), by rule and severity.',
    ['rule', 'severity'],
    () =>
      ALERT_RULES.map(
        (rule) => [{ rule, severity: config.alerts[rule].severity }, src.stats().rules[rule].raised] as const,
      ),
  );
  m.gauge('alerts_open', 'Alerts raised and not closed yet, by rule.', ['rule'], (g) => {
    const s = src.stats();
    for (const rule of ALERT_RULES) g.set({ rule }, s.rules[rule].raised - s.rules[rule].closed);
  });
  m.followCounter(
    'alerts_suppressed_total',
    'Alerts not raised because a suppression rule matched.',
    ['rule'],
    () => ALERT_RULES.map((rule) => [{ rule }, src.stats().rules[rule].suppressed] as const),
  );
  m.followCounter(
    'detect_entities_evicted_total',
    'Entities dropped to stay within alerts.maxEntities.',
    ['rule'],
    () => ALERT_RULES.map((rule) => [{ rule }, src.stats().rules[rule].evicted] as const),
  );
  m.followCounter(
    'detect_duplicate_events_total',
    'RST events dropped as repeats of a recent one.',
    [],
    () => [[{}, src.stats().duplicates]],
  );
  m.followCounter('detect_events_total', 'RST events read by the detectors, by entity kind.', ['kind'], () =>
    Object.entries(src.eventsByKind?.() ?? { all: src.stats().events }).map(
      ([kind, v]) => [{ kind }, v] as const,
    ),
  );
  m.followCounter(
    'detect_bad_messages_total',
    'Events-topic messages that were not RST events (skipped, logged with their offset).',
    [],
    () => [[{}, (src.badMessages?.() ?? 0) + src.stats().badEvents]],
  );
  const sinks = (f: (s: Delivery['stats'][string]) => number) => () =>
    Object.entries(delivery.stats).map(([sink, s]) => [{ sink }, f(s)] as const);
  m.followCounter(
    'alert_deliveries_total',
    'Alert versions delivered, by sink.',
    ['sink'],
    sinks((s) => s.delivered),
  );
  m.followCounter(
    'alert_delivery_retries_total',
    'Failed delivery attempts that were retried, by sink.',
    ['sink'],
    sinks((s) => s.retries),
  );
  m.followCounter(
    'alerts_undelivered_total',
    'Alert versions a sink could not take (kept in the undelivered file), by sink.',
    ['sink'],
    sinks((s) => s.failed),
  );
}
