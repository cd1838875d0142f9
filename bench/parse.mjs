// Packet-parsing benchmark: @rstwatch/packet's streaming parser against `tcpdump -r FILE -w /dev/null` on
// the same pcap. Prints name=value lines. Usage:
//   pnpm bench:parse [--packets N] [--file PCAP] [--runs R] [--seed S] [--builtin]
// Without --file, a trace of N packets (default 2,000,000) is generated with @rstwatch/tracegen (or a
// simple built-in generator if tracegen is not built, or with --builtin) into bench/out/ and reused on
// later runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseBenchArgs } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    packets: { type: 'string', default: '2000000' },
    file: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    builtin: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(values.runs));
const packet = await import(pathToFileURL(join(root, 'packages/packet/dist/index.js')).href);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Fallback: a simple deterministic mix of IPv4/IPv6 TCP frames (some VLAN-tagged) over many flows. */
function builtinTrace(out, packets, seed) {
  const fd = openSync(out, 'w');
  const w = new packet.PcapWriter({ write: (c) => writeSync(fd, c), snaplen: 128 });
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const v4 = new Uint8Array(14 + 20 + 32 + 64);
  const v6 = new Uint8Array(18 + 40 + 32 + 64);
  const init = (f, off, ip6, vlan) => {
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
    if (vlan) f.set([0x81, 0x00, 0, 100, 0x86, 0xdd], 12);
    else f.set([0x08, 0x00], 12);
    if (ip6) {
      f[off] = 0x60;
      f[off + 6] = 6;
      f[off + 7] = 64;
      f[off + 8] = 0x20;
      f[off + 9] = 0x01;
      f[off + 10] = 0x0d;
      f[off + 11] = 0xb8;
      f[off + 24] = 0x20;
      f[off + 25] = 0x01;
      f[off + 26] = 0x0d;
      f[off + 27] = 0xb8;
    } else {
      f[off] = 0x45;
      f[off + 8] = 64;
      f[off + 9] = 6;
      f[off + 12] = 198;
      f[off + 13] = 18;
      f[off + 16] = 198;
      f[off + 17] = 19;
    }
    const t = off + (ip6 ? 40 : 20);
    f[t + 12] = 0x80; // 32-byte header: NOP NOP TS
    f.set([1, 1, 8, 10], t + 20);
  };
  init(v4, 14, false, false);
  init(v6, 18, true, true);
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < packets; i++) {
    const r = rnd();
    const ip6 = (r & 7) === 0;
    const f = ip6 ? v6 : v4;
    const ipo = ip6 ? 18 : 14;
    const t = ipo + (ip6 ? 40 : 20);
    const flow = r >>> 12;
    const payload = (r >>> 3) & 1 ? 0 : 64;
    const flags = payload ? 0x18 : (r & 0x700) === 0 ? 0x14 : 0x10;
    if (ip6) {
      f[ipo + 4] = 0;
      f[ipo + 5] = 32 + payload;
      f[ipo + 21] = flow & 0xff;
      f[ipo + 22] = (flow >> 8) & 0xff;
      f[ipo + 39] = 1;
    } else {
      const len = 20 + 32 + payload;
      f[ipo + 2] = len >> 8;
      f[ipo + 3] = len & 0xff;
      f[ipo + 4] = i & 0xff;
      f[ipo + 14] = flow & 0xff;
      f[ipo + 15] = (flow >> 8) & 0xff;
      f[ipo + 19] = 1;
    }
    f[t] = 0x9c;
    f[t + 1] = flow & 0xff;
    f[t + 2] = 0x01;
    f[t + 3] = 0xbb;
    f[t + 4] = i >>> 24;
    f[t + 5] = (i >>> 16) & 0xff;
    f[t + 6] = (i >>> 8) & 0xff;
    f[t + 7] = i & 0xff;
    f[t + 13] = flags;
    f[t + 14] = 0xff;
    ts += 1 + (r & 0xff);
    const frameLen = t + 32 + payload;
    w.writePacket(ts, f.subarray(0, frameLen));
  }
  w.close();
  closeSync(fd);
}

async function ensureFile() {
  if (values.file) {
    if (!existsSync(values.file)) throw new Error(`--file ${values.file}: no such file`);
    return { file: values.file, generator: 'given' };
  }
  const packets = Number(values.packets);
  const seed = Number(values.seed);
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const tracegenPath = join(root, 'packages/tracegen/dist/index.js');
  let generateTrace;
  if (!values.builtin && existsSync(tracegenPath)) {
    const mod = await import(pathToFileURL(tracegenPath).href);
    if (typeof mod.generateTrace === 'function') generateTrace = mod.generateTrace;
  }
  const generator = generateTrace ? 'tracegen' : 'builtin';
  const file = join(outDir, `parse-${generator}-${packets}-s${seed}.pcap`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    if (generateTrace) await generateTrace({ out: file, packets, seed });
    else builtinTrace(file, packets, seed);
    console.error(
      `bench:parse: generated ${file} with ${generator} in ${Math.round(performance.now() - t0)} ms`,
    );
  }
  return { file, generator };
}

// The consumer hands batches back to a pool, as the agent and the analyzer do once a batch is encoded.
const { HeaderColumns } = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href);
const pool = [];
const newBatch = () => pool.pop() ?? HeaderColumns.allocate(4096);

async function parseOnce(file) {
  let headers = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const stats = await packet.parseCaptureFile(file, {
    newBatch,
    onBatch: (b) => {
      headers += b.length;
      pool.push(b);
    },
  });
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, stats, headers };
}

/** The same parser over bytes already in memory (no file I/O), 4 MiB pushes. */
function parseMemory(bytes) {
  let headers = 0;
  const t0 = performance.now();
  const p = new packet.CaptureParser({
    newBatch,
    onBatch: (b) => {
      headers += b.length;
      pool.push(b);
    },
  });
  for (let o = 0; o < bytes.length; o += 4 << 20)
    p.push(bytes.subarray(o, Math.min(o + (4 << 20), bytes.length)));
  p.end();
  return { ms: performance.now() - t0, headers };
}

/** Wall and CPU (user + system, from bash's `time`) milliseconds of `tcpdump -r FILE -w /dev/null`. */
function tcpdumpOnce(file) {
  const t0 = performance.now();
  const script = 'TIMEFORMAT="%U %S"; { time tcpdump -r "$0" -w /dev/null 2>/dev/null; } 2>&1';
  const r = spawnSync('bash', ['-c', script, file], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  const m = /([\d.]+) ([\d.]+)\s*$/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`tcpdump failed: ${r.stdout}${r.stderr}`);
  return { ms, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
}

const { file, generator } = await ensureFile();
const fileBytes = statSync(file).size;

await parseOnce(file); // warm-up: JIT and page cache
const parsed = [];
for (let i = 0; i < runs; i++) parsed.push(await parseOnce(file));
const stats = parsed[0].stats;
const parseMs = median(parsed.map((r) => r.ms));
const parseCpuMs = median(parsed.map((r) => r.cpuMs));

let memMs;
if (fileBytes < 1 << 30) {
  const bytes = new Uint8Array(readFileSync(file));
  parseMemory(bytes);
  memMs = median(Array.from({ length: runs }, () => parseMemory(bytes).ms));
}

let tcpdumpMs;
let tcpdumpCpuMs;
try {
  execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
  tcpdumpOnce(file);
  const t = Array.from({ length: runs }, () => tcpdumpOnce(file));
  tcpdumpMs = median(t.map((x) => x.ms));
  tcpdumpCpuMs = median(t.map((x) => x.cpuMs));
} catch (err) {
  console.error(`bench:parse: tcpdump unavailable (${err.message}); install it (infra/test-prereqs.sh)`);
}

// Encode: every parsed batch through the wire codec, as the agent does before sending (timed alone).
const wire = await import(pathToFileURL(join(root, 'packages/wire/dist/index.js')).href);
let encodeMs = 0;
let encodeBytes = 0;
let encodeHeaders = 0;
let batchSeq = 0n;
await packet.parseCaptureFile(file, {
  batchSize: 4096,
  onBatch: (b) => {
    const t0 = performance.now();
    const msg = wire.encodeHeaderBatch({ sensorId: 'bench', batchSeq: batchSeq++ }, b);
    encodeMs += performance.now() - t0;
    encodeBytes += msg.length;
    encodeHeaders += b.length;
  },
});

const pps = (ms) => Math.round(stats.packets / (ms / 1000));
const lines = {
  file,
  generator,
  file_bytes: fileBytes,
  packets: stats.packets,
  tcp_headers: stats.tcp,
  not_tcp: stats.notTcp,
  drops: Object.values(stats.drops).reduce((a, b) => a + b, 0),
  runs,
  parse_ms: Math.round(parseMs),
  parse_packets_per_s: pps(parseMs),
  parse_mb_per_s: Math.round(fileBytes / 1e6 / (parseMs / 1000)),
  parse_cpu_ms: Math.round(parseCpuMs),
};
if (memMs !== undefined) {
  lines.parse_mem_ms = Math.round(memMs);
  lines.parse_mem_packets_per_s = pps(memMs);
}
if (tcpdumpMs !== undefined) {
  lines.tcpdump_ms = Math.round(tcpdumpMs);
  lines.tcpdump_packets_per_s = pps(tcpdumpMs);
  lines.ratio_vs_tcpdump = Number((tcpdumpMs / parseMs).toFixed(2));
  // CPU time is steadier than wall time on a shared, loaded machine.
  lines.tcpdump_cpu_ms = Math.round(tcpdumpCpuMs);
  lines.ratio_vs_tcpdump_cpu = Number((tcpdumpCpuMs / parseCpuMs).toFixed(2));
}
lines.encode_ms = Math.round(encodeMs);
lines.encode_headers_per_s = Math.round(encodeHeaders / (encodeMs / 1000));
// Uncompressed HeaderBatch bytes per header; Kafka compression shrinks it further (bench/agent.mjs).
lines.wire_bytes_per_header = Number((encodeBytes / Math.max(1, encodeHeaders)).toFixed(1));
for (const [k, v] of Object.entries(lines)) console.log(`${k}=${v}`);
