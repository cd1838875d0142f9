/** Engine configuration: names, ranges and defaults (the config schema takes its defaults from here). */

export interface EngineConfig {
  /** Flows tracked per engine; the idlest are evicted beyond this (each eviction emits a flow record). */
  maxFlows: number;
  /** A flow with no packet for this long is expired (Zeek's tcp_inactivity_timeout). */
  flowIdleExpiryS: number;
  /** A RST after a gap longer than this is an idle_timeout. */
  idleTimeoutS: number;
  /** Longest capture time a RST is held to see what follows it on its flow. */
  holdMs: number;
  /** ... or until this many later packets of its flow were seen. */
  holdPackets: number;
  /** How long a gracefully closed 4-tuple is remembered (2*MSL) for TIME_WAIT reuse/assassination. */
  timeWaitS: number;
  /** Window for counting distinct destination ports per source (scans). */
  scanWindowS: number;
  /** Distinct destination ports in the window that make a source a scanner. */
  scanMinPorts: number;
  /** Retransmissions of the same segment before a RST that make it a retransmission_timeout. */
  retransmitMin: number;
  /** Window for counting RSTs to one victim (bursts/floods). */
  burstWindowMs: number;
  /** RSTs to one victim within the window that make a burst. */
  burstMinRsts: number;
  /** Hosts whose TTL baseline is remembered. */
  maxHosts: number;
  /**
   * A packet seen again within this many milliseconds (same flow and direction, IP ID, flags, seq, ack and
   * payload length) is a duplicate (SPAN copies): counted, not processed again. 0 turns it off.
   */
  duplicateWindowMs: number;
  /**
   * Clock disagreement tolerated between the taps of a connection's two directions: a packet that answers
   * one stamped up to this many milliseconds later is processed after it (causal order). 0 turns it off.
   */
  reorderWindowMs: number;
  /**
   * Checksum verdicts: `verify` (a bad checksum is evidence: the packet changes no state), `ignore` (Zeek
   * `-C`), `auto` (verify, except for hosts whose failures look like checksum offload on the capturing
   * host: a failing TCP field equal to the pseudo-header sum or zero, or 4 failures with nothing accepted).
   */
  checksums: ChecksumMode;
}

export type ChecksumMode = 'auto' | 'verify' | 'ignore';
export const CHECKSUM_MODES: readonly ChecksumMode[] = ['auto', 'verify', 'ignore'];

export const DEFAULT_ENGINE_CONFIG: Readonly<EngineConfig> = Object.freeze({
  maxFlows: 262144,
  flowIdleExpiryS: 300,
  idleTimeoutS: 120,
  holdMs: 500,
  holdPackets: 16,
  timeWaitS: 60,
  scanWindowS: 60,
  scanMinPorts: 10,
  retransmitMin: 3,
  burstWindowMs: 1000,
  burstMinRsts: 5,
  maxHosts: 65536,
  duplicateWindowMs: 0.1,
  reorderWindowMs: 0.2,
  checksums: 'auto',
});

interface Rule {
  integer: boolean;
  min: number;
  max: number;
}

const RULES: Record<Exclude<keyof EngineConfig, 'checksums'>, Rule> = {
  maxFlows: { integer: true, min: 16, max: 16_777_216 },
  flowIdleExpiryS: { integer: false, min: 1, max: 86_400 },
  idleTimeoutS: { integer: false, min: 0.001, max: 86_400 },
  holdMs: { integer: false, min: 0, max: 60_000 },
  holdPackets: { integer: true, min: 0, max: 1_000_000 },
  timeWaitS: { integer: false, min: 0, max: 3_600 },
  scanWindowS: { integer: false, min: 0.001, max: 86_400 },
  scanMinPorts: { integer: true, min: 1, max: 64 },
  retransmitMin: { integer: true, min: 1, max: 255 },
  burstWindowMs: { integer: false, min: 1, max: 3_600_000 },
  burstMinRsts: { integer: true, min: 1, max: 65_535 },
  maxHosts: { integer: true, min: 2, max: 16_777_216 },
  duplicateWindowMs: { integer: false, min: 0, max: 100 },
  reorderWindowMs: { integer: false, min: 0, max: 100 },
};

/** Defaults overlaid with `partial`; throws a RangeError naming the key and the allowed values. */
export function resolveEngineConfig(partial: Partial<EngineConfig> = {}): EngineConfig {
  const out: EngineConfig = { ...DEFAULT_ENGINE_CONFIG };
  for (const [key, value] of Object.entries(partial)) {
    if (key === 'checksums') {
      if (value === undefined) continue;
      if (!CHECKSUM_MODES.includes(value as ChecksumMode))
        throw new RangeError(
          `invalid engine config: checksums must be one of ${CHECKSUM_MODES.join(', ')}, got ${JSON.stringify(value)}`,
        );
      out.checksums = value as ChecksumMode;
      continue;
    }
    if (!(key in RULES)) {
      throw new RangeError(
        `invalid engine config: unknown key "${key}" (allowed: ${Object.keys(RULES).join(', ')}, checksums)`,
      );
    }
    if (value === undefined) continue;
    const rule = RULES[key as keyof typeof RULES];
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!rule.integer || Number.isInteger(value)) &&
      value >= rule.min &&
      value <= rule.max;
    if (!ok) {
      throw new RangeError(
        `invalid engine config: ${key} must be ${rule.integer ? 'an integer' : 'a number'} between ${rule.min} and ${rule.max}, got ${JSON.stringify(value)}`,
      );
    }
    out[key as keyof typeof RULES] = value as number;
  }
  return out;
}
