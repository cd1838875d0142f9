/**
 * Test helpers for code that uses the detectors: synthetic RST events and streams (attacks and clean
 * traffic), options with the configuration's defaults, and a runner that collects the alerts.
 */
import { configSchema, type DeepPartial } from '@rstwatch/config';
import type { Cause, Direction, Origin, RstEvent } from '@rstwatch/core';
import { formatTsUs } from '@rstwatch/core';
import type { Alert, EntityKind } from './alert.js';
import type { AlertsConfig, ClassifierThresholds, DetectionOptions } from './config.js';
import { Detection } from './engine.js';

/** 2026-01-01T00:00:00Z in µs: where synthetic streams start. */
export const T0_US = Date.UTC(2026, 0, 1) * 1000;
export const SEC = 1_000_000;

/** A Community ID v1 look-alike, unique per 4-tuple (not the real hash; tests need only uniqueness). */
export function fakeCommunityId(src: string, sport: number, dst: string, dport: number): string {
  return `1:${Buffer.from(`${src}/${sport}/${dst}/${dport}`).toString('base64')}`;
}

export interface EventSpec extends Partial<RstEvent> {
  /** Capture time in µs (sets `ts`). */
  us?: number;
}

/** One RST event with contract-valid defaults (an endpoint's app_abort, server to client). */
export function rstEvent(spec: EventSpec = {}): RstEvent {
  const { us, ...over } = spec;
  const e: RstEvent = {
    ts: formatTsUs(us ?? T0_US),
    sensor: 's1',
    community_id: '',
    src_ip: '198.18.0.10',
    src_port: 443,
    dst_ip: '10.0.0.1',
    dst_port: 40000,
    direction: 'resp',
    cause: 'app_abort',
    origin: 'endpoint',
    phase: 'established',
    confidence: 0.85,
    flags: 'R.',
    seq: 1000,
    ack: 2000,
    ttl: 60,
    ttl_expected: 60,
    ip_id: 1,
    in_window: true,
    seq_exact: true,
    payload_len: 0,
    payload_preview: '',
    signature: 'PSH+ACK;Data→RST+ACK',
    conn_state: 'RSTR',
    history: 'ShADdR',
    evidence: [],
    ...over,
  };
  if (e.community_id === '') e.community_id = fakeCommunityId(e.src_ip, e.src_port, e.dst_ip, e.dst_port);
  return e;
}

/** A seeded PRNG (mulberry32): same seed, same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface OptionsSpec {
  alerts?: DeepPartial<AlertsConfig>;
  classifier?: Partial<ClassifierThresholds>;
  kinds?: DetectionOptions['kinds'];
  onAlert?: DetectionOptions['onAlert'];
}

/** Detection options: the configuration's defaults with `spec` applied. */
export function detectionOptions(spec: OptionsSpec = {}): DetectionOptions {
  const cfg = configSchema.parse({ alerts: spec.alerts ?? {}, classifier: spec.classifier ?? {} });
  const opts: DetectionOptions = {
    config: cfg.alerts,
    classifier: cfg.classifier,
    onAlert: spec.onAlert ?? (() => {}),
  };
  if (spec.kinds !== undefined) opts.kinds = spec.kinds;
  return opts;
}

export interface RunResult {
  detection: Detection;
  /** Every version emitted, in order. */
  alerts: Alert[];
  /** The latest version of each alert id. */
  latest: Alert[];
}

/** Feed `events` (in order) to a fresh Detection and finish; `kind` keys every event. */
export function runDetection(
  events: Iterable<RstEvent>,
  spec: OptionsSpec = {},
  kind?: EntityKind,
): RunResult {
  const alerts: Alert[] = [];
  const detection = new Detection(detectionOptions({ ...spec, onAlert: (a) => alerts.push(a) }));
  for (const e of events) detection.observe(e, kind);
  detection.finish();
  const byId = new Map<string, Alert>();
  for (const a of alerts) byId.set(a.id, a);
  return { detection, alerts, latest: [...byId.values()] };
}

/** Deep copies of `events` (the detectors may append evidence). */
export function cloneEvents(events: readonly RstEvent[]): RstEvent[] {
  return events.map((e) => ({ ...e, evidence: [...e.evidence] }));
}

/** Forged RSTs (`reset_attack`, origin spoofed) aimed at `victim:port` from `peers` spoofed peers. */
export function resetAttackStream(o: {
  victim?: string;
  port?: number;
  peers?: number;
  count: number;
  startUs?: number;
  stepUs?: number;
}): RstEvent[] {
  const victim = o.victim ?? '10.9.0.1';
  const peers = o.peers ?? 1;
  const out: RstEvent[] = [];
  for (let i = 0; i < o.count; i++) {
    const peer = `203.0.113.${(i % peers) + 1}`;
    out.push(
      rstEvent({
        us: (o.startUs ?? T0_US) + i * (o.stepUs ?? 100_000),
        src_ip: peer,
        src_port: 443,
        dst_ip: victim,
        dst_port: o.port ?? 51000,
        direction: 'resp',
        cause: 'reset_attack',
        origin: 'spoofed',
        flags: 'R',
        seq: 100_000 + i * 65_536,
        in_window: true,
        seq_exact: false,
        evidence: ['no_ack_flag', 'seq_in_window_not_exact', 'rst_seq_change'],
      }),
    );
  }
  return out;
}

/** A scanner's probes: `syn` (its own RSTs), `connect`, or `closed_port` answers from the host. */
export function portScanStream(o: {
  scanner?: string;
  hosts: number;
  ports: number;
  type?: 'syn' | 'connect' | 'closed_port';
  startUs?: number;
  stepUs?: number;
}): RstEvent[] {
  const scanner = o.scanner ?? '192.0.2.66';
  const type = o.type ?? 'syn';
  const out: RstEvent[] = [];
  let i = 0;
  for (let h = 0; h < o.hosts; h++) {
    for (let p = 0; p < o.ports; p++) {
      const host = `10.20.${h >> 8}.${(h & 255) + 1}`;
      const port = 20 + p;
      const sport = 40000 + i;
      const us = (o.startUs ?? T0_US) + i++ * (o.stepUs ?? 10_000);
      if (type === 'closed_port') {
        out.push(
          rstEvent({
            us,
            src_ip: host,
            src_port: port,
            dst_ip: scanner,
            dst_port: sport,
            direction: 'resp',
            cause: 'closed_port',
            phase: 'handshake',
            signature: 'SYN→RST+ACK',
            evidence: ['answers_syn', 'ack_is_isn_plus_1'],
          }),
        );
      } else {
        out.push(
          rstEvent({
            us,
            src_ip: scanner,
            src_port: sport,
            dst_ip: host,
            dst_port: port,
            direction: 'orig',
            cause: type === 'syn' ? 'syn_scan' : 'connect_scan',
            phase: type === 'syn' ? 'handshake' : 'established',
            flags: type === 'syn' ? 'R' : 'R.',
            signature: type === 'syn' ? 'SYN→RST' : 'SYN;ACK→RST+ACK',
            evidence: type === 'syn' ? ['no_ack_flag'] : ['handshake_complete_no_data'],
          }),
        );
      }
    }
  }
  return out;
}

/** RSTs of one cause/origin from a server `ip:port` to `clients` clients (direction resp). */
export function serviceStream(o: {
  server?: string;
  port?: number;
  clients?: number;
  count: number;
  cause: Cause;
  origin?: Origin;
  direction?: Direction;
  startUs?: number;
  stepUs?: number;
  evidence?: (i: number) => string[];
  extra?: Partial<RstEvent>;
}): RstEvent[] {
  const out: RstEvent[] = [];
  const clients = o.clients ?? 1;
  for (let i = 0; i < o.count; i++) {
    out.push(
      rstEvent({
        us: (o.startUs ?? T0_US) + i * (o.stepUs ?? 100_000),
        src_ip: o.server ?? '198.18.0.10',
        src_port: o.port ?? 443,
        dst_ip: `10.1.${(i % clients) >> 8}.${((i % clients) & 255) + 1}`,
        dst_port: 30000 + (i % 30000),
        direction: o.direction ?? 'resp',
        cause: o.cause,
        origin: o.origin ?? 'endpoint',
        evidence: o.evidence?.(i) ?? [],
        ...o.extra,
      }),
    );
  }
  return out;
}

const BENIGN: ReadonlyArray<[Cause, number]> = [
  ['app_abort', 0.4],
  ['teardown_reset', 0.25],
  ['stale_connection', 0.1],
  ['retransmission_timeout', 0.05],
  ['closed_port', 0.1],
  ['unsolicited', 0.05],
  ['other', 0.05],
];

/**
 * Clean traffic: `count` benign RSTs (app aborts, teardowns, stale connections, a few closed ports with
 * scattered clients and ports, idle gaps of random length) spread evenly over `services` servers and
 * `spanS` seconds, no attack among them. Seeded.
 */
export function cleanStream(o: {
  count: number;
  services?: number;
  spanS?: number;
  seed?: number;
}): RstEvent[] {
  const rnd = prng(o.seed ?? 1);
  const services = o.services ?? 20;
  const step = ((o.spanS ?? 3600) * SEC) / o.count;
  const out: RstEvent[] = [];
  for (let i = 0; i < o.count; i++) {
    let x = rnd();
    let cause: Cause = 'other';
    for (const [c, p] of BENIGN) {
      if (x < p) {
        cause = c;
        break;
      }
      x -= p;
    }
    const s = Math.floor(rnd() * services);
    const server = `198.18.${s >> 8}.${(s & 255) + 1}`;
    const port = [443, 80, 8080, 5432][s % 4]!;
    const client = `10.${Math.floor(rnd() * 200)}.${Math.floor(rnd() * 250)}.${Math.floor(rnd() * 250) + 1}`;
    const cport = 1024 + Math.floor(rnd() * 60000);
    const us = T0_US + Math.floor(i * step);
    const mid = cause !== 'closed_port' && cause !== 'unsolicited';
    const evidence = mid && rnd() < 0.3 ? [`idle_gap_s=${1 + Math.floor(rnd() * 600)}`] : [];
    const fromServer = rnd() < 0.5 || cause === 'closed_port';
    out.push(
      rstEvent({
        us,
        src_ip: fromServer ? server : client,
        src_port: fromServer ? port : cport,
        dst_ip: fromServer ? client : server,
        dst_port: fromServer ? cport : port,
        direction: fromServer ? 'resp' : 'orig',
        cause,
        phase: mid ? 'established' : cause === 'closed_port' ? 'handshake' : 'none',
        seq: Math.floor(rnd() * 2 ** 32),
        ack: Math.floor(rnd() * 2 ** 32),
        evidence,
      }),
    );
  }
  return out;
}
