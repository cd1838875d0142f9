// Wire codec benchmark: the contract's raw little-endian `bytes` columns (rstwatch.v1.HeaderBatch, through
// @rstwatch/wire) against packed varint columns (bench/wire-varint.proto), on a synthetic, realistic batch.
// Prints `name=value` lines per variant: encode/decode headers per second and bytes per header, raw and
// after whole-message gzip (and zstd where Node has it). Medians over several runs.
//
//   pnpm bench:wire [--packets 4096] [--runs 7] [--ms 250]
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import {
  ADDR_BYTES,
  HeaderColumns,
  parseAddr,
  RST_PAYLOAD_MAX,
  TCP_RST,
} from '../packages/core/dist/index.js';
import { decodeHeaderBatch, encodeHeaderBatch } from '../packages/wire/dist/index.js';

const require = createRequire(new URL('../packages/wire/package.json', import.meta.url));
const protobuf = require('protobufjs');
const { Reader, Writer } = protobuf;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const N = arg('packets', 4096);
const RUNS = arg('runs', 7);
const MS = arg('ms', 250);

// ---------------------------------------------------------------------------------------------------
// A realistic batch: ~300 concurrent flows (20% IPv6) with skewed popularity, bulk data one way and
// ACKs the other, handshakes with options, timestamps on most packets, ~1% RSTs (some with payload),
// VLAN tags on some flows, a few VXLAN-tunnelled ones. Deterministic (seeded).
function rng(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeBatch(n, seed = 1) {
  const r = rng(seed);
  const int = (k) => Math.floor(r() * k);
  const c = HeaderColumns.allocate(n);
  const flows = [];
  for (let f = 0; f < 300; f++) {
    const v6 = r() < 0.2;
    const cli = v6
      ? `2001:db8:${int(65536).toString(16)}::${int(65536).toString(16)}`
      : `10.${int(256)}.${int(256)}.${1 + int(254)}`;
    const srv = v6 ? `2001:db8:ffff::${1 + int(200)}` : `192.0.2.${1 + int(200)}`;
    flows.push({
      v6,
      cli: parseAddr(cli),
      srv: parseAddr(srv),
      cport: 32768 + int(28000),
      sport: [443, 443, 443, 80, 22, 8080, 5432][int(7)],
      cseq: int(2 ** 32),
      sseq: int(2 ** 32),
      cttl: 64 - int(8),
      sttl: r() < 0.5 ? 64 - int(12) : 128 - int(12),
      cid: int(65536),
      sid: int(65536),
      cwin: 500 + int(3000),
      swin: 28000 + int(37000),
      vlan: r() < 0.3 ? 100 + int(10) : 0,
      tunnel: r() < 0.05 ? 4 : 0,
      tsopt: r() < 0.85,
      tsc: int(2 ** 32),
      tss: int(2 ** 32),
      fresh: r() < 0.1,
    });
  }
  let t = 1_763_700_000_000_000;
  for (let i = 0; i < n; i++) {
    t += int(20);
    const f = flows[Math.floor(r() * r() * flows.length)];
    const fromSrv = r() < 0.6;
    let flags = 0x010;
    let payload = 0;
    let opt = f.tsopt ? 0x04 : 0;
    let mss = 0;
    let wscale = 0;
    if (f.fresh) {
      flags = fromSrv ? 0x012 : 0x002;
      opt |= 0x01 | 0x08 | 0x10;
      mss = f.v6 ? 1440 : 1460;
      wscale = 7;
      f.fresh = false;
    } else {
      const x = r();
      if (x < 0.01) flags = r() < 0.5 ? 0x004 : 0x014;
      else if (x < 0.02) flags = 0x011;
      else if (fromSrv && x < 0.7) {
        flags = 0x018;
        payload = r() < 0.8 ? 1448 : int(1448);
      } else if (!fromSrv && x < 0.3) {
        flags = 0x018;
        payload = 50 + int(500);
      }
      if (x > 0.97 && !fromSrv) opt |= 0x02;
    }
    const j = i * ADDR_BYTES;
    c.srcAddr.set(fromSrv ? f.srv : f.cli, j);
    c.dstAddr.set(fromSrv ? f.cli : f.srv, j);
    c.srcPort[i] = fromSrv ? f.sport : f.cport;
    c.dstPort[i] = fromSrv ? f.cport : f.sport;
    c.ipVersion[i] = f.v6 ? 6 : 4;
    c.tsUs[i] = t;
    c.flags[i] = flags;
    c.seq[i] = fromSrv ? f.sseq : f.cseq;
    c.ack[i] = flags & 0x010 ? (fromSrv ? f.cseq : f.sseq) : 0;
    if (fromSrv) f.sseq = (f.sseq + payload) >>> 0;
    else f.cseq = (f.cseq + payload) >>> 0;
    c.window[i] = fromSrv ? f.swin - int(200) : f.cwin;
    c.ttl[i] = fromSrv ? f.sttl : f.cttl;
    c.ipId[i] = f.v6 ? 0 : fromSrv ? f.sid++ & 0xffff : f.cid++ & 0xffff;
    const tcpLen = 20 + (opt & 0x04 ? 12 : 0) + (opt & 0x08 ? 8 : 0);
    c.ipLen[i] = (f.v6 ? 40 : 20) + tcpLen + payload;
    c.payloadLen[i] = payload;
    c.optFlags[i] = opt;
    c.mss[i] = mss;
    c.wscale[i] = wscale;
    if (opt & 0x04) {
      if (fromSrv) f.tss += int(3);
      else f.tsc += int(3);
      c.tsVal[i] = fromSrv ? f.tss >>> 0 : f.tsc >>> 0;
      c.tsEcr[i] = fromSrv ? f.tsc >>> 0 : f.tss >>> 0;
    }
    c.vlan[i] = f.vlan;
    c.tunnel[i] = f.tunnel;
    if (flags & TCP_RST && r() < 0.2) {
      const l = 1 + int(RST_PAYLOAD_MAX);
      for (let k = 0; k < l; k++) c.rstPayload[i * RST_PAYLOAD_MAX + k] = 32 + int(95);
      c.rstPayloadLen[i] = l;
    }
  }
  c.length = n;
  return c;
}

// ---------------------------------------------------------------------------------------------------
// Variant (a): packed varints through protobufjs's Writer/Reader, straight into typed arrays.
const U32_COLS = [
  [6, 'ipVersion'],
  [9, 'srcPort'],
  [10, 'dstPort'],
  [11, 'flags'],
  [12, 'seq'],
  [13, 'ack'],
  [14, 'window'],
  [15, 'ttl'],
  [16, 'ipId'],
  [17, 'ipLen'],
  [18, 'payloadLen'],
  [19, 'optFlags'],
  [20, 'mss'],
  [21, 'wscale'],
  [22, 'tsVal'],
  [23, 'tsEcr'],
  [24, 'vlan'],
  [25, 'tunnel'],
];
let scratchDelta = new Int32Array(0);
let scratchAddr = new Uint8Array(0);

function packAddrs(addr, ipv, n) {
  if (scratchAddr.length < n * 16) scratchAddr = new Uint8Array(n * 16);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 16;
    if (ipv[i] === 4) {
      for (let k = 12; k < 16; k++) scratchAddr[p++] = addr[o + k];
    } else for (let k = 0; k < 16; k++) scratchAddr[p++] = addr[o + k];
  }
  return scratchAddr.subarray(0, p);
}

function encodeVarint(meta, c) {
  const n = c.length;
  let base = Infinity;
  for (let i = 0; i < n; i++) if (c.tsUs[i] < base) base = c.tsUs[i];
  if (scratchDelta.length < n) scratchDelta = new Int32Array(n);
  let prev = base;
  for (let i = 0; i < n; i++) {
    scratchDelta[i] = c.tsUs[i] - prev; // fits 32 bits in this bench (the contract would need sint64)
    prev = c.tsUs[i];
  }
  const w = Writer.create();
  w.uint32(10).string(meta.sensorId);
  w.uint32(16).uint64(Number(meta.batchSeq));
  w.uint32(24).uint64(base);
  w.uint32(32).uint32(n);
  w.uint32(42).sint32s(scratchDelta.subarray(0, n));
  for (const [f, k] of U32_COLS) {
    w.uint32((f << 3) | 2).uint32s(c[k].subarray(0, n));
    if (f === 6) {
      w.uint32(58).bytes(packAddrs(c.srcAddr, c.ipVersion, n));
      w.uint32(66).bytes(packAddrs(c.dstAddr, c.ipVersion, n));
    }
  }
  let nr = 0;
  let pb = 0;
  for (let i = 0; i < n; i++) {
    if (c.flags[i] & TCP_RST) {
      nr++;
      pb += c.rstPayloadLen[i];
    }
  }
  const lens = new Uint8Array(nr);
  const pl = new Uint8Array(pb);
  for (let i = 0, k = 0, p = 0; i < n; i++) {
    if (!(c.flags[i] & TCP_RST)) continue;
    const l = c.rstPayloadLen[i];
    lens[k++] = l;
    pl.set(c.rstPayload.subarray(i * 64, i * 64 + l), p);
    p += l;
  }
  w.uint32(210).bytes(lens);
  w.uint32(218).bytes(pl);
  return w.finish();
}

function readPacked(r, col, signed) {
  const end = r.uint32() + r.pos;
  let i = 0;
  if (signed) while (r.pos < end) col[i++] = r.sint32();
  else while (r.pos < end) col[i++] = r.uint32();
  return i;
}

function decodeVarint(bytes, out) {
  const r = Reader.create(bytes);
  let n = 0;
  let base = 0;
  let src;
  let dst;
  let lens;
  let pl;
  if (scratchDelta.length < out.capacity) scratchDelta = new Int32Array(out.capacity);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) r.string();
    else if (f === 2) r.uint64();
    else if (f === 3) base = r.uint64().toNumber();
    else if (f === 4) n = r.uint32();
    else if (f === 5) readPacked(r, scratchDelta, true);
    else if (f === 7) src = r.bytes();
    else if (f === 8) dst = r.bytes();
    else if (f === 26) lens = r.bytes();
    else if (f === 27) pl = r.bytes();
    else if (f >= 6 && f <= 25) readPacked(r, out[COL_BY_FIELD[f]], false);
    else r.skipType(tag & 7);
  }
  let t = base;
  for (let i = 0; i < n; i++) out.tsUs[i] = t += scratchDelta[i];
  for (const [a, s] of [
    [out.srcAddr, src],
    [out.dstAddr, dst],
  ]) {
    let p = 0;
    for (let i = 0; i < n; i++) {
      const o = i * 16;
      if (out.ipVersion[i] === 4) {
        for (let k = 0; k < 10; k++) a[o + k] = 0;
        a[o + 10] = 255;
        a[o + 11] = 255;
        for (let k = 12; k < 16; k++) a[o + k] = s[p++];
      } else for (let k = 0; k < 16; k++) a[o + k] = s[p++];
    }
  }
  for (let i = 0, k = 0, p = 0; i < n; i++) {
    if (!(out.flags[i] & TCP_RST)) {
      out.rstPayloadLen[i] = 0;
      continue;
    }
    const l = lens[k++];
    out.rstPayloadLen[i] = l;
    for (let j = 0; j < l; j++) out.rstPayload[i * 64 + j] = pl[p++];
  }
  out.length = n;
  return out;
}
const COL_BY_FIELD = [];
for (const [f, k] of U32_COLS) COL_BY_FIELD[f] = k;

// ---------------------------------------------------------------------------------------------------
function sameBatch(a, b) {
  if (a.length !== b.length) return 'length';
  for (const k of [
    'tsUs',
    'ipVersion',
    'srcAddr',
    'dstAddr',
    ...U32_COLS.map(([, k]) => k),
    'rstPayloadLen',
  ]) {
    const w = k === 'srcAddr' || k === 'dstAddr' ? 16 : 1;
    for (let i = 0; i < a.length * w; i++) if (a[k][i] !== b[k][i]) return `${k}[${i}]`;
  }
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < a.rstPayloadLen[i]; j++)
      if (a.rstPayload[i * 64 + j] !== b.rstPayload[i * 64 + j]) return `rstPayload[${i}]`;
  return '';
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/** Calls per second of fn over about MS ms (after a warm-up). */
function once(fn) {
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  do {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
    el = Number(process.hrtime.bigint() - t0) / 1e6;
  } while (el < MS);
  return (calls * 1000) / el;
}

/** Calls per second of fn, median over RUNS runs. */
function rate(fn) {
  for (let i = 0; i < 50; i++) fn();
  return median(Array.from({ length: RUNS }, () => once(fn)));
}

/**
 * Interleaved runs of a and b (a, b, a, b, ...), so load changes on a shared machine hit both alike:
 * median rates and the median of the per-run ratios a/b.
 */
function compare(a, b) {
  for (let i = 0; i < 50; i++) {
    a();
    b();
  }
  const ra = [];
  const rb = [];
  const ratio = [];
  for (let run = 0; run < RUNS; run++) {
    ra.push(once(a));
    rb.push(once(b));
    ratio.push(ra[run] / rb[run]);
  }
  return [median(ra), median(rb), median(ratio)];
}

const batch = makeBatch(N);
const meta = { sensorId: 'sensor-bench-01', batchSeq: 123456789n };
const out = HeaderColumns.allocate(N);
const fmt = (x) => (x >= 100 ? Math.round(x) : Math.round(x * 100) / 100);
const print = (k, v) => console.log(`${k}=${fmt(v)}`);

// Whole-message compression as a Kafka producer would apply it (gzip at zlib's default level 6 and at
// level 1; zstd where this Node has it; lz4 needs a native add-on, not tried).
const COMPRESSORS = [
  ['gzip', (b) => zlib.gzipSync(b), (b) => zlib.gunzipSync(b)],
  ['gzip1', (b) => zlib.gzipSync(b, { level: 1 }), (b) => zlib.gunzipSync(b)],
];
if (typeof zlib.zstdCompressSync === 'function') {
  COMPRESSORS.push(['zstd', (b) => zlib.zstdCompressSync(b), (b) => zlib.zstdDecompressSync(b)]);
}

const variants = {
  bytes: { enc: () => encodeHeaderBatch(meta, batch), dec: (b) => decodeHeaderBatch(b, out).columns },
  varint: { enc: () => encodeVarint(meta, batch), dec: (b) => decodeVarint(b, out) },
};
print('batch_headers', N);
for (const [name, v] of Object.entries(variants)) {
  const msg = v.enc();
  const bad = sameBatch(batch, v.dec(msg));
  if (bad) throw new Error(`${name}: round trip differs at ${bad}`);
  print(`${name}_bytes_per_header`, msg.length / N);
  print(`${name}_encode_headers_per_s`, rate(v.enc) * N);
  print(`${name}_decode_headers_per_s`, rate(() => v.dec(msg)) * N);
  for (const [cname, comp, decomp] of COMPRESSORS) {
    const z = comp(msg);
    print(`${name}_${cname}_bytes_per_header`, z.length / N);
    print(`${name}_${cname}_encode_headers_per_s`, rate(() => comp(v.enc())) * N);
    print(`${name}_${cname}_decode_headers_per_s`, rate(() => v.dec(decomp(z))) * N);
  }
}
// Generic protobufjs reflection decode of the varint variant (JS arrays, Long objects): the cost of not
// decoding straight into typed arrays.
const root = protobuf.loadSync(new URL('./wire-varint.proto', import.meta.url).pathname);
const T = root.lookupType('rstwatch.bench.HeaderBatchVarint');
const vmsg = variants.varint.enc();
print('varint_reflect_decode_headers_per_s', rate(() => T.decode(vmsg)) * N);
// Same-command ratios (interleaved runs): the decision figures.
{
  const bmsg = variants.bytes.enc();
  const vmsg2 = variants.varint.enc();
  const [be, ve, re] = compare(variants.bytes.enc, variants.varint.enc);
  const [bd, vd, rd] = compare(
    () => variants.bytes.dec(bmsg),
    () => variants.varint.dec(vmsg2),
  );
  print('interleaved_bytes_encode_headers_per_s', be * N);
  print('interleaved_varint_encode_headers_per_s', ve * N);
  print('interleaved_bytes_decode_headers_per_s', bd * N);
  print('interleaved_varint_decode_headers_per_s', vd * N);
  print('ratio_bytes_vs_varint_encode', re);
  print('ratio_bytes_vs_varint_decode', rd);
  print('ratio_bytes_vs_varint_size', bmsg.length / vmsg2.length);
}
// The contract's figures under the names the other benches use.
const cmsg = variants.bytes.enc();
print('bytes_per_header', cmsg.length / N);
print('encode_headers_per_s', rate(variants.bytes.enc) * N);
print('decode_headers_per_s', rate(() => variants.bytes.dec(cmsg)) * N);
