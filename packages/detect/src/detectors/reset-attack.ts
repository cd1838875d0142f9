/**
 * `reset_attack`: forged RSTs aimed at one victim (the RST's receiver, `dst_ip`).
 *
 * An RST counts when the classifier called it `reset_attack`, or when it is not an on-path verdict
 * (`injected_reset`, `firewall_reject`) yet its origin is `spoofed` or `middlebox` and it carries off-path
 * sequence evidence: `seq_in_window_not_exact`, `seq_out_of_window`, `rst_seq_change` (stepping) or
 * `data_after_rst` (the connection went on). The alert fires at `classifier.burstMinRsts` counted RSTs
 * within `reset_attack.windowS` to one victim.
 */
import type { RstEvent } from '@rstwatch/core';
import { S } from '../config.js';
import type { Episode } from '../episode.js';
import { type HitWindow, hitOf, topCounts } from '../window.js';
import { type Description, Detector, type DetectorContext, type EntityState, windowFor } from './base.js';

/** Evidence bits, in the order of RA_NAMES. */
export const RA_NAMES = [
  'reset_attack',
  'seq_in_window_not_exact',
  'seq_out_of_window',
  'rst_seq_change',
  'data_after_rst',
  'challenge_ack_seen',
  'no_ack_flag',
] as const;
const CAUSE = 1;
const SEQ_EVIDENCE = 2 | 4 | 8 | 16;

/** Evidence bits of `e` as a reset-attack RST, or 0 when the detector does not count it. */
export function resetAttackMark(e: RstEvent): number {
  let m = 0;
  const ev = e.evidence;
  for (let k = 0; k < ev.length; k++) {
    const i = RA_NAMES.indexOf(ev[k] as (typeof RA_NAMES)[number]);
    if (i > 0) m |= 1 << i;
  }
  if (e.cause === 'reset_attack') return m | CAUSE;
  if (e.cause === 'injected_reset' || e.cause === 'firewall_reject') return 0;
  if (e.origin !== 'spoofed' && e.origin !== 'middlebox') return 0;
  return (m & SEQ_EVIDENCE) !== 0 ? m : 0;
}

interface State extends EntityState {
  win: HitWindow;
}

export class ResetAttackDetector extends Detector<State> {
  readonly rule = 'reset_attack' as const;
  readonly kind = 'victim' as const;
  private readonly need: number;
  private readonly windowUs: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    this.need = ctx.classifier.burstMinRsts;
    this.windowUs = ctx.config.reset_attack.windowS * S;
  }

  keyOf(e: RstEvent): string | undefined {
    return resetAttackMark(e) !== 0 ? e.dst_ip : undefined;
  }

  protected newState(): State {
    return { ep: undefined, win: windowFor(this.windowUs, this.need) };
  }

  observe(e: RstEvent, us: number, victim: string): void {
    const mark = resetAttackMark(e);
    if (mark === 0) return;
    const h = hitOf(e, us);
    h.mark = mark;
    this.windowed(victim, this.state(victim), h, this.need);
  }

  protected describe(ep: Episode): Description {
    const ports = topCounts(ep.ports, 20);
    const peers = ep.distinctSources.size;
    const evidence = [`rsts=${ep.count}`, `window_s=${this.windowUs / S}`, `peers=${peers}`];
    const details: Description['details'] = {
      victim: ep.entity,
      peers: ep.sources.sorted(),
      distinct_peers: peers,
      ports: ports.map((p) => p[0]),
      port_counts: ports.map((p) => p[1]),
      window_s: this.windowUs / S,
    };
    for (let b = 0; b < RA_NAMES.length; b++) {
      const n = ep.marks[b]!;
      if (n === 0) continue;
      const name = b === 0 ? 'classified_reset_attack' : RA_NAMES[b]!;
      evidence.push(`${name}=${n}`);
      details[name] = n;
    }
    const where =
      ports.length === 1 ? `${ep.entity} port ${ports[0]![0]}` : `${ep.entity} (${ports.length} ports)`;
    return {
      summary: `${ep.count} forged-looking RSTs aimed at ${where} from ${peers} peer${peers === 1 ? '' : 's'} (at least ${this.need} within ${this.windowUs / S} s)`,
      evidence,
      details,
      destination_ip: ep.entity,
      destination_port: ports.length === 1 ? ports[0]![0] : 0,
    };
  }
}
