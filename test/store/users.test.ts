// rstwatch's ClickHouse users (infra/clickhouse/users.d/rstwatch.xml and users.sql), checked with the
// real engine's access control. The embedded engine (chdb, clickhouse-local) enforces grants and
// profiles for its one session user, `default`, and reads a users.xml given with --config-file, but has
// no writable access storage (CREATE USER / GRANT fail there) and no way to switch users. So each user
// gets its own engine process whose `default` user is that user's definition from the repository's
// XML (its profile and its <grants>), on one shared data directory, and runs what the component
// running as that user does: `rstwatch migrate` (the real migrate()), the processor's and detection
// stage's inserts with the writer's settings, Grafana/SIEM selects; plus what it must not do.
// users.sql cannot run in the embedded engine: its statements are parsed (formatQuery) and its grants
// and profile settings compared with the XML's.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const xml = readFileSync(new URL('../../infra/clickhouse/users.d/rstwatch.xml', import.meta.url), 'utf8');
const sql = readFileSync(new URL('../../infra/clickhouse/users.sql', import.meta.url), 'utf8');
const testDir = fileURLToPath(new URL('..', import.meta.url));
const chdbFrom = fileURLToPath(new URL('../../packages/store/package.json', import.meta.url));

const USERS = ['rstwatch_migrate', 'rstwatch_writer', 'rstwatch_reader'] as const;
type User = (typeof USERS)[number];
/** Tables the processor and the detection stage insert into. */
const WRITTEN = ['rst_events', 'flows', 'sensor_stats', 'header_batches', 'alerts', 'alert_events'];
/** The writer's insert settings (packages/store/src/writer.ts, insertSettings). */
const WRITER_SETTINGS = {
  insert_deduplication_token: 'users-test-1',
  deduplicate_blocks_in_dependent_materialized_views: 1,
  input_format_skip_unknown_fields: 1,
};

/** A row for any written table: the time columns TTLs use set to now (the writer skips unknown fields). */
const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
const ROW = { ts: now, received_at: now, first_ts: now };

const xmlNoComments = xml.replace(/<!--[\s\S]*?-->/g, '');
const section = (src: string, tag: string): string => {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(src);
  if (!m) throw new Error(`<${tag}> not found`);
  return m[1]!;
};
const usersXml = section(xmlNoComments, 'users');
const profilesXml = section(xmlNoComments, 'profiles');
const userXml = (u: User) => section(usersXml, u);
const xmlGrants = (u: User) => [...userXml(u).matchAll(/<query>([^<]+)<\/query>/g)].map((m) => m[1]!.trim());
const xmlProfile = (u: User) => /<profile>([^<]+)<\/profile>/.exec(userXml(u))![1]!;
const xmlProfileSettings = (p: string) =>
  Object.fromEntries(
    [...section(profilesXml, p).matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!]),
  );

/** users.sql as statements, comments dropped. */
const sqlStatements = sql
  .split('\n')
  .filter((l) => !l.startsWith('--'))
  .join('\n')
  .split(';')
  .map((s) => s.trim().replace(/\s+/g, ' '))
  .filter(Boolean);

// ---- one engine process per user ---------------------------------------------------------------

type Op =
  | { op: 'command'; sql: string }
  | { op: 'query'; sql: string }
  | { op: 'insert'; table: string; rows: object[]; settings?: Record<string, unknown> }
  | { op: 'migrate'; opts?: Record<string, unknown> };
type Outcome = { ok: true; rows?: unknown; applied?: string[] } | { ok: false; error: string };

const child = `
import { createRequire } from 'node:module';
const { path, config, ops } = JSON.parse(process.env.USERS_TEST_INPUT);
const { Session } = createRequire(process.env.USERS_TEST_CHDB)('chdb');
// The engine starts with the users file; the store client below reuses it (one engine per data dir).
const session = new Session(path, { connectionArgs: ['--config-file=' + config] });
const { createClickHouse, migrate } = await import('@rstwatch/store');
const c = createClickHouse({ url: 'embedded', embeddedPath: path, database: 'rstwatch' });
const out = [];
for (const o of ops) {
  try {
    if (o.op === 'command') { await c.command(o.sql); out.push({ ok: true }); }
    else if (o.op === 'query') out.push({ ok: true, rows: await c.query(o.sql) });
    else if (o.op === 'insert') { await c.insert(o.table, o.rows, o.settings); out.push({ ok: true }); }
    else { const r = await migrate(c, o.opts ?? {}); out.push({ ok: true, applied: r.applied }); }
  } catch (err) { out.push({ ok: false, error: String(err.message) }); }
}
await c.close();
session.close();
process.stdout.write('\\n@@RESULT@@' + JSON.stringify(out));
`;

const work = mkdtempSync(join(tmpdir(), 'rstwatch-users-'));
const dataDir = join(work, 'data');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A users.xml whose `default` user is `who` from the repository's file (or an unrestricted admin). */
function usersConfig(who: User | 'admin'): string {
  const users = join(work, `${who}-users.xml`);
  const def =
    who === 'admin'
      ? '<profile>default</profile>'
      : userXml(who)
          .replace(/<password[^>]*\/>/, '')
          .replace(/<networks>[\s\S]*?<\/networks>/, '');
  writeFileSync(
    users,
    `<clickhouse><profiles><default/>${profilesXml}</profiles><quotas><default/></quotas><users><default>` +
      `<password/><networks><ip>::/0</ip></networks>${def}</default></users></clickhouse>`,
  );
  const config = join(work, `${who}-config.xml`);
  writeFileSync(
    config,
    `<clickhouse><user_directories><users_xml><path>${users}</path></users_xml></user_directories></clickhouse>`,
  );
  return config;
}

function runAs(who: User | 'admin', ops: Op[]): Outcome[] {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
    cwd: testDir,
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      ...process.env,
      USERS_TEST_CHDB: chdbFrom,
      USERS_TEST_INPUT: JSON.stringify({ path: dataDir, config: usersConfig(who), ops }),
    },
  });
  const i = r.stdout?.lastIndexOf('@@RESULT@@') ?? -1;
  if (r.status !== 0 || i < 0) throw new Error(`engine as ${who} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.slice(i + '@@RESULT@@'.length)) as Outcome[];
}

const denied = (o: Outcome | undefined) => {
  expect(o?.ok, JSON.stringify(o)).toBe(false);
  expect((o as { error: string }).error).toMatch(
    /Not enough privileges|readonly mode|ACCESS_DENIED|READONLY/,
  );
};
const ok = (o: Outcome | undefined) => expect(o, JSON.stringify(o)).toMatchObject({ ok: true });

// ---- the files ---------------------------------------------------------------------------------

describe('ClickHouse users: the files', () => {
  it('define migrate, writer and reader users with passwords from the environment only', () => {
    expect([...usersXml.matchAll(/^ {4}<(\w+)>/gm)].map((m) => m[1])).toEqual([...USERS]);
    for (const u of USERS) {
      expect(userXml(u)).toMatch(/<password from_env="CH_[A-Z_]+_PASSWORD"\/>/);
      expect(userXml(u)).not.toMatch(/<password>|password_sha256_hex|password_double_sha1_hex/);
      expect(userXml(u)).toContain('<access_management>0</access_management>');
    }
    for (const s of sqlStatements.filter((x) => x.startsWith('CREATE USER'))) {
      expect(s).toMatch(/BY '\$\{CH_RSTWATCH_[A-Z]+_PASSWORD\}'/);
    }
  });

  it('users.sql grants each user what the XML grants, with the same profile settings', () => {
    for (const u of USERS) {
      const fromSql = sqlStatements
        .filter((s) => s.startsWith('GRANT ') && s.endsWith(` TO ${u}`))
        .map((s) => s.slice(0, -` TO ${u}`.length));
      expect(fromSql, u).toEqual(xmlGrants(u));
      const create = sqlStatements.find((s) => s.startsWith(`CREATE USER IF NOT EXISTS ${u} `));
      expect(create, u).toMatch(new RegExp(`SETTINGS PROFILE ${xmlProfile(u)}$`));
    }
    for (const p of ['rstwatch_writer', 'rstwatch_reader']) {
      const s = sqlStatements.find((x) => x.startsWith(`CREATE SETTINGS PROFILE IF NOT EXISTS ${p} `))!;
      const settings = Object.fromEntries(
        s
          .replace(/^.* SETTINGS /, '')
          .split(',')
          .map((kv) => kv.split('=').map((x) => x.trim())),
      );
      expect(settings, p).toEqual(xmlProfileSettings(p));
    }
    expect(xmlProfileSettings('rstwatch_reader').readonly).toBe('2');
  });

  it("users.sql parses (ClickHouse's own parser, formatQuery)", () => {
    expect(sqlStatements.length).toBe(9);
    const r = runAs(
      'admin',
      sqlStatements.map((s) => ({
        op: 'query' as const,
        sql: `SELECT formatQuery('${s.replace(/\$\{\w+\}/g, 'placeholder').replaceAll("'", "\\'")}') AS f`,
      })),
    );
    for (const o of r) ok(o);
  });
});

// ---- what each user can do ---------------------------------------------------------------------

describe('ClickHouse users: access control in the engine', () => {
  it('rstwatch_migrate: runs every migration (fresh, upgrade, TTL change and removal), nothing else', () => {
    const r = runAs('rstwatch_migrate', [
      { op: 'migrate', opts: { targetVersion: 1 } },
      { op: 'migrate' },
      { op: 'migrate', opts: { ttlDays: { flows: 7 } } },
      { op: 'migrate', opts: { ttlDays: { flows: 0 } } },
      { op: 'migrate' },
      { op: 'command', sql: 'DROP TABLE rstwatch.flows' },
      { op: 'command', sql: 'TRUNCATE TABLE rstwatch.flows' },
      { op: 'command', sql: 'CREATE DATABASE other' },
      { op: 'command', sql: "CREATE USER intruder IDENTIFIED BY 'x'" },
    ]);
    for (const o of r.slice(0, 5)) ok(o);
    expect((r[0] as { applied: string[] }).applied).toContain('create-database');
    expect((r[1] as { applied: string[] }).applied.some((s) => s.startsWith('add-column:'))).toBe(true);
    expect((r[2] as { applied: string[] }).applied).toEqual(['ttl:flows']);
    expect((r[3] as { applied: string[] }).applied).toEqual(['ttl:flows']);
    for (const o of r.slice(5)) denied(o);
  });

  it('rstwatch_writer: the processor start-up schema check, inserts into every written table (and the rollups through the views), no DDL', () => {
    const r = runAs('rstwatch_writer', [
      { op: 'migrate' },
      ...WRITTEN.map((table) => ({ op: 'insert' as const, table, rows: [ROW], settings: WRITER_SETTINGS })),
      { op: 'query', sql: 'SELECT sum(events) AS n FROM rstwatch.rst_rollup_1m' },
      { op: 'command', sql: 'CREATE TABLE rstwatch.x (a UInt8) ENGINE = Memory' },
      { op: 'command', sql: 'ALTER TABLE rstwatch.flows ADD COLUMN x UInt8' },
      { op: 'command', sql: 'ALTER TABLE rstwatch.flows MODIFY TTL toDateTime(ts) + toIntervalDay(1)' },
      { op: 'command', sql: 'DROP TABLE rstwatch.flows' },
      { op: 'command', sql: 'TRUNCATE TABLE rstwatch.rst_events' },
      { op: 'command', sql: 'ALTER TABLE rstwatch.rst_events DELETE WHERE 1' },
    ]);
    expect(r[0]).toEqual({ ok: true, applied: [] });
    for (const o of r.slice(1, 1 + WRITTEN.length)) ok(o);
    expect(r[1 + WRITTEN.length]).toEqual({ ok: true, rows: [{ n: 1 }] });
    for (const o of r.slice(2 + WRITTEN.length)) denied(o);
  });

  it('rstwatch_reader: selects (rows, rollups, table list, settings as the Grafana plugin sends them), no INSERT/DDL, cannot lift readonly', () => {
    const tables = [...WRITTEN, 'rst_rollup_1m', 'rst_rollup_1h', 'rst_by_source_1h'];
    const r = runAs('rstwatch_reader', [
      ...tables.map((t) => ({ op: 'query' as const, sql: `SELECT count() AS n FROM rstwatch.${t}` })),
      {
        op: 'query',
        sql: "SELECT count() AS n FROM system.tables WHERE database = 'rstwatch' SETTINGS max_execution_time = 30",
      },
      { op: 'query', sql: 'SHOW GRANTS' },
      { op: 'insert', table: 'rst_events', rows: [ROW], settings: WRITER_SETTINGS },
      { op: 'command', sql: "INSERT INTO rstwatch.alerts (id) VALUES ('x')" },
      { op: 'command', sql: 'CREATE TABLE rstwatch.x (a UInt8) ENGINE = Memory' },
      { op: 'command', sql: 'ALTER TABLE rstwatch.flows ADD COLUMN x UInt8' },
      { op: 'command', sql: 'DROP TABLE rstwatch.flows' },
      { op: 'command', sql: 'SET readonly = 0' },
      { op: 'query', sql: 'SELECT 1 SETTINGS readonly = 0' },
    ]);
    // One row per table: the writer's test inserted one per written table, the views one per rollup.
    expect(r.slice(0, tables.length)).toEqual(tables.map(() => ({ ok: true, rows: [{ n: 1 }] })));
    const listed = r[tables.length] as { ok: true; rows: { n: number }[] };
    expect(listed.ok).toBe(true);
    expect(listed.rows[0]!.n).toBeGreaterThanOrEqual(tables.length);
    // readonly = 2 alone would refuse an INSERT: the grants must not allow one either.
    const grants = r[tables.length + 1] as { ok: true; rows: Record<string, string>[] };
    expect(grants.rows.flatMap((x) => Object.values(x))).toEqual(['GRANT SELECT ON rstwatch.* TO default']);
    for (const o of r.slice(tables.length + 2)) denied(o);
  });
});
