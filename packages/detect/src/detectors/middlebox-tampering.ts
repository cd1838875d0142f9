/**
 * `middlebox_tampering`: resets sent by an on-path device in a host's name on one service (the server
 * side `ip:port`): RSTs classified `injected_reset` or `firewall_reject`, or of origin `middlebox`.
 * Fires at `middlebox_tampering.minRsts` within `windowS`; reports the TTL deltas (observed minus the
 * claimed host's), IP ID gaps and tampering signatures it saw.
 */
import type { RstEvent } from '@rstwatch/core';
import { S } from '../config.js';
import type { Episode } from '../episode.js';
import { clientOf, serviceKey, splitHostPort } from '../keys.js';
import { type HitWindow, hitOf, topCounts } from '../window.js';
import {
  type Description,
  Detector,
  type DetectorContext,
  type EntityState,
  evidenceNumber,
  windowFor,
} from './base.js';

/** Evidence bits, in the order of MB_NAMES. */
export const MB_NAMES = [
  'injected_reset',
  'firewall_reject',
  'origin_middlebox',
  'no_ack_flag',
  'data_after_rst',
  'rst_with_payload',
] as const;

/** True when the detector counts `e`. */
export function isTampering(e: RstEvent): boolean {
  return e.cause === 'injected_reset' || e.cause === 'firewall_reject' || e.origin === 'middlebox';
}

function markOf(e: RstEvent): number {
  let m = e.cause === 'injected_reset' ? 1 : e.cause === 'firewall_reject' ? 2 : 0;
  if (e.origin === 'middlebox') m |= 4;
  const ev = e.evidence;
  for (let k = 0; k < ev.length; k++) {
    const s = ev[k];
    if (s === 'no_ack_flag') m |= 8;
    else if (s === 'data_after_rst') m |= 16;
    else if (s === 'rst_with_payload') m |= 32;
  }
  return m;
}

interface State extends EntityState {
  win: HitWindow;
}

export class MiddleboxTamperingDetector extends Detector<State> {
  readonly rule = 'middlebox_tampering' as const;
  readonly kind = 'service' as const;
  private readonly need: number;
  private readonly windowUs: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    this.need = ctx.config.middlebox_tampering.minRsts;
    this.windowUs = ctx.config.middlebox_tampering.windowS * S;
  }

  keyOf(e: RstEvent): string | undefined {
    return isTampering(e) ? serviceKey(e) : undefined;
  }

  protected newState(): State {
    return { ep: undefined, win: windowFor(this.windowUs, this.need) };
  }

  observe(e: RstEvent, us: number, service: string): void {
    if (!isTampering(e)) return;
    const h = hitOf(e, us);
    h.peer = clientOf(e);
    h.mark = markOf(e);
    const ttlExp = e.ttl_expected;
    if (typeof ttlExp === 'number' && ttlExp >= 0 && e.ttl !== ttlExp) h.v1 = e.ttl - ttlExp;
    h.v2 = evidenceNumber(e, 'ipid_gap=');
    h.note = e.signature;
    this.windowed(service, this.state(service), h, this.need);
  }

  protected describe(ep: Episode): Description {
    const [host, port] = splitHostPort(ep.entity);
    const ttl = topCounts(ep.v1, 20);
    const ipid = topCounts(ep.v2, 20);
    const sigs = topCounts(ep.notes, 20);
    const evidence = [`rsts=${ep.count}`, `window_s=${this.windowUs / S}`];
    const details: Description['details'] = {
      window_s: this.windowUs / S,
      ttl_deltas: ttl.map((x) => x[0]),
      ttl_delta_counts: ttl.map((x) => x[1]),
      ipid_gaps: ipid.map((x) => x[0]),
      signatures: sigs.map(([s, n]) => `${s}=${n}`),
      clients: ep.peers.sorted(),
      distinct_clients: ep.distinctPeers.size,
    };
    for (let b = 0; b < MB_NAMES.length; b++) {
      const n = ep.marks[b]!;
      if (n === 0) continue;
      evidence.push(`${MB_NAMES[b]}=${n}`);
      details[MB_NAMES[b]!] = n;
    }
    if (ttl.length > 0) evidence.push(`ttl_delta=${ttl[0]![0]}`);
    let ipidRsts = 0;
    for (const x of ipid) ipidRsts += x[1];
    if (ipidRsts > 0) evidence.push(`ipid_gap_rsts=${ipidRsts}`);
    if (sigs.length > 0) evidence.push(`signature=${sigs[0]![0]}`);
    const how = ttl.length > 0 ? `, TTL off by ${ttl[0]![0]}` : '';
    return {
      summary: `${ep.count} resets injected or refused by an on-path device on ${ep.entity} (${ep.distinctPeers.size} client${ep.distinctPeers.size === 1 ? '' : 's'}${how})`,
      evidence,
      details,
      destination_ip: host,
      destination_port: port,
    };
  }
}
