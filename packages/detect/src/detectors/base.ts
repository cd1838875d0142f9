/**
 * What every detector shares: entity state kept in least-recently-seen order within
 * `alerts.maxEntities`, one episode (open alert) per entity, suppression, and the version policy:
 * version 1 when raised, a new version when the count doubles or the source sample grows, otherwise at
 * most one per UPDATE_EVERY_US of capture time, and a closing version after `alerts.quietS` of quiet.
 */
import type { RstEvent } from '@rstwatch/core';
import { formatTsUs } from '@rstwatch/core';
import { type Alert, type AlertRule, type EntityKind, SEVERITY_NUMBER, type Severity } from '../alert.js';
import {
  type AlertsConfig,
  type ClassifierThresholds,
  LATENESS_US,
  MAX_HELD,
  S,
  UPDATE_EVERY_US,
} from '../config.js';
import { Episode } from '../episode.js';
import { alertId } from '../keys.js';
import type { DetectionStats, RuleStats } from '../stats.js';
import type { Suppressor } from '../suppress.js';
import { type Hit, HitWindow } from '../window.js';

/** What the engine gives each detector. */
export interface DetectorContext {
  config: AlertsConfig;
  classifier: ClassifierThresholds;
  suppressor: Suppressor;
  stats: DetectionStats;
  emit(alert: Alert): void;
  link(alertId: string, rule: AlertRule, h: Hit): void;
  /** Largest capture time seen, µs. */
  watermark(): number;
}

/** The rule-specific part of an alert version. */
export interface Description {
  summary: string;
  evidence: string[];
  details: Alert['details'];
  destination_ip: string;
  destination_port: number;
}

export interface EntityState {
  ep: Episode | undefined;
}

export abstract class Detector<St extends EntityState = EntityState> {
  abstract readonly rule: AlertRule;
  abstract readonly kind: EntityKind;
  private readonly states = new Map<string, St>();
  private readonly open = new Map<string, Episode>();
  /** The most recently seen entity (already last in `states`: a flood on one entity skips the move). */
  private lastEntity = '';
  private lastState: St | undefined;
  protected readonly quietUs: number;

  constructor(protected readonly ctx: DetectorContext) {
    this.quietUs = ctx.config.quietS * S;
  }

  /** The entity `e` is keyed by for this detector, or undefined when the detector cannot use it. */
  abstract keyOf(e: RstEvent): string | undefined;
  /** One event of `entity` at capture time `us` (already validated and deduplicated). */
  abstract observe(e: RstEvent, us: number, entity: string): void;
  protected abstract newState(): St;
  protected abstract describe(ep: Episode): Description;

  /** Tracked entities (for tests and metrics). */
  get entities(): number {
    return this.states.size;
  }

  /** The entity's state, created if new, marked most recently seen; evicts the least recent beyond the bound. */
  protected state(entity: string): St {
    if (entity === this.lastEntity && this.lastState !== undefined) return this.lastState;
    let st = this.states.get(entity);
    if (st !== undefined) {
      this.states.delete(entity);
      this.states.set(entity, st);
      this.lastEntity = entity;
      this.lastState = st;
      return st;
    }
    st = this.newState();
    this.states.set(entity, st);
    if (this.states.size > this.ctx.config.maxEntities) this.evictOldest();
    this.lastEntity = entity;
    this.lastState = st;
    return st;
  }

  private evictOldest(): void {
    const [entity, old] = this.states.entries().next().value as [string, St];
    this.states.delete(entity);
    if (old.ep !== undefined) this.close(old.ep, Math.max(old.ep.lastUs, this.ctx.watermark()));
    this.ruleStats.evicted++;
    this.ctx.stats.evicted++;
  }

  protected get ruleStats(): RuleStats {
    return this.ctx.stats.rules[this.rule];
  }

  /** The entity's open episode, closing it first if it went quiet. */
  protected current(st: St): Episode | undefined {
    const ep = st.ep;
    if (ep !== undefined && this.ctx.watermark() - ep.lastUs >= this.quietUs + LATENESS_US) {
      this.close(ep, ep.lastUs + this.quietUs);
      return undefined;
    }
    return ep;
  }

  /**
   * Arm an episode on `entity` from `hits` (all contributing); it is raised (id from its earliest hit,
   * suppression checked, version 1) once the watermark is LATENESS_US further.
   */
  protected raise(
    entity: string,
    st: St,
    hits: readonly Hit[],
    info?: Record<string, number | string>,
  ): Episode {
    const until = this.ctx.watermark() + LATENESS_US;
    const ep = new Episode(this.rule, this.kind, entity, hits[0]!, this.ctx.config.sampleSize, until);
    if (info !== undefined) Object.assign(ep.info, info);
    for (const h of hits) ep.add(h);
    ep.held = hits.slice(0, MAX_HELD);
    st.ep = ep;
    this.open.set(entity, ep);
    return ep;
  }

  /** Raise an armed episode: its id, the suppression check, its links and version 1. */
  private confirm(ep: Episode): void {
    ep.armedUntil = 0;
    ep.id = alertId(this.rule, ep.entity, ep.firstTs, ep.firstCid);
    const held = ep.held;
    ep.held = [];
    if (this.ctx.suppressor.suppressed(this.rule, ep.entity, ep.sources.values)) {
      ep.suppressed = true;
      this.ruleStats.suppressed++;
      return;
    }
    for (const h of held) this.ctx.link(ep.id, this.rule, h);
    this.ruleStats.raised++;
    this.emit(ep, 'open', ep.lastUs);
  }

  /**
   * The common shape of a threshold rule: `h` joins the open episode, or the entity's window, and the
   * episode is raised when `need` hits fall within the window.
   */
  protected windowed(entity: string, st: St & { win: HitWindow }, h: Hit, need: number): void {
    const ep = this.current(st);
    if (ep !== undefined) {
      this.contribute(ep, h);
      return;
    }
    const j = st.win.add(h, need);
    if (j < 0) return;
    const hits = st.win.takeFrom(j);
    st.win.clear();
    this.raise(entity, st, hits);
  }

  /** Count one more hit in an open episode; emits a version when the policy says so. */
  protected contribute(ep: Episode, h: Hit): void {
    ep.add(h);
    if (ep.armedUntil !== 0) {
      if (ep.held.length < MAX_HELD) ep.held.push(h);
      else this.ctx.stats.linksDropped++;
      if (this.ctx.watermark() >= ep.armedUntil) this.confirm(ep);
      return;
    }
    if (ep.suppressed) return;
    this.ctx.link(ep.id, this.rule, h);
    if (
      ep.count >= 2 * ep.lastEmitCount ||
      ep.sources.length > ep.lastEmitSources ||
      ep.lastUs - ep.lastEmitUs >= UPDATE_EVERY_US
    ) {
      this.ruleStats.updated++;
      this.emit(ep, 'open', ep.lastUs);
    }
  }

  /** Close quiet episodes and flush updates held back by the rate limit. */
  sweep(watermark: number): void {
    for (const ep of this.open.values()) {
      if (ep.armedUntil !== 0 && watermark >= ep.armedUntil) this.confirm(ep);
      if (watermark - ep.lastUs >= this.quietUs + LATENESS_US) this.close(ep, ep.lastUs + this.quietUs);
      else if (
        ep.armedUntil === 0 &&
        !ep.suppressed &&
        ep.pending &&
        watermark - ep.lastEmitUs >= UPDATE_EVERY_US
      ) {
        this.ruleStats.updated++;
        this.emit(ep, 'open', ep.lastUs);
      }
    }
  }

  /** End of input: close every open episode at the watermark. */
  finish(watermark: number): void {
    for (const ep of [...this.open.values()]) this.close(ep, Math.max(ep.lastUs, watermark));
  }

  private close(ep: Episode, atUs: number): void {
    if (ep.armedUntil !== 0) this.confirm(ep);
    this.open.delete(ep.entity);
    const st = this.states.get(ep.entity);
    if (st !== undefined && st.ep === ep) st.ep = undefined;
    this.closed(ep);
    if (ep.suppressed) return;
    this.ruleStats.closed++;
    this.emit(ep, 'closed', atUs);
  }

  /** Hook: an episode of this detector closed (detectors that keep per-episode state reset it). */
  protected closed(_ep: Episode): void {}

  private emit(ep: Episode, status: 'open' | 'closed', updatedUs: number): void {
    ep.version++;
    ep.lastEmitUs = ep.lastUs;
    ep.lastEmitCount = ep.count;
    ep.lastEmitSources = ep.sources.length;
    const d = this.describe(ep);
    const severity = this.ctx.config[this.rule].severity as Severity;
    this.ctx.emit({
      id: ep.id,
      version: ep.version,
      rule: this.rule,
      status,
      severity,
      severity_score: SEVERITY_NUMBER[severity],
      summary: d.summary,
      first_seen: ep.firstTs,
      last_seen: ep.lastTs,
      updated: status === 'open' ? ep.lastTs : formatTsUs(updatedUs),
      count: ep.count,
      entity_kind: this.kind,
      entity: ep.entity,
      source_ips: ep.sources.sorted(),
      destination_ip: d.destination_ip,
      destination_port: d.destination_port,
      sensors: [...ep.sensors].sort(),
      community_ids: ep.cids.byTime(),
      evidence: d.evidence,
      details: d.details,
    });
  }
}

/** Integer value of the first evidence string `name=N` of `e`, or NaN. */
export function evidenceNumber(e: RstEvent, prefix: string): number {
  const ev = e.evidence;
  for (let k = 0; k < ev.length; k++) {
    const s = ev[k]!;
    if (typeof s === 'string' && s.startsWith(prefix)) return Number(s.slice(prefix.length));
  }
  return Number.NaN;
}

/** A window for `need` hits within `windowUs` (a few more kept for late arrivals). */
export function windowFor(windowUs: number, need: number): HitWindow {
  return new HitWindow(windowUs, 2 * need + 8);
}

/** `n` with at most two decimals. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
