/**
 * The Engine: flow tracker + RST classifier over shared memory. `processBatch` walks a HeaderColumns
 * batch once: locate/create the flow, snapshot the facts a RST needs (before the RST may touch the
 * state), apply the packet to the Zeek-style state machine, update held RSTs of that flow with what
 * follows, and release held RSTs by time/packet count in capture order. Flow records come out when
 * flows end (idle, closed, evicted, reused, finish).
 *
 * All state (flow table, hosts, TIME_WAIT memory, held RSTs, counters) lives in SharedArrayBuffers; the
 * `shared` handle can be posted to a worker thread and `Engine.attach`ed there. At most one thread may
 * use one engine's memory at a time (the processor keeps one batch per partition in flight).
 */
import {
  ADDR_BYTES,
  CAUSES,
  CK_OFFLOAD,
  CK_VERIFIED,
  CONN_STATES,
  compareEndpoints,
  DIRECTIONS,
  type FlowRecord,
  formatAddr,
  formatFlags,
  HeaderColumns,
  ORIGINS,
  PHASES,
  RST_PAYLOAD_MAX,
  type RstEvent,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from '@rstwatch/core';
import {
  buildFlowRecord,
  communityId,
  DF_AFTER_CLOSE,
  DF_SENT_ACK,
  DF_SENT_DATA,
  DF_SENT_SYN,
  DF_SENT_SYNACK,
  DF_TTL_SET,
  END_EVICTED,
  EP_ESTABLISHED,
  EP_INACTIVE,
  EP_PARTIAL,
  endpointOf,
  FF_FIN_INFERRED,
  FF_FIRST_RST,
  FF_GRACEFUL,
  FF_LAST_FROM_RESP,
  FF_MALFORMED_SYN,
  FF_PKT_AFTER_CLOSE,
  FF_TW_HIT,
  FF_TW_REUSE,
  FIRST_MAX,
  type FlowRows,
  FlowRowWriter,
  FlowTracker,
  flowConnStateCode,
  formatTs,
  HISTORY_MAX,
  impossibleFlags,
  MAX_SENSORS,
  PC_ACK,
  PC_DATA,
  PC_SYN,
  peerOf,
  seqDelta,
  type TrackerListener,
  type TrackerShared,
} from '@rstwatch/flow';
import { classifyFacts, PH_CLOSED, PH_CLOSING, PH_ESTABLISHED, PH_HANDSHAKE, PH_NONE } from './classifier.js';
import { type EngineConfig, resolveEngineConfig } from './config.js';
import * as F from './internal/facts.js';

/** Output of one call: RST events and flow records, each in the order they were produced. */
export interface EngineOutput {
  events: RstEvent[];
  /** The flow records (empty when they were asked for as `rows`). */
  flows: FlowRecord[];
  /** With `flows: 'rows'`: the same records as binary rows (`FlowRowReader` reads them), absent when none. */
  rows?: FlowRows;
}

export interface ProcessOptions {
  /** false: rebuild state only and suppress all output (warm-up replay). Default true. */
  emit?: boolean;
  /**
   * false: flows still end (and are counted in `flowsEnded`) but no flow records are built, for callers
   * that only need RST events. `rows`: records as binary rows (`EngineOutput.rows`), for a caller that
   * sends them to another thread, which makes their text. Default true (record objects).
   */
  flows?: boolean | 'rows';
}

/** Structured-clonable handle to an engine's memory. */
export interface EngineShared {
  readonly config: EngineConfig;
  readonly tracker: TrackerShared;
  readonly pending: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  /** Recent packet signatures (duplicate suppression) and the reordered mark of each held RST. */
  readonly recent: SharedArrayBuffer;
  /**
   * Headers of the last batch carried into the next (a `HeaderColumns` of CARRY_MAX rows): they wait for a
   * cause the reorder window says may come in the next batch. Their count and sensor: `carryMeta`.
   */
  readonly carry: SharedArrayBuffer;
  readonly carryMeta: SharedArrayBuffer;
}

/** Anomaly names (counted, never thrown). */
export const ANOMALIES = [
  'syn_rst',
  'syn_fin',
  'no_flags',
  'self_flow',
  'ts_backwards',
  'history_overflow',
  'held_forced',
] as const;
/** Drop reasons (headers not processed). */
export const DROPS = ['bad_ip_version', 'bad_timestamp'] as const;

export interface EngineStats {
  headers: number;
  /**
   * Checksums: `bad` packets failed and were evidence (no state change); `offloaded` failed from a host
   * whose checksums look offloaded (`auto`), so were processed; `offload_hosts` such hosts.
   */
  checksums: { bad: number; offloaded: number; offload_hosts: number };
  flows_active: number;
  flows_created: number;
  flows_ended: number;
  evictions: number;
  rst_events: number;
  held: number;
  anomalies: Record<(typeof ANOMALIES)[number], number>;
  drops: Record<(typeof DROPS)[number], number>;
  /**
   * Sensor realities per sensor (only sensors with a non-zero count): `duplicates` suppressed (SPAN copies),
   * `reordered` processed in causal rather than capture order (two taps), `late` stamped earlier than the
   * reorder window allows (processed as they came).
   */
  sensors: Record<string, SensorRealities>;
}

/** Per-sensor counts of duplicate, reordered and late packets. */
export interface SensorRealities {
  duplicates: number;
  reordered: number;
  late: number;
}

const K_HEADERS = 0;
const K_EVICTIONS = 1;
const K_RST = 2;
const K_ENDED = 3;
/** Capture time of the last full sweep; shared, so every worker attached to the engine agrees on it. */
const K_SWEPT_US = 4;
const K_CK_BAD = 5;
const K_CK_OFFLOADED = 6;
const K_CK_HOSTS = 7;
const K_ANOM = 8;
const K_DROP = K_ANOM + ANOMALIES.length;
/** Per sensor ordinal: duplicates, reordered, late (S_* offsets). */
const K_SENSOR = K_DROP + DROPS.length;
const S_DUP = 0;
const S_REORDERED = 1;
const S_LATE = 2;
const K_COUNT = K_SENSOR + MAX_SENSORS * 3;

/**
 * Duplicate suppression: the signatures of recent packets in a small table that stays in cache, 4-way
 * set-associative, first in first out within a set. Copies arrive within `duplicateWindowMs` (0.1 ms: a
 * few hundred packets at line rate), so 2048 entries keep a signature until its copy comes unless four
 * packets of the window land in its set. An entry is 16 bytes (a set is 64, one cache line): a fingerprint
 * of the flow key hash, source port, IP ID, flags and payload length (never 0, so an empty entry matches
 * nothing), seq, ack, and the capture time in microseconds modulo 2^32. Losing an entry only lets its copy
 * through, as without suppression.
 */
const R_SETS = 512;
const R_WAYS = 4;
const R_U32 = 4;
const R_SET_U32 = R_WAYS * R_U32;
const RECENT_BYTES = R_SETS * R_SET_U32 * 4 + R_SETS;
/** How `packet` came to process a header. */
const PK_NEW = 0;
const PK_LATE = 1;
const PK_DEFERRED = 2;
/** Headers waiting for a causally earlier one of the same batch (more are processed in capture order). */
const DEFER_MAX = 64;
/** Headers looked at after a candidate for its causal predecessor (bounds the cost of a busy window). */
const LOOKAHEAD_MAX = 512;
/**
 * Headers carried into the next batch at most: a header whose reorder window reaches past the end of its
 * batch waits there for its cause (beyond this many, headers are processed at the end of their batch).
 */
const CARRY_MAX = 256;
/** carryMeta (Int32): headers carried, their sensor, how many of them have their SPAN-copy mark. */
const CM_LEN = 0;
const CM_SENSOR = 1;
const CM_MARKED = 2;
/** Bytes of carryMeta: the three counts, then one SPAN-copy mark per carried header. */
const CM_BYTES = 16 + CARRY_MAX;
const A_SYN_RST = K_ANOM;
const A_SELF = K_ANOM + 3;
const A_TS_BACK = K_ANOM + 4;
const A_HIST = K_ANOM + 5;
const A_FORCED = K_ANOM + 6;

/** Headers hashed and prefetched ahead of the in-order pass (a power of two). */
const PREPARE_CHUNK = 128;
/** The reorder lookahead's port-pair buckets (a power of two) and timestamp blocks (headers each, a power of two). */
const LA_BITS = 13;
const LA_BUCKETS = 1 << LA_BITS;
const LA_BLOCK = 32;

/** Checksum modes as numbers; `auto`: failures with nothing accepted that make a host offload-like. */
const CKM_VERIFY = 1;
const CKM_IGNORE = 2;
const OFFLOAD_BAD_MIN = 4;
const CK_HOST_OFFLOAD = 0x80;

const P_HEAD = 0;
const P_TAIL = 1;

const NO_OUTPUT: EngineOutput = Object.freeze({ events: [], flows: [] }) as unknown as EngineOutput;

function payloadPreview(b: Uint8Array, off: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) {
    const ch = b[off + k]!;
    if (ch >= 0x20 && ch < 0x7f && ch !== 0x5c) s += String.fromCharCode(ch);
    else s += `\\x${ch.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** True when the endpoint's first-packet codes include an ACK or data packet after its SYN. */
function ackedAfterSyn(first: number): boolean {
  const n = first >>> 20;
  if (n >= FIRST_MAX) return true;
  for (let k = 0; k < n; k++) {
    const c = (first >>> (k * 2)) & 3;
    if (c === PC_ACK || c === PC_DATA) return true;
  }
  return false;
}

/** Tampering stage of the claimed sender's first packets (see facts F_STAGE). */
function stageOf(first: number): number {
  const n = first >>> 20;
  if (n === 0 || n >= FIRST_MAX) return 0;
  const code = (k: number) => (first >>> (k * 2)) & 3;
  if (code(0) !== PC_SYN) return 0;
  if (n === 1) return 1;
  let k = 1;
  while (k < n && code(k) === PC_ACK) k++;
  if (k === n) return k === 2 ? 2 : 0;
  if (k > 2 || code(k) !== PC_DATA) return 0;
  return k === n - 1 ? 3 : 4;
}

export class Engine implements TrackerListener {
  readonly config: EngineConfig;
  readonly shared: EngineShared;
  readonly tracker: FlowTracker;
  private readonly p: F.PendingViews;
  private readonly counters: Float64Array;
  private out: EngineOutput = NO_OUTPUT;
  private emitting = true;
  private records = true;
  /** Records as rows (`flows: 'rows'`), written here. */
  private rowMode = false;
  private readonly rowWriter = new FlowRowWriter();
  private lastSensor = '';
  private lastSensorOrd = -1;
  /**
   * Capture time from which the oldest held RST may be due (+Infinity when none is held, -Infinity when
   * its packet budget is used up): the per-packet test is one comparison, and `releaseDue` makes the
   * exact decision. Derived from shared state, so it is recomputed when a call begins (another thread
   * may have used the engine since).
   */
  private dueUs = Number.POSITIVE_INFINITY;
  /** Checksum mode (0 auto, CKM_VERIFY, CKM_IGNORE). */
  private readonly ckMode: number;
  /** The first host found offloading checksums (`auto`), for the one message saying so. */
  offloadHost = '';

  private readonly recent: Uint32Array;
  /** Per set of `recent`, the way its next signature replaces. */
  private readonly recentNext: Uint8Array;
  /** 1 for the SPAN copies among the headers of the current prepare chunk (index mod PREPARE_CHUNK). */
  private readonly dupMark = new Uint8Array(PREPARE_CHUNK);
  /** 1 when the held RST in that ring slot was processed in causal rather than capture order. */
  private readonly heldReordered: Uint8Array;
  private readonly dupUs: number;
  private readonly reorderUs: number;
  /** Headers of the current batch deferred to after a causally earlier one: index, and the index awaited. */
  private readonly deferIdx = new Int32Array(DEFER_MAX);
  /** The carried headers (shared), their count and sensor, and their SPAN-copy marks. */
  private readonly carried: HeaderColumns;
  private readonly carryMeta: Int32Array;
  private readonly carryMarks: Uint8Array;
  /** Indices (in the batch being run) of the headers to carry, in the order they go. */
  private readonly carryIdx = new Int32Array(CARRY_MAX);
  /** The batch being run stops here: this header and all after it go to the next batch (-1: none). */
  private tailFrom = -1;
  /** Whether the batch being run may carry headers into the next (not at the end of the input). */
  private carryOk = false;
  /** Whether the batch being run's lookahead index (see `buildLookahead`) is built (on first need). */
  private laBuilt = false;
  /** Per header, the next header of the batch with the same port-pair bucket (-1: none). */
  private laNext = new Int32Array(0);
  /** Latest header seen per port-pair bucket while building (LA_BUCKETS). */
  private readonly laHead = new Int32Array(LA_BUCKETS);
  /** Per block of LA_BLOCK headers, its largest timestamp (NaN ignored). */
  private laMax = new Float64Array(0);
  /** This thread's scratch batch: the carried headers, then the next batch. */
  private joined: HeaderColumns | null = null;
  /** An empty batch (what follows the carried headers when they run alone). */
  private none: HeaderColumns | null = null;
  private readonly deferWait = new Int32Array(DEFER_MAX);
  private nDeferred = 0;
  /** How the header being processed came (PK_*). */
  private mode = PK_NEW;

  /** A new engine; all state is allocated in SharedArrayBuffers. Throws on invalid configuration. */
  static create(config: Partial<EngineConfig> = {}): Engine {
    const cfg = resolveEngineConfig(config);
    const tracker = FlowTracker.create({
      maxFlows: cfg.maxFlows,
      flowIdleExpiryS: cfg.flowIdleExpiryS,
      timeWaitS: cfg.timeWaitS,
      maxHosts: cfg.maxHosts,
    });
    const engine = new Engine(
      {
        config: cfg,
        tracker: tracker.shared,
        pending: new SharedArrayBuffer(F.pendingBytes()),
        counters: new SharedArrayBuffer(K_COUNT * 8),
        recent: new SharedArrayBuffer(RECENT_BYTES + F.HELD_MAX),
        carry: HeaderColumns.allocate(CARRY_MAX, true).buffer as SharedArrayBuffer,
        carryMeta: new SharedArrayBuffer(CM_BYTES),
      },
      tracker,
    );
    engine.counters[K_SWEPT_US] = Number.NEGATIVE_INFINITY;
    return engine;
  }

  /** An engine over memory created elsewhere (e.g. in another worker thread): same state, no copy. */
  static attach(shared: EngineShared): Engine {
    return new Engine(shared, FlowTracker.attach(shared.tracker));
  }

  /** Shared-memory bytes per tracked flow for a configuration (flow table, hosts, TIME_WAIT, held RSTs). */
  static bytesPerFlow(config: Partial<EngineConfig> = {}): number {
    const cfg = resolveEngineConfig(config);
    return (
      FlowTracker.bytesPerFlow({
        maxFlows: cfg.maxFlows,
        flowIdleExpiryS: cfg.flowIdleExpiryS,
        timeWaitS: cfg.timeWaitS,
        maxHosts: cfg.maxHosts,
      }) +
      (F.pendingBytes() + K_COUNT * 8 + RECENT_BYTES + F.HELD_MAX) / cfg.maxFlows
    );
  }

  private constructor(shared: EngineShared, tracker: FlowTracker) {
    this.shared = shared;
    this.config = shared.config;
    this.tracker = tracker;
    this.p = F.mapPending(shared.pending);
    this.counters = new Float64Array(shared.counters);
    this.recent = new Uint32Array(shared.recent, 0, R_SETS * R_SET_U32);
    this.recentNext = new Uint8Array(shared.recent, R_SETS * R_SET_U32 * 4, R_SETS);
    this.heldReordered = new Uint8Array(shared.recent, RECENT_BYTES, F.HELD_MAX);
    this.carried = HeaderColumns.fromBuffer(shared.carry, CARRY_MAX, 0);
    this.carryMeta = new Int32Array(shared.carryMeta, 0, 4);
    this.carryMarks = new Uint8Array(shared.carryMeta, 16, CARRY_MAX);
    this.dupUs = this.config.duplicateWindowMs * 1000;
    this.reorderUs = this.config.reorderWindowMs * 1000;
    this.ckMode =
      this.config.checksums === 'ignore' ? CKM_IGNORE : this.config.checksums === 'verify' ? CKM_VERIFY : 0;
    tracker.listener = this;
  }

  /** @internal The tracker's listener: flow f is ending. */
  flowEnded(f: number, reason: number): void {
    if (reason === END_EVICTED) this.counters[K_EVICTIONS]!++;
    this.onFlowEnd(f);
  }

  /** @internal The tracker's listener: a history letter did not fit. */
  historyOverflow(): void {
    this.counters[A_HIST]!++;
  }

  // ---- public API ------------------------------------------------------------------------------

  /** Process one batch in capture order. */
  processBatch(cols: HeaderColumns, sensor: string, opts?: ProcessOptions): EngineOutput {
    this.begin(opts);
    const s = this.sensorOrd(sensor);
    this.counters[K_HEADERS] = this.counters[K_HEADERS]! + cols.length;
    const pre = this.carryMeta[CM_LEN]!;
    if (pre > 0 && this.carryMeta[CM_SENSOR] === s) this.runBatch(this.joinCarry(cols, pre), s, pre, true);
    else {
      if (pre > 0) this.flushCarry();
      this.runBatch(cols, s, 0, true);
    }
    return this.end();
  }

  /** The carried headers, then `cols`, in this thread's scratch batch (the carry is emptied). */
  private joinCarry(cols: HeaderColumns, pre: number): HeaderColumns {
    const n = pre + cols.length;
    if (this.joined === null || this.joined.capacity < n)
      this.joined = HeaderColumns.allocate(Math.max(n, (this.joined?.capacity ?? 0) * 2, 1024));
    const j = this.joined;
    j.reset();
    this.carried.length = pre;
    j.appendRange(this.carried, 0, pre);
    j.appendRange(cols, 0, cols.length);
    this.carryMeta[CM_LEN] = 0;
    return j;
  }

  /** Run the carried headers alone (their cause did not come: another sensor's batch, time, the end). */
  private flushCarry(): void {
    const pre = this.carryMeta[CM_LEN]!;
    if (pre === 0) return;
    this.carried.length = pre;
    this.none ??= HeaderColumns.allocate(1);
    const j = this.joinCarry(this.none, pre);
    this.runBatch(j, this.carryMeta[CM_SENSOR]!, pre, false);
  }

  /**
   * Run batch `cols` of sensor `s`: its first `pre` headers were carried from the previous batch (already
   * counted, and remembered by duplicate suppression). `carryOk`: headers whose reorder window reaches past
   * the end of the batch may be carried into the next one.
   */
  private runBatch(cols: HeaderColumns, s: number, pre: number, carryOk: boolean): void {
    const t = this.tracker;
    const n = cols.length;
    const c = this.counters;
    const before = t.nowUs;
    let lastTs = pre > 0 ? Math.min(before, cols.tsUs[0]!) : before;
    this.nDeferred = 0;
    this.tailFrom = -1;
    this.carryOk = carryOk && this.reorderUs > 0;
    this.laBuilt = false;
    const marked = pre > 0 ? this.carryMeta[CM_MARKED]! : 0;
    for (let i = 0; i < n; i++) {
      if ((i & (PREPARE_CHUNK - 1)) === 0) this.prepareChunk(cols, s, i, marked);
      const ts = cols.tsUs[i]!;
      const v = cols.ipVersion[i]!;
      if (v !== 4 && v !== 6) {
        c[K_DROP]!++;
        // Headers deferred behind this one must not wait for a header that is never processed.
        if (this.nDeferred !== 0) this.runDeferred(cols, i, s, n);
        continue;
      }
      if (!(ts >= 0) || !Number.isFinite(ts)) {
        c[K_DROP + 1]!++;
        if (this.nDeferred !== 0) this.runDeferred(cols, i, s, n);
        continue;
      }
      let mode = PK_NEW;
      if (ts < lastTs) {
        c[A_TS_BACK]!++;
        if (lastTs - ts > this.reorderUs) mode = PK_LATE;
      } else lastTs = ts;
      if (lastTs >= this.dueUs) this.releaseDue(lastTs);
      this.mode = mode;
      this.packet(cols, i, s, n);
      if (this.tailFrom >= 0) break;
      if (this.nDeferred !== 0) this.runDeferred(cols, i, s, n);
    }
    if (this.tailFrom >= 0) this.keepTail(cols, s);
    // Whatever still waits (its awaited header was dropped as a duplicate or by a rule) goes now, in order.
    while (this.nDeferred !== 0) this.runDeferred(cols, this.deferWait[0]!, s, n);
    t.nowUs = Math.max(before, lastTs);
    this.sweep(t.nowUs, n >>> 2);
    this.releaseDue(t.nowUs);
  }

  /**
   * Hash and prefetch headers [i, i + PREPARE_CHUNK) and mark SPAN copies; the first `marked` headers were
   * carried with their marks (their signatures are remembered already: they must not match themselves).
   */
  private prepareChunk(cols: HeaderColumns, s: number, i: number, marked: number): void {
    const to = Math.min(cols.length, i + PREPARE_CHUNK);
    this.tracker.prepare(cols, s, i, to);
    if (this.dupUs <= 0) return;
    this.markDuplicates(cols, Math.max(i, marked), to);
    for (let k = i; k < marked && k < to; k++) this.dupMark[k & (PREPARE_CHUNK - 1)] = this.carryMarks[k]!;
  }

  /**
   * The batch stopped at `tailFrom`: the headers still deferred (their cause is in the tail), then the tail
   * itself, in order, go to the shared carry for the next batch, with the SPAN-copy marks already known.
   */
  private keepTail(cols: HeaderColumns, s: number): void {
    const from = this.tailFrom;
    const n = cols.length;
    const d = this.nDeferred;
    const idx = this.carryIdx;
    let m = 0;
    for (let k = 0; k < d; k++) {
      this.carryMarks[m] = 0;
      idx[m++] = this.deferIdx[k]!;
    }
    // Marks exist up to the end of the tail's first chunk (prepared); later chunks were not looked at.
    const chunkEnd = Math.min(n, (from & ~(PREPARE_CHUNK - 1)) + PREPARE_CHUNK);
    let marked = d;
    for (let i = from; i < n; i++) {
      if (i < chunkEnd) {
        this.carryMarks[m] = this.dupUs > 0 ? this.dupMark[i & (PREPARE_CHUNK - 1)]! : 0;
        marked++;
      }
      idx[m++] = i;
    }
    this.nDeferred = 0;
    this.tailFrom = -1;
    const out = this.carried;
    out.reset();
    out.gatherFrom(cols, idx, 0, m);
    this.carryMeta[CM_LEN] = m;
    this.carryMeta[CM_SENSOR] = s;
    this.carryMeta[CM_MARKED] = marked;
  }

  /**
   * One header in causal order: suppress a duplicate, locate its flow, defer it behind a causally earlier
   * header of the same batch, then snapshot (RST), update the state machine and feed held RSTs.
   */
  private packet(cols: HeaderColumns, i: number, s: number, n: number): void {
    const t = this.tracker;
    const c = this.counters;
    const ts = cols.tsUs[i]!;
    const flags = cols.flags[i]!;
    if (this.mode !== PK_DEFERRED) {
      const imp = impossibleFlags(flags);
      if (imp !== 0) c[A_SYN_RST + imp - 1]!++;
    }
    const mode = this.mode;
    // Before `locate`: the copy of a SYN that follows the RST answering it must not start a new flow.
    // (A deferred header was no copy; its mark may belong to a later chunk by now.)
    if (mode !== PK_DEFERRED && this.dupMark[i & (PREPARE_CHUNK - 1)] === 1) {
      this.duplicate(cols, i, s);
      return;
    }
    const f = t.locate(cols, i, s, t.batchHashes[i]!);
    if (mode !== PK_DEFERRED && this.reorderUs > 0 && this.deferred(f, cols, i, n)) return;
    if (mode !== PK_NEW) {
      if (mode === PK_DEFERRED) {
        t.noteReordered(f);
        c[K_SENSOR + s * 3 + S_REORDERED]!++;
      } else {
        t.noteLate(f);
        c[K_SENSOR + s * 3 + S_LATE]!++;
      }
    }
    if (t.created && compareEndpoints(cols, i) === 0) c[A_SELF]!++;
    const rst = (flags & TCP_RST) !== 0;
    let slot = -1;
    if (cols.cksum[i]! > CK_VERIFIED && this.ckMode !== CKM_IGNORE && this.checksumFailed(f, cols, i, s)) {
      // Evidence, not state: a RST with a bad checksum still becomes an event (it reset nothing).
      if (rst) this.commit(this.capture(f, cols, i, s, 1), f, cols, i, s);
      return;
    }
    if (rst) slot = this.capture(f, cols, i, s);
    t.update(f, cols, i);
    if (!rst) {
      const learned = t.ttlChanged ? t.learnHost(cols, i, s) : -1;
      if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && t.dir === 0) {
        // The entry learnHost just found or added is the one findOrAdd would return.
        const h = learned >= 0 ? learned : t.hosts.findOrAdd(cols.srcAddr32, i * 4, s, ts);
        t.hosts.notePort(h, cols.dstPort[i]!, ts, this.config.scanWindowS * 1e6);
        t.hosts.notePeer(h, cols.dstAddr32, i * 4);
      }
    }
    if (t.heldRst(f) !== 0) this.observe(f, cols, i);
    if (rst) this.commit(slot, f, cols, i, s);
  }

  // ---- sensor realities: duplicates, causal order -----------------------------------------------

  /**
   * Mark the SPAN copies among headers [from, to) of a batch (hashed by `prepare`): the same packet seen
   * at most `duplicateWindowMs` earlier (same flow key and source port, IP ID, flags, seq, ack and payload
   * length; IPv6 has no IP ID and is matched by the rest), and remember the signatures of the others. In
   * capture order, ahead of the per-header pass, so deferring a header does not change what is a copy; a
   * tight loop of its own, so the per-header pass only reads a mark.
   */
  private markDuplicates(cols: HeaderColumns, from: number, to: number): void {
    const hashes = this.tracker.batchHashes;
    const { flags, ipVersion, tsUs, payloadLen, seq, ack, ipId, srcPort } = cols;
    const u = this.recent;
    const next = this.recentNext;
    const win = this.dupUs;
    const mark = this.dupMark;
    for (let i = from; i < to; i++) {
      const fl = flags[i]!;
      const len = payloadLen[i]!;
      const sq = seq[i]!;
      const ak = ack[i]!;
      const ts = tsUs[i]!;
      const misc = ipId[i]! | (fl << 16);
      const ports = len | (srcPort[i]! << 16);
      const fp = (Math.imul(Math.imul(hashes[i]! ^ misc, 0x9e3779b1) ^ ports, 0x85ebca6b) | 1) >>> 0;
      let x = Math.imul(fp ^ sq, 0xc2b2ae35) ^ ak;
      x ^= x >>> 15;
      const set = x & (R_SETS - 1);
      const b = set * R_SET_U32;
      const us = ts >>> 0;
      let e = -1;
      if (u[b] === fp) e = b;
      else if (u[b + 4] === fp) e = b + 4;
      else if (u[b + 8] === fp) e = b + 8;
      else if (u[b + 12] === fp) e = b + 12;
      let dup = 0;
      // The rare matching fingerprint: the rest of the signature, the window, and what may be a copy. IPv6
      // pure ACKs never are (without an IP ID, a host's duplicate ACKs are identical packets); headers the
      // batch drops (version, time) do not matter.
      if (
        e >= 0 &&
        u[e + 1] === sq &&
        u[e + 2] === ak &&
        (us - u[e + 3]!) >>> 0 <= win &&
        (ipVersion[i] === 4 || len > 0 || (fl & 0x07) !== 0) &&
        ts >= 0 &&
        Number.isFinite(ts)
      )
        dup = 1;
      else {
        if (e < 0) {
          const w = next[set]!;
          next[set] = (w + 1) & (R_WAYS - 1);
          e = b + w * R_U32;
        }
        u[e] = fp;
        u[e + 1] = sq;
        u[e + 2] = ak;
        u[e + 3] = us;
      }
      mark[i & (PREPARE_CHUNK - 1)] = dup;
    }
  }

  /** Header `i` is a SPAN copy: counted against its flow (if any) and its sensor, not processed again. */
  private duplicate(cols: HeaderColumns, i: number, s: number): void {
    const t = this.tracker;
    const d = t.lookup(cols, i, s, t.batchHashes[i]!);
    if (d >= 0) t.noteDuplicate(d);
    this.counters[K_SENSOR + s * 3 + S_DUP]!++;
  }

  /**
   * Whether header `i` (just located in flow `f`) must wait for a causally earlier header of the same
   * batch stamped at most `reorderWindowMs` later (two taps whose clocks disagree): it acknowledges
   * sequence space the peer has not been seen sending, and a later header of the peer sends it (a
   * SYN-ACK before its SYN, a RST+ACK answering a SYN it precedes, data before the handshake); or it is a
   * RST before any ACK of the peer and a later header of the peer acknowledges exactly the RST's seq (a
   * RST answering a SYN-ACK or the handshake's ACK). Only the order changes; the timestamps stay. A flow
   * the header created is discarded, to be created again by the earlier header.
   */
  private deferred(f: number, cols: HeaderColumns, i: number, n: number): boolean {
    const t = this.tracker;
    const flags = cols.flags[i]!;
    const sp = cols.srcPort[i]!;
    const dp = cols.dstPort[i]!;
    // Behind a deferred header of the same direction: keep the tap's order.
    for (let k = 0; k < this.nDeferred; k++) {
      const j = this.deferIdx[k]!;
      if (cols.srcPort[j] === sp && cols.dstPort[j] === dp && sameAddrs(cols, i, j, false))
        return this.defer(f, i, this.deferWait[k]!);
    }

    const withAck = (flags & TCP_ACK) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    let wantAck = false;
    let wantRst = false;
    if (t.created) {
      wantAck = withAck;
      wantRst = rst;
    } else {
      const p = endpointOf(f, 1 - t.dir);
      if (withAck) wantAck = t.epPackets(p) === 0 || seqDelta(cols.ack[i]!, t.epLastSeq(p)) > 0;
      if (rst) wantRst = (t.epFlags(p) & DF_SENT_ACK) === 0;
    }
    if (!wantAck && !wantRst) return false;
    const lim = cols.tsUs[i]! + this.reorderUs;
    const ack = cols.ack[i]!;
    const seq = cols.seq[i]!;
    const last = Math.min(n, i + 1 + LOOKAHEAD_MAX);
    if (!this.laBuilt) this.buildLookahead(cols, n);
    // The window ends at the first later header stamped after `lim` (or at `last`); within it only the
    // headers of the same port pair can be the peer's, and the latest that qualifies is awaited.
    const stop = this.windowEnd(cols, i + 1, last, lim);
    const open = stop === last && last === n;
    let wait = -1;
    for (let j = this.laNext[i]!; j >= 0 && j < stop; j = this.laNext[j]!) {
      if (cols.srcPort[j] !== dp || cols.dstPort[j] !== sp || !sameAddrs(cols, i, j, true)) continue;
      // A header the batch loop will drop (not IPv4/IPv6) is never processed: nothing can wait for it.
      const vj = cols.ipVersion[j]!;
      if (vj !== 4 && vj !== 6) continue;
      const fj = cols.flags[j]!;
      if ((fj & TCP_RST) !== 0) continue;
      // The awaited segment is the one whose sequence space reaches the acknowledged number (a new
      // incarnation's SYN on the same tuple, far below it, is not).
      if (wantAck && seqDelta(ack, cols.seq[j]!) > 0 && seqDelta(segEnd(cols, j), ack) >= 0) wait = j;
      else if (wantRst && (fj & TCP_ACK) !== 0 && cols.ack[j] === seq) wait = j;
    }
    if (wait >= 0) return this.defer(f, i, wait);
    // The window reaches past the end of the batch: the cause may come in the next one. Only RSTs and
    // handshake packets whose cause is missing wait across batches (what verdicts rest on): one that
    // acknowledges what was not seen, or a RST without ACK before any ACK of the peer. (A RST+ACK answering
    // a SYN already seen has its cause; an ACK ahead of data just goes on.)
    const missing = (wantAck && (flags & (TCP_RST | TCP_SYN)) !== 0) || (wantRst && !withAck);
    return open && missing && this.carryOk && this.carry(f, i, n);
  }

  /**
   * Index the batch for the reorder lookahead, so a header's window is not read header by header (on a
   * capture of a million mostly new connections nearly every window is full, 512 headers each): a chain
   * per port-pair bucket in batch order (the peer's headers have the same unordered pair), and the
   * largest timestamp of each block of LA_BLOCK headers.
   */
  private buildLookahead(cols: HeaderColumns, n: number): void {
    this.laBuilt = true;
    if (this.laNext.length < n) this.laNext = new Int32Array(Math.max(n, 1024));
    const blocks = (n + LA_BLOCK - 1) / LA_BLOCK;
    if (this.laMax.length < blocks) this.laMax = new Float64Array(Math.max(Math.ceil(blocks), 64));
    const next = this.laNext;
    const head = this.laHead;
    head.fill(-1);
    const sp = cols.srcPort;
    const dp = cols.dstPort;
    for (let j = n - 1; j >= 0; j--) {
      const a = sp[j]!;
      const b = dp[j]!;
      // Symmetric in the two ports, so both directions of a connection share a bucket.
      const k = (Math.imul(a ^ b, 0x9e3779b1) + Math.imul(a + b, 0x85ebca6b)) >>> (32 - LA_BITS);
      next[j] = head[k]!;
      head[k] = j;
    }
    const ts = cols.tsUs;
    const mx = this.laMax;
    for (let b = 0; b * LA_BLOCK < n; b++) {
      let m = Number.NEGATIVE_INFINITY;
      const end = Math.min(n, (b + 1) * LA_BLOCK);
      for (let j = b * LA_BLOCK; j < end; j++) if (ts[j]! > m) m = ts[j]!;
      mx[b] = m;
    }
  }

  /** The first header in [from, to) stamped after `lim`, or `to` (NaN stamps are never after). */
  private windowEnd(cols: HeaderColumns, from: number, to: number, lim: number): number {
    const ts = cols.tsUs;
    const mx = this.laMax;
    let j = from;
    while (j < to) {
      if ((j & (LA_BLOCK - 1)) === 0 && j + LA_BLOCK <= to && !(mx[j / LA_BLOCK]! > lim)) {
        j += LA_BLOCK;
        continue;
      }
      if (ts[j]! > lim) return j;
      j++;
    }
    return to;
  }

  /**
   * Stop the batch at header `i` (of flow `f`): it and every header after it, with the headers deferred so
   * far, go to the next batch, where `i` looks for its cause again; false when they would not fit. A flow
   * the header created is discarded, like for a deferred header.
   */
  private carry(f: number, i: number, n: number): boolean {
    if (this.nDeferred + (n - i) > CARRY_MAX) return false;
    if (this.tracker.created) this.tracker.discard(f);
    this.tailFrom = i;
    return true;
  }

  /** Queue header `i` (of flow `f`) to be processed right after header `wait`. */
  private defer(f: number, i: number, wait: number): boolean {
    const m = this.nDeferred;
    if (m >= DEFER_MAX) return false;
    if (this.tracker.created) this.tracker.discard(f);
    // Headers waiting for this one now wait for what it waits for, after it.
    let k = 0;
    let w = 0;
    const moved: number[] = [];
    for (; k < m; k++) {
      if (this.deferWait[k] === i) moved.push(this.deferIdx[k]!);
      else {
        this.deferIdx[w] = this.deferIdx[k]!;
        this.deferWait[w] = this.deferWait[k]!;
        w++;
      }
    }
    this.deferIdx[w] = i;
    this.deferWait[w] = wait;
    w++;
    for (const j of moved) {
      this.deferIdx[w] = j;
      this.deferWait[w] = wait;
      w++;
    }
    this.nDeferred = w;
    return true;
  }

  /** Process the headers that waited for header `x`, in the order they came. */
  private runDeferred(cols: HeaderColumns, x: number, s: number, n: number): void {
    let k = 0;
    while (k < this.nDeferred) {
      if (this.deferWait[k] !== x) {
        k++;
        continue;
      }
      const i = this.deferIdx[k]!;
      for (let j = k + 1; j < this.nDeferred; j++) {
        this.deferIdx[j - 1] = this.deferIdx[j]!;
        this.deferWait[j - 1] = this.deferWait[j]!;
      }
      this.nDeferred--;
      this.mode = PK_DEFERRED;
      this.packet(cols, i, s, n);
    }
    this.mode = PK_NEW;
  }

  /** Duplicate, reordered and late counts so far, by sensor (only sensors with a non-zero count). */
  sensorRealities(): Record<string, SensorRealities> {
    const out: Record<string, SensorRealities> = {};
    const c = this.counters;
    for (let s = 0; s < MAX_SENSORS; s++) {
      const b = K_SENSOR + s * 3;
      if (c[b]! + c[b + 1]! + c[b + 2]! === 0) continue;
      out[this.tracker.sensorName(s)] = {
        duplicates: c[b + S_DUP]!,
        reordered: c[b + S_REORDERED]!,
        late: c[b + S_LATE]!,
      };
    }
    return out;
  }

  /**
   * Release held RSTs and expire idle flows up to capture time `nowUs` (µs), e.g. when a partition goes
   * quiet. The whole table is swept at most once per second of capture time; calls in between sweep a
   * bounded slice, so calling this after every batch stays cheap.
   */
  advanceTime(nowUs: number, opts?: ProcessOptions): EngineOutput {
    this.begin(opts);
    const t = this.tracker;
    // Carried headers whose window has passed: their cause is not coming.
    const pre = this.carryMeta[CM_LEN]!;
    if (pre > 0) {
      this.carried.length = pre;
      if (nowUs - this.carried.tsUs[pre - 1]! > this.reorderUs) this.flushCarry();
    }
    t.nowUs = nowUs;
    this.releaseDue(nowUs);
    this.sweep(nowUs, 4096);
    return this.end();
  }

  /** End of input: release every held RST, then emit every remaining flow (ordered by start time). */
  finish(opts?: ProcessOptions): EngineOutput {
    this.begin(opts);
    this.flushCarry();
    this.releaseThrough(this.p.meta[P_TAIL]! - 1);
    const t = this.tracker;
    const live: number[] = [];
    const used = t.usedSlots;
    for (let f = 0; f < used; f++) if (t.isLive(f)) live.push(f);
    live.sort((a, b) => t.firstTs(a) - t.firstTs(b) || t.generation(a) - t.generation(b));
    t.endEvery(live, 3);
    return this.end();
  }

  /** Flows ended so far (expired, closed, evicted, reused or finished), whether or not records were built. */
  get flowsEnded(): number {
    return this.counters[K_ENDED]!;
  }

  /** Flows ended early so far to make room in a full flow table (`stats().evictions`). */
  get evictions(): number {
    return this.counters[K_EVICTIONS]!;
  }

  /** Counters (shared by every thread attached to this engine). */
  stats(): EngineStats {
    const c = this.counters;
    const anomalies = {} as Record<(typeof ANOMALIES)[number], number>;
    ANOMALIES.forEach((name, k) => {
      anomalies[name] = c[K_ANOM + k]!;
    });
    const drops = {} as Record<(typeof DROPS)[number], number>;
    DROPS.forEach((name, k) => {
      drops[name] = c[K_DROP + k]!;
    });
    return {
      headers: c[K_HEADERS]!,
      checksums: { bad: c[K_CK_BAD]!, offloaded: c[K_CK_OFFLOADED]!, offload_hosts: c[K_CK_HOSTS]! },
      flows_active: this.tracker.active,
      flows_created: this.tracker.createdTotal,
      flows_ended: c[K_ENDED]!,
      evictions: c[K_EVICTIONS]!,
      rst_events: c[K_RST]!,
      held: this.p.meta[P_TAIL]! - this.p.meta[P_HEAD]!,
      anomalies,
      drops,
      sensors: this.sensorRealities(),
    };
  }

  // ---- internals -------------------------------------------------------------------------------

  private begin(opts: ProcessOptions | undefined): void {
    const emit = opts?.emit ?? true;
    this.emitting = emit;
    const flows = opts?.flows ?? true;
    this.records = emit && flows !== false;
    this.rowMode = flows === 'rows';
    this.out = emit ? { events: [], flows: [] } : NO_OUTPUT;
    this.refreshDue();
  }

  /** Recompute `dueUs` from the oldest held RST. */
  private refreshDue(): void {
    const meta = this.p.meta;
    if (meta[P_HEAD]! >= meta[P_TAIL]!) {
      this.dueUs = Number.POSITIVE_INFINITY;
      return;
    }
    const r = this.p.facts;
    const b = (meta[P_HEAD]! & F.HELD_MASK) * F.FACTS;
    // One microsecond early: the exact test in releaseDue decides, whatever the rounding of the sum.
    this.dueUs =
      r[b + F.F_POST_PKTS]! >= this.config.holdPackets
        ? Number.NEGATIVE_INFINITY
        : r[b + F.F_TS]! + this.config.holdMs * 1000 - 1;
  }

  private end(): EngineOutput {
    const o = this.out;
    this.out = NO_OUTPUT;
    const rows = this.rowWriter.take(this.tracker);
    if (rows !== null && o !== NO_OUTPUT) o.rows = rows;
    return emitOrEmpty(o);
  }

  /**
   * Expire flows up to capture time `nowUs`: the whole table once per second of capture time, else a slice
   * of `slice` slots from the clock hand (a record is a few cache lines, so slices stay small).
   */
  private sweep(nowUs: number, slice: number): void {
    const t = this.tracker;
    if (nowUs - this.counters[K_SWEPT_US]! >= 1_000_000) {
      this.counters[K_SWEPT_US] = nowUs;
      t.sweep(nowUs, t.usedSlots);
    } else if (slice > 0) t.sweep(nowUs, slice);
  }

  private sensorOrd(sensor: string): number {
    if (sensor === this.lastSensor && this.lastSensorOrd >= 0) return this.lastSensorOrd;
    this.lastSensorOrd = this.tracker.sensorOrdinal(sensor);
    this.lastSensor = sensor;
    return this.lastSensorOrd;
  }

  private onFlowEnd(f: number): void {
    const t = this.tracker;
    this.counters[K_ENDED]!++;
    // Held RSTs of this flow must be decided before its record says how it ended.
    const pend = t.heldRst(f);
    if (pend !== 0) this.releaseThrough(pend - 1);
    if (!this.records) return;
    if (this.rowMode) this.rowWriter.push(t, f);
    else this.out.flows.push(buildFlowRecord(t, f));
  }

  /**
   * Header `i` of flow `f` failed a checksum: true when that is evidence (counted, history `C`/`c`, no
   * state change), false when `auto` finds the sender's checksums offloaded (then it is processed): a
   * failure whose TCP field is the pseudo-header sum or zero (what a sender leaves for its NIC) always is;
   * other failures are once their host had 4 in flow directions with nothing accepted yet.
   */
  private checksumFailed(f: number, cols: HeaderColumns, i: number, sensor: number): boolean {
    const t = this.tracker;
    const c = this.counters;
    if (this.ckMode === 0) {
      if ((cols.cksum[i]! & CK_OFFLOAD) !== 0) {
        // The packet's own signature says offload: no host lookup (it would crowd the TTL baselines).
        c[K_CK_OFFLOADED]!++;
        if (this.offloadHost === '') this.offloadHost = formatAddr(cols.srcAddr, i * ADDR_BYTES);
        return false;
      }
      const hosts = t.hosts;
      const h = hosts.findOrAdd(cols.srcAddr32, i * 4, sensor, cols.tsUs[i]!);
      let st = hosts.checksumState(h);
      if ((st & CK_HOST_OFFLOAD) === 0) {
        const fresh = t.created || t.epPackets(endpointOf(f, t.dir)) === 0;
        if (fresh && st + 1 >= OFFLOAD_BAD_MIN) {
          st = CK_HOST_OFFLOAD;
          c[K_CK_HOSTS]!++;
          if (this.offloadHost === '') this.offloadHost = formatAddr(cols.srcAddr, i * ADDR_BYTES);
        } else if (fresh) st++;
        hosts.setChecksumState(h, st);
      }
      if ((st & CK_HOST_OFFLOAD) !== 0) {
        c[K_CK_OFFLOADED]!++;
        return false;
      }
    }
    c[K_CK_BAD]!++;
    t.badChecksum(f, t.dir);
    return true;
  }

  /** Snapshot what the classifier needs about RST header `i` of flow `f`, before the state update. */
  private capture(f: number, cols: HeaderColumns, i: number, sensor: number, badCksum = 0): number {
    const meta = this.p.meta;
    if (meta[P_TAIL]! - meta[P_HEAD]! >= F.HELD_MAX) {
      this.counters[A_FORCED]!++;
      this.releaseThrough(meta[P_HEAD]!);
    }
    const slot = meta[P_TAIL]! & F.HELD_MASK;
    const r = this.p.facts;
    const b = slot * F.FACTS;
    r.fill(0, b, b + F.FACTS);
    this.heldReordered[slot] = this.mode === PK_DEFERRED ? 1 : 0;
    const t = this.tracker;
    this.snapshotPacket(slot, f, cols, i, sensor);
    r[b + F.F_BAD_CKSUM] = badCksum;
    let ctx: number;
    if (t.created) {
      ctx = F.C_NEW | ((t.flowFlags(f) & FF_TW_HIT) !== 0 ? F.C_TW_HIT : 0);
      const hr = t.hosts.find(cols.dstAddr32, i * 4, sensor);
      if (t.hosts.openedTo(hr, cols.srcAddr32, i * 4, cols.tsUs[i]!, this.config.scanWindowS * 1e6))
        ctx |= F.C_RECV_OPENING;
      r[b + F.F_PHASE] = PH_NONE;
    } else ctx = this.flowContext(f, b, cols.seq[i]!, cols.ack[i]!, cols.tsUs[i]!);
    ctx |= this.senderBaseline(f, b, cols, i, sensor);
    this.hostEvidence(f, b, cols, i, sensor);
    this.groupWithPrevious(f, b, cols.flags[i]!, cols.ack[i]!);
    r[b + F.F_CTX] = ctx;
    return slot;
  }

  /** The RST header itself: fields, addresses and payload preview into held slot `slot`. */
  private snapshotPacket(slot: number, f: number, cols: HeaderColumns, i: number, sensor: number): void {
    const t = this.tracker;
    const r = this.p.facts;
    const b = slot * F.FACTS;
    r[b + F.F_TS] = cols.tsUs[i]!;
    r[b + F.F_FLOW] = f;
    r[b + F.F_GEN] = t.generation(f);
    r[b + F.F_DIR] = t.created ? 2 : t.dir;
    r[b + F.F_FLAGS] = cols.flags[i]!;
    r[b + F.F_SEQ] = cols.seq[i]!;
    r[b + F.F_ACK] = cols.ack[i]!;
    r[b + F.F_TTL] = cols.ttl[i]!;
    r[b + F.F_IPID] = cols.ipId[i]!;
    r[b + F.F_V6] = cols.ipVersion[i] === 6 ? 1 : 0;
    r[b + F.F_PLEN] = cols.payloadLen[i]!;
    r[b + F.F_SPORT] = cols.srcPort[i]!;
    r[b + F.F_DPORT] = cols.dstPort[i]!;
    r[b + F.F_SENSOR] = sensor;
    const pl = Math.min(cols.rstPayloadLen[i]!, RST_PAYLOAD_MAX);
    r[b + F.F_PAYLOAD_LEN] = cols.payloadLen[i]!;
    r[b + F.F_PLEN_STORED] = pl;
    const po = slot * RST_PAYLOAD_MAX;
    const so = i * RST_PAYLOAD_MAX;
    for (let k = 0; k < pl; k++) this.p.payload[po + k] = cols.rstPayload[so + k]!;
    const ao = slot * ADDR_BYTES;
    const io = i * ADDR_BYTES;
    for (let k = 0; k < ADDR_BYTES; k++) {
      this.p.src[ao + k] = cols.srcAddr[io + k]!;
      this.p.dst[ao + k] = cols.dstAddr[io + k]!;
    }
  }

  /** What an existing flow says about a RST from direction `t.dir`: context bits, phase, idle, stage. */
  private flowContext(f: number, b: number, seq: number, ack: number, ts: number): number {
    const t = this.tracker;
    const r = this.p.facts;
    const e = endpointOf(f, t.dir);
    const p = peerOf(e);
    const o = endpointOf(f, 0);
    const ff = t.flowFlags(f);
    const dfE = t.epFlags(e);
    const dfP = t.epFlags(p);
    let ctx = 0;
    if ((ff & FF_TW_REUSE) !== 0) ctx |= F.C_TW_REUSE;
    if ((ff & FF_MALFORMED_SYN) !== 0) ctx |= F.C_MALFORMED_SYN;
    if ((ff & FF_GRACEFUL) !== 0) ctx |= F.C_GRACEFUL;
    if ((ff & FF_PKT_AFTER_CLOSE) !== 0) ctx |= F.C_PKT_AFTER_CLOSE;
    if ((ff & FF_FIN_INFERRED) !== 0) ctx |= F.C_FIN_INFERRED;
    if ((dfE & DF_AFTER_CLOSE) !== 0) ctx |= F.C_SENDER_AFTER_CLOSE;
    if ((dfE & DF_SENT_SYN) !== 0) ctx |= F.C_SENDER_SYN;
    if ((dfE & DF_SENT_SYNACK) !== 0) ctx |= F.C_SENDER_SYNACK;
    if ((dfP & DF_SENT_SYN) !== 0) ctx |= F.C_RECV_SYN;
    if ((dfP & DF_SENT_SYNACK) !== 0) ctx |= F.C_RECV_SYNACK;
    if (((dfE | dfP) & DF_SENT_DATA) !== 0) ctx |= F.C_ANY_DATA;
    if ((dfE & (DF_SENT_SYN | DF_SENT_SYNACK | DF_TTL_SET)) !== 0) ctx |= F.C_SENDER_SEEN;
    const origSyn = (t.epFlags(o) & DF_SENT_SYN) !== 0;
    const respSynAck = (t.epFlags(o + 1) & DF_SENT_SYNACK) !== 0;
    const midstream = !origSyn && !respSynAck;
    if (midstream) ctx |= F.C_MIDSTREAM;
    const origAcked = ackedAfterSyn(t.epFirstCodes(o));
    // Loss or a one-sided view: the originator's ACK, or the responder's data after its SYN-ACK, proves
    // the handshake packets not seen.
    const hsInferred =
      !(origSyn && respSynAck && origAcked) &&
      (origSyn || respSynAck) &&
      (origAcked || (respSynAck && (t.epFlags(o + 1) & DF_SENT_DATA) !== 0));
    if (origSyn && respSynAck && origAcked) ctx |= F.C_HS_COMPLETE;
    else if (hsInferred) ctx |= F.C_HS_COMPLETE | F.C_HS_INFERRED;
    const finAny = t.epFins(e) + t.epFins(p) > 0;
    if (finAny) ctx |= F.C_FIN_ANY;
    const rstBefore = t.epRsts(e) + t.epRsts(p) > 0;
    if (t.epRsts(e) > 0) ctx |= F.C_SENDER_PREV_RST;
    if (rstBefore) ctx |= F.C_PREV_RST;
    let phase: number;
    if (rstBefore || ((ff & FF_GRACEFUL) !== 0 && t.epFins(e) > 0 && t.epFins(p) > 0)) phase = PH_CLOSED;
    else if (finAny) phase = PH_CLOSING;
    else if (!midstream && !origAcked && !hsInferred) phase = PH_HANDSHAKE;
    else phase = PH_ESTABLISHED;
    r[b + F.F_PHASE] = phase;
    if (!midstream) ctx |= this.lossContext(f, seq, ack);
    ctx |= this.sequenceContext(f, b, phase, seq);
    r[b + F.F_IDLE_S] = (ts - t.activeTs(f)) / 1e6;
    r[b + F.F_STAGE] = stageOf(t.epFirstCodes(e));
    return ctx;
  }

  /**
   * The ISNs against the RST's numbers and the ACKs seen, for what loss hid: ack = the receiver's ISN+1,
   * seq = the sender's ISN+1, data acknowledged but never seen (ISNs of partial endpoints are seeded).
   */
  private lossContext(f: number, seq: number, ack: number): number {
    const t = this.tracker;
    const e = endpointOf(f, t.dir);
    const p = peerOf(e);
    const hs = DF_SENT_SYN | DF_SENT_SYNACK;
    let ctx = 0;
    if ((t.epFlags(p) & hs) !== 0 && ack === (t.epStartSeq(p) + 1) >>> 0) ctx |= F.C_ACK_IS_ISN1;
    if ((t.epFlags(e) & hs) !== 0 && seq === (t.epStartSeq(e) + 1) >>> 0) ctx |= F.C_SEQ_IS_ISN1;
    if (this.unseenData(e) || this.unseenData(p)) ctx |= F.C_DATA_INFERRED;
    return ctx;
  }

  /** Endpoint `e` sent no data the sensor saw, yet its peer acknowledged more than its SYN (and FIN). */
  private unseenData(e: number): boolean {
    const t = this.tracker;
    if ((t.epFlags(e) & DF_SENT_DATA) !== 0) return false;
    return seqDelta(t.epAckSeq(e), (t.epStartSeq(e) + 1 + (t.epFins(e) > 0 ? 1 : 0)) >>> 0) > 0;
  }

  /** Sequence checks of a RST against the receiver's view (window, exact, retransmissions, stepping). */
  private sequenceContext(f: number, b: number, phase: number, seq: number): number {
    const t = this.tracker;
    const r = this.p.facts;
    const d = t.dir;
    const e = endpointOf(f, d);
    const p = peerOf(e);
    const dfE = t.epFlags(e);
    const dfP = t.epFlags(p);
    let ctx = 0;
    let rcvNxt = -1;
    if ((dfP & DF_SENT_ACK) !== 0 && (t.epState(p) !== EP_INACTIVE || t.epPackets(p) > 0))
      rcvNxt = t.epLastAckSent(p);
    else if (t.epState(e) !== EP_INACTIVE) rcvNxt = t.epLastSeq(e);
    const senderKnown = t.epState(e) !== EP_INACTIVE || (dfP & DF_SENT_ACK) !== 0;
    if (phase === PH_HANDSHAKE && d === 1 && (dfE & DF_SENT_SYNACK) === 0) {
      r[b + F.F_IN_WIN] = -1;
      r[b + F.F_SEQ_EXACT] = -1;
    } else if (rcvNxt >= 0 && senderKnown) {
      let wnd = t.epWindow(p) * 2 ** t.epWindowScale(p);
      if (wnd === 0) wnd = 65535;
      const dl = seqDelta(seq, rcvNxt);
      const exact = seq === rcvNxt || seq === t.epLastSeq(e);
      r[b + F.F_SEQ_EXACT] = exact ? 1 : 0;
      r[b + F.F_IN_WIN] = exact || (dl >= 0 && dl < wnd) ? 1 : 0;
      r[b + F.F_RCV_NXT] = rcvNxt;
    } else {
      r[b + F.F_IN_WIN] = -1;
      r[b + F.F_SEQ_EXACT] = -1;
    }
    // RST answering the receiver's last segment: seq = that segment's ack.
    const lastFromRecv = ((t.flowFlags(f) & FF_LAST_FROM_RESP) !== 0) === (d === 0);
    if (lastFromRecv && (dfP & DF_SENT_ACK) !== 0 && seq === t.epLastAckSent(p)) ctx |= F.C_ANSWERS_LAST;
    // Retransmissions of the same segment still unacknowledged.
    r[b + F.F_RX_SAME] = t.epRetransmitsSame(e);
    if (seqDelta(t.epLastSeq(e), t.epAckSeq(e)) > 0) ctx |= F.C_RX_UNACKED;
    // Stepping RST sequence numbers beyond anything the sender sent.
    if (t.epRsts(e) > 0) {
      const prevSeq = t.epLastRstSeq(e);
      if (seq !== prevSeq && seqDelta(seq, prevSeq) > 0 && seqDelta(seq, t.epLastSeq(e)) > 0)
        ctx |= F.C_SEQ_STEP;
    }
    return ctx;
  }

  /** TTL / IP-ID baseline of the claimed sender: this flow direction first, else the host. */
  private senderBaseline(f: number, b: number, cols: HeaderColumns, i: number, sensor: number): number {
    const t = this.tracker;
    const r = this.p.facts;
    const e = endpointOf(f, t.dir);
    let ctx = 0;
    let ttlExp = -1;
    let lastId = -1;
    if (!t.created && (t.epFlags(e) & DF_TTL_SET) !== 0) {
      ttlExp = t.epTtl(e);
      lastId = t.epIpId(e);
      ctx |= F.C_TTL_FROM_FLOW;
    } else {
      // Another flow's IP IDs say nothing about this one (per-socket counters): TTL only.
      const h = t.hosts.find(cols.srcAddr32, i * 4, sensor);
      if (h >= 0 && t.hosts.ttl(h) > 0) ttlExp = t.hosts.ttl(h);
    }
    r[b + F.F_TTL_EXP] = ttlExp;
    const rid = cols.ipId[i]!;
    const v6 = cols.ipVersion[i] === 6;
    r[b + F.F_IPID_GAP] =
      !v6 && lastId > 0 && rid !== 0 ? ((rid - lastId + 32768) & 0xffff) - 32768 : Number.NaN;
    return ctx;
  }

  /** Scans (distinct ports of the originator) and bursts (RSTs to the victim). */
  private hostEvidence(f: number, b: number, cols: HeaderColumns, i: number, sensor: number): void {
    const t = this.tracker;
    const r = this.p.facts;
    const ts = cols.tsUs[i]!;
    const hs = t.hosts.find(t.addr32, t.origAddrWord(f), sensor);
    r[b + F.F_SCAN_PORTS] = t.hosts.ports(hs, ts, this.config.scanWindowS * 1e6);
    const hv = t.hosts.findOrAdd(cols.dstAddr32, i * 4, sensor, ts);
    r[b + F.F_BURST] = t.hosts.noteRst(hv, ts, this.config.burstWindowMs * 1000);
  }

  /** Group with the previous held RST of the same sender at the same stage. */
  private groupWithPrevious(f: number, b: number, flags: number, ack: number): void {
    const t = this.tracker;
    const r = this.p.facts;
    const withAck = (flags & TCP_ACK) !== 0;
    r[b + F.F_GRP_RST] = withAck ? 0 : 1;
    r[b + F.F_GRP_RSTACK] = withAck ? 1 : 0;
    r[b + F.F_GRP_ACK] = ack;
    r[b + F.F_GRP_ACK0] = ack === 0 ? 1 : 0;
    const prev = t.created ? 0 : t.heldRst(f);
    r[b + F.F_GRP_EXACT] = r[b + F.F_SEQ_EXACT] === 1 ? 1 : 0;
    r[b + F.F_PREV] = prev;
    if (prev === 0 || prev - 1 < this.p.meta[P_HEAD]!) return;
    const pb = ((prev - 1) & F.HELD_MASK) * F.FACTS;
    if (r[pb + F.F_DIR] !== t.dir || r[pb + F.F_POST_SENDER_ANY] !== 0 || r[pb + F.F_GEN] !== t.generation(f))
      return;
    r[b + F.F_GRP_RST] = r[b + F.F_GRP_RST]! + r[pb + F.F_GRP_RST]!;
    r[b + F.F_GRP_RSTACK] = r[b + F.F_GRP_RSTACK]! + r[pb + F.F_GRP_RSTACK]!;
    r[b + F.F_GRP_ACKDIFF] = r[pb + F.F_GRP_ACKDIFF] === 1 || r[pb + F.F_GRP_ACK] !== ack ? 1 : 0;
    r[b + F.F_GRP_ACK0] = r[b + F.F_GRP_ACK0] === 1 || r[pb + F.F_GRP_ACK0] === 1 ? 1 : 0;
    r[b + F.F_GRP_ACK] = r[pb + F.F_GRP_ACK]!;
    r[b + F.F_STAGE] = r[pb + F.F_STAGE]!;
    if (r[pb + F.F_GRP_EXACT] === 1) r[b + F.F_GRP_EXACT] = 1;
  }

  /** Complete the held entry after the state update and link it into its flow. */
  private commit(slot: number, f: number, cols: HeaderColumns, i: number, sensor: number): void {
    void cols;
    void i;
    void sensor;
    const t = this.tracker;
    const r = this.p.facts;
    const b = slot * F.FACTS;
    const hl = t.historyLength(f);
    r[b + F.F_HISTLEN] = hl;
    const ho = slot * HISTORY_MAX;
    t.copyHistory(f, this.p.hist, ho, hl);
    r[b + F.F_CONNSTATE] = flowConnStateCode(t, f);
    // A flip during update (SYN/SYN-ACK reversal) changes who the sender is.
    if (r[b + F.F_DIR] !== 2) r[b + F.F_DIR] = t.dir;
    const seqNo = this.p.meta[P_TAIL]!;
    this.p.meta[P_TAIL] = seqNo + 1;
    t.setHeldRst(f, seqNo + 1);
    this.counters[K_RST]!++;
    if (seqNo === this.p.meta[P_HEAD]) this.refreshDue();
  }

  /** Update held RSTs of flow f with header i (which came after them). */
  private observe(f: number, cols: HeaderColumns, i: number): void {
    const t = this.tracker;
    const r = this.p.facts;
    const head = this.p.meta[P_HEAD]!;
    const gen = t.generation(f);
    const d = t.dir;
    const flags = cols.flags[i]!;
    const rst = (flags & TCP_RST) !== 0;
    const len = cols.payloadLen[i]!;
    const pureAck = (flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) === TCP_ACK && len === 0;
    const withAck = (flags & TCP_ACK) !== 0;
    const ack = cols.ack[i]!;
    let s = t.heldRst(f);
    let guard = 0;
    while (s !== 0 && s - 1 >= head && guard++ < F.HELD_MAX) {
      const b = ((s - 1) & F.HELD_MASK) * F.FACTS;
      if (r[b + F.F_GEN] !== gen || r[b + F.F_FLOW] !== f) break;
      r[b + F.F_POST_PKTS]!++;
      if (s - 1 === head && r[b + F.F_POST_PKTS]! >= this.config.holdPackets)
        this.dueUs = Number.NEGATIVE_INFINITY;
      const sender = r[b + F.F_DIR];
      if (sender === d || sender === 2) {
        if (rst) {
          if (r[b + F.F_POST_SENDER_ANY] === 0) {
            if (withAck) r[b + F.F_GRP_RSTACK]!++;
            else r[b + F.F_GRP_RST]!++;
            if (ack !== r[b + F.F_GRP_ACK]) r[b + F.F_GRP_ACKDIFF] = 1;
            if (ack === 0) r[b + F.F_GRP_ACK0] = 1;
          }
        } else {
          r[b + F.F_POST_SENDER_ANY]!++;
          if (len > 0) r[b + F.F_POST_SENDER_DATA]!++;
        }
      } else {
        r[b + F.F_POST_RECV]!++;
        if (
          pureAck &&
          r[b + F.F_IN_WIN] === 1 &&
          r[b + F.F_SEQ_EXACT] === 0 &&
          cols.tsUs[i]! - r[b + F.F_TS]! <= this.config.holdMs * 1000
        )
          r[b + F.F_POST_CHALLENGE]!++;
      }
      s = r[b + F.F_PREV]!;
    }
  }

  /** Release held RSTs whose hold time or packet budget is used up, oldest first. */
  private releaseDue(nowUs: number): void {
    const meta = this.p.meta;
    const r = this.p.facts;
    const holdUs = this.config.holdMs * 1000;
    const holdPk = this.config.holdPackets;
    while (meta[P_HEAD]! < meta[P_TAIL]!) {
      const b = (meta[P_HEAD]! & F.HELD_MASK) * F.FACTS;
      if (nowUs - r[b + F.F_TS]! < holdUs && r[b + F.F_POST_PKTS]! < holdPk) break;
      this.releaseHead();
    }
  }

  /** Release held RSTs up to and including ring sequence number `seqNo`. */
  private releaseThrough(seqNo: number): void {
    const meta = this.p.meta;
    while (meta[P_HEAD]! <= seqNo && meta[P_HEAD]! < meta[P_TAIL]!) this.releaseHead();
  }

  private releaseHead(): void {
    const meta = this.p.meta;
    const seqNo = meta[P_HEAD]!;
    const slot = seqNo & F.HELD_MASK;
    const b = slot * F.FACTS;
    const r = this.p.facts;
    const t = this.tracker;
    const f = r[b + F.F_FLOW]!;
    const same = t.isLive(f) && t.generation(f) === r[b + F.F_GEN];
    const prevCause = same ? t.rstCause(f) : 255;
    r[b + F.F_PREV_CAUSE] = prevCause < CAUSES.length ? prevCause : -1;
    const v = classifyFacts(r, b, this.config);
    if (same) {
      // A RST with a bad checksum reset nothing: it does not say how the flow ended.
      if (r[b + F.F_BAD_CKSUM] === 0) t.setVerdict(f, CAUSES.indexOf(v.cause), ORIGINS.indexOf(v.origin));
      if (t.heldRst(f) === seqNo + 1) t.setHeldRst(f, 0);
    }
    meta[P_HEAD] = seqNo + 1;
    this.refreshDue();
    if (this.emitting) this.out.events.push(this.buildEvent(slot, v));
  }

  private buildEvent(slot: number, v: ReturnType<typeof classifyFacts>): RstEvent {
    const r = this.p.facts;
    const b = slot * F.FACTS;
    const ao = slot * ADDR_BYTES;
    const sport = r[b + F.F_SPORT]!;
    const dport = r[b + F.F_DPORT]!;
    const ttlExp = r[b + F.F_TTL_EXP]!;
    const inWin = r[b + F.F_IN_WIN]!;
    const exact = r[b + F.F_SEQ_EXACT]!;
    const hl = r[b + F.F_HISTLEN]!;
    let history = '';
    const ho = slot * HISTORY_MAX;
    for (let k = 0; k < hl; k++) history += String.fromCharCode(this.p.hist[ho + k]!);
    return {
      ts: formatTs(r[b + F.F_TS]!),
      sensor: this.tracker.sensorName(r[b + F.F_SENSOR]!),
      community_id: communityId(this.p.src, ao, sport, this.p.dst, ao, dport),
      src_ip: formatAddr(this.p.src, ao),
      src_port: sport,
      dst_ip: formatAddr(this.p.dst, ao),
      dst_port: dport,
      direction: DIRECTIONS[r[b + F.F_DIR]!]!,
      cause: v.cause,
      origin: v.origin,
      phase: PHASES[r[b + F.F_PHASE]!]!,
      confidence: v.confidence,
      flags: formatFlags(r[b + F.F_FLAGS]!),
      seq: r[b + F.F_SEQ]!,
      ack: r[b + F.F_ACK]!,
      ttl: r[b + F.F_TTL]!,
      ttl_expected: ttlExp >= 0 ? ttlExp : null,
      ip_id: r[b + F.F_V6] === 1 ? null : r[b + F.F_IPID]!,
      in_window: inWin < 0 ? null : inWin === 1,
      seq_exact: exact < 0 ? null : exact === 1,
      payload_len: r[b + F.F_PAYLOAD_LEN]!,
      payload_preview: payloadPreview(this.p.payload, slot * RST_PAYLOAD_MAX, r[b + F.F_PLEN_STORED]!),
      signature: v.signature,
      conn_state: CONN_STATES[r[b + F.F_CONNSTATE]!]!,
      history,
      evidence: this.heldReordered[slot] === 1 ? [...v.evidence, 'reordered'] : v.evidence,
    };
  }
}

/** Whether headers i and j have the same addresses (`reversed`: j's source is i's destination). */
/** The sequence number just past header `j`'s segment (payload, plus one each for SYN and FIN). */
function segEnd(cols: HeaderColumns, j: number): number {
  const fl = cols.flags[j]!;
  return (
    (cols.seq[j]! + cols.payloadLen[j]! + ((fl & TCP_SYN) !== 0 ? 1 : 0) + ((fl & TCP_FIN) !== 0 ? 1 : 0)) >>>
    0
  );
}

function sameAddrs(cols: HeaderColumns, i: number, j: number, reversed: boolean): boolean {
  const a = reversed ? cols.dstAddr : cols.srcAddr;
  const b = reversed ? cols.srcAddr : cols.dstAddr;
  const io = i * ADDR_BYTES;
  const jo = j * ADDR_BYTES;
  for (let k = 0; k < ADDR_BYTES; k++) {
    if (cols.srcAddr[jo + k] !== a[io + k] || cols.dstAddr[jo + k] !== b[io + k]) return false;
  }
  return true;
}

function emitOrEmpty(o: EngineOutput): EngineOutput {
  return o === NO_OUTPUT ? { events: [], flows: [] } : o;
}

// Re-exported for tests that reason about phases by index.
export { PH_CLOSED, PH_CLOSING, PH_ESTABLISHED, PH_HANDSHAKE, PH_NONE };

void EP_ESTABLISHED;
void EP_PARTIAL;
void FF_FIRST_RST;
void TCP_FIN;
