#!/usr/bin/env node
// Classifier core benchmark, one thread: decode a wire-format batch + flow update + classify, as a
// processor worker does. Two inputs, each encoded in the wire format up front (untimed), then per timed
// run: a fresh engine decodes and processes every batch and finishes (so every flow record is built);
// one untimed warm-up run first (a long-running worker is always warm). Medians over --runs.
//
//  1. headers_per_s: the realistic mix of @rstwatch/tracegen (the generator every bench uses: thousands
//     of concurrent connections, handshakes, request/response and bulk bursts, retransmissions, FIN
//     closes, RSTs of every cause, IPv4/IPv6, VLANs), parsed from its pcap as the agent would, batches
//     of --batch headers (the agent's default).
//  2. random_interleave_headers_per_s: an adversarial synthetic stream (--concurrent connections picked
//     uniformly at random for every packet, 2-32 packets each): no locality at all, every packet a
//     cache miss in a table that keeps growing. A floor, not a typical figure.
//
// Prints name=value lines. With --shapes [light,c100k,c1m,tap] the capture figures are measured per
// traffic shape (bench/shapes.mjs) and printed prefixed with the shape (`c100k.headers_per_s=...`), with
// the engine's maxFlows of that shape and its bytes_per_flow; the random interleave runs once, unprefixed.
//
//   node bench/classifier.mjs [--packets 2000000] [--file PCAP] [--runs 5] [--seed 1] [--batch 4096]
//                             [--random-packets N (default --packets; 0 skips)] [--concurrent 20000]
//                             [--shapes [LIST]] [--max-flows N]
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ENGINE_CONFIG, Engine } from '../packages/classify/dist/index.js';
import {
  flowHash,
  HeaderColumns,
  OPT_MSS,
  OPT_WSCALE,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from '../packages/core/dist/index.js';
import { decodeHeaderBatch, encodeHeaderBatch } from '../packages/wire/dist/index.js';
import { parseBenchArgs } from './args.mjs';
import { encodeCapture } from './encode.mjs';
import { parseShapeList, SHAPES, shapeFile } from './shapes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    packets: { type: 'string', default: '2000000' },
    file: { type: 'string' },
    runs: { type: 'string', default: '5' },
    concurrent: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '4096' },
    'random-packets': { type: 'string' },
    shapes: { type: 'string' },
    'max-flows': { type: 'string' },
  },
  args: process.argv.slice(2).flatMap((a, i, all) =>
    // `--shapes` with no list: the default shapes.
    a === '--shapes' && (i + 1 >= all.length || all[i + 1].startsWith('--')) ? ['--shapes', ''] : [a],
  ),
});
const PACKETS = Number(values.packets);
const RUNS = Number(values.runs);
const CONC = Number(values.concurrent);
const BATCH = Number(values.batch);
const RANDOM_PACKETS = Number(values['random-packets'] ?? values.packets);
const log = (m) => process.stderr.write(`# ${m}\n`);

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic traffic: C concurrent connection slots, each a small state machine. */
class Gen {
  constructor(seed) {
    this.rnd = mulberry32(seed);
    this.ts = 1_700_000_000_000_000;
    this.next = 0;
    const n = CONC;
    this.cli = new Uint32Array(n);
    this.srv = new Uint32Array(n);
    this.cport = new Uint16Array(n);
    this.sport = new Uint16Array(n);
    this.cseq = new Uint32Array(n);
    this.sseq = new Uint32Array(n);
    this.stage = new Int32Array(n);
    this.left = new Int32Array(n);
    this.kind = new Uint8Array(n);
    this.ipid = new Uint16Array(n * 2);
    for (let k = 0; k < n; k++) this.reset(k);
  }
  reset(k) {
    const r = this.rnd;
    this.cli[k] = (10 << 24) | Math.floor(r() * 0xffffff);
    this.srv[k] = (172 << 24) | (16 << 16) | Math.floor(r() * 4096);
    this.cport[k] = 1024 + ((this.next++ * 7919) % 64000);
    this.sport[k] = [80, 443, 443, 8080, 22, 5432][Math.floor(r() * 6)];
    this.cseq[k] = Math.floor(r() * 0xffffffff) >>> 0;
    this.sseq[k] = Math.floor(r() * 0xffffffff) >>> 0;
    this.stage[k] = 0;
    this.left[k] = 2 + Math.floor(r() * 30);
    const x = r();
    // 0 graceful, 1 server abort, 2 closed port, 3 client abort, 4 injected, 5 retransmit+rst, 6 scan
    this.kind[k] = x < 0.7 ? 0 : x < 0.8 ? 1 : x < 0.86 ? 2 : x < 0.9 ? 3 : x < 0.93 ? 4 : x < 0.96 ? 5 : 6;
    this.ipid[k * 2] = Math.floor(r() * 65535);
    this.ipid[k * 2 + 1] = Math.floor(r() * 65535);
  }
  emit(c, k, fromClient, flags, len, ttlOverride = 0) {
    const i = c.length++;
    this.ts += 1 + Math.floor(this.rnd() * 2);
    c.tsUs[i] = this.ts;
    c.ipVersion[i] = 4;
    const sa = fromClient ? this.cli[k] : this.srv[k];
    const da = fromClient ? this.srv[k] : this.cli[k];
    const o = i * 16;
    for (let b = 0; b < 10; b++) {
      c.srcAddr[o + b] = 0;
      c.dstAddr[o + b] = 0;
    }
    c.srcAddr[o + 10] = c.srcAddr[o + 11] = c.dstAddr[o + 10] = c.dstAddr[o + 11] = 0xff;
    c.srcAddr[o + 12] = sa >>> 24;
    c.srcAddr[o + 13] = (sa >>> 16) & 255;
    c.srcAddr[o + 14] = (sa >>> 8) & 255;
    c.srcAddr[o + 15] = sa & 255;
    c.dstAddr[o + 12] = da >>> 24;
    c.dstAddr[o + 13] = (da >>> 16) & 255;
    c.dstAddr[o + 14] = (da >>> 8) & 255;
    c.dstAddr[o + 15] = da & 255;
    c.srcPort[i] = fromClient ? this.cport[k] : this.sport[k];
    c.dstPort[i] = fromClient ? this.sport[k] : this.cport[k];
    c.flags[i] = flags;
    c.seq[i] = fromClient ? this.cseq[k] : this.sseq[k];
    c.ack[i] = flags & TCP_ACK ? (fromClient ? this.sseq[k] : this.cseq[k]) : 0;
    c.window[i] = flags & TCP_RST ? 0 : 502;
    c.ttl[i] = ttlOverride || (fromClient ? 61 : 55);
    c.ipId[i] = this.ipid[k * 2 + (fromClient ? 0 : 1)]++;
    c.payloadLen[i] = len;
    c.ipLen[i] = 40 + len;
    c.optFlags[i] = flags & TCP_SYN ? OPT_MSS | OPT_WSCALE : 0;
    c.wscale[i] = 7;
    c.mss[i] = 1460;
    c.vlan[i] = 0;
    c.tunnel[i] = 0;
    c.rstPayloadLen[i] = 0;
    let adv = len;
    if (flags & TCP_SYN) adv++;
    if (flags & TCP_FIN) adv++;
    if (!(flags & TCP_RST)) {
      if (fromClient) this.cseq[k] = (this.cseq[k] + adv) >>> 0;
      else this.sseq[k] = (this.sseq[k] + adv) >>> 0;
    }
  }
  /** Fill batch `c` with the next packets. */
  fill(c, n) {
    c.reset();
    const r = this.rnd;
    while (c.length < n) {
      const k = Math.floor(r() * CONC);
      const st = this.stage[k]++;
      const kind = this.kind[k];
      if (st === 0) this.emit(c, k, true, TCP_SYN, 0);
      else if (st === 1) {
        if (kind === 2) {
          this.sseq[k] = 0;
          this.emit(c, k, false, TCP_RST | TCP_ACK, 0);
          this.reset(k);
        } else this.emit(c, k, false, TCP_SYN | TCP_ACK, 0);
      } else if (st === 2) {
        if (kind === 6) {
          this.emit(c, k, true, TCP_RST, 0);
          this.reset(k);
        } else this.emit(c, k, true, TCP_ACK, 0);
      } else if (this.left[k] > 0) {
        this.left[k]--;
        const fromClient = r() < 0.4;
        const len = fromClient ? 100 + Math.floor(r() * 400) : 1448;
        if (r() < 0.02) {
          // retransmission of the previous segment
          if (fromClient) this.cseq[k] = (this.cseq[k] - len) >>> 0;
          else this.sseq[k] = (this.sseq[k] - len) >>> 0;
        }
        this.emit(c, k, fromClient, TCP_PSH | TCP_ACK, len);
        if (r() < 0.5) this.emit(c, k, !fromClient, TCP_ACK, 0);
      } else {
        switch (kind) {
          case 1:
            this.emit(c, k, false, TCP_RST | TCP_ACK, 0);
            break;
          case 3:
            this.emit(c, k, true, TCP_RST | TCP_ACK, 0);
            break;
          case 4:
            this.emit(c, k, false, TCP_RST, 0, 40);
            break;
          case 5:
            for (let t = 0; t < 3; t++) {
              this.cseq[k] = (this.cseq[k] - 200) >>> 0;
              this.emit(c, k, true, TCP_PSH | TCP_ACK, 200);
            }
            this.emit(c, k, true, TCP_RST | TCP_ACK, 0);
            break;
          default:
            this.emit(c, k, true, TCP_FIN | TCP_ACK, 0);
            this.emit(c, k, false, TCP_FIN | TCP_ACK, 0);
            this.emit(c, k, true, TCP_ACK, 0);
        }
        this.reset(k);
      }
    }
  }
}

/** The random-interleave stream, encoded batch by batch in the wire format a worker receives. */
function encodeRandomStream(seed, packets) {
  const gen = new Gen(seed);
  const batch = HeaderColumns.allocate(BATCH + 16);
  const msgs = [];
  let done = 0;
  while (done < packets) {
    gen.fill(batch, Math.min(BATCH, packets - done));
    done += batch.length;
    msgs.push(encodeHeaderBatch({ sensorId: 'bench', batchSeq: BigInt(msgs.length) }, batch));
  }
  return msgs;
}

/** The tracegen capture of --packets / --seed in bench/out (generated once, shared with other benches). */
async function traceFile() {
  if (values.file) return values.file;
  const outDir = join(root, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `analyze-${PACKETS}-s${values.seed}.pcap`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const { generateTrace } = await import('../packages/tracegen/dist/index.js');
    const { renameSync } = await import('node:fs');
    const tmp = `${file}.tmp`;
    await generateTrace({ out: tmp, packets: PACKETS, seed: Number(values.seed) });
    renameSync(tmp, file);
    log(`generated ${file} in ${Math.round(performance.now() - t0)} ms`);
  }
  return file;
}

/** Reference in the same process: decode each batch and hash every header's key (a flow table's floor). */
function referenceOnce(msgs) {
  const cols = HeaderColumns.allocate(BATCH + 16);
  let done = 0;
  let acc = 0;
  const c0 = process.cpuUsage();
  for (const m of msgs) {
    const { columns } = decodeHeaderBatch(m, cols);
    for (let i = 0; i < columns.length; i++)
      acc = (acc + flowHash(columns, i) + columns.flags[i] + columns.seq[i]) | 0;
    done += columns.length;
  }
  const c1 = process.cpuUsage(c0);
  return { hpcs: (done / (c1.user + c1.system)) * 1e6, acc };
}

/** Flow records as the processor's workers ask for them: binary rows, their text made on another thread. */
const ROWS = { flows: 'rows' };

/** One timed run: decode every batch into reused columns and process it on a fresh engine. */
function runOnce(msgs, engineConfig = {}) {
  const engine = Engine.create(engineConfig);
  const cols = HeaderColumns.allocate(BATCH + 16);
  let events = 0;
  let flows = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const m of msgs) {
    const { columns } = decodeHeaderBatch(m, cols);
    const out = engine.processBatch(columns, 'bench', ROWS);
    events += out.events.length;
    flows += out.flows.length + (out.rows?.count ?? 0);
  }
  const fin = engine.finish(ROWS);
  const ns = process.hrtime.bigint() - t0;
  const c1 = process.cpuUsage(c0);
  events += fin.events.length;
  flows += fin.flows.length + (fin.rows?.count ?? 0);
  const s = engine.stats();
  return {
    hps: (s.headers / Number(ns)) * 1e9,
    hpcs: (s.headers / (c1.user + c1.system)) * 1e6,
    events,
    flows,
    stats: s,
  };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/** Warm-up run, then RUNS timed runs: median wall and CPU rates, min/max wall rate, the last run. */
function measure(msgs, engineConfig = {}) {
  runOnce(msgs, engineConfig);
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(runOnce(msgs, engineConfig));
  const hps = results.map((r) => r.hps);
  return {
    hps: median(hps),
    hpcs: median(results.map((r) => r.hpcs)),
    min: Math.min(...hps),
    max: Math.max(...hps),
    last: results[results.length - 1],
  };
}

const started = performance.now();
const cliMaxFlows = values['max-flows'] ? Number(values['max-flows']) : null;

/** Capture figures of one file, each line prefixed with `prefix`. */
function reportCapture(prefix, file, msgs, maxFlows) {
  const cfg = maxFlows ? { maxFlows } : {};
  const trace = measure(msgs, cfg);
  const refMed = median(Array.from({ length: RUNS }, () => referenceOnce(msgs).hpcs));
  const out = (k, v) => console.log(`${prefix}${k}=${v}`);
  out('file', file);
  out('packets', trace.last.stats.headers);
  out('headers_per_s', Math.round(trace.hps));
  out('headers_per_cpu_s', Math.round(trace.hpcs));
  out('headers_per_s_min', Math.round(trace.min));
  out('headers_per_s_max', Math.round(trace.max));
  out('reference_hash_only_per_cpu_s', Math.round(refMed));
  out('ratio_engine_vs_hash_only', (trace.hpcs / refMed).toFixed(3));
  out('flows', trace.last.flows);
  out('events', trace.last.events);
  out('evictions', trace.last.stats.evictions);
  out('max_flows', maxFlows ?? DEFAULT_ENGINE_CONFIG.maxFlows);
  out('bytes_per_flow', Engine.bytesPerFlow({ ...DEFAULT_ENGINE_CONFIG, ...cfg }).toFixed(1));
  return trace;
}

console.log(`node=${process.version}`);
console.log(`runs=${RUNS}`);
if (values.shapes !== undefined) {
  const names = parseShapeList(values.shapes);
  const rates = {};
  for (const name of names) {
    const file = await shapeFile(name, PACKETS, Number(values.seed), log);
    const t0 = performance.now();
    const msgs = await encodeCapture(file, BATCH);
    log(`${name}: encoded ${file} in ${Math.round(performance.now() - t0)} ms; measuring`);
    rates[name] = reportCapture(`${name}.`, file, msgs, cliMaxFlows ?? SHAPES[name].maxFlows).hpcs;
  }
  // The spec's "falls no more than 1.5x from 10k to 1M connections", from CPU rates, light -> busiest.
  if (rates.light && rates.c1m) console.log(`slowdown_light_to_c1m=${(rates.light / rates.c1m).toFixed(2)}`);
  if (rates.light && rates.c100k)
    console.log(`slowdown_light_to_c100k=${(rates.light / rates.c100k).toFixed(2)}`);
} else {
  const file = await traceFile();
  reportCapture('', file, await encodeCapture(file, BATCH), cliMaxFlows);
}
if (RANDOM_PACKETS > 0) {
  const random = measure(encodeRandomStream(42, RANDOM_PACKETS));
  console.log(`random_interleave_packets=${random.last.stats.headers}`);
  console.log(`random_interleave_concurrent=${CONC}`);
  console.log(`random_interleave_headers_per_s=${Math.round(random.hps)}`);
  console.log(`random_interleave_headers_per_cpu_s=${Math.round(random.hpcs)}`);
  console.log(`random_interleave_flows=${random.last.flows}`);
}
console.log(`wall_s=${((performance.now() - started) / 1000).toFixed(1)}`);
