-- rstwatch schema for a ClickHouse cluster (ON CLUSTER, ReplicatedMergeTree + Distributed).
--
-- GENERATED, do not edit. Regenerate after schema changes (packages/store/src/migrate.ts):
--   pnpm build
--   node services/cli/dist/main.js migrate --dry-run --config infra/clickhouse/cluster.yaml > /tmp/ddl.sql
--   (then replace everything below this header with /tmp/ddl.sql)
-- infra/clickhouse/cluster.yaml sets clickhouse.cluster: rstwatch_cluster and the default database
-- `rstwatch`, TTLs are the config defaults (clickhouse.ttlDays).
--
-- This is the DDL of a fresh install, for review. To apply it, prefer `rstwatch migrate` with the same
-- config: it runs only the steps that are missing and converges TTLs. The servers need the cluster in
-- remote_servers, Keeper, and the {shard}/{replica} macros (see config.d/ beside this file).
-- Insert and query through the Distributed tables (rst_events, flows, sensor_stats, header_batches,
-- rst_rollup_1m, rst_rollup_1h, rst_by_source_1h); the *_local tables hold each shard's rows.

CREATE DATABASE IF NOT EXISTS `rstwatch` ON CLUSTER `rstwatch_cluster`;

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_events_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
  `sensor` LowCardinality(String),
  `community_id` String CODEC(ZSTD(1)),
  `src_ip` IPv6 CODEC(ZSTD(1)),
  `src_port` UInt16,
  `dst_ip` IPv6 CODEC(ZSTD(1)),
  `dst_port` UInt16,
  `direction` LowCardinality(String),
  `cause` LowCardinality(String),
  `origin` LowCardinality(String),
  `phase` LowCardinality(String),
  `confidence` Float32,
  `flags` LowCardinality(String),
  `seq` UInt32,
  `ack` UInt32,
  `ttl` UInt8,
  `ttl_expected` Nullable(UInt8),
  `ip_id` Nullable(UInt16),
  `in_window` Nullable(Bool),
  `seq_exact` Nullable(Bool),
  `payload_len` UInt16 CODEC(T64, ZSTD(1)),
  `payload_preview` String CODEC(ZSTD(3)),
  `signature` LowCardinality(String),
  `conn_state` LowCardinality(String),
  `history` LowCardinality(String),
  `evidence` Array(LowCardinality(String)),
  `ingest_token` String DEFAULT '' CODEC(ZSTD(1)),
  `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
  INDEX idx_community_id community_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/rstwatch/rst_events_local', '{replica}')
PARTITION BY toDate(ts)
ORDER BY (cause, origin, toStartOfHour(ts), sensor, dst_ip, dst_port, ts)
TTL toDateTime(ts) + toIntervalDay(90)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_events` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`rst_events_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `rst_events_local`, cityHash64(community_id));

CREATE TABLE IF NOT EXISTS `rstwatch`.`flows_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
  `uid` String CODEC(ZSTD(1)),
  `orig_h` IPv6 CODEC(ZSTD(1)),
  `orig_p` UInt16,
  `resp_h` IPv6 CODEC(ZSTD(1)),
  `resp_p` UInt16,
  `proto` LowCardinality(String),
  `duration` Float64,
  `orig_bytes` UInt64 CODEC(T64, ZSTD(1)),
  `resp_bytes` UInt64 CODEC(T64, ZSTD(1)),
  `conn_state` LowCardinality(String),
  `history` LowCardinality(String),
  `orig_pkts` UInt64 CODEC(T64, ZSTD(1)),
  `orig_ip_bytes` UInt64 CODEC(T64, ZSTD(1)),
  `resp_pkts` UInt64 CODEC(T64, ZSTD(1)),
  `resp_ip_bytes` UInt64 CODEC(T64, ZSTD(1)),
  `community_id` String CODEC(ZSTD(1)),
  `sensor` LowCardinality(String),
  `rst_count` UInt32,
  `rst_cause` LowCardinality(Nullable(String)),
  `rst_origin` LowCardinality(Nullable(String)),
  `tunnel` LowCardinality(Nullable(String)),
  `ingest_token` String DEFAULT '' CODEC(ZSTD(1)),
  `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
  INDEX idx_community_id community_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_uid uid TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/rstwatch/flows_local', '{replica}')
PARTITION BY toDate(ts)
ORDER BY (conn_state, toStartOfHour(ts), sensor, resp_h, resp_p, ts)
TTL toDateTime(ts) + toIntervalDay(30)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`flows` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`flows_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `flows_local`, cityHash64(community_id));

CREATE TABLE IF NOT EXISTS `rstwatch`.`sensor_stats_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
  `sensor` LowCardinality(String),
  `agent_version` LowCardinality(String),
  `uptime_ms` UInt64 CODEC(Delta, ZSTD(1)),
  `packets` UInt64 CODEC(Delta, ZSTD(1)),
  `tcp_headers` UInt64 CODEC(Delta, ZSTD(1)),
  `kernel_drops` UInt64 CODEC(Delta, ZSTD(1)),
  `kernel_if_drops` UInt64 CODEC(Delta, ZSTD(1)),
  `parse_errors` Map(LowCardinality(String), UInt64),
  `batches` UInt64 CODEC(Delta, ZSTD(1)),
  `bytes` UInt64 CODEC(Delta, ZSTD(1)),
  `headers_sent` UInt64 CODEC(Delta, ZSTD(1)),
  `send_failures` UInt64 CODEC(Delta, ZSTD(1)),
  `agent_drops` Map(LowCardinality(String), UInt64),
  `last_batch_seq` UInt64 CODEC(Delta, ZSTD(1)),
  `lost_batches` UInt64 CODEC(Delta, ZSTD(1)),
  `ingest_token` String DEFAULT '' CODEC(ZSTD(1)),
  `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
  `agent_batch_drops` Map(String, UInt64)
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/rstwatch/sensor_stats_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (sensor, ts)
TTL toDateTime(ts) + toIntervalDay(30)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`sensor_stats` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`sensor_stats_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `sensor_stats_local`, cityHash64(sensor));

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_rollup_1m_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime('UTC'),
  `cause` LowCardinality(String),
  `origin` LowCardinality(String),
  `sensor` LowCardinality(String),
  `service_ip` IPv6,
  `service_port` UInt16,
  `events` SimpleAggregateFunction(sum, UInt64),
  `senders` AggregateFunction(uniq, IPv6),
  `clients` AggregateFunction(uniq, IPv6)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/rstwatch/rst_rollup_1m_local', '{replica}')
PARTITION BY toDate(ts)
ORDER BY (cause, origin, ts, sensor, service_ip, service_port)
TTL ts + toIntervalDay(365)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_rollup_1m` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`rst_rollup_1m_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `rst_rollup_1m_local`, cityHash64(service_ip, service_port));

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_rollup_1h_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime('UTC'),
  `cause` LowCardinality(String),
  `origin` LowCardinality(String),
  `sensor` LowCardinality(String),
  `service_ip` IPv6,
  `service_port` UInt16,
  `events` SimpleAggregateFunction(sum, UInt64),
  `senders` AggregateFunction(uniq, IPv6),
  `clients` AggregateFunction(uniq, IPv6)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/rstwatch/rst_rollup_1h_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (cause, origin, ts, sensor, service_ip, service_port)
TTL ts + toIntervalDay(365)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_rollup_1h` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`rst_rollup_1h_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `rst_rollup_1h_local`, cityHash64(service_ip, service_port));

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_by_source_1h_local` ON CLUSTER `rstwatch_cluster` (
  `ts` DateTime('UTC'),
  `sensor` LowCardinality(String),
  `orig_ip` IPv6,
  `events` SimpleAggregateFunction(sum, UInt64),
  `scan_events` SimpleAggregateFunction(sum, UInt64),
  `rejected_events` SimpleAggregateFunction(sum, UInt64),
  `dst_ports` AggregateFunction(uniq, UInt16),
  `dst_hosts` AggregateFunction(uniq, IPv6)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/rstwatch/rst_by_source_1h_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, sensor, orig_ip)
TTL ts + toIntervalDay(365)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`rst_by_source_1h` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`rst_by_source_1h_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `rst_by_source_1h_local`, cityHash64(orig_ip));

CREATE MATERIALIZED VIEW IF NOT EXISTS `rstwatch`.`rst_rollup_1m_mv` ON CLUSTER `rstwatch_cluster` TO `rstwatch`.`rst_rollup_1m_local` AS
SELECT
  toStartOfMinute(ts) AS ts, cause, origin, sensor,
  if(direction = 'resp', src_ip, dst_ip) AS service_ip,
  if(direction = 'resp', src_port, dst_port) AS service_port,
  count() AS events,
  uniqState(src_ip) AS senders,
  uniqState(if(direction = 'resp', dst_ip, src_ip)) AS clients
FROM `rstwatch`.`rst_events_local`
GROUP BY ts, cause, origin, sensor, service_ip, service_port;

CREATE MATERIALIZED VIEW IF NOT EXISTS `rstwatch`.`rst_rollup_1h_mv` ON CLUSTER `rstwatch_cluster` TO `rstwatch`.`rst_rollup_1h_local` AS
SELECT
  toStartOfHour(ts) AS ts, cause, origin, sensor,
  if(direction = 'resp', src_ip, dst_ip) AS service_ip,
  if(direction = 'resp', src_port, dst_port) AS service_port,
  count() AS events,
  uniqState(src_ip) AS senders,
  uniqState(if(direction = 'resp', dst_ip, src_ip)) AS clients
FROM `rstwatch`.`rst_events_local`
GROUP BY ts, cause, origin, sensor, service_ip, service_port;

CREATE MATERIALIZED VIEW IF NOT EXISTS `rstwatch`.`rst_by_source_1h_mv` ON CLUSTER `rstwatch_cluster` TO `rstwatch`.`rst_by_source_1h_local` AS
SELECT
  toStartOfHour(ts) AS ts, sensor,
  if(direction = 'resp', dst_ip, src_ip) AS orig_ip,
  count() AS events,
  countIf(cause IN ('syn_scan', 'connect_scan')) AS scan_events,
  countIf(cause IN ('closed_port', 'firewall_reject')) AS rejected_events,
  uniqState(if(direction = 'resp', src_port, dst_port)) AS dst_ports,
  uniqState(if(direction = 'resp', src_ip, dst_ip)) AS dst_hosts
FROM `rstwatch`.`rst_events_local`
GROUP BY ts, sensor, orig_ip;

CREATE TABLE IF NOT EXISTS `rstwatch`.`header_batches_local` ON CLUSTER `rstwatch_cluster` (
  `sensor` LowCardinality(String),
  `batch_seq` UInt64 CODEC(Delta, ZSTD(1)),
  `topic` LowCardinality(String),
  `partition` UInt32,
  `offset` UInt64 CODEC(Delta, ZSTD(1)),
  `headers` UInt32,
  `first_ts` DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
  `received_at` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  `ingest_token` String DEFAULT '' CODEC(ZSTD(1)),
  `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1))
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/rstwatch/header_batches_local', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY (sensor, batch_seq)
TTL toDateTime(received_at) + toIntervalDay(30)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 86400, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `rstwatch`.`header_batches` ON CLUSTER `rstwatch_cluster` AS `rstwatch`.`header_batches_local`
ENGINE = Distributed(`rstwatch_cluster`, `rstwatch`, `header_batches_local`, cityHash64(sensor));

