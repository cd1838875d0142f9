/**
 * Windowed counting shared by the detectors: a `Hit` is what a detector keeps of one contributing RST,
 * a `HitWindow` holds an entity's recent hits in capture-time order (bounded) and says when enough of
 * them fall within the window, and a `Sample` keeps the earliest distinct values (so a replay or a
 * slightly reordered stream yields the same sample).
 */
import type { RstEvent } from '@rstwatch/core';

/** One contributing RST as a detector keeps it: link fields plus a few detector-specific figures. */
export interface Hit {
  /** Capture time, µs since the epoch. */
  us: number;
  ts: string;
  community_id: string;
  sensor: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  /** The source the alert names (the RST's sender, or the scanner). */
  source: string;
  /** The other party the detector reports (victim port's host, probed host, client). */
  peer: string;
  /** The port the detector reports (victim port, probed port, service port). */
  port: number;
  /** Detector-specific evidence bits. */
  mark: number;
  /** Detector-specific figures (NaN when absent): TTL delta and IP ID gap, idle gap, ... */
  v1: number;
  v2: number;
  /** Detector-specific label (tampering signature, cause, ...). */
  note: string;
}

/** A hit for `e` at `us`; `source`/`peer`/`port` default to the RST's sender, receiver and dst port. */
export function hitOf(e: RstEvent, us: number): Hit {
  return {
    us,
    ts: e.ts,
    community_id: e.community_id,
    sensor: e.sensor,
    src_ip: e.src_ip,
    src_port: e.src_port,
    dst_ip: e.dst_ip,
    dst_port: e.dst_port,
    source: e.src_ip,
    peer: e.dst_ip,
    port: e.dst_port,
    mark: 0,
    v1: Number.NaN,
    v2: Number.NaN,
    note: '',
  };
}

/** Earlier capture time first; ties by community id then source, so the order is input-independent. */
export function hitBefore(a: Hit, b: Hit): boolean {
  if (a.us !== b.us) return a.us < b.us;
  if (a.community_id !== b.community_id) return a.community_id < b.community_id;
  return a.src_ip < b.src_ip;
}

/**
 * Hits of one entity in capture-time order, at most `cap`, none older than the newest minus the window.
 * `add` reports the first run of `need` hits spanning at most the window that contains the new hit.
 */
export class HitWindow {
  private hits: Hit[] = [];

  constructor(
    private readonly windowUs: number,
    private readonly cap: number,
  ) {}

  get size(): number {
    return this.hits.length;
  }

  /**
   * Insert `h` (late hits go to their place) and expire old ones. Returns the index of the earliest hit
   * of a run of `need` hits within the window that includes `h`, or -1.
   */
  add(h: Hit, need: number): number {
    const hs = this.hits;
    let p = hs.length;
    while (p > 0 && hitBefore(h, hs[p - 1]!)) p--;
    hs.splice(p, 0, h);
    const newest = hs[hs.length - 1]!.us;
    let drop = 0;
    while (drop < hs.length && (hs[drop]!.us < newest - this.windowUs || hs.length - drop > this.cap)) drop++;
    if (drop > 0) {
      hs.splice(0, drop);
      p -= drop;
      if (p < 0) return -1;
    }
    if (need < 1) need = 1;
    const last = Math.min(p, hs.length - need);
    for (let j = Math.max(0, p - need + 1); j <= last; j++) {
      if (hs[j + need - 1]!.us - hs[j]!.us <= this.windowUs) return j;
    }
    return -1;
  }

  /** Remove and return every hit from index `from` on (the contributing hits of a firing). */
  takeFrom(from: number): Hit[] {
    return this.hits.splice(from);
  }

  clear(): void {
    this.hits.length = 0;
  }
}

/**
 * The `cap` earliest distinct values by capture time (ties by value). `add` says whether the sample grew.
 */
export class Sample {
  readonly values: string[] = [];
  private readonly times: number[] = [];

  constructor(private readonly cap: number) {}

  get length(): number {
    return this.values.length;
  }

  add(v: string, us: number): boolean {
    const vs = this.values;
    const i = vs.indexOf(v);
    if (i >= 0) {
      if (us < this.times[i]!) this.times[i] = us;
      return false;
    }
    if (vs.length < this.cap) {
      vs.push(v);
      this.times.push(us);
      return true;
    }
    let worst = 0;
    for (let k = 1; k < vs.length; k++) if (this.later(k, worst)) worst = k;
    if (us < this.times[worst]! || (us === this.times[worst]! && v < vs[worst]!)) {
      vs[worst] = v;
      this.times[worst] = us;
    }
    return false;
  }

  /** The values sorted. */
  sorted(): string[] {
    return [...this.values].sort();
  }

  /** The values in capture-time order (ties by value). */
  byTime(): string[] {
    const idx = this.values.map((_, k) => k);
    idx.sort((a, b) => (this.later(a, b) ? 1 : this.later(b, a) ? -1 : 0));
    return idx.map((k) => this.values[k]!);
  }

  private later(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta > tb || (ta === tb && this.values[a]! > this.values[b]!);
  }
}

/** Count of `key` in `m`, adding it only while `m` holds fewer than `cap` keys. */
export function bump<K>(m: Map<K, number>, key: K, cap: number, by = 1): void {
  const n = m.get(key);
  if (n !== undefined) m.set(key, n + by);
  else if (m.size < cap) m.set(key, by);
}

/** The entries of a count map, largest count first (ties by key), at most `limit`. */
export function topCounts<K extends string | number>(m: Map<K, number>, limit: number): Array<[K, number]> {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit);
}
