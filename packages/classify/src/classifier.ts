/**
 * The RST verdict: cause, origin, confidence, evidence and tampering signature from the facts captured
 * when the RST arrived and what its flow showed while it was held. A pure function of one facts row, so
 * it is testable alone and identical on every thread.
 */
import type { Cause, Origin, Signature } from '@rstwatch/core';
import { CAUSES, TCP_ACK, TCP_SYN } from '@rstwatch/core';
import { initialTtl } from '@rstwatch/flow';
import type { EngineConfig } from './config.js';
import {
  C_ACK_IS_ISN1,
  C_ANSWERS_LAST,
  C_ANY_DATA,
  C_DATA_INFERRED,
  C_FIN_ANY,
  C_FIN_INFERRED,
  C_GRACEFUL,
  C_HS_COMPLETE,
  C_HS_INFERRED,
  C_MALFORMED_SYN,
  C_MIDSTREAM,
  C_NEW,
  C_PKT_AFTER_CLOSE,
  C_RECV_OPENING,
  C_RECV_SYN,
  C_RECV_SYNACK,
  C_RX_UNACKED,
  C_SENDER_AFTER_CLOSE,
  C_SENDER_PREV_RST,
  C_SENDER_SYN,
  C_SENDER_SYNACK,
  C_SEQ_IS_ISN1,
  C_SEQ_STEP,
  C_TTL_FROM_FLOW,
  C_TW_HIT,
  C_TW_REUSE,
  F_BAD_CKSUM,
  F_BURST,
  F_CTX,
  F_FLAGS,
  F_GRP_ACK0,
  F_GRP_ACKDIFF,
  F_GRP_EXACT,
  F_GRP_RST,
  F_GRP_RSTACK,
  F_IDLE_S,
  F_IN_WIN,
  F_IPID_GAP,
  F_PAYLOAD_LEN,
  F_PHASE,
  F_POST_CHALLENGE,
  F_POST_SENDER_DATA,
  F_PREV_CAUSE,
  F_RX_SAME,
  F_SCAN_PORTS,
  F_SEQ,
  F_SEQ_EXACT,
  F_STAGE,
  F_TTL,
  F_TTL_EXP,
} from './internal/facts.js';

/** Phase indices (PHASES order). */
export const PH_HANDSHAKE = 0;
export const PH_ESTABLISHED = 1;
export const PH_CLOSING = 2;
export const PH_CLOSED = 3;
export const PH_NONE = 4;

/**
 * Evidence vocabulary: exact names, or `name=` prefixes followed by an integer. Every evidence string an
 * event carries is one of these.
 */
export const EVIDENCE_NAMES = [
  'ttl_delta=',
  'ipid_gap=',
  'no_ack_flag',
  'seq_out_of_window',
  'seq_in_window_not_exact',
  'seq_exact',
  'challenge_ack_seen',
  'data_after_rst',
  'rst_seq_change',
  'rst_ack_change',
  'rst_with_payload',
  'handshake_complete_no_data',
  'answers_syn',
  'ack_is_isn_plus_1',
  'synack_then_rst',
  'synack_without_syn',
  'malformed_syn',
  'time_wait_tuple',
  'scan_ports=',
  'burst_rsts=',
  'idle_gap_s=',
  'retransmissions=',
  'fin_seen',
  'segment_after_close',
  'answers_segment_ack',
  'repeats_earlier_rst',
  'no_flow_context',
  'no_ttl_baseline',
  'bad_checksum',
  'neighbour_hops=',
  'ttl_hops=',
  'inferred_syn',
  'inferred_synack',
  'inferred_ack',
  'inferred_fin',
  'gap',
  // Added by the engine (not classifyFacts): the RST was classified in causal, not timestamp, order.
  'reordered',
] as const;

export interface Verdict {
  cause: Cause;
  origin: Origin;
  confidence: number;
  evidence: string[];
  signature: Signature;
}

function round2(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
}

/** Tampering signature of the RST described by facts row `r` at `b`. */
export function signatureOf(r: Float64Array, b: number): Signature {
  const stage = r[b + F_STAGE]!;
  const nR = r[b + F_GRP_RST]!;
  const nRA = r[b + F_GRP_RSTACK]!;
  switch (stage) {
    case 1:
      if (nR > 0 && nRA > 0) return 'SYN→RST;RST+ACK';
      return nRA > 0 ? 'SYN→RST+ACK' : 'SYN→RST';
    case 2:
      if (nR > 0 && nRA > 0) return 'other';
      if (nRA >= 2) return 'SYN;ACK→RST+ACK;RST+ACK';
      if (nRA === 1) return 'SYN;ACK→RST+ACK';
      return nR >= 2 ? 'SYN;ACK→RST;RST' : 'SYN;ACK→RST';
    case 3: {
      const total = nR + nRA;
      if (total <= 1) return nRA > 0 ? 'PSH+ACK→RST+ACK' : 'PSH+ACK→RST';
      if (nR > 0 && nRA > 0) return 'PSH+ACK→RST;RST+ACK';
      if (nRA >= 2) return 'PSH+ACK→RST+ACK;RST+ACK';
      if (r[b + F_GRP_ACKDIFF] !== 1) return 'PSH+ACK→RST=RST';
      return r[b + F_GRP_ACK0] === 1 ? 'PSH+ACK→RST;RST₀' : 'PSH+ACK→RST≠RST';
    }
    case 4:
      return nRA > 0 ? 'PSH+ACK;Data→RST+ACK' : 'PSH+ACK;Data→RST';
    default:
      return 'other';
  }
}

/** What the rules read: the facts row, decoded once, and the evidence collected so far. */
interface Derived {
  readonly ctx: number;
  readonly phase: number;
  readonly dir: number;
  readonly noAck: boolean;
  /** The RST's sequence number. */
  readonly seq: number;
  readonly ttlExp: number;
  /** The RST's own TTL (hop limit). */
  readonly ttl: number;
  readonly inWin: number;
  readonly exact: number;
  readonly grpExact: boolean;
  readonly challenge: boolean;
  readonly dataAfter: boolean;
  readonly scanPorts: number;
  readonly burst: number;
  readonly idle: number;
  readonly idleGap: boolean;
  readonly rxSame: number;
  readonly prevCause: number;
  readonly ttlMismatch: boolean;
  readonly ttlConsistent: boolean;
  readonly ipidOdd: boolean;
  /** Middlebox signals: the claimed sender does not look like itself. */
  readonly mb: number;
  readonly ev: string[];
}

/** A rule's decision. */
interface Decision {
  cause: Cause;
  conf: number;
  origin: Origin;
}

const has = (x: Derived, bit: number) => (x.ctx & bit) !== 0;
const decision = (cause: Cause, conf: number, origin: Origin): Decision => ({ cause, conf, origin });
/** The usual origin: a TTL that differs says middlebox, one that matches says endpoint. */
const byTtl = (x: Derived): Origin =>
  x.ttlMismatch ? 'middlebox' : x.ttlConsistent ? 'endpoint' : 'unknown';

/** Decode facts row `r` at `b` and collect the evidence every verdict carries. */
function derive(r: Float64Array, b: number, cfg: EngineConfig): Derived {
  const ctx = r[b + F_CTX]!;
  const phase = r[b + F_PHASE]!;
  const flags = r[b + F_FLAGS]!;
  const noAck = (flags & TCP_ACK) === 0;
  const ttlExp = r[b + F_TTL_EXP]!;
  const inWin = r[b + F_IN_WIN]!;
  const exact = r[b + F_SEQ_EXACT]!;
  const ipidGap = r[b + F_IPID_GAP]!;
  const challenge = r[b + F_POST_CHALLENGE]! > 0;
  const dataAfter = r[b + F_POST_SENDER_DATA]! > 0;
  const payload = r[b + F_PAYLOAD_LEN]! > 0;
  const burst = r[b + F_BURST]!;
  const idle = r[b + F_IDLE_S]!;
  const ttlDelta = ttlExp >= 0 ? r[b + F_TTL]! - ttlExp : 0;
  const ttlMismatch = ttlExp >= 0 && ttlDelta !== 0;
  const ipidOdd = !Number.isNaN(ipidGap) && (ipidGap > 1 || ipidGap < 0);
  const ev: string[] = [];
  if (ttlMismatch) ev.push(`ttl_delta=${ttlDelta}`);
  if (ttlExp < 0) ev.push('no_ttl_baseline');
  if (ipidOdd) ev.push(`ipid_gap=${ipidGap}`);
  if (noAck) ev.push('no_ack_flag');
  if (inWin === 0) ev.push('seq_out_of_window');
  else if (inWin === 1 && exact === 0) ev.push('seq_in_window_not_exact');
  else if (exact === 1) ev.push('seq_exact');
  if (challenge) ev.push('challenge_ack_seen');
  if (dataAfter) ev.push('data_after_rst');
  if ((ctx & C_SEQ_STEP) !== 0) ev.push('rst_seq_change');
  if (r[b + F_GRP_ACKDIFF] === 1) ev.push('rst_ack_change');
  if (payload) ev.push('rst_with_payload');
  if (burst >= cfg.burstMinRsts) ev.push(`burst_rsts=${burst}`);
  // The idle gap before every mid-connection RST, whatever its cause: the detectors learn idle timers
  // from it (a load balancer's 350 s is not idle_timeout under a 400 s threshold, but is a timer).
  const idleGap = (phase === PH_ESTABLISHED || phase === PH_CLOSING) && idle >= 1 && (ctx & C_NEW) === 0;
  if (idleGap) ev.push(`idle_gap_s=${Math.floor(idle)}`);
  let mb = 0;
  if (ttlMismatch) mb += (ctx & C_TTL_FROM_FLOW) !== 0 ? 2 : 1;
  if (dataAfter) mb += 2;
  if (ipidOdd && (noAck || ttlMismatch)) mb += 1;
  if (payload && phase !== PH_HANDSHAKE) mb += 1;
  return {
    ctx,
    phase,
    dir: r[b + 3]!, // F_DIR
    noAck,
    seq: r[b + F_SEQ]!,
    ttlExp,
    ttl: r[b + F_TTL]!,
    inWin,
    exact,
    grpExact: r[b + F_GRP_EXACT] === 1,
    challenge,
    dataAfter,
    scanPorts: r[b + F_SCAN_PORTS]!,
    burst,
    idle,
    idleGap,
    rxSame: r[b + F_RX_SAME]!,
    prevCause: r[b + F_PREV_CAUSE]!,
    ttlMismatch,
    ttlConsistent: ttlExp >= 0 && ttlDelta === 0,
    ipidOdd,
    mb,
    ev,
  };
}

/** Cause, origin, confidence and evidence for facts row `r` at offset `b`. */
export function classifyFacts(r: Float64Array, b: number, cfg: EngineConfig): Verdict {
  const x = derive(r, b, cfg);
  const v = badChecksum(r, b, x, inferred(x, decide(x, (r[b + F_FLAGS]! & TCP_SYN) !== 0, cfg)));
  return {
    cause: v.cause,
    origin: v.origin,
    confidence: round2(v.conf),
    evidence: x.ev,
    signature: signatureOf(r, b),
  };
}

/**
 * A RST whose checksum failed was dropped by its receiver: it reset nothing. The rules' cause stands (what
 * it would have been), with low confidence; the claimed host's own stack would have summed it right, so
 * it is not taken as the endpoint's.
 */
function badChecksum(r: Float64Array, b: number, x: Derived, d: Decision): Decision {
  if (r[b + F_BAD_CKSUM] !== 1) return d;
  x.ev.push('bad_checksum');
  return decision(d.cause, Math.min(d.conf, 0.4), d.origin === 'endpoint' ? 'unknown' : d.origin);
}

/** Markers of packets the sensor did not see but the verdict relies on (loss). */
const INFERRED = ['inferred_syn', 'inferred_synack', 'inferred_ack', 'inferred_fin', 'gap'];

/**
 * Loss degrades confidence, not the verdict: a decision that leans on an inferred packet (a handshake
 * packet or data that the other side's numbers prove) keeps its cause and origin, with less confidence.
 */
function inferred(x: Derived, d: Decision): Decision {
  if (!x.ev.some((e) => INFERRED.includes(e))) return d;
  return decision(d.cause, Math.min(d.conf - 0.15, 0.7), d.origin);
}

/** The rules, by what is known about the flow. */
function decide(x: Derived, synRst: boolean, cfg: EngineConfig): Decision {
  if (synRst) {
    // A SYN that also carries RST is itself an illegal packet (RST events include it).
    x.ev.push('malformed_syn');
    return decision('malformed_syn', 0.9, byTtl(x));
  }
  if (has(x, C_MALFORMED_SYN) && x.dir === 1 && !has(x, C_HS_COMPLETE)) {
    x.ev.push('malformed_syn', 'answers_syn');
    if (has(x, C_ACK_IS_ISN1)) x.ev.push('ack_is_isn_plus_1');
    // An ACK flag is what a kernel sets, and a router's REJECT too: only the TTL says whose it is.
    return decision('malformed_syn', x.ttlMismatch ? 0.6 : 0.85, byTtl(x));
  }
  if (has(x, C_NEW) && !has(x, C_TW_HIT) && has(x, C_RECV_OPENING) && !x.noAck && x.seq === 0) {
    // A kernel's answer to a SYN (RST+ACK, seq 0) on no flow, to a host that was opening connections to
    // this very host moments ago over this sensor: the sensor lost that SYN. Spoofed-SYN backscatter
    // reaches a host that never sent those SYNs, so it stays `unsolicited`.
    x.ev.push('inferred_syn');
    return handshakeResponder(x, cfg);
  }
  if (has(x, C_NEW)) {
    x.ev.push('no_flow_context');
    if (!has(x, C_TW_HIT)) return decision('unsolicited', 0.7, 'unknown');
    x.ev.push('time_wait_tuple');
    return decision('time_wait_assassination', 0.6, 'unknown');
  }
  if (x.phase === PH_HANDSHAKE) return x.dir === 1 ? handshakeResponder(x, cfg) : handshakeOriginator(x, cfg);
  if (has(x, C_HS_INFERRED))
    x.ev.push(has(x, x.dir === 0 ? C_SENDER_SYN : C_RECV_SYN) ? 'inferred_synack' : 'inferred_syn');
  if (x.phase === PH_ESTABLISHED && has(x, C_HS_COMPLETE) && !has(x, C_ANY_DATA) && !has(x, C_MIDSTREAM)) {
    if (!has(x, C_DATA_INFERRED)) return noData(x, cfg);
    x.ev.push('gap');
  }
  return attack(x, cfg) ?? midConnection(x, cfg);
}

/** A RST from the responder during the handshake: answers to the SYN. */
function handshakeResponder(x: Derived, cfg: EngineConfig): Decision {
  if (has(x, C_MALFORMED_SYN)) {
    x.ev.push('malformed_syn');
    return decision('malformed_syn', 0.85, byTtl(x));
  }
  if (has(x, C_TW_REUSE)) {
    x.ev.push('time_wait_tuple');
    if (has(x, C_FIN_INFERRED)) x.ev.push('inferred_fin');
    return decision('time_wait_reuse', 0.8, byTtl(x));
  }
  if (has(x, C_SENDER_SYNACK)) {
    // A RST without ACK at the server's ISN+1, from the server's own stack (TTL and IP ID of its SYN-ACK),
    // answers a segment that acknowledged the SYN-ACK: the originator's ACK, lost (backlog overflow).
    if (
      x.noAck &&
      has(x, C_SEQ_IS_ISN1) &&
      has(x, C_TTL_FROM_FLOW) &&
      x.ttlConsistent &&
      !x.ipidOdd &&
      x.mb === 0
    ) {
      x.ev.push('inferred_ack');
      return noData(x, cfg);
    }
    x.ev.push('synack_then_rst');
    const mb = x.ttlMismatch || x.noAck;
    return decision('firewall_reject', mb ? 0.85 : 0.6, mb ? 'middlebox' : 'unknown');
  }
  x.ev.push('answers_syn');
  if (has(x, C_ACK_IS_ISN1)) x.ev.push('ack_is_isn_plus_1');
  if (x.ttlMismatch || x.noAck || (x.ipidOdd && x.ttlExp >= 0))
    return decision('firewall_reject', x.ttlMismatch && x.noAck ? 0.9 : 0.75, 'middlebox');
  // Part of a scan of many ports: say so, the cause stays the closed port (the contract's syn_scan
  // and connect_scan are the scanner's own RSTs).
  if (x.scanPorts >= cfg.scanMinPorts) x.ev.push(`scan_ports=${x.scanPorts}`);
  const isn1 = has(x, C_ACK_IS_ISN1);
  if (x.ttlConsistent) return decision('closed_port', isn1 ? 0.9 : 0.6, 'endpoint');
  return noBaselineAnswer(x, isn1);
}

/**
 * A kernel-style answer to the SYN (RST+ACK, often ack = ISN+1) from a host with no TTL baseline: a
 * closed port answers so, and so does a router's or firewall's REJECT (`--reject-with tcp-reset`) in
 * front of the host. The TTL's distance from its likely initial value (`ttl_hops=`) is recorded, but
 * without the host's own distance it decides nothing, nor does the handshake position (both answer the
 * SYN at once). The cause is the likelier one; the origin is left open, with low confidence.
 */
function noBaselineAnswer(x: Derived, isn1: boolean): Decision {
  x.ev.push(`ttl_hops=${initialTtl(x.ttl) - x.ttl}`);
  return decision('closed_port', isn1 ? 0.5 : 0.4, 'unknown');
}

/** A RST from the originator during the handshake. */
function handshakeOriginator(x: Derived, cfg: EngineConfig): Decision {
  if (has(x, C_TW_REUSE)) {
    // The connecting side resets the TIME_WAIT socket's ACK to its reused SYN.
    x.ev.push('time_wait_tuple');
    if (has(x, C_FIN_INFERRED)) x.ev.push('inferred_fin');
    return decision('time_wait_reuse', has(x, C_ANSWERS_LAST) ? 0.85 : 0.7, byTtl(x));
  }
  if (has(x, C_RECV_SYNACK) && !has(x, C_SENDER_SYN) && x.noAck && x.scanPorts >= 2 && !x.dataAfter) {
    // The SYN was lost rather than spoofed: the host that resets the SYN-ACK is opening connections to
    // other ports at the same time (a half-open scan).
    x.ev.push('inferred_syn', `scan_ports=${x.scanPorts}`);
    return decision('syn_scan', 0.6, 'endpoint');
  }
  if (has(x, C_RECV_SYNACK) && !has(x, C_SENDER_SYN)) {
    // Backscatter: a SYN-ACK nobody here asked for, reset by the host it reached.
    x.ev.push('synack_without_syn');
    if (has(x, C_ANSWERS_LAST)) x.ev.push('answers_segment_ack');
    const origin = x.ttlMismatch
      ? 'middlebox'
      : x.ttlConsistent || has(x, C_ANSWERS_LAST)
        ? 'endpoint'
        : 'unknown';
    return decision('unsolicited', 0.8, origin);
  }
  if (has(x, C_RECV_SYNACK) && !x.noAck && has(x, C_ACK_IS_ISN1)) {
    // A RST+ACK acknowledging the SYN-ACK comes from a socket that accepted it, after its ACK (lost).
    x.ev.push('inferred_ack');
    return noData(x, cfg);
  }
  if (
    !has(x, C_RECV_SYNACK) &&
    has(x, C_SENDER_SYN) &&
    x.noAck &&
    has(x, C_SEQ_IS_ISN1) &&
    x.scanPorts >= 2
  ) {
    // A RST without ACK at the SYN's ISN+1 answers a segment acknowledging that SYN: a SYN-ACK, lost. Alone
    // it could be the host giving up its own SYN; with the host probing other ports it is a half-open scan.
    x.ev.push('inferred_synack', `scan_ports=${x.scanPorts}`);
    const scan = x.scanPorts >= cfg.scanMinPorts;
    return decision('syn_scan', 0.8 + (scan ? 0.15 : 0), x.dataAfter ? 'middlebox' : 'endpoint');
  }
  if (has(x, C_RECV_SYNACK)) {
    const scan = x.scanPorts >= cfg.scanMinPorts;
    if (scan) x.ev.push(`scan_ports=${x.scanPorts}`);
    // Scanners craft their SYNs (odd TTLs) while their kernel sends the RST: a TTL gap is expected.
    return decision(
      'syn_scan',
      (x.noAck ? 0.8 : 0.6) + (scan ? 0.15 : 0),
      x.dataAfter ? 'middlebox' : 'endpoint',
    );
  }
  if (x.ttlMismatch) return decision('firewall_reject', 0.5, 'middlebox');
  return decision('other', 0.3, x.ttlConsistent ? 'endpoint' : 'unknown');
}

/** Handshake complete, no data yet. */
function noData(x: Derived, cfg: EngineConfig): Decision {
  x.ev.push('handshake_complete_no_data');
  if (x.mb >= 2) return decision('injected_reset', 0.7, 'middlebox');
  const origin = x.ttlConsistent ? 'endpoint' : x.ttlMismatch ? 'middlebox' : 'unknown';
  if (x.dir === 1) return decision('backlog_overflow', x.ttlConsistent ? 0.8 : 0.65, origin);
  const scan = x.scanPorts >= cfg.scanMinPorts;
  if (scan) x.ev.push(`scan_ports=${x.scanPorts}`);
  return decision('connect_scan', (x.ttlConsistent ? 0.75 : 0.6) + (scan ? 0.15 : 0), origin);
}

/** Established, closing or closed, with context: on-path injection and off-path guesses first. */
function attack(x: Derived, cfg: EngineConfig): Decision | undefined {
  const stepping = has(x, C_SEQ_STEP) && x.exact !== 1;
  const flood = x.burst >= cfg.burstMinRsts && x.exact !== 1;
  // On-path injectors know the sequence numbers (in window, often stepping ahead in bursts) but give
  // themselves away by TTL/IP ID and by the real sender's packets that keep arriving.
  // An off-path attacker has to guess: its RSTs are in the window at best, never exact.
  if (x.mb >= 2 && x.inWin === 1 && !x.challenge && !flood && x.grpExact)
    return decision('injected_reset', Math.min(0.95, 0.55 + 0.1 * x.mb), 'middlebox');
  if (x.inWin === 0 || (x.inWin === 1 && x.exact === 0 && !x.grpExact) || stepping) {
    // Off-path guesses: outside the window, or inside it but not exact (RFC 5961), or stepping.
    const conf =
      (x.inWin === 0 ? 0.7 : 0.6) +
      (x.challenge ? 0.15 : 0) +
      (flood || stepping ? 0.1 : 0) +
      (x.mb >= 2 ? 0.1 : 0);
    return decision('reset_attack', conf, 'spoofed');
  }
  return undefined;
}

/** Established, closing or closed, not an attack: repeats, timers, teardown, aborts. */
function midConnection(x: Derived, cfg: EngineConfig): Decision {
  const prev = x.prevCause >= 0 ? CAUSES[x.prevCause]! : undefined;
  if (
    has(x, C_SENDER_PREV_RST) &&
    has(x, C_ANSWERS_LAST) &&
    x.exact === 1 &&
    !x.ttlMismatch &&
    prev !== undefined &&
    prev !== 'reset_attack' &&
    prev !== 'injected_reset'
  ) {
    // RFC 2525 2.16: after its own RST the host answers each segment still arriving with another RST;
    // these follow from the first one and share its cause.
    x.ev.push('repeats_earlier_rst', 'answers_segment_ack');
    return decision(prev, 0.7, x.ttlConsistent ? 'endpoint' : 'unknown');
  }
  if (
    has(x, C_GRACEFUL) &&
    has(x, C_PKT_AFTER_CLOSE) &&
    !has(x, C_SENDER_AFTER_CLOSE) &&
    has(x, C_ANSWERS_LAST) &&
    x.noAck &&
    x.dir === 0
  ) {
    // After the close the TIME_WAIT side answered a segment the sensor never saw from the RST's sender, and
    // the sender, the connection's originator, reset that answer (seq = its ack): the lost segment was a
    // SYN reusing the tuple (the client's port), which the TIME_WAIT socket ACKs and the connecting socket
    // resets. The responder never connects from its listening port: when it resets such an ACK, or when
    // the sensor saw the segment that provoked it, it is RFC 1337's assassination (below). A retransmitted
    // FIN would be closed by that ACK, not reset.
    x.ev.push('time_wait_tuple', 'inferred_syn', 'answers_segment_ack');
    return decision('time_wait_reuse', 0.75, byTtl(x));
  }
  if (has(x, C_GRACEFUL) && has(x, C_PKT_AFTER_CLOSE)) {
    x.ev.push('fin_seen', 'segment_after_close');
    return decision(
      'time_wait_assassination',
      0.7,
      x.mb >= 2 ? 'middlebox' : x.ttlConsistent ? 'endpoint' : 'unknown',
    );
  }
  if (x.mb >= 2) return decision('injected_reset', Math.min(0.95, 0.55 + 0.1 * x.mb), 'middlebox');
  if (x.idle > cfg.idleTimeoutS) {
    if (!x.idleGap) x.ev.push(`idle_gap_s=${Math.floor(x.idle)}`);
    const origin =
      x.ttlMismatch || (x.noAck && !x.ttlConsistent) ? 'middlebox' : x.ttlConsistent ? 'endpoint' : 'unknown';
    return decision('idle_timeout', 0.8, origin);
  }
  if (has(x, C_FIN_ANY)) {
    x.ev.push('fin_seen');
    return decision('teardown_reset', 0.75, byTtl(x));
  }
  if (x.rxSame >= cfg.retransmitMin && has(x, C_RX_UNACKED)) {
    x.ev.push(`retransmissions=${x.rxSame}`);
    const origin = x.ttlConsistent ? 'endpoint' : x.ttlMismatch ? 'middlebox' : 'unknown';
    return decision('retransmission_timeout', 0.8, origin);
  }
  const origin = x.ttlConsistent ? 'endpoint' : 'unknown';
  if (x.noAck && has(x, C_ANSWERS_LAST) && !x.ttlMismatch) {
    x.ev.push('answers_segment_ack');
    return decision('stale_connection', x.ttlConsistent ? 0.8 : 0.6, origin);
  }
  if (x.mb === 1) return decision('injected_reset', 0.5, 'middlebox');
  if (x.exact !== 0) return decision('app_abort', x.noAck ? 0.55 : x.ttlConsistent ? 0.85 : 0.65, origin);
  return decision('other', 0.3, origin);
}
