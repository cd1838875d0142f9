/** Mapping between the contract objects (`RstEvent`, `FlowRecord`) and table rows, both ways. */
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import { RST_EVENT_FIELDS } from '@rstwatch/core';
import type { SensorStatsRow } from './schema.js';
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
].join(', ');

export function sensorStatsToRow(
  s: SensorStatsRow,
  token?: string,
): SensorStatsRow & { ingest_token?: string } {
  return token === undefined ? s : { ...s, ingest_token: token };
}
