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
 */
import { ADDR_BYTES, bucketOf } from '@rstwatch/core';

/** Bytes per entry (a multiple of 8, for the f64 fields). */
const ENTRY = 56;
const E64 = ENTRY / 8;
const E32 = ENTRY / 4;
const E16 = ENTRY / 2;
// Field offsets, in elements of the view that reads them (u32 / u16 / u8 / f64), within an entry.
const HASH32 = 0;
const IPID16 = 2;
const BURST16 = 3;
const ADDR8 = 8;
const TTL8 = 24;
const SENSOR8 = 25;
const LIVE8 = 26;
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

function hashAddr(a: Uint8Array, o: number, sensor: number): number {
  let h = 0x811c9dc5 ^ sensor;
  for (let k = 0; k < ADDR_BYTES; k++) h = Math.imul(h ^ a[o + k]!, 0x01000193);
  h ^= h >>> 15;
  return h >>> 0;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Host table over a SharedArrayBuffer. `capacity` is rounded up to an even number (2-way sets). */
export class HostTable {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly sets: number;
  // Views of the entries, one per element type, all over the same bytes.
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly u8: Uint8Array;

  static bytesFor(capacity: number): number {
    return (capacity + (capacity & 1)) * ENTRY;
  }

  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    const n = capacity + (capacity & 1);
    this.capacity = n;
    this.sets = n >>> 1;
    const bytes = n * ENTRY;
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength < bytes)
      throw new RangeError(`buffer of ${this.buffer.byteLength} bytes too small for ${n} hosts (${bytes})`);
    this.f64 = new Float64Array(this.buffer, 0, n * E64);
    this.u32 = new Uint32Array(this.buffer, 0, n * E32);
    this.u16 = new Uint16Array(this.buffer, 0, n * E16);
    this.u8 = new Uint8Array(this.buffer, 0, bytes);
  }

  private matches(e: number, h: number, a: Uint8Array, o: number, sensor: number): boolean {
    // The hash first: a different host is most often told apart by one load.
    const b = e * ENTRY;
    const u8 = this.u8;
    if (this.u32[e * E32 + HASH32] !== h || u8[b + LIVE8] === 0 || u8[b + SENSOR8] !== sensor) return false;
    const eo = b + ADDR8;
    for (let k = 0; k < ADDR_BYTES; k++) if (u8[eo + k] !== a[o + k]) return false;
    return true;
  }

  /** Rough last-use time of an entry (for replacement). */
  private seen(e: number): number {
    return Math.max(this.f64[e * E64 + SCAN_START64]!, this.f64[e * E64 + BURST_START64]!);
  }

  /** Entry index of the host at `a[o..o+16]`, or -1. */
  find(a: Uint8Array, o: number, sensor: number): number {
    const h = hashAddr(a, o, sensor);
    const e0 = bucketOf(h, this.sets) * 2;
    if (this.matches(e0, h, a, o, sensor)) return e0;
    if (this.matches(e0 + 1, h, a, o, sensor)) return e0 + 1;
    return -1;
  }

  /** Entry index of the host, created (replacing the older entry of its set) when absent. */
  findOrAdd(a: Uint8Array, o: number, sensor: number, tsUs: number): number {
    const h = hashAddr(a, o, sensor);
    const e0 = bucketOf(h, this.sets) * 2;
    if (this.matches(e0, h, a, o, sensor)) return e0;
    if (this.matches(e0 + 1, h, a, o, sensor)) return e0 + 1;
    const u8 = this.u8;
    const e =
      u8[e0 * ENTRY + LIVE8] === 0
        ? e0
        : u8[(e0 + 1) * ENTRY + LIVE8] === 0
          ? e0 + 1
          : this.seen(e0) <= this.seen(e0 + 1)
            ? e0
            : e0 + 1;
    const b = e * ENTRY;
    const w = e * E32;
    const x = e * E16;
    const d = e * E64;
    u8[b + LIVE8] = 1;
    this.u32[w + HASH32] = h;
    u8[b + SENSOR8] = sensor;
    const eo = b + ADDR8;
    for (let k = 0; k < ADDR_BYTES; k++) u8[eo + k] = a[o + k]!;
    u8[b + TTL8] = 0;
    u8[b + CK8] = 0;
    this.u16[x + IPID16] = 0;
    this.u32[w + SCAN_LO32] = 0;
    this.u32[w + SCAN_HI32] = 0;
    this.f64[d + SCAN_START64] = tsUs;
    this.u16[x + BURST16] = 0;
    this.f64[d + BURST_START64] = tsUs;
    this.u32[w + PEER32] = 0;
    return e;
  }

  /** Learn TTL and IP ID from a packet the host sent (never from RSTs: they may be forged). Returns its entry. */
  observe(a: Uint8Array, o: number, sensor: number, ttl: number, ipId: number, tsUs: number): number {
    const e = this.findOrAdd(a, o, sensor, tsUs);
    this.u8[e * ENTRY + TTL8] = ttl;
    this.u16[e * E16 + IPID16] = ipId;
    return e;
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

  /** Note that the host's last connection attempt (noted by `notePort` too) went to the host at `a[o..o+16]`. */
  notePeer(e: number, a: Uint8Array, o: number): void {
    this.u32[e * E32 + PEER32] = hashAddr(a, o, 0);
  }

  /**
   * Whether host entry `e` (-1: unknown) tried to connect to the host at `a[o..o+16]` in the current scan
   * window (`notePort`'s, which began at or before that attempt); its last attempt only, compared by hash.
   */
  openedTo(e: number, a: Uint8Array, o: number, tsUs: number, windowUs: number): boolean {
    return this.ports(e, tsUs, windowUs) > 0 && this.u32[e * E32 + PEER32] === hashAddr(a, o, 0);
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
