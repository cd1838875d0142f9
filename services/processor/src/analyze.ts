/**
 * `rstwatch analyze FILE`: the whole classification in one process, no Kafka, through the same Piscina
 * workers and engine the processor uses. The capture is streamed (never loaded whole), sharded by
 * direction-free flow hash over one engine per worker, and events are re-ordered into capture order
 * with a bounded buffer before they are printed.
 */

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Config } from '@rstwatch/config';
import type { FlowRecord, HeaderColumns, RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { type ParseStats, parseCaptureFile, parseCaptureStream, undecodableCapture } from '@rstwatch/packet';
import type { AlertLink, LocalAlerts } from './alerting.js';
import { LocalPipeline } from './local.js';
import { Summary } from './summary.js';
import { shardWorkers, type WorkerThreads } from './threads.js';

export interface AnalyzeOptions {
  /** Capture file path, or `-` for a capture streamed on `stdin` (e.g. `tcpdump -w -`). */
  file: string;
  /** Where `-` reads from (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array>;
  format: 'table' | 'ndjson';
  /** Write flow records (NDJSON) to this path. */
  flowsOut?: string;
  /** Write every alert version (ECS JSON, NDJSON) to this path. */
  alertsOut?: string;
  /** Write the HTML report (charts, alerts, ladder diagrams) to this path. */
  htmlOut?: string;
  /** Also write events and flows into ClickHouse (embedded by default). */
  store?: boolean;
  /**
   * With `store`: write even when rows of this capture (same path, size and modification time) are
   * already stored, adding another copy. By default a capture is stored once.
   */
  storeAgain?: boolean;
  config: Config;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Progress on stderr: default when stderr is a terminal. */
  progress?: boolean;
  /**
   * Engines working in parallel (default 1). Flows are split over them by direction-free hash, so each
   * flow stays whole, but per-host evidence (TTL baselines, scan counts) is then learned per shard:
   * results can differ from a single engine's. Use more than 1 for speed on large captures.
   */
  shards?: number;
  /**
   * Worker threads the caller started early (`startWorkerThreads(shards)`, so they boot while the
   * configuration loads). Closed when the analysis ends; the caller closes them if it never starts.
   */
  threads?: WorkerThreads;
}

/** Exit codes of the CLI. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INPUT = 3;

/** At the end of `analyze`, how long alert delivery (webhook, syslog) may still retry before the rest is kept. */
const ALERT_DELIVERY_DEADLINE_MS = 15_000;

/** Error for input that cannot be read or is not a capture: the CLI exits with EXIT_INPUT. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

async function checkReadable(file: string): Promise<number> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new InputError(`${file} is a directory, not a capture file`);
    const fh = await open(file, 'r');
    await fh.close();
    return st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new InputError(`cannot read ${file}: ${why}`, { cause: err });
  }
}

/** Runs the analysis; returns the process exit code. */
export async function analyze(opts: AnalyzeOptions): Promise<number> {
  const { config, stderr } = opts;
  const started = performance.now();
  const fromStdin = opts.file === '-';
  const label = fromStdin ? 'standard input' : opts.file;
  let totalBytes = 0;
  if (!fromStdin) {
    try {
      totalBytes = await checkReadable(opts.file);
    } catch (err) {
      stderr.write(`rstwatch analyze: ${(err as Error).message}\n`);
      return EXIT_INPUT;
    }
  }

  const summary = new Summary();
  // --html: the report module is loaded only when asked for.
  const report = opts.htmlOut ? new (await import('./report/index.js')).HtmlReport(opts.htmlOut) : null;
  const flowsOut: WriteStream | null = opts.flowsOut ? createWriteStream(opts.flowsOut) : null;
  let stored: StoreSink | null = null;
  // Loaded only when the detectors run (alerts.enabled, the default).
  let alerts: LocalAlerts | null = null;
  /** Oldest timestamp written with --store, to warn when retention drops the rows at once. */
  let oldestTs = '';
  const pipeline = new LocalPipeline({
    workers: shardWorkers(opts.shards),
    ...(opts.threads ? { threads: opts.threads } : {}),
    engine: config.classifier,
    sensor: config.sensor.id,
    // The summary only counts flows; records are built when they are written somewhere.
    flowRecords: flowsOut !== null || opts.store === true,
    onEvents: async (events) => {
      // Detectors first: a learned idle timer adds its evidence to the events before they are written.
      alerts?.observe(events);
      for (const e of events) summary.add(e);
      report?.add(events);
      if (opts.format === 'ndjson') {
        let chunk = '';
        for (const e of events) chunk += `${JSON.stringify(e)}\n`;
        if (!opts.stdout.write(chunk)) await once(opts.stdout, 'drain');
      }
      if (stored) {
        for (const e of events) if (oldestTs === '' || e.ts < oldestTs) oldestTs = e.ts;
        await stored.events(events);
      }
    },
    onFlows: async (flows) => {
      if (flowsOut) {
        let chunk = '';
        for (const f of flows) chunk += `${JSON.stringify(f)}\n`;
        if (!flowsOut.write(chunk)) await once(flowsOut, 'drain');
      }
      if (stored) {
        for (const f of flows) if (oldestTs === '' || f.ts < oldestTs) oldestTs = f.ts;
        await stored.flows(flows);
      }
    },
  });
  const progress = new Progress(
    opts.progress ?? Boolean((stderr as { isTTY?: boolean }).isTTY),
    stderr,
    totalBytes,
  );
  let stats: ParseStats;
  try {
    if (opts.store) {
      const s = await openStore(config, fromStdin ? null : opts.file, opts.storeAgain === true);
      if ('already' in s) {
        const a = s.already;
        stderr.write(
          `rstwatch analyze: ${label} is already stored (${a.events} events, ${a.flows} flows with ingest_token '${a.prefix}...'); not storing it twice. --store-again adds another copy.\n`,
        );
      } else stored = s;
    }
    if (config.alerts.enabled) {
      const { LocalAlerts } = await import('./alerting.js');
      const sink = stored;
      alerts = new LocalAlerts({
        config,
        ...(opts.alertsOut ? { alertsOut: opts.alertsOut } : {}),
        ...(sink ? { output: { write: (token, a, l) => sink.alerts(token, a, l) } } : {}),
        onAlert: (a) => {
          summary.alert(a);
          report?.alert(a);
        },
        log: {
          warn: (obj, msg) => stderr.write(`rstwatch analyze: alerts: ${msg} ${JSON.stringify(obj)}\n`),
          error: (obj, msg) => stderr.write(`rstwatch analyze: alerts: ${msg} ${JSON.stringify(obj)}\n`),
        },
      });
    }
    let pipelineError: unknown = null;
    try {
      const parseOpts = {
        batchSize: 8192,
        verifyChecksums: config.classifier.checksums !== 'ignore',
        newBatch: () => pipeline.newBatch(),
        onProgress: (read: number) =>
          progress.update(read, pipeline.headers, summary.events + pipeline.rstsSeen),
        onBatch: async (b: HeaderColumns) => {
          try {
            await pipeline.push(b);
          } catch (err) {
            pipelineError = err;
            throw err;
          }
        },
      };
      stats = fromStdin
        ? await parseCaptureStream(opts.stdin ?? process.stdin, label, parseOpts)
        : await parseCaptureFile(opts.file, parseOpts);
    } catch (err) {
      if (pipelineError !== null) throw pipelineError;
      throw new InputError(fromStdin ? (err as Error).message : `${opts.file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await pipeline.finish();
    if (alerts) await alerts.end(stored?.prefix ?? '');
    if (stored) await stored.close();
  } catch (err) {
    progress.done();
    await pipeline.close().catch(() => {});
    flowsOut?.destroy();
    await alerts?.delivery.close(0).catch(() => {});
    if (err instanceof InputError) {
      stderr.write(`rstwatch analyze: ${err.message}\n`);
      return EXIT_INPUT;
    }
    stderr.write(`rstwatch analyze: failed: ${errorChain(err)}\n`);
    return EXIT_FAILURE;
  }
  await pipeline.close();
  progress.done();
  if (flowsOut) {
    flowsOut.end();
    await once(flowsOut, 'finish');
  }
  const undecodable = undecodableCapture(stats);
  if (undecodable !== null) {
    stderr.write(`rstwatch analyze: ${label}: ${undecodable}\n`);
    return EXIT_INPUT;
  }
  const seconds = (performance.now() - started) / 1000;
  if (opts.format === 'table') {
    opts.stdout.write(
      summary.render({ file: label, headers: pipeline.headers, flows: pipeline.flowsEnded, seconds }),
    );
  }
  if (report) {
    const w = {
      capture: fromStdin ? null : opts.file,
      label,
      headers: pipeline.headers,
      flows: pipeline.flowsEnded,
    };
    try {
      await report.write({ ...w, seconds, alertsEnabled: config.alerts.enabled });
    } catch (err) {
      stderr.write(`rstwatch analyze: ${errorChain(err)}\n`);
      return EXIT_FAILURE;
    }
  }
  if (opts.store && oldestTs !== '') warnRetention(config, oldestTs, stderr);
  // The table is out; webhook and syslog may still be retrying.
  const undelivered = alerts ? await alerts.close(ALERT_DELIVERY_DEADLINE_MS) : null;
  if (undelivered !== null) stderr.write(`rstwatch analyze: alerts: ${undelivered}\n`);
  const ck = pipeline.checksums;
  if (ck.offloaded > 0) {
    stderr.write(
      `rstwatch analyze: ${label}: ${ck.offloaded} packets have checksums that look offloaded (first from ${ck.first_host}; ${ck.offload_hosts} hosts by failure rate): not used as evidence (--verify-checksums to use them)\n`,
    );
  }
  if (ck.bad > 0) {
    stderr.write(
      `rstwatch analyze: ${label}: ${ck.bad} packets with bad checksums changed no connection state (--ignore-checksums to use them)\n`,
    );
  }
  const skipped = Object.entries(stats.drops).filter(([, v]) => (v as number) > 0);
  if (skipped.length > 0) {
    stderr.write(
      `rstwatch analyze: ${label}: skipped packets: ${skipped.map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
    );
  }
  return EXIT_OK;
}

/**
 * ClickHouse drops rows whose time is past the table's TTL, so an old capture stored with the default
 * retention may keep nothing. Say so, and how to keep it.
 */
function warnRetention(config: Config, oldestTs: string, stderr: NodeJS.WritableStream): void {
  const ttl = config.clickhouse.ttlDays;
  const ageDays = (Date.now() - Date.parse(oldestTs)) / 86_400_000;
  const past = (['rst_events', 'flows'] as const).filter((t) => ttl[t] > 0 && ageDays > ttl[t]);
  if (past.length === 0) return;
  stderr.write(
    `rstwatch analyze: warning: the capture starts ${Math.floor(ageDays)} days ago (${oldestTs}), beyond the ` +
      `retention of ${past.map((t) => `${t} (clickhouse.ttlDays.${t} = ${ttl[t]} days)`).join(' and ')}: ` +
      'ClickHouse drops such rows, so they may not be kept. To keep old captures, set the retention to 0 ' +
      `(forever), e.g. ${past.map((t) => `RSTWATCH_CLICKHOUSE__TTL_DAYS__${t.toUpperCase()}=0`).join(' ')}, and run again.\n`,
  );
}

/** `message: cause: cause...` for errors that wrap others. */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

/** Progress on stderr: a refreshed line on a terminal, a line every 5 s otherwise. */
class Progress {
  private last = 0;
  private readonly start = performance.now();
  private wrote = false;
  constructor(
    private readonly enabled: boolean,
    private readonly out: NodeJS.WritableStream,
    private readonly total: number,
  ) {}

  update(read: number, headers: number, rsts: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    const tty = Boolean((this.out as { isTTY?: boolean }).isTTY);
    if (now - this.last < (tty ? 250 : 5000)) return;
    this.last = now;
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? Math.round(headers / secs).toLocaleString('en-US') : '0';
    // A stream (stdin) has no known size: bytes read so far instead of a percentage.
    const where =
      this.total > 0
        ? `${((100 * read) / this.total).toFixed(0)}% of ${(this.total / 1e6).toFixed(0)} MB`
        : `${(read / 1e6).toFixed(0)} MB read`;
    const line = `analyze: ${where}, ${headers.toLocaleString('en-US')} headers, ${rsts.toLocaleString('en-US')} RSTs, ${rate} headers/s`;
    this.out.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
    this.wrote = tty;
  }

  done(): void {
    if (this.wrote) this.out.write('\n');
    this.wrote = false;
  }
}

interface StoreSink {
  /** `ingest_token` prefix of this run's rows. */
  prefix: string;
  events(e: RstEvent[]): Promise<void>;
  flows(f: FlowRecord[]): Promise<void>;
  alerts(token: string, a: readonly Alert[], links: readonly AlertLink[]): Promise<void>;
  close(): Promise<void>;
}

/** Rows of this capture already in ClickHouse (from an earlier `--store`). */
interface AlreadyStored {
  already: { events: number; flows: number; prefix: string };
}

/**
 * Writes analyze's output into ClickHouse (embedded unless `clickhouse.url` names a server). Rows carry
 * `ingest_token` = `analyze:<file digest>:<run>:<unit>` (the digest covers path, size and modification
 * time), so one capture's or one run's rows can be found (and deleted) by prefix. A capture that already
 * has rows is not stored again (that would double every count and rollup) unless `again` is set.
 */
async function openStore(
  config: Config,
  file: string | null,
  again: boolean,
): Promise<StoreSink | AlreadyStored> {
  const runId = Date.now().toString(36);
  // A stream (stdin, file = null) has no identity to check: every run is stored, under its own id.
  let fileId = `stdin-${runId}`;
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
  const prefix = `analyze:${fileId}:`;
  if (!again && file !== null) {
    const db = client.database;
    let rows: { events: string | number; flows: string | number }[];
    try {
      rows = await client.query(
        `SELECT (SELECT count() FROM ${db}.rst_events WHERE startsWith(ingest_token, {p:String})) AS events,
                (SELECT count() FROM ${db}.flows WHERE startsWith(ingest_token, {p:String})) AS flows`,
        { p: prefix },
      );
    } catch (err) {
      await client.close().catch(() => {});
      throw new Error(`checking ClickHouse at ${client.url} for rows of this capture`, { cause: err });
    }
    const events = Number(rows[0]?.events ?? 0);
    const flows = Number(rows[0]?.flows ?? 0);
    if (events + flows > 0) {
      await client.close();
      return { already: { events, flows, prefix } };
    }
  }
  const writer = new RowWriter(client, {
    maxRows: config.clickhouse.writer.maxRows,
    maxDelayMs: config.clickhouse.writer.flushMs,
  });
  let unit = 0;
  const pending: Promise<void>[] = [];
  const submit = (events: RstEvent[], flows: FlowRecord[]) => {
    const p = writer.insert({ token: `${prefix}${runId}:${unit++}`, events, flows });
    p.catch(() => {}); // awaited in close(); don't let an early failure go unhandled meanwhile
    pending.push(p);
  };
  return {
    prefix: `${prefix}${runId}:`,
    events: async (e) => submit(e, []),
    flows: async (f) => submit([], f),
    alerts: async (token, alerts, alertLinks) => {
      const p = writer.insert({ token, events: [], flows: [], alerts, alertLinks });
      p.catch(() => {});
      pending.push(p);
    },
    close: async () => {
      try {
        await writer.close();
        await Promise.all(pending);
      } finally {
        await client.close();
      }
    },
  };
}
