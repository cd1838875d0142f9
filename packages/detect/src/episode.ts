/**
 * One alert episode: the open alert of one rule on one entity, with everything its versions report
 * (counts, samples, histograms) and what was last emitted (for rate-limited updates). An episode is
 * first *armed* (its threshold was met) and raised once the watermark is LATENESS_US past that point, so
 * that events arriving a little late still count and the id names the same first event whatever the
 * arrival order.
 */
import type { AlertRule, EntityKind } from './alert.js';
import { MAX_DISTINCT, MAX_HISTOGRAM, MAX_SENSORS } from './config.js';
import { bump, type Hit, Sample } from './window.js';

export class Episode {
  /** Set when the episode is confirmed (raised); '' while armed. */
  id = '';
  /** Armed (threshold met) until the watermark passes this time, µs; 0 once raised. */
  armedUntil: number;
  /** Hits counted while armed, linked once raised (bounded by MAX_HELD). */
  held: Hit[] = [];
  version = 0;
  count = 0;
  firstUs: number;
  firstTs: string;
  firstCid: string;
  lastUs: number;
  lastTs: string;
  /** Sources (senders or scanner), peers (victim hosts, probed hosts, clients) and flows: earliest first. */
  readonly sources: Sample;
  readonly peers: Sample;
  readonly cids: Sample;
  readonly distinctSources = new Set<string>();
  /** Hits per peer (at most MAX_DISTINCT peers). */
  readonly distinctPeers = new Map<string, number>();
  readonly sensors = new Set<string>();
  /** Hits per reported port, per evidence bit, and histograms of the detector's figures and labels. */
  readonly ports = new Map<number, number>();
  readonly marks = new Int32Array(16);
  readonly v1 = new Map<number, number>();
  readonly v2 = new Map<number, number>();
  readonly notes = new Map<string, number>();
  /** Detector-specific figures reported in details (learned timer, baseline, scan shape ...). */
  readonly info: Record<string, number | string> = {};
  /** Raised but suppressed: absorbs its evidence silently until it goes quiet. */
  suppressed = false;
  lastEmitUs = 0;
  lastEmitCount = 0;
  lastEmitSources = 0;

  constructor(
    readonly rule: AlertRule,
    readonly kind: EntityKind,
    readonly entity: string,
    first: Hit,
    sampleSize: number,
    armedUntil: number,
  ) {
    this.armedUntil = armedUntil;
    this.firstUs = first.us;
    this.firstTs = first.ts;
    this.firstCid = first.community_id;
    this.lastUs = first.us;
    this.lastTs = first.ts;
    this.sources = new Sample(sampleSize);
    this.peers = new Sample(sampleSize);
    this.cids = new Sample(sampleSize);
  }

  /** Count one contributing hit. */
  add(h: Hit): void {
    this.count++;
    if (h.us < this.firstUs || (h.us === this.firstUs && h.community_id < this.firstCid)) {
      this.firstUs = h.us;
      this.firstTs = h.ts;
      this.firstCid = h.community_id;
    }
    if (h.us > this.lastUs) {
      this.lastUs = h.us;
      this.lastTs = h.ts;
    }
    this.sources.add(h.source, h.us);
    this.peers.add(h.peer, h.us);
    this.cids.add(h.community_id, h.us);
    if (this.distinctSources.size < MAX_DISTINCT) this.distinctSources.add(h.source);
    bump(this.distinctPeers, h.peer, MAX_DISTINCT);
    if (this.sensors.size < MAX_SENSORS) this.sensors.add(h.sensor);
    bump(this.ports, h.port, MAX_DISTINCT);
    for (let m = h.mark, bit = 0; m !== 0; m >>>= 1, bit++) if ((m & 1) !== 0) this.marks[bit]!++;
    if (!Number.isNaN(h.v1)) bump(this.v1, h.v1, MAX_HISTOGRAM);
    if (!Number.isNaN(h.v2)) bump(this.v2, h.v2, MAX_HISTOGRAM);
    if (h.note !== '') bump(this.notes, h.note, MAX_HISTOGRAM);
  }

  /** Evidence counted since the last emitted version. */
  get pending(): boolean {
    return this.count > this.lastEmitCount;
  }
}
