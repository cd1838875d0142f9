// Alerts in the store as the detection stage writes them: one unit per range of the events topic, alert
// versions and their links together; after a crash the same units come again. Readers see each alert once,
// at its latest version, and can walk from an alert to its classified RST events.
import { formatTsUs, type RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import {
  ALERT_SELECT,
  type AlertLink,
  type AlertRow,
  insertAlerts,
  migrate,
  RowWriter,
  rowToAlert,
  runQuery,
} from '@rstwatch/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';

let ch: ClickHouseHandle;
beforeAll(async () => {
  ch = await getClickHouse();
  await migrate(ch.client);
});
afterAll(async () => {
  await ch?.cleanup();
});

const now = Math.floor(Date.now() / 1000) * 1_000_000;
const at = (secondsAgo: number, us = 0) => formatTsUs(now - secondsAgo * 1_000_000 + us);
const victim = '198.18.0.2';
const A = '5f0c1a2b3c4d5e6f708192a3b4c5d6e7';
const B = '0badc0ffee0ddf00d0badc0ffee0ddf0';

/** A forged RST against victim:443 on connection `i`, `secondsAgo` before now. */
function forged(i: number, secondsAgo: number): RstEvent {
  return {
    ts: at(secondsAgo, i),
    sensor: 'tap-1',
    community_id: `1:forged${i}=`,
    src_ip: `203.0.113.${i}`,
    src_port: 40000 + i,
    dst_ip: victim,
    dst_port: 443,
    direction: 'orig',
    cause: 'reset_attack',
    origin: 'spoofed',
    phase: 'established',
    confidence: 0.9,
    flags: 'R',
    seq: 1000 + i,
    ack: 0,
    ttl: 250,
    ttl_expected: 58,
    ip_id: i,
    in_window: true,
    seq_exact: false,
    payload_len: 0,
    payload_preview: '',
    signature: 'other',
    conn_state: 'RSTOS0',
    history: 'ShADR',
    evidence: ['seq_in_window_not_exact', `ttl_delta=${250 - 58}`],
  };
}

const linkOf = (alert_id: string, e: RstEvent): AlertLink => ({
  alert_id,
  rule: 'reset_attack',
  ts: e.ts,
  community_id: e.community_id,
  sensor: e.sensor,
  src_ip: e.src_ip,
  src_port: e.src_port,
  dst_ip: e.dst_ip,
  dst_port: e.dst_port,
});

const events = [1, 2, 3, 4, 5, 6].map((i) => forged(i, 900 - i * 10));
const a1: Alert = {
  id: A,
  version: 1,
  rule: 'reset_attack',
  status: 'open',
  severity: 'high',
  severity_score: 73,
  summary: `5 forged RSTs aimed at ${victim}:443 from 5 peers within 60 s`,
  first_seen: events[0]!.ts,
  last_seen: events[4]!.ts,
  updated: events[4]!.ts,
  count: 5,
  entity_kind: 'victim',
  entity: victim,
  source_ips: events.slice(0, 5).map((e) => e.src_ip),
  destination_ip: victim,
  destination_port: 443,
  sensors: ['tap-1'],
  community_ids: events.slice(0, 5).map((e) => e.community_id),
  evidence: ['rsts=5', 'window_s=60', 'seq_in_window_not_exact=5'],
  details: { peers: 5, window_s: 60 },
};
const a2: Alert = {
  ...a1,
  version: 2,
  severity: 'critical',
  severity_score: 99,
  summary: `6 forged RSTs aimed at ${victim}:443 from 6 peers within 60 s`,
  last_seen: events[5]!.ts,
  updated: events[5]!.ts,
  count: 6,
  source_ips: events.map((e) => e.src_ip),
  evidence: ['rsts=6', 'window_s=60', 'seq_in_window_not_exact=6'],
  details: { peers: 6, window_s: 60 },
};
const b1: Alert = {
  ...a1,
  id: B,
  rule: 'port_scan',
  severity: 'medium',
  severity_score: 47,
  summary: 'SYN scan of 30 ports on 1 host',
  entity_kind: 'scanner',
  entity: '198.51.100.7',
  count: 30,
  first_seen: at(700),
  last_seen: at(650),
  updated: at(650),
  details: { ports: 30, hosts: 1, scan_type: 'syn' },
};

const topic = 'rstwatch.events.v1';
/** The processor's unit with the events, then the detection stage's units, in the order they happen. */
const units = [
  { token: 'rstwatch.headers.v1:0:0-99', events, flows: [] },
  {
    token: `${topic}:0:0-4`,
    events: [],
    flows: [],
    alerts: [a1],
    alertLinks: events.slice(0, 5).map((e) => linkOf(A, e)),
  },
  {
    token: `${topic}:0:5-5`,
    events: [],
    flows: [],
    alerts: [a2, b1],
    alertLinks: [linkOf(A, events[5]!)],
  },
];

describe(`alerts against ClickHouse (${process.env.CLICKHOUSE_URL ? 'env' : 'auto'})`, () => {
  it('a crash and replay of every unit leaves each alert once, at its latest version', async () => {
    const w1 = new RowWriter({ maxDelayMs: 20 }, { client: ch.client });
    for (const u of units) await w1.insert(u);
    await w1.stop();
    // Crash before the commit: everything again, one unit per batch as before, so the same tokens.
    const w2 = new RowWriter({ maxDelayMs: 20 }, { client: ch.client });
    for (const u of units) await w2.insert(u);
    await w2.stop();
    const db = ch.client.database;
    const count = async (table: string) =>
      (await ch.client.query<{ n: number }>(`SELECT count() AS n FROM ${db}.${table}`))[0]!.n;
    expect([await count('rst_events'), await count('alert_events')]).toEqual([6, 6]);
    // A replay that batches the detection units together has another token: the links are written
    // again (the alert-events query reads them DISTINCT), the alert versions are replaced away.
    const w3 = new RowWriter({ maxDelayMs: 20 }, { client: ch.client });
    await Promise.all(units.slice(1).map((u) => w3.insert(u)));
    await w3.stop();
    expect(await count('alert_events')).toBe(12);

    const rows = await runQuery(ch.client, 'alerts');
    expect(rows).toEqual([
      {
        updated: b1.updated,
        rule: 'port_scan',
        severity: 'medium',
        status: 'open',
        entity: '198.51.100.7',
        count: 30,
        summary: 'SYN scan of 30 ports on 1 host',
        id: B,
        version: 1,
      },
      {
        updated: a2.updated,
        rule: 'reset_attack',
        severity: 'critical',
        status: 'open',
        entity: victim,
        count: 6,
        summary: a2.summary,
        id: A,
        version: 2,
      },
    ]);
    expect(await runQuery(ch.client, 'alerts', { rule: 'port_scan' })).toEqual([rows[0]]);
    // The whole alert, read back in the contract's form; after a merge only the latest versions remain.
    await ch.client.command(`OPTIMIZE TABLE ${db}.alerts FINAL`);
    const stored = await ch.client.query<AlertRow>(`SELECT ${ALERT_SELECT} FROM ${db}.alerts ORDER BY id`);
    expect(stored.map(rowToAlert)).toEqual([b1, a2]);
  });

  it('alert-events walks from an alert to its classified RST events', async () => {
    const rows = await runQuery(ch.client, 'alert-events', { id: A });
    expect(rows).toEqual(
      events.map((e) => ({
        ts: e.ts,
        sensor: 'tap-1',
        src_ip: e.src_ip,
        src_port: e.src_port,
        dst_ip: victim,
        dst_port: 443,
        community_id: e.community_id,
        cause: 'reset_attack',
        origin: 'spoofed',
        direction: 'orig',
        confidence: 0.9,
        flags: 'R',
        evidence: ['seq_in_window_not_exact', 'ttl_delta=192'],
      })),
    );
  });

  it('insertAlerts retried with the same token writes nothing twice', async () => {
    const unit = { token: `${topic}:1:0-0`, alerts: [{ ...b1, id: 'f'.repeat(32) }], links: [] };
    await insertAlerts(ch.client, unit);
    await insertAlerts(ch.client, unit);
    const n = await ch.client.query<{ n: number }>(
      `SELECT count() AS n FROM ${ch.client.database}.alerts WHERE id = {id:String}`,
      { id: 'f'.repeat(32) },
    );
    expect(n).toEqual([{ n: 1 }]);
  });
});
