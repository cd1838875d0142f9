/**
 * Migrations in Akvorado's style: a list of small idempotent steps, each of which first inspects
 * the system tables to see whether its part of the desired schema is already there, and applies
 * DDL only when it is not. Running them converges any earlier state (empty, v1, half-applied) to
 * the current schema. The same steps produce single-server DDL or cluster DDL (`ON CLUSTER`,
 * Replicated*MergeTree local tables, Distributed tables with the public names).
 */
import { ident, type StoreClient } from './client.js';
import {
  type ColumnDef,
  MERGE_TREE_SETTINGS,
  SCHEMA_VERSION,
  TABLES,
  type TableDef,
  type TableName,
  type TtlDays,
  VIEWS,
  type ViewDef,
} from './schema.js';

export interface MigrateOptions {
  /** Cluster name from `remote_servers`: DDL uses ON CLUSTER, Replicated engines and Distributed tables. */
  cluster?: string;
  /** Retention per table in days (0 = none); missing tables use their default. */
  ttlDays?: TtlDays;
  /** Called with each step's name before it is applied. */
  onStep?: (name: string) => void;
  /** Stop at this schema version (tests and staged roll-outs). Default: current. */
  targetVersion?: number;
}

export interface MigrateResult {
  /** Names of the steps that changed something. */
  applied: string[];
  /** Schema version the database is at now. */
  version: number;
}

/** What a step needs to know; `database` and `cluster` come from the client and options. */
export interface DdlContext {
  database: string;
  cluster?: string;
  ttlDays: TtlDays;
  targetVersion: number;
}

interface Step {
  name: string;
  version: number;
  /** True when the step's part of the schema is already in place. */
  done(client: StoreClient, ctx: DdlContext): Promise<boolean>;
  /** DDL that applies the step, in order. */
  ddl(ctx: DdlContext): string[];
}

const q = (ctx: DdlContext, name: string) => `${ident(ctx.database)}.${ident(name)}`;
const onCluster = (ctx: DdlContext) => (ctx.cluster ? ` ON CLUSTER ${ident(ctx.cluster)}` : '');
/** Name of the table that stores the rows: `X_local` in cluster mode, `X` otherwise. */
export const storageName = (ctx: Pick<DdlContext, 'cluster'>, name: string) =>
  ctx.cluster ? `${name}_local` : name;

function columnSql(c: ColumnDef): string {
  let s = `${ident(c.name)} ${c.type}`;
  if (c.default !== undefined) s += ` DEFAULT ${c.default}`;
  if (c.codec !== undefined) s += ` CODEC(${c.codec})`;
  return s;
}

/** Desired retention of a table in days (0 = none). */
export function ttlDaysFor(t: TableDef, ttl: TtlDays): number {
  const d =
    ttl[t.name] ??
    (t.engine === 'AggregatingMergeTree' ? ttl.rollups : undefined) ??
    (t.ttlLike !== undefined ? ttl[t.ttlLike] : undefined) ??
    t.defaultTtlDays;
  if (!Number.isInteger(d) || d < 0)
    throw new Error(`ttlDays.${t.name} must be a non-negative integer, got ${d}`);
  return d;
}

/** The TTL expression as ClickHouse prints it back in `engine_full`, or '' for none. */
export function ttlExpr(t: TableDef, days: number, version = SCHEMA_VERSION): string {
  if (days === 0) return '';
  let col = t.columns.find((c) => c.name === t.ttlColumn);
  if (col && col.since > version && t.ttlColumnBefore)
    col = t.columns.find((c) => c.name === t.ttlColumnBefore);
  const name = col?.name ?? t.ttlColumn;
  const base = col?.type.startsWith('DateTime64') ? `toDateTime(${name})` : name;
  return `${base} + toIntervalDay(${days})`;
}

/** `MergeTree()`, `ReplacingMergeTree(version)`; in cluster mode the Replicated variant with its Keeper path first. */
export function engineSql(t: TableDef, ctx: Pick<DdlContext, 'database' | 'cluster'>): string {
  const args: string[] = [];
  if (t.engine === 'ReplacingMergeTree') {
    if (!t.versionColumn) throw new Error(`table ${t.name}: ReplacingMergeTree needs a versionColumn`);
    args.push(ident(t.versionColumn));
  }
  if (ctx.cluster) {
    const path = `'/clickhouse/tables/{shard}/${ctx.database}/${storageName(ctx, t.name)}'`;
    return `Replicated${t.engine}(${[path, "'{replica}'", ...args].join(', ')})`;
  }
  return `${t.engine}(${args.join(', ')})`;
}

function settingsSql(ctx: DdlContext): string {
  const w = MERGE_TREE_SETTINGS.dedupWindow;
  const dedup = ctx.cluster
    ? `replicated_deduplication_window = ${w}, replicated_deduplication_window_seconds = 86400`
    : `non_replicated_deduplication_window = ${w}`;
  return `SETTINGS ${dedup}, ttl_only_drop_parts = 1`;
}

/** CREATE TABLE statements for a table at the context's target version. */
export function createTableDdl(t: TableDef, ctx: DdlContext): string[] {
  const cols = t.columns.filter((c) => c.since <= ctx.targetVersion).map(columnSql);
  const idx = (t.indexes ?? []).map((i) => `INDEX ${i}`);
  const ttl = ttlExpr(t, ttlDaysFor(t, ctx.ttlDays), ctx.targetVersion);
  const local = storageName(ctx, t.name);
  const out = [
    [
      `CREATE TABLE IF NOT EXISTS ${q(ctx, local)}${onCluster(ctx)} (`,
      [...cols, ...idx].map((l) => `  ${l}`).join(',\n'),
      `) ENGINE = ${engineSql(t, ctx)}`,
      `PARTITION BY ${t.partitionBy}`,
      `ORDER BY ${t.orderBy}`,
      ...(ttl ? [`TTL ${ttl}`] : []),
      settingsSql(ctx),
    ].join('\n'),
  ];
  if (ctx.cluster) out.push(distributedDdl(t.name, t.shardingKey, ctx));
  return out;
}

function distributedDdl(name: string, shardingKey: string, ctx: DdlContext): string {
  const c = ctx.cluster as string;
  return `CREATE TABLE IF NOT EXISTS ${q(ctx, name)}${onCluster(ctx)} AS ${q(ctx, storageName(ctx, name))}
ENGINE = Distributed(${ident(c)}, ${ident(ctx.database)}, ${ident(storageName(ctx, name))}, ${shardingKey})`;
}

/** CREATE MATERIALIZED VIEW: in cluster mode, from the local source into the local rollup on every node. */
export function createViewDdl(v: ViewDef, ctx: DdlContext): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${q(ctx, v.name)}${onCluster(ctx)} TO ${q(ctx, storageName(ctx, v.to))} AS
${v.select.replace('{from}', q(ctx, storageName(ctx, v.from)))}`;
}

async function tableExists(client: StoreClient, db: string, name: string): Promise<boolean> {
  const rows = await client.query<{ n: number }>(
    'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {name:String}',
    { db, name },
  );
  return (rows[0]?.n ?? 0) > 0;
}

async function engineFull(client: StoreClient, db: string, name: string): Promise<string> {
  const rows = await client.query<{ engine_full: string }>(
    'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}',
    { db, name },
  );
  return rows[0]?.engine_full ?? '';
}

/** The TTL clause currently in `engine_full`, or '' when the table has none. */
export function currentTtl(engine: string): string {
  const m = / TTL (.+?)(?: SETTINGS |$)/.exec(engine);
  return m ? m[1]!.trim() : '';
}

function steps(): Step[] {
  const out: Step[] = [
    {
      name: 'create-database',
      version: 1,
      async done(client, ctx) {
        const r = await client.query<{ n: number }>(
          'SELECT count() AS n FROM system.databases WHERE name = {db:String}',
          { db: ctx.database },
        );
        return (r[0]?.n ?? 0) > 0;
      },
      ddl: (ctx) => [`CREATE DATABASE IF NOT EXISTS ${ident(ctx.database)}${onCluster(ctx)}`],
    },
  ];
  const byVersion = [...TABLES].sort((a, b) => a.since - b.since);
  for (let v = 1; v <= SCHEMA_VERSION; v++) {
    for (const t of byVersion.filter((x) => x.since === v)) {
      out.push({
        name: `create-table:${t.name}`,
        version: v,
        done: async (client, ctx) =>
          (await tableExists(client, ctx.database, storageName(ctx, t.name))) &&
          (!ctx.cluster || (await tableExists(client, ctx.database, t.name))),
        ddl: (ctx) => createTableDdl(t, ctx),
      });
    }
    for (const t of TABLES.filter((x) => x.since < v)) {
      for (const c of t.columns.filter((x) => x.since === v)) {
        out.push({
          name: `add-column:${t.name}.${c.name}`,
          version: v,
          async done(client, ctx) {
            const r = await client.query<{ n: number }>(
              'SELECT count() AS n FROM system.columns WHERE database = {db:String} AND table = {t:String} AND name = {c:String}',
              { db: ctx.database, t: storageName(ctx, t.name), c: c.name },
            );
            return (r[0]?.n ?? 0) > 0;
          },
          ddl: (ctx) => {
            const stmts = [
              `ALTER TABLE ${q(ctx, storageName(ctx, t.name))}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS ${columnSql(c)}`,
            ];
            if (ctx.cluster) {
              stmts.push(
                `ALTER TABLE ${q(ctx, t.name)}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS ${columnSql(c)}`,
              );
            }
            return stmts;
          },
        });
      }
    }
    for (const view of VIEWS.filter((x) => x.since === v)) {
      out.push({
        name: `create-view:${view.name}`,
        version: v,
        done: (client, ctx) => tableExists(client, ctx.database, view.name),
        ddl: (ctx) => [createViewDdl(view, ctx)],
      });
    }
  }
  // Retention converges on every run: it is configuration, not a schema version.
  for (const t of TABLES) {
    out.push({
      name: `ttl:${t.name}`,
      version: t.since,
      async done(client, ctx) {
        const want = ttlExpr(t, ttlDaysFor(t, ctx.ttlDays), ctx.targetVersion);
        return currentTtl(await engineFull(client, ctx.database, storageName(ctx, t.name))) === want;
      },
      ddl: (ctx) => {
        const want = ttlExpr(t, ttlDaysFor(t, ctx.ttlDays), ctx.targetVersion);
        const alter = want ? `MODIFY TTL ${want}` : 'REMOVE TTL';
        return [`ALTER TABLE ${q(ctx, storageName(ctx, t.name))}${onCluster(ctx)} ${alter}`];
      },
    });
  }
  return out;
}

function context(database: string, opts: MigrateOptions): DdlContext {
  const targetVersion = opts.targetVersion ?? SCHEMA_VERSION;
  if (!Number.isInteger(targetVersion) || targetVersion < 1 || targetVersion > SCHEMA_VERSION) {
    throw new Error(`targetVersion must be an integer in 1..${SCHEMA_VERSION}, got ${targetVersion}`);
  }
  for (const k of Object.keys(opts.ttlDays ?? {})) {
    if (k !== 'rollups' && !TABLES.some((t) => t.name === k)) {
      throw new Error(
        `ttlDays: unknown table ${JSON.stringify(k)}; allowed: rollups, ${TABLES.map((t) => t.name).join(', ')}`,
      );
    }
  }
  return {
    database,
    ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
    ttlDays: opts.ttlDays ?? {},
    targetVersion,
  };
}

/**
 * The DDL a fresh install runs, without touching a server (for review, `rstwatch migrate --dry-run`,
 * and the cluster DDL checks).
 */
export function planDdl(database: string, opts: MigrateOptions = {}): string[] {
  const ctx = context(database, opts);
  const out: string[] = [];
  for (const s of steps()) {
    if (s.version > ctx.targetVersion) continue;
    if (s.name.startsWith('add-column:') || s.name.startsWith('ttl:')) continue; // folded into CREATE
    out.push(...s.ddl(ctx));
  }
  return out;
}

/** Bring the database to the desired schema. Idempotent; safe to run at every start. */
export async function migrate(client: StoreClient, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const ctx = context(client.database, opts);
  await client.ping();
  const applied: string[] = [];
  for (const s of steps()) {
    if (s.version > ctx.targetVersion) continue;
    if (await s.done(client, ctx)) continue;
    opts.onStep?.(s.name);
    for (const sql of s.ddl(ctx)) {
      try {
        await client.command(sql);
      } catch (err) {
        throw new Error(`migration step ${s.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    applied.push(s.name);
  }
  return { applied, version: await schemaVersion(client, opts) };
}

/** Highest version whose steps are all in place (0 = nothing). Retention steps are not counted. */
export async function schemaVersion(
  client: StoreClient,
  opts: Pick<MigrateOptions, 'cluster'> = {},
): Promise<number> {
  const ctx = context(client.database, { ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}) });
  let version = 0;
  const all = steps().filter((s) => !s.name.startsWith('ttl:'));
  for (let v = 1; v <= SCHEMA_VERSION; v++) {
    for (const s of all.filter((x) => x.version === v)) {
      if (!(await s.done(client, ctx))) return version;
    }
    version = v;
  }
  return version;
}

export type { TableName };
