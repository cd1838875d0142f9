// AssemblyScript flow-table core for bench/flowtable-core.mjs: the same algorithm as the bench's JS core
// (direction-free 5-tuple hash, open-addressed index with linear probing, one 256-byte record per flow
// touched on three cache lines), on WebAssembly linear memory. Compiled by the bench with the
// `assemblyscript` devDependency (`--runtime stub`: no allocator, no GC; every region is laid out by JS).
//
// Header columns (structure of arrays, copied in once by JS): src/dst address 16 bytes each (the
// HeaderColumns bytes, read as four host-order u32 words), ports u16, flags u16, seq/ack u32, tsUs f64,
// payloadLen u32, window u16. Index: idxSize u32 slots holding flow + 1 (0 = empty). Records: 256 bytes.

import { combineEndpoints, endpointHash } from '../../packages/flow/wasm/flowhash';

const REC: u32 = 256;
const SYN: u32 = 0x02;
const FIN: u32 = 0x01;
const RST: u32 = 0x04;
const ACK: u32 = 0x10;

let pSrc: usize = 0;
let pDst: usize = 0;
let pSport: usize = 0;
let pDport: usize = 0;
let pFlags: usize = 0;
let pSeq: usize = 0;
let pAck: usize = 0;
let pTs: usize = 0;
let pLen: usize = 0;
let pWin: usize = 0;
let pIdx: usize = 0;
let pTagged: usize = 0;
let pRec: usize = 0;
let idxSize: u32 = 0;
let maxFlows: u32 = 0;
let nFlows: u32 = 0;

/** Region addresses (bytes) chosen by JS, the index size and the flow capacity. */
export function setup(
  src: usize,
  dst: usize,
  sport: usize,
  dport: usize,
  flags: usize,
  seq: usize,
  ack: usize,
  ts: usize,
  len: usize,
  win: usize,
  idx: usize,
  rec: usize,
  size: u32,
  cap: u32,
): void {
  pSrc = src;
  pDst = dst;
  pSport = sport;
  pDport = dport;
  pFlags = flags;
  pSeq = seq;
  pAck = ack;
  pTs = ts;
  pLen = len;
  pWin = win;
  pIdx = idx;
  pRec = rec;
  idxSize = size;
  maxFlows = cap;
  nFlows = 0;
}

/** Empty the index and the records in use (not timed by the bench). */
export function reset(): void {
  memory.fill(pIdx, 0, (<usize>idxSize) << 2);
  if (pTagged !== 0) memory.fill(pTagged, 0, (<usize>idxSize) << 3);
  memory.fill(pRec, 0, <usize>nFlows * REC);
  nFlows = 0;
}

export function flows(): u32 {
  return nFlows;
}

function same128(a: usize, b: usize): bool {
  return load<u64>(a) === load<u64>(b) && load<u64>(a, 8) === load<u64>(b, 8);
}

/**
 * Process headers [from, to): find or create each one's flow and update its record. Returns the flows
 * in the table, or -1 when the table is full (the bench sizes it so that it never is).
 */
export function process(from: u32, to: u32): i32 {
  for (let i = from; i < to; i++) if (!step(i, hashOf(i))) return -1;
  return <i32>nFlows;
}

/**
 * `process` with the engine's `prepare` idea taken further: tight passes over the batch whose loads
 * do not depend on each other, so the CPU keeps many misses in flight: (1) hash every header of
 * [from, to) into scratch[0, n), (2) read its index slot into scratch[n, 2n), (3) touch the three
 * record lines of each slot's flow, then (4) process in order with the lines in cache. `scratch`
 * holds 2 (to - from) u32.
 */
export function processPrefetched(from: u32, to: u32, scratch: usize): i32 {
  const n = <usize>(to - from);
  const slots = scratch + (n << 2);
  for (let k: usize = 0; k < n; k++) store<u32>(scratch + (k << 2), hashOf(from + <u32>k));
  for (let k: usize = 0; k < n; k++) {
    const h = load<u32>(scratch + (k << 2));
    store<u32>(slots + (k << 2), load<u32>(pIdx + ((<usize>(<u32>((<u64>h * <u64>idxSize) >> 32))) << 2)));
  }
  let acc: u32 = 0;
  for (let k: usize = 0; k < n; k++) {
    const v = load<u32>(slots + (k << 2));
    if (v !== 0) {
      const c = pRec + <usize>(v - 1) * REC;
      acc ^= load<u32>(c, 36) ^ load<u32>(c, 64) ^ load<u32>(c, 128);
    }
  }
  sink = acc;
  for (let i = from; i < to; i++) if (!step(i, load<u32>(scratch + ((<usize>(i - from)) << 2)))) return -1;
  return <i32>nFlows;
}

let sink: u32 = 0;

/** Keeps `sink` (the prefetch loads) observable. */
export function prefetchSink(): u32 {
  return sink;
}

function hashOf(i: u32): u32 {
  const sp = <u32>load<u16>(pSport + ((<usize>i) << 1));
  const dp = <u32>load<u16>(pDport + ((<usize>i) << 1));
  return combineEndpoints(
    endpointHash(pSrc + ((<usize>i) << 4), sp),
    endpointHash(pDst + ((<usize>i) << 4), dp),
    0,
  );
}

/** Find or create header i's flow (hash h) and update its record; false when the table is full. */
function step(i: u32, h: u32): bool {
  const sa = pSrc + ((<usize>i) << 4);
  const da = pDst + ((<usize>i) << 4);
  const sp = <u32>load<u16>(pSport + ((<usize>i) << 1));
  const dp = <u32>load<u16>(pDport + ((<usize>i) << 1));
  let pos = <u32>((<u64>h * <u64>idxSize) >> 32);
  let r: usize = 0;
  let d: u32 = 0;
  for (;;) {
    const v = load<u32>(pIdx + ((<usize>pos) << 2));
    if (v === 0) {
      // New flow: the sender of its first packet is the originator.
      if (nFlows >= maxFlows) return false;
      const f = nFlows++;
      store<u32>(pIdx + ((<usize>pos) << 2), f + 1);
      r = pRec + <usize>f * REC;
      store<u64>(r, load<u64>(sa));
      store<u64>(r, load<u64>(sa, 8), 8);
      store<u64>(r, load<u64>(da), 16);
      store<u64>(r, load<u64>(da, 8), 24);
      store<u32>(r, sp | (dp << 16), 32);
      store<u32>(r, h, 36);
      store<f64>(r, load<f64>(pTs + ((<usize>i) << 3)), 48);
      d = 0;
      break;
    }
    const c = pRec + <usize>(v - 1) * REC;
    if (load<u32>(c, 36) === h) {
      const ports = load<u32>(c, 32);
      if (ports === (sp | (dp << 16)) && same128(c, sa) && same128(c + 16, da)) {
        r = c;
        d = 0;
        break;
      }
      if (ports === (dp | (sp << 16)) && same128(c, da) && same128(c + 16, sa)) {
        r = c;
        d = 1;
        break;
      }
    }
    pos = pos + 1 === idxSize ? 0 : pos + 1;
  }
  update(r, d, i);
  return true;
}

// ---- tagged index: slots of [flow + 1, hash], so probing compares hashes without touching records ----

/** The tagged index's address (idxSize x 8 bytes), for `processTagged`. */
export function setupTagged(tagged: usize): void {
  pTagged = tagged;
}

/**
 * `processPrefetched` over the tagged index: a probe reads the slot's hash and touches a record only
 * when it equals the header's, where the plain index reads the record of every flow on the probe path
 * (at high load, several foreign records per new flow: cache misses).
 */
export function processTagged(from: u32, to: u32, scratch: usize): i32 {
  const n = <usize>(to - from);
  const slots = scratch + (n << 2);
  for (let k: usize = 0; k < n; k++) store<u32>(scratch + (k << 2), hashOf(from + <u32>k));
  for (let k: usize = 0; k < n; k++) {
    const h = load<u32>(scratch + (k << 2));
    const e = pTagged + ((<usize>(<u32>((<u64>h * <u64>idxSize) >> 32))) << 3);
    store<u32>(slots + (k << 2), load<u32>(e, 4) === h ? load<u32>(e) : 0);
  }
  let acc: u32 = 0;
  for (let k: usize = 0; k < n; k++) {
    const v = load<u32>(slots + (k << 2));
    if (v !== 0) {
      const c = pRec + <usize>(v - 1) * REC;
      acc ^= load<u32>(c, 36) ^ load<u32>(c, 64) ^ load<u32>(c, 128);
    }
  }
  sink = acc;
  for (let i = from; i < to; i++)
    if (!stepTagged(i, load<u32>(scratch + ((<usize>(i - from)) << 2)))) return -1;
  return <i32>nFlows;
}

function stepTagged(i: u32, h: u32): bool {
  const sa = pSrc + ((<usize>i) << 4);
  const da = pDst + ((<usize>i) << 4);
  const sp = <u32>load<u16>(pSport + ((<usize>i) << 1));
  const dp = <u32>load<u16>(pDport + ((<usize>i) << 1));
  let pos = <u32>((<u64>h * <u64>idxSize) >> 32);
  let r: usize = 0;
  let d: u32 = 0;
  for (;;) {
    const e = pTagged + ((<usize>pos) << 3);
    const v = load<u32>(e);
    if (v === 0) {
      if (nFlows >= maxFlows) return false;
      const f = nFlows++;
      store<u32>(e, f + 1);
      store<u32>(e, h, 4);
      r = pRec + <usize>f * REC;
      store<u64>(r, load<u64>(sa));
      store<u64>(r, load<u64>(sa, 8), 8);
      store<u64>(r, load<u64>(da), 16);
      store<u64>(r, load<u64>(da, 8), 24);
      store<u32>(r, sp | (dp << 16), 32);
      store<u32>(r, h, 36);
      store<f64>(r, load<f64>(pTs + ((<usize>i) << 3)), 48);
      d = 0;
      break;
    }
    if (load<u32>(e, 4) === h) {
      const c = pRec + <usize>(v - 1) * REC;
      const ports = load<u32>(c, 32);
      if (ports === (sp | (dp << 16)) && same128(c, sa) && same128(c + 16, da)) {
        r = c;
        d = 0;
        break;
      }
      if (ports === (dp | (sp << 16)) && same128(c, da) && same128(c + 16, sa)) {
        r = c;
        d = 1;
        break;
      }
    }
    pos = pos + 1 === idxSize ? 0 : pos + 1;
  }
  update(r, d, i);
  return true;
}

function update(r: usize, d: u32, i: u32): void {
  const fl = <u32>load<u16>(pFlags + ((<usize>i) << 1));
  const seq = load<u32>(pSeq + ((<usize>i) << 2));
  const ack = load<u32>(pAck + ((<usize>i) << 2));
  const len = load<u32>(pLen + ((<usize>i) << 2));
  const ts = load<f64>(pTs + ((<usize>i) << 3));
  // Line 0: connection.
  store<f64>(r, ts, 56);
  store<u32>(r, load<u32>(r, 40) + 1, 40);
  store<u32>(r, load<u32>(r, 44) | fl, 44);
  // Line 1: endpoint d (32 bytes at 64 + 32 d).
  const e = r + 64 + ((<usize>d) << 5);
  const pk = load<u32>(e, 12);
  if (fl & SYN) store<u32>(e, seq);
  const end = seq + len + (fl & SYN ? 1 : 0) + (fl & FIN ? 1 : 0);
  if (pk === 0 || <i32>(end - load<u32>(e, 4)) > 0) store<u32>(e, end, 4);
  else if (len > 0) store<u32>(e, load<u32>(e, 28) + 1, 28);
  if (fl & ACK) store<u32>(e, ack, 8);
  store<u32>(e, pk + 1, 12);
  store<u32>(e, load<u32>(e, 16) + len, 16);
  store<u32>(e, <u32>load<u16>(pWin + ((<usize>i) << 1)), 20);
  store<u32>(e, load<u32>(e, 24) | fl, 24);
  // Line 2: counters.
  const k = r + 128;
  if (fl & SYN) store<u32>(k, load<u32>(k) + 1);
  if (fl & FIN) store<u32>(k, load<u32>(k, 4) + 1, 4);
  if (fl & RST) store<u32>(k, load<u32>(k, 8) + 1, 8);
  if (len === 0 && fl === ACK) store<u32>(k, load<u32>(k, 12) + 1, 12);
  store<f64>(k + ((<usize>d) << 3), ts, 32);
}

/** Sum of the record words of flows in use (the JS core computes the same, to compare the two). */
export function checksum(): u32 {
  let s: u32 = 0;
  const n = <usize>nFlows * REC;
  for (let o: usize = 0; o < n; o += 4) s = s * 31 + load<u32>(pRec + o);
  return s;
}

/**
 * Memory floors: one 64-byte line read per entry of the u32 array at `lines` (n record numbers), in a
 * table of 256-byte records at `table`, as four 16-byte SIMD loads (as compiled native code reads it:
 * few loads per line, so the load queue holds many lines). Independent loads: the CPU overlaps the
 * misses.
 */
export function readLines(lines: usize, n: u32, table: usize): u32 {
  let s = i32x4.splat(0);
  for (let i: u32 = 0; i < n; i++) {
    const b = table + <usize>load<u32>(lines + ((<usize>i) << 2)) * REC;
    s = i32x4.add(
      s,
      i32x4.add(i32x4.add(v128.load(b), v128.load(b, 16)), i32x4.add(v128.load(b, 32), v128.load(b, 48))),
    );
  }
  return <u32>(
    (i32x4.extract_lane(s, 0) +
      i32x4.extract_lane(s, 1) +
      i32x4.extract_lane(s, 2) +
      i32x4.extract_lane(s, 3))
  );
}

/** readLines, each address depending on the previous line's first word (table words are < 2^31). */
export function readLinesDependent(lines: usize, n: u32, table: usize): u32 {
  let s = i32x4.splat(0);
  let v: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const b = table + <usize>(load<u32>(lines + ((<usize>i) << 2)) + (v >> 31)) * REC;
    const l0 = v128.load(b);
    v = <u32>i32x4.extract_lane(l0, 0);
    s = i32x4.add(
      s,
      i32x4.add(i32x4.add(l0, v128.load(b, 16)), i32x4.add(v128.load(b, 32), v128.load(b, 48))),
    );
  }
  return <u32>(
    (i32x4.extract_lane(s, 0) +
      i32x4.extract_lane(s, 1) +
      i32x4.extract_lane(s, 2) +
      i32x4.extract_lane(s, 3))
  );
}
