/**
 * The HTML report's data model, built while `analyze` streams events: RSTs per time bin by cause and by
 * origin, top senders / receivers / services split by cause, the alerts (latest version of each), and a
 * bounded selection of RSTs worth drawing as ladder diagrams (the first of each cause, the alerts'
 * sample flows, the first of each cause and origin pair). Memory is bounded whatever the capture size.
 */
import { CAUSES, type Cause, ORIGINS, type Origin, type RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';

/** Time-bin widths (ms); each divides the next, so fine bins merge exactly into coarser ones. */
export const BIN_STEPS_MS = [
  10, 50, 100, 500, 1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 21_600_000,
  86_400_000,
] as const;

/** The step after `step` on the ladder (doubling past a day). */
function nextStep(step: number): number {
  for (const s of BIN_STEPS_MS) if (s > step) return s;
  return step * 2;
}

const NC = CAUSES.length;
const NO = ORIGINS.length;
const CAUSE_INDEX = new Map<string, number>(CAUSES.map((c, i) => [c, i]));
const ORIGIN_INDEX = new Map<string, number>(ORIGINS.map((o, i) => [o, i]));

/** Dense series for the time charts: bin starts (Unix seconds) and one count array per name. */
export interface TimeSeries {
  stepMs: number;
  /** Start of each bin, Unix seconds (what uPlot's time axis takes). */
  t: number[];
  byCause: { name: Cause; counts: number[] }[];
  byOrigin: { name: Origin; counts: number[] }[];
}

/**
 * Counts per time bin and per cause and origin. Bins start at `BIN_STEPS_MS[0]` and grow along the ladder
 * whenever more than `maxBins` are held, so memory stays bounded over any capture span.
 */
export class TimeBins {
  private step: number = BIN_STEPS_MS[0];
  /** Bin number (time / step) -> counts: causes then origins. */
  private bins = new Map<number, Uint32Array>();
  private minMs = Number.POSITIVE_INFINITY;
  private maxMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxBins = 4096) {}

  get stepMs(): number {
    return this.step;
  }

  add(ms: number, cause: number, origin: number): void {
    if (!Number.isFinite(ms)) return;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
    const k = Math.floor(ms / this.step);
    let b = this.bins.get(k);
    if (b === undefined) {
      b = new Uint32Array(NC + NO);
      this.bins.set(k, b);
    }
    b[cause]!++;
    b[NC + origin]!++;
    // After counting: coarsening merges this bin's array into another.
    if (this.bins.size > this.maxBins) this.coarsen(nextStep(this.step));
  }

  private coarsen(step: number): void {
    const f = step / this.step;
    const next = new Map<number, Uint32Array>();
    for (const [k, counts] of this.bins) {
      const nk = Math.floor(k / f);
      const into = next.get(nk);
      if (into === undefined) next.set(nk, counts);
      else for (let i = 0; i < counts.length; i++) into[i]! += counts[i]!;
    }
    this.bins = next;
    this.step = step;
    if (this.bins.size > this.maxBins) this.coarsen(nextStep(step));
  }

  /**
   * Dense series with at most `target` bins: the finest ladder step (not finer than what is held) that
   * covers the span in that many. Only causes and origins that occur get a series.
   */
  series(target = 120): TimeSeries {
    if (this.bins.size === 0) return { stepMs: this.step, t: [], byCause: [], byOrigin: [] };
    let step = this.step;
    while (Math.floor(this.maxMs / step) - Math.floor(this.minMs / step) + 1 > target) step = nextStep(step);
    const f = step / this.step;
    const first = Math.floor(this.minMs / step);
    const n = Math.floor(this.maxMs / step) - first + 1;
    const dense = Array.from({ length: NC + NO }, () => new Array<number>(n).fill(0));
    for (const [k, counts] of this.bins) {
      const i = Math.floor(k / f) - first;
      for (let c = 0; c < counts.length; c++) dense[c]![i]! += counts[c]!;
    }
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      stepMs: step,
      t: Array.from({ length: n }, (_, i) => ((first + i) * step) / 1000),
      byCause: CAUSES.map((name, i) => ({ name, counts: dense[i]! })).filter((s) => total(s.counts) > 0),
      byOrigin: ORIGINS.map((name, i) => ({ name, counts: dense[NC + i]! })).filter(
        (s) => total(s.counts) > 0,
      ),
    };
  }
}

/** One row of a top-N chart: the key, its total and its counts per cause (in `CAUSES` order). */
export interface TopRow {
  key: string;
  total: number;
  byCause: number[];
}

/**
 * Counts by key and cause with a bounded number of keys (lossy counting): past `maxKeys`, the keys with
 * the smallest totals are dropped until half remain. `maxDropped` is then an upper bound of how much any
 * count may be short; 0 means every count is exact.
 */
export class TopCounter {
  private readonly counts = new Map<string, Uint32Array>();
  maxDropped = 0;

  constructor(private readonly maxKeys = 50_000) {}

  add(key: string, cause: number): void {
    let c = this.counts.get(key);
    if (c === undefined) {
      if (this.counts.size >= this.maxKeys) this.prune();
      c = new Uint32Array(NC + 1);
      this.counts.set(key, c);
    }
    c[cause]!++;
    c[NC]!++;
  }

  private prune(): void {
    const totals = [...this.counts.values()].map((c) => c[NC]!).sort((a, b) => a - b);
    const cut = totals[Math.floor(totals.length / 2)]!;
    for (const [k, c] of this.counts) {
      if (c[NC]! <= cut) {
        if (c[NC]! > this.maxDropped) this.maxDropped = c[NC]!;
        this.counts.delete(k);
      }
    }
  }

  /** The `n` largest, ties broken by key. */
  top(n: number): TopRow[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1][NC]! - a[1][NC]! || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([key, c]) => ({ key, total: c[NC]!, byCause: Array.from(c.subarray(0, NC)) }));
  }
}

/** `ip:port`, with IPv6 addresses in brackets. */
export function endpointText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const ORIGIN_PHRASE: Record<string, string> = {
  endpoint: 'sent by the endpoint',
  middlebox: 'sent by a middlebox',
  spoofed: 'spoofed',
  unknown: 'of unknown origin',
};

/** A RST chosen for a ladder diagram, and why. */
export interface SelectedRst {
  /** `rst-1`, `rst-2`, ... in order of selection (anchors in the page). */
  id: string;
  reasons: string[];
  event: RstEvent;
}

export interface SelectionLimits {
  /** Most RSTs selected in all (default 50). */
  max: number;
  /** Sample flows looked up per alert (default 2). */
  perAlert: number;
  /** Cause and origin pairs are selected only while fewer than this many are (room kept for alerts). */
  pairsUpTo: number;
  /** Recent events remembered by Community ID, to find an alert's samples (default 8192). */
  recent: number;
}

const DEFAULT_LIMITS: SelectionLimits = { max: 50, perAlert: 2, pairsUpTo: 40, recent: 8192 };

/** Everything the page shows, except the ladders (see `ladder.ts`). */
export interface ReportModel {
  events: number;
  firstTs: string;
  lastTs: string;
  time: TimeSeries;
  causes: { cause: Cause; count: number; byOrigin: Record<Origin, number> }[];
  origins: { origin: Origin; count: number }[];
  top: { senders: TopRow[]; receivers: TopRow[]; services: TopRow[] };
  /** Upper bound of how much a top count may be short (0: exact). */
  topApproximation: number;
  /** Latest version of each alert, most severe first, then the earliest. */
  alerts: Alert[];
  /** Alert id -> ids of the selected RSTs that sample it. */
  alertSamples: Record<string, string[]>;
  selected: SelectedRst[];
}

/** Streams events and alerts into the report's model. */
export class ReportCollector {
  private events = 0;
  private firstTs = '';
  private lastTs = '';
  private readonly bins: TimeBins;
  private readonly byCause = new Uint32Array(NC);
  private readonly byCauseOrigin = new Uint32Array(NC * NO);
  private readonly senders = new TopCounter();
  private readonly receivers = new TopCounter();
  private readonly services = new TopCounter();
  private readonly alertsById = new Map<string, Alert>();
  private readonly alertSamples = new Map<string, string[]>();
  private readonly selected: SelectedRst[] = [];
  private readonly selectedByKey = new Map<string, SelectedRst>();
  private readonly seenCause = new Set<number>();
  private readonly seenPair = new Set<number>();
  /** Community ID -> the latest RST on it, for the last `limits.recent` flows. */
  private readonly recent = new Map<string, RstEvent>();
  /** Community ID of an alert sample not seen yet -> the alert ids waiting for it. */
  private readonly wanted = new Map<string, string[]>();
  private readonly limits: SelectionLimits;

  constructor(limits: Partial<SelectionLimits> = {}, maxBins = 4096) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.bins = new TimeBins(maxBins);
  }

  add(e: RstEvent): void {
    this.events++;
    if (this.firstTs === '' || e.ts < this.firstTs) this.firstTs = e.ts;
    if (e.ts > this.lastTs) this.lastTs = e.ts;
    const c = CAUSE_INDEX.get(e.cause) ?? NC - 1;
    const o = ORIGIN_INDEX.get(e.origin) ?? NO - 1;
    this.bins.add(Date.parse(e.ts), c, o);
    this.byCause[c]!++;
    this.byCauseOrigin[c * NO + o]!++;
    this.senders.add(e.src_ip, c);
    this.receivers.add(e.dst_ip, c);
    // The service is the responder's side of the connection (as in the table summary).
    this.services.add(
      e.direction === 'resp' ? endpointText(e.src_ip, e.src_port) : endpointText(e.dst_ip, e.dst_port),
      c,
    );

    if (!this.seenCause.has(c)) {
      this.seenCause.add(c);
      this.select(e, `first ${e.cause}`, true);
    }
    const pair = c * NO + o;
    if (!this.seenPair.has(pair) && this.selected.length < this.limits.pairsUpTo) {
      this.seenPair.add(pair);
      this.select(e, `first ${e.cause} ${ORIGIN_PHRASE[e.origin] ?? e.origin}`);
    }
    const cid = e.community_id;
    const waiting = this.wanted.get(cid);
    if (waiting !== undefined) {
      this.wanted.delete(cid);
      for (const id of waiting) this.sampleFor(id, e);
    }
    this.recent.delete(cid);
    this.recent.set(cid, e);
    if (this.recent.size > this.limits.recent) this.recent.delete(this.recent.keys().next().value!);
  }

  /** An alert version; the first version of each alert picks its sample RSTs. */
  alert(a: Alert): void {
    const had = this.alertsById.get(a.id);
    if (had === undefined || had.version < a.version) this.alertsById.set(a.id, a);
    if (had !== undefined) return;
    for (const cid of a.community_ids.slice(0, this.limits.perAlert)) {
      const e = this.recent.get(cid);
      if (e !== undefined) this.sampleFor(a.id, e);
      else if (this.wanted.size < 4 * this.limits.max) {
        const w = this.wanted.get(cid);
        if (w) w.push(a.id);
        else this.wanted.set(cid, [a.id]);
      }
    }
  }

  private sampleFor(alertId: string, e: RstEvent): void {
    const a = this.alertsById.get(alertId)!;
    const s = this.select(e, `sample of alert ${a.rule} on ${a.entity}`);
    if (s === null) return;
    const ids = this.alertSamples.get(alertId) ?? [];
    if (!ids.includes(s.id)) ids.push(s.id);
    this.alertSamples.set(alertId, ids);
  }

  /** Selects `e` (or adds a reason to it when selected already); null when the selection is full. */
  private select(e: RstEvent, reason: string, always = false): SelectedRst | null {
    const key = `${e.ts}|${e.src_ip}|${e.src_port}|${e.dst_ip}|${e.dst_port}|${e.seq}`;
    const had = this.selectedByKey.get(key);
    if (had !== undefined) {
      if (!had.reasons.includes(reason)) had.reasons.push(reason);
      return had;
    }
    // The first of each cause always fits: at most one per cause beyond `max`.
    if (!always && this.selected.length >= this.limits.max) return null;
    const s: SelectedRst = { id: `rst-${this.selected.length + 1}`, reasons: [reason], event: e };
    this.selected.push(s);
    this.selectedByKey.set(key, s);
    return s;
  }

  /** The RSTs selected so far, in order of selection. */
  get selection(): readonly SelectedRst[] {
    return this.selected;
  }

  model(topN = 10): ReportModel {
    const causes: ReportModel['causes'] = [];
    CAUSES.forEach((cause, c) => {
      const byOrigin = {} as Record<Origin, number>;
      ORIGINS.forEach((o, i) => {
        byOrigin[o] = this.byCauseOrigin[c * NO + i]!;
      });
      causes.push({ cause, count: this.byCause[c]!, byOrigin });
    });
    const origins = ORIGINS.map((origin, i) => {
      let count = 0;
      for (let c = 0; c < NC; c++) count += this.byCauseOrigin[c * NO + i]!;
      return { origin, count };
    });
    const alerts = [...this.alertsById.values()].sort(
      (a, b) =>
        b.severity_score - a.severity_score ||
        (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0) ||
        (a.id < b.id ? -1 : 1),
    );
    return {
      events: this.events,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      time: this.bins.series(),
      causes,
      origins,
      top: {
        senders: this.senders.top(topN),
        receivers: this.receivers.top(topN),
        services: this.services.top(topN),
      },
      topApproximation: Math.max(
        this.senders.maxDropped,
        this.receivers.maxDropped,
        this.services.maxDropped,
      ),
      alerts,
      alertSamples: Object.fromEntries(this.alertSamples),
      selected: [...this.selected],
    };
  }
}
