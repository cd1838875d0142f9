// Every named query and every Grafana panel against a small fixture whose answers are counted by hand
// below; and gen-dashboard.mjs --check (committed JSON up to date, every panel's SQL runs) as CI runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import { migrate, RowWriter, runQuery } from '@rstwatch/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';

const GEN = fileURLToPath(new URL('../../infra/grafana/gen-dashboard.mjs', import.meta.url));
type Panel = { title: string; targets: { rawSql: string }[] };
type Gen = {
  panels: Panel[];
  expandMacros(sql: string, from: number, to: number): string;
  namedSql(name: string, limit?: number): string;
};

/** The fixture's capture hour: 2026-01-01, like a generated capture (stored now, kept by the retention). */
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('Z', '000Z');
const WINDOW = { since: T0 / 1000, until: T0 / 1000 + 3600 };

function ev(o: Partial<RstEvent>): RstEvent {
  return {
    ts: at(0),
    sensor: 's1',
    community_id: 'c0',
    src_ip: '10.0.0.2',
    src_port: 443,
    dst_ip: '192.168.1.1',
    dst_port: 50001,
    direction: 'resp',
    cause: 'closed_port',
    origin: 'endpoint',
    phase: 'handshake',
    confidence: 0.9,
    flags: 'R.',
    seq: 0,
    ack: 1,
    ttl: 64,
    ttl_expected: 64,
    ip_id: 1,
    in_window: true,
    seq_exact: true,
    payload_len: 0,
    payload_preview: '',
    signature: 'SYN→RST+ACK',
    conn_state: 'REJ',
    history: 'Sr',
    evidence: [],
    ...o,
  } as RstEvent;
}

const forged = {
  cause: 'reset_attack',
  origin: 'spoofed',
  dst_ip: '10.0.0.5',
  dst_port: 179,
  src_port: 40000,
  direction: 'unknown',
} as const;
const EVENTS: RstEvent[] = [
  // Two closed_port RSTs from the service 10.0.0.2:443 to two clients.
  ev({ ts: at(10), community_id: 'c1', evidence: ['syn_answered_by_rst', 'ttl_delta=0'] }),
  ev({
    ts: at(20),
    community_id: 'c2',
    dst_ip: '192.168.1.2',
    evidence: ['syn_answered_by_rst', 'ttl_delta=0'],
  }),
  // Three forged RSTs at 10.0.0.5:179, two claimed senders, two connections, six evidence items in all.
  ev({
    ...forged,
    ts: at(30),
    community_id: 'c3',
    src_ip: '203.0.113.1',
    in_window: false,
    evidence: ['seq_out_of_window', 'ttl_delta=5', 'ipid_gap'],
  }),
  ev({
    ...forged,
    ts: at(40),
    community_id: 'c3',
    src_ip: '203.0.113.2',
    in_window: false,
    evidence: ['seq_out_of_window', 'ttl_delta=5'],
  }),
  ev({ ...forged, ts: at(50), community_id: 'c4', src_ip: '203.0.113.1', evidence: ['seq_out_of_window'] }),
  // One injected reset in the next minute (IPv6).
  ev({
    ts: at(70),
    community_id: 'c5',
    cause: 'injected_reset',
    origin: 'middlebox',
    src_ip: '2001:db8::443',
    dst_ip: '2001:db8::c1',
    dst_port: 50000,
    signature: 'PSH+ACK→RST',
    payload_preview: 'blocked',
    evidence: ['ipid_gap'],
  }),
  // Two days later: outside the window.
  ev({ ts: at(2 * 86400), community_id: 'c6', cause: 'app_abort' }),
];

function fl(uid: string, s: number, conn_state: string, rst: boolean): FlowRecord {
  return {
    ts: at(s),
    uid,
    'id.orig_h': '192.168.1.1',
    'id.orig_p': 50001,
    'id.resp_h': '10.0.0.2',
    'id.resp_p': 443,
    proto: 'tcp',
    duration: 1,
    orig_bytes: 10,
    resp_bytes: 20,
    conn_state,
    history: rst ? 'Sr' : 'ShADadFf',
    orig_pkts: 1,
    resp_pkts: 1,
    orig_ip_bytes: 60,
    resp_ip_bytes: 60,
    rst_count: rst ? 1 : 0,
    rst_cause: rst ? 'closed_port' : null,
    rst_origin: rst ? 'endpoint' : null,
    sensor: 's1',
    community_id: uid,
  } as unknown as FlowRecord;
}
const FLOWS = [fl('F1', 10, 'REJ', true), fl('F2', 15, 'SF', false), fl('F3', 20, 'REJ', true)];

let ch: ClickHouseHandle;
let gen: Gen;
beforeAll(async () => {
  // The dashboard's SQL names the database `rstwatch`.
  ch = await getClickHouse({ database: 'rstwatch' });
  // sensor_stats expires on capture time (heartbeats are live only): keep the fixture's forever.
  await migrate(ch.client, { ttlDays: { sensor_stats: 0 } });
  const w = new RowWriter({ maxDelayMs: 10 }, { client: ch.client });
  await w.insert({ token: 'fixture', events: EVENTS, flows: FLOWS });
  await w.stop();
  // Two heartbeats of one sensor: +150 packets, +5 kernel drops, no restart.
  await ch.client.insert('sensor_stats', [
    { sensor: 's1', ts: at(60), uptime_ms: 1000, packets: 100, tcp_headers: 90, kernel_drops: 0 },
    { sensor: 's1', ts: at(120), uptime_ms: 2000, packets: 250, tcp_headers: 200, kernel_drops: 5 },
  ]);
  gen = (await import(GEN)) as Gen;
});
afterAll(async () => {
  await ch?.cleanup();
});

const q = (name: string, params: Record<string, number | string> = {}) =>
  runQuery(ch.client, name, { ...WINDOW, ...params });

describe('named queries on the fixture (counted by hand)', () => {
  it('suspected-attacks counts each forged RST once (3 RSTs carrying 6 evidence items)', async () => {
    expect(await q('suspected-attacks')).toEqual([
      {
        victim: '10.0.0.5',
        dst_port: 179,
        events: 3,
        claimed_senders: 2,
        connections: 2,
        out_of_window: 2,
        first_seen: '2026-01-01T00:00:30.000000Z',
        last_seen: '2026-01-01T00:00:50.000000Z',
        top_evidence: ['seq_out_of_window', 'ttl_delta=5', 'ipid_gap'],
      },
    ]);
  });

  it('top-causes (rollup) and top-reset-senders (raw rows) count the same 6 RSTs', async () => {
    expect(await q('top-causes')).toEqual([
      { cause: 'reset_attack', events: 3, pct: 50, senders: 2, clients: 2 },
      { cause: 'closed_port', events: 2, pct: 33.3, senders: 1, clients: 2 },
      { cause: 'injected_reset', events: 1, pct: 16.7, senders: 1, clients: 1 },
    ]);
    const senders = await q('top-reset-senders');
    expect(senders.map((r) => [r.sender, r.events, r.receivers])).toEqual([
      ['10.0.0.2', 2, 2],
      ['203.0.113.1', 2, 1],
      ['2001:db8::443', 1, 1],
      ['203.0.113.2', 1, 1],
    ]);
  });

  it('resets-by-origin, service-rejects, injected-resets, scanners, flow-states, sensor-health', async () => {
    expect(await q('resets-by-origin')).toEqual([
      { origin: 'spoofed', cause: 'reset_attack', events: 3, senders: 2 },
      { origin: 'endpoint', cause: 'closed_port', events: 2, senders: 1 },
      { origin: 'middlebox', cause: 'injected_reset', events: 1, senders: 1 },
    ]);
    expect(await q('service-rejects')).toEqual([
      {
        service: '10.0.0.2',
        service_port: 443,
        cause: 'closed_port',
        origin: 'endpoint',
        events: 2,
        clients: 2,
      },
    ]);
    const inj = await q('injected-resets');
    expect(inj).toEqual([
      expect.objectContaining({
        signature: 'PSH+ACK→RST',
        client_side: '2001:db8::c1',
        server_side: '2001:db8::443',
        server_port: 443,
        events: 1,
        connections: 1,
        example_payload: 'blocked',
        evidence: ['ipid_gap'],
      }),
    ]);
    // No source reaches the default thresholds; with 1 and 1 every originator shows.
    expect(await q('scanners')).toEqual([]);
    const sc = await q('scanners', { min_ports: 1, min_hosts: 1 });
    expect(sc.map((r) => [r.source, r.events, r.distinct_ports, r.distinct_hosts])).toEqual([
      ['192.168.1.1', 1, 1, 1],
      ['192.168.1.2', 1, 1, 1],
      ['2001:db8::c1', 1, 1, 1],
      ['203.0.113.1', 2, 1, 1],
      ['203.0.113.2', 1, 1, 1],
    ]);
    expect((await q('flow-states')).map((r) => [r.conn_state, r.flows, r.with_rst])).toEqual([
      ['REJ', 2, 2],
      ['SF', 1, 0],
    ]);
    expect(await q('sensor-health')).toEqual([
      expect.objectContaining({ sensor: 's1', heartbeats: 2, restarts: 0, packets: 150, kernel_drops: 5 }),
    ]);
  });

  it('the window: until is exclusive, the default look-back (24 h from now) finds nothing of 2026-01-01', async () => {
    expect(await q('top-causes', { since: T0 / 1000 + 60 })).toEqual([
      expect.objectContaining({ cause: 'injected_reset', events: 1 }),
    ]);
    // The rollup counts per minute: the injected reset at 00:01:10 is in the 00:01 bucket.
    expect(await q('top-causes', { until: T0 / 1000 + 60 })).toHaveLength(2);
    const wide = await runQuery(ch.client, 'top-causes', { since: T0 / 1000 });
    expect(wide.map((r) => r.cause)).toContain('app_abort');
    if (Date.now() > T0 + 3 * 86400_000) expect(await runQuery(ch.client, 'top-causes')).toEqual([]);
  });
});

describe('Grafana panels on the fixture (same SQL as the named queries)', () => {
  const rowsOf = async (title: string) => {
    const p = gen.panels.find((x) => x.title === title);
    expect(p, title).toBeDefined();
    return ch.client.query(
      gen.expandMacros(p!.targets[0]!.rawSql, T0, T0 + 3599_000),
      {},
      {
        date_time_output_format: 'iso',
      },
    );
  };

  it('stats and time series', async () => {
    expect(await rowsOf('RST events')).toEqual([{ events: 6 }]);
    expect(await rowsOf('Forged / spoofed RSTs')).toEqual([{ forged: 3 }]);
    expect(await rowsOf('Sensors reporting')).toEqual([{ sensors: 1 }]);
    const share = (await rowsOf('Connections ended by RST')) as { share: number }[];
    expect(share[0]!.share).toBeCloseTo(2 / 3, 6);
    expect((await rowsOf('RSTs by cause')).map((r) => [r.time, r.cause, r.events])).toEqual([
      ['2026-01-01T00:00:00Z', 'closed_port', 2],
      ['2026-01-01T00:00:00Z', 'reset_attack', 3],
      ['2026-01-01T00:01:00Z', 'injected_reset', 1],
    ]);
    expect((await rowsOf('RSTs by origin')).map((r) => [r.time, r.origin, r.events])).toEqual([
      ['2026-01-01T00:00:00Z', 'endpoint', 2],
      ['2026-01-01T00:00:00Z', 'spoofed', 3],
      ['2026-01-01T00:01:00Z', 'middlebox', 1],
    ]);
  });

  it('every table panel returns the rows of its named query over the same window', async () => {
    const tables: [string, string][] = [
      ['Top causes', 'top-causes'],
      ['Resets by origin', 'resets-by-origin'],
      ['Suspected attacks (forged RSTs)', 'suspected-attacks'],
      ['Scanners', 'scanners'],
      ['Services refusing connections', 'service-rejects'],
      ['Injected resets (on-path devices)', 'injected-resets'],
      ['Top RST senders', 'top-reset-senders'],
      ['Sensor health', 'sensor-health'],
    ];
    for (const [title, name] of tables) {
      const panel = await rowsOf(title);
      expect(panel, title).toEqual(await q(name));
      expect(gen.panels.find((p) => p.title === title)!.targets[0]!.rawSql).toBe(
        gen.namedSql(
          name,
          Number(/LIMIT (\d+)$/.exec(gen.panels.find((p) => p.title === title)!.targets[0]!.rawSql)![1]),
        ),
      );
    }
    expect((await rowsOf('Suspected attacks (forged RSTs)'))[0]).toMatchObject({ events: 3 });
  });
});

describe('gen-dashboard.mjs --check', () => {
  it('the committed dashboard is up to date and every panel runs against a migrated embedded database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-dash-'));
    const r = spawnSync(
      process.execPath,
      [GEN, '--check', '--migrate', '--embedded-path', join(dir, 'chdb')],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('is up to date');
    expect(r.stdout.match(/^ok +\d+ rows/gm)).toHaveLength(14);
    expect(r.stdout).not.toContain('FAIL');
  });
});
