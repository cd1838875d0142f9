/**
 * Connection-length mixes: how many request/response exchanges a connection makes and how large requests
 * and responses are. `default` is the generator's original mix (its draws are unchanged, so default
 * output stays byte-identical); the others shift the same shapes towards short or bulk connections.
 */
import type { Rng } from './rng.js';

/** Names of the connection-length mixes (`TraceOptions.mix`, `rstwatch generate --mix`). */
export const MIX_NAMES = ['short', 'medium', 'default', 'long'] as const;
export type MixName = (typeof MIX_NAMES)[number];

export interface Mix {
  /** Exchanges (request + response) of a normal connection, >= 1. */
  exchanges(rng: Rng): number;
  /** Request size in bytes (the client's side of one exchange). */
  requestSize(rng: Rng): number;
  /** Response size in bytes (the server's side of one exchange). */
  responseSize(rng: Rng): number;
}

/** The original mix: 1 + Exp(2.5) exchanges; mostly small requests; responses up to 2 MB. */
const DEFAULT_MIX: Mix = {
  exchanges: (rng) => 1 + rng.exp(2.5),
  requestSize(rng) {
    const p = rng.float();
    return p < 0.7 ? rng.range(80, 600) : p < 0.95 ? rng.range(600, 4000) : rng.logUniform(4000, 256_000);
  },
  responseSize(rng) {
    const p = rng.float();
    return p < 0.62
      ? rng.range(60, 4000)
      : p < 0.94
        ? rng.logUniform(4000, 64_000)
        : rng.logUniform(64_000, 2_000_000);
  },
};

/** Handshake, one one-segment request, a response of one to three segments, close: ~8-12 packets. */
const SHORT_MIX: Mix = {
  exchanges: () => 1,
  requestSize: (rng) => rng.range(80, 600),
  responseSize: (rng) => rng.range(60, 4000),
};

/** A few small exchanges, an occasional larger response: ~18 packets per connection on average. */
const MEDIUM_MIX: Mix = {
  exchanges: (rng) => 1 + rng.exp(3),
  requestSize: (rng) => (rng.chance(0.9) ? rng.range(80, 600) : rng.range(600, 4000)),
  responseSize: (rng) => (rng.chance(0.85) ? rng.range(60, 4000) : rng.logUniform(4000, 32_000)),
};

/** Bulk transfers: responses of 64 KB to 16 MB, the default's requests and exchange count. */
const LONG_MIX: Mix = {
  exchanges: DEFAULT_MIX.exchanges,
  requestSize: DEFAULT_MIX.requestSize,
  responseSize: (rng) =>
    rng.chance(0.5) ? rng.logUniform(64_000, 1_000_000) : rng.logUniform(1_000_000, 16_000_000),
};

const MIXES: Record<MixName, Mix> = {
  short: SHORT_MIX,
  medium: MEDIUM_MIX,
  default: DEFAULT_MIX,
  long: LONG_MIX,
};

export function mixByName(name: MixName): Mix {
  return MIXES[name];
}

export function isMixName(s: string): s is MixName {
  return (MIX_NAMES as readonly string[]).includes(s);
}
