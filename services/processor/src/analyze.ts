/**
 * `rstwatch analyze FILE`: the whole classification in one process, no Kafka, through the same Piscina
 * workers and engine the processor uses. The capture is streamed (never loaded whole), sharded by
 * direction-free flow hash over one engine per worker, and events are re-ordered into capture order
 * with a bounded buffer before they are printed.
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Config } from '@rstwatch/config';
import { deadlineIn, type HeaderColumns } from '@rstwatch/core';
import { FlowRowReader } from '@rstwatch/flow';
import { type ParseStats, parseCaptureFile, parseCaptureStream, undecodableCapture } from '@rstwatch/packet';
import type { LocalAlerts } from './alerting.js';
import { LocalPipeline } from './local.js';
import type { StoreSink } from './store-sink.js';
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

/** What one analysis writes to besides the summary table; `stored` and `alerts` are set once opened. */
interface AnalyzeOutputs {
  summary: Summary;
  report: import('./report/index.js').HtmlReport | null;
  flowsOut: WriteStream | null;
  stored: StoreSink | null;
  alerts: LocalAlerts | null;
}

/** Runs the analysis; returns the process exit code. */
export async function analyze(opts: AnalyzeOptions): Promise<number> {
  const { stderr } = opts;
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
  const out: AnalyzeOutputs = {
    summary: new Summary(),
    // --html: the report module is loaded only when asked for.
    report: opts.htmlOut ? new (await import('./report/index.js')).HtmlReport(opts.htmlOut) : null,
    flowsOut: opts.flowsOut ? createWriteStream(opts.flowsOut) : null,
    stored: null,
    // Loaded only when the detectors run (alerts.enabled, the default).
    alerts: null,
  };
  const pipeline = analyzePipeline(opts, out);
  const progress = new Progress(
    opts.progress ?? Boolean((stderr as { isTTY?: boolean }).isTTY),
    stderr,
    totalBytes,
  );
  let stats: ParseStats;
  try {
    await pipeline.start();
    await openOutputs(opts, out, label);
    stats = await parseInput(opts, pipeline, label, (read) =>
      progress.update(read, pipeline.headers, out.summary.events + pipeline.rstsSeen),
    );
    await pipeline.finish();
    if (out.alerts) await out.alerts.end(out.stored?.prefix ?? '');
    if (out.stored) await out.stored.close();
  } catch (err) {
    progress.done();
    await pipeline.stop().catch(() => {});
    out.flowsOut?.destroy();
    await out.alerts?.stop(Date.now()).catch(() => {});
    if (err instanceof InputError) {
      stderr.write(`rstwatch analyze: ${err.message}\n`);
      return EXIT_INPUT;
    }
    stderr.write(`rstwatch analyze: failed: ${errorChain(err)}\n`);
    return EXIT_FAILURE;
  }
  await pipeline.stop();
  progress.done();
  if (out.flowsOut) {
    out.flowsOut.end();
    await once(out.flowsOut, 'finish');
  }
  const undecodable = undecodableCapture(stats);
  if (undecodable !== null) {
    stderr.write(`rstwatch analyze: ${label}: ${undecodable}\n`);
    return EXIT_INPUT;
  }
  const code = await writeResults(opts, out, pipeline, label, (performance.now() - started) / 1000);
  if (code !== EXIT_OK) return code;
  // The table is out; webhook and syslog may still be retrying.
  await out.alerts?.stop(deadlineIn(ALERT_DELIVERY_DEADLINE_MS));
  const undelivered = out.alerts?.undelivered ?? null;
  if (undelivered !== null) stderr.write(`rstwatch analyze: alerts: ${undelivered}\n`);
  warnAboutInput(stderr, label, pipeline, stats);
  warnAboutCapacity(stderr, label, pipeline, opts.config.classifier.maxFlows);
  return EXIT_OK;
}

/** The engines, writing events and flows to `out` (and stdout with `--format ndjson`). */
function analyzePipeline(opts: AnalyzeOptions, out: AnalyzeOutputs): LocalPipeline {
  const config = {
    workers: shardWorkers(opts.shards),
    engine: opts.config.classifier,
    sensor: opts.config.sensor.id,
    // The summary only counts flows; records are built when they are written somewhere: as objects for
    // the store, else as the workers' binary rows, whose ndjson text is made here without objects.
    flowRecords: opts.store === true ? true : out.flowsOut !== null ? ('rows' as const) : false,
  };
  return new LocalPipeline(config, {
    ...(opts.threads ? { threads: opts.threads } : {}),
    onEvents: async (events) => {
      // Detectors first: a learned idle timer adds its evidence to the events before they are written.
      out.alerts?.observe(events);
      for (const e of events) out.summary.add(e);
      out.report?.add(events);
      if (opts.format === 'ndjson') {
        let chunk = '';
        for (const e of events) chunk += `${JSON.stringify(e)}\n`;
        if (!opts.stdout.write(chunk)) await once(opts.stdout, 'drain');
      }
      if (out.stored) {
        await out.stored.events(events);
      }
    },
    onFlows: async (flows) => {
      if (out.flowsOut) {
        let chunk = '';
        for (const f of flows) chunk += `${JSON.stringify(f)}\n`;
        if (!out.flowsOut.write(chunk)) await once(out.flowsOut, 'drain');
      }
      if (out.stored) {
        await out.stored.flows(flows);
      }
    },
    onFlowRows: async (rows) => {
      const w = out.flowsOut;
      if (w === null) return;
      const r = new FlowRowReader(rows);
      // Each line straight into a buffer, written every FLOW_CHUNK bytes: the flows that end at the end of
      // a large capture are hundreds of megabytes of text, which as one string would not even fit.
      let buf = Buffer.allocUnsafe(FLOW_CHUNK);
      let at = 0;
      for (let k = 0; k < r.count; k++) {
        const line = r.ndjson(k);
        if (at + line.length * 3 > buf.length) {
          if (!w.write(buf.subarray(0, at))) await once(w, 'drain');
          buf = Buffer.allocUnsafe(Math.max(FLOW_CHUNK, line.length * 3));
          at = 0;
        }
        at += buf.write(line, at);
      }
      if (at > 0 && !w.write(buf.subarray(0, at))) await once(w, 'drain');
    },
  });
}

/** Bytes of `--flows` text per write. */
const FLOW_CHUNK = 1 << 20;

/** `--store`: the ClickHouse store (unless the capture is stored already); the detectors (`alerts.enabled`). */
async function openOutputs(opts: AnalyzeOptions, out: AnalyzeOutputs, label: string): Promise<void> {
  const { config, stderr } = opts;
  if (opts.store) {
    const { openStore } = await import('./store-sink.js');
    const s = await openStore(config, opts.file === '-' ? null : opts.file, opts.storeAgain === true);
    if ('already' in s) {
      const a = s.already;
      stderr.write(
        `rstwatch analyze: ${label} is already stored (${a.events} events, ${a.flows} flows with ingest_token '${a.prefix}...'); not storing it twice. --store-again adds another copy.\n`,
      );
    } else out.stored = s;
  }
  if (config.alerts.enabled) {
    const { LocalAlerts } = await import('./alerting.js');
    const sink = out.stored;
    const log = {
      warn: (obj: object, msg: string) =>
        stderr.write(`rstwatch analyze: alerts: ${msg} ${JSON.stringify(obj)}\n`),
      error: (obj: object, msg: string) =>
        stderr.write(`rstwatch analyze: alerts: ${msg} ${JSON.stringify(obj)}\n`),
    };
    out.alerts = new LocalAlerts(
      { config, ...(opts.alertsOut ? { alertsOut: opts.alertsOut } : {}) },
      {
        ...(sink ? { output: { write: (token, a, l) => sink.alerts(token, a, l) } } : {}),
        onAlert: (a) => {
          out.summary.alert(a);
          out.report?.alert(a);
        },
      },
      { log },
    );
    await out.alerts.start();
  }
}

/**
 * Streams the capture into `pipeline`. A capture that cannot be read throws `InputError`; a failure of
 * the pipeline is thrown as it is.
 */
async function parseInput(
  opts: AnalyzeOptions,
  pipeline: LocalPipeline,
  label: string,
  onProgress: (read: number) => void,
): Promise<ParseStats> {
  const fromStdin = opts.file === '-';
  let pipelineError: unknown = null;
  try {
    const parseOpts = {
      batchSize: 8192,
      verifyChecksums: opts.config.classifier.checksums !== 'ignore',
      newBatch: () => pipeline.newBatch(),
      onProgress,
      onBatch: async (b: HeaderColumns) => {
        try {
          await pipeline.push(b);
        } catch (err) {
          pipelineError = err;
          throw err;
        }
      },
    };
    return fromStdin
      ? await parseCaptureStream(opts.stdin ?? process.stdin, label, parseOpts)
      : await parseCaptureFile(opts.file, parseOpts);
  } catch (err) {
    if (pipelineError !== null) throw pipelineError;
    throw new InputError(fromStdin ? (err as Error).message : `${opts.file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The summary table, the HTML report, what was stored. EXIT_FAILURE when the report cannot be written. */
async function writeResults(
  opts: AnalyzeOptions,
  out: AnalyzeOutputs,
  pipeline: LocalPipeline,
  label: string,
  seconds: number,
): Promise<number> {
  const { stderr } = opts;
  if (opts.format === 'table') {
    opts.stdout.write(
      out.summary.render({
        file: label,
        headers: pipeline.headers,
        flows: pipeline.flowsEnded,
        seconds,
        sensors: pipeline.sensors,
      }),
    );
  }
  if (out.report) {
    const w = {
      capture: opts.file === '-' ? null : opts.file,
      label,
      headers: pipeline.headers,
      flows: pipeline.flowsEnded,
    };
    try {
      await out.report.write({ ...w, seconds, alertsEnabled: opts.config.alerts.enabled });
    } catch (err) {
      stderr.write(`rstwatch analyze: ${errorChain(err)}\n`);
      return EXIT_FAILURE;
    }
  }
  const stored = out.stored;
  if (stored) {
    const n = stored.counts;
    stderr.write(
      `rstwatch analyze: stored ${n.events} events, ${n.flows} flows and ${n.alerts} alert versions in ${stored.where} (ingest_token '${stored.prefix}...')\n`,
    );
  }
  return EXIT_OK;
}

/** Checksums that looked offloaded or bad, packets skipped by the parser. */
function warnAboutInput(
  stderr: NodeJS.WritableStream,
  label: string,
  pipeline: LocalPipeline,
  stats: ParseStats,
): void {
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
}

/**
 * A full flow table: connections ended before their time (the idlest first) to make room, so their later
 * packets began new flows, and a RST among them lost the history that explains it.
 */
function warnAboutCapacity(
  stderr: NodeJS.WritableStream,
  label: string,
  pipeline: LocalPipeline,
  maxFlows: number,
): void {
  if (pipeline.evictions === 0) return;
  const n = (x: number): string => x.toLocaleString('en-US');
  stderr.write(
    `rstwatch analyze: ${label}: the flow table was full (classifier.maxFlows ${n(maxFlows)}): ` +
      `${n(pipeline.evictions)} flows were ended early to make room (the idlest first), and any later ` +
      'packets of theirs began new flows; for a capture with this many connections open at once, raise ' +
      'classifier.maxFlows (RSTWATCH_CLASSIFIER__MAX_FLOWS; about 256 bytes a flow)\n',
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
