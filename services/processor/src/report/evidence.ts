/** Evidence strings (the classifier's `EVIDENCE_NAMES`, the detectors' additions) in words, for people. */

type Words = string | ((n: string) => string);

const WORDS: Record<string, Words> = {
  'ttl_delta=': (n) => `its TTL is ${n} away from what this host's other packets predict`,
  'ipid_gap=': (n) => `its IP ID jumps by ${n} from the sender's previous packet (another IP stack?)`,
  no_ack_flag: 'it has no ACK flag where the host would set one',
  seq_out_of_window: "its sequence number is outside the receiver's window",
  seq_in_window_not_exact:
    'its sequence number is inside the window but not the exact next one (RFC 5961: answered by a challenge ACK)',
  seq_exact: "its sequence number is exactly the receiver's next expected one",
  challenge_ack_seen: 'the receiver answered with a challenge ACK (RFC 5961)',
  data_after_rst: 'the claimed sender kept sending after its RST (the race that betrays an injector)',
  rst_seq_change: 'back-to-back RSTs, the later one with a higher sequence number',
  rst_ack_change: 'several RSTs with different ACK numbers',
  rst_with_payload: 'the RST carries a payload',
  handshake_complete_no_data: 'the handshake completed and no data was exchanged',
  answers_syn: 'it answers a SYN',
  ack_is_isn_plus_1: "its ACK number is the SYN's initial sequence number + 1",
  synack_then_rst: 'a SYN-ACK came, then this RST',
  synack_without_syn: 'a SYN-ACK arrived for which no SYN was seen',
  malformed_syn: 'the SYN carried illegal extra flags',
  time_wait_tuple: 'the 4-tuple was closed less than 2×MSL earlier (TIME_WAIT)',
  'scan_ports=': (n) => `the scanning host touched ${n} ports`,
  'burst_rsts=': (n) => `part of a burst of ${n} RSTs`,
  'idle_gap_s=': (n) => `the connection had been silent for ${n} s`,
  'retransmissions=': (n) => `the same data was retransmitted ${n} times without being acknowledged`,
  fin_seen: 'a FIN was seen before it',
  segment_after_close: 'a segment arrived after the connection had closed',
  answers_segment_ack: 'its sequence number is the ACK number of the segment it answers',
  repeats_earlier_rst: 'it repeats an earlier RST of this connection',
  no_flow_context: 'no other packet of this connection was seen',
  no_ttl_baseline: 'no other packet of this host to compare its TTL with',
  bad_checksum:
    'its IP or TCP checksum is wrong, so the receiver dropped it: it reset nothing (the connection was not ended by it)',
  'neighbour_hops=': (n) => `hosts in the same /24 (/64) are ${n} hops from the sensor`,
  'ttl_hops=': (n) =>
    `its TTL says it travelled ${n} hops (from the nearest common initial TTL: 64, 128 or 255)`,
  'learned_idle_timer_s=': (n) => `its idle gap matches the timer learned for this service (${n} s)`,
  inferred_syn: 'the SYN was not captured; later packets show it was sent (verdict kept, confidence lowered)',
  inferred_synack:
    'the SYN-ACK was not captured; later packets show it was sent (verdict kept, confidence lowered)',
  inferred_ack:
    'the handshake-completing ACK was not captured; later packets show it was sent (verdict kept, confidence lowered)',
  inferred_fin:
    'a FIN was not captured; the other side acknowledged it, so the close (and TIME_WAIT) happened (verdict kept, confidence lowered)',
  reordered:
    'it was stamped before a packet it answers (two taps with skewed clocks): classified in causal order',
  gap: 'packets of this connection were not captured (an ACK covers data the sensor never saw); confidence lowered',
};

/** One evidence string in words; unknown names are returned as they are. */
export function evidenceWords(ev: string): string {
  const eq = ev.indexOf('=');
  if (eq >= 0) {
    const w = WORDS[ev.slice(0, eq + 1)];
    if (typeof w === 'function') return w(ev.slice(eq + 1));
  }
  const w = WORDS[ev];
  return typeof w === 'string' ? w : ev;
}
