/**
 * HeaderBatch codec: HeaderColumns <-> protobuf `rstwatch.v1.HeaderBatch` (proto/rstwatch/v1/headers.proto).
 *
 * Columns travel as raw little-endian `bytes` fields, so encoding and decoding are mostly memory copies:
 * the encoder sizes the message exactly and writes it in one buffer; the decoder parses the message with
 * protobufjs's generated code (the column fields become views of the input, not copies), validates every
 * column length against `count`, then copies the columns into typed arrays. Nothing is allocated per
 * header.
 */
import { HeaderColumns, RST_PAYLOAD_MAX, TCP_RST } from '@rstwatch/core';
import { rstwatch } from '#generated';
import { MAX_BATCH_HEADERS, WireError } from './errors.js';
import {
  columnFromLE,
  columnToLE,
  delimitedSize,
  HOST_LE,
  MAPPED_WORD,
  scratchBytes,
  scratchWords,
  swapBytes,
  varint64Size,
  varintSize,
  wordsOf,
  writeDelimitedHeader,
  writeVarint,
  writeVarint64,
} from './internal/bytes.js';
import { longToBigint, longToSafeNumber } from './internal/long.js';

/** Identity and size of a decoded batch. */
export interface BatchMeta {
  sensorId: string;
  /** Per-sensor batch sequence number (uint64). */
  batchSeq: bigint;
  /** Capture time of the earliest header, microseconds since the epoch. */
  baseTsUs: number;
  /** Number of headers. */
  count: number;
}

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const FLAGS_MASK = 0x1ff;

type StraightKey =
  | 'ipVersion'
  | 'srcPort'
  | 'dstPort'
  | 'flags'
  | 'seq'
  | 'ack'
  | 'window'
  | 'ttl'
  | 'ipId'
  | 'ipLen'
  | 'payloadLen'
  | 'optFlags'
  | 'mss'
  | 'wscale'
  | 'tsVal'
  | 'tsEcr'
  | 'vlan'
  | 'tunnel';

/** Columns copied as they are: [field number, HeaderColumns / HeaderBatch property, element width]. */
const STRAIGHT: readonly (readonly [number, StraightKey, number])[] = [
  [6, 'ipVersion', 1],
  [9, 'srcPort', 2],
  [10, 'dstPort', 2],
  [11, 'flags', 2],
  [12, 'seq', 4],
  [13, 'ack', 4],
  [14, 'window', 2],
  [15, 'ttl', 1],
  [16, 'ipId', 2],
  [17, 'ipLen', 4],
  [18, 'payloadLen', 4],
  [19, 'optFlags', 1],
  [20, 'mss', 2],
  [21, 'wscale', 1],
  [22, 'tsVal', 4],
  [23, 'tsEcr', 4],
  [24, 'vlan', 2],
  [25, 'tunnel', 1],
];
const F_SENSOR_ID = 1;
const F_BATCH_SEQ = 2;
const F_BASE_TS = 3;
const F_COUNT = 4;
const F_TS_DELTA = 5;
const F_SRC_ADDR = 7;
const F_DST_ADDR = 8;
const F_RST_PAYLOAD_LEN = 26;
const F_RST_PAYLOAD = 27;
const F_TS_DELTA_WIDE = 28;
const F_CKSUM = 29;

const utf8 = new TextEncoder();

/**
 * The encoder's plan for one message, from its first pass over the headers (`planBatch`): one
 * module-level record read by the size and column writers, so nothing is allocated per batch (the
 * encoder is synchronous, so one record is enough).
 */
const plan = {
  /** Headers in the range. */
  n: 0,
  /** `base_ts_us`: the earliest timestamp (0 for an empty range). */
  base: 0,
  /** Timestamp deltas need 64 bits (`ts_delta_us_wide`). */
  wide: false,
  tsBytes: 0,
  addrBytes: 0,
  nRst: 0,
  rstBytes: 0,
  /** OR of every header's checksum bits: the `cksum` column is sent only when not 0. */
  anyCk: 0,
};

/**
 * Encode headers [start, end) of `cols` (default: all of them) as one HeaderBatch message.
 * `base_ts_us` is the earliest timestamp of the range. Throws {@link WireError} on a bad range, more than
 * {@link MAX_BATCH_HEADERS} headers, an empty sensor id, an IP version other than 4/6, a RST payload
 * length over 64, or a timestamp that is not a non-negative safe integer.
 * Only RST headers carry their payload; other headers' `rstPayloadLen` is not sent (decodes as 0).
 * `cksum` is sent only when some header of the range was verified (an absent column decodes as 0).
 */
export function encodeHeaderBatch(
  meta: { sensorId: string; batchSeq: bigint },
  cols: HeaderColumns,
  start = 0,
  end: number = cols.length,
): Uint8Array {
  checkRange(cols, start, end);
  const seq = checkedBatchSeq(meta);
  const seqLo = Number(seq & 0xffff_ffffn);
  const seqHi = Number(seq >> 32n);
  planBatch(cols, start, end);
  const { n, base } = plan;
  const sid = utf8.encode(meta.sensorId);

  // Exact size, then one buffer.
  let size = delimitedSize(F_SENSOR_ID, sid.length);
  if (seq !== 0n) size += 1 + varint64Size(seqLo, seqHi);
  size += plannedSize();

  // Every byte is written below (checked at the end), so the buffer need not be zeroed. A Buffer is also
  // what Kafka clients take as a message value. Not from Node's shared pool: the message owns its
  // ArrayBuffer, so it can be transferred to another thread.
  const out: Uint8Array = Buffer.allocUnsafeSlow(size);
  let p = writeDelimitedHeader(out, 0, F_SENSOR_ID, sid.length);
  out.set(sid, p);
  p += sid.length;
  if (seq !== 0n) {
    out[p++] = F_BATCH_SEQ << 3;
    p = writeVarint64(out, p, seqLo, seqHi);
  }
  if (base !== 0) {
    out[p++] = F_BASE_TS << 3;
    p = writeVarint(out, p, base);
  }
  if (n !== 0) p = writeColumns(out, p, cols, start, end);
  // `count` goes last, always (even 0; the field has presence): a message cut short anywhere then lacks it
  // or ends inside a field, and is rejected instead of decoding as a shorter batch.
  out[p++] = F_COUNT << 3;
  p = writeVarint(out, p, n);
  if (p !== size) throw new Error(`HeaderBatch encoder wrote ${p} bytes, sized ${size}`); // a bug, not input
  return out;
}

function checkRange(cols: HeaderColumns, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > cols.length) {
    throw new WireError('bad_count', `range [${start}, ${end}) is outside the batch of ${cols.length}`);
  }
  const n = end - start;
  if (n > MAX_BATCH_HEADERS) throw new WireError('too_large', `${n} headers > ${MAX_BATCH_HEADERS}`);
}

/** The batch sequence number, once the sensor id and it are found valid. */
function checkedBatchSeq(meta: { sensorId: string; batchSeq: bigint }): bigint {
  if (typeof meta.sensorId !== 'string' || meta.sensorId === '') {
    throw new WireError('missing_field', 'sensor id must be a non-empty string');
  }
  const seq = meta.batchSeq;
  if (typeof seq !== 'bigint' || seq < 0n || seq > MAX_U64) {
    throw new WireError('bad_value', `batch sequence number must be a uint64 bigint, got ${String(seq)}`);
  }
  return seq;
}

/** Pass 1 into `plan`: timestamp range, address sizes, RST payload sizes, checksum presence. */
function planBatch(cols: HeaderColumns, start: number, end: number): void {
  const ts = cols.tsUs;
  const ipv = cols.ipVersion;
  const flags = cols.flags;
  const rstLen = cols.rstPayloadLen;
  const ck = cols.cksum;
  let anyCk = 0;
  let minTs = MAX_SAFE;
  let maxTs = 0;
  let n4 = 0;
  let n6 = 0;
  let nRst = 0;
  let rstBytes = 0;
  for (let i = start; i < end; i++) {
    const t = ts[i]!;
    if (!(t >= 0 && t <= MAX_SAFE) || Math.floor(t) !== t) {
      throw new WireError('bad_timestamp', `header ${i}: timestamp ${t} is not a non-negative safe integer`);
    }
    if (t < minTs) minTs = t;
    if (t > maxTs) maxTs = t;
    anyCk |= ck[i]!;
    const v = ipv[i]!;
    if (v === 4) n4++;
    else if (v === 6) n6++;
    else throw new WireError('bad_ip_version', `header ${i}: IP version ${v}`);
    if ((flags[i]! & TCP_RST) !== 0) {
      const l = rstLen[i]!;
      if (l > RST_PAYLOAD_MAX) throw new WireError('bad_rst_payload', `header ${i}: RST payload length ${l}`);
      nRst++;
      rstBytes += l;
    }
  }
  const n = end - start;
  plan.n = n;
  plan.base = n === 0 ? 0 : minTs;
  plan.wide = n > 0 && maxTs - minTs >= TWO_32;
  plan.tsBytes = plan.wide ? 8 * n : 4 * n;
  plan.addrBytes = 4 * n4 + 16 * n6;
  plan.nRst = nRst;
  plan.rstBytes = rstBytes;
  plan.anyCk = anyCk;
}

/** Encoded size of every field but sensor_id and batch_seq. */
function plannedSize(): number {
  const { n, base, wide, tsBytes, addrBytes, nRst, rstBytes, anyCk } = plan;
  let size = 0;
  if (base !== 0) size += 1 + varintSize(base);
  size += 1 + varintSize(n); // count, always present
  size += delimitedSize(wide ? F_TS_DELTA_WIDE : F_TS_DELTA, tsBytes);
  for (const [f, , w] of STRAIGHT) size += delimitedSize(f, n * w);
  size += delimitedSize(F_SRC_ADDR, addrBytes) + delimitedSize(F_DST_ADDR, addrBytes);
  size += delimitedSize(F_RST_PAYLOAD_LEN, nRst) + delimitedSize(F_RST_PAYLOAD, rstBytes);
  if (anyCk !== 0) size += delimitedSize(F_CKSUM, n);
  return size;
}

/** The column fields of a non-empty range, in field number order. */
function writeColumns(out: Uint8Array, p: number, cols: HeaderColumns, start: number, end: number): number {
  const { n, wide, tsBytes, addrBytes } = plan;
  if (!wide) {
    p = writeDelimitedHeader(out, p, F_TS_DELTA, tsBytes);
    const d = scratchWords(n);
    const ts = cols.tsUs;
    const base = plan.base;
    for (let i = start; i < end; i++) d[i - start] = ts[i]! - base;
    p = copyScratch(out, p, tsBytes);
  }
  const ipv = cols.ipVersion;
  for (const [f, key, w] of STRAIGHT) {
    p = writeDelimitedHeader(out, p, f, n * w);
    p = columnToLE(out, p, cols[key], start, n);
    if (f === 6) {
      // Addresses (fields 7, 8) follow ip_version (6) so fields stay in number order.
      p = writeAddrs(out, writeDelimitedHeader(out, p, F_SRC_ADDR, addrBytes), cols.srcAddr, ipv, start, end);
      p = writeAddrs(out, writeDelimitedHeader(out, p, F_DST_ADDR, addrBytes), cols.dstAddr, ipv, start, end);
    }
  }
  if (plan.nRst > 0) p = writeRstPayloads(out, p, cols, start, end);
  if (wide) p = writeWideTs(out, p, cols.tsUs, start, end);
  if (plan.anyCk !== 0) {
    p = writeDelimitedHeader(out, p, F_CKSUM, n);
    out.set(cols.cksum.subarray(start, end), p);
    p += n;
  }
  return p;
}

/** rst_payload_len (one byte per RST header) and, when not all empty, rst_payload (their bytes). */
function writeRstPayloads(
  out: Uint8Array,
  p: number,
  cols: HeaderColumns,
  start: number,
  end: number,
): number {
  const flags = cols.flags;
  const rstLen = cols.rstPayloadLen;
  p = writeDelimitedHeader(out, p, F_RST_PAYLOAD_LEN, plan.nRst);
  for (let i = start; i < end; i++) if ((flags[i]! & TCP_RST) !== 0) out[p++] = rstLen[i]!;
  const rstBytes = plan.rstBytes;
  if (rstBytes > 0) {
    p = writeDelimitedHeader(out, p, F_RST_PAYLOAD, rstBytes);
    const pl = cols.rstPayload;
    for (let i = start; i < end; i++) {
      if ((flags[i]! & TCP_RST) === 0) continue;
      const o = i * RST_PAYLOAD_MAX;
      const l = rstLen[i]!;
      for (let k = 0; k < l; k++) out[p++] = pl[o + k]!;
    }
  }
  return p;
}

/** ts_delta_us_wide: each delta as two 32-bit words, low first. */
function writeWideTs(out: Uint8Array, p: number, ts: Float64Array, start: number, end: number): number {
  const { n, base, tsBytes } = plan;
  p = writeDelimitedHeader(out, p, F_TS_DELTA_WIDE, tsBytes);
  const w = scratchWords(2 * n);
  for (let i = start, k = 0; i < end; i++, k += 2) {
    const d = ts[i]! - base;
    const lo = d >>> 0;
    w[k] = lo;
    w[k + 1] = (d - lo) / TWO_32;
  }
  return copyScratch(out, p, tsBytes);
}

/** Copy the first `len` scratch bytes (host-order words) to `out` at `p` as little-endian words. */
function copyScratch(out: Uint8Array, p: number, len: number): number {
  out.set(scratchBytes().subarray(0, len), p);
  if (!HOST_LE) swapBytes(out, p, len, 4);
  return p + len;
}

/** Write the addresses of headers [start, end): 4 bytes for IPv4 (the mapped slot's last word), else 16. */
function writeAddrs(
  out: Uint8Array,
  p: number,
  addr: Uint8Array,
  ipv: Uint8Array,
  start: number,
  end: number,
): number {
  const a = wordsOf(addr);
  const s = scratchWords(4 * (end - start));
  let q = 0;
  for (let i = start; i < end; i++) {
    const o = 4 * i;
    if (ipv[i] === 4) {
      s[q++] = a[o + 3]!;
    } else {
      s[q] = a[o]!;
      s[q + 1] = a[o + 1]!;
      s[q + 2] = a[o + 2]!;
      s[q + 3] = a[o + 3]!;
      q += 4;
    }
  }
  // Words are copied as bytes in memory order, so no byte swap is needed on any host.
  out.set(scratchBytes().subarray(0, 4 * q), p);
  return p + 4 * q;
}

/** Inverse of writeAddrs: IPv4 addresses become ::ffff:a.b.c.d slots. */
function readAddrs(dst: Uint8Array, src: Uint8Array, ipv: Uint8Array, n: number): void {
  const s = scratchWords(src.length >>> 2);
  scratchBytes().set(src);
  const d = wordsOf(dst);
  let q = 0;
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    if (ipv[i] === 4) {
      d[o] = 0;
      d[o + 1] = 0;
      d[o + 2] = MAPPED_WORD;
      d[o + 3] = s[q++]!;
    } else {
      d[o] = s[q]!;
      d[o + 1] = s[q + 1]!;
      d[o + 2] = s[q + 2]!;
      d[o + 3] = s[q + 3]!;
      q += 4;
    }
  }
}

function parseHeaderBatch(bytes: Uint8Array): rstwatch.v1.HeaderBatch {
  if (!(bytes instanceof Uint8Array)) throw new WireError('bad_protobuf', 'message is not a Uint8Array');
  try {
    return rstwatch.v1.HeaderBatch.decode(bytes);
  } catch (err) {
    const truncated = err instanceof RangeError;
    throw new WireError(truncated ? 'truncated' : 'bad_protobuf', `HeaderBatch: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Decode a HeaderBatch message into typed-array columns. Reuses `out` when its capacity is at least the
 * batch's count (its previous contents are overwritten; `out.length` becomes the count), otherwise
 * allocates a new HeaderColumns (shared if `out` was shared). Validates the whole message before writing
 * anything, so `out` is untouched when it throws {@link WireError}.
 *
 * Kept as one function on purpose (issue 12 allows ~80 lines): it runs once per batch on the processor's
 * hot path, and split into its checks and column writers it measured about 5% slower (decode of 4096-header
 * batches, alternating runs). test/architecture/function-length.test.ts lists it as the one exception.
 */
export function decodeHeaderBatch(
  bytes: Uint8Array,
  out?: HeaderColumns,
): { meta: BatchMeta; columns: HeaderColumns } {
  const m = parseHeaderBatch(bytes);
  const sensorId = m.sensorId;
  if (sensorId === '') throw new WireError('missing_field', 'HeaderBatch without sensor_id');
  const batchSeq = longToBigint(m.batchSeq);
  const baseTsUs = longToSafeNumber(m.baseTsUs, 'base_ts_us', 'bad_timestamp');
  if (baseTsUs < 0 || baseTsUs > MAX_SAFE - (TWO_32 - 1)) {
    throw new WireError('bad_timestamp', `base_ts_us ${String(m.baseTsUs)} is out of range`);
  }
  if (m.count == null) {
    throw new WireError(
      'truncated',
      'HeaderBatch without count (cut short, or from an encoder that omits it)',
    );
  }
  const n = m.count;
  if (n > MAX_BATCH_HEADERS) throw new WireError('too_large', `count ${n} > ${MAX_BATCH_HEADERS}`);

  for (const [, key, w] of STRAIGHT) {
    if (m[key].length !== n * w) {
      throw new WireError('bad_column_length', `${key}: ${m[key].length} bytes for ${n} headers`);
    }
  }
  // Checksum results: added within v1, so absent (older agents, nothing verified) is legal.
  const cks = m.cksum;
  if (cks.length !== 0 && cks.length !== n) {
    throw new WireError('bad_column_length', `cksum: ${cks.length} bytes for ${n} headers`);
  }
  const tsNarrow = m.tsDeltaUs;
  const tsWide = m.tsDeltaUsWide;
  const narrowOk = tsNarrow.length === 4 * n && tsWide.length === 0;
  const wideOk = n > 0 && tsNarrow.length === 0 && tsWide.length === 8 * n;
  if (!narrowOk && !wideOk) {
    throw new WireError(
      'bad_column_length',
      `timestamps: ts_delta_us ${tsNarrow.length} bytes, ts_delta_us_wide ${tsWide.length} bytes for ${n} headers`,
    );
  }
  // Pass over IP versions and flags: they size the address and RST payload columns.
  const ipv = m.ipVersion;
  const fl = m.flags;
  let n4 = 0;
  let n6 = 0;
  let nRst = 0;
  for (let i = 0; i < n; i++) {
    const v = ipv[i]!;
    if (v === 4) n4++;
    else if (v === 6) n6++;
    else throw new WireError('bad_ip_version', `header ${i}: IP version ${v}`);
    if ((fl[2 * i]! & TCP_RST) !== 0) nRst++;
  }
  const addrBytes = 4 * n4 + 16 * n6;
  if (m.srcAddr.length !== addrBytes || m.dstAddr.length !== addrBytes) {
    throw new WireError(
      'bad_column_length',
      `addresses: src ${m.srcAddr.length} / dst ${m.dstAddr.length} bytes, expected ${addrBytes} for ${n4} IPv4 and ${n6} IPv6 headers`,
    );
  }
  const rstLens = m.rstPayloadLen;
  if (rstLens.length !== nRst) {
    throw new WireError(
      'bad_column_length',
      `rst_payload_len: ${rstLens.length} entries for ${nRst} RST headers`,
    );
  }
  let rstBytes = 0;
  for (let k = 0; k < nRst; k++) {
    const l = rstLens[k]!;
    if (l > RST_PAYLOAD_MAX)
      throw new WireError('bad_rst_payload', `RST payload length ${l} > ${RST_PAYLOAD_MAX}`);
    rstBytes += l;
  }
  if (m.rstPayload.length !== rstBytes) {
    throw new WireError(
      'bad_column_length',
      `rst_payload: ${m.rstPayload.length} bytes, lengths say ${rstBytes}`,
    );
  }
  // Timestamp deltas as host-order words in the scratch area, used (before anything else touches the
  // scratch area) when the columns are written below.
  const tsSrc = wideOk ? tsWide : tsNarrow;
  const tw = scratchWords(tsSrc.length >>> 2);
  scratchBytes().set(tsSrc);
  if (!HOST_LE) swapBytes(scratchBytes(), 0, tsSrc.length, 4);
  if (wideOk) {
    for (let i = 0; i < n; i++) {
      if (tw[2 * i + 1]! * TWO_32 + tw[2 * i]! > MAX_SAFE - baseTsUs) {
        throw new WireError('bad_timestamp', `header ${i}: timestamp beyond 2^53 us`);
      }
    }
  }

  // Valid: write the columns.
  const c =
    out !== undefined && out.capacity >= n
      ? out
      : HeaderColumns.allocate(Math.max(n, 1), out !== undefined && out.buffer instanceof SharedArrayBuffer);
  for (const [, key] of STRAIGHT) columnFromLE(c[key], m[key]);
  if (cks.length === n) c.cksum.set(cks);
  else c.cksum.fill(0, 0, n);
  const flags = c.flags;
  for (let i = 0; i < n; i++) flags[i] = flags[i]! & FLAGS_MASK;
  const ts = c.tsUs;
  if (wideOk) for (let i = 0; i < n; i++) ts[i] = baseTsUs + tw[2 * i + 1]! * TWO_32 + tw[2 * i]!;
  else for (let i = 0; i < n; i++) ts[i] = baseTsUs + tw[i]!;
  const cv = c.ipVersion;
  readAddrs(c.srcAddr, m.srcAddr, cv, n);
  readAddrs(c.dstAddr, m.dstAddr, cv, n);
  const pl = c.rstPayload;
  const pll = c.rstPayloadLen;
  const src = m.rstPayload;
  let k = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    if ((flags[i]! & TCP_RST) === 0) {
      pll[i] = 0;
      continue;
    }
    const l = rstLens[k++]!;
    pll[i] = l;
    const o = i * RST_PAYLOAD_MAX;
    for (let j = 0; j < l; j++) pl[o + j] = src[p++]!;
  }
  c.length = n;
  return { meta: { sensorId, batchSeq, baseTsUs, count: n }, columns: c };
}
