/**
 * The source merge: one partition's header batches from several sources (sensors), merged by capture time.
 *
 * Two taps (or two capture processes) may publish the two directions of the same connections into one
 * partition; their batches interleave in Kafka in arrival order, not in capture order. The merge holds
 * each source's headers until every *active* source has passed their capture time, then releases them to
 * the engine in capture order (a k-way merge of the sources, each source's own headers kept in arrival
 * order).
 *
 * Time here is the partition's *arrival time*: the Kafka timestamp of the latest message (`K`), so every
 * decision is a function of the partition's messages in offset order and a replay makes the same ones.
 * - A source is active while its last message arrived at most `delayMs` before `K`.
 * - The frontier `F` (capture time, µs) only moves forward: to the lowest capture watermark (highest capture
 *   time seen) of the active sources, and to the capture time of any header that arrived `delayMs` or more
 *   before `K` (no header waits longer than that). Released = exactly the headers with `ts <= F`.
 * - A header arriving with `ts < F` is *late*: released at once (in capture order with what is released
 *   with it), counted per sensor.
 * - Until the partition's first `delayMs` of arrival time have passed, a single known source is held
 *   (another source may still show up); from then on a single source is released as it arrives, so a
 *   single-source partition sees its batches whole and unchanged.
 *
 * The state that decisions depend on is written into the commit metadata (`snapshot`) and restored by a
 * new owner (`restore`), which replays from the oldest offset still held (see processor.ts).
 */
import { HeaderColumns } from '@rstwatch/core';

/** One message's headers, held (rows with `ts > F` not yet released). */
interface Held {
  readonly offset: bigint;
  readonly arrivalMs: number;
  readonly cols: HeaderColumns;
  /** Rows released so far (released rows are exactly those with ts <= F at some point). */
  released: Uint8Array | null;
  /** Rows not released yet. */
  left: number;
  /** Highest capture time of the rows not released (µs). */
  maxTs: number;
}

interface Source {
  readonly name: string;
  /** Highest capture time seen from this source (µs). */
  wm: number;
  /** Kafka timestamp of this source's last message (ms). */
  lastArrivalMs: number;
  /** This source's held messages, in offset order. */
  readonly held: Held[];
}

/** Headers to run through the engine, in this order, each run under its sensor name. */
export interface MergeRun {
  cols: HeaderColumns;
  sensor: string;
}

export interface MergeRelease {
  runs: MergeRun[];
  /** Late headers of this push, by source. */
  late: Map<string, number> | null;
}

const NONE: MergeRelease = { runs: [], late: null };

export class SourceMerge {
  private readonly sources = new Map<string, Source>();
  /** Frontier: every header with ts <= F was released (µs); -Infinity before any. */
  private frontier = Number.NEGATIVE_INFINITY;
  /** Arrival time of the partition: the highest Kafka timestamp seen (ms). */
  private arrivalMs = Number.NEGATIVE_INFINITY;
  private openedMs = Number.NEGATIVE_INFINITY;
  private graceOver = false;
  /** During a warm-up replay: never move F beyond this (the frontier recorded at the committed offset). */
  private cap = Number.POSITIVE_INFINITY;
  private heldRows = 0;

  constructor(readonly delayMs: number) {}

  /** Headers held right now. */
  get held(): number {
    return this.heldRows;
  }

  /** The oldest offset with headers still held, or null. */
  get heldFrom(): bigint | null {
    let min: bigint | null = null;
    for (const s of this.sources.values()) {
      const h = s.held[0];
      if (h && (min === null || h.offset < min)) min = h.offset;
    }
    return min;
  }

  /** Limit the frontier (warm-up replay of a new owner, until `restore`). */
  capAt(us: number): void {
    this.cap = us;
  }

  /** Add one message's headers; returns what can go to the engine now. */
  push(offset: bigint, sensor: string, arrivalMs: number, cols: HeaderColumns): MergeRelease {
    if (arrivalMs > this.arrivalMs) this.arrivalMs = arrivalMs;
    if (this.openedMs === Number.NEGATIVE_INFINITY) this.openedMs = arrivalMs;
    let s = this.sources.get(sensor);
    if (!s) {
      s = { name: sensor, wm: Number.NEGATIVE_INFINITY, lastArrivalMs: arrivalMs, held: [] };
      this.sources.set(sensor, s);
    }
    if (arrivalMs > s.lastArrivalMs) s.lastArrivalMs = arrivalMs;
    const n = cols.length;
    let late = 0;
    let maxTs = Number.NEGATIVE_INFINITY;
    const ts = cols.tsUs;
    const f = this.frontier;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (t > maxTs) maxTs = t;
      if (t < f) late++;
    }
    if (maxTs > s.wm) s.wm = maxTs;
    if (n > 0) {
      s.held.push({ offset, arrivalMs, cols, released: null, left: n, maxTs });
      this.heldRows += n;
    }
    if (!this.graceOver && this.arrivalMs - this.openedMs >= this.delayMs) this.graceOver = true;
    const out = this.release(this.target());
    if (late > 0) out.late = new Map([[sensor, late]]);
    return out;
  }

  /** Release everything held (the partition went quiet: every source is silent). */
  flush(): MergeRelease {
    let max = this.frontier;
    for (const s of this.sources.values()) for (const h of s.held) if (h.maxTs > max) max = h.maxTs;
    return this.release(max);
  }

  /**
   * The state decisions depend on, for the commit metadata; '' when it is trivial (nothing held, at most
   * one active source, past the opening): a single-source partition's metadata stays as it was.
   */
  snapshot(): string {
    const active = this.activeSources();
    if (this.heldRows === 0 && active.length <= 1 && this.graceOver) return '';
    const h = this.heldFrom;
    const srcs = [...this.sources.values()]
      .filter((s) => s.held.length > 0 || active.includes(s))
      .map((s) => `${encodeURIComponent(s.name)}=${num(s.wm)}/${num(s.lastArrivalMs)}`)
      .join(',');
    return [
      num(this.frontier),
      h === null ? '-' : String(h),
      this.graceOver ? '1' : '0',
      num(this.arrivalMs),
      num(this.openedMs),
      srcs,
    ].join(':');
  }

  /**
   * A new owner, at its committed offset after replaying from the oldest held offset: take the state the
   * previous owner recorded (`snap`, '' when it was trivial) and release (silently) what it had released.
   * `fresh`: the partition had no committed offset (nothing to restore, the opening still applies).
   */
  restore(snap: string, fresh: boolean): MergeRelease {
    this.cap = Number.POSITIVE_INFINITY;
    if (fresh) return NONE;
    const p = parseSnapshot(snap);
    if (!p) {
      // Nothing was held: release what the replay holds, as the previous owner had.
      this.graceOver = true;
      return this.flush();
    }
    this.graceOver = p.graceOver;
    this.arrivalMs = p.arrivalMs;
    this.openedMs = p.openedMs;
    for (const [name, v] of p.sources) {
      const s = this.sources.get(name);
      if (s) {
        s.wm = v.wm;
        s.lastArrivalMs = v.lastArrivalMs;
      } else this.sources.set(name, { name, wm: v.wm, lastArrivalMs: v.lastArrivalMs, held: [] });
    }
    for (const [name, s] of this.sources)
      if (!p.sources.has(name) && s.held.length === 0) this.sources.delete(name);
    return this.release(Math.max(this.frontier, p.frontier));
  }

  /** The frontier the current state allows. */
  private target(): number {
    const active = this.activeSources();
    let f = this.frontier;
    if (this.graceOver || active.length >= 2) {
      let min = Number.POSITIVE_INFINITY;
      for (const s of active) if (s.wm < min) min = s.wm;
      if (min !== Number.POSITIVE_INFINITY && min > f) f = min;
    }
    // No header waits longer than the delay (in arrival time).
    const old = this.arrivalMs - this.delayMs;
    for (const s of this.sources.values()) {
      for (const h of s.held) if (h.arrivalMs <= old && h.maxTs > f) f = h.maxTs;
    }
    return f;
  }

  private activeSources(): Source[] {
    const since = this.arrivalMs - this.delayMs;
    const out: Source[] = [];
    for (const s of this.sources.values()) if (s.lastArrivalMs >= since) out.push(s);
    return out;
  }

  /** The name headers are processed under: the active sources, sorted, joined with '+'. */
  private groupName(fallback: string): string {
    const names = this.activeSources().map((s) => s.name);
    if (names.length === 0) return fallback;
    if (names.length === 1) return names[0]!;
    return names.sort().join('+');
  }

  /** Move the frontier to `to` (capped) and release every held header with ts <= F, in capture order. */
  private release(to: number): MergeRelease {
    const f = Math.min(Math.max(this.frontier, to), this.cap);
    if (f > this.frontier) this.frontier = f;
    const { seqs, total } = this.releasable(this.frontier);
    if (total === 0) return { runs: [], late: null };
    const name = this.groupName(seqs[0]!.src.name);
    const runs =
      seqs.length === 1 ? oneSource(seqs[0]!, name) : [{ cols: mergeByTime(seqs, total), sensor: name }];
    this.markReleased(seqs);
    return { runs, late: null };
  }

  /** Per source (by name), the held rows with ts <= `F` not released yet, in arrival order. */
  private releasable(F: number): { seqs: Releasable[]; total: number } {
    const seqs: Releasable[] = [];
    let total = 0;
    for (const s of [...this.sources.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const msgs: Held[] = [];
      const rows: number[][] = [];
      for (const h of s.held) {
        if (h.left === 0) continue;
        const r: number[] = [];
        const ts = h.cols.tsUs;
        for (let i = 0; i < h.cols.length; i++)
          if (ts[i]! <= F && !(h.released && h.released[i] === 1)) r.push(i);
        if (r.length > 0) {
          msgs.push(h);
          rows.push(r);
          total += r.length;
        }
      }
      if (msgs.length > 0) seqs.push({ src: s, msgs, rows });
    }
    return { seqs, total };
  }

  /** Mark what left the merge; drop fully released messages. */
  private markReleased(seqs: readonly Releasable[]): void {
    for (const q of seqs) {
      for (let k = 0; k < q.msgs.length; k++) {
        const h = q.msgs[k]!;
        const r = q.rows[k]!;
        h.left -= r.length;
        this.heldRows -= r.length;
        if (h.left > 0) {
          h.released ??= new Uint8Array(h.cols.length);
          let max = Number.NEGATIVE_INFINITY;
          for (const i of r) h.released[i] = 1;
          for (let i = 0; i < h.cols.length; i++) {
            if (h.released[i] === 0 && h.cols.tsUs[i]! > max) max = h.cols.tsUs[i]!;
          }
          h.maxTs = max;
        }
      }
      const kept = q.src.held.filter((h) => h.left > 0);
      q.src.held.length = 0;
      for (const h of kept) q.src.held.push(h);
    }
  }
}

/** One source's releasable rows: its held messages and, per message, the rows to release. */
interface Releasable {
  src: Source;
  msgs: Held[];
  rows: number[][];
}

/** One source: its rows in arrival order; whole, untouched messages go as they are. */
function oneSource(q: Releasable, name: string): MergeRun[] {
  const runs: MergeRun[] = [];
  for (let k = 0; k < q.msgs.length; k++) {
    const h = q.msgs[k]!;
    const r = q.rows[k]!;
    if (r.length === h.cols.length && h.released === null) runs.push({ cols: h.cols, sensor: name });
    else {
      const c = HeaderColumns.allocate(r.length);
      for (const i of r) c.copyFrom(h.cols, i);
      runs.push({ cols: c, sensor: name });
    }
  }
  return runs;
}

/** Several sources: a k-way merge of their rows by capture time; ties go to the source first by name. */
function mergeByTime(seqs: readonly Releasable[], total: number): HeaderColumns {
  const c = HeaderColumns.allocate(total);
  const pos = seqs.map(() => ({ m: 0, r: 0 }));
  for (let n = 0; n < total; n++) {
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let j = 0; j < seqs.length; j++) {
      const p = pos[j]!;
      const q = seqs[j]!;
      if (p.m >= q.msgs.length) continue;
      const t = q.msgs[p.m]!.cols.tsUs[q.rows[p.m]![p.r]!]!;
      if (t < bestTs) {
        bestTs = t;
        best = j;
      }
    }
    const p = pos[best]!;
    const q = seqs[best]!;
    c.copyFrom(q.msgs[p.m]!.cols, q.rows[p.m]![p.r]!);
    if (++p.r >= q.rows[p.m]!.length) {
      p.m++;
      p.r = 0;
    }
  }
  return c;
}

function num(x: number): string {
  return x === Number.NEGATIVE_INFINITY ? '-' : String(x);
}

function unnum(s: string): number {
  return s === '-' ? Number.NEGATIVE_INFINITY : Number(s);
}

export interface MergeSnapshot {
  frontier: number;
  heldFrom: bigint | null;
  graceOver: boolean;
  arrivalMs: number;
  openedMs: number;
  sources: Map<string, { wm: number; lastArrivalMs: number }>;
}

/** Parse what {@link SourceMerge.snapshot} wrote; null for '' (trivial state) or garbage. */
export function parseSnapshot(snap: string): MergeSnapshot | null {
  if (snap === '') return null;
  const p = snap.split(':');
  if (p.length !== 6) return null;
  const sources = new Map<string, { wm: number; lastArrivalMs: number }>();
  for (const part of p[5]!.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const slash = part.indexOf('/', eq);
    if (eq < 0 || slash < 0) return null;
    sources.set(decodeURIComponent(part.slice(0, eq)), {
      wm: unnum(part.slice(eq + 1, slash)),
      lastArrivalMs: unnum(part.slice(slash + 1)),
    });
  }
  return {
    frontier: unnum(p[0]!),
    heldFrom: p[1] === '-' ? null : BigInt(p[1]!),
    graceOver: p[2] === '1',
    arrivalMs: unnum(p[3]!),
    openedMs: unnum(p[4]!),
    sources,
  };
}
