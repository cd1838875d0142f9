/**
 * The flow table: every tracked TCP connection's state in struct-of-arrays columns over one
 * SharedArrayBuffer (open addressing with linear probing on the direction-free flow hash, full-key compare,
 * backward-shift deletion), so any worker thread can process a partition's next batch without copying.
 *
 * Per direction it keeps a Zeek-style endpoint (state, start/last/ack sequence numbers with wrap handling,
 * window with scaling, FIN/RST counters, history dedupe marks, scaled counters for t/w/g) plus what the
 * RST classifier needs (last TTL and IPv4 ID, the first packets as 2-bit codes, retransmissions of the
 * same segment). The state machine follows Zeek's TCPSessionAdapter: one function per endpoint state, and
 * RST packets never seed or move sequence/TTL state beyond what Zeek itself does.
 *
 * Hot path: no allocation per packet. Flow ends (expiry, eviction, reuse) are reported to the `listener`.
 */
import {
  ADDR_BYTES,
  bucketOf,
  combineEndpoints,
  compareEndpoints,
  endpointHash,
  flowHash,
  type HeaderColumns,
  OPT_WSCALE,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from '@rstwatch/core';
import {
  EP_CLOSED,
  EP_ESTABLISHED,
  EP_INACTIVE,
  EP_PARTIAL,
  EP_RESET,
  EP_SYN_ACK_SENT,
  EP_SYN_SENT,
} from './conn-state.js';
import { HostTable } from './hosts.js';
import { type ColumnDef, layoutBytes, mapColumns } from './internal/layout.js';
import { TimeWaitMemory } from './timewait.js';

/** Bytes of history kept per flow (letters beyond are counted as `history_overflow`). */
export const HISTORY_MAX = 16;
/** Sensors one engine can tell apart (names live in shared memory). */
export const MAX_SENSORS = 256;
const SENSOR_NAME_MAX = 64;
/** Zeek's tcp_close_delay / tcp_reset_delay: a closed or reset flow leaves the table this long after. */
export const CLOSE_DELAY_US = 5_000_000;
const TOO_LARGE_SEQ_DELTA = 1048576;
/** Zeek's tcp_attempt_delay. */
export const ATTEMPT_DELAY_US = 5_000_000;

/** Flow flags (`fflags`). */
export const FF_LIVE = 0x1;
export const FF_FLIPPED = 0x2;
/** The first SYN of this flow reused a 4-tuple in TIME_WAIT. */
export const FF_TW_REUSE = 0x4;
/** The originator's SYN carried illegal extra flags (FIN, RST, URG, or no ACK-less SYN semantics). */
export const FF_MALFORMED_SYN = 0x8;
/** A non-RST segment arrived after both FINs were exchanged (old duplicate into TIME_WAIT). */
export const FF_PKT_AFTER_CLOSE = 0x10;
/** The flow was created by a RST packet. */
export const FF_FIRST_RST = 0x20;
/** Created by a RST on a tuple remembered in TIME_WAIT. */
export const FF_TW_HIT = 0x40;
/** Zeek's close_complete: the connection ended (both closed, or a RST, or closed with an inactive peer). */
export const FF_DONE = 0x80;
/** The last packet came from the responder. */
export const FF_LAST_FROM_RESP = 0x100;
/** Both FINs seen and each acknowledged: the close was graceful (TIME_WAIT applies). */
export const FF_GRACEFUL = 0x200;

/** Per-direction flags (`dflags`). */
export const DF_DID_CLOSE = 0x1;
export const DF_TTL_SET = 0x2;
export const DF_SENT_SYN = 0x4;
export const DF_SENT_SYNACK = 0x8;
export const DF_SENT_DATA = 0x10;
export const DF_SENT_ACK = 0x20;
export const DF_FIN_ACKED = 0x40;

/** First-packet codes (2 bits each, up to 10 packets, count in bits 20..23). */
export const PC_OTHER = 0;
export const PC_SYN = 1;
export const PC_ACK = 2;
export const PC_DATA = 3;
export const FIRST_MAX = 10;

/** Why a flow left the table. */
export const END_EXPIRED = 0;
export const END_EVICTED = 1;
export const END_REUSED = 2;
export const END_FINISH = 3;

/** Zeek history masks (HIST_*); the responder's are shifted left by 16. */
const H_SYN = 0x1;
const H_FIN = 0x2;
const H_RST = 0x4;
const H_FIN_RST = 0x8;
const H_DATA = 0x10;
const H_ACK = 0x20;
const H_MULTI = 0x40;

/** Ports Zeek's `likely_server_ports` usually holds (analyzer registrations); used to flip partial flows. */
const LIKELY_SERVER_PORTS = new Uint8Array(65536);
for (const p of [
  21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 179, 389, 443, 445, 465, 502, 514, 587, 631, 636,
  989, 990, 992, 993, 995, 1080, 1433, 1521, 1723, 1883, 2049, 2404, 3128, 3268, 3306, 3389, 5060, 5061, 5222,
  5269, 5432, 5672, 5900, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8443, 8888, 9042, 9092, 9200, 11211,
  20000, 27017,
])
  LIKELY_SERVER_PORTS[p] = 1;

export interface TrackerConfig {
  maxFlows: number;
  flowIdleExpiryS: number;
  timeWaitS: number;
  maxHosts: number;
}

/** Structured-clonable handle: the shared buffers and the configuration. */
export interface TrackerShared {
  readonly config: TrackerConfig;
  readonly flows: SharedArrayBuffer;
  readonly hosts: SharedArrayBuffer;
  readonly timeWait: SharedArrayBuffer;
}

/** Index slots for `maxFlows` flows (load factor <= 0.8). */
function indexSize(maxFlows: number): number {
  return Math.ceil(maxFlows * 1.25) + 1;
}

function timeWaitSize(maxFlows: number): number {
  return Math.max(64, Math.ceil(maxFlows / 16));
}

function flowColumns(n: number): ColumnDef[] {
  return [
    { name: 'meta', ctor: Float64Array, length: 8 },
    // One record per flow (REC bytes): everything a packet reads or writes for its flow, so a packet
    // costs three or four adjacent cache lines instead of one line per field array.
    { name: 'rec', ctor: Float64Array, length: n * R64 },
    { name: 'idx', ctor: Int32Array, length: indexSize(n) },
    { name: 'free', ctor: Int32Array, length: n },
    { name: 'histMark', ctor: Uint32Array, length: n * 2 * 3 },
    { name: 'hist', ctor: Uint8Array, length: n * HISTORY_MAX },
    { name: 'sensorLen', ctor: Uint8Array, length: MAX_SENSORS },
    { name: 'sensorNames', ctor: Uint8Array, length: MAX_SENSORS * SENSOR_NAME_MAX },
  ];
}

/**
 * The flow record: REC = 184 bytes, two 92-byte halves; half d (endpoint e = f*2+d) starts with that
 * endpoint's fields, and the flow's own fields fill the rest of the two halves. Every field is reached
 * through a typed-array view of the whole record area at a fixed element offset:
 *
 * - per endpoint e: ep32[e*E32 + k] (k: 0 start seq, 1 last seq, 2 ack seq, 3 last ack sent, 4 packets,
 *   5 IP bytes, 6 first-packet codes, 7 retransmitted seq), ep16[e*E16 + EP16 + k] (0 window, 1 IP ID,
 *   2..4 t/w/g counters), ep8[e*E8 + EP8 + k] (0 state, 1 previous state, 2 window scale, 3 TTL, 4 FIN
 *   count, 5 RST count, 6 same-segment retransmissions, 7 seq wraps, 8 flags);
 * - per flow f: f8[f*R8 + F8 + k] (0 sensor, 1 tunnel, 2 history length, 3 RST cause, 4 RST origin),
 *   f64[f*R64 + F64 + k] (0 first, 1 last, 2 last activity time), f32[f*R32 + F32 + k] (1 generation,
 *   2 history-seen bits, 3 held RST; k = 0 is unused: the key hash is recomputed from the key when
 *   needed), f16[f*R16 + F16 + k] (0 orig port, 1 resp port, 2 flags, 3 RST count), and the originator and
 *   responder addresses (16 bytes each, IPv4-mapped) at byte f*R8 + ADDR_O / f*R8 + ADDR_R.
 *
 * Byte map of a record: [0,32) ep32 of endpoint 0, [32,42) ep16, [42,51) ep8, [51,56) f8, [56,80) f64,
 * [80,92) f32; [92,124) ep32 of endpoint 1, [124,134) ep16, [134,143) ep8, [144,152) f16, [152,168)
 * originator address, [168,184) responder address.
 */
export const REC = 184;
export const R64 = REC / 8;
export const R32 = REC / 4;
export const R16 = REC / 2;
export const R8 = REC;
export const E32 = REC / 8;
export const E16 = REC / 4;
export const E8 = REC / 2;
export const EP16 = 16;
export const EP8 = 42;
export const F8 = 51;
export const F64 = 7;
export const F32 = 19;
export const F16 = 72;
/** Byte offsets of the originator / responder address in a record (u32 offsets: ADDR_O / 4, ADDR_R / 4). */
export const ADDR_O = 152;
export const ADDR_R = 168;
const AO32 = ADDR_O / 4;
const AR32 = ADDR_R / 4;

// meta slots
const M_FREE_TOP = 0;
const M_ACTIVE = 1;
const M_HAND = 2;
const M_GEN = 3;
const M_SENSORS = 4;
const M_CREATED = 5;
const M_NOW = 6;
/** One past the highest slot ever allocated: slots at and above it were never used (the free list is LIFO). */
const M_HIGH = 7;

/** Whether the four words of `x` at `a` equal the four words of `y` at `b` (one 16-byte address). */
function same128(x: Uint32Array, a: number, y: Uint32Array, b: number): boolean {
  return x[a] === y[b] && x[a + 1] === y[b + 1] && x[a + 2] === y[b + 2] && x[a + 3] === y[b + 3];
}

/** Swap the `count` elements of `arr` at offsets a and b. */
function swapRange(arr: Uint32Array | Uint16Array | Uint8Array, a: number, b: number, count: number): void {
  for (let k = 0; k < count; k++) {
    const t = arr[a + k]!;
    arr[a + k] = arr[b + k]!;
    arr[b + k] = t;
  }
}

/** Seq difference a - b as a signed 32-bit integer (modulo 2^32). */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** A lower-case history letter for the responder, upper-case for the originator. */
function letter(code: number, dir: number): number {
  return dir === 0 ? code : code | 0x20;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** What a tracker tells its owner. */
export interface TrackerListener {
  /** Flow f is about to leave the table (its record is still readable): expiry, eviction, reuse, finish. */
  flowEnded(f: number, reason: number): void;
  /** A history letter did not fit (the history keeps its first HISTORY_MAX letters). */
  historyOverflow(): void;
}

class IgnoreListener implements TrackerListener {
  flowEnded(): void {}
  historyOverflow(): void {}
}
const IGNORE: TrackerListener = new IgnoreListener();

/** Flow table + endpoints + host baselines + TIME_WAIT memory, all in shared memory. */
export class FlowTracker {
  readonly config: TrackerConfig;
  readonly shared: TrackerShared;
  readonly hosts: HostTable;
  readonly timeWait: TimeWaitMemory;
  readonly maxFlows: number;
  private readonly idxSize: number;
  /** Idle expiry and TIME_WAIT memory in µs (from the config, kept as numbers for the per-packet path). */
  private readonly idleUs: number;
  private readonly timeWaitUs: number;

  readonly meta: Float64Array;
  readonly idx: Int32Array;
  readonly free: Int32Array;
  readonly histMark: Uint32Array;
  readonly hist: Uint8Array;
  /**
   * Views of the flow records (see REC): f64 per flow; f32 and ep32 are one uint32 view, f16 and ep16 one
   * uint16 view, f8, ep8 and addr one byte view, named by the fields they reach. f32[f*R32 + F32 + 3] is the
   * latest held RST (ring sequence number + 1), 0 when none.
   */
  readonly f64: Float64Array;
  readonly f32: Uint32Array;
  readonly f16: Uint16Array;
  readonly f8: Uint8Array;
  readonly ep32: Uint32Array;
  readonly ep16: Uint16Array;
  readonly ep8: Uint8Array;
  /** Byte view of the records: flow f's originator address at origAddrAt(f), responder at respAddrAt(f). */
  readonly addr: Uint8Array;
  /** Key hashes of the batch being processed, filled by `prepare`. */
  batchHashes: Uint32Array = new Uint32Array(0);
  /** Where `prepare`'s loads go, so they are not optimised away (public: a write-only private would be dropped by lint). */
  sink = 0;
  private readonly sensorLen: Uint8Array;
  private readonly sensorNames: Uint8Array;
  private readonly sensorNameCache: string[] = [];

  /** Direction of the last located packet: 0 from the originator, 1 from the responder. */
  dir = 0;
  /** Whether the last `update` saw a new TTL for its sender (first packet of the direction or a change). */
  ttlChanged = false;
  /** Whether the last `locate` created the flow. */
  created = false;
  /**
   * Told when a flow ends and when a history letter does not fit. Set by the owner. An object with
   * methods rather than callback fields: every owner of one class shares the same call targets, so the
   * hot path's compiled code stays valid when a thread attaches to another engine.
   */
  listener: TrackerListener = IGNORE;

  static create(config: TrackerConfig): FlowTracker {
    const flows = new SharedArrayBuffer(layoutBytes(flowColumns(config.maxFlows)));
    const hosts = new SharedArrayBuffer(HostTable.bytesFor(config.maxHosts));
    const timeWait = new SharedArrayBuffer(TimeWaitMemory.bytesFor(timeWaitSize(config.maxFlows)));
    const t = new FlowTracker({ config: { ...config }, flows, hosts, timeWait });
    for (let k = 0; k < config.maxFlows; k++) t.free[k] = config.maxFlows - 1 - k;
    t.meta[M_FREE_TOP] = config.maxFlows;
    return t;
  }

  static attach(shared: TrackerShared): FlowTracker {
    return new FlowTracker(shared);
  }

  /** Bytes of shared memory per tracked flow (all buffers / maxFlows). */
  static bytesPerFlow(config: TrackerConfig): number {
    const total =
      layoutBytes(flowColumns(config.maxFlows)) +
      HostTable.bytesFor(config.maxHosts) +
      TimeWaitMemory.bytesFor(timeWaitSize(config.maxFlows));
    return total / config.maxFlows;
  }

  private constructor(shared: TrackerShared) {
    this.shared = shared;
    this.config = shared.config;
    this.maxFlows = shared.config.maxFlows;
    this.idxSize = indexSize(this.maxFlows);
    this.idleUs = shared.config.flowIdleExpiryS * 1e6;
    this.timeWaitUs = shared.config.timeWaitS * 1e6;
    this.hosts = new HostTable(shared.config.maxHosts, shared.hosts);
    this.timeWait = new TimeWaitMemory(timeWaitSize(this.maxFlows), shared.timeWait);
    const m = mapColumns(shared.flows, flowColumns(this.maxFlows));
    this.meta = m.meta as Float64Array;
    this.idx = m.idx as Int32Array;
    this.free = m.free as Int32Array;
    this.histMark = m.histMark as Uint32Array;
    this.hist = m.hist as Uint8Array;
    const rec = m.rec as Float64Array;
    this.f64 = rec;
    this.f32 = new Uint32Array(rec.buffer, rec.byteOffset, rec.length * 2);
    this.f16 = new Uint16Array(rec.buffer, rec.byteOffset, rec.length * 4);
    this.f8 = new Uint8Array(rec.buffer, rec.byteOffset, rec.length * 8);
    this.ep32 = this.f32;
    this.ep16 = this.f16;
    this.ep8 = this.f8;
    this.addr = this.f8;
    this.sensorLen = m.sensorLen as Uint8Array;
    this.sensorNames = m.sensorNames as Uint8Array;
  }

  // ---- bookkeeping -------------------------------------------------------------------------------

  /** Flows currently in the table. */
  get active(): number {
    return this.meta[M_ACTIVE]!;
  }
  /** Flows created since the table was made. */
  get createdTotal(): number {
    return this.meta[M_CREATED]!;
  }
  /** Latest capture time seen (µs). */
  get nowUs(): number {
    return this.meta[M_NOW]!;
  }
  set nowUs(v: number) {
    if (v > this.meta[M_NOW]!) this.meta[M_NOW] = v;
  }

  /** Ordinal of a sensor name (registered on first use). Throws when more than MAX_SENSORS. */
  sensorOrdinal(name: string): number {
    const bytes = textEncoder.encode(name).subarray(0, SENSOR_NAME_MAX);
    const n = this.meta[M_SENSORS]!;
    outer: for (let s = 0; s < n; s++) {
      if (this.sensorLen[s] !== bytes.length) continue;
      const o = s * SENSOR_NAME_MAX;
      for (let k = 0; k < bytes.length; k++) if (this.sensorNames[o + k] !== bytes[k]) continue outer;
      return s;
    }
    if (n >= MAX_SENSORS) throw new RangeError(`more than ${MAX_SENSORS} sensors in one engine`);
    this.sensorNames.set(bytes, n * SENSOR_NAME_MAX);
    this.sensorLen[n] = bytes.length;
    this.meta[M_SENSORS] = n + 1;
    return n;
  }

  /** Name of sensor ordinal `s` (decoded once per view; names never change once registered). */
  sensorName(s: number): string {
    const cached = this.sensorNameCache[s];
    if (cached !== undefined) return cached;
    const o = s * SENSOR_NAME_MAX;
    const name = textDecoder.decode(this.sensorNames.slice(o, o + this.sensorLen[s]!));
    if (s < this.meta[M_SENSORS]!) this.sensorNameCache[s] = name;
    return name;
  }

  /** Flow generation (unique per allocation, for uids and held-RST validation). */
  generation(f: number): number {
    return this.f32[f * R32 + F32 + 1]!;
  }

  /** History string of flow f (first `len` letters, all by default). */
  history(f: number, len = this.f8[f * R8 + F8 + 2]!): string {
    let s = '';
    const o = f * HISTORY_MAX;
    for (let k = 0; k < len; k++) s += String.fromCharCode(this.hist[o + k]!);
    return s;
  }

  /** Zeek's endpoint Size(): payload bytes from sequence numbers. */
  size(f: number, d: number): number {
    const e = f * 2 + d;
    const p = f * 2 + (1 - d);
    const start = this.ep32[e * E32]!;
    const ack = this.ep32[e * E32 + 2]!;
    if (
      this.ep8[e * E8 + EP8 + 1] === EP_SYN_SENT &&
      this.ep8[e * E8 + EP8] === EP_RESET &&
      this.ep8[p * E8 + EP8] === EP_INACTIVE &&
      !(ack === start || ack === (start + 1) >>> 0)
    )
      return 0;
    const last = this.ep32[e * E32 + 1]!;
    const top = seqDelta(last, ack) >= 0 ? last : ack;
    let size = ((top - start) >>> 0) + this.ep8[e * E8 + EP8 + 7]! * 4294967296;
    if (size !== 0) size--;
    if (this.ep8[e * E8 + EP8 + 4]! > 0 && size !== 0) size--;
    return size;
  }

  // ---- index -------------------------------------------------------------------------------------

  /**
   * Hash headers [from, to) of batch `c` into `batchHashes` and touch the index slot and flow record each
   * one will need. The loads do not depend on each other, so the CPU overlaps their cache misses; the
   * in-order pass that follows finds the lines in cache. Reads only (grows `batchHashes` when needed).
   */
  prepare(c: HeaderColumns, sensor: number, from: number, to: number): void {
    if (this.batchHashes.length < c.length) this.batchHashes = new Uint32Array(Math.max(c.length, 1024));
    const hs = this.batchHashes;
    const idx = this.idx;
    const size = this.idxSize;
    const u = this.f32;
    let acc = 0;
    for (let i = from; i < to; i++) {
      const h = flowHash(c, i, sensor);
      hs[i] = h;
      const v = idx[bucketOf(h, size)]!;
      if (v !== 0) {
        const b = (v - 1) * R32;
        acc ^= u[b]! ^ u[b + 16]! ^ u[b + 32]! ^ u[b + R32 - 1]!;
      }
    }
    this.sink = acc;
  }

  /** The key hash of flow f (the same value `flowHash` gives its packets), recomputed from the record. */
  keyHash(f: number): number {
    const u = this.f32;
    return combineEndpoints(
      endpointHash(u, f * R32 + AO32, this.f16[f * R16 + F16]!),
      endpointHash(u, f * R32 + AR32, this.f16[f * R16 + F16 + 1]!),
      this.f8[f * R8 + F8]!,
    );
  }

  /** Byte offset of flow f's originator address in `addr`. */
  origAddrAt(f: number): number {
    return f * R8 + ADDR_O;
  }

  /** Byte offset of flow f's responder address in `addr`. */
  respAddrAt(f: number): number {
    return f * R8 + ADDR_R;
  }

  private keyMatch(f: number, c: HeaderColumns, i: number): number {
    // Returns 0 (src is originator), 1 (src is responder) or -1 (no match).
    const o = i * 4;
    const s = c.srcAddr32;
    const d = c.dstAddr32;
    const sp = c.srcPort[i]!;
    const dp = c.dstPort[i]!;
    const u = this.f32;
    const ao = f * R32 + AO32;
    const ar = f * R32 + AR32;
    const po = this.f16[f * R16 + F16]!;
    const pr = this.f16[f * R16 + F16 + 1]!;
    if (po === sp && pr === dp && same128(u, ao, s, o) && same128(u, ar, d, o)) return 0;
    if (po === dp && pr === sp && same128(u, ao, d, o) && same128(u, ar, s, o)) return 1;
    return -1;
  }

  private find(c: HeaderColumns, i: number, h: number, sensor: number): number {
    const size = this.idxSize;
    let pos = bucketOf(h, size);
    for (let probes = 0; probes < size; probes++) {
      const v = this.idx[pos]!;
      if (v === 0) return -1;
      const f = v - 1;
      if (this.f8[f * R8 + F8] === sensor) {
        const d = this.keyMatch(f, c, i);
        if (d >= 0) {
          this.dir = d;
          return f;
        }
      }
      pos = pos + 1 === size ? 0 : pos + 1;
    }
    return -1;
  }

  private insertIndex(f: number, h: number): void {
    const size = this.idxSize;
    let pos = bucketOf(h, size);
    while (this.idx[pos] !== 0) pos = pos + 1 === size ? 0 : pos + 1;
    this.idx[pos] = f + 1;
  }

  private removeIndex(f: number): void {
    const size = this.idxSize;
    let i = bucketOf(this.keyHash(f), size);
    while (this.idx[i] !== f + 1) {
      if (this.idx[i] === 0) return;
      i = i + 1 === size ? 0 : i + 1;
    }
    let j = i;
    for (;;) {
      j = j + 1 === size ? 0 : j + 1;
      const v = this.idx[j]!;
      if (v === 0) break;
      const k = bucketOf(this.keyHash(v - 1), size);
      // Move entry j back to the hole at i if its home slot k is not cyclically in (i, j].
      const inRange = i <= j ? k > i && k <= j : k > i || k <= j;
      if (!inRange) {
        this.idx[i] = v;
        i = j;
      }
    }
    this.idx[i] = 0;
  }

  /** Remove flow f from the table (after its record was emitted) and free its slot. */
  release(f: number): void {
    if ((this.f16[f * R16 + F16 + 2]! & FF_LIVE) === 0) return;
    this.removeIndex(f);
    this.f16[f * R16 + F16 + 2] = 0;
    this.f32[f * R32 + F32 + 3] = 0;
    const top = this.meta[M_FREE_TOP]!;
    this.free[top] = f;
    this.meta[M_FREE_TOP] = top + 1;
    this.meta[M_ACTIVE] = this.meta[M_ACTIVE]! - 1;
  }

  /** End flow f now: notify the owner, then free it. */
  end(f: number, reason: number): void {
    if ((this.f16[f * R16 + F16 + 2]! & FF_LIVE) === 0) return;
    this.rememberIfGraceful(f);
    this.listener.flowEnded(f, reason);
    this.release(f);
  }

  private rememberIfGraceful(f: number): void {
    if ((this.f16[f * R16 + F16 + 2]! & FF_GRACEFUL) === 0) return;
    const lowFirst = this.originatorIsLow(f);
    const ao = lowFirst ? this.origAddrAt(f) : this.respAddrAt(f);
    const bo = lowFirst ? this.respAddrAt(f) : this.origAddrAt(f);
    const pa = lowFirst ? this.f16[f * R16 + F16]! : this.f16[f * R16 + F16 + 1]!;
    const pb = lowFirst ? this.f16[f * R16 + F16 + 1]! : this.f16[f * R16 + F16]!;
    const a = this.addr;
    this.timeWait.remember(
      this.keyHash(f),
      this.f8[f * R8 + F8]!,
      a,
      ao,
      pa,
      a,
      bo,
      pb,
      this.f64[f * R64 + F64 + 2]!,
    );
  }

  private originatorIsLow(f: number): boolean {
    const ao = this.origAddrAt(f);
    const ar = this.respAddrAt(f);
    for (let k = 0; k < ADDR_BYTES; k++) {
      const d = this.addr[ao + k]! - this.addr[ar + k]!;
      if (d !== 0) return d < 0;
    }
    return this.f16[f * R16 + F16]! <= this.f16[f * R16 + F16 + 1]!;
  }

  /** Whether flow f should leave the table at capture time `nowUs`. */
  isExpired(f: number, nowUs: number): boolean {
    const ff = this.f16[f * R16 + F16 + 2]!;
    if ((ff & FF_LIVE) === 0) return false;
    if ((ff & FF_DONE) !== 0 && nowUs - this.f64[f * R64 + F64 + 2]! >= CLOSE_DELAY_US) return true;
    // Zeek's attempt timer: an unanswered SYN is given up tcp_attempt_delay after it was seen.
    const os = this.ep8[f * 2 * E8 + EP8]!;
    if (
      (os === EP_SYN_SENT || os === EP_SYN_ACK_SENT) &&
      this.ep8[(f * 2 + 1) * E8 + EP8] === EP_INACTIVE &&
      nowUs - this.f64[f * R64 + F64]! >= ATTEMPT_DELAY_US
    )
      return true;
    return nowUs - this.f64[f * R64 + F64 + 2]! > this.idleUs;
  }

  /** Slots that have ever held a flow: [0, usedSlots). Sweeps and scans stop there. */
  get usedSlots(): number {
    return this.meta[M_HIGH]!;
  }

  /**
   * Examine up to `count` used slots from the clock hand, ending expired flows (at most one pass over the
   * used slots). Returns flows ended.
   */
  sweep(nowUs: number, count: number): number {
    const n = this.meta[M_HIGH]!;
    if (n === 0) return 0;
    let hand = this.meta[M_HAND]! < n ? this.meta[M_HAND]! : 0;
    let ended = 0;
    const todo = Math.min(count, n);
    for (let k = 0; k < todo; k++) {
      if (this.isExpired(hand, nowUs)) {
        this.end(hand, END_EXPIRED);
        ended++;
      }
      hand = hand + 1 === n ? 0 : hand + 1;
    }
    this.meta[M_HAND] = hand;
    return ended;
  }

  /** End every live flow (end of input), in slot order. */
  endAll(reason: number): void {
    const n = this.meta[M_HIGH]!;
    for (let f = 0; f < n; f++) if ((this.f16[f * R16 + F16 + 2]! & FF_LIVE) !== 0) this.end(f, reason);
  }

  private evictOne(): void {
    // Called only when every slot is taken, so every slot has been used.
    const n = this.maxFlows;
    let hand = this.meta[M_HAND]! < n ? this.meta[M_HAND]! : 0;
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let k = 0, seen = 0; k < n && seen < 8; k++) {
      if ((this.f16[hand * R16 + F16 + 2]! & FF_LIVE) !== 0) {
        seen++;
        const t = this.f64[hand * R64 + F64 + 2]!;
        if (t < bestTs) {
          bestTs = t;
          best = hand;
        }
      }
      hand = hand + 1 === n ? 0 : hand + 1;
    }
    this.meta[M_HAND] = hand;
    if (best >= 0) this.end(best, END_EVICTED);
  }

  private allocate(): number {
    if (this.meta[M_FREE_TOP] === 0) this.evictOne();
    const top = this.meta[M_FREE_TOP]! - 1;
    const f = this.free[top]!;
    this.meta[M_FREE_TOP] = top;
    this.meta[M_ACTIVE] = this.meta[M_ACTIVE]! + 1;
    this.meta[M_CREATED] = this.meta[M_CREATED]! + 1;
    if (f >= this.meta[M_HIGH]!) this.meta[M_HIGH] = f + 1;
    return f;
  }

  // ---- per packet --------------------------------------------------------------------------------

  /**
   * Find the flow of header `i` (creating it when new, replacing an expired or reused one). Sets `dir`
   * and `created`. Returns the flow slot.
   */
  locate(c: HeaderColumns, i: number, sensor: number, h: number = flowHash(c, i, sensor)): number {
    const ts = c.tsUs[i]!;
    this.created = false;
    let f = this.find(c, i, h, sensor);
    let reuse = false;
    if (f >= 0) {
      const flags = c.flags[i]!;
      if (this.isExpired(f, ts)) {
        this.end(f, END_EXPIRED);
        f = -1;
      } else if (
        (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
        (this.f16[f * R16 + F16 + 2]! & FF_DONE) !== 0 &&
        (c.seq[i] !== this.ep32[(f * 2 + this.dir) * E32] ||
          this.ep8[f * 2 * E8 + EP8] === EP_RESET ||
          this.ep8[(f * 2 + 1) * E8 + EP8] === EP_RESET)
      ) {
        reuse =
          (this.f16[f * R16 + F16 + 2]! & FF_GRACEFUL) !== 0 &&
          ts - this.f64[f * R64 + F64 + 2]! <= this.timeWaitUs;
        this.end(f, END_REUSED);
        f = -1;
      }
    }
    if (f >= 0) return f;
    f = this.allocate();
    this.initFlow(f, c, i, h, sensor);
    this.insertIndex(f, h);
    if (reuse) this.f16[f * R16 + F16 + 2]! |= FF_TW_REUSE;
    this.created = true;
    return f;
  }

  private initFlow(f: number, c: HeaderColumns, i: number, h: number, sensor: number): void {
    const flags = c.flags[i]!;
    const sp = c.srcPort[i]!;
    const dp = c.dstPort[i]!;
    let flip = false;
    if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
      // A SYN-ACK first: its sender is the responder (Zeek 9 flips these too, history starts with ^h).
      flip = true;
    } else if ((flags & TCP_SYN) === 0) {
      if (LIKELY_SERVER_PORTS[sp] === 1) {
        flip = LIKELY_SERVER_PORTS[dp] === 1 ? (flags & TCP_SYN) === 0 && sp < dp : true;
      }
    }
    // A fresh record: every field 0 (EP_INACTIVE states, no counters, no history) unless set below.
    this.f8.fill(0, f * R8, (f + 1) * R8);
    this.histMark.fill(0, f * 6, f * 6 + 6);
    const o = i * ADDR_BYTES;
    const ao = this.origAddrAt(f);
    const ar = this.respAddrAt(f);
    const a = flip ? c.dstAddr : c.srcAddr;
    const b = flip ? c.srcAddr : c.dstAddr;
    for (let k = 0; k < ADDR_BYTES; k++) {
      this.addr[ao + k] = a[o + k]!;
      this.addr[ar + k] = b[o + k]!;
    }
    this.f16[f * R16 + F16] = flip ? dp : sp;
    this.f16[f * R16 + F16 + 1] = flip ? sp : dp;
    this.f8[f * R8 + F8] = sensor;
    this.f8[f * R8 + F8 + 1] = c.tunnel[i]!;
    const g = (this.meta[M_GEN]! + 1) % 4294967296;
    this.meta[M_GEN] = g;
    this.f32[f * R32 + F32 + 1] = g;
    const ts = c.tsUs[i]!;
    this.f64[f * R64 + F64] = ts;
    this.f64[f * R64 + F64 + 1] = ts;
    this.f64[f * R64 + F64 + 2] = ts;
    this.f8[f * R8 + F8 + 3] = 255;
    this.f8[f * R8 + F8 + 4] = 255;
    this.f16[f * R16 + F16 + 2] = FF_LIVE;
    this.dir = flip ? 1 : 0;
    if (flip) this.addHistory(f, 0x5e); // '^'
    if ((flags & TCP_RST) !== 0) {
      this.f16[f * R16 + F16 + 2]! |= FF_FIRST_RST;
      const lowFirst = compareEndpoints(c, i) <= 0;
      const la = lowFirst ? c.srcAddr : c.dstAddr;
      const lb = lowFirst ? c.dstAddr : c.srcAddr;
      const pa = lowFirst ? sp : dp;
      const pb = lowFirst ? dp : sp;
      if (this.timeWait.closedAt(h, sensor, la, o, pa, lb, o, pb, ts, this.timeWaitUs) >= 0)
        this.f16[f * R16 + F16 + 2]! |= FF_TW_HIT;
    } else if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      const lowFirst = compareEndpoints(c, i) <= 0;
      const la = lowFirst ? c.srcAddr : c.dstAddr;
      const lb = lowFirst ? c.dstAddr : c.srcAddr;
      const pa = lowFirst ? sp : dp;
      const pb = lowFirst ? dp : sp;
      if (this.timeWait.closedAt(h, sensor, la, o, pa, lb, o, pb, ts, this.timeWaitUs) >= 0) {
        this.f16[f * R16 + F16 + 2]! |= FF_TW_REUSE;
        this.timeWait.forget(h);
      }
    }
  }

  private addHistory(f: number, code: number): void {
    const n = this.f8[f * R8 + F8 + 2]!;
    if (n >= HISTORY_MAX) {
      this.listener.historyOverflow();
      return;
    }
    this.hist[f * HISTORY_MAX + n] = code;
    this.f8[f * R8 + F8 + 2] = n + 1;
  }

  /** Zeek's CheckHistory: add the letter the first time; returns true if it had been seen before. */
  private checkHistory(f: number, d: number, mask: number, code: number): boolean {
    const m = d === 0 ? mask : mask << 16;
    if ((this.f32[f * R32 + F32 + 2]! & m) === 0) {
      this.f32[f * R32 + F32 + 2]! |= m;
      this.addHistory(f, letter(code, d));
      return false;
    }
    return true;
  }

  /** Zeek's ScaledHistoryEntry with base 10: letter at the 1st, 10th, 100th, ... occurrence. */
  private scaled(f: number, d: number, which: number, code: number): void {
    const k = (f * 2 + d) * E16 + EP16 + 2 + which;
    const v = this.ep16[k]!;
    if (v === 0xffff) return;
    const n = v + 1;
    this.ep16[k] = n;
    if (n === 1 || n === 10 || n === 100 || n === 1000 || n === 10000) this.addHistory(f, letter(code, d));
  }

  /** Both endpoints' flags say the connection is in TIME_WAIT territory (both FINs, both acked). */
  private setState(e: number, s: number): void {
    if (this.ep8[e * E8 + EP8] !== s) {
      this.ep8[e * E8 + EP8 + 1] = this.ep8[e * E8 + EP8]!;
      this.ep8[e * E8 + EP8] = s;
    }
  }

  /**
   * Apply header `i` (already located: flow `f`, direction `this.dir`) to the flow state, the Zeek way.
   * RST packets change endpoint states and history like in Zeek, but never TTL/IP-ID baselines.
   */
  update(f: number, c: HeaderColumns, i: number): void {
    const d = this.dir;
    const e = f * 2 + d;
    const p = f * 2 + (1 - d);
    const flags = c.flags[i]!;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ackf = (flags & TCP_ACK) !== 0;
    const seq = c.seq[i]!;
    const ack = c.ack[i]!;
    const len = c.payloadLen[i]!;
    const ts = c.tsUs[i]!;
    const ep32 = this.ep32;
    const ep16 = this.ep16;
    const ep8 = this.ep8;
    const f16 = this.f16;
    const e32 = e * E32;
    const p32 = p * E32;
    const e16 = e * E16 + EP16;
    const e8 = e * E8 + EP8;
    const p8 = p * E8 + EP8;
    const fb16 = f * R16 + F16;
    const ff = f16[fb16 + 2]!;

    // Packet counters and the claimed sender's observations.
    ep32[e32 + 4] = (ep32[e32 + 4]! + 1) >>> 0;
    ep32[e32 + 5] = (ep32[e32 + 5]! + c.ipLen[i]!) >>> 0;
    this.ttlChanged = false;
    let nff = ff;
    if (!rst) {
      const ttl = c.ttl[i]!;
      let df = ep8[e8 + 8]!;
      if ((df & DF_TTL_SET) === 0 || ep8[e8 + 3] !== ttl) this.ttlChanged = true;
      ep8[e8 + 3] = ttl;
      ep16[e16 + 1] = c.ipId[i]!;
      df |= DF_TTL_SET;
      const fc = ep32[e32 + 6]!;
      const n = fc >>> 20;
      if (n < FIRST_MAX) {
        const code = syn ? PC_SYN : len > 0 ? PC_DATA : ackf && !fin ? PC_ACK : PC_OTHER;
        ep32[e32 + 6] = ((fc & 0xfffff) | (code << (n * 2)) | ((n + 1) << 20)) >>> 0;
      }
      if (syn) df |= ackf ? DF_SENT_SYNACK : DF_SENT_SYN;
      if (len > 0) df |= DF_SENT_DATA;
      if (ackf) {
        df |= DF_SENT_ACK;
        ep32[e32 + 3] = ack;
      }
      ep8[e8 + 8] = df;
      if ((ff & FF_GRACEFUL) !== 0) nff |= FF_PKT_AFTER_CLOSE;
    }
    if (d === 1) nff |= FF_LAST_FROM_RESP;
    else nff &= ~FF_LAST_FROM_RESP;
    if (syn && !ackf && d === 0 && (flags & (TCP_FIN | TCP_RST | TCP_URG)) !== 0) nff |= FF_MALFORMED_SYN;
    f16[fb16 + 2] = nff;

    // Sequence space of this segment.
    let segLen = len;
    if (syn) segLen++;
    if (fin) segLen++;
    if (rst) segLen -= len;
    const lastSeqSeg = (seq + segLen) >>> 0;

    // init_endpoint
    switch (ep8[e8]) {
      case EP_INACTIVE:
        if (syn) {
          ep32[e32 + 2] = seq;
          ep32[e32] = seq;
          ep32[e32 + 1] = lastSeqSeg;
        } else {
          // Partial connection: number as if a SYN was seen; the first packet is not a duplicate.
          ep32[e32 + 2] = (seq - 1) >>> 0;
          ep32[e32] = (seq - 1) >>> 0;
          ep32[e32 + 1] = seq;
        }
        break;
      case EP_SYN_SENT:
      case EP_SYN_ACK_SENT:
      case EP_ESTABLISHED:
      case EP_PARTIAL:
        if (syn && seq !== ep32[e32]) {
          ep32[e32] = seq;
          ep32[e32 + 2] = seq;
          ep32[e32 + 1] = lastSeqSeg;
          ep8[e8 + 7] = 0;
        }
        break;
      case EP_RESET:
        if (syn && ep8[e8 + 1] === EP_INACTIVE) {
          // Sequence numbers were seeded by a RST: a SYN means that RST may have been forged; re-seed.
          ep32[e32] = seq;
          ep32[e32 + 2] = seq;
          ep32[e32 + 1] = lastSeqSeg;
          ep8[e8 + 7] = 0;
        }
        break;
    }

    // update_history
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst)
        this.checkHistory(f, d, H_FIN_RST, 0x49); // I
      else this.checkHistory(f, d, H_MULTI, 0x51); // Q
    } else if (bits === 1) {
      if (syn) {
        const code = ackf ? 0x48 : 0x53; // H : S
        if (this.checkHistory(f, d, H_SYN, code) && seq !== this.histMark[e * 3])
          this.addHistory(f, letter(code, d));
        this.histMark[e * 3] = seq;
      }
      if (fin) {
        const end = (seq + len) >>> 0;
        if (this.checkHistory(f, d, H_FIN, 0x46) && end !== this.histMark[e * 3 + 1])
          this.addHistory(f, letter(0x46, d));
        this.histMark[e * 3 + 1] = end;
      }
      if (rst) {
        if (this.checkHistory(f, d, H_RST, 0x52) && seq !== this.histMark[e * 3 + 2])
          this.addHistory(f, letter(0x52, d));
        this.histMark[e * 3 + 2] = seq;
      }
    } else if (len > 0)
      this.checkHistory(f, d, H_DATA, 0x44); // D
    else if (ackf) this.checkHistory(f, d, H_ACK, 0x41); // A

    // update_window (zero window history) and window bookkeeping
    const w = c.window[i]!;
    if (w === 0 && !rst && ep8[p8] !== EP_CLOSED && ep8[e8] !== EP_RESET) this.scaled(f, d, 1, 0x57); // W
    if (!syn && !fin && !rst && ep8[e8] !== EP_CLOSED && ep8[e8] !== EP_RESET) ep16[e16] = w;

    const bothClosed =
      (ep8[f * 2 * E8 + EP8 + 8]! & DF_DID_CLOSE) !== 0 &&
      (ep8[(f * 2 + 1) * E8 + EP8 + 8]! & DF_DID_CLOSE) !== 0;
    if (!bothClosed) this.f64[f * R64 + F64 + 1] = ts;
    this.f64[f * R64 + F64 + 2] = ts;

    if (syn) {
      // init_window
      if ((c.optFlags[i]! & OPT_WSCALE) === 0) {
        ep8[e8 + 2] = 0;
        if (ackf) ep8[p8 + 2] = 0;
      } else {
        const s = c.wscale[i]!;
        ep8[e8 + 2] = Math.min(s, 14);
      }
      ep16[e16] = w;
    }
    if (fin) ep8[e8 + 4] = Math.min(255, ep8[e8 + 4]! + 1);
    if (rst) {
      ep8[e8 + 5] = Math.min(255, ep8[e8 + 5]! + 1);
      if (f16[fb16 + 3]! < 0xffff) f16[fb16 + 3]!++;
    }

    if (ackf) {
      if (ep8[p8] === EP_INACTIVE) {
        const a1 = (ack - 1) >>> 0;
        ep32[p32] = a1;
        ep32[p32 + 2] = a1;
        ep32[p32 + 1] = a1;
      } else if (!rst) {
        const dAck = seqDelta(ack, ep32[p32 + 2]!);
        if (!(ack === 0 && dAck > TOO_LARGE_SEQ_DELTA) && dAck > 0) {
          ep32[p32 + 2] = ack;
          ep8[p8 + 6] = 0;
          // Content gap: the peer acknowledges data we never saw (not for FIN/RST acks).
          if (
            !fin &&
            (ep8[p8 + 8]! & DF_SENT_DATA) !== 0 &&
            seqDelta(ack, ep32[p32 + 1]!) > 0 &&
            ep8[p8] !== EP_PARTIAL
          ) {
            this.scaled(f, 1 - d, 2, 0x47); // G
            ep32[p32 + 1] = ack;
          }
        }
        if (ep8[p8 + 4]! > 0 && seqDelta(ack, ep32[p32 + 1]!) >= 0) ep8[p8 + 8]! |= DF_FIN_ACKED;
      }
    }

    // update_last_seq
    const deltaLast = seqDelta(lastSeqSeg, ep32[e32 + 1]!);
    if ((syn || rst) && (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)) {
      // don't trust
    } else if (fin && ep32[e32 + 1] === (ep32[e32]! + 1) >>> 0) {
      this.setLastSeq(e, lastSeqSeg);
    } else if (ep8[e8] === EP_RESET) {
      // don't trust subsequent sequence numbers
    } else if (deltaLast > 0) {
      this.setLastSeq(e, lastSeqSeg);
    } else if (len > 0) {
      this.scaled(f, d, 0, 0x54); // T
      if (seq === ep32[e32 + 7]) {
        if (ep8[e8 + 6]! < 255) ep8[e8 + 6]!++;
      } else {
        ep32[e32 + 7] = seq;
        ep8[e8 + 6] = 1;
      }
    }

    // Without SYN, FIN or RST only an endpoint's first packet (INACTIVE) changes a state.
    if ((flags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0 || ep8[e8] === EP_INACTIVE)
      this.stateMachine(f, e, p, d, flags, seq, ack, len);

    // Graceful close: both FINs seen and acknowledged.
    if (
      (f16[fb16 + 2]! & FF_GRACEFUL) === 0 &&
      ep8[e8 + 4]! > 0 &&
      ep8[p8 + 4]! > 0 &&
      (ep8[e8 + 8]! & DF_FIN_ACKED) !== 0 &&
      (ep8[p8 + 8]! & DF_FIN_ACKED) !== 0
    )
      f16[fb16 + 2]! |= FF_GRACEFUL;
  }

  private setLastSeq(e: number, v: number): void {
    if (
      v < this.ep32[e * E32 + 1]! &&
      seqDelta(v, this.ep32[e * E32 + 1]!) > 0 &&
      this.ep8[e * E8 + EP8 + 7]! < 255
    )
      this.ep8[e * E8 + EP8 + 7]!++;
    this.ep32[e * E32 + 1] = v;
  }

  private stateMachine(
    f: number,
    e: number,
    p: number,
    d: number,
    flags: number,
    seq: number,
    ack: number,
    len: number,
  ): void {
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ackf = (flags & TCP_ACK) !== 0;
    let doClose = false;
    switch (this.ep8[e * E8 + EP8]) {
      case EP_INACTIVE: {
        if (syn) {
          if (d === 0) {
            this.setState(e, ackf ? EP_SYN_ACK_SENT : EP_SYN_SENT);
          } else {
            if (!ackf && this.ep8[p * E8 + EP8] === EP_SYN_ACK_SENT && seq === this.ep32[e * E32]) {
              // SYN/SYN-ACK reversal: flip the roles and establish.
              this.flip(f);
              // after the flip, this endpoint is the originator and the peer (was originator) responder
              const ne = f * 2;
              const np = f * 2 + 1;
              this.setState(np, EP_ESTABLISHED);
              this.setState(ne, EP_ESTABLISHED);
              return;
            }
            if (this.ep8[p * E8 + EP8] === EP_SYN_SENT) this.setState(p, EP_ESTABLISHED);
            this.setState(e, EP_ESTABLISHED);
          }
        }
        if (fin) {
          this.setState(e, EP_CLOSED);
          doClose = true;
        }
        if (rst) {
          this.setState(e, EP_RESET);
          doClose = true;
        }
        if (this.ep8[e * E8 + EP8] === EP_INACTIVE) {
          if (d === 1 && len === 0 && this.ep8[p * E8 + EP8] === EP_SYN_SENT) {
            // an eccentric ACK of the SYN before the SYN-ACK: not partial
          } else if (ackf && this.ep8[p * E8 + EP8] === EP_ESTABLISHED) {
            this.setState(e, EP_ESTABLISHED);
          } else {
            this.setState(e, EP_PARTIAL);
          }
        }
        break;
      }
      case EP_SYN_SENT:
      case EP_SYN_ACK_SENT:
        if (fin) {
          this.setState(e, EP_CLOSED);
          doClose = true;
        }
        if (rst) {
          this.setState(e, EP_RESET);
          doClose = true;
        }
        break;
      case EP_ESTABLISHED:
      case EP_PARTIAL:
        if (syn && this.ep8[e * E8 + EP8] === EP_PARTIAL && this.ep8[p * E8 + EP8] === EP_INACTIVE && !ackf)
          this.setState(e, EP_SYN_SENT);
        if (fin && !rst) {
          this.setState(e, EP_CLOSED);
          if (this.ep8[p * E8 + EP8] === EP_RESET && this.ep8[p * E8 + EP8 + 1] === EP_CLOSED)
            this.setState(p, EP_CLOSED);
          doClose = true;
        }
        if (rst) {
          this.setState(e, EP_RESET);
          doClose = true;
        }
        break;
      case EP_CLOSED:
        if (rst && this.ep8[p * E8 + EP8] !== EP_CLOSED) {
          this.setState(e, EP_RESET);
          if ((this.ep8[e * E8 + EP8 + 8]! & DF_DID_CLOSE) === 0) doClose = true;
          this.f16[f * R16 + F16 + 2]! |= FF_DONE;
        }
        break;
      case EP_RESET:
        break;
    }
    void ack;
    if (doClose) this.connectionClosed(f, e, p);
  }

  private connectionClosed(f: number, e: number, p: number): void {
    if ((this.ep8[e * E8 + EP8 + 8]! & DF_DID_CLOSE) !== 0) return;
    this.ep8[e * E8 + EP8 + 8]! |= DF_DID_CLOSE;
    if (
      this.ep8[e * E8 + EP8] === EP_RESET ||
      (this.ep8[p * E8 + EP8 + 8]! & DF_DID_CLOSE) !== 0 ||
      this.ep8[p * E8 + EP8] === EP_INACTIVE
    )
      this.f16[f * R16 + F16 + 2]! |= FF_DONE;
  }

  /** Swap originator and responder of flow f (Zeek's FlipRoles), adding '^' to the history. */
  private flip(f: number): void {
    swapRange(this.addr, this.origAddrAt(f), this.respAddrAt(f), ADDR_BYTES);
    const tp = this.f16[f * R16 + F16]!;
    this.f16[f * R16 + F16] = this.f16[f * R16 + F16 + 1]!;
    this.f16[f * R16 + F16 + 1] = tp;
    const a = f * 2;
    const b = a + 1;
    swapRange(this.ep32, a * E32, b * E32, 8);
    swapRange(this.ep16, a * E16 + EP16, b * E16 + EP16, 5);
    swapRange(this.ep8, a * E8 + EP8, b * E8 + EP8, 9);
    swapRange(this.histMark, a * 3, b * 3, 3);
    const hs = this.f32[f * R32 + F32 + 2]!;
    this.f32[f * R32 + F32 + 2] = ((hs >>> 16) | ((hs & 0xffff) << 16)) >>> 0;
    this.f16[f * R16 + F16 + 2]! ^= FF_FLIPPED;
    this.addHistory(f, 0x5e);
    this.dir = 1 - this.dir;
  }

  /** Learn the sender's TTL/IP-ID baseline from a non-RST packet. */
  learnHost(c: HeaderColumns, i: number, sensor: number): void {
    if ((c.flags[i]! & TCP_RST) !== 0) return;
    this.hosts.observe(c.srcAddr, i * ADDR_BYTES, sensor, c.ttl[i]!, c.ipId[i]!, c.tsUs[i]!);
  }
}

/** TCP flags that make a header impossible (SYN+RST, SYN+FIN, none). */
export function impossibleFlags(flags: number): number {
  if ((flags & (TCP_SYN | TCP_RST)) === (TCP_SYN | TCP_RST)) return 1;
  if ((flags & (TCP_SYN | TCP_FIN)) === (TCP_SYN | TCP_FIN)) return 2;
  if ((flags & 0x1ff) === 0) return 3;
  return 0;
}
