/**
 * Storing one run's output in ClickHouse (embedded unless `clickhouse.url` names a server), for
 * `analyze --store` and `run`: rows carry `ingest_token` = `<kind>:<capture digest>:<run>:<unit>` (the digest
 * covers path, size and modification time), so one capture's or one run's rows can be found (and deleted)
 * by prefix, and a capture that already has rows is not stored again (that would double every count and
 * rollup) unless asked.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Config } from '@rstwatch/config';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import type { StoreClient } from '@rstwatch/store';
import type { AlertLink } from './alerting.js';

export interface StoreSink {
  /** `ingest_token` prefix of this run's rows. */
  prefix: string;
  /** The ClickHouse written to (for people). */
  where: string;
  /** Rows handed to the writer (all acknowledged once `close` resolved). */
  counts: { events: number; flows: number; alerts: number };
  events(e: RstEvent[]): Promise<void>;
  flows(f: FlowRecord[]): Promise<void>;
  alerts(token: string, a: readonly Alert[], links: readonly AlertLink[]): Promise<void>;
  close(): Promise<void>;
}

/** Rows of this capture already in ClickHouse (from an earlier `--store`). */
export interface AlreadyStored {
  already: { events: number; flows: number; prefix: string };
}

/**
 * The rows of capture `fileId` stored by either command before, or null when there are none. Closes the
 * client when it returns rows or fails.
 */
async function storedBefore(
  client: StoreClient,
  fileId: string,
  prefix: string,
): Promise<AlreadyStored | null> {
  const db = client.database;
  const mine = 'startsWith(ingest_token, {a:String}) OR startsWith(ingest_token, {r:String})';
  let rows: { events: string | number; flows: string | number }[];
  try {
    rows = await client.query(
      `SELECT (SELECT count() FROM ${db}.rst_events WHERE ${mine}) AS events,
              (SELECT count() FROM ${db}.flows WHERE ${mine}) AS flows`,
      { a: `analyze:${fileId}:`, r: `run:${fileId}:` },
    );
  } catch (err) {
    await client.close().catch(() => {});
    throw new Error(`checking ClickHouse at ${client.url} for rows of this capture`, { cause: err });
  }
  const events = Number(rows[0]?.events ?? 0);
  const flows = Number(rows[0]?.flows ?? 0);
  if (events + flows === 0) return null;
  await client.close();
  return { already: { events, flows, prefix } };
}

/**
 * Opens the store for one run of `kind`. A capture file already stored (by `analyze --store` or `run
 * --pcap`) is not stored again unless `again` is set: the caller gets `{ already }` instead. A stream
 * (`file` null: standard input, a live interface) has no identity to check and is stored every time.
 */
export async function openStore(
  config: Config,
  file: string | null,
  again: boolean,
  kind: 'analyze' | 'run' = 'analyze',
): Promise<StoreSink | AlreadyStored> {
  const runId = Date.now().toString(36);
  let fileId = `${kind === 'run' ? 'live' : 'stdin'}-${runId}`;
  if (file !== null) {
    const st = await stat(file);
    fileId = createHash('sha256').update(`${file}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  }
  // Loaded only for --store: the ClickHouse client (and run.js's Kafka wiring) cost ~0.3 s of start-up.
  const [{ clickhouseFromConfig, migrateFromConfig }, { RowWriter }] = await Promise.all([
    import('./run.js'),
    import('@rstwatch/store'),
  ]);
  const client = clickhouseFromConfig(config);
  try {
    await migrateFromConfig(client, config);
  } catch (err) {
    await client.close().catch(() => {});
    throw new Error(`preparing ClickHouse at ${client.url}`, { cause: err });
  }
  const prefix = `${kind}:${fileId}:`;
  if (!again && file !== null) {
    const already = await storedBefore(client, fileId, prefix);
    if (already !== null) return already;
  }
  const writer = new RowWriter(
    { maxRows: config.clickhouse.writer.maxRows, maxDelayMs: config.clickhouse.writer.flushMs },
    { client },
  );
  await writer.start();
  let unit = 0;
  const pending: Promise<void>[] = [];
  const submit = (events: RstEvent[], flows: FlowRecord[]) => {
    const p = writer.insert({ token: `${prefix}${runId}:${unit++}`, events, flows });
    p.catch(() => {}); // awaited in close(); don't let an early failure go unhandled meanwhile
    pending.push(p);
  };
  const counts = { events: 0, flows: 0, alerts: 0 };
  return {
    prefix: `${prefix}${runId}:`,
    where: client.url,
    counts,
    events: async (e) => {
      counts.events += e.length;
      submit(e, []);
    },
    flows: async (f) => {
      counts.flows += f.length;
      submit([], f);
    },
    alerts: async (token, alerts, alertLinks) => {
      counts.alerts += alerts.length;
      const p = writer.insert({ token, events: [], flows: [], alerts, alertLinks });
      p.catch(() => {});
      pending.push(p);
    },
    close: async () => {
      try {
        await writer.stop();
        await Promise.all(pending);
      } finally {
        await client.close();
      }
    },
  };
}
