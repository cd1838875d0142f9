#!/usr/bin/env node
// End-to-end benchmark on this machine: agent (child process, `rstwatch agent`) replaying a generated
// pcap -> Kafka (8 partitions) -> processor (`runProcessor`, in this process, N workers) -> ClickHouse
// (embedded chdb, or CLICKHOUSE_URL). Two phases, each on its own topic and consumer group:
//
//  1. throughput: replay at max speed; wall time from the first record in the topic to the moment the
//     group's committed offsets reach the end offsets. Prints headers_per_s (headers processed / that
//     time), lost (TCP headers in the pcap - headers the processor counted, from its Prometheus
//     endpoint; negative = duplicates), agent_sent / agent_dropped (the agent's own counters), events.
//  2. latency: the same trace with its timestamps rescaled so that it carries --rate headers/s of
//     capture time (default 100,000), replayed at 1x (capture time = wall time). For every RST event row,
//     latency = (start of the first ClickHouse poll that returns the row) - (agent's "capture starting"
//     log time + the row's capture ts - the trace's first ts). Prints p50_ms, p99_ms, max_ms.
//     See bench/README.md for why this is an upper bound.
//
// Starts a private broker (infra/kafka/start.sh) unless KAFKA_BROKERS is set; everything it creates
// (broker dir, chdb dir, topics) is removed at the end.
//
//   pnpm bench:pipeline [--packets 1000000] [--file PCAP] [--partitions 8] [--workers 2]
//                       [--rate 100000] [--latency-packets 1000000] [--no-latency] [--no-throughput]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'services/cli/dist/main.js');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    packets: { type: 'string', default: '1000000' },
    file: { type: 'string' },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    rate: { type: 'string', default: '100000' },
    'latency-packets': { type: 'string' },
    'no-latency': { type: 'boolean', default: false },
    'no-throughput': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
  },
});
const log = (s) => process.stderr.write(`# ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { loadConfig } = await import('../packages/config/dist/index.js');
const { createKafka } = await import('../packages/kafka/dist/index.js');
const { createClickHouse } = await import('../packages/store/dist/index.js');
const { runProcessor } = await import('../services/processor/dist/index.js');
const { parseCaptureFile } = await import('../packages/packet/dist/index.js');

const outDir = join(root, 'bench/out');
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'rstwatch-bench-pipeline-'));
const cleanups = [() => rmSync(work, { recursive: true, force: true })];
async function cleanup() {
  for (const f of cleanups.reverse()) {
    try {
      await f();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
  cleanups.length = 0;
}
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/** Header count and first/last capture time of a pcap, with the project's parser. */
async function traceInfo(file) {
  let headers = 0;
  let first = 0;
  let last = 0;
  await parseCaptureFile(file, {
    batchSize: 8192,
    onBatch: async (b) => {
      if (headers === 0 && b.length > 0) first = b.tsUs[0];
      if (b.length > 0) last = b.tsUs[b.length - 1];
      headers += b.length;
    },
  });
  return { headers, first, last };
}

/**
 * Copy of a classic pcap whose record timestamps are stretched by `k` around the first one, so the
 * capture carries `native rate / k` headers per second. Packet bytes are unchanged.
 */
function rescalePcap(src, dst, k) {
  const buf = readFileSync(src);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${src}: not a classic pcap (magic ${magic.toString(16)})`);
  const ns = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const unit = ns ? 1e9 : 1e6;
  const r32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const w32 = (o, v) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  let off = 24;
  let t0 = -1;
  while (off + 16 <= buf.length) {
    const t = r32(off) * unit + r32(off + 4);
    if (t0 < 0) t0 = t;
    const t2 = Math.round(t0 + (t - t0) * k);
    w32(off, Math.floor(t2 / unit));
    w32(off + 4, t2 % unit);
    off += 16 + r32(off + 8);
  }
  writeFileSync(dst, buf);
}

// ---- input ----
let file = values.file;
if (!file) {
  file = join(outDir, `pipeline-${values.packets}-s${values.seed}.pcap`);
  if (!existsSync(file)) {
    const { generateTrace } = await import('../packages/tracegen/dist/index.js');
    await generateTrace({ out: `${file}.tmp`, packets: Number(values.packets), seed: Number(values.seed) });
    renameSync(`${file}.tmp`, file);
  }
}
const info = await traceInfo(file);
log(
  `file ${file}: ${info.headers} TCP headers over ${((info.last - info.first) / 1e6).toFixed(3)} s capture time`,
);

// ---- servers ----
let brokers = process.env.KAFKA_BROKERS;
/** The private broker's directory (its kafka.pid), when this bench started one. */
let brokerDir = null;
if (!brokers) {
  const port = await freePort();
  const dir = join(work, 'kafka');
  brokerDir = dir;
  const t0 = performance.now();
  execFileSync(join(root, 'infra/kafka/build.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync(
    join(root, 'infra/kafka/start.sh'),
    ['--port', String(port), '--dir', dir, '--exit-with', String(process.pid)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  brokers = out.trim().split('\n').pop();
  cleanups.push(() => execFileSync(join(root, 'infra/kafka/stop.sh'), ['--dir', dir], { stdio: 'ignore' }));
  log(`private broker ${brokers} started in ${Math.round(performance.now() - t0)} ms`);
}
const brokerList = brokers.split(',');

/** CPU seconds (user + system) the private broker has used so far; NaN for an external broker. */
function brokerCpuS() {
  if (brokerDir === null) return Number.NaN;
  try {
    const pid = readFileSync(join(brokerDir, 'kafka.pid'), 'utf8').trim();
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of /proc/PID/stat) in clock ticks (100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
const cpuS = (u) => (u.user + u.system) / 1e6;
const chUrl = process.env.CLICKHOUSE_URL ?? 'embedded';
const database = `bench_pipeline_${Date.now().toString(36)}`;
const clickhouse = createClickHouse({
  url: chUrl,
  database,
  ...(chUrl === 'embedded' ? { embeddedPath: join(work, 'chdb') } : {}),
});
cleanups.push(async () => {
  if (chUrl !== 'embedded') await clickhouse.command(`DROP DATABASE IF EXISTS ${database}`);
  await clickhouse.close();
});
const kafka = createKafka({ brokers: brokerList, clientId: 'bench-pipeline' });
const admin = kafka.admin();
await admin.connect();
const topics = [];
cleanups.push(async () => {
  await admin.deleteTopics(topics).catch(() => {});
  await admin.disconnect();
});

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const endOffsets = async (topic) => sum((await admin.fetchTopicOffsets(topic)).map((p) => Number(p.high)));
const committed = async (group, topic) =>
  sum((await admin.fetchOffsets(group, topic)).map((p) => Math.max(0, Number(p.offset))));

async function scrape(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function queryRows(sql) {
  return clickhouse.query(sql);
}

/** One phase: processor up, agent replays `pcap` at `speed`, wait for commits to reach the end. */
async function phase(name, pcap, speed, onRunning) {
  const id = `${name}-${Date.now().toString(36)}`;
  const topic = `bench.pipeline.${id}`;
  const group = `bench-pipeline-${id}`;
  const sensor = `bench-${name}`;
  topics.push(topic, `${topic}.sensors`, `${topic}.dlq`, `${topic}.alerts`);
  await admin.createTopics([
    { topic, numPartitions: Number(values.partitions) },
    { topic: `${topic}.sensors`, numPartitions: 1 },
  ]);
  const metricsPort = await freePort();
  const config = loadConfig({
    env: {},
    overrides: {
      log: { level: 'warn' },
      metrics: { enabled: true, listen: `127.0.0.1:${metricsPort}` },
      kafka: {
        brokers: brokerList,
        clientId: 'bench-processor',
        topics: {
          headers: topic,
          sensors: `${topic}.sensors`,
          deadLetter: `${topic}.dlq`,
          alerts: `${topic}.alerts`,
        },
      },
      processor: { groupId: group, workers: Number(values.workers) },
      // Generated traces are dated 2026-01-01: with the default TTL (90 days) their rows are dropped on
      // insert once that date is old; 10 years (DateTime stops at 2106, so not 100).
      clickhouse: {
        url: chUrl,
        database,
        ttlDays: { rst_events: 3650, flows: 3650, sensor_stats: 3650, rollups: 3650 },
      },
    },
  });
  const abort = new AbortController();
  const proc = runProcessor(config, { signal: abort.signal, clickhouse });
  let procError = null;
  proc.catch((err) => {
    procError = err;
  });
  // Ready when the group is stable with a member (partitions assigned).
  for (let i = 0; ; i++) {
    if (procError) throw procError;
    const g = await admin.describeGroup(group).catch(() => null);
    if (g && g.state === 'Stable' && g.members.length > 0) break;
    if (i > 1200) throw new Error('processor did not join its consumer group within 120 s');
    await sleep(100);
  }
  log(`${name}: processor ready (group ${group}), starting agent at ${speed}`);

  const agentLog = [];
  const agent = spawn(
    'node',
    [
      // e.g. BENCH_AGENT_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' to profile the agent
      ...(process.env.BENCH_AGENT_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      cli,
      'agent',
      '--pcap',
      pcap,
      '--replay-speed',
      speed,
      '--brokers',
      brokers,
      '--sensor-id',
      sensor,
      '--topic',
      topic,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        RSTWATCH_LOG__LEVEL: 'info',
        RSTWATCH_LOG__FORMAT: 'json',
        RSTWATCH_METRICS__ENABLED: 'false',
        RSTWATCH_KAFKA__TOPICS__SENSORS: `${topic}.sensors`,
      },
    },
  );
  let agentBuf = '';
  agent.stderr.on('data', (d) => {
    agentBuf += d;
    let i = agentBuf.indexOf('\n');
    while (i >= 0) {
      const line = agentBuf.slice(0, i);
      agentBuf = agentBuf.slice(i + 1);
      try {
        agentLog.push(JSON.parse(line));
      } catch {
        if (line.trim()) agentLog.push({ msg: line });
      }
      i = agentBuf.indexOf('\n');
    }
  });
  const agentDone = new Promise((res) => agent.on('close', res));
  cleanups.push(() => {
    if (agent.exitCode === null) agent.kill('SIGTERM');
  });
  const extra = onRunning
    ? onRunning({ sensor, agentLog, agentExited: () => agent.exitCode !== null })
    : null;

  // First produce: the topic's end offsets move. Last commit: committed == end after the agent is done.
  let tFirst = 0;
  let tLast = 0;
  // CPU used between the first record and the last commit: this process (processor, its workers and the
  // embedded ClickHouse) and the broker.
  let cpuFirst = null;
  let brokerFirst = Number.NaN;
  let cpuWindow = Number.NaN;
  let brokerWindow = Number.NaN;
  const deadline = performance.now() + Number(values.timeout) * 1000;
  let agentCode = null;
  agentDone.then((c) => {
    agentCode = c;
  });
  while (performance.now() < deadline) {
    if (procError) throw procError;
    const now = performance.now();
    const end = await endOffsets(topic);
    if (tFirst === 0 && end > 0) {
      tFirst = now;
      cpuFirst = process.cpuUsage();
      brokerFirst = brokerCpuS();
    }
    if (agentCode !== null) {
      if (agentCode !== 0)
        throw new Error(`agent exited ${agentCode}: ${JSON.stringify(agentLog.slice(-5))}`);
      const c = await committed(group, topic);
      if (c >= end && end > 0) {
        tLast = performance.now();
        cpuWindow = cpuS(process.cpuUsage(cpuFirst ?? undefined));
        brokerWindow = brokerCpuS() - brokerFirst;
        break;
      }
    }
    await sleep(tFirst === 0 ? 20 : 100);
  }
  if (tLast === 0)
    throw new Error(`${name}: committed offsets did not reach the end within ${values.timeout} s`);
  const stopped = agentLog.find((l) => l.msg === 'agent stopped') ?? {};
  const ended = agentLog.find((l) => l.msg === 'capture ended') ?? {};
  const started = agentLog.find((l) => l.msg === 'capture starting') ?? {};
  const processed = await scrape(metricsPort, 'rstwatch_processor_headers_total');
  // Held RSTs and idle flows at the end of the stream are written by the processor's idle tick (after
  // ~1 s of silence per partition), after the offsets reached the end: count events once they settle.
  const countEvents = async () =>
    Number(
      (await queryRows(`SELECT count() AS n FROM ${database}.rst_events WHERE sensor = '${sensor}'`))[0].n,
    );
  let settled = await countEvents();
  for (let stable = 0, i = 0; stable < 3 && i < 60; i++) {
    await sleep(1000);
    const n = await countEvents();
    stable = n === settled ? stable + 1 : 0;
    settled = n;
  }
  const extraResult = extra ? await extra.done() : null;
  const [{ n: events }] = await queryRows(
    `SELECT count() AS n FROM ${database}.rst_events WHERE sensor = '${sensor}'`,
  );
  abort.abort();
  await proc.catch(() => {});
  return {
    seconds: (tLast - tFirst) / 1000,
    headersSent: stopped.headersSent ?? Number.NaN,
    tcpHeaders: ended.tcpHeaders ?? Number.NaN,
    agentDropped: stopped.headersDropped ? sum(Object.values(stopped.headersDropped)) : Number.NaN,
    agentCpuS: stopped.cpuSeconds ?? Number.NaN,
    processorCpuS: cpuWindow,
    brokerCpuS: brokerWindow,
    agentStartMs: Date.parse(started.time),
    processed,
    events: Number(events),
    extra: extraResult,
  };
}

/** Polls rst_events for a sensor, recording when each event row first becomes visible. */
function latencyWatcher(firstTsUs, lastTsUs) {
  return ({ sensor, agentLog }) => {
    const seen = new Map();
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const pollStart = Date.now();
        const rows = await queryRows(
          `SELECT toUnixTimestamp64Micro(ts) AS us, src_ip, src_port, seq FROM ${database}.rst_events WHERE sensor = '${sensor}'`,
        );
        for (const r of rows) {
          const k = `${r.us}/${r.src_ip}/${r.src_port}/${r.seq}`;
          if (!seen.has(k)) seen.set(k, { us: Number(r.us), at: pollStart });
        }
        await sleep(Math.max(0, 100 - (Date.now() - pollStart)));
      }
    })();
    return {
      async done() {
        // Rows still in flight after the last commit: one more poll round.
        await sleep(300);
        stop = true;
        await loop;
        const started = agentLog.find((l) => l.msg === 'capture starting');
        if (!started) throw new Error('agent log has no "capture starting" line');
        const t0 = Date.parse(started.time);
        const lat = [];
        const steady = [];
        // Steady state excludes the stream's last 2 s of capture time: there partitions go quiet and held
        // RSTs wait for the processor's idle tick, which a continuous tap never needs.
        const tailUs = lastTsUs - 2_000_000;
        for (const { us, at } of seen.values()) {
          const l = at - (t0 + (us - firstTsUs) / 1000);
          lat.push(l);
          if (us < tailUs) steady.push(l);
        }
        const q = (xs, p) => {
          xs.sort((a, b) => a - b);
          return xs.length === 0 ? Number.NaN : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
        };
        return {
          n: lat.length,
          nSteady: steady.length,
          p50: q(steady, 0.5),
          p99: q(steady, 0.99),
          max: q(steady, 1),
          p99All: q(lat, 0.99),
          maxAll: q(lat, 1),
        };
      },
    };
  };
}

const out = [];
try {
  if (!values['no-throughput']) {
    const r = await phase('tp', file, 'max');
    out.push(`packets=${info.headers}`);
    out.push(`workers=${values.workers}`);
    out.push(`partitions=${values.partitions}`);
    out.push(`seconds=${r.seconds.toFixed(2)}`);
    out.push(`headers_per_s=${Math.round(r.processed / r.seconds)}`);
    // Headers in = the pcap's TCP headers (our own parse; the agent's `tcpHeaders` must agree).
    out.push(`headers_in=${info.headers}`);
    out.push(`agent_tcp_headers=${r.tcpHeaders}`);
    out.push(`agent_sent=${r.headersSent}`);
    out.push(`agent_dropped=${r.agentDropped}`);
    out.push(`headers_processed=${r.processed}`);
    out.push(`lost=${info.headers - r.processed}`);
    out.push(`events=${r.events}`);
    // CPU per million headers, and what two cores (this machine) could sustain at that cost.
    const perM = (s) => (s / r.processed) * 1e6;
    const parts = [
      ['agent', perM(r.agentCpuS)],
      ['broker', perM(r.brokerCpuS)],
      ['processor', perM(r.processorCpuS)],
    ];
    for (const [k, v] of parts) if (Number.isFinite(v)) out.push(`${k}_cpu_s_per_million=${v.toFixed(2)}`);
    if (parts.every(([, v]) => Number.isFinite(v))) {
      const total = parts.reduce((n, [, v]) => n + v, 0);
      const cores = availableParallelism();
      out.push(`total_cpu_s_per_million=${total.toFixed(2)}`);
      out.push(`cpu_bound_headers_per_s=${Math.round((cores / total) * 1e6)}`);
    }
    for (const l of out) console.log(l);
    out.length = 0;
  }
  if (!values['no-latency']) {
    const rate = Number(values.rate);
    let lfile = file;
    let linfo = info;
    if (values['latency-packets'] && Number(values['latency-packets']) !== info.headers) {
      lfile = join(outDir, `pipeline-${values['latency-packets']}-s${values.seed}.pcap`);
      if (!existsSync(lfile)) {
        const { generateTrace } = await import('../packages/tracegen/dist/index.js');
        await generateTrace({
          out: `${lfile}.tmp`,
          packets: Number(values['latency-packets']),
          seed: Number(values.seed),
        });
        renameSync(`${lfile}.tmp`, lfile);
      }
      linfo = await traceInfo(lfile);
    }
    const nativeRate = linfo.headers / ((linfo.last - linfo.first) / 1e6);
    const k = nativeRate / rate;
    const paced = join(work, 'paced.pcap');
    rescalePcap(lfile, paced, k);
    const pinfo = await traceInfo(paced);
    log(
      `latency: ${pinfo.headers} headers stretched x${k.toFixed(3)} to ${((pinfo.last - pinfo.first) / 1e6).toFixed(1)} s (${Math.round(pinfo.headers / ((pinfo.last - pinfo.first) / 1e6))} headers/s), replayed at 1x`,
    );
    const r = await phase('lat', paced, '1x', latencyWatcher(pinfo.first, pinfo.last));
    out.push(`latency_rate=${rate}`);
    out.push(`latency_headers=${r.headersSent}`);
    out.push(`latency_lost=${pinfo.headers - r.processed}`);
    out.push(`latency_agent_dropped=${r.agentDropped}`);
    out.push(`latency_events=${r.events}`);
    out.push(`latency_rows_seen=${r.extra.n}`);
    out.push(`p50_ms=${Math.round(r.extra.p50)}`);
    out.push(`p99_ms=${Math.round(r.extra.p99)}`);
    out.push(`max_ms=${Math.round(r.extra.max)}`);
    out.push(`latency_rows_steady=${r.extra.nSteady}`);
    out.push(`p99_all_ms=${Math.round(r.extra.p99All)}`);
    out.push(`max_all_ms=${Math.round(r.extra.maxAll)}`);
    for (const l of out) console.log(l);
  }
} finally {
  await cleanup();
}
process.exit(0);
