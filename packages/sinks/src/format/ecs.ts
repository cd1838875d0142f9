/**
 * The alert as an ECS (Elastic Common Schema) document: what the Kafka, webhook, file and syslog (json)
 * sinks deliver. ECS names wherever ECS has one; the rest under `rstwatch.*`. `ECS_FIELDS` is the mapping
 * as data (docs are generated from it and a test checks it against `toEcs`' output):
 *
 * | alert field        | ECS field                     | notes                                              |
 * |--------------------|-------------------------------|----------------------------------------------------|
 * | updated            | @timestamp                    | capture time of this version                       |
 * | -                  | ecs.version                   | `ECS_VERSION`                                      |
 * | -                  | event.kind                    | `alert`                                            |
 * | -                  | event.category                | `["network", "intrusion_detection"]`               |
 * | status, version    | event.type                    | `["start"]` v1 open, `["info"]` update, `["end"]`  |
 * | -                  | event.module / event.dataset  | `rstwatch` / `rstwatch.alerts`                     |
 * | id                 | event.id                      | stable per episode                                 |
 * | version            | event.sequence                | latest wins                                        |
 * | severity_score     | event.severity                | 21 / 47 / 73 / 99                                  |
 * | first_seen         | event.start                   |                                                    |
 * | last_seen          | event.end                     |                                                    |
 * | summary            | message                       |                                                    |
 * | rule               | rule.id, rule.name            | rule.description from `RULE_DESCRIPTIONS`          |
 * | -                  | rule.ruleset                  | `rstwatch`                                         |
 * | source_ips         | source.ip                     | the first; all of them in related.ip               |
 * | destination_ip     | destination.ip                |                                                    |
 * | destination_port   | destination.port              | omitted when 0 (several ports)                     |
 * | community_ids      | network.community_id          | array (a sample)                                   |
 * | -                  | network.transport             | `tcp`                                              |
 * | destination_ip     | network.type                  | `ipv4` / `ipv6`                                    |
 * | sensors            | observer.name                 | the first sensor, unless the caller names one      |
 * | -                  | observer.hostname             | given by the caller (the host running rstwatch)    |
 * | -                  | observer.type/vendor/product  | `sensor` / `rstwatch` / `rstwatch`                 |
 * | all addresses      | related.ip                    | sources, destination, entity host; unique          |
 * | rule, entity_kind  | labels                        | `labels.rule`, `labels.entity_kind` (+ caller's)   |
 * | severity           | rstwatch.severity             | the word, beside event.severity                    |
 * | status, count, entity, entity_kind, sensors, evidence, details | rstwatch.* | same names                    |
 */
import {
  ALERT_RULES,
  type Alert,
  type AlertRule,
  type EntityKind,
  SEVERITIES,
  SEVERITY_NUMBER,
  type Severity,
} from '@rstwatch/detect';

/** The ECS version the documents follow. */
export const ECS_VERSION = '8.11.0';

/** One line per rule, for `rule.description`. */
export const RULE_DESCRIPTIONS: Readonly<Record<AlertRule, string>> = Object.freeze({
  reset_attack: 'Forged TCP resets aimed at one victim (reset injection attack).',
  port_scan: 'One source probing many ports or hosts, seen through the resets it provokes or sends.',
  middlebox_tampering: 'Resets injected by an on-path device (firewall, censor, proxy) on one service.',
  backlog_overflow_storm: 'A server:port resetting completed handshakes: its accept queue overflows.',
  rst_rate_anomaly: 'The reset rate of a service and cause far above its learned baseline.',
  idle_timeout_fingerprint: 'Many resets after the same idle time on one service: a middlebox idle timer.',
});

export interface EcsField {
  /** The Alert field(s) it comes from, or `-` for a constant / caller-supplied value. */
  field: string;
  /** Dotted ECS (or `rstwatch.*`) path in the document. */
  ecs: string;
  meaning: string;
}

/** The mapping `toEcs` implements, as data: one row per leaf of the document. */
export const ECS_FIELDS: readonly EcsField[] = Object.freeze([
  {
    field: 'updated',
    ecs: '@timestamp',
    meaning: 'Capture time of this version of the alert (RFC 3339, UTC).',
  },
  { field: '-', ecs: 'ecs.version', meaning: 'ECS version the document follows.' },
  { field: '-', ecs: 'event.kind', meaning: 'Always `alert`.' },
  { field: '-', ecs: 'event.category', meaning: 'Always `["network", "intrusion_detection"]`.' },
  {
    field: 'status, version',
    ecs: 'event.type',
    meaning: '`["start"]` when raised (version 1), `["info"]` on an update, `["end"]` once closed.',
  },
  { field: '-', ecs: 'event.module', meaning: 'Always `rstwatch`.' },
  { field: '-', ecs: 'event.dataset', meaning: 'Always `rstwatch.alerts`.' },
  { field: 'id', ecs: 'event.id', meaning: 'Stable alert id; the same for every version of one episode.' },
  { field: 'version', ecs: 'event.sequence', meaning: 'Alert version (1, 2, ...); the highest is current.' },
  {
    field: 'severity_score',
    ecs: 'event.severity',
    meaning: 'Numeric severity: 21 low, 47 medium, 73 high, 99 critical.',
  },
  { field: 'first_seen', ecs: 'event.start', meaning: 'Capture time of the first contributing RST.' },
  { field: 'last_seen', ecs: 'event.end', meaning: 'Capture time of the last contributing RST.' },
  { field: 'summary', ecs: 'message', meaning: 'One line for people.' },
  { field: 'rule', ecs: 'rule.id', meaning: 'Detector rule that raised the alert.' },
  { field: 'rule', ecs: 'rule.name', meaning: 'Detector rule that raised the alert.' },
  { field: 'rule', ecs: 'rule.description', meaning: 'What the rule detects (RULE_DESCRIPTIONS).' },
  { field: '-', ecs: 'rule.ruleset', meaning: 'Always `rstwatch`.' },
  {
    field: 'source_ips',
    ecs: 'source.ip',
    meaning: 'First source address (all sources are in `related.ip`); omitted when none.',
  },
  { field: 'destination_ip', ecs: 'destination.ip', meaning: 'Host the alert is about.' },
  {
    field: 'destination_port',
    ecs: 'destination.port',
    meaning: 'Port the alert is about; omitted when 0 (several ports).',
  },
  {
    field: 'community_ids',
    ecs: 'network.community_id',
    meaning: 'Community IDs of contributing flows (a sample).',
  },
  { field: '-', ecs: 'network.transport', meaning: 'Always `tcp`.' },
  { field: 'destination_ip', ecs: 'network.type', meaning: '`ipv4` or `ipv6`.' },
  {
    field: 'sensors',
    ecs: 'observer.name',
    meaning: 'The observer name given by the caller, else the first sensor.',
  },
  {
    field: '-',
    ecs: 'observer.hostname',
    meaning: 'Host that ran the detector (given by the caller; omitted otherwise).',
  },
  { field: '-', ecs: 'observer.type', meaning: 'Always `sensor`.' },
  { field: '-', ecs: 'observer.vendor', meaning: 'Always `rstwatch`.' },
  { field: '-', ecs: 'observer.product', meaning: 'Always `rstwatch`.' },
  {
    field: 'source_ips, destination_ip, entity',
    ecs: 'related.ip',
    meaning: 'Every address in the alert, unique, in order: sources, destination, entity host.',
  },
  { field: 'rule', ecs: 'labels.rule', meaning: 'Rule, as a keyword label (callers may add labels).' },
  { field: 'entity_kind', ecs: 'labels.entity_kind', meaning: 'Entity kind, as a keyword label.' },
  { field: 'severity', ecs: 'rstwatch.severity', meaning: 'Severity word: low, medium, high, critical.' },
  { field: 'status', ecs: 'rstwatch.status', meaning: '`open` or `closed`.' },
  { field: 'count', ecs: 'rstwatch.count', meaning: 'RST events that contributed, in total.' },
  { field: 'entity', ecs: 'rstwatch.entity', meaning: 'The entity: an IP, or `ip:port` for a service.' },
  { field: 'entity_kind', ecs: 'rstwatch.entity_kind', meaning: '`victim`, `scanner` or `service`.' },
  {
    field: 'source_ips',
    ecs: 'rstwatch.source_ips',
    meaning: 'Every sampled source address, sorted (`source.ip` holds only the first).',
  },
  {
    field: 'sensors',
    ecs: 'rstwatch.sensors',
    meaning: 'Every sensor that saw contributing events, sorted.',
  },
  { field: 'evidence', ecs: 'rstwatch.evidence', meaning: 'Machine-readable reasons, e.g. `rsts=42`.' },
  {
    field: 'details',
    ecs: 'rstwatch.details',
    meaning: 'Rule-specific figures (an object; keys depend on the rule).',
  },
] satisfies EcsField[]);

export interface EcsOptions {
  /** `observer.name`; default the alert's first sensor. */
  name?: string;
  /** `observer.hostname`: the host that runs the detector. */
  hostname?: string;
  /** Extra `labels` (keyword values). */
  labels?: Record<string, string>;
}

/** Host part of an entity (`ip` or `ip:port`, IPv6 as `[ip]:port` or bare). */
export function entityHost(entity: string): string {
  if (entity.startsWith('[')) return entity.slice(1, entity.indexOf(']'));
  const colons = entity.split(':').length - 1;
  if (colons === 1) return entity.slice(0, entity.indexOf(':'));
  return entity; // an IPv4 or a bare IPv6 address
}

/** The ECS JSON document for `alert` (a plain object; `JSON.stringify` it). Pure. */
export function toEcs(alert: Alert, observer: EcsOptions = {}): Record<string, unknown> {
  const related: string[] = [];
  for (const ip of [...alert.source_ips, alert.destination_ip, entityHost(alert.entity)]) {
    if (ip !== '' && !related.includes(ip)) related.push(ip);
  }
  const type = alert.status === 'closed' ? 'end' : alert.version === 1 ? 'start' : 'info';
  const obs: Record<string, unknown> = {};
  const obsName = observer.name ?? alert.sensors[0];
  if (obsName !== undefined) obs.name = obsName;
  if (observer.hostname !== undefined) obs.hostname = observer.hostname;
  obs.type = 'sensor';
  obs.vendor = 'rstwatch';
  obs.product = 'rstwatch';
  const doc: Record<string, unknown> = {
    '@timestamp': alert.updated,
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'alert',
      category: ['network', 'intrusion_detection'],
      type: [type],
      module: 'rstwatch',
      dataset: 'rstwatch.alerts',
      id: alert.id,
      sequence: alert.version,
      severity: alert.severity_score,
      start: alert.first_seen,
      end: alert.last_seen,
    },
    message: alert.summary,
    rule: {
      id: alert.rule,
      name: alert.rule,
      description: RULE_DESCRIPTIONS[alert.rule] ?? alert.rule,
      ruleset: 'rstwatch',
    },
  };
  if (alert.source_ips.length > 0) doc.source = { ip: alert.source_ips[0] };
  doc.destination =
    alert.destination_port > 0
      ? { ip: alert.destination_ip, port: alert.destination_port }
      : { ip: alert.destination_ip };
  doc.network = {
    community_id: [...alert.community_ids],
    transport: 'tcp',
    type: alert.destination_ip.includes(':') ? 'ipv6' : 'ipv4',
  };
  doc.observer = obs;
  doc.related = { ip: related };
  doc.labels = { rule: alert.rule, entity_kind: alert.entity_kind, ...observer.labels };
  doc.rstwatch = {
    severity: alert.severity,
    status: alert.status,
    count: alert.count,
    entity: alert.entity,
    entity_kind: alert.entity_kind,
    source_ips: [...alert.source_ips],
    sensors: [...alert.sensors],
    evidence: [...alert.evidence],
    details: structuredClone(alert.details),
  };
  return doc;
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrs = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

/**
 * The Alert behind a document of {@link toEcs} (the Kafka alerts topic), or null when the document is not
 * one (the caller counts it). Fields `toEcs` leaves out when empty come back empty.
 */
export function fromEcs(doc: unknown): Alert | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, Record<string, unknown> | undefined> & {
    '@timestamp'?: unknown;
    message?: unknown;
  };
  const ev = d.event;
  const rs = d.rstwatch;
  const rule = d.rule?.id;
  if (!ev || !rs || ev.kind !== 'alert' || !isStr(ev.id) || typeof ev.sequence !== 'number') return null;
  if (!isStr(rule) || !(ALERT_RULES as readonly string[]).includes(rule)) return null;
  const sev = rs.severity;
  if (!isStr(sev) || !(SEVERITIES as readonly string[]).includes(sev)) return null;
  if (!isStr(d['@timestamp']) || !isStr(ev.start) || !isStr(ev.end) || !isStr(d.message)) return null;
  if (!isStr(rs.entity) || !isStr(rs.entity_kind) || typeof rs.count !== 'number') return null;
  if (rs.status !== 'open' && rs.status !== 'closed') return null;
  const community = d.network?.community_id;
  return {
    id: ev.id,
    version: ev.sequence,
    rule: rule as AlertRule,
    status: rs.status,
    severity: sev as Severity,
    severity_score: typeof ev.severity === 'number' ? ev.severity : SEVERITY_NUMBER[sev as Severity],
    summary: d.message,
    first_seen: ev.start,
    last_seen: ev.end,
    updated: d['@timestamp'],
    count: rs.count,
    entity_kind: rs.entity_kind as EntityKind,
    entity: rs.entity,
    source_ips: isStrs(rs.source_ips) ? [...rs.source_ips] : [],
    destination_ip: isStr(d.destination?.ip) ? d.destination.ip : '',
    destination_port: typeof d.destination?.port === 'number' ? d.destination.port : 0,
    sensors: isStrs(rs.sensors) ? [...rs.sensors] : [],
    community_ids: isStrs(community) ? [...community] : [],
    evidence: isStrs(rs.evidence) ? [...rs.evidence] : [],
    details:
      typeof rs.details === 'object' && rs.details !== null
        ? (structuredClone(rs.details) as Alert['details'])
        : {},
  };
}
