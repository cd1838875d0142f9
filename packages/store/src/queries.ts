/**
 * Named SQL queries behind `rstwatch query NAME`. Each has a description, SQL with ClickHouse
 * `{name:Type}` parameters (bound server-side, never spliced) and defaults. `{db}` is replaced by
 * the quoted database name. Rollup tables answer the fleet-wide questions; `rst_events` answers
 * the ones that need per-packet detail.
 */
import { ident, type StoreClient } from './client.js';
import { ipText } from './schema.js';

export interface QueryParam {
  /** ClickHouse type of the `{name:Type}` placeholder. */
  type: 'UInt32' | 'Float64' | 'String';
  default: number | string;
  description: string;
}

export interface NamedQuery {
  name: string;
  description: string;
  sql: string;
  params: Record<string, QueryParam>;
  /** The table (and its time column) the window applies to: where `dataRange` looks when no row matched. */
  window?: { table: string; column: string };
}

const hours: QueryParam = {
  type: 'UInt32',
  default: 24,
  description: 'Look back this many hours from now (when `since` is 0).',
};
const since: QueryParam = {
  type: 'UInt32',
  default: 0,
  description: 'Window start, Unix seconds (`rstwatch query --since`); 0: `hours` before now.',
};
const until: QueryParam = {
  type: 'UInt32',
  default: 0,
  description: 'Window end (exclusive), Unix seconds (`rstwatch query --until`); 0: no end.',
};
const limit: QueryParam = { type: 'UInt32', default: 20, description: 'Maximum rows.' };
/** The time window every windowed query takes: `hours` back from now, or `since`..`until`. */
const windowParams = { hours, since, until };

/**
 * Start of the window: `since` when set, else `hours` before now, clamped at 1970 (`now() - INTERVAL h
 * HOUR` on a DateTime wraps around below 1970, so a large `hours`, "everything", would match nothing).
 */
export const WINDOW_START =
  'toDateTime(if({since:UInt32} > 0, toInt64({since:UInt32}), greatest(toInt64(toUnixTimestamp(now())) - 3600 * toInt64({hours:UInt32}), 0)))';
/** End of the window (exclusive): `until` when set, else the largest DateTime. */
export const WINDOW_END = 'toDateTime(if({until:UInt32} > 0, {until:UInt32}, 4294967295))';
/** `col` within the window (gen-dashboard.mjs turns this exact text into `$__timeFilter(col)`). */
export const inWindow = (col = 'ts') => `${col} >= ${WINDOW_START} AND ${col} < ${WINDOW_END}`;

/** Counters of `sensor_stats` turned into per-window deltas (restart-aware) by `sensor-health`. */
const HEALTH_COUNTERS = ['packets', 'tcp_headers', 'kernel_drops', 'send_failures'] as const;

const delta = (c: string) =>
  `sum(toUInt64(if(rn = 1, 0, if(uptime_ms < p_uptime, toInt64(${c}), greatest(toInt64(${c}) - toInt64(p_${c}), 0))))) AS ${c}`;

export const QUERIES: readonly NamedQuery[] = [
  {
    name: 'top-causes',
    window: { table: 'rst_rollup_1m', column: 'ts' },
    description:
      'RST causes ranked by event count, with distinct senders and clients (from the 1-minute rollup).',
    params: { ...windowParams, limit },
    sql: `SELECT cause, sum(events) AS events, round(100 * events / sum(events) OVER (), 1) AS pct,
  uniqMerge(senders) AS senders, uniqMerge(clients) AS clients
FROM {db}.rst_rollup_1m
WHERE ${inWindow()}
GROUP BY cause
ORDER BY events DESC, cause
LIMIT {limit:UInt32}`,
  },
  {
    name: 'resets-by-origin',
    window: { table: 'rst_rollup_1m', column: 'ts' },
    description:
      'Who sent the RSTs (endpoint, middlebox, spoofed, unknown), split by cause (1-minute rollup).',
    params: { ...windowParams, limit },
    sql: `SELECT origin, cause, sum(events) AS events, uniqMerge(senders) AS senders
FROM {db}.rst_rollup_1m
WHERE ${inWindow()}
GROUP BY origin, cause
ORDER BY events DESC, origin, cause
LIMIT {limit:UInt32}`,
  },
  {
    name: 'top-reset-senders',
    window: { table: 'rst_events', column: 'ts' },
    description: 'Hosts that sent the most RSTs, with how many hosts received them and their main causes.',
    params: { ...windowParams, limit },
    sql: `SELECT ${ipText('src_ip')} AS sender, count() AS events, uniq(dst_ip) AS receivers,
  topK(3)(cause) AS top_causes, topK(3)(origin) AS top_origins
FROM {db}.rst_events
WHERE ${inWindow()}
GROUP BY src_ip
ORDER BY events DESC, sender
LIMIT {limit:UInt32}`,
  },
  {
    name: 'suspected-attacks',
    window: { table: 'rst_events', column: 'ts' },
    description: 'Victims of forged RSTs: cause reset_attack or origin spoofed, by receiving host and port.',
    params: { ...windowParams, limit },
    sql: `SELECT ${ipText('dst_ip')} AS victim, dst_port, count() AS events, uniq(src_ip) AS claimed_senders,
  uniq(community_id) AS connections, countIf(in_window = false) AS out_of_window,
  min(ts) AS first_seen, max(ts) AS last_seen,
  arraySlice(arraySort((k, n) -> (-toInt64(n), k), (sumMap(evidence, arrayMap(x -> toUInt64(1), evidence)) AS ev).1, ev.2), 1, 5) AS top_evidence
FROM {db}.rst_events
WHERE ${inWindow()} AND (cause = 'reset_attack' OR origin = 'spoofed')
GROUP BY dst_ip, dst_port
ORDER BY events DESC, victim, dst_port
LIMIT {limit:UInt32}`,
  },
  {
    name: 'injected-resets',
    window: { table: 'rst_events', column: 'ts' },
    description:
      'RSTs injected by on-path devices (cause injected_reset), by tampering signature and the server side.',
    params: { ...windowParams, limit },
    sql: `SELECT signature, ${ipText("if(direction = 'resp', dst_ip, src_ip)")} AS client_side,
  ${ipText("if(direction = 'resp', src_ip, dst_ip)")} AS server_side,
  if(direction = 'resp', src_port, dst_port) AS server_port,
  count() AS events, uniq(community_id) AS connections,
  any(payload_preview) AS example_payload, groupUniqArrayArray(6)(evidence) AS evidence
FROM {db}.rst_events
WHERE ${inWindow()} AND cause = 'injected_reset'
GROUP BY signature, client_side, server_side, server_port
ORDER BY events DESC, signature, server_side
LIMIT {limit:UInt32}`,
  },
  {
    name: 'scanners',
    window: { table: 'rst_by_source_1h', column: 'ts' },
    description:
      'Connection originators touching many ports or hosts with RSTs in return (hourly by-source rollup).',
    params: {
      ...windowParams,
      limit,
      min_ports: {
        type: 'UInt32',
        default: 20,
        description: 'Report sources with at least this many distinct ports...',
      },
      min_hosts: { type: 'UInt32', default: 50, description: '...or at least this many distinct hosts.' },
    },
    sql: `SELECT ${ipText('orig_ip')} AS source, sum(events) AS events, sum(scan_events) AS scan_events,
  sum(rejected_events) AS rejected_events, uniqMerge(dst_ports) AS distinct_ports, uniqMerge(dst_hosts) AS distinct_hosts,
  groupUniqArray(sensor) AS sensors
FROM {db}.rst_by_source_1h
WHERE ts >= toStartOfHour(${WINDOW_START}) AND ts < ${WINDOW_END}
GROUP BY orig_ip
HAVING distinct_ports >= {min_ports:UInt32} OR distinct_hosts >= {min_hosts:UInt32}
ORDER BY distinct_ports DESC, distinct_hosts DESC, source
LIMIT {limit:UInt32}`,
  },
  {
    name: 'service-rejects',
    window: { table: 'rst_rollup_1m', column: 'ts' },
    description:
      'Services refusing connections (closed_port, firewall_reject, backlog_overflow) by ip:port and cause.',
    params: { ...windowParams, limit },
    sql: `SELECT ${ipText('service_ip')} AS service, service_port, cause, origin, sum(events) AS events,
  uniqMerge(clients) AS clients
FROM {db}.rst_rollup_1m
WHERE ${inWindow()} AND cause IN ('closed_port', 'firewall_reject', 'backlog_overflow')
GROUP BY service_ip, service_port, cause, origin
ORDER BY events DESC, service, service_port, cause
LIMIT {limit:UInt32}`,
  },
  {
    name: 'sensor-health',
    window: { table: 'sensor_stats', column: 'ts' },
    description:
      "Per sensor over the window: heartbeats, last seen, packets, kernel drops and their share, parse errors, agent drops, send failures, restarts; and for the agent's current run, batches sent, received, dropped by the agent and lost on the way.",
    params: { ...windowParams, limit },
    sql: `WITH beats AS (
  SELECT sensor, ts, uptime_ms, parse_errors, agent_drops, agent_batch_drops, agent_version, batches, last_batch_seq,
    ${HEALTH_COUNTERS.join(', ')},
    row_number() OVER w AS rn, lagInFrame(uptime_ms) OVER w AS p_uptime,
    ${HEALTH_COUNTERS.map((c) => `lagInFrame(${c}) OVER w AS p_${c}`).join(', ')}
  FROM {db}.sensor_stats
  WHERE ${inWindow()}
  WINDOW w AS (PARTITION BY sensor ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
health AS (
  SELECT sensor, max(ts) AS last_seen, count() AS heartbeats, countIf(rn > 1 AND uptime_ms < p_uptime) AS restarts,
    ${HEALTH_COUNTERS.map(delta).join(',\n    ')},
    round(if(packets + kernel_drops = 0, 0, 100 * kernel_drops / (packets + kernel_drops)), 3) AS kernel_drop_pct,
    argMax(arraySum(mapValues(parse_errors)), ts) AS parse_errors_total,
    argMax(arraySum(mapValues(agent_drops)), ts) AS agent_drops_total,
    argMax(agent_version, ts) AS agent_version,
    argMax(toInt64(toUnixTimestamp64Milli(ts)) - toInt64(uptime_ms), ts) AS run_start_ms,
    argMax(batches, ts) AS batches_sent,
    argMax(last_batch_seq, ts) AS last_batch_seq,
    argMax(arraySum(mapValues(agent_batch_drops)), ts) AS batches_dropped
  FROM beats
  GROUP BY sensor
),
received AS (
  SELECT h.sensor AS sensor, uniqExact(b.batch_seq) AS batches_received
  FROM (SELECT sensor, batch_seq, toUnixTimestamp64Milli(received_at) AS at FROM {db}.header_batches) AS b
  INNER JOIN health AS h ON b.sensor = h.sensor
  WHERE b.at >= h.run_start_ms AND b.batch_seq <= h.last_batch_seq
  GROUP BY h.sensor
)
SELECT sensor, last_seen, heartbeats, restarts, ${HEALTH_COUNTERS.join(', ')}, kernel_drop_pct,
  parse_errors_total, agent_drops_total, agent_version, batches_sent, batches_received, batches_dropped, last_batch_seq,
  toUInt64(greatest(if(batches_sent = 0, 0, toInt64(last_batch_seq) + 1) - toInt64(batches_received) - toInt64(batches_dropped), 0)) AS lost_batches
FROM health
LEFT JOIN received USING (sensor)
ORDER BY lost_batches + kernel_drops DESC, sensor
LIMIT {limit:UInt32}`,
  },
  {
    name: 'flow-states',
    window: { table: 'flows', column: 'ts' },
    description:
      'Finished connections by Zeek conn_state, with how many ended in a RST and the main RST causes.',
    params: { ...windowParams, limit },
    sql: `SELECT conn_state, count() AS flows, countIf(rst_count > 0) AS with_rst,
  round(avg(duration), 3) AS avg_duration_s, sum(orig_bytes + resp_bytes) AS payload_bytes,
  topKIf(3)(rst_cause, rst_cause IS NOT NULL) AS top_rst_causes
FROM {db}.flows
WHERE ${inWindow()}
GROUP BY conn_state
ORDER BY flows DESC, conn_state
LIMIT {limit:UInt32}`,
  },
  {
    name: 'alerts',
    window: { table: 'alerts', column: 'updated' },
    description:
      'Recent alerts, newest first: the latest version of each alert updated within the window (optionally of one rule).',
    params: {
      ...windowParams,
      rule: {
        type: 'String',
        default: '',
        description: 'Only this rule (`reset_attack`, `port_scan`, ...); empty for all.',
      },
      limit: { type: 'UInt32', default: 100, description: 'Maximum rows.' },
    },
    sql: `SELECT updated, rule, severity, status, entity, count, summary, id, version
FROM {db}.alerts FINAL
WHERE ${inWindow('updated')} AND ({rule:String} = '' OR rule = {rule:String})
ORDER BY updated DESC, id
LIMIT {limit:UInt32}`,
  },
  {
    name: 'alert-events',
    description:
      "The RST events behind one alert, oldest first, with their classification from rst_events (empty cause: the event's row has expired).",
    params: {
      id: { type: 'String', default: '', description: 'Alert id (`alerts.id`).' },
      limit: { type: 'UInt32', default: 1000, description: 'Maximum rows.' },
    },
    sql: `SELECT a.ts AS ts, a.sensor AS sensor, ${ipText('a.src_ip')} AS src_ip, a.src_port AS src_port,
  ${ipText('a.dst_ip')} AS dst_ip, a.dst_port AS dst_port, a.community_id AS community_id,
  e.cause AS cause, e.origin AS origin, e.direction AS direction, e.confidence AS confidence, e.flags AS flags,
  e.evidence AS evidence
FROM (
  SELECT DISTINCT ts, sensor, src_ip, src_port, dst_ip, dst_port, community_id
  FROM {db}.alert_events WHERE alert_id = {id:String}
) AS a
GLOBAL LEFT JOIN (
  SELECT community_id, ts, cause, origin, direction, confidence, flags, evidence
  FROM {db}.rst_events
  WHERE community_id GLOBAL IN (SELECT community_id FROM {db}.alert_events WHERE alert_id = {id:String})
) AS e ON e.community_id = a.community_id AND e.ts = a.ts
ORDER BY a.ts, a.community_id
LIMIT {limit:UInt32}`,
  },
];

export function getQuery(name: string): NamedQuery {
  const q = QUERIES.find((x) => x.name === name);
  if (!q)
    throw new Error(
      `unknown query ${JSON.stringify(name)}; available: ${QUERIES.map((x) => x.name).join(', ')}`,
    );
  return q;
}

/** SQL of a named query for a database, with `{name:Type}` placeholders left for server-side binding. */
export function querySql(q: NamedQuery, database: string): string {
  return q.sql.replaceAll('{db}', ident(database));
}

/** Defaults merged with `params` (strings from a command line are converted); unknown names are rejected. */
export function resolveParams(
  q: NamedQuery,
  params: Record<string, string | number> = {},
): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const k of Object.keys(params)) {
    if (!(k in q.params)) {
      const allowed = Object.keys(q.params).join(', ');
      throw new Error(`query ${q.name}: unknown parameter ${JSON.stringify(k)}; allowed: ${allowed}`);
    }
  }
  for (const [k, p] of Object.entries(q.params)) {
    const v = params[k] ?? p.default;
    if (p.type === 'String') out[k] = String(v);
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || (p.type === 'UInt32' && (!Number.isInteger(n) || n < 0 || n > 0xffffffff))) {
        throw new Error(`query ${q.name}: parameter ${k} must be ${p.type}, got ${JSON.stringify(v)}`);
      }
      out[k] = n;
    }
  }
  return out;
}

/** Rows, first and last time of the table a windowed query reads (null for a query without a window). */
export async function dataRange(
  client: StoreClient,
  name: string,
): Promise<{ table: string; rows: number; first: string; last: string } | null> {
  const w = getQuery(name).window;
  if (!w) return null;
  const col = ident(w.column);
  const r = await client.query<{ rows: number | string; first: string; last: string }>(
    `SELECT count() AS rows, min(${col}) AS first, max(${col}) AS last FROM ${ident(client.database)}.${ident(w.table)}`,
    {},
    { date_time_output_format: 'iso' },
  );
  return { table: w.table, rows: Number(r[0]?.rows ?? 0), first: r[0]?.first ?? '', last: r[0]?.last ?? '' };
}

/** Run a named query and return its rows. */
export function runQuery<T = Record<string, unknown>>(
  client: StoreClient,
  name: string,
  params: Record<string, string | number> = {},
): Promise<T[]> {
  const q = getQuery(name);
  return client.query<T>(querySql(q, client.database), resolveParams(q, params), {
    date_time_output_format: 'iso',
  });
}
