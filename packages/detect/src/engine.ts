/**
 * The detection engine: validates and deduplicates RST events, keeps the capture-time watermark, hands
 * each event to the detectors of the entity kinds it is keyed by, and collects alert-event links.
 * Event-time driven and deterministic: the same events give the same alerts, ids and versions.
 */
import { CAUSES, type RstEvent } from '@rstwatch/core';
import { type AlertRule, ENTITY_KINDS, type EntityKind } from './alert.js';
import { DEDUPE_MAX, DEDUPE_WINDOW_US, type DetectionOptions, MAX_LINKS, SWEEP_EVERY_US } from './config.js';
import { BacklogOverflowDetector } from './detectors/backlog-overflow.js';
import type { Detector, DetectorContext } from './detectors/base.js';
import { IdleTimerDetector } from './detectors/idle-timer.js';
import { MiddleboxTamperingDetector } from './detectors/middlebox-tampering.js';
import { PortScanDetector } from './detectors/port-scan.js';
import { RateAnomalyDetector } from './detectors/rate-anomaly.js';
import { ResetAttackDetector, resetAttackMark } from './detectors/reset-attack.js';
import { parseTsUs, scannerOf, serviceKey } from './keys.js';
import { type DetectionStats, newStats } from './stats.js';
import { Suppressor } from './suppress.js';
import type { Hit } from './window.js';

/** One row of the ClickHouse `alert_events` link table: an event that contributed to an alert. */
export interface AlertLink {
  alert_id: string;
  rule: AlertRule;
  ts: string;
  community_id: string;
  sensor: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
}

/**
 * The entity kinds an event is relevant to, with its key for each (ENTITY_KINDS order): `victim`
 * (`dst_ip`) for RSTs the reset-attack detector counts, `scanner` for syn/connect-scan and closed-port
 * RSTs, and `service` (the server side `ip:port`) for every event.
 */
export function entityKeys(e: RstEvent): Array<[EntityKind, string]> {
  const out: Array<[EntityKind, string]> = [];
  if (!validEvent(e)) return out;
  if (resetAttackMark(e) !== 0) out.push(['victim', e.dst_ip]);
  const scanner = scannerOf(e);
  if (scanner !== undefined) out.push(['scanner', scanner]);
  out.push(['service', serviceKey(e)]);
  return out;
}

const CAUSE_SET = new Set<string>(CAUSES);

function isPort(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** The fields the detectors read have the contract's types. */
function validEvent(e: RstEvent): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.sensor === 'string' &&
    typeof e.community_id === 'string' &&
    typeof e.src_ip === 'string' &&
    e.src_ip !== '' &&
    typeof e.dst_ip === 'string' &&
    e.dst_ip !== '' &&
    isPort(e.src_port) &&
    isPort(e.dst_port) &&
    Number.isFinite(e.seq) &&
    Number.isFinite(e.ack) &&
    CAUSE_SET.has(e.cause) &&
    typeof e.origin === 'string' &&
    Array.isArray(e.evidence)
  );
}

type DetectorClass = new (ctx: DetectorContext) => Detector;
const DETECTORS: ReadonlyArray<[AlertRule, DetectorClass]> = [
  ['reset_attack', ResetAttackDetector],
  ['port_scan', PortScanDetector],
  ['middlebox_tampering', MiddleboxTamperingDetector],
  ['backlog_overflow_storm', BacklogOverflowDetector],
  ['rst_rate_anomaly', RateAnomalyDetector],
  ['idle_timeout_fingerprint', IdleTimerDetector],
];

export class Detection {
  readonly stats: DetectionStats = newStats();
  private readonly all: Detector[] = [];
  private readonly byKind = new Map<EntityKind, Detector[]>();
  private watermarkUs = Number.NEGATIVE_INFINITY;
  private nextSweepUs = Number.NEGATIVE_INFINITY;
  private readonly recent = new Map<string, Recent[]>();
  private readonly ringKeys: Recent[] = new Array(DEDUPE_MAX);
  private readonly ringUs = new Float64Array(DEDUPE_MAX);
  private ringHead = 0;
  private ringLen = 0;
  private linkIds: string[] = [];
  private linkRules: AlertRule[] = [];
  private linkHits: Hit[] = [];

  constructor(opts: DetectionOptions) {
    const kinds = new Set<EntityKind>(opts.kinds ?? ENTITY_KINDS);
    const ctx: DetectorContext = {
      config: opts.config,
      classifier: opts.classifier,
      suppressor: new Suppressor(opts.config.suppress),
      stats: this.stats,
      emit: opts.onAlert,
      link: (id, rule, h) => this.link(id, rule, h),
      watermark: () => this.watermarkUs,
    };
    for (const k of ENTITY_KINDS) this.byKind.set(k, []);
    if (!opts.config.enabled) return;
    for (const [rule, Cls] of DETECTORS) {
      if (!opts.config[rule].enabled) continue;
      const d = new Cls(ctx);
      if (!kinds.has(d.kind)) continue;
      this.all.push(d);
      this.byKind.get(d.kind)!.push(d);
    }
  }

  /** Capture time up to which events have been seen (µs since the epoch; -Infinity before any). */
  get watermark(): number {
    return this.watermarkUs;
  }

  /** Entities tracked by the detector of `rule` (0 when it does not run here). */
  entities(rule: AlertRule): number {
    return this.all.find((d) => d.rule === rule)?.entities ?? 0;
  }

  /**
   * One RST event. `kind`: the event arrived keyed by this entity kind, so only that kind's detectors see
   * it; undefined: every detector does. May append evidence to `e.evidence`. Never throws on odd input.
   */
  observe(e: RstEvent, kind?: EntityKind): void {
    const us = validEvent(e) ? parseTsUs(e.ts) : Number.NaN;
    const detectors = kind === undefined ? this.all : this.byKind.get(kind);
    if (Number.isNaN(us) || detectors === undefined) {
      this.stats.badEvents++;
      return;
    }
    if (this.duplicate(e, us, kind)) {
      this.stats.duplicates++;
      return;
    }
    this.stats.events++;
    if (us > this.watermarkUs) {
      this.watermarkUs = us;
      if (us >= this.nextSweepUs) this.sweep();
    }
    for (let k = 0; k < detectors.length; k++) {
      const d = detectors[k]!;
      const key = d.keyOf(e);
      if (key !== undefined) d.observe(e, us, key);
    }
  }

  /** Capture time moved to `nowUs` with no event: closes quiet alerts, flushes held-back updates. */
  advance(nowUs: number): void {
    if (!(nowUs > this.watermarkUs)) return;
    this.watermarkUs = nowUs;
    this.sweep();
  }

  /** End of input: emits the closing version of every open alert. */
  finish(): void {
    for (const d of this.all) d.finish(this.watermarkUs);
  }

  /** Events that contributed to each alert since the last call (bounded by MAX_LINKS). */
  takeLinks(): AlertLink[] {
    const out: AlertLink[] = new Array(this.linkHits.length);
    for (let k = 0; k < out.length; k++) {
      const h = this.linkHits[k]!;
      out[k] = {
        alert_id: this.linkIds[k]!,
        rule: this.linkRules[k]!,
        ts: h.ts,
        community_id: h.community_id,
        sensor: h.sensor,
        src_ip: h.src_ip,
        src_port: h.src_port,
        dst_ip: h.dst_ip,
        dst_port: h.dst_port,
      };
    }
    this.linkIds = [];
    this.linkRules = [];
    this.linkHits = [];
    return out;
  }

  private link(id: string, rule: AlertRule, h: Hit): void {
    if (this.linkHits.length >= MAX_LINKS) {
      this.stats.linksDropped++;
      return;
    }
    this.linkIds.push(id);
    this.linkRules.push(rule);
    this.linkHits.push(h);
  }

  private sweep(): void {
    this.nextSweepUs = this.watermarkUs + SWEEP_EVERY_US;
    for (const d of this.all) d.sweep(this.watermarkUs);
  }

  /** Same sensor, flow, time, seq, ack and sender (and kind) as a recent event. */
  private duplicate(e: RstEvent, us: number, kind: EntityKind | undefined): boolean {
    // Keyed by the time string (its hash is cached on the string); the few events of one instant compared.
    const k = kind ?? '*';
    const same = this.recent.get(e.ts);
    if (same !== undefined) {
      for (const r of same) {
        if (
          r.seq === e.seq &&
          r.ack === e.ack &&
          r.src_port === e.src_port &&
          r.community_id === e.community_id &&
          r.src_ip === e.src_ip &&
          r.sensor === e.sensor &&
          r.kind === k
        )
          return true;
      }
    }
    // A ring of the recent events in arrival order: the oldest go when it is full or out of the window.
    const horizon = Math.max(us, this.watermarkUs) - DEDUPE_WINDOW_US;
    while (this.ringLen > 0 && (this.ringLen >= DEDUPE_MAX || this.ringUs[this.ringHead]! < horizon)) {
      const old = this.ringKeys[this.ringHead]!;
      const list = this.recent.get(old.ts)!;
      if (list.length === 1) this.recent.delete(old.ts);
      else list.splice(list.indexOf(old), 1);
      this.ringHead = (this.ringHead + 1) % DEDUPE_MAX;
      this.ringLen--;
    }
    const r: Recent = {
      ts: e.ts,
      sensor: e.sensor,
      community_id: e.community_id,
      seq: e.seq,
      ack: e.ack,
      src_ip: e.src_ip,
      src_port: e.src_port,
      kind: k,
    };
    const tail = (this.ringHead + this.ringLen) % DEDUPE_MAX;
    this.ringKeys[tail] = r;
    this.ringUs[tail] = us;
    this.ringLen++;
    if (same !== undefined) same.push(r);
    else this.recent.set(e.ts, [r]);
    return false;
  }
}

/** What the duplicate check keeps of a recent event. */
interface Recent {
  ts: string;
  sensor: string;
  community_id: string;
  seq: number;
  ack: number;
  src_ip: string;
  src_port: number;
  kind: string;
}
