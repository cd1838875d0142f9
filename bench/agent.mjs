// Agent benchmark: replay one generated capture through the real agent (batcher + wire codec + producer)
// into a real broker once per Kafka compression codec; report throughput and the bytes Kafka stored
// (record batches are stored as produced, so the log size is what crossed the wire, plus ~70 bytes of
// batch framing each). Starts a private broker (infra/kafka/start.sh) unless --brokers and --kafka-dir
// are given. Prints name=value lines per codec, e.g. `zstd_headers_per_s=...`, `zstd_wire_bytes_per_header=...`.
//
//   pnpm build && node bench/agent.mjs [--packets 500000] [--runs 3] [--codecs none,gzip,lz4,zstd,snappy]
//                                      [--file PCAP] [--brokers H:P --kafka-dir DIR] [--max-request-bytes N]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../packages/kafka/dist/index.js';
import { generateTrace } from '../packages/tracegen/dist/index.js';
import { runAgent } from '../services/agent/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const packets = Number(arg('packets', '500000'));
const runs = Number(arg('runs', '3'));
const maxRequestBytes = Number(arg('max-request-bytes', String(1 << 20)));
const outDir = join(root, 'bench/out');
mkdirSync(outDir, { recursive: true });

async function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

let brokers = arg('brokers');
let kafkaDir = arg('kafka-dir');
let stopBroker = () => {};
if (!brokers) {
  const port = await freePort();
  kafkaDir = join(outDir, `agent-kafka-${port}`);
  const t0 = performance.now();
  const out = execFileSync(
    join(root, 'infra/kafka/start.sh'),
    ['--port', String(port), '--dir', kafkaDir, '--exit-with', String(process.pid)],
    {
      encoding: 'utf8',
    },
  );
  brokers = out.trim().split('\n').pop();
  console.error(`# private broker ${brokers} started in ${Math.round(performance.now() - t0)} ms`);
  stopBroker = () => {
    execFileSync(join(root, 'infra/kafka/stop.sh'), ['--dir', kafkaDir]);
    rmSync(kafkaDir, { recursive: true, force: true });
  };
}
const brokerList = brokers.split(',');

let file = arg('file');
if (!file) {
  file = join(outDir, `agent-trace-${packets}.pcap`);
  if (!existsSync(file)) await generateTrace({ out: file, packets, seed: 7 });
}
const kafka = createKafka({ brokers: brokerList, clientId: 'bench-agent' });
const available = await kafka.availableCompressions();
const codecs = (arg('codecs') ?? 'none,gzip,snappy,lz4,zstd').split(',').filter((c) => available.includes(c));
console.error(`# file ${file}, codecs ${codecs.join(',')} (available: ${available.join(',')})`);

function logBytes(topic) {
  const dir = join(kafkaDir, 'kraft');
  let n = 0;
  for (const d of readdirSync(dir)) {
    if (!d.startsWith(`${topic}-`)) continue;
    for (const f of readdirSync(join(dir, d))) if (f.endsWith('.log')) n += statSync(join(dir, d, f)).size;
  }
  return n;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** CPU seconds (user + system) the broker process has used so far, or NaN when it cannot be read. */
function brokerCpuS() {
  try {
    const pid = readFileSync(join(kafkaDir, 'kafka.pid'), 'utf8').trim();
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of /proc/PID/stat) in clock ticks (100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
const admin = kafka.admin();
await admin.connect();
const results = {};
try {
  for (let r = 0; r < runs; r++) {
    for (const codec of codecs) {
      const topic = `bench-agent-${codec}-${Date.now().toString(36)}`;
      await admin.createTopics([{ topic, numPartitions: 4 }]);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const broker0 = brokerCpuS();
      const agent = await runAgent(
        {
          sensorId: 'bench',
          kafka: { brokers: brokerList, clientId: 'bench-agent' },
          topic,
          statsTopic: `${topic}-stats`,
          pcap: file,
          replaySpeed: 'max',
          maxHeaders: 4096,
          maxBytes: 1 << 20,
          lingerMs: 50,
          bufferMaxBytes: 64 << 20,
          compression: codec,
          acks: -1,
          idempotent: true,
          heartbeatIntervalS: 60,
          retries: 5,
          maxRequestBytes,
        },
        { signal: new AbortController().signal },
      );
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const brokerS = brokerCpuS() - broker0;
      await new Promise((res) => setTimeout(res, 500)); // let the broker flush the segment
      const st = agent.stats;
      results[codec] ??= { hps: [], wire: [], value: [], agentCpu: [], brokerCpu: [] };
      const res = results[codec];
      res.hps.push(st.headersSent / s);
      res.wire.push(logBytes(topic) / st.headersSent);
      res.value.push(st.bytesSent / st.headersSent);
      // CPU per million headers: this process (the agent: parse, batch, encode, compress, produce) and
      // the broker process (everything it did meanwhile: produce requests, log appends).
      res.agentCpu.push(((cpu.user + cpu.system) / 1e6 / st.headersSent) * 1e6);
      res.brokerCpu.push((brokerS / st.headersSent) * 1e6);
      await admin.deleteTopics([topic, `${topic}-stats`]).catch(() => {});
    }
  }
} finally {
  await admin.disconnect();
  stopBroker();
}
console.log(`packets=${packets}`);
for (const [codec, r] of Object.entries(results)) {
  console.log(`${codec}_headers_per_s=${Math.round(median(r.hps))}`);
  console.log(`${codec}_wire_bytes_per_header=${median(r.wire).toFixed(2)}`);
  console.log(`${codec}_value_bytes_per_header=${median(r.value).toFixed(2)}`);
  console.log(`${codec}_agent_cpu_s_per_million=${median(r.agentCpu).toFixed(2)}`);
  const b = median(r.brokerCpu);
  if (Number.isFinite(b)) console.log(`${codec}_broker_cpu_s_per_million=${b.toFixed(2)}`);
}
if (results.none) {
  for (const [codec, r] of Object.entries(results)) {
    if (codec === 'none') continue;
    console.log(`${codec}_wire_ratio_vs_none=${(median(r.wire) / median(results.none.wire)).toFixed(3)}`);
    console.log(`${codec}_speed_ratio_vs_none=${(median(r.hps) / median(results.none.hps)).toFixed(3)}`);
  }
}
