/**
 * Per-host memory in shared memory: learned TTL baseline (observed TTL, likely initial TTL, hop
 * distance), last IPv4 ID, and two sliding counters the classifier uses (distinct destination ports per
 * source for scans, RSTs per victim for bursts). Two-way set associative, full-key compare; a collision
 * replaces the older entry (approximate by design, bounded by `maxHosts`).
 *
 * One 56-byte record per entry, the two entries of a set side by side: a lookup reads the fields it
 * compares (hash, live, sensor, address) from one or two cache lines, and `observe` writes the TTL and
 * IP ID beside them. (As one column per field, a lookup and its writes touched six lines, a new host
 * thirteen: on a capture of a million connections, the host table was the engine's largest cost.)
 *
 * The lookups (hash, find, find-or-add, observe) run in WebAssembly (`../wasm/hosts.ts`, embedded in
 * `internal/hosts-wasm.ts`) over the table's shared memory, 2-2.5x faster than the same code in
 * JavaScript; the per-entry counters are read and written here. An address is passed as a Uint32Array
 * and the index of its first word (the columns' `srcAddr32`, the flow records' address words).
 */
import { WASM_BASE64 } from './internal/hosts-wasm.js';
import { instantiate, type SharedMemory, sharedMemory, WASM_PAGE } from './internal/wasm.js';

interface HostsWasm {
  setup(sets: number): void;
  hash(a0: number, a1: number, a2: number, a3: number, sensor: number): number;
  find(a0: number, a1: number, a2: number, a3: number, sensor: number): number;
  findOrAdd(a0: number, a1: number, a2: number, a3: number, sensor: number, tsUs: number): number;
  observe(
    a0: number,
    a1: number,
    a2: number,
    a3: number,
    sensor: number,
    ttl: number,
    ipId: number,
    tsUs: number,
  ): number;
}

/** Bytes per entry (a multiple of 8, for the f64 fields). */
const ENTRY = 56;
const E64 = ENTRY / 8;
const E32 = ENTRY / 4;
const E16 = ENTRY / 2;
// An entry, by byte (wasm/hosts.ts reads and writes the same): 0 hash u32, 4 IP ID u16, 6 burst count
// u16, 8 address (16 bytes), 24 TTL u8, 25 sensor u8, 26 live u8, 27 checksum state u8, 28 peer hash u32,
// 32 scan window start f64, 40 burst window start f64, 48 / 52 scanned-port bits u32 x 2. The offsets
// this side uses, in elements of the view that reads them (u32 / u16 / u8 / f64):
const IPID16 = 2;
const BURST16 = 3;
const TTL8 = 24;
const CK8 = 27;
const PEER32 = 7;
const SCAN_START64 = 4;
const BURST_START64 = 5;
const SCAN_LO32 = 12;
const SCAN_HI32 = 13;

/** Likely initial TTL for an observed TTL (64, 128 or 255). */
export function initialTtl(ttl: number): number {
  return ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/**
 * Host table over a shared WebAssembly memory (its buffer a SharedArrayBuffer: any thread attaches with
 * the memory). `capacity` is rounded up to an even number (2-way sets).
 */
export class HostTable {
  readonly memory: SharedMemory;
  readonly capacity: number;
  private readonly wasm: HostsWasm;
  // Views of the entries, one per element type, all over the same bytes.
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly u8: Uint8Array;

  /** Bytes of memory for `capacity` hosts (whole WebAssembly pages). */
  static bytesFor(capacity: number): number {
    return HostTable.pagesFor(capacity) * WASM_PAGE;
  }

  /** A new memory for `capacity` hosts (to hand to `new HostTable(capacity, memory)` on any thread). */
  static memoryFor(capacity: number): SharedMemory {
    return sharedMemory(HostTable.pagesFor(capacity));
  }

  private static pagesFor(capacity: number): number {
    return Math.max(1, Math.ceil(((capacity + (capacity & 1)) * ENTRY) / WASM_PAGE));
  }

  constructor(capacity: number, memory?: SharedMemory) {
    const n = capacity + (capacity & 1);
    this.capacity = n;
    this.memory = memory ?? HostTable.memoryFor(n);
    const buffer = this.memory.buffer;
    if (buffer.byteLength < n * ENTRY)
      throw new RangeError(`memory of ${buffer.byteLength} bytes too small for ${n} hosts (${n * ENTRY})`);
    this.wasm = instantiate<HostsWasm>(WASM_BASE64, this.memory);
    this.wasm.setup(n >>> 1);
    this.f64 = new Float64Array(buffer, 0, n * E64);
    this.u32 = new Uint32Array(buffer, 0, n * E32);
    this.u16 = new Uint16Array(buffer, 0, n * E16);
    this.u8 = new Uint8Array(buffer, 0, n * ENTRY);
  }

  /** Entry index of the host whose address is the words `a[w..w+4)`, or -1. */
  find(a: Uint32Array, w: number, sensor: number): number {
    return this.wasm.find(a[w]!, a[w + 1]!, a[w + 2]!, a[w + 3]!, sensor);
  }

  /**
   * Entry index of the host, created when absent: in its set's empty way, else over the entry whose
   * windows began earlier (the older; way 0 on a tie), all its counters zero.
   */
  findOrAdd(a: Uint32Array, w: number, sensor: number, tsUs: number): number {
    return this.wasm.findOrAdd(a[w]!, a[w + 1]!, a[w + 2]!, a[w + 3]!, sensor, tsUs);
  }

  /** Learn TTL and IP ID from a packet the host sent (never from RSTs: they may be forged). Returns its entry. */
  observe(a: Uint32Array, w: number, sensor: number, ttl: number, ipId: number, tsUs: number): number {
    return this.wasm.observe(a[w]!, a[w + 1]!, a[w + 2]!, a[w + 3]!, sensor, ttl, ipId, tsUs);
  }

  /** Hash of an address alone (what `notePeer` keeps). */
  private peerHash(a: Uint32Array, w: number): number {
    return this.wasm.hash(a[w]!, a[w + 1]!, a[w + 2]!, a[w + 3]!, 0) >>> 0;
  }

  /** The TTL last learned for entry `e` (0: none yet). */
  ttl(e: number): number {
    return this.u8[e * ENTRY + TTL8]!;
  }

  /** The IPv4 ID last learned for entry `e`. */
  ipId(e: number): number {
    return this.u16[e * E16 + IPID16]!;
  }

  /** Entry `e`'s checksum record (the engine's: bad-checksum count and an offload bit; 0 when new). */
  checksumState(e: number): number {
    return this.u8[e * ENTRY + CK8]!;
  }

  setChecksumState(e: number, v: number): void {
    this.u8[e * ENTRY + CK8] = v;
  }

  /** Note a connection attempt from this source to `port`; returns distinct ports (approx.) in the window. */
  notePort(e: number, port: number, tsUs: number, windowUs: number): number {
    const w = e * E32;
    const u32 = this.u32;
    if (tsUs - this.f64[e * E64 + SCAN_START64]! > windowUs) {
      this.f64[e * E64 + SCAN_START64] = tsUs;
      u32[w + SCAN_LO32] = 0;
      u32[w + SCAN_HI32] = 0;
    }
    const bit = Math.imul(port, 0x9e3779b1) >>> 26; // 0..63
    if (bit < 32) u32[w + SCAN_LO32]! |= 1 << bit;
    else u32[w + SCAN_HI32]! |= 1 << (bit - 32);
    return popcount(u32[w + SCAN_LO32]!) + popcount(u32[w + SCAN_HI32]!);
  }

  /** Note that the host's last connection attempt (noted by `notePort` too) went to the host at words `a[w..w+4)`. */
  notePeer(e: number, a: Uint32Array, w: number): void {
    this.u32[e * E32 + PEER32] = this.peerHash(a, w);
  }

  /**
   * Whether host entry `e` (-1: unknown) tried to connect to the host at words `a[w..w+4)` in the current
   * scan window (`notePort`'s, which began at or before that attempt); its last attempt only, compared by
   * hash.
   */
  openedTo(e: number, a: Uint32Array, w: number, tsUs: number, windowUs: number): boolean {
    return this.ports(e, tsUs, windowUs) > 0 && this.u32[e * E32 + PEER32] === this.peerHash(a, w);
  }

  /** Distinct destination ports (approx.) the host tried in the current window. */
  ports(e: number, tsUs: number, windowUs: number): number {
    if (e < 0 || tsUs - this.f64[e * E64 + SCAN_START64]! > windowUs) return 0;
    return popcount(this.u32[e * E32 + SCAN_LO32]!) + popcount(this.u32[e * E32 + SCAN_HI32]!);
  }

  /** Count a RST aimed at this host; returns RSTs in the current burst window. */
  noteRst(e: number, tsUs: number, windowUs: number): number {
    const x = e * E16 + BURST16;
    if (tsUs - this.f64[e * E64 + BURST_START64]! > windowUs) {
      this.f64[e * E64 + BURST_START64] = tsUs;
      this.u16[x] = 0;
    }
    if (this.u16[x]! < 0xffff) this.u16[x]!++;
    return this.u16[x]!;
  }
}
