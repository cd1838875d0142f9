/**
 * The alert contract: what a detector raises, what every sink delivers and what the ClickHouse `alerts`
 * table keeps. Field names are rstwatch's own (snake_case, like the RST event); `toEcs()` (sinks) maps
 * them to ECS names. docs/alerts.md documents every field.
 *
 * An alert is one *episode* of one rule on one entity: it opens when the rule's condition holds, is
 * updated (same `id`, `version` + 1) while more evidence arrives, and closes after `alerts.quietS` of
 * capture time without any. Ids are derived from the input (rule, entity, first contributing event), never
 * from a clock or a counter, so a replay of the same events yields the same ids and versions and a sink
 * that keeps the latest version per id (the `alerts` table, a SIEM keyed on `event.id`) is idempotent.
 */

export const ALERT_RULES = [
  'reset_attack',
  'port_scan',
  'middlebox_tampering',
  'backlog_overflow_storm',
  'rst_rate_anomaly',
  'idle_timeout_fingerprint',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/**
 * What a rule counts by. Events reach the detection stage keyed by these (one Kafka message per kind an
 * event is relevant to), so every event of one entity meets in one detection partition.
 * - `victim`: the host that received forged resets (the RST's `dst_ip`).
 * - `scanner`: the probing host (the RST's sender for syn/connect scans, its receiver for `closed_port`).
 * - `service`: the server side of the connection, `ip:port` (rates, backlog storms, idle timers, tampering).
 */
export const ENTITY_KINDS = ['victim', 'scanner', 'service'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** ECS `event.severity` for each word (the numbers Elastic's detection rules use). */
export const SEVERITY_NUMBER: Readonly<Record<Severity, number>> = Object.freeze({
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
});

export type AlertStatus = 'open' | 'closed';

export interface Alert {
  /** Stable id: hex of sha256(rule, entity, time of the first contributing event), 32 characters. */
  id: string;
  /** 1 when raised; +1 on each update (more events, closing). The latest version wins. */
  version: number;
  rule: AlertRule;
  status: AlertStatus;
  severity: Severity;
  /** ECS `event.severity` (SEVERITY_NUMBER[severity]). */
  severity_score: number;
  /** One line for people, e.g. "42 forged RSTs aimed at 198.18.0.2:443 from 3 peers within 60 s". */
  summary: string;
  /** Capture time of the first and the last contributing event, RFC 3339 with microseconds, UTC. */
  first_seen: string;
  last_seen: string;
  /** Capture time of this version: `last_seen` while open, the closing time once closed. */
  updated: string;
  /** RST events that contributed, in total. */
  count: number;
  entity_kind: EntityKind;
  /** The entity the alert is about: an IP for `victim`/`scanner`, `ip:port` for `service`. */
  entity: string;
  /** Sources involved (senders of the RSTs, or the scanner), at most `alerts.sampleSize`, sorted. */
  source_ips: string[];
  /** The destination host and port the alert is about (port 0 when several). */
  destination_ip: string;
  destination_port: number;
  /** Sensors that saw contributing events, sorted. */
  sensors: string[];
  /** Community IDs of contributing flows, first `alerts.sampleSize` seen. */
  community_ids: string[];
  /** Machine-readable reasons, e.g. `rsts=42`, `window_s=60`, `seq_in_window_not_exact=40`. */
  evidence: string[];
  /** Rule-specific figures (ports and hosts touched, scan type, learned idle duration, baseline ...). */
  details: Record<string, string | number | boolean | string[] | number[]>;
}

/** Alerts are written here (a sink, the table output, a test) as they are raised, updated and closed. */
export type AlertListener = (alert: Alert) => void;
