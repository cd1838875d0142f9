/** Mapping between the contract objects (`RstEvent`, `FlowRecord`, `Alert`) and table rows, both ways. */
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import { RST_EVENT_FIELDS } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import type { AlertLink, SensorStatsRow } from './schema.js';
import { ipText } from './schema.js';

/** Zeek's dotted conn.log names and the `flows` columns they are stored in. */
export const FLOW_COLUMN_OF = {
  'id.orig_h': 'orig_h',
  'id.orig_p': 'orig_p',
  'id.resp_h': 'resp_h',
  'id.resp_p': 'resp_p',
} as const;

export type FlowRow = Omit<FlowRecord, keyof typeof FLOW_COLUMN_OF> & {
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  ingest_token?: string;
};

export function flowToRow(f: FlowRecord, token?: string): FlowRow {
  const { 'id.orig_h': orig_h, 'id.orig_p': orig_p, 'id.resp_h': resp_h, 'id.resp_p': resp_p, ...rest } = f;
  return { ...rest, orig_h, orig_p, resp_h, resp_p, ...(token !== undefined ? { ingest_token: token } : {}) };
}

export function eventToRow(e: RstEvent, token?: string): RstEvent & { ingest_token?: string } {
  return token === undefined ? e : { ...e, ingest_token: token };
}

const TS_ISO = (col: string) => `formatDateTime(${col}, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')`;

/** SELECT list that reads `rst_events` rows back as {@link RstEvent} objects (same text forms). */
export const EVENT_SELECT = RST_EVENT_FIELDS.map((f) => {
  if (f === 'ts') return `${TS_ISO('ts')} AS ts`;
  if (f === 'src_ip' || f === 'dst_ip') return `${ipText(f)} AS ${f}`;
  return f;
}).join(', ');

/** SELECT list that reads `flows` rows back as {@link FlowRecord} objects (Zeek dotted names). */
export const FLOW_SELECT = [
  `${TS_ISO('ts')} AS ts`,
  'uid',
  `${ipText('orig_h')} AS \`id.orig_h\``,
  'orig_p AS `id.orig_p`',
  `${ipText('resp_h')} AS \`id.resp_h\``,
  'resp_p AS `id.resp_p`',
  'proto',
  'duration',
  'orig_bytes',
  'resp_bytes',
  'conn_state',
  'history',
  'orig_pkts',
  'orig_ip_bytes',
  'resp_pkts',
  'resp_ip_bytes',
  'community_id',
  'sensor',
  'rst_count',
  'rst_cause',
  'rst_origin',
  'tunnel',
  'duplicates',
  'reordered',
  'late',
  'one_sided',
].join(', ');

export function sensorStatsToRow(
  s: SensorStatsRow,
  token?: string,
): SensorStatsRow & { ingest_token?: string } {
  return token === undefined ? s : { ...s, ingest_token: token };
}

/** An `alerts` row: the Alert with `details` as JSON text. */
export type AlertRow = Omit<Alert, 'details'> & { details: string; ingest_token?: string };

export function alertToRow(a: Alert, token?: string): AlertRow {
  const row: AlertRow = { ...a, details: JSON.stringify(a.details) };
  if (token !== undefined) row.ingest_token = token;
  return row;
}

export function alertLinkToRow(l: AlertLink, token?: string): AlertLink & { ingest_token?: string } {
  return token === undefined ? l : { ...l, ingest_token: token };
}

const ALERT_FIELDS = [
  'id',
  'version',
  'rule',
  'status',
  'severity',
  'severity_score',
  'summary',
  'first_seen',
  'last_seen',
  'updated',
  'count',
  'entity_kind',
  'entity',
  'source_ips',
  'destination_ip',
  'destination_port',
  'sensors',
  'community_ids',
  'evidence',
  'details',
] as const satisfies readonly (keyof Alert)[];

/**
 * SELECT list that reads `alerts` rows back as {@link AlertRow}s (timestamps in the contract's text form);
 * {@link rowToAlert} parses `details`. Add `FINAL` after the table to get the latest version per id only.
 */
export const ALERT_SELECT = ALERT_FIELDS.map((f) =>
  f === 'first_seen' || f === 'last_seen' || f === 'updated' ? `${TS_ISO(f)} AS ${f}` : f,
).join(', ');

/** An `alerts` row read with {@link ALERT_SELECT}, back to the Alert contract. */
export function rowToAlert(row: AlertRow): Alert {
  const { ingest_token: _, details, ...rest } = row;
  return { ...rest, details: details === '' ? {} : (JSON.parse(details) as Alert['details']) };
}

/** SELECT list that reads `alert_events` rows back as {@link AlertLink}s. */
export const ALERT_LINK_SELECT = [
  'alert_id',
  'rule',
  `${TS_ISO('ts')} AS ts`,
  'community_id',
  'sensor',
  `${ipText('src_ip')} AS src_ip`,
  'src_port',
  `${ipText('dst_ip')} AS dst_ip`,
  'dst_port',
].join(', ');
