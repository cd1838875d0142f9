/**
 * The flow table: every tracked TCP connection's state in struct-of-arrays columns over one
 * SharedArrayBuffer (open addressing with linear probing on the direction-free flow hash, full-key compare,
 * backward-shift deletion), so any worker thread can process a partition's next batch without copying.
 *
 * Each flow is one record whose fields are declared in layout.ts: per direction a Zeek-style endpoint
 * (state, start/last/ack sequence numbers with wrap handling, window with scaling, FIN/RST counters,
 * history marks, scaled counters for t/w/g, plus what the RST classifier needs: last TTL and IPv4 ID,
 * the first packets as 2-bit codes, retransmissions of the same segment), and the connection (key,
 * times, flags, history). `update` applies a packet in Zeek's steps (init_endpoint, update_history,
 * update_window, ack, update_last_seq), then the TCPSessionAdapter's transitions: one function per
 * endpoint state. RST packets never seed or move sequence/TTL state beyond what Zeek itself does;
 * conn_state is computed from the endpoints by conn-state.ts.
 *
 * Hot path: no allocation per packet. Flow ends (expiry, eviction, reuse) are reported to the `listener`.
 */
import * as core from '@rstwatch/core';
import {
  bucketOf,
  combineEndpoints,
  compareEndpoints,
  endpointHash,
  flowHash,
  type HeaderColumns,
} from '@rstwatch/core';
import * as states from './conn-state.js';
import { HostTable } from './hosts.js';
import { type ColumnDef, layoutBytes, mapColumns } from './internal/layout.js';
import { WASM_BASE64 as PREPARE_WASM } from './internal/prepare-wasm.js';
import { instantiate, type SharedMemory, sharedMemory, WASM_PAGE } from './internal/wasm.js';
import * as layout from './layout.js';
import { TimeWaitMemory } from './timewait.js';

// Constants as module-local copies: V8 reads an imported binding through its module cell on every use,
// a local const from the module context (the layout's offsets as imports cost ~12% of the engine).
const { ADDR_BYTES, OPT_WSCALE, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TCP_URG } = core;
const { EP_CLOSED, EP_ESTABLISHED, EP_INACTIVE, EP_PARTIAL, EP_RESET, EP_SYN_ACK_SENT, EP_SYN_SENT } = states;
const {
  COLD_BYTES,
  COLD8,
  COLD32,
  EP_ACK_SEQ,
  EP_FIN_MARK,
  EP_FINS,
  EP_FIRST,
  EP_FLAGS,
  EP_IP_BYTES,
  EP_IP_ID,
  EP_LAST_ACK_SENT,
  EP_LAST_SEQ,
  EP_PKTS,
  EP_PREV_STATE,
  EP_RST_MARK,
  EP_RSTS,
  EP_RX_SAME,
  EP_RX_SEQ,
  EP_SCALED,
  EP_SEQ_WRAPS,
  EP_START_SEQ,
  EP_STATE,
  EP_SYN_MARK,
  EP_TTL,
  EP_WINDOW,
  EP_WSCALE,
  FL_ACTIVE_TS,
  FL_CAUSE,
  FL_FIRST_TS,
  FL_FLAGS,
  FL_GEN,
  FL_HELD,
  FL_HIST_LEN,
  FL_HIST_SEEN,
  FL_HISTORY,
  FL_LAST_TS,
  FL_ORIG_ADDR,
  FL_ORIG_PORT,
  FL_ORIGIN,
  FL_RESP_ADDR,
  FL_RESP_PORT,
  FL_RSTS,
  FL_DUPS,
  FL_REORDERED,
  FL_SENSOR,
  FL_TUNNEL,
  FLOW_FIELDS,
  HISTORY_MAX,
  HOT_EP8,
  HOT_EP16,
  HOT_EP32,
  HOT8,
  HOT16,
  HOT32,
  HOT64,
  SCALED_G,
  SCALED_T,
  SCALED_W,
} = layout;

export { HISTORY_MAX };

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
/**
 * Loss: a FIN inferred from its acknowledgement. The peer of an endpoint that has sent its own FIN
 * acknowledged one sequence number beyond everything the sensor saw from it, and nothing of it was a FIN:
 * its FIN was lost. On a flow it reused (with FF_TW_REUSE), the TIME_WAIT rests on that inferred FIN.
 * History and endpoint states stay as seen (Zeek's); only the TIME_WAIT decisions use it.
 */
export const FF_FIN_INFERRED = 0x400;
/** Bits 12..15 of the flow flags: packets later than the reorder window (saturating counter). */
export const FF_LATE_SHIFT = 12;

/** Per-direction flags (`dflags`). */
export const DF_DID_CLOSE = 0x1;
export const DF_TTL_SET = 0x2;
export const DF_SENT_SYN = 0x4;
export const DF_SENT_SYNACK = 0x8;
export const DF_SENT_DATA = 0x10;
export const DF_SENT_ACK = 0x20;
export const DF_FIN_ACKED = 0x40;
/** The endpoint sent a non-RST segment after the graceful close (into the peer's TIME_WAIT). */
export const DF_AFTER_CLOSE = 0x80;

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
const H_CORRUPT = 0x80;

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
  /** The flow table's memory: index, records, free list (shared: it crosses to worker threads). */
  readonly flows: SharedMemory;
  /** The host table's memory (shared: it crosses to worker threads with the rest). */
  readonly hosts: SharedMemory;
  readonly timeWait: SharedArrayBuffer;
}

/** Index slots for `maxFlows` flows (load factor <= 0.8). */
function indexSize(maxFlows: number): number {
  return Math.ceil(maxFlows * 1.25) + 1;
}

/** An index displacement too large for the byte that keeps it: recomputed from the record when needed. */
const DIST_UNKNOWN = 255;

function timeWaitSize(maxFlows: number): number {
  return Math.max(64, Math.ceil(maxFlows / 16));
}

/** Headers per WebAssembly `prepare` call (wasm/prepare.ts). */
const PREPARE_CHUNK = 128;
/** The scratch's parts: source and destination address words (u32), ports (u16 index), hashes (u32). */
const KEY_DST32 = PREPARE_CHUNK * 4;
const KEY_SPORT16 = PREPARE_CHUNK * 16;
const KEY_DPORT16 = PREPARE_CHUNK * 17;
const KEY_HASH32 = PREPARE_CHUNK * 9;

interface PrepareWasm {
  setup(
    scratch: number,
    chunk: number,
    idx: number,
    idxSize: number,
    slotMask: number,
    tagShift: number,
    hot: number,
    recordBytes: number,
  ): void;
  prepare(n: number, sensor: number): number;
}

function flowColumns(n: number): ColumnDef[] {
  return [
    { name: 'meta', ctor: Float64Array, length: 8 },
    // The HOT records (see layout.ts): everything a packet reads or writes for its flow, adjacent cache
    // lines instead of one line per field array. The COLD records: what SYN/FIN/RST and history use.
    { name: 'hot', ctor: Float64Array, length: n * HOT64 },
    { name: 'idx', ctor: Int32Array, length: indexSize(n) },
    { name: 'free', ctor: Int32Array, length: n },
    { name: 'cold', ctor: Float64Array, length: (n * COLD_BYTES) / 8 },
    { name: 'sensorLen', ctor: Uint8Array, length: MAX_SENSORS },
    { name: 'sensorNames', ctor: Uint8Array, length: MAX_SENSORS * SENSOR_NAME_MAX },
    // Per index slot, how far its entry sits past its home bucket (DIST_UNKNOWN from 255 on): a deletion
    // shifts entries back without reading their records (see removeIndex).
    { name: 'idxDist', ctor: Uint8Array, length: indexSize(n) },
    // `prepare`'s scratch: the key columns of up to PREPARE_CHUNK headers, copied in for the WebAssembly
    // pass, and the hashes it writes (see KEY_*). One batch of an engine runs at a time, on one thread.
    { name: 'keys', ctor: Uint32Array, length: PREPARE_CHUNK * 10 },
  ];
}

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

/** u32 offsets of the addresses in a HOT record; byte offsets for the byte view. */
const AO32 = FL_ORIG_ADDR;
const AR32 = FL_RESP_ADDR;
const AO8 = FL_ORIG_ADDR * 4;
const AR8 = FL_RESP_ADDR * 4;
const BYTES: Readonly<Record<string, number>> = { u8: 1, u16: 2, u32: 4, f64: 8 };
/** [byte offset, bytes] of every HOT endpoint field (in half 0; half 1 at + HOT_EP8), for a role flip. */
const EP_HOT_SPANS = FLOW_FIELDS.filter((x) => x.block === 'hot' && x.scope === 'endpoint').map(
  (x) => [x.byte, x.count * BYTES[x.type]!] as const,
);
/** [byte offset, bytes per endpoint] of every COLD endpoint pair (originator's, then responder's). */
const EP_COLD_SPANS = FLOW_FIELDS.filter((x) => x.block === 'cold' && x.scope === 'endpoint').map(
  (x) => [x.byte, x.count * BYTES[x.type]!] as const,
);

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

/** Endpoint id of direction d (0 originator, 1 responder) of flow f: the argument of the ep* accessors. */
export function endpointOf(f: number, d: number): number {
  return f * 2 + d;
}

/** The other endpoint of the same flow. */
export function peerOf(e: number): number {
  return e ^ 1;
}

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

/**
 * Flow table + endpoints + host baselines + TIME_WAIT memory, all in shared memory.
 *
 * Flows are slots `f`; endpoint `e = 2f + d` is direction d of flow f (0 originator, 1 responder). The
 * record's fields are read through the named accessors below (or, inside this package, the views and
 * the offsets of layout.ts).
 */
export class FlowTracker {
  readonly config: TrackerConfig;
  readonly shared: TrackerShared;
  readonly hosts: HostTable;
  readonly timeWait: TimeWaitMemory;
  readonly maxFlows: number;
  private readonly idxSize: number;
  /**
   * Index entries are `slot + 1` in the low `slotBits` bits and, above them, a tag: the key hash's low
   * bits (the bucket comes from its high bits). A probe compares the tag before it reads a record, so
   * the flows it passes on the way cost no cache miss unless their tag matches (1 in 2^tagBits).
   */
  private readonly slotMask: number;
  private readonly tagShift: number;
  /** Idle expiry and TIME_WAIT memory in µs (from the config, kept as numbers for the per-packet path). */
  private readonly idleUs: number;
  private readonly timeWaitUs: number;

  private readonly meta: Float64Array;
  private readonly idx: Int32Array;
  private readonly idxDist: Uint8Array;
  /** `prepare`'s scratch, as words and as halves, and its WebAssembly pass (wasm/prepare.ts). */
  private readonly keys32: Uint32Array;
  private readonly keys16: Uint16Array;
  private readonly prep: PrepareWasm;
  private readonly free: Int32Array;
  /** Views of the HOT records (layout.ts), one per element type, all over the same bytes. */
  private readonly h64: Float64Array;
  private readonly h32: Uint32Array;
  private readonly h16: Uint16Array;
  /** Byte view of the HOT records: flow f's originator address at origAddrAt(f), responder at respAddrAt(f). */
  readonly addr: Uint8Array;
  /** The same bytes as `addr` in 32-bit words: flow f's originator address at origAddrWord(f). */
  readonly addr32: Uint32Array;
  /** Views of the COLD records. */
  private readonly c32: Uint32Array;
  private readonly c8: Uint8Array;
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
  /** Whether the slot `allocate` just returned was never used (its records are still all zero). */
  private pristine = false;
  /**
   * Told when a flow ends and when a history letter does not fit. Set by the owner. An object with
   * methods rather than callback fields: every owner of one class shares the same call targets, so the
   * hot path's compiled code stays valid when a thread attaches to another engine.
   */
  listener: TrackerListener = IGNORE;

  static create(config: TrackerConfig): FlowTracker {
    const flows = sharedMemory(Math.ceil(layoutBytes(flowColumns(config.maxFlows)) / WASM_PAGE));
    const hosts = HostTable.memoryFor(config.maxHosts);
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
    // f + 1 <= maxFlows <= 2^24: at least 7 bits of tag.
    this.tagShift = 32 - Math.clz32(this.maxFlows);
    this.slotMask = this.tagShift >= 32 ? -1 : (1 << this.tagShift) - 1;
    this.idleUs = shared.config.flowIdleExpiryS * 1e6;
    this.timeWaitUs = shared.config.timeWaitS * 1e6;
    this.hosts = new HostTable(shared.config.maxHosts, shared.hosts);
    this.timeWait = new TimeWaitMemory(timeWaitSize(this.maxFlows), shared.timeWait);
    const m = mapColumns(shared.flows.buffer, flowColumns(this.maxFlows));
    this.meta = m.meta as Float64Array;
    this.idx = m.idx as Int32Array;
    this.idxDist = m.idxDist as Uint8Array;
    this.free = m.free as Int32Array;
    const hot = m.hot as Float64Array;
    this.h64 = hot;
    this.h32 = new Uint32Array(hot.buffer, hot.byteOffset, hot.length * 2);
    this.h16 = new Uint16Array(hot.buffer, hot.byteOffset, hot.length * 4);
    this.addr = new Uint8Array(hot.buffer, hot.byteOffset, hot.length * 8);
    this.addr32 = this.h32;
    const cold = m.cold as Float64Array;
    this.c32 = new Uint32Array(cold.buffer, cold.byteOffset, cold.length * 2);
    this.c8 = new Uint8Array(cold.buffer, cold.byteOffset, cold.length * 8);
    this.sensorLen = m.sensorLen as Uint8Array;
    this.sensorNames = m.sensorNames as Uint8Array;
    this.keys32 = m.keys as Uint32Array;
    this.keys16 = new Uint16Array(this.keys32.buffer, this.keys32.byteOffset, this.keys32.length * 2);
    this.prep = instantiate<PrepareWasm>(PREPARE_WASM, shared.flows);
    this.prep.setup(
      this.keys32.byteOffset,
      PREPARE_CHUNK,
      this.idx.byteOffset,
      this.idxSize,
      this.slotMask,
      this.tagShift,
      hot.byteOffset,
      HOT8,
    );
  }

  // ---- the record, by name (endpoint e = 2f + d) ----------------------------------------------------

  /** Endpoint state (EP_*). */
  epState(e: number): number {
    return this.addr[e * HOT_EP8 + EP_STATE]!;
  }
  /** Endpoint state before its last change. */
  epPrevState(e: number): number {
    return this.addr[e * HOT_EP8 + EP_PREV_STATE]!;
  }
  /** Direction flags (DF_*). */
  epFlags(e: number): number {
    return this.addr[e * HOT_EP8 + EP_FLAGS]!;
  }
  /** Start sequence number (ISN). */
  epStartSeq(e: number): number {
    return this.h32[e * HOT_EP32 + EP_START_SEQ]!;
  }
  /** Highest sequence number sent + segment length. */
  epLastSeq(e: number): number {
    return this.h32[e * HOT_EP32 + EP_LAST_SEQ]!;
  }
  /** Highest sequence number the peer acknowledged. */
  epAckSeq(e: number): number {
    return this.h32[e * HOT_EP32 + EP_ACK_SEQ]!;
  }
  /** ack field of the endpoint's last ACK. */
  epLastAckSent(e: number): number {
    return this.h32[e * HOT_EP32 + EP_LAST_ACK_SENT]!;
  }
  /** Packets sent. */
  epPackets(e: number): number {
    return this.h32[e * HOT_EP32 + EP_PKTS]!;
  }
  /** IP bytes sent. */
  epIpBytes(e: number): number {
    return this.h32[e * HOT_EP32 + EP_IP_BYTES]!;
  }
  /** First packets as 2-bit PC_* codes, count in bits 20..23. */
  epFirstCodes(e: number): number {
    return this.h32[e * HOT_EP32 + EP_FIRST]!;
  }
  /** Last advertised window (unscaled) and its scale. */
  epWindow(e: number): number {
    return this.h16[e * HOT_EP16 + EP_WINDOW]!;
  }
  epWindowScale(e: number): number {
    return this.addr[e * HOT_EP8 + EP_WSCALE]!;
  }
  /** TTL and IPv4 ID of the endpoint's last non-RST packet (valid when DF_TTL_SET). */
  epTtl(e: number): number {
    return this.addr[e * HOT_EP8 + EP_TTL]!;
  }
  epIpId(e: number): number {
    return this.h16[e * HOT_EP16 + EP_IP_ID]!;
  }
  /** FIN and RST packets sent (saturating at 255). */
  epFins(e: number): number {
    return this.addr[e * HOT_EP8 + EP_FINS]!;
  }
  epRsts(e: number): number {
    return this.addr[e * HOT_EP8 + EP_RSTS]!;
  }
  /** Retransmissions of the same segment not yet acknowledged. */
  epRetransmitsSame(e: number): number {
    return this.addr[e * HOT_EP8 + EP_RX_SAME]!;
  }
  /** Sequence number of the endpoint's last RST. */
  epLastRstSeq(e: number): number {
    return this.c32[(e >>> 1) * COLD32 + EP_RST_MARK + (e & 1)]!;
  }

  /** Flow flags (FF_*). */
  flowFlags(f: number): number {
    return this.h16[f * HOT16 + FL_FLAGS]!;
  }
  /** Whether slot f holds a live flow. */
  isLive(f: number): boolean {
    return (this.h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) !== 0;
  }
  /** Flow generation (unique per allocation, for uids and held-RST validation). */
  generation(f: number): number {
    return this.h32[f * HOT32 + FL_GEN]!;
  }
  /** Capture times (µs) of the first packet, the last packet before both sides closed, the last packet. */
  firstTs(f: number): number {
    return this.h64[f * HOT64 + FL_FIRST_TS]!;
  }
  lastTs(f: number): number {
    return this.h64[f * HOT64 + FL_LAST_TS]!;
  }
  activeTs(f: number): number {
    return this.h64[f * HOT64 + FL_ACTIVE_TS]!;
  }
  /** Originator and responder ports. */
  origPort(f: number): number {
    return this.h16[f * HOT16 + FL_ORIG_PORT]!;
  }
  respPort(f: number): number {
    return this.h16[f * HOT16 + FL_RESP_PORT]!;
  }
  /** RST packets in the flow (saturating at 255). */
  rstCount(f: number): number {
    return this.addr[f * HOT8 + FL_RSTS]!;
  }
  /** Duplicate packets of flow f suppressed (saturating at 255). */
  dupCount(f: number): number {
    return this.addr[f * HOT8 + FL_DUPS]!;
  }
  noteDuplicate(f: number): void {
    if (this.addr[f * HOT8 + FL_DUPS]! < 0xff) this.addr[f * HOT8 + FL_DUPS]!++;
  }
  /** Packets of flow f processed in causal rather than capture order (saturating at 255). */
  reorderedCount(f: number): number {
    return this.addr[f * HOT8 + FL_REORDERED]!;
  }
  noteReordered(f: number): void {
    if (this.addr[f * HOT8 + FL_REORDERED]! < 0xff) this.addr[f * HOT8 + FL_REORDERED]!++;
  }
  /** Packets of flow f stamped earlier than the reorder window allows (4 bits of the flags, saturating at 15). */
  lateCount(f: number): number {
    return this.h16[f * HOT16 + FL_FLAGS]! >>> FF_LATE_SHIFT;
  }
  noteLate(f: number): void {
    const ff = this.h16[f * HOT16 + FL_FLAGS]!;
    if (ff >>> FF_LATE_SHIFT < 15) this.h16[f * HOT16 + FL_FLAGS] = ff + (1 << FF_LATE_SHIFT);
  }
  /** Whether only one direction of flow f was seen (one-sided view: asymmetric routing, one tap). */
  oneSided(f: number): boolean {
    return (
      (this.h32[f * 2 * HOT_EP32 + EP_PKTS] === 0) !== (this.h32[(f * 2 + 1) * HOT_EP32 + EP_PKTS] === 0)
    );
  }
  /** Sensor ordinal and tunnel code. */
  sensorOf(f: number): number {
    return this.addr[f * HOT8 + FL_SENSOR]!;
  }
  tunnelOf(f: number): number {
    return this.addr[f * HOT8 + FL_TUNNEL]!;
  }
  /** The latest held RST of flow f (ring sequence number + 1), 0 when none. */
  heldRst(f: number): number {
    return this.h32[f * HOT32 + FL_HELD]!;
  }
  setHeldRst(f: number, v: number): void {
    this.h32[f * HOT32 + FL_HELD] = v;
  }
  /** The last RST verdict of the flow (CAUSES / ORIGINS indexes, 255 none). */
  rstCause(f: number): number {
    return this.addr[f * HOT8 + FL_CAUSE]!;
  }
  rstOrigin(f: number): number {
    return this.addr[f * HOT8 + FL_ORIGIN]!;
  }
  setVerdict(f: number, cause: number, origin: number): void {
    this.addr[f * HOT8 + FL_CAUSE] = cause;
    this.addr[f * HOT8 + FL_ORIGIN] = origin;
  }
  /** History letters kept, and a copy of them into `dst` at `at`. */
  historyLength(f: number): number {
    return this.addr[f * HOT8 + FL_HIST_LEN]!;
  }
  copyHistory(f: number, dst: Uint8Array, at: number, len: number): void {
    const o = f * COLD8 + FL_HISTORY;
    for (let k = 0; k < len; k++) dst[at + k] = this.c8[o + k]!;
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

  /** History string of flow f (first `len` letters, all by default). */
  /** Sensors named so far (ordinals 0 .. sensorCount - 1). */
  get sensorCount(): number {
    return this.meta[M_SENSORS]!;
  }

  history(f: number, len = this.addr[f * HOT8 + FL_HIST_LEN]!): string {
    let s = '';
    const o = f * COLD8 + FL_HISTORY;
    for (let k = 0; k < len; k++) s += String.fromCharCode(this.c8[o + k]!);
    return s;
  }

  /** Zeek's endpoint Size(): payload bytes from sequence numbers. */
  size(f: number, d: number): number {
    const e = f * 2 + d;
    const p = e ^ 1;
    const e32 = e * HOT_EP32;
    const e8 = e * HOT_EP8;
    const u8 = this.addr;
    const start = this.h32[e32 + EP_START_SEQ]!;
    const ack = this.h32[e32 + EP_ACK_SEQ]!;
    if (
      u8[e8 + EP_PREV_STATE] === EP_SYN_SENT &&
      u8[e8 + EP_STATE] === EP_RESET &&
      u8[p * HOT_EP8 + EP_STATE] === EP_INACTIVE &&
      !(ack === start || ack === (start + 1) >>> 0)
    )
      return 0;
    const last = this.h32[e32 + EP_LAST_SEQ]!;
    const top = seqDelta(last, ack) >= 0 ? last : ack;
    let size = ((top - start) >>> 0) + u8[e8 + EP_SEQ_WRAPS]! * 4294967296;
    if (size !== 0) size--;
    if (u8[e8 + EP_FINS]! > 0 && size !== 0) size--;
    return size;
  }

  // ---- index -------------------------------------------------------------------------------------

  /**
   * Hash headers [from, to) of batch `c` into `batchHashes` and touch the index slot and every cache line
   * of the HOT record each one will need. The loads do not depend on each other, so the CPU overlaps their
   * cache misses; the in-order pass that follows finds the lines in cache. Writes only `batchHashes`
   * (grown when needed) and the scratch.
   */
  prepare(c: HeaderColumns, sensor: number, from: number, to: number): void {
    if (this.batchHashes.length < c.length) this.batchHashes = new Uint32Array(Math.max(c.length, 1024));
    const hs = this.batchHashes;
    const k32 = this.keys32;
    const k16 = this.keys16;
    let acc = 0;
    // The pass runs in WebAssembly over the table's memory: the key columns go to its scratch first
    // (block copies, ~3 ns a header), the hashes come back.
    for (let i = from; i < to; i += PREPARE_CHUNK) {
      const n = Math.min(PREPARE_CHUNK, to - i);
      k32.set(c.srcAddr32.subarray(i * 4, (i + n) * 4), 0);
      k32.set(c.dstAddr32.subarray(i * 4, (i + n) * 4), KEY_DST32);
      k16.set(c.srcPort.subarray(i, i + n), KEY_SPORT16);
      k16.set(c.dstPort.subarray(i, i + n), KEY_DPORT16);
      acc ^= this.prep.prepare(n, sensor);
      for (let k = 0; k < n; k++) hs[i + k] = k32[KEY_HASH32 + k]!;
    }
    this.sink = acc;
  }

  /** The key hash of flow f (the same value `flowHash` gives its packets), recomputed from the record. */
  keyHash(f: number): number {
    const u = this.h32;
    return combineEndpoints(
      endpointHash(u, f * HOT32 + AO32, this.h16[f * HOT16 + FL_ORIG_PORT]!),
      endpointHash(u, f * HOT32 + AR32, this.h16[f * HOT16 + FL_RESP_PORT]!),
      this.addr[f * HOT8 + FL_SENSOR]!,
    );
  }

  /** Byte offset of flow f's originator address in `addr`. */
  origAddrAt(f: number): number {
    return f * HOT8 + AO8;
  }

  /** Word offset of flow f's originator address in `addr32`. */
  origAddrWord(f: number): number {
    return f * HOT32 + AO32;
  }

  /** Word offset of flow f's responder address in `addr32`. */
  respAddrWord(f: number): number {
    return f * HOT32 + AR32;
  }

  /** Byte offset of flow f's responder address in `addr`. */
  respAddrAt(f: number): number {
    return f * HOT8 + AR8;
  }

  private keyMatch(f: number, c: HeaderColumns, i: number): number {
    // Returns 0 (src is originator), 1 (src is responder) or -1 (no match).
    const o = i * 4;
    const s = c.srcAddr32;
    const d = c.dstAddr32;
    const sp = c.srcPort[i]!;
    const dp = c.dstPort[i]!;
    const u = this.h32;
    const ao = f * HOT32 + AO32;
    const ar = f * HOT32 + AR32;
    const po = this.h16[f * HOT16 + FL_ORIG_PORT]!;
    const pr = this.h16[f * HOT16 + FL_RESP_PORT]!;
    if (po === sp && pr === dp && same128(u, ao, s, o) && same128(u, ar, d, o)) return 0;
    if (po === dp && pr === sp && same128(u, ao, d, o) && same128(u, ar, s, o)) return 1;
    return -1;
  }

  private find(c: HeaderColumns, i: number, h: number, sensor: number): number {
    const size = this.idxSize;
    const mask = this.slotMask;
    const tag = (h << this.tagShift) & ~mask;
    let pos = bucketOf(h, size);
    for (let probes = 0; probes < size; probes++) {
      const v = this.idx[pos]!;
      if (v === 0) return -1;
      const f = (v & mask) - 1;
      if ((v & ~mask) === tag && this.addr[f * HOT8 + FL_SENSOR] === sensor) {
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
    const home = bucketOf(h, size);
    let pos = home;
    while (this.idx[pos] !== 0) pos = pos + 1 === size ? 0 : pos + 1;
    this.idx[pos] = (f + 1) | ((h << this.tagShift) & ~this.slotMask);
    const d = pos >= home ? pos - home : pos + size - home;
    this.idxDist[pos] = Math.min(d, DIST_UNKNOWN);
  }

  /**
   * Delete flow f from the index by shifting back the entries after it in its cluster (no tombstones).
   * An entry's home comes from its displacement byte, so the cluster's records are not read: reading them
   * (a cache miss and a key hash each) made eviction on a full table cost more than the rest of a packet.
   */
  private removeIndex(f: number): void {
    const size = this.idxSize;
    const mask = this.slotMask;
    const idx = this.idx;
    const dist = this.idxDist;
    let i = bucketOf(this.keyHash(f), size);
    while ((idx[i]! & mask) !== f + 1) {
      if (idx[i] === 0) return;
      i = i + 1 === size ? 0 : i + 1;
    }
    let j = i;
    for (;;) {
      j = j + 1 === size ? 0 : j + 1;
      const v = idx[j]!;
      if (v === 0) break;
      let d = dist[j]!;
      if (d === DIST_UNKNOWN) {
        const k = bucketOf(this.keyHash((v & mask) - 1), size);
        d = j >= k ? j - k : j + size - k;
      }
      // Entry j moves back to the hole at i unless its home is cyclically in (i, j], i.e. unless it is
      // displaced by less than the gap j - i.
      const gap = j >= i ? j - i : j + size - i;
      if (d >= gap) {
        idx[i] = v;
        dist[i] = Math.min(d - gap, DIST_UNKNOWN);
        i = j;
      }
    }
    idx[i] = 0;
    dist[i] = 0;
  }

  /** The live flow of header `i` (setting `dir`), or -1; nothing is created, ended or changed. */
  lookup(c: HeaderColumns, i: number, sensor: number, h: number): number {
    return this.find(c, i, h, sensor);
  }

  /**
   * Undo the `locate` that just created flow f (the engine defers its packet to after a causally earlier
   * one): no record, no listener call, not counted as created.
   */
  discard(f: number): void {
    if (!this.created) return;
    // The generation goes back too, so flow uids do not depend on where batches were cut.
    const g = this.h32[f * HOT32 + FL_GEN]!;
    if (g === this.meta[M_GEN]) this.meta[M_GEN] = (g + 4294967295) % 4294967296;
    this.release(f);
    this.meta[M_CREATED] = this.meta[M_CREATED]! - 1;
    this.created = false;
  }

  /** Remove flow f from the table (after its record was emitted) and free its slot. */
  release(f: number): void {
    if ((this.h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) === 0) return;
    this.removeIndex(f);
    this.h16[f * HOT16 + FL_FLAGS] = 0;
    this.h32[f * HOT32 + FL_HELD] = 0;
    const top = this.meta[M_FREE_TOP]!;
    this.free[top] = f;
    this.meta[M_FREE_TOP] = top + 1;
    this.meta[M_ACTIVE] = this.meta[M_ACTIVE]! - 1;
  }

  /** End flow f now: notify the owner, then free it. */
  end(f: number, reason: number): void {
    if ((this.h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) === 0) return;
    this.rememberIfGraceful(f);
    this.listener.flowEnded(f, reason);
    this.release(f);
  }

  private rememberIfGraceful(f: number): void {
    if ((this.h16[f * HOT16 + FL_FLAGS]! & (FF_GRACEFUL | FF_FIN_INFERRED)) === 0) return;
    const lowFirst = this.originatorIsLow(f);
    const ao = lowFirst ? this.origAddrAt(f) : this.respAddrAt(f);
    const bo = lowFirst ? this.respAddrAt(f) : this.origAddrAt(f);
    const po = this.origPort(f);
    const pr = this.respPort(f);
    const a = this.addr;
    const sensor = this.addr[f * HOT8 + FL_SENSOR]!;
    const ts = this.h64[f * HOT64 + FL_ACTIVE_TS]!;
    this.timeWait.remember(this.keyHash(f), sensor, a, ao, lowFirst ? po : pr, a, bo, lowFirst ? pr : po, ts);
  }

  private originatorIsLow(f: number): boolean {
    const ao = this.origAddrAt(f);
    const ar = this.respAddrAt(f);
    for (let k = 0; k < ADDR_BYTES; k++) {
      const d = this.addr[ao + k]! - this.addr[ar + k]!;
      if (d !== 0) return d < 0;
    }
    return this.origPort(f) <= this.respPort(f);
  }

  /** Whether flow f should leave the table at capture time `nowUs`. */
  isExpired(f: number, nowUs: number): boolean {
    const ff = this.h16[f * HOT16 + FL_FLAGS]!;
    if ((ff & FF_LIVE) === 0) return false;
    const active = this.h64[f * HOT64 + FL_ACTIVE_TS]!;
    if ((ff & FF_DONE) !== 0 && nowUs - active >= CLOSE_DELAY_US) return true;
    // Zeek's attempt timer: an unanswered SYN is given up tcp_attempt_delay after it was seen. The time
    // first (same cache line as the other times): the endpoint states are read only for an old flow.
    if (nowUs - this.h64[f * HOT64 + FL_FIRST_TS]! >= ATTEMPT_DELAY_US) {
      const os = this.addr[f * 2 * HOT_EP8 + EP_STATE]!;
      if (
        (os === EP_SYN_SENT || os === EP_SYN_ACK_SENT) &&
        this.addr[(f * 2 + 1) * HOT_EP8 + EP_STATE] === EP_INACTIVE
      )
        return true;
    }
    return nowUs - active > this.idleUs;
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
    const order: number[] = [];
    for (let f = 0; f < n; f++) if ((this.h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) !== 0) order.push(f);
    this.endEvery(order, reason);
  }

  /**
   * End the flows of `order` (every live flow, in the order given) as `end` would, one by one, but empty
   * the index once at the end instead of deleting each flow from it: a deletion reads the record of every
   * flow after it in its probe cluster, a cache miss each, which at a million flows cost more than the rest
   * of ending them. The owner's `flowEnded` may read records (never the index) meanwhile. If a flow is
   * left live (not in `order`), the index is rebuilt from the live flows.
   */
  endEvery(order: ArrayLike<number>, reason: number): void {
    const h16 = this.h16;
    for (let k = 0; k < order.length; k++) {
      const f = order[k]!;
      if ((h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) === 0) continue;
      this.rememberIfGraceful(f);
      this.listener.flowEnded(f, reason);
      if ((h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) === 0) continue;
      h16[f * HOT16 + FL_FLAGS] = 0;
      this.h32[f * HOT32 + FL_HELD] = 0;
      const top = this.meta[M_FREE_TOP]!;
      this.free[top] = f;
      this.meta[M_FREE_TOP] = top + 1;
      this.meta[M_ACTIVE] = this.meta[M_ACTIVE]! - 1;
    }
    this.idx.fill(0);
    this.idxDist.fill(0);
    if (this.meta[M_ACTIVE] === 0) return;
    const n = this.meta[M_HIGH]!;
    for (let f = 0; f < n; f++)
      if ((h16[f * HOT16 + FL_FLAGS]! & FF_LIVE) !== 0) this.insertIndex(f, this.keyHash(f));
  }

  private evictOne(): void {
    // Called only when every slot is taken, so every slot has been used.
    const n = this.maxFlows;
    let hand = this.meta[M_HAND]! < n ? this.meta[M_HAND]! : 0;
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let k = 0, seen = 0; k < n && seen < 8; k++) {
      if ((this.h16[hand * HOT16 + FL_FLAGS]! & FF_LIVE) !== 0) {
        seen++;
        const t = this.h64[hand * HOT64 + FL_ACTIVE_TS]!;
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
    this.pristine = f >= this.meta[M_HIGH]!;
    if (this.pristine) this.meta[M_HIGH] = f + 1;
    return f;
  }

  // ---- per packet: locate ------------------------------------------------------------------------

  /**
   * Find the flow of header `i` (creating it when new, replacing an expired or reused one). Sets `dir`
   * and `created`. Returns the flow slot.
   */
  locate(c: HeaderColumns, i: number, sensor: number, h: number = flowHash(c, i, sensor)): number {
    const ts = c.tsUs[i]!;
    this.created = false;
    let f = this.find(c, i, h, sensor);
    let reuse = false;
    let inferredFin = false;
    if (f >= 0) {
      if (this.isExpired(f, ts)) {
        this.end(f, END_EXPIRED);
        f = -1;
      } else if (this.isReusedBy(f, c, i)) {
        const ff = this.h16[f * HOT16 + FL_FLAGS]!;
        reuse =
          (ff & (FF_GRACEFUL | FF_FIN_INFERRED)) !== 0 &&
          ts - this.h64[f * HOT64 + FL_ACTIVE_TS]! <= this.timeWaitUs;
        inferredFin = (ff & FF_GRACEFUL) === 0;
        this.end(f, END_REUSED);
        f = -1;
      }
    }
    if (f >= 0) return f;
    f = this.allocate();
    this.initFlow(f, c, i, h, sensor);
    this.insertIndex(f, h);
    if (reuse) this.h16[f * HOT16 + FL_FLAGS]! |= FF_TW_REUSE | (inferredFin ? FF_FIN_INFERRED : 0);
    this.created = true;
    return f;
  }

  /**
   * A bare SYN on a finished flow (or one whose last FIN was inferred) with a new ISN (or after a reset)
   * starts a new connection.
   */
  private isReusedBy(f: number, c: HeaderColumns, i: number): boolean {
    return (
      (c.flags[i]! & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
      (this.h16[f * HOT16 + FL_FLAGS]! & (FF_DONE | FF_FIN_INFERRED)) !== 0 &&
      (c.seq[i] !== this.h32[(f * 2 + this.dir) * HOT_EP32 + EP_START_SEQ] ||
        this.addr[f * 2 * HOT_EP8 + EP_STATE] === EP_RESET ||
        this.addr[(f * 2 + 1) * HOT_EP8 + EP_STATE] === EP_RESET)
    );
  }

  private initFlow(f: number, c: HeaderColumns, i: number, h: number, sensor: number): void {
    const flags = c.flags[i]!;
    const sp = c.srcPort[i]!;
    const dp = c.dstPort[i]!;
    const flip = startsFlipped(flags, sp, dp);
    // A fresh record: every field 0 (EP_INACTIVE states, no counters, no history) unless set below. A slot
    // never used is still zero (not writing it spares a pass over memory the first packet faults in).
    if (!this.pristine) {
      const h64 = this.h64;
      for (let k = f * HOT64, end = k + HOT64; k < end; k++) h64[k] = 0;
      const c32 = this.c32;
      for (let k = f * COLD32, end = k + COLD32; k < end; k++) c32[k] = 0;
    }
    const o = i * 4;
    const u32 = this.h32;
    const ao = f * HOT32 + AO32;
    const ar = f * HOT32 + AR32;
    const a = flip ? c.dstAddr32 : c.srcAddr32;
    const b = flip ? c.srcAddr32 : c.dstAddr32;
    u32[ao] = a[o]!;
    u32[ao + 1] = a[o + 1]!;
    u32[ao + 2] = a[o + 2]!;
    u32[ao + 3] = a[o + 3]!;
    u32[ar] = b[o]!;
    u32[ar + 1] = b[o + 1]!;
    u32[ar + 2] = b[o + 2]!;
    u32[ar + 3] = b[o + 3]!;
    this.h16[f * HOT16 + FL_ORIG_PORT] = flip ? dp : sp;
    this.h16[f * HOT16 + FL_RESP_PORT] = flip ? sp : dp;
    this.addr[f * HOT8 + FL_SENSOR] = sensor;
    this.addr[f * HOT8 + FL_TUNNEL] = c.tunnel[i]!;
    const g = (this.meta[M_GEN]! + 1) % 4294967296;
    this.meta[M_GEN] = g;
    this.h32[f * HOT32 + FL_GEN] = g;
    const ts = c.tsUs[i]!;
    this.h64[f * HOT64 + FL_FIRST_TS] = ts;
    this.h64[f * HOT64 + FL_LAST_TS] = ts;
    this.h64[f * HOT64 + FL_ACTIVE_TS] = ts;
    this.addr[f * HOT8 + FL_CAUSE] = 255;
    this.addr[f * HOT8 + FL_ORIGIN] = 255;
    this.h16[f * HOT16 + FL_FLAGS] = FF_LIVE;
    this.dir = flip ? 1 : 0;
    if (flip) this.addHistory(f, 0x5e); // '^'
    this.checkTimeWait(f, c, i, h, sensor);
  }

  /** A new flow's first RST or bare SYN against the TIME_WAIT memory (FF_TW_HIT / FF_TW_REUSE). */
  private checkTimeWait(f: number, c: HeaderColumns, i: number, h: number, sensor: number): void {
    const flags = c.flags[i]!;
    const rst = (flags & TCP_RST) !== 0;
    if (rst) this.h16[f * HOT16 + FL_FLAGS]! |= FF_FIRST_RST;
    else if ((flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return;
    const sp = c.srcPort[i]!;
    const dp = c.dstPort[i]!;
    const o = i * ADDR_BYTES;
    const lowFirst = compareEndpoints(c, i) <= 0;
    const la = lowFirst ? c.srcAddr : c.dstAddr;
    const lb = lowFirst ? c.dstAddr : c.srcAddr;
    const pa = lowFirst ? sp : dp;
    const pb = lowFirst ? dp : sp;
    if (this.timeWait.closedAt(h, sensor, la, o, pa, lb, o, pb, c.tsUs[i]!, this.timeWaitUs) < 0) return;
    if (rst) this.h16[f * HOT16 + FL_FLAGS]! |= FF_TW_HIT;
    else {
      this.h16[f * HOT16 + FL_FLAGS]! |= FF_TW_REUSE;
      this.timeWait.forget(h);
    }
  }

  /** A packet of flow f from `dir` failed its checksum: Zeek's history `C`/`c`; nothing else changes. */
  badChecksum(f: number, dir: number): void {
    this.checkHistory(f, dir, H_CORRUPT, 0x43); // C
  }

  // ---- per packet: history -----------------------------------------------------------------------

  private addHistory(f: number, code: number): void {
    const n = this.addr[f * HOT8 + FL_HIST_LEN]!;
    if (n >= HISTORY_MAX) {
      this.listener.historyOverflow();
      return;
    }
    this.c8[f * COLD8 + FL_HISTORY + n] = code;
    this.addr[f * HOT8 + FL_HIST_LEN] = n + 1;
  }

  /** Zeek's CheckHistory: add the letter the first time; returns true if it had been seen before. */
  private checkHistory(f: number, d: number, mask: number, code: number): boolean {
    const m = d === 0 ? mask : mask << 16;
    const k = f * HOT32 + FL_HIST_SEEN;
    if ((this.h32[k]! & m) === 0) {
      this.h32[k]! |= m;
      this.addHistory(f, letter(code, d));
      return false;
    }
    return true;
  }

  /** CheckHistory for S/H, F and R: a repeat with a new sequence number adds the letter again. */
  private markHistory(f: number, d: number, mask: number, code: number, mark: number, seq: number): void {
    const k = f * COLD32 + mark + d;
    if (this.checkHistory(f, d, mask, code) && seq !== this.c32[k]) this.addHistory(f, letter(code, d));
    this.c32[k] = seq;
  }

  /** Zeek's ScaledHistoryEntry with base 10: letter at the 1st, 10th, 100th, ... occurrence. */
  private scaled(f: number, d: number, which: number, code: number): void {
    const k = (f * 2 + d) * HOT_EP16 + EP_SCALED + which;
    const v = this.h16[k]!;
    if (v === 0xffff) return;
    const n = v + 1;
    this.h16[k] = n;
    if (n === 1 || n === 10 || n === 100 || n === 1000 || n === 10000) this.addHistory(f, letter(code, d));
  }

  /** Zeek's update_history for a segment with SYN, FIN or RST (`update` does D and A). */
  private flagHistory(f: number, d: number, flags: number, seq: number, len: number): void {
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    if ((syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0) > 1) {
      if (fin && rst)
        this.checkHistory(f, d, H_FIN_RST, 0x49); // I
      else this.checkHistory(f, d, H_MULTI, 0x51); // Q
    } else if (syn)
      this.markHistory(f, d, H_SYN, (flags & TCP_ACK) !== 0 ? 0x48 : 0x53, EP_SYN_MARK, seq); // H : S
    else if (fin)
      this.markHistory(f, d, H_FIN, 0x46, EP_FIN_MARK, (seq + len) >>> 0); // F
    else this.markHistory(f, d, H_RST, 0x52, EP_RST_MARK, seq); // R
  }

  private setState(e: number, s: number): void {
    const k = e * HOT_EP8;
    if (this.addr[k + EP_STATE] !== s) {
      this.addr[k + EP_PREV_STATE] = this.addr[k + EP_STATE]!;
      this.addr[k + EP_STATE] = s;
    }
  }

  // ---- per packet: update ------------------------------------------------------------------------

  /**
   * Apply header `i` (already located: flow `f`, direction `this.dir`) to the flow state, the Zeek way.
   * RST packets change endpoint states and history like in Zeek, but never TTL/IP-ID baselines.
   */
  update(f: number, c: HeaderColumns, i: number): void {
    const u8 = this.addr;
    const u32 = this.h32;
    const d = this.dir;
    const e = f * 2 + d;
    const p = e ^ 1;
    const e8 = e * HOT_EP8;
    const p8 = p * HOT_EP8;
    const e32 = e * HOT_EP32;
    const flags = c.flags[i]!;
    const seq = c.seq[i]!;
    const len = c.payloadLen[i]!;
    const ts = c.tsUs[i]!;
    // SYN, FIN and RST take the rare paths (calls); an ACK or data segment runs the lines below.
    const sfr = flags & (TCP_SYN | TCP_FIN | TCP_RST);

    // Packet counters and the claimed sender's observations (never from a RST).
    u32[e32 + EP_PKTS] = (u32[e32 + EP_PKTS]! + 1) >>> 0;
    u32[e32 + EP_IP_BYTES] = (u32[e32 + EP_IP_BYTES]! + c.ipLen[i]!) >>> 0;
    this.ttlChanged = false;
    if ((flags & TCP_RST) === 0) this.observeSender(e, c, i, flags, len);
    this.noteFlowFlags(f, d, flags);

    // Sequence space of this segment; init_endpoint; update_history.
    let segLen = len;
    if ((flags & TCP_SYN) !== 0) segLen++;
    if ((flags & TCP_FIN) !== 0) segLen++;
    if ((flags & TCP_RST) !== 0) segLen -= len;
    const lastSeqSeg = (seq + segLen) >>> 0;
    if ((flags & TCP_SYN) !== 0 || u8[e8 + EP_STATE] === EP_INACTIVE)
      this.initEndpoint(e, flags, seq, lastSeqSeg);
    if (sfr !== 0) this.flagHistory(f, d, flags, seq, len);
    else if (len > 0)
      this.checkHistory(f, d, H_DATA, 0x44); // D
    else if ((flags & TCP_ACK) !== 0) this.checkHistory(f, d, H_ACK, 0x41); // A

    // update_window (zero windows: W), the window, the times, then SYN/FIN/RST counters.
    const w = c.window[i]!;
    const es = u8[e8 + EP_STATE];
    if (w === 0 && (flags & TCP_RST) === 0 && u8[p8 + EP_STATE] !== EP_CLOSED && es !== EP_RESET)
      this.scaled(f, d, SCALED_W, 0x57); // W
    if (sfr === 0 && es !== EP_CLOSED && es !== EP_RESET) this.h16[e * HOT_EP16 + EP_WINDOW] = w;
    // The last time stops when both sides have closed; activity (for expiry) does not.
    if ((u8[f * 2 * HOT_EP8 + EP_FLAGS]! & u8[(f * 2 + 1) * HOT_EP8 + EP_FLAGS]! & DF_DID_CLOSE) === 0)
      this.h64[f * HOT64 + FL_LAST_TS] = ts;
    this.h64[f * HOT64 + FL_ACTIVE_TS] = ts;
    if (sfr !== 0) this.countFlags(f, e, p, flags, c, i);

    // The peer's ack_seq.
    if ((flags & TCP_ACK) !== 0) {
      if (u8[p8 + EP_STATE] === EP_INACTIVE) this.seedFromAck(p, c.ack[i]!);
      else if ((flags & TCP_RST) === 0) this.updateAck(f, p, d, flags, c.ack[i]!);
    }
    // update_last_seq: an ACK or data segment that moves forward, else the full rules.
    if (sfr === 0 && u8[e8 + EP_STATE] !== EP_RESET && seqDelta(lastSeqSeg, u32[e32 + EP_LAST_SEQ]!) > 0)
      this.setLastSeq(e, lastSeqSeg);
    else this.updateLastSeq(f, e, d, flags, seq, len, lastSeqSeg);

    // Without SYN, FIN or RST only an endpoint's first packet (INACTIVE) changes a state.
    if (sfr !== 0 || u8[e8 + EP_STATE] === EP_INACTIVE) this.stateMachine(f, e, p, d, flags, seq, len);
    if (u8[e8 + EP_FINS]! > 0 && u8[p8 + EP_FINS]! > 0) this.checkGraceful(f, e, p);
  }

  /** TTL, IP ID, first-packet codes and DF_* flags of a non-RST packet's sender. */
  private observeSender(e: number, c: HeaderColumns, i: number, flags: number, len: number): void {
    const u8 = this.addr;
    const e8 = e * HOT_EP8;
    const ttl = c.ttl[i]!;
    let df = u8[e8 + EP_FLAGS]!;
    if ((df & DF_TTL_SET) === 0 || u8[e8 + EP_TTL] !== ttl) this.ttlChanged = true;
    u8[e8 + EP_TTL] = ttl;
    this.h16[e * HOT_EP16 + EP_IP_ID] = c.ipId[i]!;
    df |= DF_TTL_SET;
    if (this.h32[e * HOT_EP32 + EP_FIRST]! >>> 20 < FIRST_MAX) this.noteFirstCode(e, flags, len);
    if ((flags & TCP_SYN) !== 0) df |= (flags & TCP_ACK) !== 0 ? DF_SENT_SYNACK : DF_SENT_SYN;
    if (len > 0) df |= DF_SENT_DATA;
    if ((flags & TCP_ACK) !== 0) {
      df |= DF_SENT_ACK;
      this.h32[e * HOT_EP32 + EP_LAST_ACK_SENT] = c.ack[i]!;
    }
    u8[e8 + EP_FLAGS] = df;
  }

  /** The 2-bit code of one of the endpoint's first FIRST_MAX packets. */
  private noteFirstCode(e: number, flags: number, len: number): void {
    const k = e * HOT_EP32 + EP_FIRST;
    const fc = this.h32[k]!;
    const n = fc >>> 20;
    const ackOnly = (flags & (TCP_ACK | TCP_FIN)) === TCP_ACK;
    const code = (flags & TCP_SYN) !== 0 ? PC_SYN : len > 0 ? PC_DATA : ackOnly ? PC_ACK : PC_OTHER;
    this.h32[k] = ((fc & 0xfffff) | (code << (n * 2)) | ((n + 1) << 20)) >>> 0;
  }

  /** FF_* flags that every packet may change: last sender, packets after a graceful close, bad SYNs. */
  private noteFlowFlags(f: number, d: number, flags: number): void {
    const k = f * HOT16 + FL_FLAGS;
    const ff = this.h16[k]!;
    let nff = d === 1 ? ff | FF_LAST_FROM_RESP : ff & ~FF_LAST_FROM_RESP;
    if ((flags & TCP_RST) === 0 && (ff & FF_GRACEFUL) !== 0) {
      nff |= FF_PKT_AFTER_CLOSE;
      this.addr[(f * 2 + d) * HOT_EP8 + EP_FLAGS]! |= DF_AFTER_CLOSE;
    }
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && d === 0 && (flags & (TCP_FIN | TCP_RST | TCP_URG)) !== 0)
      nff |= FF_MALFORMED_SYN;
    this.h16[k] = nff;
  }

  /** Zeek's init_endpoint: seed (or re-seed on a new SYN) the endpoint's sequence numbers. */
  private initEndpoint(e: number, flags: number, seq: number, lastSeqSeg: number): void {
    const u32 = this.h32;
    const e32 = e * HOT_EP32;
    const e8 = e * HOT_EP8;
    const syn = (flags & TCP_SYN) !== 0;
    const state = this.addr[e8 + EP_STATE];
    if (state === EP_INACTIVE) {
      // Without a SYN: a partial connection, numbered as if a SYN was seen (the first packet is not a duplicate).
      const start = syn ? seq : (seq - 1) >>> 0;
      u32[e32 + EP_ACK_SEQ] = start;
      u32[e32 + EP_START_SEQ] = start;
      u32[e32 + EP_LAST_SEQ] = syn ? lastSeqSeg : seq;
      return;
    }
    if (!syn) return;
    // A new ISN in a live state; after a RST that seeded the numbers, any SYN (the RST may have been forged).
    const reseed =
      state === EP_RESET
        ? this.addr[e8 + EP_PREV_STATE] === EP_INACTIVE
        : state !== EP_CLOSED && seq !== u32[e32 + EP_START_SEQ];
    if (!reseed) return;
    u32[e32 + EP_START_SEQ] = seq;
    u32[e32 + EP_ACK_SEQ] = seq;
    u32[e32 + EP_LAST_SEQ] = lastSeqSeg;
    this.addr[e8 + EP_SEQ_WRAPS] = 0;
  }

  /** A SYN's window scale (Zeek's init_window) and the FIN/RST counters. */
  private countFlags(f: number, e: number, p: number, flags: number, c: HeaderColumns, i: number): void {
    const u8 = this.addr;
    const e8 = e * HOT_EP8;
    if ((flags & TCP_SYN) !== 0) {
      if ((c.optFlags[i]! & OPT_WSCALE) === 0) {
        u8[e8 + EP_WSCALE] = 0;
        if ((flags & TCP_ACK) !== 0) u8[p * HOT_EP8 + EP_WSCALE] = 0;
      } else u8[e8 + EP_WSCALE] = Math.min(c.wscale[i]!, 14);
      this.h16[e * HOT_EP16 + EP_WINDOW] = c.window[i]!;
    }
    if ((flags & TCP_FIN) !== 0) u8[e8 + EP_FINS] = Math.min(255, u8[e8 + EP_FINS]! + 1);
    if ((flags & TCP_RST) !== 0) {
      u8[e8 + EP_RSTS] = Math.min(255, u8[e8 + EP_RSTS]! + 1);
      if (u8[f * HOT8 + FL_RSTS]! < 0xff) u8[f * HOT8 + FL_RSTS]!++;
    }
  }

  /** An ACK to an INACTIVE peer seeds its sequence numbers (ack - 1). */
  private seedFromAck(p: number, ack: number): void {
    const p32 = p * HOT_EP32;
    const a1 = (ack - 1) >>> 0;
    this.h32[p32 + EP_START_SEQ] = a1;
    this.h32[p32 + EP_ACK_SEQ] = a1;
    this.h32[p32 + EP_LAST_SEQ] = a1;
  }

  /** A non-RST ACK moves the peer's ack_seq (content gaps: g) and may acknowledge its FIN. */
  private updateAck(f: number, p: number, d: number, flags: number, ack: number): void {
    const u32 = this.h32;
    const u8 = this.addr;
    const p32 = p * HOT_EP32;
    const p8 = p * HOT_EP8;
    const dAck = seqDelta(ack, u32[p32 + EP_ACK_SEQ]!);
    if (
      u8[p8 + EP_FINS] === 0 &&
      u8[(p ^ 1) * HOT_EP8 + EP_FINS]! > 0 &&
      u8[p8 + EP_STATE] !== EP_INACTIVE &&
      ack === (u32[p32 + EP_LAST_SEQ]! + 1) >>> 0
    )
      this.h16[f * HOT16 + FL_FLAGS]! |= FF_FIN_INFERRED;
    if (!(ack === 0 && dAck > TOO_LARGE_SEQ_DELTA) && dAck > 0) {
      u32[p32 + EP_ACK_SEQ] = ack;
      u8[p8 + EP_RX_SAME] = 0;
      if (seqDelta(ack, u32[p32 + EP_LAST_SEQ]!) > 0) this.contentGap(f, p, d, flags, ack);
    }
    if (u8[p8 + EP_FINS]! > 0 && seqDelta(ack, u32[p32 + EP_LAST_SEQ]!) >= 0)
      u8[p8 + EP_FLAGS]! |= DF_FIN_ACKED;
  }

  /** The peer acknowledges data we never saw (not for FIN acks, not for partial endpoints): a gap. */
  private contentGap(f: number, p: number, d: number, flags: number, ack: number): void {
    const p8 = p * HOT_EP8;
    if ((flags & TCP_FIN) !== 0 || (this.addr[p8 + EP_FLAGS]! & DF_SENT_DATA) === 0) return;
    if (this.addr[p8 + EP_STATE] === EP_PARTIAL) return;
    this.scaled(f, 1 - d, SCALED_G, 0x47); // G
    this.h32[p * HOT_EP32 + EP_LAST_SEQ] = ack;
  }

  /** Zeek's update_last_seq, with retransmission counting (t). */
  private updateLastSeq(
    f: number,
    e: number,
    d: number,
    flags: number,
    seq: number,
    len: number,
    lastSeqSeg: number,
  ): void {
    const u32 = this.h32;
    const e32 = e * HOT_EP32;
    const e8 = e * HOT_EP8;
    const deltaLast = seqDelta(lastSeqSeg, u32[e32 + EP_LAST_SEQ]!);
    if (
      (flags & (TCP_SYN | TCP_RST)) !== 0 &&
      (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)
    ) {
      // don't trust
    } else if ((flags & TCP_FIN) !== 0 && u32[e32 + EP_LAST_SEQ] === (u32[e32 + EP_START_SEQ]! + 1) >>> 0) {
      this.setLastSeq(e, lastSeqSeg);
    } else if (this.addr[e8 + EP_STATE] === EP_RESET) {
      // don't trust subsequent sequence numbers
    } else if (deltaLast > 0) {
      this.setLastSeq(e, lastSeqSeg);
    } else if (len > 0) {
      this.scaled(f, d, SCALED_T, 0x54); // T
      if (seq === u32[e32 + EP_RX_SEQ]) {
        if (this.addr[e8 + EP_RX_SAME]! < 255) this.addr[e8 + EP_RX_SAME]!++;
      } else {
        u32[e32 + EP_RX_SEQ] = seq;
        this.addr[e8 + EP_RX_SAME] = 1;
      }
    }
  }

  private setLastSeq(e: number, v: number): void {
    const k = e * HOT_EP32 + EP_LAST_SEQ;
    const w = e * HOT_EP8 + EP_SEQ_WRAPS;
    if (v < this.h32[k]! && seqDelta(v, this.h32[k]!) > 0 && this.addr[w]! < 255) this.addr[w]!++;
    this.h32[k] = v;
  }

  /**
   * Graceful close: both FINs seen and one of them acknowledged. The side that closed first enters
   * TIME_WAIT once its FIN is acknowledged (the second FIN carries that ACK) and the peer's FIN arrives;
   * the last ACK only closes the other side, and two taps can stamp it after a SYN that reuses the tuple.
   */
  private checkGraceful(f: number, e: number, p: number): void {
    const u8 = this.addr;
    const fb16 = f * HOT16 + FL_FLAGS;
    if (
      (this.h16[fb16]! & FF_GRACEFUL) === 0 &&
      u8[e * HOT_EP8 + EP_FINS]! > 0 &&
      u8[p * HOT_EP8 + EP_FINS]! > 0 &&
      ((u8[e * HOT_EP8 + EP_FLAGS]! | u8[p * HOT_EP8 + EP_FLAGS]!) & DF_FIN_ACKED) !== 0
    )
      this.h16[fb16]! |= FF_GRACEFUL;
  }

  // ---- per packet: the endpoint state machine (Zeek's TCPSessionAdapter, one function per state) ----

  private stateMachine(
    f: number,
    e: number,
    p: number,
    d: number,
    flags: number,
    seq: number,
    len: number,
  ): void {
    let doClose: boolean;
    switch (this.addr[e * HOT_EP8 + EP_STATE]) {
      case EP_INACTIVE:
        doClose = this.inactiveState(f, e, p, d, flags, seq, len);
        break;
      case EP_SYN_SENT:
      case EP_SYN_ACK_SENT:
        doClose = this.synSentState(e, flags);
        break;
      case EP_ESTABLISHED:
      case EP_PARTIAL:
        doClose = this.establishedState(e, p, flags);
        break;
      case EP_CLOSED:
        doClose = this.closedState(f, e, p, flags);
        break;
      default: // EP_RESET: final
        doClose = false;
    }
    if (doClose) this.connectionClosed(f, e, p);
  }

  /** INACTIVE: the endpoint's first packet. Returns whether the endpoint closed. */
  private inactiveState(
    f: number,
    e: number,
    p: number,
    d: number,
    flags: number,
    seq: number,
    len: number,
  ): boolean {
    const ackf = (flags & TCP_ACK) !== 0;
    const peer = this.addr[p * HOT_EP8 + EP_STATE];
    let doClose = false;
    if ((flags & TCP_SYN) !== 0) {
      if (d === 0) this.setState(e, ackf ? EP_SYN_ACK_SENT : EP_SYN_SENT);
      else if (!ackf && peer === EP_SYN_ACK_SENT && seq === this.h32[e * HOT_EP32 + EP_START_SEQ]) {
        // SYN/SYN-ACK reversal: flip the roles (this endpoint becomes the originator) and establish.
        this.flip(f);
        this.setState(f * 2 + 1, EP_ESTABLISHED);
        this.setState(f * 2, EP_ESTABLISHED);
        return false;
      } else {
        if (peer === EP_SYN_SENT) this.setState(p, EP_ESTABLISHED);
        this.setState(e, EP_ESTABLISHED);
      }
    }
    if ((flags & TCP_FIN) !== 0) {
      this.setState(e, EP_CLOSED);
      doClose = true;
    }
    if ((flags & TCP_RST) !== 0) {
      this.setState(e, EP_RESET);
      doClose = true;
    }
    if (this.addr[e * HOT_EP8 + EP_STATE] === EP_INACTIVE) {
      const peerNow = this.addr[p * HOT_EP8 + EP_STATE];
      if (d === 1 && len === 0 && peerNow === EP_SYN_SENT) {
        // an eccentric ACK of the SYN before the SYN-ACK: not partial
      } else if (ackf && peerNow === EP_ESTABLISHED) this.setState(e, EP_ESTABLISHED);
      else this.setState(e, EP_PARTIAL);
    }
    return doClose;
  }

  /** SYN_SENT / SYN_ACK_SENT: a FIN closes, a RST resets. */
  private synSentState(e: number, flags: number): boolean {
    let doClose = false;
    if ((flags & TCP_FIN) !== 0) {
      this.setState(e, EP_CLOSED);
      doClose = true;
    }
    if ((flags & TCP_RST) !== 0) {
      this.setState(e, EP_RESET);
      doClose = true;
    }
    return doClose;
  }

  /** ESTABLISHED / PARTIAL: a SYN from a partial endpoint restarts, FIN closes, RST resets. */
  private establishedState(e: number, p: number, flags: number): boolean {
    const u8 = this.addr;
    const p8 = p * HOT_EP8;
    let doClose = false;
    if (
      (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN &&
      u8[e * HOT_EP8 + EP_STATE] === EP_PARTIAL &&
      u8[p8 + EP_STATE] === EP_INACTIVE
    )
      this.setState(e, EP_SYN_SENT);
    const rst = (flags & TCP_RST) !== 0;
    if ((flags & TCP_FIN) !== 0 && !rst) {
      this.setState(e, EP_CLOSED);
      if (u8[p8 + EP_STATE] === EP_RESET && u8[p8 + EP_PREV_STATE] === EP_CLOSED) this.setState(p, EP_CLOSED);
      doClose = true;
    }
    if (rst) {
      this.setState(e, EP_RESET);
      doClose = true;
    }
    return doClose;
  }

  /** CLOSED: only a RST (while the peer is still open) moves it, to RESET. */
  private closedState(f: number, e: number, p: number, flags: number): boolean {
    if ((flags & TCP_RST) === 0 || this.addr[p * HOT_EP8 + EP_STATE] === EP_CLOSED) return false;
    this.setState(e, EP_RESET);
    this.h16[f * HOT16 + FL_FLAGS]! |= FF_DONE;
    return (this.addr[e * HOT_EP8 + EP_FLAGS]! & DF_DID_CLOSE) === 0;
  }

  private connectionClosed(f: number, e: number, p: number): void {
    const u8 = this.addr;
    if ((u8[e * HOT_EP8 + EP_FLAGS]! & DF_DID_CLOSE) !== 0) return;
    u8[e * HOT_EP8 + EP_FLAGS]! |= DF_DID_CLOSE;
    if (
      u8[e * HOT_EP8 + EP_STATE] === EP_RESET ||
      (u8[p * HOT_EP8 + EP_FLAGS]! & DF_DID_CLOSE) !== 0 ||
      u8[p * HOT_EP8 + EP_STATE] === EP_INACTIVE
    )
      this.h16[f * HOT16 + FL_FLAGS]! |= FF_DONE;
  }

  /** Swap originator and responder of flow f (Zeek's FlipRoles), adding '^' to the history. */
  private flip(f: number): void {
    swapRange(this.addr, this.origAddrAt(f), this.respAddrAt(f), ADDR_BYTES);
    const tp = this.origPort(f);
    this.h16[f * HOT16 + FL_ORIG_PORT] = this.respPort(f);
    this.h16[f * HOT16 + FL_RESP_PORT] = tp;
    // Every endpoint field, whatever its block (a rare path: walk the layout table).
    for (const [at, n] of EP_HOT_SPANS) swapRange(this.addr, f * HOT8 + at, f * HOT8 + HOT_EP8 + at, n);
    for (const [at, n] of EP_COLD_SPANS) swapRange(this.c8, f * COLD8 + at, f * COLD8 + at + n, n);
    const hk = f * HOT32 + FL_HIST_SEEN;
    const hs = this.h32[hk]!;
    this.h32[hk] = ((hs >>> 16) | ((hs & 0xffff) << 16)) >>> 0;
    this.h16[f * HOT16 + FL_FLAGS]! ^= FF_FLIPPED;
    this.addHistory(f, 0x5e);
    this.dir = 1 - this.dir;
  }

  /** Learn the sender's TTL/IP-ID baseline from a non-RST packet; returns its host entry (-1 for a RST). */
  learnHost(c: HeaderColumns, i: number, sensor: number): number {
    if ((c.flags[i]! & TCP_RST) !== 0) return -1;
    return this.hosts.observe(c.srcAddr32, i * 4, sensor, c.ttl[i]!, c.ipId[i]!, c.tsUs[i]!);
  }
}

/** Whether a new flow's first packet comes from the responder: a SYN-ACK, or a likely server port. */
function startsFlipped(flags: number, sp: number, dp: number): boolean {
  // A SYN-ACK first: its sender is the responder (Zeek 9 flips these too, history starts with ^h).
  if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) return true;
  if ((flags & TCP_SYN) !== 0 || LIKELY_SERVER_PORTS[sp] !== 1) return false;
  return LIKELY_SERVER_PORTS[dp] === 1 ? sp < dp : true;
}

/** TCP flags that make a header impossible (SYN+RST, SYN+FIN, none). */
export function impossibleFlags(flags: number): number {
  if ((flags & (TCP_SYN | TCP_RST)) === (TCP_SYN | TCP_RST)) return 1;
  if ((flags & (TCP_SYN | TCP_FIN)) === (TCP_SYN | TCP_FIN)) return 2;
  if ((flags & 0x1ff) === 0) return 3;
  return 0;
}
