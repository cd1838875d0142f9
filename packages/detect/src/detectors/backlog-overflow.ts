/**
 * `backlog_overflow_storm`: a server `ip:port` resetting completed handshakes (accept queue overflow):
 * `backlog_overflow_storm.minRsts` RSTs classified `backlog_overflow` within `windowS`.
 */
import type { RstEvent } from '@rstwatch/core';
import { S } from '../config.js';
import type { Episode } from '../episode.js';
import { clientOf, serviceKey, splitHostPort } from '../keys.js';
import { type HitWindow, hitOf } from '../window.js';
import { type Description, Detector, type DetectorContext, type EntityState, windowFor } from './base.js';

interface State extends EntityState {
  win: HitWindow;
}

export class BacklogOverflowDetector extends Detector<State> {
  readonly rule = 'backlog_overflow_storm' as const;
  readonly kind = 'service' as const;
  private readonly need: number;
  private readonly windowUs: number;

  constructor(ctx: DetectorContext) {
    super(ctx);
    this.need = ctx.config.backlog_overflow_storm.minRsts;
    this.windowUs = ctx.config.backlog_overflow_storm.windowS * S;
  }

  keyOf(e: RstEvent): string | undefined {
    return e.cause === 'backlog_overflow' ? serviceKey(e) : undefined;
  }

  protected newState(): State {
    return { ep: undefined, win: windowFor(this.windowUs, this.need) };
  }

  observe(e: RstEvent, us: number, service: string): void {
    if (e.cause !== 'backlog_overflow') return;
    const h = hitOf(e, us);
    h.peer = clientOf(e);
    this.windowed(service, this.state(service), h, this.need);
  }

  protected describe(ep: Episode): Description {
    const [host, port] = splitHostPort(ep.entity);
    const clients = ep.distinctPeers.size;
    const w = this.windowUs / S;
    return {
      summary: `${ep.entity} reset ${ep.count} completed handshakes from ${clients} client${clients === 1 ? '' : 's'} (accept queue overflow; at least ${this.need} within ${w} s)`,
      evidence: [`rsts=${ep.count}`, `window_s=${w}`, `min_rsts=${this.need}`, `clients=${clients}`],
      details: {
        window_s: w,
        min_rsts: this.need,
        clients: ep.peers.sorted(),
        distinct_clients: clients,
      },
      destination_ip: host,
      destination_port: port,
    };
  }
}
