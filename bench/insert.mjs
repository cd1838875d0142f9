#!/usr/bin/env node
// Insert throughput into rst_events (real schema, rollup MVs on) for the formats the store can use,
// on the same batch of N events. Prints `name=value` lines. Embedded chdb by default; CLICKHOUSE_URL
// to run against a server. Usage: node bench/insert.mjs [--events 100000] [--runs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTsUs } from '../packages/core/dist/index.js';
import { createClickHouse, migrate, RowWriter } from '../packages/store/dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('events', 100_000);
const RUNS = arg('runs', 3);
const CAUSES = ['closed_port', 'app_abort', 'injected_reset', 'syn_scan', 'reset_attack', 'idle_timeout'];

function makeEvents(n) {
  const base = Math.floor(Date.now() / 1000) * 1_000_000 - 3_600_000_000;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const v6 = i % 10 === 0;
    out[i] = {
      ts: formatTsUs(base + i * 37),
      sensor: `sensor-${i % 8}`,
      community_id: `1:${(i * 2654435761) >>> 0}`,
      src_ip: v6
        ? `2001:db8::${(i % 65535).toString(16)}`
        : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      src_port: 443,
      dst_ip: v6 ? '2001:db8:1::1' : `192.168.${(i >> 8) & 255}.${i & 255}`,
      dst_port: 1024 + (i % 50000),
      direction: i % 2 ? 'resp' : 'orig',
      cause: CAUSES[i % CAUSES.length],
      origin: i % 7 === 0 ? 'middlebox' : 'endpoint',
      phase: 'established',
      confidence: 0.9,
      flags: 'R.',
      seq: (i * 2654435761) >>> 0,
      ack: (i * 40503) >>> 0,
      ttl: 64,
      ttl_expected: i % 3 ? 64 : null,
      ip_id: v6 ? null : i & 0xffff,
      in_window: i % 4 ? true : null,
      seq_exact: i % 4 ? i % 2 === 0 : null,
      payload_len: 0,
      payload_preview: '',
      signature: 'other',
      conn_state: 'RSTR',
      history: 'ShADadr',
      evidence: i % 2 ? ['ttl_delta=0'] : ['no_ack_flag', 'data_after_rst'],
    };
  }
  return out;
}

const url = process.env.CLICKHOUSE_URL ?? 'embedded';
const dir = url === 'embedded' ? mkdtempSync(join(tmpdir(), 'rstwatch-bench-insert-')) : undefined;
const client = createClickHouse({ url, database: 'bench_insert', ...(dir ? { embeddedPath: dir } : {}) });
await client.command('DROP DATABASE IF EXISTS bench_insert');
await migrate(client);
const events = makeEvents(N);
const cols = Object.keys(events[0]);
let tok = 0;
const token = () => `bench:${process.pid}:${tok++}`;

const formats = {
  // Reference: the engine writing the same number of rows with no parsing at all (INSERT ... SELECT).
  'reference:INSERT_SELECT': async () =>
    client.command(
      `INSERT INTO bench_insert.rst_events (ts, sensor, community_id, src_ip, dst_ip, cause, origin, evidence)
       SELECT now64(6) - number, 's', toString(number), toIPv6('10.0.0.1'), toIPv6('10.0.0.2'), 'app_abort', 'endpoint', ['x']
       FROM numbers(${N})`,
      undefined,
      { insert_deduplication_token: token() },
    ),
  // The writer's path: objects -> client JSONEachRow.
  JSONEachRow: async () => client.insert('rst_events', events, { insert_deduplication_token: token() }),
  JSONCompactEachRow: async () =>
    client.raw.insert({
      table: 'bench_insert.rst_events',
      columns: cols,
      values: events.map((e) => cols.map((c) => e[c])),
      format: 'JSONCompactEachRow',
      clickhouse_settings: { date_time_input_format: 'best_effort', insert_deduplication_token: token() },
    }),
  // Whole RowWriter: 100 units of N/100 events, batched by maxRows.
  RowWriter: async () => {
    const w = new RowWriter({ maxRows: 50_000, maxDelayMs: 200 }, { client });
    const per = Math.ceil(N / 100);
    const ps = [];
    for (let u = 0; u < 100; u++)
      ps.push(w.insert({ token: token(), events: events.slice(u * per, (u + 1) * per), flows: [] }));
    await Promise.all(ps);
    await w.stop();
  },
};

console.log(
  `# load_avg=${(await import('node:os')).loadavg()[0].toFixed(1)} (2 cores; figures are noisy, compare ratios)`,
);
console.log(`# ${N} events into rst_events (3 rollup MVs) on ${client.url}, ${RUNS} runs, median`);
let ref;
for (const [name, fn] of Object.entries(formats)) {
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    await client.command('TRUNCATE TABLE bench_insert.rst_events');
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    const [{ n }] = await client.query('SELECT count() AS n FROM bench_insert.rst_events');
    if (n !== N) throw new Error(`${name}: expected ${N} rows, found ${n}`);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  const rps = Math.round((N / med) * 1000);
  ref ??= rps;
  console.log(
    `format=${name} rows_per_s=${rps} ms=${Math.round(med)} ratio_vs_reference=${(rps / ref).toFixed(3)}`,
  );
}
console.log(
  'format=RowBinary rows_per_s=n/a (chdb connection passes insert bodies as UTF-8 text; server-only, not measured)',
);
await client.command('DROP DATABASE IF EXISTS bench_insert');
await client.close();
if (dir) rmSync(dir, { recursive: true, force: true });
