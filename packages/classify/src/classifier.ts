/**
 * The RST verdict: cause, origin, confidence, evidence and tampering signature from the facts captured
 * when the RST arrived and what its flow showed while it was held. A pure function of one facts row, so
 * it is testable alone and identical on every thread.
 */
import type { Cause, Origin, Signature } from '@rstwatch/core';
import { CAUSES, TCP_ACK, TCP_SYN } from '@rstwatch/core';
import type { EngineConfig } from './config.js';
import {
  C_ACK_IS_ISN1,
  C_ANSWERS_LAST,
  C_ANY_DATA,
  C_FIN_ANY,
  C_GRACEFUL,
  C_HS_COMPLETE,
  C_MALFORMED_SYN,
  C_MIDSTREAM,
  C_NEW,
  C_PKT_AFTER_CLOSE,
  C_RECV_SYNACK,
  C_RX_UNACKED,
  C_SENDER_PREV_RST,
  C_SENDER_SYN,
  C_SENDER_SYNACK,
  C_SEQ_STEP,
  C_TTL_FROM_FLOW,
  C_TW_HIT,
  C_TW_REUSE,
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

/** Cause, origin, confidence and evidence for facts row `r` at offset `b`. */
export function classifyFacts(r: Float64Array, b: number, cfg: EngineConfig): Verdict {
  const ctx = r[b + F_CTX]!;
  const has = (bit: number) => (ctx & bit) !== 0;
  const phase = r[b + F_PHASE]!;
  const dir = r[b + 3]!; // F_DIR
  const flags = r[b + F_FLAGS]!;
  const noAck = (flags & TCP_ACK) === 0;
  const ttl = r[b + F_TTL]!;
  const ttlExp = r[b + F_TTL_EXP]!;
  const inWin = r[b + F_IN_WIN]!;
  const exact = r[b + F_SEQ_EXACT]!;
  const ipidGap = r[b + F_IPID_GAP]!;
  const challenge = r[b + F_POST_CHALLENGE]! > 0;
  const dataAfter = r[b + F_POST_SENDER_DATA]! > 0;
  const payload = r[b + F_PAYLOAD_LEN]! > 0;
  const scanPorts = r[b + F_SCAN_PORTS]!;
  const burst = r[b + F_BURST]!;
  const idle = r[b + F_IDLE_S]!;
  const rxSame = r[b + F_RX_SAME]!;
  const ackChange = r[b + F_GRP_ACKDIFF] === 1;
  const prevCause = r[b + F_PREV_CAUSE]!;

  const ev: string[] = [];
  const ttlDelta = ttlExp >= 0 ? ttl - ttlExp : 0;
  const ttlMismatch = ttlExp >= 0 && ttlDelta !== 0;
  const ttlConsistent = ttlExp >= 0 && ttlDelta === 0;
  const ipidOdd = !Number.isNaN(ipidGap) && (ipidGap > 1 || ipidGap < 0);
  if (ttlMismatch) ev.push(`ttl_delta=${ttlDelta}`);
  if (ttlExp < 0) ev.push('no_ttl_baseline');
  if (ipidOdd) ev.push(`ipid_gap=${ipidGap}`);
  if (noAck) ev.push('no_ack_flag');
  if (inWin === 0) ev.push('seq_out_of_window');
  else if (inWin === 1 && exact === 0) ev.push('seq_in_window_not_exact');
  else if (exact === 1) ev.push('seq_exact');
  if (challenge) ev.push('challenge_ack_seen');
  if (dataAfter) ev.push('data_after_rst');
  if (has(C_SEQ_STEP)) ev.push('rst_seq_change');
  if (ackChange) ev.push('rst_ack_change');
  if (payload) ev.push('rst_with_payload');
  if (burst >= cfg.burstMinRsts) ev.push(`burst_rsts=${burst}`);
  // The idle gap before every mid-connection RST, whatever its cause: the detectors learn idle timers
  // from it (a load balancer's 350 s is not idle_timeout under a 400 s threshold, but is a timer).
  const idleGap = (phase === PH_ESTABLISHED || phase === PH_CLOSING) && idle >= 1 && !has(C_NEW);
  if (idleGap) ev.push(`idle_gap_s=${Math.floor(idle)}`);

  let cause: Cause = 'other';
  let conf = 0.3;
  let origin: Origin = 'unknown';
  // Middlebox signals: the claimed sender does not look like itself.
  let mb = 0;
  if (ttlMismatch) mb += has(C_TTL_FROM_FLOW) ? 2 : 1;
  if (dataAfter) mb += 2;
  if (ipidOdd && (noAck || ttlMismatch)) mb += 1;
  if (payload && phase !== PH_HANDSHAKE) mb += 1;

  const synRst = (flags & TCP_SYN) !== 0;
  if (synRst) {
    // A SYN that also carries RST is itself an illegal packet (RST events include it).
    ev.push('malformed_syn');
    cause = 'malformed_syn';
    conf = 0.9;
    origin = ttlMismatch ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
  } else if (has(C_MALFORMED_SYN) && dir === 1 && !has(C_HS_COMPLETE)) {
    ev.push('malformed_syn', 'answers_syn');
    if (has(C_ACK_IS_ISN1)) ev.push('ack_is_isn_plus_1');
    cause = 'malformed_syn';
    conf = ttlMismatch ? 0.6 : 0.85;
    origin = ttlMismatch ? 'middlebox' : ttlConsistent || !noAck ? 'endpoint' : 'unknown';
  } else if (has(C_NEW)) {
    ev.push('no_flow_context');
    if (has(C_TW_HIT)) {
      ev.push('time_wait_tuple');
      cause = 'time_wait_assassination';
      conf = 0.6;
    } else {
      cause = 'unsolicited';
      conf = 0.7;
    }
    origin = 'unknown';
  } else if (phase === PH_HANDSHAKE) {
    if (dir === 1) {
      if (has(C_MALFORMED_SYN)) {
        ev.push('malformed_syn');
        cause = 'malformed_syn';
        conf = 0.85;
        origin = ttlMismatch ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
      } else if (has(C_TW_REUSE)) {
        ev.push('time_wait_tuple');
        cause = 'time_wait_reuse';
        conf = 0.8;
        origin = ttlMismatch ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
      } else if (has(C_SENDER_SYNACK)) {
        ev.push('synack_then_rst');
        cause = 'firewall_reject';
        conf = ttlMismatch || noAck ? 0.85 : 0.6;
        origin = ttlMismatch || noAck ? 'middlebox' : 'unknown';
      } else {
        ev.push('answers_syn');
        if (has(C_ACK_IS_ISN1)) ev.push('ack_is_isn_plus_1');
        if (ttlMismatch || noAck || (ipidOdd && ttlExp >= 0)) {
          cause = 'firewall_reject';
          conf = ttlMismatch && noAck ? 0.9 : 0.75;
          origin = 'middlebox';
        } else {
          cause = 'closed_port';
          // Part of a scan of many ports: say so, the cause stays the closed port (the contract's syn_scan
          // and connect_scan are the scanner's own RSTs).
          if (scanPorts >= cfg.scanMinPorts) ev.push(`scan_ports=${scanPorts}`);
          conf = has(C_ACK_IS_ISN1) ? (ttlConsistent ? 0.9 : 0.7) : 0.6;
          // Without a baseline, an exact kernel-style answer (RST+ACK, ack = ISN+1) is taken as the host's.
          origin = ttlConsistent || has(C_ACK_IS_ISN1) ? 'endpoint' : 'unknown';
        }
      }
    } else if (has(C_TW_REUSE)) {
      // The connecting side resets the TIME_WAIT socket's ACK to its reused SYN.
      ev.push('time_wait_tuple');
      cause = 'time_wait_reuse';
      conf = has(C_ANSWERS_LAST) ? 0.85 : 0.7;
      origin = ttlMismatch ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
    } else if (has(C_RECV_SYNACK) && !has(C_SENDER_SYN)) {
      // Backscatter: a SYN-ACK nobody here asked for, reset by the host it reached.
      ev.push('synack_without_syn');
      if (has(C_ANSWERS_LAST)) ev.push('answers_segment_ack');
      cause = 'unsolicited';
      conf = 0.8;
      origin = ttlMismatch ? 'middlebox' : ttlConsistent || has(C_ANSWERS_LAST) ? 'endpoint' : 'unknown';
    } else if (has(C_RECV_SYNACK)) {
      if (scanPorts >= cfg.scanMinPorts) ev.push(`scan_ports=${scanPorts}`);
      cause = 'syn_scan';
      conf = (noAck ? 0.8 : 0.6) + (scanPorts >= cfg.scanMinPorts ? 0.15 : 0);
      // Scanners craft their SYNs (odd TTLs) while their kernel sends the RST: a TTL gap is expected.
      origin = dataAfter ? 'middlebox' : 'endpoint';
    } else if (ttlMismatch) {
      cause = 'firewall_reject';
      conf = 0.5;
      origin = 'middlebox';
    } else {
      cause = 'other';
      conf = 0.3;
      origin = ttlConsistent ? 'endpoint' : 'unknown';
    }
  } else if (phase === PH_ESTABLISHED && has(C_HS_COMPLETE) && !has(C_ANY_DATA) && !has(C_MIDSTREAM)) {
    ev.push('handshake_complete_no_data');
    if (mb >= 2) {
      cause = 'injected_reset';
      conf = 0.7;
      origin = 'middlebox';
    } else if (dir === 1) {
      cause = 'backlog_overflow';
      conf = ttlConsistent ? 0.8 : 0.65;
      origin = ttlConsistent ? 'endpoint' : ttlMismatch ? 'middlebox' : 'unknown';
    } else {
      if (scanPorts >= cfg.scanMinPorts) ev.push(`scan_ports=${scanPorts}`);
      cause = 'connect_scan';
      conf = (ttlConsistent ? 0.75 : 0.6) + (scanPorts >= cfg.scanMinPorts ? 0.15 : 0);
      origin = ttlConsistent ? 'endpoint' : ttlMismatch ? 'middlebox' : 'unknown';
    }
  } else {
    // established, closing or closed, with context.
    const stepping = has(C_SEQ_STEP) && exact !== 1;
    const flood = burst >= cfg.burstMinRsts && exact !== 1;
    // On-path injectors know the sequence numbers (in window, often stepping ahead in bursts) but give
    // themselves away by TTL/IP ID and by the real sender's packets that keep arriving.
    // An off-path attacker has to guess: its RSTs are in the window at best, never exact.
    const onPath = mb >= 2 && inWin === 1 && !challenge && !flood && r[b + F_GRP_EXACT] === 1;
    if (onPath) {
      cause = 'injected_reset';
      conf = Math.min(0.95, 0.55 + 0.1 * mb);
      origin = 'middlebox';
    } else if (inWin === 0 || (inWin === 1 && exact === 0 && r[b + F_GRP_EXACT] !== 1) || stepping) {
      // Off-path guesses: outside the window, or inside it but not exact (RFC 5961), or stepping.
      cause = 'reset_attack';
      conf =
        (inWin === 0 ? 0.7 : 0.6) +
        (challenge ? 0.15 : 0) +
        (flood || stepping ? 0.1 : 0) +
        (mb >= 2 ? 0.1 : 0);
      origin = 'spoofed';
    } else if (
      has(C_SENDER_PREV_RST) &&
      has(C_ANSWERS_LAST) &&
      exact === 1 &&
      !ttlMismatch &&
      prevCause >= 0 &&
      CAUSES[prevCause] !== 'reset_attack' &&
      CAUSES[prevCause] !== 'injected_reset'
    ) {
      // RFC 2525 2.16: after its own RST the host answers each segment still arriving with another RST;
      // these follow from the first one and share its cause.
      ev.push('repeats_earlier_rst', 'answers_segment_ack');
      cause = CAUSES[prevCause]!;
      conf = 0.7;
      origin = ttlConsistent ? 'endpoint' : 'unknown';
    } else if (has(C_GRACEFUL) && has(C_PKT_AFTER_CLOSE)) {
      ev.push('fin_seen', 'segment_after_close');
      cause = 'time_wait_assassination';
      conf = 0.7;
      origin = mb >= 2 ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
    } else if (mb >= 2) {
      cause = 'injected_reset';
      conf = Math.min(0.95, 0.55 + 0.1 * mb);
      origin = 'middlebox';
    } else if (idle > cfg.idleTimeoutS) {
      if (!idleGap) ev.push(`idle_gap_s=${Math.floor(idle)}`);
      cause = 'idle_timeout';
      conf = 0.8;
      origin =
        ttlMismatch || (noAck && !ttlConsistent) ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
    } else if (has(C_FIN_ANY)) {
      ev.push('fin_seen');
      cause = 'teardown_reset';
      conf = 0.75;
      origin = ttlMismatch ? 'middlebox' : ttlConsistent ? 'endpoint' : 'unknown';
    } else if (rxSame >= cfg.retransmitMin && has(C_RX_UNACKED)) {
      ev.push(`retransmissions=${rxSame}`);
      cause = 'retransmission_timeout';
      conf = 0.8;
      origin = ttlConsistent ? 'endpoint' : ttlMismatch ? 'middlebox' : 'unknown';
    } else if (noAck && has(C_ANSWERS_LAST) && !ttlMismatch) {
      ev.push('answers_segment_ack');
      cause = 'stale_connection';
      conf = ttlConsistent ? 0.8 : 0.6;
      origin = ttlConsistent ? 'endpoint' : 'unknown';
    } else if (mb === 1) {
      cause = 'injected_reset';
      conf = 0.5;
      origin = 'middlebox';
    } else if (exact !== 0) {
      cause = 'app_abort';
      conf = noAck ? 0.55 : ttlConsistent ? 0.85 : 0.65;
      origin = ttlConsistent ? 'endpoint' : 'unknown';
    } else {
      cause = 'other';
      conf = 0.3;
      origin = ttlConsistent ? 'endpoint' : 'unknown';
    }
  }
  void has(C_ANSWERS_LAST);
  return { cause, origin, confidence: round2(conf), evidence: ev, signature: signatureOf(r, b) };
}
