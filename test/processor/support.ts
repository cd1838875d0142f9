// Helpers for the processor's integration tests: configs with unique topics and groups, the agent
// publishing a capture, processor child processes (the CLI), committed-offset polling, the analyze
// reference, and queries against a child's embedded ClickHouse (read from another process, since chdb
// is one data directory per process).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runAgent } from '@rstwatch/agent';
import { type Config, type DeepPartial, loadConfig } from '@rstwatch/config';
import { createKafka } from '@rstwatch/kafka';
import { runProcessor } from '@rstwatch/processor';
import type { StoreClient } from '@rstwatch/store';
import { ipText } from '@rstwatch/store';
import { createLogger } from '@rstwatch/telemetry';
import { testAgentConfig } from '../agent/support.js';
import { createTopicWhenReady, uniqueTopic } from '../support/kafka.js';

const run = promisify(execFile);
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cli = join(root, 'services/cli/dist/main.js');
const queryScript = join(dirname(fileURLToPath(import.meta.url)), 'query-embedded.mjs');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Topic names and group of one test. */
export interface TestTopics {
  headers: string;
  sensors: string;
  deadLetter: string;
  /** RST events for the detection stage (the processor publishes them when alerts are on). */
  events: string;
  group: string;
}

export async function testTopics(prefix: string, brokers: string[], partitions: number): Promise<TestTopics> {
  const t: TestTopics = {
    headers: uniqueTopic(`${prefix}-headers`),
    sensors: uniqueTopic(`${prefix}-sensors`),
    deadLetter: uniqueTopic(`${prefix}-dlq`),
    events: uniqueTopic(`${prefix}-events`),
    group: uniqueTopic(`${prefix}-group`),
  };
  await createTopicWhenReady(brokers, t.headers, partitions);
  await createTopicWhenReady(brokers, t.sensors, 1);
  await createTopicWhenReady(brokers, t.deadLetter, 1);
  await createTopicWhenReady(brokers, t.events, partitions);
  return t;
}

/** Rows are kept regardless of their capture time (tracegen files are dated 2026-01-01); not more than
 * ~80 years: `toDateTime(ts) + days` wraps past 2106 and every row would expire at once. */
export const LONG_TTL = { rst_events: 3650, flows: 3650, sensor_stats: 3650, rollups: 3650, alerts: 3650 };

/** Config overrides for a processor on `topics`, writing to the embedded engine at `embeddedPath`. */
export function processorOverrides(
  brokers: string[],
  topics: TestTopics,
  embeddedPath: string,
  extra: {
    workers?: number;
    warmupMessages?: number;
    shutdownDeadlineS?: number;
    logLevel?: string;
    classifier?: DeepPartial<Config['classifier']>;
    /** `processor.mergeDelayMs` (the default unless given). */
    mergeDelayMs?: number;
  } = {},
): DeepPartial<Config> {
  return {
    kafka: {
      brokers,
      clientId: 'processor-test',
      topics: {
        headers: topics.headers,
        sensors: topics.sensors,
        deadLetter: topics.deadLetter,
        events: topics.events,
      },
    },
    processor: {
      groupId: topics.group,
      workers: extra.workers ?? 1,
      ...(extra.mergeDelayMs !== undefined ? { mergeDelayMs: extra.mergeDelayMs } : {}),
      warmupMessages: extra.warmupMessages ?? 20,
      shutdownDeadlineS: extra.shutdownDeadlineS ?? 20,
      fromBeginning: true,
    },
    ...(extra.classifier ? { classifier: extra.classifier } : {}),
    clickhouse: { url: 'embedded', embeddedPath, ttlDays: LONG_TTL },
    metrics: { enabled: false },
    log: { level: (extra.logLevel ?? 'info') as Config['log']['level'], format: 'json' },
  } as DeepPartial<Config>;
}

const scratch = new Set<string>();

/** A scratch directory, removed by {@link removeTempDirs} (kept with RSTWATCH_KEEP_TEST_DIRS=1). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rstwatch-proc-${prefix}-`));
  scratch.add(dir);
  return dir;
}

/** Removes the directories made by {@link tempDir} (each test file's afterAll). */
export function removeTempDirs(): void {
  if (process.env.RSTWATCH_KEEP_TEST_DIRS) return;
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
  scratch.clear();
}

/** Publishes every header of `pcap` with the agent (in process); returns the headers sent. */
export async function publish(
  brokers: string[],
  topics: TestTopics,
  pcap: string,
  opts: { maxHeaders?: number; sensorId?: string } = {},
): Promise<number> {
  const agent = await runAgent(
    testAgentConfig(brokers, {
      pcap,
      replaySpeed: 'max',
      topic: topics.headers,
      statsTopic: topics.sensors,
      maxHeaders: opts.maxHeaders ?? 16,
      sensorId: opts.sensorId ?? 'vm',
      heartbeatIntervalS: 60,
    }),
    { signal: new AbortController().signal },
  );
  if (agent.stats.sendFailures > 0 || Object.values(agent.stats.headersDropped).some((n) => n > 0)) {
    throw new Error(`agent lost headers: ${JSON.stringify(agent.stats)}`);
  }
  return agent.stats.headersSent;
}

/** A processor (or detection stage) child process (`rstwatch processor|detect --config FILE`), its log in a file. */
export interface ProcessorChild {
  proc: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The child's log so far (for failure messages). */
  log(): string;
  kill(sig: NodeJS.Signals): void;
}

export function startProcessor(
  dir: string,
  name: string,
  overrides: DeepPartial<Config>,
  command: 'processor' | 'detect' = 'processor',
): ProcessorChild {
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(configFile, JSON.stringify(overrides, null, 2)); // JSON is YAML
  const logFile = join(dir, `${name}.log`);
  const out = createWriteStream(logFile);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('RSTWATCH_')) delete env[k];
  const proc = spawn(process.execPath, [cli, command, '--config', configFile], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.pipe(out, { end: false });
  proc.stderr!.pipe(out, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.once('exit', (code, signal) => res({ code, signal }));
  });
  return {
    proc,
    logFile,
    exited,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    kill: (sig) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    },
  };
}

/** Stops a child with SIGTERM (then SIGKILL after `timeoutMs`); returns how it exited and how long it took. */
export async function stopProcessor(
  c: ProcessorChild,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; killed: boolean }> {
  const t0 = performance.now();
  c.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const r = await Promise.race([c.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    c.kill('SIGKILL');
    const e = await c.exited;
    return { ...e, ms: performance.now() - t0, killed: true };
  }
  return { ...r, ms: performance.now() - t0, killed: false };
}

/** Polls `cond` every `everyMs` until it returns true; throws `what` with `detail()` on timeout. */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  detail: () => string = () => '',
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${detail() ? `\n${detail()}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

export interface Progress {
  /** Messages in the topic (sum of high watermarks). */
  total: number;
  /** Sum of the group's committed offsets (-1 counted as 0). */
  committed: number;
  perPartition: { partition: number; high: number; committed: number; metadata?: string }[];
}

/** How far `group` has committed on `topic`. */
export async function progress(brokers: string[], group: string, topic: string): Promise<Progress> {
  const admin = createKafka({ brokers, clientId: 'processor-test-admin' }).admin();
  try {
    const [ends, offsets] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets(group, topic),
    ]);
    const perPartition = ends.map((e) => {
      const c = Number(offsets.find((o) => o.partition === e.partition)?.offset ?? '-1');
      return { partition: e.partition, high: Number(e.high), committed: Math.max(0, c) };
    });
    return {
      total: perPartition.reduce((s, p) => s + p.high, 0),
      committed: perPartition.reduce((s, p) => s + p.committed, 0),
      perPartition,
    };
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `group` committed every message of every topic in `topics`. */
export async function waitAllCommitted(
  brokers: string[],
  group: string,
  topics: string[],
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<void> {
  let last = '';
  await waitFor(
    `group ${group} to commit all of ${topics.join(', ')}`,
    async () => {
      const ps = await Promise.all(topics.map((t) => progress(brokers, group, t)));
      last = ps.map((p, i) => `${topics[i]}: ${p.committed}/${p.total}`).join('; ');
      return ps.every((p) => p.total > 0 && p.committed === p.total);
    },
    timeoutMs,
    () => `last progress: ${last}\n${detail()}`,
    500,
  );
}

/** Runs `sql` against the embedded engine at `path` in a separate process; returns the rows. */
export async function queryEmbedded<T = Record<string, unknown>>(
  path: string,
  sql: string,
  database = 'rstwatch',
): Promise<T[]> {
  const { stdout } = await run(process.execPath, [queryScript, path, database, sql], {
    cwd: root,
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
  return JSON.parse(stdout) as T[];
}

/** The key of an event compared with `analyze`: what happened, where and when, and the verdict. */
export interface EventKey {
  ts: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  seq: number;
  cause: string;
  origin: string;
}

export const eventKey = (e: EventKey) =>
  `${e.ts}|${e.src_ip}|${e.src_port}|${e.dst_ip}|${e.dst_port}|${e.seq}|${e.cause}|${e.origin}`;

/** SQL selecting the {@link EventKey} fields of `rst_events` in the text forms of `analyze`. */
export const EVENT_KEY_SQL = `SELECT formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS ts,
  ${ipText('src_ip')} AS src_ip, src_port, ${ipText('dst_ip')} AS dst_ip, dst_port, seq, cause, origin
  FROM rstwatch.rst_events`;

/** `rstwatch analyze FILE --format ndjson --flows F`: the reference events and flows. */
export async function analyzeReference(
  pcap: string,
  dir: string,
  config: DeepPartial<Config> = {},
): Promise<{ events: EventKey[]; flows: Record<string, unknown>[] }> {
  const flowsFile = join(dir, 'analyze-flows.ndjson');
  const configFile = join(dir, 'analyze.yaml');
  writeFileSync(configFile, JSON.stringify(config));
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      'analyze',
      pcap,
      '--format',
      'ndjson',
      '--flows',
      flowsFile,
      '--no-progress',
      '--config',
      configFile,
    ],
    { cwd: dir, timeout: 180_000, maxBuffer: 256 << 20 },
  );
  const parse = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    events: parse(stdout) as unknown as EventKey[],
    flows: parse(readFileSync(flowsFile, 'utf8')),
  };
}

/** Multiset difference summary of two key lists (for assertion messages). */
export function diffKeys(expected: string[], actual: string[]): { missing: string[]; extra: string[] } {
  const count = new Map<string, number>();
  for (const k of expected) count.set(k, (count.get(k) ?? 0) + 1);
  const extra: string[] = [];
  for (const k of actual) {
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else extra.push(k);
  }
  const missing = [...count.entries()].flatMap(([k, n]) => Array<string>(n).fill(k));
  return { missing, extra };
}

/** Generates a tracegen capture of `packets` packets (deterministic for `seed`). */
export async function generate(dir: string, packets: number, seed: number): Promise<string> {
  const out = join(dir, `gen-${packets}-${seed}.pcap`);
  await run(
    process.execPath,
    [cli, 'generate', '--packets', String(packets), '--seed', String(seed), '--out', out],
    {
      cwd: dir,
      timeout: 180_000,
    },
  );
  return out;
}

/** A consumer group name no other test uses. */
export function uniqueGroup(prefix: string): string {
  return uniqueTopic(prefix);
}

/**
 * Classifier settings for tests: flows end 2 s (capture time) after their last packet and TIME_WAIT
 * lasts 2 s, so that at the end of a stream the quiet partitions' ticks release everything within
 * seconds (see `waitTicksSettled`).
 */
export const QUICK_EXPIRY = { flowIdleExpiryS: 2, timeWaitS: 2 };

/**
 * A processor in this process over `topics`, writing to `clickhouse`, serving /metrics on `metricsPort`
 * (`metric(name)` reads one sample), with {@link QUICK_EXPIRY} and `classifier` on top. `stop` aborts it.
 */
export function startProcessorInProcess(
  brokers: string[],
  topics: TestTopics,
  clickhouse: StoreClient,
  metricsPort: number,
  classifier: DeepPartial<Config['classifier']> = {},
) {
  const config = loadConfig({
    env: {},
    overrides: processorOverrides(brokers, topics, join(tmpdir(), 'rstwatch-processor-test-unused-chdb'), {
      logLevel: 'error',
      classifier: { ...QUICK_EXPIRY, ...classifier },
    }),
  });
  config.metrics = { ...config.metrics, enabled: true, listen: `127.0.0.1:${metricsPort}` };
  const ac = new AbortController();
  const logger = createLogger({ level: 'error', name: 'processor-test' });
  const done = runProcessor(config, { signal: ac.signal, clickhouse, logger });
  done.catch(() => {});
  return {
    metric: async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    },
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/**
 * Waits until, on every partition of `topic`, the tick recorded in `group`'s commit metadata has moved
 * capture time `settleUs` past the first tick seen here: by then RSTs held at the end of the stream and
 * (with {@link QUICK_EXPIRY}) the last flows are written. The first tick comes at least a second after
 * the last packet, so the default (5 s) also covers flows closed by FIN/RST, which the tracker ends 5 s
 * of capture time after their last packet (CLOSE_DELAY_US); a shorter wait makes results depend on
 * when this observer first looked.
 */
export async function waitTicksSettled(
  brokers: string[],
  group: string,
  topic: string,
  timeoutMs: number,
  detail: () => string = () => '',
  settleUs = 5_000_000,
): Promise<void> {
  const first = new Map<number, number>();
  let last = '';
  const consumer = createKafka({ brokers, clientId: 'processor-test-offsets' }).consumer({ groupId: group });
  try {
    await waitFor(
      `the quiet partitions of ${topic} to release what they hold (ticks in the commit metadata)`,
      async () => {
        const rows = await consumer.committedOffsets(topic);
        last = rows.map((r) => `${r.partition}@${r.offset} ${r.metadata ?? ''}`).join('; ');
        let settled = rows.length > 0;
        for (const r of rows) {
          const m = /rstwatch:tick:\d+:(\d+)$/.exec(r.metadata ?? '');
          if (!m) {
            settled = false;
            continue;
          }
          const us = Number(m[1]);
          if (!first.has(r.partition)) first.set(r.partition, us);
          if (us - first.get(r.partition)! < settleUs) settled = false;
        }
        return settled;
      },
      timeoutMs,
      () => `last metadata: ${last}\n${detail()}`,
      500,
    );
  } finally {
    await consumer.disconnect();
  }
}
