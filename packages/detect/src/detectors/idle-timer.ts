/**
 * `idle_timeout_fingerprint`: a load balancer or firewall idle timer, learned from the traffic. Every
 * mid-connection RST carries `idle_gap_s=N` (the classifier's floor of the flow's silence before it,
 * whatever its cause); gaps of at least `minIdleS` are kept per service (the last MAX_GAPS). When
 * `minRsts` of them, and at least a quarter of the gaps remembered (MIN_SHARE: random idle gaps of a busy
 * service cluster by chance now and then, a timer dominates), lie within `toleranceS` of each other
 * (max - min <= toleranceS), the service's timer is learned as their median and the alert fires. From then on, every RST of that service whose
 * gap is within `toleranceS` of the timer gets `learned_idle_timer_s=N` appended to its evidence (also
 * those the fixed `classifier.idleTimeoutS` did not call `idle_timeout`) and joins the open alert.
 */
import type { RstEvent } from '@rstwatch/core';
import type { Episode } from '../episode.js';
import { clientOf, serviceKey, splitHostPort } from '../keys.js';
import { type Hit, hitOf, topCounts } from '../window.js';
import {
  type Description,
  Detector,
  type DetectorContext,
  type EntityState,
  evidenceNumber,
} from './base.js';

/** Gaps remembered per service while no timer explains them. */
const MAX_GAPS = 64;
/** Share of the remembered gaps a cluster needs besides `minRsts`. */
const MIN_SHARE = 0.25;
export const LEARNED_EVIDENCE = 'learned_idle_timer_s=';

interface State extends EntityState {
  gaps: Hit[];
  /** The learned timer in seconds, NaN until one is. */
  learned: number;
}

export class IdleTimerDetector extends Detector<State> {
  readonly rule = 'idle_timeout_fingerprint' as const;
  readonly kind = 'service' as const;
  private readonly need: number;
  private readonly tol: number;
  private readonly minIdle: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    const c = ctx.config.idle_timeout_fingerprint;
    this.need = c.minRsts;
    this.tol = c.toleranceS;
    this.minIdle = c.minIdleS;
  }

  keyOf(e: RstEvent): string | undefined {
    return serviceKey(e);
  }

  protected newState(): State {
    return { ep: undefined, gaps: [], learned: Number.NaN };
  }

  observe(e: RstEvent, us: number, service: string): void {
    const gap = evidenceNumber(e, 'idle_gap_s=');
    if (!(gap >= this.minIdle)) return;
    const st = this.state(service);
    const h = hitOf(e, us);
    h.peer = clientOf(e);
    h.v1 = gap;
    h.note = e.cause;
    if (Math.abs(gap - st.learned) <= this.tol) {
      annotate(e, st.learned);
      const ep = this.current(st);
      if (ep !== undefined) {
        this.contribute(ep, h);
        return;
      }
    }
    st.gaps.push(h);
    if (st.gaps.length > MAX_GAPS) st.gaps.shift();
    if (this.current(st) !== undefined) return;
    const lo = this.cluster(st.gaps, gap);
    if (lo < 0) return;
    const hits: Hit[] = [];
    const rest: Hit[] = [];
    for (const x of st.gaps) (x.v1 >= lo && x.v1 <= lo + this.tol ? hits : rest).push(x);
    st.gaps = rest;
    const sorted = hits.map((x) => x.v1).sort((a, b) => a - b);
    st.learned = sorted[(sorted.length - 1) >> 1]!;
    annotate(e, st.learned);
    this.raise(service, st, hits, { learned_idle_timer_s: st.learned });
  }

  /** Lower bound of a `need`-strong cluster of gaps (span <= tolerance) containing `gap`, or -1. */
  private cluster(gaps: readonly Hit[], gap: number): number {
    let best = -1;
    let bestN = 0;
    for (let lo = gap - this.tol; lo <= gap; lo++) {
      let n = 0;
      for (const x of gaps) if (x.v1 >= lo && x.v1 <= lo + this.tol) n++;
      if (n > bestN) {
        best = lo;
        bestN = n;
      }
    }
    return bestN >= this.need && bestN >= MIN_SHARE * gaps.length ? best : -1;
  }

  protected describe(ep: Episode): Description {
    const [host, port] = splitHostPort(ep.entity);
    const timer = Number(ep.info.learned_idle_timer_s);
    const gaps = [...ep.v1.keys()].sort((a, b) => a - b);
    const causes = topCounts(ep.notes, 17);
    const classified = ep.notes.get('idle_timeout') ?? 0;
    return {
      summary: `${ep.entity}: ${ep.count} connections reset after ${timer} s idle (±${this.tol} s): an idle timer, ${ep.count - classified} of them not called idle_timeout`,
      evidence: [
        `rsts=${ep.count}`,
        `${LEARNED_EVIDENCE}${timer}`,
        `tolerance_s=${this.tol}`,
        `idle_timeout_rsts=${classified}`,
      ],
      details: {
        learned_idle_timer_s: timer,
        tolerance_s: this.tol,
        min_idle_s: this.minIdle,
        gap_min_s: gaps[0] ?? timer,
        gap_max_s: gaps[gaps.length - 1] ?? timer,
        gaps_s: gaps,
        causes: causes.map(([c, n]) => `${c}=${n}`),
        clients: ep.peers.sorted(),
      },
      destination_ip: host,
      destination_port: port,
    };
  }
}

function annotate(e: RstEvent, timer: number): void {
  const s = `${LEARNED_EVIDENCE}${timer}`;
  if (!e.evidence.includes(s)) e.evidence.push(s);
}
