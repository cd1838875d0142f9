// Alert storage on the embedded engine: every Alert field round-trips, versions collapse to the latest,
// replays write nothing twice, and the `alerts` / `alert-events` queries answer from the latest versions.
import type { Alert } from '@rstwatch/detect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreClient } from './client.js';
import { alert, alertLink, event, testClient, tsAgo } from './internal/testing.js';
import { migrate } from './migrate.js';
import { runQuery } from './queries.js';
import { ALERT_LINK_SELECT, ALERT_SELECT, type AlertRow, rowToAlert } from './rows.js';
import type { AlertLink } from './schema.js';
import { insertAlerts, RowWriter } from './writer.js';

const clients: StoreClient[] = [];
async function db(): Promise<StoreClient> {
  const c = testClient();
  clients.push(c);
  await migrate(c);
  return c;
}
afterAll(async () => {
  for (const c of clients) await c.close();
});

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const OLD = 'c'.repeat(32);

const count = async (c: StoreClient, table: string, final = '') =>
  (await c.query<{ n: number }>(`SELECT count() AS n FROM ${c.database}.${table} ${final}`))[0]!.n;

/** A client that records the table of every insert before passing it through. */
function recording(inner: StoreClient) {
  const tables: string[] = [];
  const c: StoreClient = {
    ...inner,
    insert(table, rows, settings) {
      tables.push(table);
      return inner.insert(table, rows, settings);
    },
  };
  return { c, tables };
}

describe('alert rows', () => {
  let c: StoreClient;
  beforeAll(async () => {
    c = await db();
  });

  it('read back identically, every field, with details as JSON and microsecond times', async () => {
    const a = alert({
      id: A,
      summary: 'Scan of 25 ports — «unicode» "quotes" \\ backslash',
      source_ips: ['2001:db8::1', '203.0.113.9'],
      details: {
        ports: [22, 80, 443],
        hosts: 3,
        scan_type: 'syn',
        ratio: 0.125,
        closed: false,
        names: ['x'],
      },
    });
    const empty = alert({
      id: B,
      rule: 'port_scan',
      entity_kind: 'scanner',
      source_ips: [],
      sensors: [],
      community_ids: [],
      evidence: [],
      details: {},
      destination_port: 0,
    });
    const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
    await w.insert({ token: 'events:0:0-9', events: [], flows: [], alerts: [a, empty] });
    await w.stop();
    const back = await c.query<AlertRow>(`SELECT ${ALERT_SELECT} FROM ${c.database}.alerts ORDER BY id`);
    expect(back.map(rowToAlert)).toEqual([a, empty]);
    // The stored details are JSON text that ClickHouse can take apart.
    const ports = await c.query<{ p: number[]; t: string }>(
      `SELECT JSONExtract(details, 'ports', 'Array(UInt16)') AS p, ingest_token AS t FROM ${c.database}.alerts WHERE id = {id:String}`,
      { id: A },
    );
    expect(ports).toEqual([{ p: [22, 80, 443], t: 'events:0:0-9' }]);
  });

  it('links read back with dotted IPv4 and RFC 5952 IPv6', async () => {
    const links: AlertLink[] = [
      alertLink({ alert_id: A, ts: tsAgo(50, 7) }),
      alertLink({
        alert_id: A,
        ts: tsAgo(40, 999_999),
        community_id: '1:v6=',
        src_ip: '2001:0db8:0000::0001',
        dst_ip: '2001:db8::42',
        src_port: 65535,
        dst_port: 1,
      }),
    ];
    await insertAlerts(c, { token: 'events:0:10-19', alerts: [], links });
    const back = await c.query<AlertLink>(
      `SELECT ${ALERT_LINK_SELECT} FROM ${c.database}.alert_events WHERE alert_id = {id:String} ORDER BY ts`,
      { id: A },
    );
    expect(back).toEqual([links[0], { ...links[1], src_ip: '2001:db8::1' }]);
  });
});

describe('writing alerts', () => {
  it('RowWriter writes links before alerts, counts them, and a replayed unit writes nothing twice', async () => {
    const c = await db();
    const { c: rec, tables } = recording(c);
    const unit = {
      token: 'rstwatch.events.v1:2:100-199',
      events: [event({ cause: 'reset_attack' })],
      flows: [],
      alerts: [alert({ id: A })],
      alertLinks: [alertLink({ alert_id: A }), alertLink({ alert_id: A, ts: tsAgo(61) })],
    };
    const w1 = new RowWriter({ maxDelayMs: 10 }, { client: rec });
    await w1.insert(unit);
    await w1.stop();
    expect(tables).toEqual(['rst_events', 'alert_events', 'alerts']);
    expect(w1.stats().insertedRows).toEqual({
      rst_events: 1,
      flows: 0,
      sensor_stats: 0,
      alert_events: 2,
      alerts: 1,
    });
    // The processor crashed before committing: the same unit again, same token.
    const w2 = new RowWriter({ maxDelayMs: 10 }, { client: c });
    await w2.insert(unit);
    await w2.stop();
    expect(await count(c, 'rst_events')).toBe(1);
    expect(await count(c, 'alert_events')).toBe(2);
    expect(await count(c, 'alerts')).toBe(1);
    // Re-derived under another token (units cut differently): the alert row is there twice on disk, once
    // for readers (same id and version).
    const w3 = new RowWriter({ maxDelayMs: 10 }, { client: c });
    await w3.insert({ token: 'other', events: [], flows: [], alerts: unit.alerts });
    await w3.stop();
    expect(await count(c, 'alerts')).toBe(2);
    expect(await count(c, 'alerts', 'FINAL')).toBe(1);
  });

  it('RowWriter batches alert units by row count like the other tables', async () => {
    const c = await db();
    const { c: rec, tables } = recording(c);
    const w = new RowWriter({ maxRows: 2, maxDelayMs: 10_000 }, { client: rec });
    const ids = ['1', '2', '3'].map((d) => d.repeat(32));
    const done = ids.map((id, i) =>
      w.insert({ token: `e:0:${i}-${i}`, events: [], flows: [], alerts: [alert({ id })] }),
    );
    await Promise.all(done.slice(0, 2)); // two alerts reach maxRows: flushed without waiting for the timer
    await w.stop();
    await Promise.all(done);
    expect(tables).toEqual(['alerts', 'alerts']);
    expect(await count(c, 'alerts')).toBe(3);
  });

  it('insertAlerts: links then alerts under the token; a retried unit is dropped', async () => {
    const c = await db();
    const { c: rec, tables } = recording(c);
    const unit = {
      token: 'rstwatch.events.v1:0:5-9',
      alerts: [alert({ id: A }), alert({ id: B, rule: 'port_scan' as const })],
      links: [alertLink({ alert_id: A }), alertLink({ alert_id: B, rule: 'port_scan' })],
    };
    await insertAlerts(rec, unit);
    expect(tables).toEqual(['alert_events', 'alerts']);
    await insertAlerts(rec, unit);
    expect(await count(c, 'alerts')).toBe(2);
    expect(await count(c, 'alert_events')).toBe(2);
    const tokens = await c.query<{ t: string }>(
      `SELECT DISTINCT ingest_token AS t FROM ${c.database}.alerts UNION DISTINCT SELECT DISTINCT ingest_token FROM ${c.database}.alert_events`,
    );
    expect(tokens).toEqual([{ t: 'rstwatch.events.v1:0:5-9' }]);
    // Nothing to write is not an error.
    await insertAlerts(c, { token: 'empty', alerts: [], links: [] });
  });
});

describe('alert queries', () => {
  let c: StoreClient;
  // A: a reset attack raised (v1), updated (v2) and closed (v3) in three units; B: a port scan (v1);
  // OLD: an alert last updated three days ago.
  const a1 = alert({ id: A, updated: tsAgo(500), count: 10 });
  const a2 = alert({
    id: A,
    version: 2,
    updated: tsAgo(300),
    count: 42,
    severity: 'critical',
    severity_score: 99,
  });
  const a3: Alert = {
    ...a2,
    version: 3,
    status: 'closed',
    updated: tsAgo(100),
    summary: 'closed after 60 s quiet',
  };
  const b1 = alert({
    id: B,
    rule: 'port_scan',
    severity: 'medium',
    severity_score: 47,
    entity_kind: 'scanner',
    entity: '198.51.100.7',
    count: 25,
    summary: 'SYN scan of 25 ports on 2 hosts',
    updated: tsAgo(200),
  });
  const old = alert({ id: OLD, updated: tsAgo(3 * 86400), summary: 'old' });
  // RST events of A: two on record, one whose row expired; another RST on e1's connection at another time.
  const t1 = tsAgo(560, 1);
  const t2 = tsAgo(550, 2);
  const t3 = tsAgo(540, 3);
  const e1 = event({
    ts: t1,
    community_id: '1:e1=',
    cause: 'reset_attack',
    origin: 'spoofed',
    src_ip: '203.0.113.1',
  });
  const e2 = event({
    ts: t2,
    community_id: '1:e2=',
    cause: 'reset_attack',
    origin: 'unknown',
    src_ip: '203.0.113.2',
  });
  const sameConnLater = event({ ts: tsAgo(530), community_id: '1:e1=', cause: 'app_abort' });
  const link = (ts: string, community_id: string, src_ip: string) =>
    alertLink({ alert_id: A, ts, community_id, src_ip, dst_ip: '198.18.0.2', dst_port: 443 });

  beforeAll(async () => {
    c = await db();
    // One unit at a time, so the versions of A land in different parts (one insert block would already
    // keep only the highest version).
    const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
    for (const unit of [
      { token: 'ev:0:0-0', events: [e1, e2, sameConnLater], flows: [] },
      {
        token: 'det:0:0-0',
        events: [],
        flows: [],
        alerts: [a1, old],
        alertLinks: [link(t1, '1:e1=', '203.0.113.1'), link(t2, '1:e2=', '203.0.113.2')],
      },
      { token: 'det:0:1-1', events: [], flows: [], alerts: [a2, b1] },
      {
        token: 'det:0:2-2',
        events: [],
        flows: [],
        alerts: [a3],
        alertLinks: [link(t3, '1:gone=', '203.0.113.3')],
      },
    ])
      await w.insert(unit);
    await w.stop();
  });

  it('alerts: the latest version of each alert updated in the window, newest first', async () => {
    expect(await count(c, 'alerts', 'FINAL')).toBe(3);
    const rows = await runQuery(c, 'alerts');
    expect(rows).toEqual([
      {
        updated: a3.updated,
        rule: 'reset_attack',
        severity: 'critical',
        status: 'closed',
        entity: '198.18.0.2',
        count: 42,
        summary: 'closed after 60 s quiet',
        id: A,
        version: 3,
      },
      {
        updated: b1.updated,
        rule: 'port_scan',
        severity: 'medium',
        status: 'open',
        entity: '198.51.100.7',
        count: 25,
        summary: 'SYN scan of 25 ports on 2 hosts',
        id: B,
        version: 1,
      },
    ]);
  });

  it('alerts: filters by rule, widens with hours, stops at limit', async () => {
    expect((await runQuery(c, 'alerts', { rule: 'port_scan' })).map((r) => r.id)).toEqual([B]);
    expect(await runQuery(c, 'alerts', { rule: 'middlebox_tampering' })).toEqual([]);
    expect((await runQuery(c, 'alerts', { hours: 96 })).map((r) => [r.id, r.version])).toEqual([
      [A, 3],
      [B, 1],
      [OLD, 1],
    ]);
    expect((await runQuery(c, 'alerts', { hours: '96', limit: '1' })).map((r) => r.id)).toEqual([A]);
    // An alert whose latest version is older than the window is not shown by an earlier version either.
    expect((await runQuery(c, 'alerts', { hours: 0 })).map((r) => r.id)).toEqual([]);
  });

  it('alert-events: the RST events of one alert, joined on (community_id, ts), expired ones kept', async () => {
    const rows = await runQuery(c, 'alert-events', { id: A });
    const base = {
      sensor: 'sensor-a',
      src_port: 443,
      dst_ip: '198.18.0.2',
      dst_port: 443,
      direction: 'resp',
    };
    expect(rows).toEqual([
      {
        ...base,
        ts: t1,
        src_ip: '203.0.113.1',
        community_id: '1:e1=',
        cause: 'reset_attack',
        origin: 'spoofed',
        confidence: 0.95,
        flags: 'R.',
        evidence: ['syn_answered_by_rst', 'ttl_delta=0'],
      },
      {
        ...base,
        ts: t2,
        src_ip: '203.0.113.2',
        community_id: '1:e2=',
        cause: 'reset_attack',
        origin: 'unknown',
        confidence: 0.95,
        flags: 'R.',
        evidence: ['syn_answered_by_rst', 'ttl_delta=0'],
      },
      {
        ...base,
        direction: '',
        ts: t3,
        src_ip: '203.0.113.3',
        community_id: '1:gone=',
        cause: '',
        origin: '',
        confidence: 0,
        flags: '',
        evidence: [],
      },
    ]);
    expect(await runQuery(c, 'alert-events', { id: B })).toEqual([]);
    expect(await runQuery(c, 'alert-events', { id: A, limit: 1 })).toHaveLength(1);
  });
});
