/** Flow records: a finished flow's state as a Zeek conn.log-compatible object (plus rstwatch's fields). */
import { CAUSES, type FlowRecord, formatAddr, ORIGINS, TUNNEL_NAMES } from '@rstwatch/core';
import { communityId } from './community-id.js';
import { CONN_STATE_NAMES, connStateCode } from './conn-state.js';
import { formatTs } from './time.js';
import { endpointOf, type FlowTracker } from './tracker.js';

const B62 = new Uint8Array(62);
for (let k = 0; k < 62; k++)
  B62[k] = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.charCodeAt(k);
/** The uid's 18 character codes: 'C', then three base62 numbers, each written right to left. */
const UID = new Uint16Array(18);

/** `width` base62 digits of the non-negative integer n into UID, ending before `end` (most significant first). */
function base62(n: number, width: number, end: number): void {
  let v = Math.floor(n);
  for (let k = 1; k <= width; k++) {
    const q = Math.floor(v / 62);
    UID[end - k] = B62[v - q * 62]!;
    v = q;
  }
}

/** Zeek-looking connection uid from a flow's generation `g` and key hash `h` (see {@link flowUid}). */
function uidOf(g: number, h: number): string {
  const mix = Math.imul(g ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
  UID[0] = 0x43; // C
  base62(h, 6, 7);
  base62(mix, 6, 13);
  base62(g, 5, 18);
  const u = UID;
  return String.fromCharCode(
    u[0]!,
    u[1]!,
    u[2]!,
    u[3]!,
    u[4]!,
    u[5]!,
    u[6]!,
    u[7]!,
    u[8]!,
    u[9]!,
    u[10]!,
    u[11]!,
    u[12]!,
    u[13]!,
    u[14]!,
    u[15]!,
    u[16]!,
    u[17]!,
  );
}

/** Zeek-looking connection uid (`C` + 17 base62 characters), deterministic per flow generation. */
export function flowUid(t: FlowTracker, f: number): string {
  return uidOf(t.generation(f), t.keyHash(f));
}

/** Community ID v1 of flow f. */
export function flowCommunityId(t: FlowTracker, f: number): string {
  return communityId(t.addr, t.origAddrAt(f), t.origPort(f), t.addr, t.respAddrAt(f), t.respPort(f));
}

/** conn_state code (index in CONN_STATES) of flow f now. */
export function flowConnStateCode(t: FlowTracker, f: number, historyLen?: number): number {
  const h = t.history(f, historyLen);
  return connStateCode(
    t.epState(endpointOf(f, 0)),
    t.epState(endpointOf(f, 1)),
    t.size(f, 0),
    t.size(f, 1),
    h,
  );
}

// ---- flow rows: finished flows as fixed-size binary rows ----------------------------------------------
//
// The engine thread writes what a record needs as one row of FLOW_ROW_BYTES (numbers, the two 16-byte
// addresses, the history letters); the text (ts, uid, addresses, community ID, conn_state) is made where
// the record is used, usually another thread. A row is a copy of an ArrayBuffer away, where an object
// of 26 fields and its strings cost the engine thread about as much as the packets of a short flow, and
// cost it again to clone. Offsets are in units of each view: R64 (f64), R32 (u32), R16 (u16), byte.

/** Bytes per flow row. */
export const FLOW_ROW_BYTES = 144;
const R64 = FLOW_ROW_BYTES / 8;
const R32 = FLOW_ROW_BYTES / 4;
const R16 = FLOW_ROW_BYTES / 2;
// f64
const W_FIRST_TS = 0;
const W_LAST_TS = 1;
const W_ORIG_BYTES = 2;
const W_RESP_BYTES = 3;
// u32 (from byte 32)
const W_ORIG_PKTS = 8;
const W_RESP_PKTS = 9;
const W_ORIG_IP_BYTES = 10;
const W_RESP_IP_BYTES = 11;
const W_GEN = 12;
const W_HASH = 13;
const W_RSTS = 14;
const W_DUPS = 15;
const W_REORDERED = 16;
const W_LATE = 17;
// bytes 72..103: the addresses; u16 at bytes 104, 106: the ports
const B_ORIG_ADDR = 72;
const B_RESP_ADDR = 88;
const W_ORIG_ADDR32 = B_ORIG_ADDR / 4;
const W_RESP_ADDR32 = B_RESP_ADDR / 4;
const W_ORIG_PORT = 52;
const W_RESP_PORT = 53;
// u8
const B_ORIG_STATE = 108;
const B_RESP_STATE = 109;
const B_CAUSE = 110;
const B_ORIGIN = 111;
const B_TUNNEL = 112;
const B_ONE_SIDED = 113;
const B_SENSOR = 114;
const B_HIST_LEN = 115;
const B_HISTORY = 116; // HISTORY_MAX (16) letters, to byte 132

/**
 * Finished flows as binary rows (see FLOW_ROW_BYTES), in buffers of whole rows (at most ROWS_PER_BUFFER
 * each), with the names of the sensor ordinals they use.
 */
export interface FlowRows {
  readonly buffers: readonly ArrayBuffer[];
  readonly count: number;
  readonly sensors: readonly string[];
}

/**
 * Rows per buffer: small buffers, handed over as they fill, so a million flows ending at once are not
 * copied as one buffer grows, and freed buffers are reused by the allocator instead of fresh pages.
 */
const ROWS_PER_BUFFER = 256;

/** Typed views of one rows buffer. */
class RowViews {
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  readonly u16: Uint16Array;
  readonly u8: Uint8Array;
  constructor(readonly buffer: ArrayBuffer) {
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }
}

/** Appends the rows of flows as they end (engine thread); `take` hands them over and starts again. */
export class FlowRowWriter {
  private v: RowViews | null = null;
  /** Rows in the current buffer. */
  private n = 0;
  private full: ArrayBuffer[] = [];
  private total = 0;

  get count(): number {
    return this.total;
  }

  /** Row of flow f (call before the flow is released). */
  push(t: FlowTracker, f: number): void {
    let v = this.v;
    if (v === null) {
      v = new RowViews(new ArrayBuffer(FLOW_ROW_BYTES * ROWS_PER_BUFFER));
      this.v = v;
    }
    writeRow(v, this.n, t, f);
    this.total++;
    if (++this.n === ROWS_PER_BUFFER) {
      this.full.push(v.buffer);
      this.v = null;
      this.n = 0;
    }
  }

  /** The rows written since the last `take` (their buffers, no longer the writer's), or null when none. */
  take(t: FlowTracker): FlowRows | null {
    if (this.total === 0) return null;
    const buffers = this.full;
    if (this.n > 0) buffers.push(this.v!.buffer.slice(0, this.n * FLOW_ROW_BYTES));
    const count = this.total;
    this.full = [];
    this.n = 0;
    this.total = 0;
    const sensors: string[] = [];
    for (let s = 0; s < t.sensorCount; s++) sensors.push(t.sensorName(s));
    return { buffers, count, sensors };
  }
}

/** Rows `a` then rows `b` (b taken later from the same engine, so its sensor names extend a's). */
export function concatFlowRows(a: FlowRows, b: FlowRows): FlowRows {
  return {
    buffers: [...a.buffers, ...b.buffers],
    count: a.count + b.count,
    sensors: b.sensors.length >= a.sensors.length ? b.sensors : a.sensors,
  };
}

function writeRow(v: RowViews, k: number, t: FlowTracker, f: number): void {
  const o = endpointOf(f, 0);
  const r = endpointOf(f, 1);
  const b = k * FLOW_ROW_BYTES;
  const w64 = k * R64;
  const w32 = k * R32;
  const w16 = k * R16;
  v.f64[w64 + W_FIRST_TS] = t.firstTs(f);
  v.f64[w64 + W_LAST_TS] = t.lastTs(f);
  v.f64[w64 + W_ORIG_BYTES] = t.size(f, 0);
  v.f64[w64 + W_RESP_BYTES] = t.size(f, 1);
  const u32 = v.u32;
  u32[w32 + W_ORIG_PKTS] = t.epPackets(o);
  u32[w32 + W_RESP_PKTS] = t.epPackets(r);
  u32[w32 + W_ORIG_IP_BYTES] = t.epIpBytes(o);
  u32[w32 + W_RESP_IP_BYTES] = t.epIpBytes(r);
  u32[w32 + W_GEN] = t.generation(f);
  u32[w32 + W_HASH] = t.keyHash(f);
  u32[w32 + W_RSTS] = t.rstCount(f);
  u32[w32 + W_DUPS] = t.dupCount(f);
  u32[w32 + W_REORDERED] = t.reorderedCount(f);
  u32[w32 + W_LATE] = t.lateCount(f);
  const u8 = v.u8;
  // The addresses as words (both sides 4-byte aligned): memory order, so the same bytes on any host.
  const a32 = t.addr32;
  const ao = t.origAddrWord(f);
  const ar = t.respAddrWord(f);
  for (let x = 0; x < 4; x++) {
    u32[w32 + W_ORIG_ADDR32 + x] = a32[ao + x]!;
    u32[w32 + W_RESP_ADDR32 + x] = a32[ar + x]!;
  }
  v.u16[w16 + W_ORIG_PORT] = t.origPort(f);
  v.u16[w16 + W_RESP_PORT] = t.respPort(f);
  u8[b + B_ORIG_STATE] = t.epState(o);
  u8[b + B_RESP_STATE] = t.epState(r);
  u8[b + B_CAUSE] = Math.min(t.rstCause(f), 255);
  u8[b + B_ORIGIN] = Math.min(t.rstOrigin(f), 255);
  u8[b + B_TUNNEL] = t.tunnelOf(f);
  u8[b + B_ONE_SIDED] = t.oneSided(f) ? 1 : 0;
  u8[b + B_SENSOR] = t.sensorOf(f);
  const hl = t.historyLength(f);
  t.copyHistory(f, u8, b + B_HISTORY, hl);
  u8[b + B_HIST_LEN] = hl;
}

/** Reads flow rows back as records or as ndjson text (any thread). */
export class FlowRowReader {
  readonly count: number;
  private readonly views: RowViews[];
  /** First row of each buffer (and `count` after the last). */
  private readonly starts: number[];
  private readonly sensors: readonly string[];
  private readonly sensorJson: readonly string[];
  /** The buffer of the last row asked for (rows are mostly read in order). */
  private cur = 0;

  constructor(rows: FlowRows) {
    this.count = rows.count;
    this.views = rows.buffers.map((b) => new RowViews(b));
    this.starts = [0];
    for (const b of rows.buffers) this.starts.push(this.starts.at(-1)! + b.byteLength / FLOW_ROW_BYTES);
    if (this.starts.at(-1) !== rows.count)
      throw new RangeError(`flow rows: ${rows.count} rows said, buffers hold ${this.starts.at(-1)}`);
    this.sensors = rows.sensors;
    this.sensorJson = rows.sensors.map((s) => JSON.stringify(s));
  }

  /** Buffer index of row k (`this.cur` afterwards). */
  private locate(k: number): number {
    const st = this.starts;
    let c = this.cur;
    if (k < st[c]! || k >= st[c + 1]!) {
      if (k < 0 || k >= this.count) throw new RangeError(`flow row ${k} of ${this.count}`);
      let lo = 0;
      let hi = this.views.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (st[mid]! <= k) lo = mid;
        else hi = mid - 1;
      }
      c = lo;
      this.cur = c;
    }
    return c;
  }

  /** Row k as the flow record the engine would have built. */
  record(k: number): FlowRecord {
    const c = this.locate(k);
    const v = this.views[c]!;
    const i = k - this.starts[c]!;
    return rowRecord(v, i, this.sensors[v.u8[i * FLOW_ROW_BYTES + B_SENSOR]!]!);
  }

  /** Every row as a record. */
  records(): FlowRecord[] {
    const out: FlowRecord[] = new Array(this.count);
    for (let k = 0; k < this.count; k++) out[k] = this.record(k);
    return out;
  }

  /**
   * Row k as one ndjson line (with its newline): the text `JSON.stringify(record(k))` gives, written
   * without the record object. Every string but the sensor name is from a fixed alphabet that JSON
   * does not escape (digits, base62/base64, address and history characters, the contract's names).
   */
  ndjson(k: number): string {
    const c = this.locate(k);
    const v = this.views[c]!;
    return rowNdjson(v, k - this.starts[c]!, this.sensorJson);
  }
}

/**
 * One row's fields, decoded and formatted once (reused for every row: the ndjson writer makes no object
 * per row), for `rowRecord` and `rowNdjson` to assemble.
 */
const R = {
  ts: '',
  uid: '',
  origH: '',
  origP: 0,
  respH: '',
  respP: 0,
  duration: 0,
  origBytes: 0,
  respBytes: 0,
  connState: CONN_STATE_NAMES[0]!,
  history: '',
  origPkts: 0,
  origIpBytes: 0,
  respPkts: 0,
  respIpBytes: 0,
  communityId: '',
  sensor: 0,
  rsts: 0,
  cause: 0,
  origin: 0,
  tunnel: 0,
  dups: 0,
  reordered: 0,
  late: 0,
  oneSided: false,
};

/** Decode row k of `v` into R. */
function decodeRow(v: RowViews, k: number): void {
  const { f64, u32, u16, u8 } = v;
  const b = k * FLOW_ROW_BYTES;
  const w64 = k * R64;
  const w32 = k * R32;
  const history = rowHistory(v, k);
  const origBytes = f64[w64 + W_ORIG_BYTES]!;
  const respBytes = f64[w64 + W_RESP_BYTES]!;
  const op = u16[k * R16 + W_ORIG_PORT]!;
  const rp = u16[k * R16 + W_RESP_PORT]!;
  const first = f64[w64 + W_FIRST_TS]!;
  R.ts = formatTs(first);
  R.uid = uidOf(u32[w32 + W_GEN]!, u32[w32 + W_HASH]!);
  R.origH = formatAddr(u8, b + B_ORIG_ADDR);
  R.origP = op;
  R.respH = formatAddr(u8, b + B_RESP_ADDR);
  R.respP = rp;
  R.duration = Math.round(f64[w64 + W_LAST_TS]! - first) / 1e6;
  R.origBytes = origBytes;
  R.respBytes = respBytes;
  R.connState =
    CONN_STATE_NAMES[
      connStateCode(u8[b + B_ORIG_STATE]!, u8[b + B_RESP_STATE]!, origBytes, respBytes, history)
    ]!;
  R.history = history;
  R.origPkts = u32[w32 + W_ORIG_PKTS]!;
  R.origIpBytes = u32[w32 + W_ORIG_IP_BYTES]!;
  R.respPkts = u32[w32 + W_RESP_PKTS]!;
  R.respIpBytes = u32[w32 + W_RESP_IP_BYTES]!;
  R.communityId = communityId(u8, b + B_ORIG_ADDR, op, u8, b + B_RESP_ADDR, rp);
  R.sensor = u8[b + B_SENSOR]!;
  R.rsts = u32[w32 + W_RSTS]!;
  R.cause = u8[b + B_CAUSE]!;
  R.origin = u8[b + B_ORIGIN]!;
  R.tunnel = u8[b + B_TUNNEL]!;
  R.dups = u32[w32 + W_DUPS]!;
  R.reordered = u32[w32 + W_REORDERED]!;
  R.late = u32[w32 + W_LATE]!;
  R.oneSided = u8[b + B_ONE_SIDED]! === 1;
}

/** Row k of `v` as one ndjson line (see FlowRowReader.ndjson). */
function rowNdjson(v: RowViews, k: number, sensorJson: readonly string[]): string {
  decodeRow(v, k);
  return (
    `{"ts":"${R.ts}","uid":"${R.uid}","id.orig_h":"${R.origH}","id.orig_p":${R.origP},` +
    `"id.resp_h":"${R.respH}","id.resp_p":${R.respP},"proto":"tcp","duration":${num(R.duration)},` +
    `"orig_bytes":${num(R.origBytes)},"resp_bytes":${num(R.respBytes)},` +
    `"conn_state":"${R.connState}","history":"${R.history}",` +
    `"orig_pkts":${R.origPkts},"orig_ip_bytes":${R.origIpBytes},` +
    `"resp_pkts":${R.respPkts},"resp_ip_bytes":${R.respIpBytes},` +
    `"community_id":"${R.communityId}","sensor":${sensorJson[R.sensor]},"rst_count":${R.rsts},` +
    `"rst_cause":${CAUSE_JSON[R.cause] ?? 'null'},"rst_origin":${ORIGIN_JSON[R.origin] ?? 'null'},` +
    `"tunnel":${TUNNEL_JSON[R.tunnel] ?? 'null'},"duplicates":${R.dups},` +
    `"reordered":${R.reordered},"late":${R.late},"one_sided":${R.oneSided}}\n`
  );
}

/** Row k of `v` as a flow record. */
function rowRecord(v: RowViews, k: number, sensor: string): FlowRecord {
  decodeRow(v, k);
  return {
    ts: R.ts,
    uid: R.uid,
    'id.orig_h': R.origH,
    'id.orig_p': R.origP,
    'id.resp_h': R.respH,
    'id.resp_p': R.respP,
    proto: 'tcp',
    duration: R.duration,
    orig_bytes: R.origBytes,
    resp_bytes: R.respBytes,
    conn_state: R.connState,
    history: R.history,
    orig_pkts: R.origPkts,
    orig_ip_bytes: R.origIpBytes,
    resp_pkts: R.respPkts,
    resp_ip_bytes: R.respIpBytes,
    community_id: R.communityId,
    sensor,
    rst_count: R.rsts,
    rst_cause: R.cause < CAUSES.length ? CAUSES[R.cause]! : null,
    rst_origin: R.origin < ORIGINS.length ? ORIGINS[R.origin]! : null,
    tunnel: R.tunnel > 0 && R.tunnel < TUNNEL_NAMES.length ? TUNNEL_NAMES[R.tunnel]! : null,
    duplicates: R.dups,
    reordered: R.reordered,
    late: R.late,
    one_sided: R.oneSided,
  };
}

function rowHistory(v: RowViews, k: number): string {
  const u8 = v.u8;
  const b = k * FLOW_ROW_BYTES;
  const n = u8[b + B_HIST_LEN]!;
  let s = '';
  for (let x = 0; x < n; x++) s += String.fromCharCode(u8[b + B_HISTORY + x]!);
  return s;
}

/** A number as JSON writes it (non-finite: null). */
function num(x: number): string {
  return Number.isFinite(x) ? `${x}` : 'null';
}

const CAUSE_JSON: readonly string[] = CAUSES.map((c) => JSON.stringify(c));
const ORIGIN_JSON: readonly string[] = ORIGINS.map((c) => JSON.stringify(c));
const TUNNEL_JSON: readonly (string | undefined)[] = TUNNEL_NAMES.map((c, k) =>
  k > 0 ? JSON.stringify(c) : undefined,
);

/** One row, reused by `buildFlowRecord`. */
const ONE = new RowViews(new ArrayBuffer(FLOW_ROW_BYTES));

/** The flow record of flow f (call before the flow is released): its row, read back. */
export function buildFlowRecord(t: FlowTracker, f: number): FlowRecord {
  writeRow(ONE, 0, t, f);
  return rowRecord(ONE, 0, t.sensorName(t.sensorOf(f)));
}
