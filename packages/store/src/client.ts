/**
 * ClickHouse client factory: one code path through `@clickhouse/client` for a server (HTTP(S) URL)
 * and for the embedded engine (`chdb`'s `createChdbConnection`). Everything else in this package
 * talks to ClickHouse through {@link StoreClient}.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from '@clickhouse/client';

/** Where and how to reach ClickHouse. */
export interface ClickHouseConfig {
  /** `'embedded'` (default) for the in-process chdb engine, or `http(s)://host:port`. */
  url?: string;
  /** Database holding rstwatch's tables. Default `rstwatch`. */
  database?: string;
  username?: string;
  password?: string;
  /** PEM text or path to a PEM file for each of `ca`, `cert`, `key` (`cert`+`key` = mutual TLS). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Data directory of the embedded engine. Default {@link defaultEmbeddedPath}. One per process (chdb limit). */
  embeddedPath?: string;
  /** Per-request timeout (server mode). Default 30000. */
  requestTimeoutMs?: number;
}

export const DEFAULT_DATABASE = 'rstwatch';

/**
 * The per-user data directory of the embedded engine: `$XDG_DATA_HOME/rstwatch/chdb`, else
 * `~/.local/share/rstwatch/chdb` (the same rule as the config default of `clickhouse.embeddedPath`), so
 * every command finds the same data whatever the working directory.
 */
export function defaultEmbeddedPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'rstwatch', 'chdb');
}

/** A thin, typed surface over one `@clickhouse/client` instance. */
export interface StoreClient {
  /** `'embedded'` or the server URL without credentials; used in every error message. */
  readonly url: string;
  readonly mode: 'server' | 'embedded';
  readonly database: string;
  /** The underlying client, for callers that need more than this surface. */
  readonly raw: ClickHouseClient;
  /** Run a statement that returns no rows (DDL, ALTER, ...). */
  command(sql: string, params?: Record<string, unknown>, settings?: ClickHouseSettings): Promise<void>;
  /** Run a SELECT and return its rows (JSONEachRow; 64-bit integers as JSON numbers). */
  query<T = Record<string, unknown>>(
    sql: string,
    params?: Record<string, unknown>,
    settings?: ClickHouseSettings,
  ): Promise<T[]>;
  /** Insert rows (JSONEachRow) into `table` (unqualified names are resolved in {@link database}). */
  insert(table: string, rows: readonly object[], settings?: ClickHouseSettings): Promise<void>;
  /** Resolves when ClickHouse answers a trivial query; rejects with an error naming the URL. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Error from a ClickHouse operation; the message names the URL, `cause` holds the original error. */
export class ClickHouseStoreError extends Error {
  override readonly name = 'ClickHouseStoreError';
  constructor(
    readonly url: string,
    readonly operation: string,
    cause: unknown,
  ) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    super(`ClickHouse ${url}: ${operation} failed: ${msg}`, { cause });
  }
}

/** Quote an identifier for ClickHouse SQL. */
export function ident(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

// chdb binds one data directory per process: track which one is open.
let embeddedOpen: { path: string; refs: number } | null = null;

/** Create a client for a server URL or the embedded engine. Does not connect; see {@link StoreClient.ping}. */
export function createClickHouse(cfg: ClickHouseConfig = {}): StoreClient {
  const url = cfg.url ?? 'embedded';
  const database = cfg.database ?? DEFAULT_DATABASE;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new Error(
      `ClickHouse database name must match [A-Za-z_][A-Za-z0-9_]*, got ${JSON.stringify(database)}`,
    );
  }
  const quiet = { log: { level: ClickHouseLogLevel.OFF } };
  if (url === 'embedded') {
    const path = resolve(cfg.embeddedPath || defaultEmbeddedPath());
    if (embeddedOpen && embeddedOpen.path !== path) {
      throw new Error(
        `embedded ClickHouse (chdb) already open at ${embeddedOpen.path} in this process; chdb allows one data directory per process (requested ${path})`,
      );
    }
    mkdirSync(path, { recursive: true });
    const require = createRequire(import.meta.url);
    const { createChdbConnection } = require('chdb/connection') as typeof import('chdb/connection');
    const connection = createChdbConnection({ path });
    if (embeddedOpen) embeddedOpen.refs++;
    else embeddedOpen = { path, refs: 1 };
    const raw = createClient({
      ...quiet,
      // chdb's Connection implements the same client-common contract (minor versions may differ).
      connection: connection as unknown as NonNullable<
        NonNullable<Parameters<typeof createClient>[0]>['connection']
      >,
    });
    // The data directory is part of the name every error message carries.
    return wrap(raw, `embedded (${path})`, 'embedded', database, () => {
      if (embeddedOpen && --embeddedOpen.refs <= 0) embeddedOpen = null;
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new Error(
      `ClickHouse url must be 'embedded' or http(s)://host:port, got ${JSON.stringify(redact(url))}`,
      {
        cause: err,
      },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(
      `ClickHouse url must be 'embedded' or http(s)://host:port, got ${JSON.stringify(redact(url))}`,
    );
  }
  // Credentials in the URL are moved to options so they never appear in messages.
  const username = cfg.username ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
  const password = cfg.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  parsed.username = '';
  parsed.password = '';
  const clean = parsed.toString().replace(/\/$/, '');
  const tls = loadTls(cfg.tls);
  const raw = createClient({
    ...quiet,
    url: clean,
    request_timeout: cfg.requestTimeoutMs ?? 30_000,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  return wrap(raw, clean, 'server', database, () => {});
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function pem(v: string): Buffer {
  return Buffer.from(v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8'));
}

function loadTls(
  tls: ClickHouseConfig['tls'],
): { ca_cert: Buffer } | { ca_cert: Buffer; cert: Buffer; key: Buffer } | undefined {
  if (!tls || (!tls.ca && !tls.cert && !tls.key)) return undefined;
  if (!tls.ca) throw new Error('ClickHouse tls: `ca` is required when tls is configured');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('ClickHouse tls: `cert` and `key` must be given together (mutual TLS)');
  }
  const ca_cert = pem(tls.ca);
  return tls.cert && tls.key ? { ca_cert, cert: pem(tls.cert), key: pem(tls.key) } : { ca_cert };
}

function wrap(
  raw: ClickHouseClient,
  url: string,
  mode: 'server' | 'embedded',
  database: string,
  onClose: () => void,
): StoreClient {
  let closed = false;
  const fail = (operation: string, err: unknown): never => {
    throw new ClickHouseStoreError(url, operation, err);
  };
  const qualify = (table: string) => (table.includes('.') ? table : `${ident(database)}.${ident(table)}`);
  return {
    url,
    mode,
    database,
    raw,
    async command(sql, params, settings) {
      try {
        await raw.command({
          query: sql,
          ...(params ? { query_params: params } : {}),
          ...(settings ? { clickhouse_settings: settings } : {}),
        });
      } catch (err) {
        fail(`command \`${sql.slice(0, 80)}\``, err);
      }
    },
    async query<T>(
      sql: string,
      params?: Record<string, unknown>,
      settings?: ClickHouseSettings,
    ): Promise<T[]> {
      try {
        const rs = await raw.query({
          query: sql,
          format: 'JSONEachRow',
          ...(params ? { query_params: params } : {}),
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...settings },
        });
        return await rs.json<T>();
      } catch (err) {
        return fail(`query \`${sql.slice(0, 80)}\``, err);
      }
    },
    async insert(table, rows, settings) {
      if (rows.length === 0) return;
      try {
        await raw.insert({
          table: qualify(table),
          values: rows as object[],
          format: 'JSONEachRow',
          // chdb applies settings with SET on a shared session, so they stick: always pass the token.
          clickhouse_settings: {
            date_time_input_format: 'best_effort',
            insert_deduplication_token: '',
            ...settings,
          },
        });
      } catch (err) {
        fail(`insert into ${table}`, err);
      }
    },
    async ping() {
      let res: Awaited<ReturnType<ClickHouseClient['ping']>>;
      try {
        res = await raw.ping();
      } catch (err) {
        return fail('ping', err);
      }
      if (!res.success) fail('ping (is the server running and reachable?)', res.error);
    },
    async close() {
      if (closed) return;
      closed = true;
      onClose();
      await raw.close();
    },
  };
}
