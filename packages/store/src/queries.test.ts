import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreClient } from './client.js';
import {
  alert,
  alertLink,
  event,
  flow,
  sampleFlows,
  sensorStats,
  testClient,
  tsAgo,
} from './internal/testing.js';
import { migrate } from './migrate.js';
import { getQuery, QUERIES, resolveParams, runQuery } from './queries.js';
import { RowWriter } from './writer.js';

let c: StoreClient;

beforeAll(async () => {
  c = testClient();
  await migrate(c);
  const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
  const ts = tsAgo(120);
  const events = [
    // 5 closed_port from service 10.0.0.2:443 to 3 clients.
    ...[1, 2, 3, 1, 2].map((i) =>
      event({ ts, src_ip: '10.0.0.2', src_port: 443, dst_ip: `192.168.1.${i}`, direction: 'resp' }),
    ),
    // 3 firewall rejects for 10.0.0.9:22, from a middlebox.
    ...[1, 2, 3].map((i) =>
      event({
        ts,
        cause: 'firewall_reject',
        origin: 'middlebox',
        src_ip: '10.0.0.9',
        src_port: 22,
        dst_ip: `192.168.2.${i}`,
        direction: 'resp',
      }),
    ),
    // 2 forged RSTs at 10.0.0.5:179 from two claimed senders.
    ...['203.0.113.1', '203.0.113.2'].map((ip) =>
      event({
        ts,
        cause: 'reset_attack',
        origin: 'spoofed',
        src_ip: ip,
        dst_ip: '10.0.0.5',
        dst_port: 179,
        direction: 'unknown',
        in_window: false,
        evidence: ['seq_out_of_window'],
      }),
    ),
    // 1 injected reset on a TLS connection.
    event({
      ts,
      cause: 'injected_reset',
      origin: 'middlebox',
      direction: 'resp',
      src_ip: '2001:db8::443',
      src_port: 443,
      dst_ip: '2001:db8::c1',
      dst_port: 50000,
      signature: 'PSH+ACK→RST',
      payload_preview: 'blocked',
      evidence: ['ipid_gap', 'data_after_rst'],
    }),
    // A SYN scan: 25 ports on 2 hosts from one source.
    ...Array.from({ length: 25 }, (_, i) =>
      event({
        ts,
        cause: 'syn_scan',
        direction: 'orig',
        src_ip: '198.51.100.7',
        src_port: 40000,
        dst_ip: `10.9.0.${i % 2}`,
        dst_port: 1 + i,
      }),
    ),
    // Old event, outside the default 24 h window.
    event({ ts: tsAgo(3 * 86400), cause: 'app_abort' }),
  ];
  // sensor-a: an earlier run (batch_seq up to 50), then a restart; the current run acknowledged up to
  // batch_seq 9, the agent dropped one batch (buffer_full).
  const run = { last_batch_seq: 9, batches: 8, agent_batch_drops: { buffer_full: 1 } };
  const stats = [
    sensorStats({ ts: tsAgo(600), uptime_ms: 1000, packets: 100, kernel_drops: 0, last_batch_seq: 20 }),
    sensorStats({ ts: tsAgo(500), uptime_ms: 2000, packets: 1100, kernel_drops: 10, last_batch_seq: 50 }),
    // Restart: counters start again from zero.
    sensorStats({ ts: tsAgo(400), uptime_ms: 500, packets: 300, kernel_drops: 5, ...run }),
    sensorStats({
      ts: tsAgo(400),
      sensor: 'sensor-b',
      uptime_ms: 500,
      packets: 50,
      kernel_drops: 0,
      batches: 0,
      last_batch_seq: 0,
    }),
  ];
  // What the processor received of sensor-a: the current run's 0..9 without 4 (dropped by the agent, never
  // sent) and 7 (lost on the way), 3 twice; 10 came after the last heartbeat; 7 of the previous run.
  const batch = (seq: number, secondsAgo: number) => ({
    sensor: 'sensor-a',
    batch_seq: String(seq),
    topic: 'rstwatch.headers.v1',
    partition: 0,
    offset: String(seq),
    headers: 10,
    first_ts: tsAgo(secondsAgo),
    received_at: tsAgo(secondsAgo),
  });
  await c.insert('header_batches', [
    ...[0, 1, 2, 3, 3, 5, 6, 8, 9, 10].map((seq) => batch(seq, 398)),
    batch(7, 550),
  ]);
  await w.insert({
    token: 'q:0:0-0',
    events,
    flows: [
      ...sampleFlows(),
      flow({ uid: 'C3', conn_state: 'S0', rst_count: 0, rst_cause: null, rst_origin: null }),
    ],
    sensorStats: stats,
    // One alert linked to the forged RSTs (alerts.test.ts checks the alert queries in detail).
    alerts: [alert({ updated: tsAgo(100) })],
    alertLinks: [alertLink({ ts, src_ip: '203.0.113.1', dst_ip: '10.0.0.5', dst_port: 179 })],
  });
  await w.stop();
});
afterAll(async () => {
  await c.close();
});

describe('named queries', () => {
  it('every query runs with its defaults', async () => {
    for (const q of QUERIES) {
      // alert-events lists one alert's events: it needs an id.
      const rows = await runQuery(c, q.name, q.name === 'alert-events' ? { id: alert().id } : {});
      expect(Array.isArray(rows), q.name).toBe(true);
      expect(rows.length, q.name).toBeGreaterThan(0);
    }
  });

  it('top-causes ranks causes with shares and distinct hosts, within the window', async () => {
    const rows = await runQuery(c, 'top-causes');
    expect(rows.map((r) => [r.cause, r.events])).toEqual([
      ['syn_scan', 25],
      ['closed_port', 5],
      ['firewall_reject', 3],
      ['reset_attack', 2],
      ['injected_reset', 1],
    ]);
    expect(rows[1]).toMatchObject({ senders: 1, clients: 3, pct: 13.9 });
    expect(await runQuery(c, 'top-causes', { limit: 1 })).toHaveLength(1);
    const wide = await runQuery(c, 'top-causes', { hours: 24 * 7 });
    expect(wide.map((r) => r.cause)).toContain('app_abort');
    // "Everything": a window reaching before 1970 must not wrap around and match nothing.
    for (const hours of [1_000_000, 4_294_967_295]) {
      const all = await runQuery(c, 'top-causes', { hours });
      expect(all.map((r) => r.cause)).toEqual(wide.map((r) => r.cause));
      expect((await runQuery(c, 'scanners', { hours })).length).toBeGreaterThan(0);
    }
  });

  it('resets-by-origin splits by origin', async () => {
    const rows = await runQuery(c, 'resets-by-origin');
    expect(rows).toContainEqual({ origin: 'spoofed', cause: 'reset_attack', events: 2, senders: 2 });
    expect(rows).toContainEqual({ origin: 'middlebox', cause: 'firewall_reject', events: 3, senders: 1 });
  });

  it('top-reset-senders shows dotted IPv4 and RFC 5952 IPv6', async () => {
    const rows = await runQuery(c, 'top-reset-senders');
    expect(rows[0]).toMatchObject({
      sender: '198.51.100.7',
      events: 25,
      receivers: 2,
      top_causes: ['syn_scan'],
    });
    expect(rows.map((r) => r.sender)).toContain('2001:db8::443');
  });

  it('suspected-attacks finds the victim of forged RSTs', async () => {
    const rows = await runQuery(c, 'suspected-attacks');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      victim: '10.0.0.5',
      dst_port: 179,
      events: 2,
      claimed_senders: 2,
      out_of_window: 2,
      top_evidence: ['seq_out_of_window'],
    });
  });

  it('injected-resets groups by signature and server', async () => {
    const rows = await runQuery(c, 'injected-resets');
    expect(rows).toEqual([
      expect.objectContaining({
        signature: 'PSH+ACK→RST',
        server_side: '2001:db8::443',
        client_side: '2001:db8::c1',
        server_port: 443,
        events: 1,
        example_payload: 'blocked',
      }),
    ]);
    expect([...(rows[0]!.evidence as string[])].sort()).toEqual(['data_after_rst', 'ipid_gap']);
  });

  it('scanners reports sources over the port threshold only', async () => {
    const rows = await runQuery(c, 'scanners');
    expect(rows).toEqual([
      expect.objectContaining({
        source: '198.51.100.7',
        events: 25,
        scan_events: 25,
        distinct_ports: 25,
        distinct_hosts: 2,
      }),
    ]);
    expect(await runQuery(c, 'scanners', { min_ports: 26, min_hosts: 3 })).toEqual([]);
  });

  it('service-rejects lists refusing services with their clients', async () => {
    const rows = await runQuery(c, 'service-rejects');
    expect(rows).toEqual([
      {
        service: '10.0.0.2',
        service_port: 443,
        cause: 'closed_port',
        origin: 'endpoint',
        events: 5,
        clients: 3,
      },
      {
        service: '10.0.0.9',
        service_port: 22,
        cause: 'firewall_reject',
        origin: 'middlebox',
        events: 3,
        clients: 3,
      },
    ]);
  });

  it('sensor-health computes deltas across a restart', async () => {
    const rows = await runQuery(c, 'sensor-health');
    const a = rows.find((r) => r.sensor === 'sensor-a')!;
    // 100 -> 1100 (+1000), restart -> 300 (+300); drops 0 -> 10 -> 5 (+10, +5).
    expect(a).toMatchObject({
      heartbeats: 3,
      restarts: 1,
      packets: 1300,
      kernel_drops: 15,
      parse_errors_total: 3,
    });
    expect(a.kernel_drop_pct).toBeCloseTo((100 * 15) / 1315, 3);
    expect(rows.find((r) => r.sensor === 'sensor-b')).toMatchObject({
      heartbeats: 1,
      packets: 0,
      restarts: 0,
      lost_batches: 0,
    });
    expect(rows[0]!.sensor).toBe('sensor-a'); // most loss first
  });

  it('sensor-health counts a gap in batch_seq as lost, not a batch the agent dropped', async () => {
    const rows = await runQuery(c, 'sensor-health');
    const a = rows.find((r) => r.sensor === 'sensor-a')!;
    // Current run: seq 0..9 expected (10); received 8 distinct (3 twice, 10 after the heartbeat and
    // the previous run's 7 do not count); 1 dropped by the agent: 7 is lost.
    expect(a).toMatchObject({
      batches_sent: 8,
      last_batch_seq: 9,
      batches_received: 8,
      batches_dropped: 1,
      lost_batches: 1,
    });
  });

  it('flow-states counts flows per conn_state', async () => {
    const rows = await runQuery(c, 'flow-states');
    expect(rows.map((r) => [r.conn_state, r.flows, r.with_rst])).toEqual(
      expect.arrayContaining([
        ['REJ', 1, 1],
        ['SF', 1, 0],
        ['S0', 1, 0],
      ]),
    );
    expect(rows.find((r) => r.conn_state === 'REJ')!.top_rst_causes).toEqual(['closed_port']);
  });

  it('validates parameters and names', () => {
    expect(() => getQuery('nope')).toThrow(/unknown query "nope"; available: top-causes/);
    expect(() => resolveParams(getQuery('top-causes'), { foo: 1 })).toThrow(
      /unknown parameter "foo"; allowed: hours, since, until, limit/,
    );
    expect(() => resolveParams(getQuery('top-causes'), { hours: '-3' })).toThrow(/hours must be UInt32/);
    expect(resolveParams(getQuery('scanners'), { hours: '2' })).toEqual({
      hours: 2,
      since: 0,
      until: 0,
      limit: 20,
      min_ports: 20,
      min_hosts: 50,
    });
  });
});
