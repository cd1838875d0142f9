#!/usr/bin/env node
/**
 * Writes infra/grafana/dashboards/rstwatch.json from the named queries of @rstwatch/store
 * (packages/store/src/queries.ts), so the dashboard's tables are the same SQL as `rstwatch query NAME`:
 * the look-back `ts >= <hours before now>` becomes Grafana's `$__timeFilter(ts)`,
 * `{limit:UInt32}` a fixed row count, other parameters dashboard variables.
 *
 *   pnpm build && node infra/grafana/gen-dashboard.mjs            # regenerate the JSON
 *   node infra/grafana/gen-dashboard.mjs --check [--clickhouse URL] [--embedded-path DIR] [--migrate]
 *       [--from ISO --to ISO]
 *       fails when dashboards/rstwatch.json differs from what the named queries generate, then runs every
 *       panel's SQL (macros expanded as the ClickHouse plugin does) against ClickHouse (default: the
 *       embedded engine in its per-user data directory, e.g. after `rstwatch analyze x.pcap --store`;
 *       --migrate creates the schema first) and prints the row count per panel; exit 1 if anything fails.
 *
 * Importing the module (tests) builds `dashboard`/`panels` without running anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createClickHouse,
  getQuery,
  inWindow,
  migrate,
  querySql,
  WINDOW_END,
  WINDOW_START,
} from '../../packages/store/dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DS = { type: 'grafana-clickhouse-datasource', uid: 'rstwatch-clickhouse' };
const DB = 'rstwatch';
/** A Grafana dashboard variable reference, `${name}`. */
const VAR = (name) => `$${'{'}${name}}`;

/** A named query's SQL with Grafana macros in place of its ClickHouse parameters (its time window, queries.ts `inWindow`). */
export function namedSql(name, limit = 50) {
  const sql = querySql(getQuery(name), DB)
    .replaceAll(inWindow('ts'), '$__timeFilter(ts)')
    .replaceAll(inWindow('updated'), '$__timeFilter(updated)')
    .replaceAll(
      `ts >= toStartOfHour(${WINDOW_START}) AND ts < ${WINDOW_END}`,
      'ts >= toStartOfHour($__fromTime) AND ts <= $__toTime',
    )
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

export const panels = [
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

export const dashboard = {
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

/** Panel SQL with the ClickHouse data source's macros expanded (`from`/`to` in ms since the epoch). */
export function expandMacros(sql, from, to) {
  const f = Math.floor(from / 1000);
  const t = Math.floor(to / 1000);
  return sql
    .replace(/\$__timeFilter\((\w+)\)/g, `$1 >= toDateTime(${f}) AND $1 <= toDateTime(${t})`)
    .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval($1, INTERVAL 60 second)')
    .replaceAll('$__fromTime', `toDateTime(${f})`)
    .replaceAll('$__toTime', `toDateTime(${t})`)
    .replaceAll(VAR('min_ports'), '20')
    .replaceAll(VAR('min_hosts'), '50');
}

/** The dashboard JSON as written to dashboards/rstwatch.json. */
export const dashboardJson = () => `${JSON.stringify(dashboard, null, 2)}\n`;
const OUT = join(here, 'dashboards', 'rstwatch.json');

async function main() {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      clickhouse: { type: 'string', default: 'embedded' },
      'embedded-path': { type: 'string' },
      migrate: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
  if (!values.check) {
    writeFileSync(OUT, dashboardJson());
    console.log(`wrote ${OUT} (${panels.length} panels)`);
    return 0;
  }
  let failed = 0;
  if (readFileSync(OUT, 'utf8') !== dashboardJson()) {
    failed++;
    console.log(
      `FAIL ${OUT} is not what the named queries generate: run node infra/grafana/gen-dashboard.mjs`,
    );
  } else console.log(`ok   ${OUT} is up to date`);
  const to = values.to ? Date.parse(values.to) : Date.now();
  const from = values.from ? Date.parse(values.from) : to - 3600_000;
  const client = createClickHouse({
    url: values.clickhouse,
    database: DB,
    ...(values['embedded-path'] ? { embeddedPath: values['embedded-path'] } : {}),
  });
  try {
    if (values.migrate) await migrate(client);
    for (const p of panels) {
      try {
        const rows = await client.query(expandMacros(p.targets[0].rawSql, from, to), {});
        console.log(`ok   ${String(rows.length).padStart(5)} rows  ${p.title}`);
      } catch (err) {
        failed++;
        console.log(`FAIL ${p.title}: ${err.message}`);
      }
    }
  } finally {
    await client.close();
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
