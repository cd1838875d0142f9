#!/usr/bin/env node
/**
 * Writes infra/grafana/dashboards/rstwatch.json from the named queries of @rstwatch/store
 * (packages/store/src/queries.ts), so the dashboard's tables are the same SQL as `rstwatch query NAME`:
 * the look-back `ts >= <hours before now>` becomes Grafana's `$__timeFilter(ts)`,
 * `{limit:UInt32}` a fixed row count, other parameters dashboard variables.
 *
 *   pnpm build && node infra/grafana/gen-dashboard.mjs            # regenerate the JSON
 *   node infra/grafana/gen-dashboard.mjs --check [--clickhouse URL] [--from ISO --to ISO]
 *       runs every panel's SQL (macros expanded as the ClickHouse plugin does) against ClickHouse
 *       (default: the embedded engine in .rstwatch/chdb, e.g. after `rstwatch analyze x.pcap --store`)
 *       and prints the row count per panel; exit 1 if any query fails.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClickHouse, getQuery, querySql } from '../../packages/store/dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DS = { type: 'grafana-clickhouse-datasource', uid: 'rstwatch-clickhouse' };
const DB = 'rstwatch';
/** A Grafana dashboard variable reference, `${name}`. */
const VAR = (name) => `$${'{'}${name}}`;

/** The look-back start of the named queries (`hours` before now, clamped at 1970; queries.ts `cutoff`). */
const CUTOFF = 'toDateTime(greatest(toInt64(toUnixTimestamp(now())) - 3600 * toInt64({hours:UInt32}), 0))';

/** A named query's SQL with Grafana macros in place of its ClickHouse parameters. */
function namedSql(name, limit = 50) {
  const sql = querySql(getQuery(name), DB)
    .replaceAll(`ts >= ${CUTOFF}`, '$__timeFilter(ts)')
    .replaceAll(`ts >= toStartOfHour(${CUTOFF})`, 'ts >= toStartOfHour($__fromTime) AND ts <= $__toTime')
    .replaceAll('{limit:UInt32}', String(limit))
    .replaceAll('{min_ports:UInt32}', VAR('min_ports'))
    .replaceAll('{min_hosts:UInt32}', VAR('min_hosts'));
  const left = sql.match(/\{[a-z_]+:[A-Za-z0-9]+\}/);
  if (left) throw new Error(`query ${name}: parameter ${left[0]} has no dashboard equivalent`);
  return sql;
}

const T = `\`${DB}\``;
let nextId = 1;
const target = (rawSql, format) => ({
  refId: 'A',
  datasource: DS,
  editorType: 'sql',
  format, // ClickHouse plugin: 0 time series, 1 table
  queryType: format === 0 ? 'timeseries' : 'table',
  rawSql,
});
const panel = (type, title, description, gridPos, rawSql, format, extra = {}) => ({
  id: nextId++,
  type,
  title,
  description,
  datasource: DS,
  gridPos,
  targets: [target(rawSql, format)],
  ...extra,
});
const table = (title, name, gridPos, limit) =>
  panel(
    'table',
    title,
    `${getQuery(name).description} Same SQL as \`rstwatch query ${name}\` (packages/store/src/queries.ts), over the dashboard's time range.`,
    gridPos,
    namedSql(name, limit),
    1,
    { options: { showHeader: true, cellHeight: 'sm' }, fieldConfig: { defaults: {}, overrides: [] } },
  );
const stat = (title, description, gridPos, rawSql, unit = 'short') =>
  panel('stat', title, description, gridPos, rawSql, 1, {
    fieldConfig: { defaults: { unit, color: { mode: 'thresholds' } }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value' },
  });
const series = (title, description, gridPos, rawSql) =>
  panel('timeseries', title, description, gridPos, rawSql, 0, {
    fieldConfig: {
      defaults: {
        unit: 'short',
        custom: { drawStyle: 'bars', stacking: { mode: 'normal' }, fillOpacity: 80 },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', calcs: ['sum'] },
      tooltip: { mode: 'multi' },
    },
  });

const panels = [
  stat(
    'RST events',
    'RSTs classified in the time range (sum of rst_rollup_1m.events).',
    { h: 4, w: 6, x: 0, y: 0 },
    `SELECT sum(events) AS events FROM ${T}.rst_rollup_1m WHERE $__timeFilter(ts)`,
  ),
  stat(
    'Forged / spoofed RSTs',
    'RST events with cause reset_attack or origin spoofed (rst_events; the rows behind "Suspected attacks").',
    { h: 4, w: 6, x: 6, y: 0 },
    `SELECT count() AS forged FROM ${T}.rst_events WHERE $__timeFilter(ts) AND (cause = 'reset_attack' OR origin = 'spoofed')`,
  ),
  stat(
    'Sensors reporting',
    'Distinct sensors with at least one heartbeat (sensor_stats) in the time range.',
    { h: 4, w: 6, x: 12, y: 0 },
    `SELECT uniqExact(sensor) AS sensors FROM ${T}.sensor_stats WHERE $__timeFilter(ts)`,
  ),
  stat(
    'Connections ended by RST',
    'Share of finished flows (flows table) with at least one RST, in the time range.',
    { h: 4, w: 6, x: 18, y: 0 },
    `SELECT if(count() = 0, 0, countIf(rst_count > 0) / count()) AS share FROM ${T}.flows WHERE $__timeFilter(ts)`,
    'percentunit',
  ),
  series(
    'RSTs by cause',
    'Events per cause per interval, from the 1-minute rollup (rst_rollup_1m).',
    { h: 9, w: 12, x: 0, y: 4 },
    `SELECT $__timeInterval(ts) AS time, cause, sum(events) AS events
FROM ${T}.rst_rollup_1m
WHERE $__timeFilter(ts)
GROUP BY time, cause
ORDER BY time, cause`,
  ),
  series(
    'RSTs by origin',
    'Events per origin (endpoint, middlebox, spoofed, unknown) per interval, from rst_rollup_1m.',
    { h: 9, w: 12, x: 12, y: 4 },
    `SELECT $__timeInterval(ts) AS time, origin, sum(events) AS events
FROM ${T}.rst_rollup_1m
WHERE $__timeFilter(ts)
GROUP BY time, origin
ORDER BY time, origin`,
  ),
  table('Top causes', 'top-causes', { h: 9, w: 10, x: 0, y: 13 }, 20),
  table('Resets by origin', 'resets-by-origin', { h: 9, w: 14, x: 10, y: 13 }, 50),
  table('Suspected attacks (forged RSTs)', 'suspected-attacks', { h: 8, w: 24, x: 0, y: 22 }, 50),
  table('Scanners', 'scanners', { h: 8, w: 12, x: 0, y: 30 }, 50),
  table('Services refusing connections', 'service-rejects', { h: 8, w: 12, x: 12, y: 30 }, 50),
  table('Injected resets (on-path devices)', 'injected-resets', { h: 8, w: 12, x: 0, y: 38 }, 50),
  table('Top RST senders', 'top-reset-senders', { h: 8, w: 12, x: 12, y: 38 }, 50),
  table('Sensor health', 'sensor-health', { h: 8, w: 24, x: 0, y: 46 }, 100),
];

const textbox = (name, label, value) => ({
  type: 'textbox',
  name,
  label,
  query: value,
  current: { text: value, value },
  options: [{ selected: true, text: value, value }],
  hide: 0,
});

const dashboard = {
  uid: 'rstwatch-overview',
  title: 'rstwatch',
  description: 'Why TCP connections are reset, and by whom. Generated by infra/grafana/gen-dashboard.mjs.',
  tags: ['rstwatch', 'tcp', 'network'],
  timezone: 'utc',
  editable: true,
  graphTooltip: 1,
  refresh: '30s',
  schemaVersion: 39,
  version: 1,
  time: { from: 'now-1h', to: 'now' },
  templating: {
    list: [
      textbox('min_ports', 'Scanners: min distinct ports', '20'),
      textbox('min_hosts', 'Scanners: min distinct hosts', '50'),
    ],
  },
  annotations: { list: [] },
  links: [],
  panels,
};

const { values } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    clickhouse: { type: 'string', default: 'embedded' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
});

if (!values.check) {
  const out = join(here, 'dashboards', 'rstwatch.json');
  writeFileSync(out, `${JSON.stringify(dashboard, null, 2)}\n`);
  console.log(`wrote ${out} (${panels.length} panels)`);
} else {
  // Expand the macros the way the ClickHouse data source does (seconds since the epoch).
  const to = values.to ? Date.parse(values.to) : Date.now();
  const from = values.from ? Date.parse(values.from) : to - 3600_000;
  const f = Math.floor(from / 1000);
  const t = Math.floor(to / 1000);
  const expand = (sql) =>
    sql
      .replace(/\$__timeFilter\((\w+)\)/g, `$1 >= toDateTime(${f}) AND $1 <= toDateTime(${t})`)
      .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval($1, INTERVAL 60 second)')
      .replaceAll('$__fromTime', `toDateTime(${f})`)
      .replaceAll('$__toTime', `toDateTime(${t})`)
      .replaceAll(VAR('min_ports'), '20')
      .replaceAll(VAR('min_hosts'), '50');
  const client = createClickHouse({ url: values.clickhouse, database: DB });
  let failed = 0;
  for (const p of panels) {
    try {
      const rows = await client.query(expand(p.targets[0].rawSql), {});
      console.log(`ok   ${String(rows.length).padStart(5)} rows  ${p.title}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${p.title}: ${err.message}`);
    }
  }
  await client.close();
  process.exit(failed ? 1 : 0);
}
