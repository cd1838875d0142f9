/**
 * The desired ClickHouse schema as data: tables, their columns (with the schema version that
 * introduced each), sort keys, TTL columns and the materialized views that feed the rollups.
 * `migrate.ts` turns it into DDL for a single server or a cluster; `docs/clickhouse.md` documents it.
 */

/** Current schema version (the highest `since` of any table, column or view). */
export const SCHEMA_VERSION = 5;

export interface ColumnDef {
  name: string;
  type: string;
  /** `CODEC(...)` argument list, when one pays. */
  codec?: string;
  /** `DEFAULT` expression. */
  default?: string;
  /** Schema version that introduced the column. */
  since: number;
  doc: string;
}

export interface TableDef {
  name: TableName;
  engine: 'MergeTree' | 'AggregatingMergeTree' | 'ReplacingMergeTree';
  /** `ReplacingMergeTree` only: the version column (the row with the highest value per sort key is kept). */
  versionColumn?: string;
  columns: ColumnDef[];
  partitionBy: string;
  orderBy: string;
  /**
   * Column the TTL counts from (`DateTime` or `DateTime64`): the time a row was stored (`inserted_at`,
   * rollups' `stored_at`) wherever the table has one, so a capture stored today is kept for the retention
   * from today whatever its capture time, and raw rows and the rollups fed from them expire together.
   */
  ttlColumn: string;
  /** The TTL column of schema versions before `ttlColumn` existed. */
  ttlColumnBefore?: string;
  /** Default retention in days; 0 = keep forever. */
  defaultTtlDays: number;
  /** When `ttlDays` has no entry for this table, use the entry of that table (before the default). */
  ttlLike?: TableName;
  /** Sharding key of the Distributed table in cluster mode. */
  shardingKey: string;
  /** Skip indexes: `name expr TYPE ... GRANULARITY n`. */
  indexes?: string[];
  since: number;
  doc: string;
}

export interface ViewDef {
  name: string;
  /** Target table (a rollup). */
  to: TableName;
  /** Source table. */
  from: TableName;
  /** SELECT with `{from}` where the source table goes. */
  select: string;
  since: number;
}

export const TABLE_NAMES = [
  'rst_events',
  'flows',
  'sensor_stats',
  'header_batches',
  'rst_rollup_1m',
  'rst_rollup_1h',
  'rst_by_source_1h',
  'alerts',
  'alert_events',
] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/** Rows a heartbeat turns into (`sensor_stats`). Counters are cumulative since the agent started. */
export interface SensorStatsRow {
  /** Heartbeat time, RFC 3339 (microseconds allowed), UTC. */
  ts: string;
  sensor: string;
  agent_version: string;
  uptime_ms: number;
  packets: number;
  tcp_headers: number;
  kernel_drops: number;
  kernel_if_drops: number;
  parse_errors: Record<string, number>;
  batches: number;
  bytes: number;
  headers_sent: number;
  send_failures: number;
  /** Headers the agent dropped instead of sending, by reason. */
  agent_drops: Record<string, number>;
  last_batch_seq: number;
  /**
   * Deprecated, always 0: lost batches are computed by the `sensor-health` query from `header_batches`
   * (the column is kept for compatibility with v1/v2 readers).
   */
  lost_batches: number;
  /** Whole batches the agent dropped instead of sending, by reason (cumulative; v3). */
  agent_batch_drops: Record<string, number>;
}

/** One row per HeaderBatch message the processor consumed (`header_batches`, v3). */
export interface HeaderBatchRow {
  sensor: string;
  /** Per-sensor batch sequence number, as a decimal string (UInt64). */
  batch_seq: string;
  topic: string;
  partition: number;
  /** Kafka offset, as a decimal string (UInt64). */
  offset: string;
  headers: number;
  /** Capture time of the earliest header, RFC 3339 with microseconds, UTC. */
  first_ts: string;
  /** Kafka timestamp of the message, RFC 3339 with milliseconds, UTC. */
  received_at: string;
}

const LC = 'LowCardinality(String)';
const DEDUP_WINDOW = 10_000;

/** Provenance columns added in v2 to the raw tables. */
const provenance: ColumnDef[] = [
  {
    name: 'ingest_token',
    type: 'String',
    codec: 'ZSTD(1)',
    default: "''",
    since: 2,
    doc: 'Deduplication token of the insert that wrote the row: `topic:partition:first-last` offsets of the Kafka messages it came from (a hash when several units were batched together).',
  },
  {
    name: 'inserted_at',
    type: "DateTime64(3, 'UTC')",
    codec: 'Delta, ZSTD(1)',
    default: 'now64(3)',
    since: 2,
    doc: 'Server time of the insert; `inserted_at - ts` is the capture-to-queryable latency.',
  },
];

const events: TableDef = {
  name: 'rst_events',
  engine: 'MergeTree',
  since: 1,
  doc: 'One row per RST packet a sensor saw, classified (the RST event of rst-taxonomy.md, same field names).',
  partitionBy: 'toDate(ts)',
  orderBy: '(cause, origin, toStartOfHour(ts), sensor, dst_ip, dst_port, ts)',
  ttlColumn: 'inserted_at',
  ttlColumnBefore: 'ts',
  defaultTtlDays: 30,
  shardingKey: 'cityHash64(community_id)',
  indexes: ['idx_community_id community_id TYPE bloom_filter(0.01) GRANULARITY 4'],
  columns: [
    {
      name: 'ts',
      type: "DateTime64(6, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Capture time of the RST (microseconds, UTC).',
    },
    { name: 'sensor', type: LC, since: 1, doc: 'Sensor id.' },
    {
      name: 'community_id',
      type: 'String',
      codec: 'ZSTD(1)',
      since: 1,
      doc: 'Community ID v1 of the flow (`1:...`); joins with `flows.community_id`.',
    },
    {
      name: 'src_ip',
      type: 'IPv6',
      codec: 'ZSTD(1)',
      since: 1,
      doc: 'Sender of the RST as on the wire; IPv4 stored IPv4-mapped (`::ffff:a.b.c.d`).',
    },
    { name: 'src_port', type: 'UInt16', since: 1, doc: 'Source port of the RST.' },
    {
      name: 'dst_ip',
      type: 'IPv6',
      codec: 'ZSTD(1)',
      since: 1,
      doc: 'Receiver of the RST (IPv4-mapped for IPv4).',
    },
    { name: 'dst_port', type: 'UInt16', since: 1, doc: 'Destination port of the RST.' },
    {
      name: 'direction',
      type: LC,
      since: 1,
      doc: '`orig` (RST sender is the connection originator), `resp` or `unknown`.',
    },
    { name: 'cause', type: LC, since: 1, doc: 'Why the connection was reset (taxonomy `cause`).' },
    {
      name: 'origin',
      type: LC,
      since: 1,
      doc: 'Who really sent the RST: `endpoint`, `middlebox`, `spoofed`, `unknown`.',
    },
    { name: 'phase', type: LC, since: 1, doc: '`handshake`, `established`, `closing`, `closed`, `none`.' },
    { name: 'confidence', type: 'Float32', since: 1, doc: 'Confidence of `cause`, 0..1.' },
    { name: 'flags', type: LC, since: 1, doc: 'TCP flags of the RST in tcpdump letters (`R`, `R.`, ...).' },
    { name: 'seq', type: 'UInt32', since: 1, doc: 'Raw sequence number.' },
    { name: 'ack', type: 'UInt32', since: 1, doc: 'Raw acknowledgement number.' },
    { name: 'ttl', type: 'UInt8', since: 1, doc: 'Observed IP TTL / hop limit.' },
    {
      name: 'ttl_expected',
      type: 'Nullable(UInt8)',
      since: 1,
      doc: 'TTL the claimed sender would have (NULL when unknown).',
    },
    { name: 'ip_id', type: 'Nullable(UInt16)', since: 1, doc: 'IPv4 ID (NULL for IPv6).' },
    {
      name: 'in_window',
      type: 'Nullable(Bool)',
      since: 1,
      doc: "seq inside the receiver's window (NULL when unknown).",
    },
    {
      name: 'seq_exact',
      type: 'Nullable(Bool)',
      since: 1,
      doc: "seq exactly the receiver's next expected sequence (NULL when unknown).",
    },
    {
      name: 'payload_len',
      type: 'UInt16',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'RST payload length in bytes.',
    },
    {
      name: 'payload_preview',
      type: 'String',
      codec: 'ZSTD(3)',
      since: 1,
      doc: 'First payload bytes, printable ASCII, others escaped.',
    },
    {
      name: 'signature',
      type: LC,
      since: 1,
      doc: 'Connection-tampering signature (e.g. `PSH+ACK→RST`) or `other`.',
    },
    { name: 'conn_state', type: LC, since: 1, doc: 'Zeek conn_state at the time of the RST.' },
    { name: 'history', type: LC, since: 1, doc: 'Zeek history string at the time of the RST.' },
    {
      name: 'evidence',
      type: `Array(${LC})`,
      since: 1,
      doc: 'Machine-readable reasons (`ttl_delta=1`, `no_ack_flag`, `data_after_rst`, ...).',
    },
    ...provenance,
  ],
};

const flows: TableDef = {
  name: 'flows',
  engine: 'MergeTree',
  since: 1,
  doc: 'One row per finished or expired connection (Zeek conn.log fields; `id.orig_h` etc. become `orig_h` etc.).',
  partitionBy: 'toDate(ts)',
  orderBy: '(conn_state, toStartOfHour(ts), sensor, resp_h, resp_p, ts)',
  ttlColumn: 'inserted_at',
  ttlColumnBefore: 'ts',
  defaultTtlDays: 14,
  shardingKey: 'cityHash64(community_id)',
  indexes: [
    'idx_community_id community_id TYPE bloom_filter(0.01) GRANULARITY 4',
    'idx_uid uid TYPE bloom_filter(0.01) GRANULARITY 4',
  ],
  columns: [
    {
      name: 'ts',
      type: "DateTime64(6, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Time of the first packet (Zeek `ts`).',
    },
    { name: 'uid', type: 'String', codec: 'ZSTD(1)', since: 1, doc: 'Connection uid (Zeek `uid`).' },
    {
      name: 'orig_h',
      type: 'IPv6',
      codec: 'ZSTD(1)',
      since: 1,
      doc: 'Zeek `id.orig_h`: originator address (IPv4-mapped for IPv4).',
    },
    { name: 'orig_p', type: 'UInt16', since: 1, doc: 'Zeek `id.orig_p`: originator port.' },
    { name: 'resp_h', type: 'IPv6', codec: 'ZSTD(1)', since: 1, doc: 'Zeek `id.resp_h`: responder address.' },
    { name: 'resp_p', type: 'UInt16', since: 1, doc: 'Zeek `id.resp_p`: responder port.' },
    { name: 'proto', type: LC, since: 1, doc: 'Transport protocol (`tcp`).' },
    { name: 'duration', type: 'Float64', since: 1, doc: 'Seconds from first to last packet.' },
    {
      name: 'orig_bytes',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'Payload bytes sent by the originator.',
    },
    {
      name: 'resp_bytes',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'Payload bytes sent by the responder.',
    },
    { name: 'conn_state', type: LC, since: 1, doc: 'Zeek conn_state (S0, SF, REJ, RSTO, ...).' },
    { name: 'history', type: LC, since: 1, doc: 'Zeek history string.' },
    {
      name: 'orig_pkts',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'Packets sent by the originator.',
    },
    {
      name: 'orig_ip_bytes',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'IP bytes sent by the originator.',
    },
    {
      name: 'resp_pkts',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'Packets sent by the responder.',
    },
    {
      name: 'resp_ip_bytes',
      type: 'UInt64',
      codec: 'T64, ZSTD(1)',
      since: 1,
      doc: 'IP bytes sent by the responder.',
    },
    { name: 'community_id', type: 'String', codec: 'ZSTD(1)', since: 1, doc: 'Community ID v1 of the flow.' },
    { name: 'sensor', type: LC, since: 1, doc: 'Sensor id.' },
    { name: 'rst_count', type: 'UInt32', since: 1, doc: 'RST packets seen on the connection.' },
    {
      name: 'rst_cause',
      type: 'LowCardinality(Nullable(String))',
      since: 1,
      doc: 'Cause of the RST that ended the connection (NULL if none).',
    },
    {
      name: 'rst_origin',
      type: 'LowCardinality(Nullable(String))',
      since: 1,
      doc: 'Origin of the RST that ended the connection (NULL if none).',
    },
    {
      name: 'tunnel',
      type: 'LowCardinality(Nullable(String))',
      since: 1,
      doc: 'Outer encapsulation, if any (NULL if none).',
    },
    {
      name: 'duplicates',
      type: 'UInt16',
      default: '0',
      since: 5,
      doc: 'Duplicate packets suppressed (SPAN copies; the engine counts up to 255).',
    },
    {
      name: 'reordered',
      type: 'UInt16',
      default: '0',
      since: 5,
      doc: 'Packets processed in causal order after a later-stamped one (two taps; up to 255).',
    },
    {
      name: 'late',
      type: 'UInt16',
      default: '0',
      since: 5,
      doc: 'Packets stamped earlier than the reorder window allows, processed as they came (up to 15).',
    },
    {
      name: 'one_sided',
      type: 'Bool',
      default: 'false',
      since: 5,
      doc: 'Only one direction of the connection was seen (asymmetric routing, one tap).',
    },
    ...provenance,
  ],
};

const sensorStats: TableDef = {
  name: 'sensor_stats',
  engine: 'MergeTree',
  since: 1,
  doc: 'One row per sensor heartbeat. Counters are cumulative since the agent started (`uptime_ms`); compute rates from consecutive rows, a drop in `uptime_ms` is a restart.',
  partitionBy: 'toYYYYMM(ts)',
  orderBy: '(sensor, ts)',
  ttlColumn: 'ts',
  defaultTtlDays: 90,
  shardingKey: 'cityHash64(sensor)',
  columns: [
    {
      name: 'ts',
      type: "DateTime64(6, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Time the heartbeat was produced.',
    },
    { name: 'sensor', type: LC, since: 1, doc: 'Sensor id.' },
    { name: 'agent_version', type: LC, since: 1, doc: 'Agent software version.' },
    {
      name: 'uptime_ms',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Milliseconds since the agent started capturing.',
    },
    {
      name: 'packets',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Packets the capture handed to the agent.',
    },
    { name: 'tcp_headers', type: 'UInt64', codec: 'Delta, ZSTD(1)', since: 1, doc: 'TCP headers parsed.' },
    {
      name: 'kernel_drops',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Packets dropped by the kernel (capture buffer full).',
    },
    {
      name: 'kernel_if_drops',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Packets dropped by the interface or driver.',
    },
    { name: 'parse_errors', type: `Map(${LC}, UInt64)`, since: 1, doc: 'Unparseable packets by reason.' },
    {
      name: 'batches',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Header batches acknowledged by Kafka.',
    },
    {
      name: 'bytes',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Bytes of batches acknowledged by Kafka.',
    },
    {
      name: 'headers_sent',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Headers in acknowledged batches.',
    },
    {
      name: 'send_failures',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Failed attempts to send a batch.',
    },
    {
      name: 'agent_drops',
      type: `Map(${LC}, UInt64)`,
      since: 1,
      doc: 'Headers the agent dropped instead of sending, by reason.',
    },
    {
      name: 'last_batch_seq',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'batch_seq of the last batch acknowledged by Kafka.',
    },
    {
      name: 'lost_batches',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 1,
      doc: 'Deprecated, always 0 since v3: the `sensor-health` query computes lost batches from `header_batches`.',
    },
    ...provenance,
    {
      name: 'agent_batch_drops',
      type: 'Map(String, UInt64)',
      since: 3,
      doc: 'Whole batches the agent dropped instead of sending, by reason (`buffer_full`, `shutdown`, `too_large`, `encode_error`); each still used a `batch_seq`. Empty for heartbeats of agents before v3.',
    },
  ],
};

const headerBatches: TableDef = {
  name: 'header_batches',
  engine: 'MergeTree',
  since: 3,
  doc: 'One row per HeaderBatch message the processor consumed (not for duplicates it skipped), written in the same insert (same `ingest_token`) as the events of its Kafka offsets. With the heartbeats it tells which `batch_seq` of a sensor never arrived (`sensor-health`).',
  partitionBy: 'toYYYYMM(received_at)',
  orderBy: '(sensor, batch_seq)',
  ttlColumn: 'received_at',
  defaultTtlDays: 90,
  shardingKey: 'cityHash64(sensor)',
  columns: [
    { name: 'sensor', type: LC, since: 3, doc: 'Sensor id (`HeaderBatch.sensor_id`).' },
    {
      name: 'batch_seq',
      type: 'UInt64',
      codec: 'Delta, ZSTD(1)',
      since: 3,
      doc: 'Per-sensor batch sequence number (`HeaderBatch.batch_seq`); restarts at 0 when the agent restarts.',
    },
    { name: 'topic', type: LC, since: 3, doc: 'Kafka topic the batch was read from.' },
    { name: 'partition', type: 'UInt32', since: 3, doc: 'Kafka partition.' },
    { name: 'offset', type: 'UInt64', codec: 'Delta, ZSTD(1)', since: 3, doc: 'Kafka offset.' },
    { name: 'headers', type: 'UInt32', since: 3, doc: 'TCP headers in the batch (`count`).' },
    {
      name: 'first_ts',
      type: "DateTime64(6, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 3,
      doc: 'Capture time of the earliest header (`base_ts_us`).',
    },
    {
      name: 'received_at',
      type: "DateTime64(3, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 3,
      doc: "Kafka timestamp of the message (the agent's produce time with the default CreateTime topics); deterministic, so a replayed unit writes the same rows.",
    },
    {
      name: 'ingest_token',
      type: 'String',
      codec: 'ZSTD(1)',
      default: "''",
      since: 3,
      doc: 'Deduplication token of the insert (`topic:partition:first-last`), the same as the events of those offsets.',
    },
    {
      name: 'inserted_at',
      type: "DateTime64(3, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      default: 'now64(3)',
      since: 3,
      doc: 'Server time of the insert.',
    },
  ],
};

/** When the rows of a rollup row were stored (the latest insert merged into it); the TTL counts from it. */
const storedAt: ColumnDef = {
  name: 'stored_at',
  type: "SimpleAggregateFunction(max, DateTime('UTC'))",
  default: 'now()',
  since: 5,
  doc: 'Server time of the latest insert merged into the row (filled by the default: the views do not select it); the TTL counts from it, as `rst_events` counts from `inserted_at`.',
};

const rollupColumns = (bucket: string): ColumnDef[] => [
  { name: 'ts', type: "DateTime('UTC')", since: 2, doc: `Start of the ${bucket}.` },
  { name: 'cause', type: LC, since: 2, doc: 'RST cause.' },
  { name: 'origin', type: LC, since: 2, doc: 'RST origin.' },
  { name: 'sensor', type: LC, since: 2, doc: 'Sensor id.' },
  {
    name: 'service_ip',
    type: 'IPv6',
    since: 2,
    doc: "The connection's responder (the service): `src_ip` when `direction = 'resp'`, else `dst_ip`.",
  },
  {
    name: 'service_port',
    type: 'UInt16',
    since: 2,
    doc: 'Port of the service side, chosen like `service_ip`.',
  },
  {
    name: 'events',
    type: 'SimpleAggregateFunction(sum, UInt64)',
    since: 2,
    doc: 'RST events; read with `sum(events)`.',
  },
  {
    name: 'senders',
    type: 'AggregateFunction(uniq, IPv6)',
    since: 2,
    doc: 'Distinct RST senders (`src_ip`); read with `uniqMerge(senders)`.',
  },
  {
    name: 'clients',
    type: 'AggregateFunction(uniq, IPv6)',
    since: 2,
    doc: 'Distinct client-side hosts (the non-service side); read with `uniqMerge(clients)`.',
  },
  storedAt,
];

const rollupSelect = (bucketFn: string) => `SELECT
  ${bucketFn}(ts) AS ts, cause, origin, sensor,
  if(direction = 'resp', src_ip, dst_ip) AS service_ip,
  if(direction = 'resp', src_port, dst_port) AS service_port,
  count() AS events,
  uniqState(src_ip) AS senders,
  uniqState(if(direction = 'resp', dst_ip, src_ip)) AS clients
FROM {from}
GROUP BY ts, cause, origin, sensor, service_ip, service_port`;

const rollup1m: TableDef = {
  name: 'rst_rollup_1m',
  engine: 'AggregatingMergeTree',
  since: 2,
  doc: 'RST events per minute by (cause, origin, sensor, service ip/port), maintained by `rst_rollup_1m_mv`.',
  partitionBy: 'toDate(ts)',
  orderBy: '(cause, origin, ts, sensor, service_ip, service_port)',
  ttlColumn: 'stored_at',
  ttlColumnBefore: 'ts',
  defaultTtlDays: 30,
  ttlLike: 'rst_events',
  shardingKey: 'cityHash64(service_ip, service_port)',
  columns: rollupColumns('minute'),
};

const rollup1h: TableDef = {
  ...rollup1m,
  name: 'rst_rollup_1h',
  doc: 'Same as `rst_rollup_1m` per hour; maintained by `rst_rollup_1h_mv`.',
  partitionBy: 'toYYYYMM(ts)',
  columns: rollupColumns('hour'),
};

const bySource: TableDef = {
  name: 'rst_by_source_1h',
  engine: 'AggregatingMergeTree',
  since: 2,
  doc: 'RST events per hour by connection originator, for scan detection: distinct destination ports and hosts per source. Maintained by `rst_by_source_1h_mv`.',
  partitionBy: 'toYYYYMM(ts)',
  orderBy: '(ts, sensor, orig_ip)',
  ttlColumn: 'stored_at',
  ttlColumnBefore: 'ts',
  defaultTtlDays: 30,
  ttlLike: 'rst_events',
  shardingKey: 'cityHash64(orig_ip)',
  columns: [
    { name: 'ts', type: "DateTime('UTC')", since: 2, doc: 'Start of the hour.' },
    { name: 'sensor', type: LC, since: 2, doc: 'Sensor id.' },
    {
      name: 'orig_ip',
      type: 'IPv6',
      since: 2,
      doc: "Connection originator: `dst_ip` when `direction = 'resp'`, else `src_ip`.",
    },
    {
      name: 'events',
      type: 'SimpleAggregateFunction(sum, UInt64)',
      since: 2,
      doc: 'RST events involving the source.',
    },
    {
      name: 'scan_events',
      type: 'SimpleAggregateFunction(sum, UInt64)',
      since: 2,
      doc: 'Events with cause `syn_scan` or `connect_scan`.',
    },
    {
      name: 'rejected_events',
      type: 'SimpleAggregateFunction(sum, UInt64)',
      since: 2,
      doc: 'Events with cause `closed_port` or `firewall_reject`.',
    },
    {
      name: 'dst_ports',
      type: 'AggregateFunction(uniq, UInt16)',
      since: 2,
      doc: 'Distinct service ports touched; `uniqMerge(dst_ports)`.',
    },
    {
      name: 'dst_hosts',
      type: 'AggregateFunction(uniq, IPv6)',
      since: 2,
      doc: 'Distinct service hosts touched; `uniqMerge(dst_hosts)`.',
    },
    storedAt,
  ],
};

/**
 * One row per RST event that contributed to an alert (`alert_events`, v4): the link from `alerts.id` to
 * `rst_events`, joined on `(community_id, ts)`. The detectors' type: addresses as text, `ts` the event's.
 */
export type { AlertLink } from '@rstwatch/detect';

const alerts: TableDef = {
  name: 'alerts',
  engine: 'ReplacingMergeTree',
  versionColumn: 'version',
  since: 4,
  doc: 'One row per alert version (the Alert contract of packages/detect, same field names). An alert is updated by writing its next version under the same `id`; `ReplacingMergeTree(version)` keeps the highest version per `id` when parts merge, so read with `FINAL` (or `argMax(..., version)` grouped by `id`) to see each alert once.',
  partitionBy: 'toYYYYMM(first_seen)',
  orderBy: 'id',
  ttlColumn: 'inserted_at',
  defaultTtlDays: 365,
  shardingKey: 'cityHash64(id)',
  indexes: [
    'idx_updated updated TYPE minmax GRANULARITY 1',
    'idx_entity entity TYPE bloom_filter(0.01) GRANULARITY 4',
  ],
  columns: [
    {
      name: 'id',
      type: 'String',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Stable alert id (32 hex characters, derived from rule, entity and the first contributing event); the same across versions and replays.',
    },
    {
      name: 'version',
      type: 'UInt32',
      since: 4,
      doc: '1 when raised, +1 on each update; the highest version of an `id` is the current state.',
    },
    { name: 'rule', type: LC, since: 4, doc: 'Detection rule (`reset_attack`, `port_scan`, ...).' },
    { name: 'status', type: LC, since: 4, doc: '`open` or `closed`.' },
    { name: 'severity', type: LC, since: 4, doc: '`low`, `medium`, `high` or `critical`.' },
    {
      name: 'severity_score',
      type: 'UInt8',
      since: 4,
      doc: 'ECS `event.severity` of `severity` (21, 47, 73, 99).',
    },
    { name: 'summary', type: 'String', codec: 'ZSTD(3)', since: 4, doc: 'One line for people.' },
    {
      name: 'first_seen',
      type: "DateTime64(6, 'UTC')",
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Capture time of the first contributing event (the same for every version; partition key).',
    },
    {
      name: 'last_seen',
      type: "DateTime64(6, 'UTC')",
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Capture time of the last contributing event so far.',
    },
    {
      name: 'updated',
      type: "DateTime64(6, 'UTC')",
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Capture time of this version: `last_seen` while open, the closing time once closed (TTL column).',
    },
    { name: 'count', type: 'UInt64', since: 4, doc: 'RST events that contributed, in total.' },
    { name: 'entity_kind', type: LC, since: 4, doc: '`victim`, `scanner` or `service`.' },
    {
      name: 'entity',
      type: 'String',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'What the alert is about: an IP (`victim`, `scanner`) or `ip:port` (`service`), as text.',
    },
    {
      name: 'source_ips',
      type: 'Array(String)',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Sources involved (RST senders or the scanner), sampled and sorted, as text.',
    },
    {
      name: 'destination_ip',
      type: 'String',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Destination host the alert is about, as text.',
    },
    {
      name: 'destination_port',
      type: 'UInt16',
      since: 4,
      doc: 'Destination port the alert is about (0 when several).',
    },
    { name: 'sensors', type: `Array(${LC})`, since: 4, doc: 'Sensors that saw contributing events, sorted.' },
    {
      name: 'community_ids',
      type: 'Array(String)',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Community IDs of contributing flows (a sample; `alert_events` has every event).',
    },
    {
      name: 'evidence',
      type: `Array(${LC})`,
      since: 4,
      doc: 'Machine-readable reasons (`rsts=42`, `window_s=60`, ...).',
    },
    {
      name: 'details',
      type: 'String',
      codec: 'ZSTD(3)',
      since: 4,
      doc: "Rule-specific figures as a JSON object; read with `JSONExtract*` (`JSONExtractInt(details, 'ports')`).",
    },
    {
      name: 'ingest_token',
      type: 'String',
      codec: 'ZSTD(1)',
      default: "''",
      since: 4,
      doc: 'Deduplication token of the insert that wrote the row.',
    },
    {
      name: 'inserted_at',
      type: "DateTime64(3, 'UTC')",
      codec: 'ZSTD(1)',
      default: 'now64(3)',
      since: 4,
      doc: 'Server time of the insert; `inserted_at - updated` is the capture-to-alert-stored latency.',
    },
  ],
};

const alertEvents: TableDef = {
  name: 'alert_events',
  engine: 'MergeTree',
  since: 4,
  doc: 'One row per RST event that contributed to an alert: the link from `alerts.id` to `rst_events`, joined on `(community_id, ts)`. Kept as long as `rst_events` unless `ttlDays.alert_events` says otherwise.',
  partitionBy: 'toDate(ts)',
  orderBy: '(alert_id, ts)',
  ttlColumn: 'inserted_at',
  defaultTtlDays: 30,
  ttlLike: 'rst_events',
  shardingKey: 'cityHash64(alert_id)',
  columns: [
    { name: 'alert_id', type: 'String', codec: 'ZSTD(1)', since: 4, doc: '`alerts.id` of the alert.' },
    { name: 'rule', type: LC, since: 4, doc: 'Rule of the alert.' },
    {
      name: 'ts',
      type: "DateTime64(6, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      since: 4,
      doc: 'Capture time of the RST event (`rst_events.ts`).',
    },
    {
      name: 'community_id',
      type: 'String',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Community ID of the event (`rst_events.community_id`).',
    },
    { name: 'sensor', type: LC, since: 4, doc: 'Sensor that saw the event.' },
    {
      name: 'src_ip',
      type: 'IPv6',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Sender of the RST (IPv4-mapped for IPv4, like `rst_events`).',
    },
    { name: 'src_port', type: 'UInt16', since: 4, doc: 'Source port of the RST.' },
    {
      name: 'dst_ip',
      type: 'IPv6',
      codec: 'ZSTD(1)',
      since: 4,
      doc: 'Receiver of the RST (IPv4-mapped for IPv4).',
    },
    { name: 'dst_port', type: 'UInt16', since: 4, doc: 'Destination port of the RST.' },
    {
      name: 'ingest_token',
      type: 'String',
      codec: 'ZSTD(1)',
      default: "''",
      since: 4,
      doc: 'Deduplication token of the insert that wrote the row (the same as the alerts it links).',
    },
    {
      name: 'inserted_at',
      type: "DateTime64(3, 'UTC')",
      codec: 'Delta, ZSTD(1)',
      default: 'now64(3)',
      since: 4,
      doc: 'Server time of the insert.',
    },
  ],
};

export const TABLES: readonly TableDef[] = [
  events,
  flows,
  sensorStats,
  headerBatches,
  rollup1m,
  rollup1h,
  bySource,
  alerts,
  alertEvents,
];

export const VIEWS: readonly ViewDef[] = [
  {
    name: 'rst_rollup_1m_mv',
    to: 'rst_rollup_1m',
    from: 'rst_events',
    select: rollupSelect('toStartOfMinute'),
    since: 2,
  },
  {
    name: 'rst_rollup_1h_mv',
    to: 'rst_rollup_1h',
    from: 'rst_events',
    select: rollupSelect('toStartOfHour'),
    since: 2,
  },
  {
    name: 'rst_by_source_1h_mv',
    to: 'rst_by_source_1h',
    from: 'rst_events',
    since: 2,
    select: `SELECT
  toStartOfHour(ts) AS ts, sensor,
  if(direction = 'resp', dst_ip, src_ip) AS orig_ip,
  count() AS events,
  countIf(cause IN ('syn_scan', 'connect_scan')) AS scan_events,
  countIf(cause IN ('closed_port', 'firewall_reject')) AS rejected_events,
  uniqState(if(direction = 'resp', src_port, dst_port)) AS dst_ports,
  uniqState(if(direction = 'resp', src_ip, dst_ip)) AS dst_hosts
FROM {from}
GROUP BY ts, sensor, orig_ip`,
  },
];

export const MERGE_TREE_SETTINGS = { dedupWindow: DEDUP_WINDOW };

/**
 * Retention per table in days (0 = none); `rollups` applies to every rollup without its own entry, and
 * the rollups follow `rst_events` when `rollups` is unset too.
 */
export type TtlDays = { [K in TableName | 'rollups']?: number | undefined };

export function tableDef(name: TableName): TableDef {
  const t = TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown table ${name}`);
  return t;
}

/** SQL expression turning an `IPv6` column back into text: dotted quad for IPv4-mapped, RFC 5952 otherwise. */
export function ipText(column: string): string {
  return `replaceRegexpOne(IPv6NumToString(${column}), '^::ffff:([0-9]+\\\\.[0-9]+\\\\.[0-9]+\\\\.[0-9]+)$', '\\\\1')`;
}
