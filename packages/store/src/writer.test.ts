import { deadlineIn, type FlowRecord, type RstEvent } from '@rstwatch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreClient } from './client.js';
import {
  event,
  flow,
  sampleEvents,
  sampleFlows,
  sensorStats,
  testClient,
  tsAgo,
} from './internal/testing.js';
import { migrate } from './migrate.js';
import { EVENT_SELECT, FLOW_SELECT } from './rows.js';
import { batchToken, RowWriter } from './writer.js';

let c: StoreClient;
beforeAll(async () => {
  c = testClient();
  await migrate(c);
});
afterAll(async () => {
  await c.close();
});

const t = (name: string) => `${c.database}.${name}`;
const count = async (table: string, where = '1') =>
  (await c.query<{ n: number }>(`SELECT count() AS n FROM ${t(table)} WHERE ${where}`))[0]!.n;

/** A client whose inserts fail `failures` times before passing through (Infinity = always). */
function failing(inner: StoreClient, failures: number) {
  let calls = 0;
  const wrapped: StoreClient & { calls: () => number } = {
    ...inner,
    calls: () => calls,
    async insert(table, rows, settings) {
      calls++;
      if (calls <= failures) throw new Error(`injected failure ${calls} (connection reset)`);
      return inner.insert(table, rows, settings);
    },
  };
  return wrapped;
}

describe('RowWriter', () => {
  it('writes events and flows that read back identically, every field', async () => {
    const w = new RowWriter({ maxDelayMs: 20 }, { client: c });
    const events = sampleEvents().map((e) => ({ ...e, sensor: 'roundtrip' }));
    const flows = sampleFlows().map((f) => ({ ...f, sensor: 'roundtrip' }));
    await w.insert({ token: 'rt:0:0-9', events, flows });
    await w.stop();
    const evBack = await c.query<RstEvent>(
      `SELECT ${EVENT_SELECT} FROM ${t('rst_events')} WHERE sensor = 'roundtrip' ORDER BY ts`,
    );
    expect(evBack).toEqual([...events].sort((a, b) => a.ts.localeCompare(b.ts)));
    // Nulls stay nulls (not 0 / false), IPv6 stays IPv6, IPv4 comes back dotted.
    const v6 = evBack.find((e) => e.src_ip === '2001:db8::1')!;
    expect(v6.ttl_expected).toBeNull();
    expect(v6.ip_id).toBeNull();
    expect(v6.in_window).toBeNull();
    expect(v6.seq_exact).toBeNull();
    expect(v6.signature).toBe('PSH+ACK→RST;RST₀');
    const flBack = await c.query<FlowRecord>(
      `SELECT ${FLOW_SELECT} FROM ${t('flows')} WHERE sensor = 'roundtrip' ORDER BY uid`,
    );
    expect(flBack).toEqual([...flows].sort((a, b) => a.uid.localeCompare(b.uid)));
    const tokens = await c.query<{ ingest_token: string }>(
      `SELECT DISTINCT ingest_token FROM ${t('rst_events')} WHERE sensor = 'roundtrip'`,
    );
    expect(tokens).toEqual([{ ingest_token: 'rt:0:0-9' }]);
  });

  it('writes sensor_stats rows with their maps', async () => {
    const w = new RowWriter({ maxDelayMs: 20 }, { client: c });
    const s = sensorStats({ sensor: 'stats-rt', parse_errors: { truncated_ip: 3, bad_tcp_offset: 1 } });
    await w.insert({ token: 'sensors:0:5-5', events: [], flows: [], sensorStats: [s] });
    await w.stop();
    const back = await c.query<Record<string, unknown>>(
      `SELECT sensor, packets, parse_errors, agent_drops, lost_batches FROM ${t('sensor_stats')} WHERE sensor = 'stats-rt'`,
    );
    expect(back).toEqual([
      {
        sensor: 'stats-rt',
        packets: 1_000_000,
        parse_errors: { truncated_ip: 3, bad_tcp_offset: 1 },
        agent_drops: { buffer_full: 1000 },
        lost_batches: 0,
      },
    ]);
  });

  it('writes a unit submitted twice (a replay) only once, in the table and in the rollups', async () => {
    const unit = () => ({
      token: 'rstwatch.headers.v1:3:100-199',
      events: [
        event({ sensor: 'dedup', ts: tsAgo(10) }),
        event({ sensor: 'dedup', src_port: 444, ts: tsAgo(10) }),
      ],
      flows: [flow({ sensor: 'dedup', uid: 'Cdedup' })],
    });
    const u = unit();
    for (let i = 0; i < 2; i++) {
      const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
      await w.insert(u);
      await w.stop();
    }
    expect(await count('rst_events', "sensor = 'dedup'")).toBe(2);
    expect(await count('flows', "sensor = 'dedup'")).toBe(1);
    const roll = await c.query<{ n: number; s: number }>(
      `SELECT sum(events) AS n, uniqMerge(senders) AS s FROM ${t('rst_rollup_1m')} WHERE sensor = 'dedup'`,
    );
    expect(roll).toEqual([{ n: 2, s: 1 }]);
    expect(
      (
        await c.query<{ n: number }>(
          `SELECT sum(events) AS n FROM ${t('rst_rollup_1h')} WHERE sensor = 'dedup'`,
        )
      )[0]!.n,
    ).toBe(2);
    expect(
      (
        await c.query<{ n: number }>(
          `SELECT sum(events) AS n FROM ${t('rst_by_source_1h')} WHERE sensor = 'dedup'`,
        )
      )[0]!.n,
    ).toBe(2);
    // A different token with the same rows is new data and is written.
    const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
    await w.insert({ ...unit(), token: 'rstwatch.headers.v1:3:200-299' });
    await w.stop();
    expect(await count('rst_events', "sensor = 'dedup'")).toBe(4);
  });

  it('feeds the rollups: per minute, per hour and by source', async () => {
    const w = new RowWriter({ maxDelayMs: 10 }, { client: c });
    const ts = tsAgo(5);
    const scan = Array.from({ length: 30 }, (_, i) =>
      event({
        sensor: 'mv',
        ts,
        cause: 'syn_scan',
        direction: 'orig',
        src_ip: '198.51.100.7',
        dst_ip: `10.1.0.${i % 3}`,
        dst_port: 1000 + i,
        src_port: 40000,
      }),
    );
    await w.insert({ token: 'mv:0:0-0', events: scan, flows: [] });
    await w.stop();
    const byService = await c.query<{ n: number; clients: number }>(
      `SELECT sum(events) AS n, uniqMerge(clients) AS clients FROM ${t('rst_rollup_1m')} WHERE sensor = 'mv' AND cause = 'syn_scan'`,
    );
    expect(byService).toEqual([{ n: 30, clients: 1 }]);
    const src = await c.query<Record<string, number | string>>(
      `SELECT IPv6NumToString(orig_ip) AS ip, sum(events) AS n, sum(scan_events) AS scans, uniqMerge(dst_ports) AS ports, uniqMerge(dst_hosts) AS hosts
       FROM ${t('rst_by_source_1h')} WHERE sensor = 'mv' GROUP BY orig_ip`,
    );
    expect(src).toEqual([{ ip: '::ffff:198.51.100.7', n: 30, scans: 30, ports: 30, hosts: 3 }]);
  });

  it('batches by row count: many small units become few inserts, each unit resolved', async () => {
    let inserts = 0;
    const counting: StoreClient = {
      ...c,
      insert: (tb, rows, s) => {
        inserts += 1;
        return c.insert(tb, rows, s);
      },
    };
    const w = new RowWriter({ maxRows: 100, maxDelayMs: 60_000 }, { client: counting });
    const done: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      done.push(
        w.insert({
          token: `batch:0:${i}-${i}`,
          events: [event({ sensor: 'batch', src_port: i }), event({ sensor: 'batch', src_port: 1000 + i })],
          flows: [],
        }),
      );
    }
    // 50 units x 2 rows = 100 rows = maxRows: written without waiting for the 60 s timer.
    await Promise.all(done);
    expect(inserts).toBe(1);
    expect(w.stats()).toMatchObject({
      queuedRows: 0,
      batches: 1,
      failures: 0,
      insertedRows: { rst_events: 100 },
    });
    await w.stop();
    expect(await count('rst_events', "sensor = 'batch'")).toBe(100);
  });

  it('flushes on time when rows stay below maxRows', async () => {
    const w = new RowWriter({ maxRows: 1_000_000, maxDelayMs: 50 }, { client: c });
    const t0 = Date.now();
    await w.insert({ token: 'timer:0:0-0', events: [event({ sensor: 'timer' })], flows: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(await count('rst_events', "sensor = 'timer'")).toBe(1);
    await w.stop();
  });

  it('retries a failing connection with backoff and writes exactly once', async () => {
    const fc = failing(c, 3);
    const errors: number[] = [];
    const w = new RowWriter(
      { maxDelayMs: 5, retryInitialMs: 10 },
      { client: fc },
      { onError: (_e, i) => errors.push(i.attempt) },
    );
    await w.insert({
      token: 'retry:0:0-0',
      events: [event({ sensor: 'retry' })],
      flows: [flow({ sensor: 'retry' })],
    });
    await w.stop();
    expect(errors).toEqual([1, 2, 3]);
    expect(fc.calls()).toBe(5); // 3 failures + events + flows
    expect(await count('rst_events', "sensor = 'retry'")).toBe(1);
    expect(await count('flows', "sensor = 'retry'")).toBe(1);
    expect(w.stats()).toMatchObject({ failures: 3, rejectedUnits: 0, batches: 1, keepingUp: true });
  });

  it('retries after a failure that happened after the server wrote the rows, without duplicating them', async () => {
    // The insert reaches ClickHouse but the acknowledgement is lost: the retry carries the same token.
    let lost = true;
    const ackLost: StoreClient = {
      ...c,
      async insert(tb, rows, s) {
        await c.insert(tb, rows, s);
        if (lost) {
          lost = false;
          throw new Error('socket hang up');
        }
      },
    };
    const w = new RowWriter({ maxDelayMs: 5, retryInitialMs: 5 }, { client: ackLost });
    await w.insert({
      token: 'acklost:0:0-1',
      events: [event({ sensor: 'acklost' }), event({ sensor: 'acklost', seq: 1 })],
      flows: [],
    });
    await w.stop();
    expect(await count('rst_events', "sensor = 'acklost'")).toBe(2);
    expect(w.stats().failures).toBe(1);
  });

  it('rejects the unit after the deadline when ClickHouse never accepts it', async () => {
    const fc = failing(c, Number.POSITIVE_INFINITY);
    const w = new RowWriter(
      { maxDelayMs: 5, retryInitialMs: 10, retryMaxMs: 40, deadlineMs: 300 },
      { client: fc },
    );
    const t0 = Date.now();
    await expect(
      w.insert({ token: 'never:0:0-0', events: [event({ sensor: 'never' })], flows: [] }),
    ).rejects.toThrow(
      /insert into rst_events \(token never:0:0-0\) not acknowledged after \d+ attempt\(s\): injected failure/,
    );
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(3000);
    expect(fc.calls()).toBeGreaterThanOrEqual(4);
    expect(w.stats()).toMatchObject({ rejectedUnits: 1, batches: 0 });
    expect(await count('rst_events', "sensor = 'never'")).toBe(0);
    await w.stop();
  });

  it('stop(deadline) rejects units still unacknowledged and refuses new ones', async () => {
    const fc = failing(c, Number.POSITIVE_INFINITY);
    const w = new RowWriter({ maxDelayMs: 60_000, retryInitialMs: 50, deadlineMs: 60_000 }, { client: fc });
    const p = w.insert({ token: 'closing:0:0-0', events: [event({ sensor: 'closing' })], flows: [] });
    const t0 = Date.now();
    await w.stop(deadlineIn(200));
    await expect(p).rejects.toThrow(/not acknowledged/);
    expect(Date.now() - t0).toBeLessThan(2000);
    await expect(w.insert({ token: 'x', events: [], flows: [] })).rejects.toThrow(/closed/);
  });

  it('reports queue state while ClickHouse is slow', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: StoreClient = {
      ...c,
      insert: async (tb, rows, s) => {
        await gate;
        return c.insert(tb, rows, s);
      },
    };
    const w = new RowWriter({ maxRows: 2, maxDelayMs: 10 }, { client: slow });
    const a = w.insert({
      token: 'slow:0:0-0',
      events: [event({ sensor: 'slow' }), event({ sensor: 'slow', seq: 2 })],
      flows: [],
    });
    const b = w.insert({ token: 'slow:0:1-1', events: [event({ sensor: 'slow', seq: 3 })], flows: [] });
    await new Promise((r) => setTimeout(r, 50));
    const s = w.stats();
    expect(s.inFlightRows).toBe(2);
    expect(s.queuedRows).toBe(1);
    expect(s.queuedUnits).toBe(1);
    expect(s.oldestQueuedMs).toBeGreaterThanOrEqual(40);
    release();
    await Promise.all([a, b]);
    await w.stop();
    expect(w.stats()).toMatchObject({
      queuedRows: 0,
      inFlightRows: 0,
      insertedRows: { rst_events: 3 },
      batches: 2,
    });
  });

  it('rejects a batch with bad data at once instead of retrying until the deadline', async () => {
    const w = new RowWriter({ maxDelayMs: 5, retryInitialMs: 10, deadlineMs: 30_000 }, { client: c });
    const t0 = Date.now();
    await expect(
      w.insert({
        token: 'poison:0:0-0',
        events: [event({ sensor: 'poison', src_ip: 'not-an-ip' })],
        flows: [],
      }),
    ).rejects.toThrow(/insert into rst_events \(token poison:0:0-0\) rejected by ClickHouse, not retried/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(w.stats()).toMatchObject({ failures: 1, rejectedUnits: 1 });
    // The next unit goes through.
    await w.insert({ token: 'poison:0:1-1', events: [event({ sensor: 'poison' })], flows: [] });
    await w.stop();
    expect(await count('rst_events', "sensor = 'poison'")).toBe(1);
  });

  it('ignores fields the schema does not have yet (contract ahead of migration)', async () => {
    const w = new RowWriter({ maxDelayMs: 5 }, { client: c });
    const future = { ...event({ sensor: 'future' }), new_field_v3: 'x' } as RstEvent;
    await w.insert({ token: 'future:0:0-0', events: [future], flows: [] });
    await w.stop();
    expect(await count('rst_events', "sensor = 'future'")).toBe(1);
  });

  it('derives one stable token per batch', () => {
    expect(batchToken(['t:0:1-2'])).toBe('t:0:1-2');
    const many = batchToken(['t:0:1-2', 't:1:5-9']);
    expect(many).toBe(batchToken(['t:0:1-2', 't:1:5-9']));
    expect(many).not.toBe(batchToken(['t:1:5-9', 't:0:1-2']));
    expect(many).toMatch(/^t:0:1-2\.\.t:1:5-9#2:[0-9a-f]{32}$/);
  });
});
