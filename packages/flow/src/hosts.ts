/**
 * Per-host memory in shared typed arrays: learned TTL baseline (observed TTL, likely initial TTL, hop
 * distance), last IPv4 ID, and two sliding counters the classifier uses (distinct destination ports per
 * source for scans, RSTs per victim for bursts). Two-way set associative, full-key compare; a collision
 * replaces the older entry (approximate by design, bounded by `maxHosts`).
 */
import { ADDR_BYTES, bucketOf } from '@rstwatch/core';
import { type ColumnDef, layoutBytes, mapColumns } from './internal/layout.js';

/** Likely initial TTL for an observed TTL (64, 128 or 255). */
export function initialTtl(ttl: number): number {
  return ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

function hostColumns(n: number): ColumnDef[] {
  return [
    { name: 'scanStart', ctor: Float64Array, length: n },
    { name: 'burstStart', ctor: Float64Array, length: n },
    { name: 'hash', ctor: Uint32Array, length: n },
    { name: 'scanLo', ctor: Uint32Array, length: n },
    { name: 'scanHi', ctor: Uint32Array, length: n },
    { name: 'peer', ctor: Uint32Array, length: n },
    { name: 'ipId', ctor: Uint16Array, length: n },
    { name: 'burst', ctor: Uint16Array, length: n },
    { name: 'ttl', ctor: Uint8Array, length: n },
    { name: 'sensor', ctor: Uint8Array, length: n },
    { name: 'live', ctor: Uint8Array, length: n },
    { name: 'ck', ctor: Uint8Array, length: n },
    { name: 'addr', ctor: Uint8Array, length: n * ADDR_BYTES },
  ];
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
  readonly scanStart: Float64Array;
  readonly burstStart: Float64Array;
  /** Hash of the host that this host's last connection attempt (bare SYN) went to. */
  readonly peer: Uint32Array;
  readonly hash: Uint32Array;
  readonly scanLo: Uint32Array;
  readonly scanHi: Uint32Array;
  readonly ipId: Uint16Array;
  readonly burst: Uint16Array;
  readonly ttl: Uint8Array;
  readonly sensor: Uint8Array;
  readonly live: Uint8Array;
  /** Checksum record of the host (the engine's: bad-checksum count and an offload bit). */
  readonly ck: Uint8Array;
  readonly addr: Uint8Array;

  static bytesFor(capacity: number): number {
    return layoutBytes(hostColumns(capacity + (capacity & 1)));
  }

  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    const n = capacity + (capacity & 1);
    this.capacity = n;
    this.sets = n >>> 1;
    const cols = hostColumns(n);
    this.buffer = buffer ?? new SharedArrayBuffer(layoutBytes(cols));
    const m = mapColumns(this.buffer, cols);
    this.scanStart = m.scanStart as Float64Array;
    this.burstStart = m.burstStart as Float64Array;
    this.peer = m.peer as Uint32Array;
    this.hash = m.hash as Uint32Array;
    this.scanLo = m.scanLo as Uint32Array;
    this.scanHi = m.scanHi as Uint32Array;
    this.ipId = m.ipId as Uint16Array;
    this.burst = m.burst as Uint16Array;
    this.ttl = m.ttl as Uint8Array;
    this.sensor = m.sensor as Uint8Array;
    this.live = m.live as Uint8Array;
    this.ck = m.ck as Uint8Array;
    this.addr = m.addr as Uint8Array;
  }

  private matches(e: number, h: number, a: Uint8Array, o: number, sensor: number): boolean {
    // The hash first: a miss then reads one column (the two ways' hashes share a cache line).
    if (this.hash[e] !== h || this.live[e] === 0 || this.sensor[e] !== sensor) return false;
    const b = this.addr;
    const eo = e * ADDR_BYTES;
    for (let k = 0; k < ADDR_BYTES; k++) if (b[eo + k] !== a[o + k]) return false;
    return true;
  }

  /** Rough last-use time of an entry (for replacement). */
  private seen(e: number): number {
    return Math.max(this.scanStart[e]!, this.burstStart[e]!);
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
    const e =
      this.live[e0] === 0
        ? e0
        : this.live[e0 + 1] === 0
          ? e0 + 1
          : this.seen(e0) <= this.seen(e0 + 1)
            ? e0
            : e0 + 1;
    this.live[e] = 1;
    this.hash[e] = h;
    this.sensor[e] = sensor;
    const eo = e * ADDR_BYTES;
    for (let k = 0; k < ADDR_BYTES; k++) this.addr[eo + k] = a[o + k]!;
    this.ttl[e] = 0;
    this.ck[e] = 0;
    this.ipId[e] = 0;
    this.scanLo[e] = 0;
    this.scanHi[e] = 0;
    this.scanStart[e] = tsUs;
    this.burst[e] = 0;
    this.burstStart[e] = tsUs;
    this.peer[e] = 0;
    return e;
  }

  /** Learn TTL and IP ID from a packet the host sent (never from RSTs: they may be forged). Returns its entry. */
  observe(a: Uint8Array, o: number, sensor: number, ttl: number, ipId: number, tsUs: number): number {
    const e = this.findOrAdd(a, o, sensor, tsUs);
    this.ttl[e] = ttl;
    this.ipId[e] = ipId;
    return e;
  }

  /** Note a connection attempt from this source to `port`; returns distinct ports (approx.) in the window. */
  notePort(e: number, port: number, tsUs: number, windowUs: number): number {
    if (tsUs - this.scanStart[e]! > windowUs) {
      this.scanStart[e] = tsUs;
      this.scanLo[e] = 0;
      this.scanHi[e] = 0;
    }
    const bit = Math.imul(port, 0x9e3779b1) >>> 26; // 0..63
    if (bit < 32) this.scanLo[e]! |= 1 << bit;
    else this.scanHi[e]! |= 1 << (bit - 32);
    return popcount(this.scanLo[e]!) + popcount(this.scanHi[e]!);
  }

  /** Note that the host's last connection attempt (noted by `notePort` too) went to the host at `a[o..o+16]`. */
  notePeer(e: number, a: Uint8Array, o: number): void {
    this.peer[e] = hashAddr(a, o, 0);
  }

  /**
   * Whether host entry `e` (-1: unknown) tried to connect to the host at `a[o..o+16]` in the current scan
   * window (`notePort`'s, which began at or before that attempt); its last attempt only, compared by hash.
   */
  openedTo(e: number, a: Uint8Array, o: number, tsUs: number, windowUs: number): boolean {
    return this.ports(e, tsUs, windowUs) > 0 && this.peer[e] === hashAddr(a, o, 0);
  }

  /** Distinct destination ports (approx.) the host tried in the current window. */
  ports(e: number, tsUs: number, windowUs: number): number {
    if (e < 0 || tsUs - this.scanStart[e]! > windowUs) return 0;
    return popcount(this.scanLo[e]!) + popcount(this.scanHi[e]!);
  }

  /** Count a RST aimed at this host; returns RSTs in the current burst window. */
  noteRst(e: number, tsUs: number, windowUs: number): number {
    if (tsUs - this.burstStart[e]! > windowUs) {
      this.burstStart[e] = tsUs;
      this.burst[e] = 0;
    }
    if (this.burst[e]! < 0xffff) this.burst[e]!++;
    return this.burst[e]!;
  }
}
