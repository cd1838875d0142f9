import { afterAll, describe, expect, it } from 'vitest';
import { alert, event, sampleEvents, sensorStats, testClient, tsAgo } from './internal/testing.js';
import { currentTtl, migrate, planDdl, schemaVersion } from './migrate.js';
import { alertToRow, EVENT_SELECT, eventToRow } from './rows.js';
import { SCHEMA_VERSION, TABLES, VIEWS } from './schema.js';

const clients: { close(): Promise<void> }[] = [];
function client() {
  const c = testClient();
  clients.push(c);
  return c;
}
afterAll(async () => {
  for (const c of clients) await c.close();
});

async function tables(c: ReturnType<typeof testClient>): Promise<string[]> {
  const rows = await c.query<{ name: string }>(
    'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
    {
      db: c.database,
    },
  );
  return rows.map((r) => r.name);
}

describe('migrate', () => {
  it('creates every table and view from nothing, and a second run is a no-op', async () => {
    const c = client();
    expect(await schemaVersion(c)).toBe(0);
    const seen: string[] = [];
    const first = await migrate(c, { onStep: (n) => seen.push(n) });
    expect(first.version).toBe(SCHEMA_VERSION);
    expect(first.applied).toEqual(seen);
    expect(first.applied).toContain('create-table:rst_events');
    expect(first.applied).toContain('create-view:rst_rollup_1m_mv');
    expect(await tables(c)).toEqual([...TABLES.map((t) => t.name), ...VIEWS.map((v) => v.name)].sort());
    const second = await migrate(c);
    expect(second).toEqual({ applied: [], version: SCHEMA_VERSION });
  });

  it('upgrades a v1 database with data to the current version, keeping the rows', async () => {
    const c = client();
    const v1 = await migrate(c, { targetVersion: 1 });
    expect(v1.version).toBe(1);
    expect(await tables(c)).toEqual(['flows', 'rst_events', 'sensor_stats']);
    const cols = await c.query<{ name: string }>(
      "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'rst_events'",
      { db: c.database },
    );
    expect(cols.map((x) => x.name)).not.toContain('ingest_token');
    // v1 rows: the contract fields only.
    const old = sampleEvents();
    await c.insert('rst_events', old);

    const up = await migrate(c);
    expect(up.version).toBe(SCHEMA_VERSION);
    expect(up.applied).toEqual(
      expect.arrayContaining([
        'add-column:rst_events.ingest_token',
        'add-column:rst_events.inserted_at',
        'add-column:flows.ingest_token',
        'create-table:rst_rollup_1m',
        'create-view:rst_rollup_1h_mv',
        'create-view:rst_by_source_1h_mv',
      ]),
    );
    expect(up.applied).not.toContain('create-table:rst_events');
    expect((await migrate(c)).applied).toEqual([]);

    const back = await c.query(`SELECT ${EVENT_SELECT} FROM ${c.database}.rst_events ORDER BY ts`);
    expect(back).toEqual([...old].sort((a, b) => a.ts.localeCompare(b.ts)));
    // New columns work and the rollups are fed after the upgrade.
    await c.insert('rst_events', [{ ...event({ cause: 'app_abort' }), ingest_token: 'k:0:1-1' }], {
      insert_deduplication_token: 'k:0:1-1',
    });
    const tok = await c.query<{ t: string }>(
      `SELECT ingest_token AS t FROM ${c.database}.rst_events WHERE cause = 'app_abort'`,
    );
    expect(tok).toEqual([{ t: 'k:0:1-1' }]);
    const roll = await c.query<{ n: number }>(`SELECT sum(events) AS n FROM ${c.database}.rst_rollup_1m`);
    expect(roll).toEqual([{ n: 1 }]);
  });

  it('upgrades a v2 database with data to v3: header_batches and sensor_stats.agent_batch_drops', async () => {
    const c = client();
    const v2 = await migrate(c, { targetVersion: 2 });
    expect(v2.version).toBe(2);
    expect(await tables(c)).not.toContain('header_batches');
    // A v2 heartbeat row (no agent_batch_drops column yet).
    const { agent_batch_drops: _, ...old } = sensorStats({ sensor: 'old' });
    await c.insert('sensor_stats', [old]);

    const up = await migrate(c, { targetVersion: 3 });
    expect(up.version).toBe(3);
    expect(up.applied).toEqual(['create-table:header_batches', 'add-column:sensor_stats.agent_batch_drops']);
    expect((await migrate(c, { targetVersion: 3 })).applied).toEqual([]);

    // The old row reads back with an empty map; new rows carry it; header_batches takes rows.
    await c.insert('sensor_stats', [sensorStats({ sensor: 'new', agent_batch_drops: { buffer_full: 2 } })]);
    const drops = await c.query<{ sensor: string; d: Record<string, number> }>(
      `SELECT sensor, agent_batch_drops AS d FROM ${c.database}.sensor_stats ORDER BY sensor`,
    );
    expect(drops).toEqual([
      { sensor: 'new', d: { buffer_full: 2 } },
      { sensor: 'old', d: {} },
    ]);
    await c.insert('header_batches', [
      {
        sensor: 's',
        batch_seq: '18446744073709551615',
        topic: 't',
        partition: 3,
        offset: '42',
        headers: 7,
        first_ts: tsAgo(10),
        received_at: tsAgo(5),
        ingest_token: 't:3:42-42',
      },
    ]);
    const hb = await c.query<{ seq: string; ttl: string }>(
      `SELECT toString(batch_seq) AS seq, engine_full AS ttl FROM ${c.database}.header_batches, system.tables WHERE system.tables.database = {db:String} AND system.tables.name = 'header_batches'`,
      { db: c.database },
    );
    expect(hb[0]!.seq).toBe('18446744073709551615');
    expect(currentTtl(hb[0]!.ttl)).toBe('toDateTime(received_at) + toIntervalDay(90)');
    expect(await schemaVersion(c)).toBe(3);
  });

  it('upgrades a v3 database with data to v4: alerts (latest version per id) and alert_events', async () => {
    const c = client();
    expect((await migrate(c, { targetVersion: 3 })).version).toBe(3);
    expect(await tables(c)).not.toContain('alerts');
    await c.insert('rst_events', [event({ cause: 'reset_attack' })]);

    const up = await migrate(c, { targetVersion: 4 });
    expect(up.version).toBe(4);
    expect(up.applied).toEqual(['create-table:alerts', 'create-table:alert_events']);
    expect((await migrate(c, { targetVersion: 4 })).applied).toEqual([]);
    expect(await schemaVersion(c)).toBe(4);

    const engines = await c.query<{ name: string; engine: string; e: string }>(
      "SELECT name, engine, engine_full AS e FROM system.tables WHERE database = {db:String} AND name LIKE 'alert%' ORDER BY name",
      { db: c.database },
    );
    expect(engines.map((r) => [r.name, r.engine])).toEqual([
      ['alert_events', 'MergeTree'],
      ['alerts', 'ReplacingMergeTree'],
    ]);
    expect(engines[1]!.e).toMatch(
      /^ReplacingMergeTree\(version\) PARTITION BY toYYYYMM\(first_seen\) ORDER BY id /,
    );
    expect(currentTtl(engines[1]!.e)).toBe('toDateTime(inserted_at) + toIntervalDay(365)');
    expect(currentTtl(engines[0]!.e)).toBe('toDateTime(inserted_at) + toIntervalDay(30)');

    // Two versions of one id: both rows until a merge, one (the highest version) with FINAL and after it.
    await c.insert('alerts', [alertToRow(alert({ version: 2, count: 50 }))]);
    await c.insert('alerts', [alertToRow(alert())]);
    const n = async (final: string) =>
      (
        await c.query<{ n: number; v: number }>(
          `SELECT count() AS n, max(version) AS v FROM ${c.database}.alerts ${final}`,
        )
      )[0];
    expect(await n('')).toEqual({ n: 2, v: 2 });
    expect(await n('FINAL')).toEqual({ n: 1, v: 2 });
    await c.command(`OPTIMIZE TABLE ${c.database}.alerts FINAL`);
    const left = await c.query<{ version: number; count: number }>(
      `SELECT version, count FROM ${c.database}.alerts`,
    );
    expect(left).toEqual([{ version: 2, count: 50 }]);
    // The v3 rows are untouched.
    expect(await c.query(`SELECT cause FROM ${c.database}.rst_events`)).toEqual([{ cause: 'reset_attack' }]);
  });

  it('alert_events keeps rows as long as rst_events unless it has its own ttlDays; alerts has its own', () => {
    const ddl = planDdl('rstwatch', { ttlDays: { rst_events: 5 } }).join('\n');
    const tableDdl = (name: string) =>
      ddl.split(/\n(?=CREATE )/).find((d) => d.startsWith('CREATE TABLE') && d.includes(`.\`${name}\` (`)) ??
      '';
    expect(tableDdl('alert_events')).toContain('TTL toDateTime(inserted_at) + toIntervalDay(5)');
    expect(tableDdl('alerts')).toContain('TTL toDateTime(inserted_at) + toIntervalDay(365)');
    const own = planDdl('rstwatch', { ttlDays: { rst_events: 5, alert_events: 9, alerts: 0 } }).join('\n');
    expect(own).toContain('TTL toDateTime(inserted_at) + toIntervalDay(9)');
    expect(own).not.toContain('toIntervalDay(365)');
  });

  it('converges a half-applied state (some v2 steps done by hand)', async () => {
    const c = client();
    await migrate(c, { targetVersion: 1 });
    await c.command(`ALTER TABLE ${c.database}.rst_events ADD COLUMN ingest_token String DEFAULT ''`);
    const r = await migrate(c);
    expect(r.applied).not.toContain('add-column:rst_events.ingest_token');
    expect(r.applied).toContain('add-column:rst_events.inserted_at');
    expect(r.version).toBe(SCHEMA_VERSION);
  });

  it('applies TTL changes with ALTER and removes a TTL set to 0', async () => {
    const c = client();
    await migrate(c);
    const ttlOf = async (t: string) => {
      const rows = await c.query<{ e: string }>(
        'SELECT engine_full AS e FROM system.tables WHERE database = {db:String} AND name = {t:String}',
        { db: c.database, t },
      );
      return currentTtl(rows[0]!.e);
    };
    expect(await ttlOf('rst_events')).toBe('toDateTime(inserted_at) + toIntervalDay(30)');
    expect(await ttlOf('rst_rollup_1h')).toBe('stored_at + toIntervalDay(30)');
    const r = await migrate(c, { ttlDays: { rst_events: 7, flows: 0 } });
    // alert_events and the rollups follow rst_events (no entry of their own).
    expect(r.applied).toEqual([
      'ttl:rst_events',
      'ttl:flows',
      'ttl:rst_rollup_1m',
      'ttl:rst_rollup_1h',
      'ttl:rst_by_source_1h',
      'ttl:alert_events',
    ]);
    expect(await ttlOf('rst_events')).toBe('toDateTime(inserted_at) + toIntervalDay(7)');
    expect(await ttlOf('alert_events')).toBe('toDateTime(inserted_at) + toIntervalDay(7)');
    expect(await ttlOf('rst_rollup_1m')).toBe('stored_at + toIntervalDay(7)');
    expect(await ttlOf('flows')).toBe('');
    expect((await migrate(c, { ttlDays: { rst_events: 7, flows: 0 } })).applied).toEqual([]);
    // Back to defaults.
    expect((await migrate(c)).applied).toHaveLength(6);
    // Rows expire by the time they were stored: a row stored long ago goes (inserted_at given
    // explicitly), an old capture stored now stays, in rst_events and in the rollups alike.
    await c.insert('rst_events', [
      {
        ...eventToRow(event({ ts: '2020-01-01T00:00:00.000001Z', cause: 'app_abort' })),
        inserted_at: '2020-01-01 00:00:01.000',
      },
    ]);
    await c.command(
      `INSERT INTO ${c.database}.rst_rollup_1m (ts, cause, origin, sensor, service_ip, service_port, events, stored_at) VALUES ('2020-01-01 00:00:00', 'idle_timeout', 'endpoint', 's', '::1', 1, 1, '2020-01-01 00:00:01')`,
    );
    await c.insert('rst_events', [event({ ts: '2020-01-01T00:00:00.000001Z' }), event()]);
    for (const t of ['rst_events', 'rst_rollup_1m', 'rst_rollup_1h', 'rst_by_source_1h'])
      await c.command(`OPTIMIZE TABLE ${c.database}.${t} FINAL`);
    const n = await c.query<{ n: number }>(`SELECT count() AS n FROM ${c.database}.rst_events`);
    expect(n).toEqual([{ n: 2 }]);
    const rolled = await c.query<{ cause: string; events: number }>(
      // app_abort: the view stored it now (an explicit inserted_at only backdates the raw row); the
      // idle_timeout row stored in 2020 is gone.
      `SELECT cause, sum(events) AS events FROM ${c.database}.rst_rollup_1m WHERE cause != 'app_abort' GROUP BY cause`,
    );
    expect(rolled).toEqual([{ cause: 'closed_port', events: 2 }]);
    const stored = await c.query<{ ok: number }>(
      `SELECT min(stored_at) >= now() - 600 AS ok FROM ${c.database}.rst_by_source_1h`,
    );
    expect(stored).toEqual([{ ok: 1 }]);
  });

  it('applies ttlDays.rollups to every rollup table unless the table has its own value', () => {
    const ddl = planDdl('rstwatch', { ttlDays: { rollups: 7, rst_rollup_1h: 30, rst_events: 5 } }).join('\n');
    const tableDdl = (name: string) =>
      ddl.split(/\n(?=CREATE )/).find((d) => d.startsWith('CREATE TABLE') && d.includes(`.\`${name}\` (`)) ??
      '';
    expect(tableDdl('rst_rollup_1m')).toMatch(/TTL .*toIntervalDay\(7\)/);
    expect(tableDdl('rst_by_source_1h')).toMatch(/TTL .*toIntervalDay\(7\)/);
    expect(tableDdl('rst_rollup_1h')).toMatch(/TTL .*toIntervalDay\(30\)/);
    expect(tableDdl('rst_events')).toMatch(/TTL .*toIntervalDay\(5\)/);
  });

  it('rejects unknown tables in ttlDays and bad versions, naming the allowed values', async () => {
    const c = client();
    await expect(migrate(c, { ttlDays: { nope: 1 } as never })).rejects.toThrow(
      /unknown table "nope"; allowed: rollups, rst_events/,
    );
    await expect(migrate(c, { targetVersion: 99 })).rejects.toThrow(
      new RegExp(`targetVersion must be an integer in 1\\.\\.${SCHEMA_VERSION}`),
    );
    await expect(migrate(c, { ttlDays: { flows: -1 } })).rejects.toThrow(
      /ttlDays.flows must be a non-negative integer/,
    );
  });
});

describe('cluster DDL', () => {
  const ddl = planDdl('rstwatch', { cluster: 'dc1', ttlDays: { flows: 0 } });

  it('puts ON CLUSTER on every statement and uses Replicated engines and Distributed tables', () => {
    for (const s of ddl) expect(s).toMatch(/ ON CLUSTER `dc1`/);
    for (const t of TABLES) {
      const local = ddl.find((s) =>
        s.startsWith(`CREATE TABLE IF NOT EXISTS \`rstwatch\`.\`${t.name}_local\``),
      );
      expect(local, t.name).toBeDefined();
      const version = t.versionColumn ? `, \`${t.versionColumn}\`` : '';
      expect(local).toContain(
        `ENGINE = Replicated${t.engine}('/clickhouse/tables/{shard}/rstwatch/${t.name}_local', '{replica}'${version})`,
      );
      expect(local).toContain('replicated_deduplication_window = 10000');
      expect(local).not.toContain('non_replicated_deduplication_window');
      const dist = ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS \`rstwatch\`.\`${t.name}\` `));
      expect(dist).toContain(`AS \`rstwatch\`.\`${t.name}_local\``);
      expect(dist).toMatch(
        new RegExp(`ENGINE = Distributed\\(\`dc1\`, \`rstwatch\`, \`${t.name}_local\`, cityHash64\\(`),
      );
      // Local table before its Distributed table.
      expect(ddl.indexOf(local as string)).toBeLessThan(ddl.indexOf(dist as string));
    }
    expect(ddl.find((s) => s.includes('`flows_local`') && s.startsWith('CREATE'))).not.toMatch(/\nTTL /);
  });

  it('alerts is a ReplicatedReplacingMergeTree on its version, sharded by id like alert_events by alert_id', () => {
    const local = ddl.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS `rstwatch`.`alerts_local`'));
    expect(local).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/rstwatch/alerts_local', '{replica}', `version`)\nPARTITION BY toYYYYMM(first_seen)\nORDER BY id\nTTL toDateTime(inserted_at) + toIntervalDay(365)\n",
    );
    const dist = ddl.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS `rstwatch`.`alerts` '));
    expect(dist).toContain('ENGINE = Distributed(`dc1`, `rstwatch`, `alerts_local`, cityHash64(id))');
    const links = ddl.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS `rstwatch`.`alert_events` '));
    expect(links).toContain('cityHash64(alert_id))');
    const single = planDdl('rstwatch').find((s) =>
      s.startsWith('CREATE TABLE IF NOT EXISTS `rstwatch`.`alerts`'),
    );
    expect(single).toContain('ENGINE = ReplacingMergeTree(`version`)\n');
  });

  it('feeds local rollups from local tables', () => {
    for (const v of VIEWS) {
      const s = ddl.find((x) => x.includes(`MATERIALIZED VIEW IF NOT EXISTS \`rstwatch\`.\`${v.name}\``));
      expect(s).toContain(`TO \`rstwatch\`.\`${v.to}_local\``);
      expect(s).toContain(`FROM \`rstwatch\`.\`${v.from}_local\``);
    }
  });

  it('is balanced and has no leftover template markers', () => {
    for (const s of ddl) {
      let depth = 0;
      for (const ch of s.replace(/'[^']*'/g, '')) {
        if (ch === '(') depth++;
        if (ch === ')') depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
      expect(s).not.toMatch(/\{from\}|undefined|\[object/);
    }
  });

  it('single-server DDL has no cluster parts', () => {
    const single = planDdl('rstwatch');
    for (const s of single) {
      expect(s).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local/);
    }
    expect(single.join('\n')).toContain('non_replicated_deduplication_window = 10000');
  });
});
