// The store as the processor uses it: migrate at start, write units keyed by Kafka offset ranges,
// acknowledge before committing, survive a crash-and-replay without duplicates, answer named queries.
import { formatTsUs, type RstEvent } from '@rstwatch/core';
import { EVENT_SELECT, migrate, RowWriter, runQuery, SCHEMA_VERSION, schemaVersion } from '@rstwatch/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';

let ch: ClickHouseHandle;
beforeAll(async () => {
  ch = await getClickHouse();
});
afterAll(async () => {
  await ch?.cleanup();
});

const topic = 'rstwatch.headers.v1';
const now = Math.floor(Date.now() / 1000) * 1_000_000;

function ev(i: number, partition: number): RstEvent {
  const v6 = i % 5 === 0;
  return {
    ts: formatTsUs(now - 60_000_000 + i * 1000 + partition),
    sensor: `s${partition}`,
    community_id: `1:cid${i}`,
    src_ip: v6
      ? `2001:db8::${((i % 65535) + 1).toString(16)}`
      : `10.${partition}.${(i >> 8) & 255}.${i & 255}`,
    src_port: 443,
    dst_ip: v6 ? '2001:db8:ffff::1' : '192.0.2.1',
    dst_port: 1024 + (i % 60000),
    direction: 'resp',
    cause: i % 3 === 0 ? 'closed_port' : i % 3 === 1 ? 'app_abort' : 'injected_reset',
    origin: i % 3 === 2 ? 'middlebox' : 'endpoint',
    phase: i % 3 === 0 ? 'handshake' : 'established',
    confidence: 0.5,
    flags: 'R.',
    seq: (i * 2_654_435_761) >>> 0,
    ack: i,
    ttl: 64,
    ttl_expected: i % 2 ? 64 : null,
    ip_id: v6 ? null : i & 0xffff,
    in_window: i % 4 === 0 ? null : i % 4 === 1,
    seq_exact: i % 4 === 0 ? null : i % 4 === 2,
    payload_len: 0,
    payload_preview: '',
    signature: i % 3 === 2 ? 'PSH+ACK→RST' : 'other',
    conn_state: 'RSTR',
    history: 'ShADr',
    evidence: i % 2 ? ['ttl_delta=0'] : [],
  };
}

/** Units the way the processor cuts them: per partition, consecutive offset ranges. */
function units(partitions: number, perPartition: number, eventsPerUnit: number) {
  const out: { token: string; events: RstEvent[]; flows: never[] }[] = [];
  let i = 0;
  for (let u = 0; u < perPartition; u++) {
    for (let p = 0; p < partitions; p++) {
      const first = u * 10;
      const events = Array.from({ length: eventsPerUnit }, () => ev(i++, p));
      out.push({ token: `${topic}:${p}:${first}-${first + 9}`, events, flows: [] });
    }
  }
  return out;
}

describe(`store against ClickHouse (${process.env.CLICKHOUSE_URL ? 'env' : 'auto'})`, () => {
  it('migrates, is idempotent, and reports the version', async () => {
    const r = await migrate(ch.client);
    expect(r.version).toBe(SCHEMA_VERSION);
    expect((await migrate(ch.client)).applied).toEqual([]);
    expect(await schemaVersion(ch.client)).toBe(SCHEMA_VERSION);
  });

  it('replays after a crash write nothing twice: same units, same tokens', async () => {
    const all = units(4, 10, 25); // 40 units, 1000 events
    // First run: the writer acknowledges every unit; the "processor" then crashes before committing.
    const w1 = new RowWriter({ maxRows: 25, maxDelayMs: 20 }, { client: ch.client });
    await Promise.all(all.map((u) => w1.insert(u)));
    await w1.stop();
    // Second run replays everything from the last committed offset (here: from the start).
    const w2 = new RowWriter({ maxRows: 25, maxDelayMs: 20 }, { client: ch.client });
    await Promise.all(all.map((u) => w2.insert(u)));
    await w2.stop();
    const n = await ch.client.query<{ n: number; u: number }>(
      `SELECT count() AS n, uniqExact(community_id) AS u FROM ${ch.client.database}.rst_events`,
    );
    expect(n).toEqual([{ n: 1000, u: 1000 }]);
    const back = await ch.client.query<RstEvent>(
      `SELECT ${EVENT_SELECT} FROM ${ch.client.database}.rst_events ORDER BY community_id`,
    );
    const want = all.flatMap((u) => u.events).sort((a, b) => (a.community_id < b.community_id ? -1 : 1));
    expect(back).toEqual(want);
    const causes = await runQuery(ch.client, 'top-causes');
    expect(causes.reduce((a, r) => a + Number(r.events), 0)).toBe(1000);
  });
});
