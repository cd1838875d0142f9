/**
 * `rst_rate_anomaly`: RSTs per service and cause, counted in buckets of `bucketS` of capture time,
 * against a baseline learned per series (EWMA of mean and variance with weight `alpha`; empty buckets
 * count as zero, at most MAX_FILL of them at a time). After `warmupBuckets` buckets a series fires as soon
 * as its current bucket holds at least `minRsts` RSTs and more than mean + zScore·sd, where sd is at least
 * max(1, √mean) (Poisson-like floor: a flat zero baseline does not fire on a handful of RSTs). The
 * anomalous bucket's RSTs (the first HELD of them linked) and the rest of it contribute; one alert per
 * service whatever the cause (details name the causes).
 */
import { CAUSES, type RstEvent } from '@rstwatch/core';
import { S } from '../config.js';
import type { Episode } from '../episode.js';
import { clientOf, serviceKey, splitHostPort } from '../keys.js';
import { type Hit, hitOf, topCounts } from '../window.js';
import { type Description, Detector, type DetectorContext, type EntityState, round2 } from './base.js';

/** Empty buckets folded into a baseline at once; a longer silence only ages the series. */
const MAX_FILL = 1000;
/** Hits of a bucket kept (for the first version and the links) before it proves anomalous. */
const HELD = 32;

class Series {
  bucket = -1;
  count = 0;
  mean = 0;
  variance = 0;
  n = 0;
  anomalous = false;
  held: Hit[] = [];
}

interface State extends EntityState {
  series: Array<Series | undefined>;
}

const CAUSE_INDEX = new Map<string, number>(CAUSES.map((c, i) => [c, i]));

export class RateAnomalyDetector extends Detector<State> {
  readonly rule = 'rst_rate_anomaly' as const;
  readonly kind = 'service' as const;
  private readonly bucketUs: number;
  private readonly alpha: number;
  private readonly warmup: number;
  private readonly z: number;
  private readonly minRsts: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    const c = ctx.config.rst_rate_anomaly;
    this.bucketUs = c.bucketS * S;
    this.alpha = c.alpha;
    this.warmup = c.warmupBuckets;
    this.z = c.zScore;
    this.minRsts = c.minRsts;
  }

  keyOf(e: RstEvent): string | undefined {
    return serviceKey(e);
  }

  protected newState(): State {
    return { ep: undefined, series: [] };
  }

  observe(e: RstEvent, us: number, service: string): void {
    const ci = CAUSE_INDEX.get(e.cause);
    if (ci === undefined) return;
    const st = this.state(service);
    let s = st.series[ci];
    if (s === undefined) {
      s = new Series();
      st.series[ci] = s;
    }
    const b = Math.floor(us / this.bucketUs);
    if (s.bucket < 0) s.bucket = b;
    else if (b > s.bucket) this.roll(s, b);
    s.count++; // a late event (earlier bucket) counts in the current one
    if (!s.anomalous && s.held.length >= HELD && !this.fires(s)) return;
    const h = hitOf(e, us);
    h.peer = clientOf(e);
    h.note = e.cause;
    if (s.anomalous) {
      const ep = this.current(st);
      if (ep === undefined) {
        this.raise(service, st, [h], this.figures(s, e.cause));
        return;
      }
      if (s.count > Number(ep.info.peak_bucket_rsts)) ep.info.peak_bucket_rsts = s.count;
      this.contribute(ep, h);
      return;
    }
    s.held.push(h);
    if (!this.fires(s)) return;
    s.anomalous = true;
    const info = this.figures(s, e.cause);
    const open = this.current(st);
    const ep = open ?? this.raise(service, st, s.held, info);
    if (open !== undefined) {
      for (const x of s.held) this.contribute(ep, x);
      Object.assign(ep.info, info);
    }
    ep.count += s.count - s.held.length;
    s.held = [];
  }

  private fires(s: Series): boolean {
    return s.n >= this.warmup && s.count >= this.minRsts && s.count > this.threshold(s);
  }

  private threshold(s: Series): number {
    const sd = Math.max(Math.sqrt(s.variance), Math.sqrt(s.mean), 1);
    return s.mean + this.z * sd;
  }

  private figures(s: Series, cause: string): Record<string, number | string> {
    return {
      cause,
      bucket_rsts: s.count,
      peak_bucket_rsts: s.count,
      baseline_mean: round2(s.mean),
      baseline_sd: round2(Math.sqrt(s.variance)),
      threshold: round2(Math.max(this.minRsts, this.threshold(s))),
    };
  }

  /** Close the current bucket into the baseline, then the empty ones up to bucket `b`. */
  private roll(s: Series, b: number): void {
    this.fold(s, s.count);
    const empty = b - s.bucket - 1;
    const fill = Math.min(empty, MAX_FILL);
    for (let k = 0; k < fill; k++) this.fold(s, 0);
    s.n += empty - fill;
    s.bucket = b;
    s.count = 0;
    s.anomalous = false;
    s.held.length = 0;
  }

  private fold(s: Series, x: number): void {
    if (s.n === 0) {
      s.mean = x;
      s.variance = 0;
    } else {
      const diff = x - s.mean;
      const incr = this.alpha * diff;
      s.mean += incr;
      s.variance = (1 - this.alpha) * (s.variance + diff * incr);
    }
    s.n++;
  }

  protected describe(ep: Episode): Description {
    const [host, port] = splitHostPort(ep.entity);
    const causes = topCounts(ep.notes, 17).map((c) => c[0]);
    const i = ep.info;
    const b = this.bucketUs / S;
    return {
      summary: `${ep.entity}: ${i.peak_bucket_rsts} ${i.cause} RSTs in ${b} s against a baseline of ${i.baseline_mean} ± ${i.baseline_sd} (${ep.count} in total)`,
      evidence: [
        `rsts=${ep.count}`,
        `cause=${i.cause}`,
        `bucket_s=${b}`,
        `bucket_rsts=${i.peak_bucket_rsts}`,
        `baseline_mean=${i.baseline_mean}`,
        `baseline_sd=${i.baseline_sd}`,
        `threshold=${i.threshold}`,
      ],
      details: {
        cause: String(i.cause),
        causes,
        bucket_s: b,
        first_bucket_rsts: Number(i.bucket_rsts),
        peak_bucket_rsts: Number(i.peak_bucket_rsts),
        baseline_mean: Number(i.baseline_mean),
        baseline_sd: Number(i.baseline_sd),
        threshold: Number(i.threshold),
        z_score: this.z,
        warmup_buckets: this.warmup,
        clients: ep.peers.sorted(),
      },
      destination_ip: host,
      destination_port: port,
    };
  }
}
