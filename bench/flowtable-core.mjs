#!/usr/bin/env node
// Flow-table core, JavaScript against WebAssembly (issue 14: >= 3M headers per CPU-second on one thread
// at 100k and 1M concurrent connections). Decides whether a WASM core can reach the target where JS
// cannot, by timing the part every design has to do per header, on the same real capture:
//
//  js_core            hash the 5-tuple (direction-free: flowHash of @rstwatch/core), probe an
//                     open-addressed index (linear probing, the engine's sizing: ceil(1.25 maxFlows) + 1
//                     slots, Lemire bucket), create or update a 256-byte record in typed arrays touching
//                     three cache lines (line 0: key, timestamps, flags; line 1: the direction's seq/ack/
//                     window/counters; line 2: flag counters, per-direction last time);
//  wasm_core          the same algorithm in AssemblyScript (bench/wasm/flowtable.ts, compiled with the
//                     `assemblyscript` devDependency into bench/out/flowtable.wasm) over WASM linear
//                     memory, the header columns copied in once (timed apart: wasm_copy_ms), one call
//                     per batch;
//  js_core_prefetch, wasm_core_prefetch  the same after tight passes over the batch, as the engine's
//                     `prepare` but each load in a pass of its own: hash every header, read its index
//                     slot, touch its record's three lines (independent loads), then process;
//  js_core_tagged, wasm_core_tagged  the prefetch variant over a tagged index (slots of [flow + 1,
//                     hash], 8 bytes): probing compares hashes in the index and reads a record only on
//                     a match (the plain index, as the engine's, reads every flow on the probe path);
//  random_read_floor  one 64-byte read per header at a uniformly random record of a table of
//                     (distinct flows x 256 B), in WASM as native code reads it (four 16-byte SIMD
//                     loads per line; measured equal to C here): the memory bound of any design with
//                     that working set, loads independent of each other (the CPU overlaps their misses);
//  flow_read_floor    the same read at the record of the header's own flow (capture order: the
//                     locality the capture really has; records in creation order as in the engine);
//  dependent_read_floor  random_read_floor with each address depending on the previous load: the
//                     latency of one miss (DRAM + page walk), no overlap;
//  random_read_floor_js, dependent_read_floor_js  the two in a JS loop over a Uint32Array (16 loads
//                     per line: fewer lines fit the load queue, fewer misses overlap);
//  engine             the real classifier (Engine.create + processBatch + finish), for reference.
//
// Capacity as the engine: maxFlows of the shape (bench/shapes.mjs), no expiry (every shape's connections
// fit). The capture is parsed into HeaderColumns batches first (not timed). Each timed run starts from
// an empty table; one untimed warm-up run per variant, then --runs runs alternated, medians printed.
// js_core and wasm_core must end with the same flows and the same record checksum (printed).
//
//   node bench/flowtable-core.mjs [--shapes light,c100k,c1m] [--packets 2000000] [--seed 1] [--runs 3]
//                                 [--batch 4096] [--no-engine]
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ENGINE_CONFIG, Engine } from '../packages/classify/dist/index.js';
import { flowHash } from '../packages/core/dist/index.js';
import { parseCaptureFile } from '../packages/packet/dist/index.js';
import { parseBenchArgs } from './args.mjs';
import { parseShapeList, SHAPES, shapeFile } from './shapes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    shapes: { type: 'string', default: 'light,c100k,c1m' },
    packets: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '4096' },
    'no-engine': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const BATCH = Number(values.batch);
const log = (m) => process.stderr.write(`# ${m}\n`);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const REC_BYTES = 256;
const REC32 = REC_BYTES / 4;
const REC64 = REC_BYTES / 8;
const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;

// ---- WebAssembly module ------------------------------------------------------------------------------

/** bench/out/flowtable.wasm, compiled from bench/wasm/flowtable.ts when missing or older. */
async function wasmModule() {
  const src = join(here, 'wasm/flowtable.ts');
  const out = join(here, 'out/flowtable.wasm');
  // It imports the flow hash from packages/flow/wasm/flowhash.ts: a newer hash recompiles it too.
  const hash = join(here, '../packages/flow/wasm/flowhash.ts');
  const newest = Math.max(statSync(src).mtimeMs, statSync(hash).mtimeMs);
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    const asc = await import('assemblyscript/asc');
    const args = [
      src,
      '-O3',
      '--enable',
      'simd',
      '--runtime',
      'stub',
      '--noAssert',
      '--use',
      'abort=',
      '-o',
      out,
    ];
    const { error, stderr } = await asc.main(args);
    if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
    log(`compiled ${out}: asc ${args.slice(1).join(' ')}`);
  }
  return new WebAssembly.Module(readFileSync(out));
}

const align = (n) => Math.ceil(n / 64) * 64;

/** The WASM core over all headers of `batches`, copied into its linear memory. */
function wasmCore(module, batches, total, maxFlows, idxSize, floorFlows) {
  const inst = new WebAssembly.Instance(module, {});
  const x = inst.exports;
  // [64 KiB] src dst sport dport flags seq ack ts len win idx rec
  const widths = [16, 16, 2, 2, 2, 4, 4, 8, 4, 2];
  const at = [];
  let off = 65536;
  for (const w of widths) {
    at.push(off);
    off = align(off + w * total);
  }
  const pIdx = off;
  off = align(off + 4 * idxSize);
  const pRec = off;
  off = align(off + REC_BYTES * maxFlows);
  const pTagged = off;
  off = align(off + 8 * idxSize);
  const pScratch = off;
  off = align(off + 8 * Math.max(...batches.map((b) => b.length)));
  // The floors: a table of floorFlows x 256 B and two arrays of `total` record numbers.
  const pTable = off;
  off = align(off + REC_BYTES * floorFlows);
  const pRandom = off;
  off = align(off + 4 * total);
  const pOrder = off;
  off += 4 * total;
  x.memory.grow(Math.ceil(off / 65536) - x.memory.buffer.byteLength / 65536);
  const t0 = performance.now();
  const buf = x.memory.buffer;
  let g = 0;
  const bounds = [0];
  for (const b of batches) {
    const n = b.length;
    const cols = [b.srcAddr, b.dstAddr, b.srcPort, b.dstPort, b.flags, b.seq, b.ack, b.tsUs, b.payloadLen];
    cols.push(b.window);
    cols.forEach((c, k) => {
      const w = widths[k];
      new Uint8Array(buf, at[k] + g * w, n * w).set(new Uint8Array(c.buffer, c.byteOffset, n * w));
    });
    g += n;
    bounds.push(g);
  }
  const copyMs = performance.now() - t0;
  x.setup(...at, pIdx, pRec, idxSize, maxFlows);
  x.setupTagged(pTagged);
  return {
    copyMs,
    memoryBytes: buf.byteLength,
    /** mode: 'plain' (process), 'prefetch' (processPrefetched), 'tagged' (processTagged). */
    run(mode) {
      x.reset();
      let r = 0;
      const fn = { plain: x.process, prefetch: x.processPrefetched, tagged: x.processTagged }[mode];
      for (let k = 1; k < bounds.length; k++) r = fn(bounds[k - 1], bounds[k], pScratch);
      if (r < 0) throw new Error('wasm core: table full');
      return r;
    },
    flows: () => x.flows(),
    checksum: () => x.checksum(),
    /** Fill the floors' table (real pages, not the shared zero page) and their record numbers. */
    floors(randomLines, flowLines) {
      const b = x.memory.buffer;
      const t = new Uint32Array(b, pTable, floorFlows * REC32);
      for (let k = 0; k < t.length; k++) t[k] = k & 0xff;
      new Uint32Array(b, pRandom, total).set(randomLines);
      new Uint32Array(b, pOrder, total).set(flowLines);
    },
    readRandom: () => x.readLines(pRandom, total, pTable),
    readFlow: () => x.readLines(pOrder, total, pTable),
    readDependent: () => x.readLinesDependent(pRandom, total, pTable),
  };
}

// ---- JavaScript core ---------------------------------------------------------------------------------

/** Direction of header (s, dd at o, ports sp/dp) against record r: 0 same, 1 reversed, -1 another flow. */
function keyDir(u, r, s, dd, o, sp, dp) {
  const ports = u[r + 8];
  if (
    ports === (sp | (dp << 16)) >>> 0 &&
    u[r] === s[o] &&
    u[r + 1] === s[o + 1] &&
    u[r + 2] === s[o + 2] &&
    u[r + 3] === s[o + 3] &&
    u[r + 4] === dd[o] &&
    u[r + 5] === dd[o + 1] &&
    u[r + 6] === dd[o + 2] &&
    u[r + 7] === dd[o + 3]
  )
    return 0;
  if (
    ports === (dp | (sp << 16)) >>> 0 &&
    u[r] === dd[o] &&
    u[r + 1] === dd[o + 1] &&
    u[r + 2] === dd[o + 2] &&
    u[r + 3] === dd[o + 3] &&
    u[r + 4] === s[o] &&
    u[r + 5] === s[o + 1] &&
    u[r + 6] === s[o + 2] &&
    u[r + 7] === s[o + 3]
  )
    return 1;
  return -1;
}

class JsCore {
  constructor(maxFlows, idxSize) {
    this.maxFlows = maxFlows;
    this.idxSize = idxSize;
    this.idx = new Int32Array(idxSize);
    this.tagged = new Uint32Array(2 * idxSize);
    const rec = new ArrayBuffer(REC_BYTES * maxFlows);
    this.u32 = new Uint32Array(rec);
    this.f64 = new Float64Array(rec);
    this.n = 0;
    this.dir = 0;
    this.hashes = new Uint32Array(4096);
    this.slots = new Int32Array(4096);
    this.sink = 0;
  }

  reset() {
    this.idx.fill(0);
    this.tagged.fill(0);
    this.u32.fill(0, 0, this.n * REC32);
    this.n = 0;
  }

  /**
   * Slot of header i's flow (hash: hashes[i]) in the index (its record: idx[slot] - 1; `dir` set), or
   * the empty slot to fill.
   */
  find(c, i) {
    const h = this.hashes[i];
    this.dir = 0;
    const idx = this.idx;
    const u = this.u32;
    const size = this.idxSize;
    const s = c.srcAddr32;
    const dd = c.dstAddr32;
    const o = i * 4;
    const sp = c.srcPort[i];
    const dp = c.dstPort[i];
    let pos = Math.floor(h * size * 2.3283064365386963e-10);
    for (;;) {
      const v = idx[pos];
      if (v === 0) return pos;
      const r = (v - 1) * REC32;
      if (u[r + 9] === h) {
        const d = keyDir(u, r, s, dd, o, sp, dp);
        if (d >= 0) {
          this.dir = d;
          return pos;
        }
      }
      pos = pos + 1 === size ? 0 : pos + 1;
    }
  }

  /** `find` over the tagged index: a record is read only when the slot's hash equals the header's. */
  findTagged(c, i) {
    const h = this.hashes[i];
    this.dir = 0;
    const t = this.tagged;
    const u = this.u32;
    const size = this.idxSize;
    const s = c.srcAddr32;
    const dd = c.dstAddr32;
    const o = i * 4;
    const sp = c.srcPort[i];
    const dp = c.dstPort[i];
    let pos = Math.floor(h * size * 2.3283064365386963e-10);
    for (;;) {
      const v = t[2 * pos];
      if (v === 0) return pos;
      const r = (v - 1) * REC32;
      if (t[2 * pos + 1] === h) {
        const d = keyDir(u, r, s, dd, o, sp, dp);
        if (d >= 0) {
          this.dir = d;
          return pos;
        }
      }
      pos = pos + 1 === size ? 0 : pos + 1;
    }
  }

  /**
   * Find or create the flow of every header of batch c and update its record. The hashes go through a
   * Uint32Array: a uint32 passed to a function that is not inlined is boxed (a heap number) when it
   * does not fit a small integer.
   */
  process(c) {
    if (this.hashes.length < c.length) this.hashes = new Uint32Array(c.length);
    const hs = this.hashes;
    for (let i = 0; i < c.length; i++) hs[i] = flowHash(c, i);
    for (let i = 0; i < c.length; i++) this.step(c, i);
  }

  /**
   * `process` with the engine's `prepare` idea taken further: tight passes over the batch whose loads
   * do not depend on each other, so the CPU keeps many misses in flight: hash every header, read its
   * index slot, touch the three record lines of the slot's flow, then process in order.
   */
  processPrefetched(c) {
    if (this.hashes.length < c.length) this.hashes = new Uint32Array(c.length);
    if (this.slots.length < c.length) this.slots = new Int32Array(c.length);
    const hs = this.hashes;
    const slots = this.slots;
    const idx = this.idx;
    const u = this.u32;
    const size = this.idxSize;
    const n = c.length;
    for (let i = 0; i < n; i++) hs[i] = flowHash(c, i);
    for (let i = 0; i < n; i++) slots[i] = idx[Math.floor(hs[i] * size * 2.3283064365386963e-10)];
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = slots[i];
      if (v !== 0) {
        const r = (v - 1) * REC32;
        acc ^= u[r + 9] ^ u[r + 16] ^ u[r + 32];
      }
    }
    this.sink = acc;
    for (let i = 0; i < n; i++) this.step(c, i);
  }

  /**
   * `processPrefetched` over the tagged index (slots of [flow + 1, hash]): probing compares hashes in
   * the index and reads a record only on a match, where the plain index reads the record of every flow
   * on the probe path (at high load, several foreign records per new flow: cache misses).
   */
  processTagged(c) {
    if (this.hashes.length < c.length) this.hashes = new Uint32Array(c.length);
    if (this.slots.length < c.length) this.slots = new Int32Array(c.length);
    const hs = this.hashes;
    const slots = this.slots;
    const t = this.tagged;
    const u = this.u32;
    const size = this.idxSize;
    const n = c.length;
    for (let i = 0; i < n; i++) hs[i] = flowHash(c, i);
    for (let i = 0; i < n; i++) {
      const e = 2 * Math.floor(hs[i] * size * 2.3283064365386963e-10);
      slots[i] = t[e + 1] === hs[i] ? t[e] : 0;
    }
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = slots[i];
      if (v !== 0) {
        const r = (v - 1) * REC32;
        acc ^= u[r + 9] ^ u[r + 16] ^ u[r + 32];
      }
    }
    this.sink = acc;
    for (let i = 0; i < n; i++) this.stepTagged(c, i);
  }

  /** Find or create header i's flow (hash: hashes[i]) and update its record. */
  step(c, i) {
    const pos = this.find(c, i);
    let f = this.idx[pos] - 1;
    if (f < 0) {
      f = this.create(c, i);
      this.idx[pos] = f + 1;
    }
    this.update(c, i, f);
  }

  /** `step` over the tagged index. */
  stepTagged(c, i) {
    const pos = this.findTagged(c, i);
    const t = this.tagged;
    let f = t[2 * pos] - 1;
    if (f < 0) {
      f = this.create(c, i);
      t[2 * pos] = f + 1;
      t[2 * pos + 1] = this.hashes[i];
    }
    this.update(c, i, f);
  }

  /** A new flow for header i (its sender the originator): the record's key and first time. */
  create(c, i) {
    if (this.n >= this.maxFlows) throw new Error('js core: table full');
    const f = this.n++;
    const u = this.u32;
    const s = c.srcAddr32;
    const dd = c.dstAddr32;
    const o = i * 4;
    const r = f * REC32;
    u[r] = s[o];
    u[r + 1] = s[o + 1];
    u[r + 2] = s[o + 2];
    u[r + 3] = s[o + 3];
    u[r + 4] = dd[o];
    u[r + 5] = dd[o + 1];
    u[r + 6] = dd[o + 2];
    u[r + 7] = dd[o + 3];
    u[r + 8] = c.srcPort[i] | (c.dstPort[i] << 16);
    u[r + 9] = this.hashes[i];
    this.f64[f * REC64 + 6] = c.tsUs[i];
    return f;
  }

  /** Update flow f's record with header i (direction: `dir`). */
  update(c, i, f) {
    const u = this.u32;
    const f64 = this.f64;
    const ts = c.tsUs;
    const d = this.dir;
    const r = f * REC32;
    const fl = c.flags[i];
    const seq = c.seq[i];
    const len = c.payloadLen[i];
    // Line 0: connection.
    f64[f * REC64 + 7] = ts[i];
    u[r + 10] = u[r + 10] + 1;
    u[r + 11] = u[r + 11] | fl;
    // Line 1: endpoint d.
    const e = r + 16 + 8 * d;
    const pk = u[e + 3];
    if (fl & SYN) u[e] = seq;
    const end = (seq + len + (fl & SYN ? 1 : 0) + (fl & FIN ? 1 : 0)) >>> 0;
    if (pk === 0 || ((end - u[e + 1]) | 0) > 0) u[e + 1] = end;
    else if (len > 0) u[e + 7] = u[e + 7] + 1;
    if (fl & ACK) u[e + 2] = c.ack[i];
    u[e + 3] = pk + 1;
    u[e + 4] = u[e + 4] + len;
    u[e + 5] = c.window[i];
    u[e + 6] = u[e + 6] | fl;
    // Line 2: counters.
    const k = r + 32;
    if (fl & SYN) u[k] = u[k] + 1;
    if (fl & FIN) u[k + 1] = u[k + 1] + 1;
    if (fl & RST) u[k + 2] = u[k + 2] + 1;
    if (len === 0 && fl === ACK) u[k + 3] = u[k + 3] + 1;
    f64[f * REC64 + 20 + d] = ts[i];
  }

  checksum() {
    let s = 0;
    const u = this.u32;
    for (let o = 0, n = this.n * REC32; o < n; o++) s = (Math.imul(s, 31) + u[o]) >>> 0;
    return s;
  }

  /** Record of every header's flow, in capture order (after a run; for flow_read_floor). */
  flowOrder(batches, total) {
    const out = new Uint32Array(total);
    let g = 0;
    for (const c of batches)
      for (let i = 0; i < c.length; i++) {
        this.hashes[i] = flowHash(c, i);
        out[g++] = this.idx[this.find(c, i)] - 1;
      }
    return out;
  }
}

// ---- memory floors -----------------------------------------------------------------------------------

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Sum of one 64-byte line (16 words) per entry of `lines` (record numbers, line 0 of each). */
function readLines(t, lines) {
  let s = 0;
  for (let i = 0; i < lines.length; i++) {
    const b = lines[i] * REC32;
    s =
      (s +
        t[b] +
        t[b + 1] +
        t[b + 2] +
        t[b + 3] +
        t[b + 4] +
        t[b + 5] +
        t[b + 6] +
        t[b + 7] +
        t[b + 8] +
        t[b + 9] +
        t[b + 10] +
        t[b + 11] +
        t[b + 12] +
        t[b + 13] +
        t[b + 14] +
        t[b + 15]) |
      0;
  }
  return s;
}

/** readLines, each address depending on the previous line's first word (always 0 >>> 31: no change). */
function readLinesDependent(t, lines) {
  let s = 0;
  let v = 0;
  for (let i = 0; i < lines.length; i++) {
    const b = (lines[i] + (v >>> 31)) * REC32;
    v = t[b];
    s =
      (s +
        v +
        t[b + 1] +
        t[b + 2] +
        t[b + 3] +
        t[b + 4] +
        t[b + 5] +
        t[b + 6] +
        t[b + 7] +
        t[b + 8] +
        t[b + 9] +
        t[b + 10] +
        t[b + 11] +
        t[b + 12] +
        t[b + 13] +
        t[b + 14] +
        t[b + 15]) |
      0;
  }
  return s;
}

// ---- one shape ---------------------------------------------------------------------------------------

async function parseShape(file) {
  const batches = [];
  let total = 0;
  await parseCaptureFile(file, {
    batchSize: BATCH,
    onBatch: (b) => {
      if (batches.includes(b)) throw new Error('parser reused a batch');
      batches.push(b);
      total += b.length;
    },
  });
  return { batches, total };
}

function cpuTimed(fn) {
  const c0 = process.cpuUsage();
  const out = fn();
  const c1 = process.cpuUsage(c0);
  return { s: (c1.user + c1.system) / 1e6, out };
}

async function measureShape(name, module) {
  const packets = Number(values.packets);
  const file = await shapeFile(name, packets, Number(values.seed), log);
  const t0 = performance.now();
  const { batches, total } = await parseShape(file);
  log(`${name}: parsed ${total} headers of ${file} in ${Math.round(performance.now() - t0)} ms`);
  const maxFlows = SHAPES[name].maxFlows ?? DEFAULT_ENGINE_CONFIG.maxFlows;
  const idxSize = Math.ceil(maxFlows * 1.25) + 1; // the engine's index sizing (tracker.ts indexSize)

  const js = new JsCore(maxFlows, idxSize);
  const runJs = (mode) => {
    js.reset();
    if (mode === 'plain') for (const c of batches) js.process(c);
    else if (mode === 'prefetch') for (const c of batches) js.processPrefetched(c);
    else for (const c of batches) js.processTagged(c);
    return js.n;
  };
  runJs('plain'); // the distinct flows, for the floors' table size
  const wasm = wasmCore(module, batches, total, maxFlows, idxSize, js.n);
  // Warm up (untimed) and check that the cores agree, in every mode.
  const sums = [];
  for (const mode of ['tagged', 'prefetch', 'plain']) {
    runJs(mode);
    wasm.run(mode);
    sums.push([js.n, wasm.flows(), js.checksum(), wasm.checksum() >>> 0]);
  }
  const flows = js.n;
  const [jsSum, wasmSum] = [sums[2][2], sums[2][3]];
  const agree = sums.every((x) => x[0] === flows && x[1] === flows && x[2] === jsSum && x[3] === jsSum);
  const lines = js.flowOrder(batches, total);
  const table = new Uint32Array(flows * REC32);
  for (let k = 0; k < table.length; k++) table[k] = k & 0xff; // real pages, not the shared zero page
  const rnd = mulberry32(7);
  const randomLines = new Uint32Array(total);
  for (let i = 0; i < total; i++) randomLines[i] = rnd() % flows;
  wasm.floors(randomLines, lines);
  let engineFlows = -1;
  const runEngine = () => {
    const engine = Engine.create({ maxFlows });
    const c = cpuTimed(() => {
      for (const b of batches) engine.processBatch(b, 'bench');
      engine.finish();
    });
    engineFlows = engine.stats().flows_created;
    return c.s;
  };

  const variants = {
    js_core: () => cpuTimed(() => runJs('plain')).s,
    js_core_prefetch: () => cpuTimed(() => runJs('prefetch')).s,
    js_core_tagged: () => cpuTimed(() => runJs('tagged')).s,
    wasm_core: () => cpuTimed(() => wasm.run('plain')).s,
    wasm_core_prefetch: () => cpuTimed(() => wasm.run('prefetch')).s,
    wasm_core_tagged: () => cpuTimed(() => wasm.run('tagged')).s,
    random_read_floor: () => cpuTimed(wasm.readRandom).s,
    flow_read_floor: () => cpuTimed(wasm.readFlow).s,
    dependent_read_floor: () => cpuTimed(wasm.readDependent).s,
    random_read_floor_js: () => cpuTimed(() => readLines(table, randomLines)).s,
    dependent_read_floor_js: () => cpuTimed(() => readLinesDependent(table, randomLines)).s,
  };
  if (!values['no-engine']) variants.engine = runEngine;
  const names = Object.keys(variants);
  for (const v of names) if (!v.includes('_core')) variants[v](); // warm-up (the cores: above)
  const secs = Object.fromEntries(names.map((v) => [v, []]));
  for (let r = 0; r < RUNS; r++)
    for (let k = 0; k < names.length; k++) {
      const v = names[(k + r) % names.length];
      secs[v].push(variants[v]());
    }
  if (js.n !== flows || wasm.flows() !== flows) throw new Error('flow count changed between runs');

  const out = (k, val) => console.log(`${name}.${k}=${val}`);
  out('file', file);
  out('headers', total);
  out('max_flows', maxFlows);
  out('index_slots', idxSize);
  out('distinct_flows_js', flows);
  out('distinct_flows_wasm', wasm.flows());
  out('checksum_js', jsSum);
  out('checksum_wasm', wasmSum);
  out('cores_agree', agree);
  out('table_mb', ((flows * REC_BYTES) / 2 ** 20).toFixed(1));
  out('wasm_memory_mb', (wasm.memoryBytes / 2 ** 20).toFixed(1));
  out('wasm_copy_ms', wasm.copyMs.toFixed(1));
  if (engineFlows >= 0) out('engine_flows_created', engineFlows);
  for (const v of names) {
    const s = median(secs[v]);
    out(`${v}_headers_per_cpu_s`, Math.round(total / s));
    out(`${v}_ns_per_header`, ((s / total) * 1e9).toFixed(1));
  }
  out('wasm_vs_js', (median(secs.js_core) / median(secs.wasm_core)).toFixed(2));
  out('wasm_vs_js_prefetch', (median(secs.js_core_prefetch) / median(secs.wasm_core_prefetch)).toFixed(2));
  out('wasm_vs_js_tagged', (median(secs.js_core_tagged) / median(secs.wasm_core_tagged)).toFixed(2));
}

console.log(`node=${process.version}`);
console.log(`runs=${RUNS}`);
const started = performance.now();
const module = await wasmModule();
for (const name of parseShapeList(values.shapes)) await measureShape(name, module);
console.log(`wall_s=${((performance.now() - started) / 1000).toFixed(1)}`);
