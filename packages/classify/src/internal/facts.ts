/**
 * Layout of a held RST in the pending ring: a row of float64 "facts" captured from the flow state at the
 * moment of the RST (before the RST touched it) and updated by the packets that follow, plus the RST's
 * payload, addresses and the flow history at that time. All in one SharedArrayBuffer.
 */
import { ADDR_BYTES, RST_PAYLOAD_MAX } from '@rstwatch/core';
import { HISTORY_MAX } from '@rstwatch/flow';

export const F_TS = 0;
export const F_FLOW = 1;
export const F_GEN = 2;
/** 0 orig, 1 resp, 2 unknown (no flow context). */
export const F_DIR = 3;
export const F_FLAGS = 4;
export const F_SEQ = 5;
export const F_ACK = 6;
export const F_TTL = 7;
export const F_IPID = 8;
export const F_V6 = 9;
export const F_PLEN = 10;
export const F_SPORT = 11;
export const F_DPORT = 12;
export const F_SENSOR = 13;
/** Index in PHASES. */
export const F_PHASE = 14;
/** Index in CONN_STATES, after the RST. */
export const F_CONNSTATE = 15;
export const F_HISTLEN = 16;
/** -1 = null. */
export const F_TTL_EXP = 17;
/** -1 null, 0 false, 1 true. */
export const F_IN_WIN = 18;
export const F_SEQ_EXACT = 19;
/** Signed IP-ID difference to the claimed sender's previous packet; NaN when unknown. */
export const F_IPID_GAP = 20;
export const F_CTX = 21;
/** Tampering stage: 0 other, 1 lone SYN, 2 SYN;ACK, 3 first data, 4 more data. */
export const F_STAGE = 22;
export const F_GRP_RST = 23;
export const F_GRP_RSTACK = 24;
export const F_GRP_ACKDIFF = 25;
export const F_GRP_ACK0 = 26;
export const F_GRP_ACK = 27;
export const F_POST_PKTS = 28;
export const F_POST_SENDER_DATA = 29;
export const F_POST_CHALLENGE = 30;
export const F_POST_RECV = 31;
export const F_POST_SENDER_ANY = 32;
/** Previous held RST of the same flow (ring sequence number + 1), 0 none. */
export const F_PREV = 33;
export const F_SCAN_PORTS = 34;
export const F_BURST = 35;
export const F_IDLE_S = 36;
export const F_RX_SAME = 37;
/** Receiver's last announced ack (its rcv.nxt for the sender) at the RST: a challenge ACK repeats it. */
export const F_RCV_NXT = 38;
export const F_PAYLOAD_LEN = 39;
export const F_PLEN_STORED = 40;
/** Released already (1) — entries are released in ring order. */
export const F_DONE = 41;
/** 1 when this RST or an earlier held one of its group (same sender, same stage) had the exact seq. */
export const F_GRP_EXACT = 42;
/** Cause (CAUSES index) of the flow's previously released RST when this one is released, -1 none. */
export const F_PREV_CAUSE = 43;
/** 1 when the RST's checksum was bad (and counted as evidence): it reset nothing. */
export const F_BAD_CKSUM = 44;
/** Hop distance of the sender's /24 (/64) neighbours from their TTL baselines; -1 when none is known. */
export const F_NB_HOPS = 45;
export const FACTS = 46;

/** Context bits in F_CTX. */
export const C_NEW = 1 << 0;
export const C_TW_HIT = 1 << 1;
export const C_TW_REUSE = 1 << 2;
export const C_MALFORMED_SYN = 1 << 3;
export const C_HS_COMPLETE = 1 << 4;
export const C_ANY_DATA = 1 << 5;
export const C_SENDER_SYN = 1 << 6;
export const C_SENDER_SYNACK = 1 << 7;
export const C_RECV_SYN = 1 << 8;
export const C_RECV_SYNACK = 1 << 9;
export const C_FIN_ANY = 1 << 10;
export const C_GRACEFUL = 1 << 11;
export const C_PKT_AFTER_CLOSE = 1 << 12;
export const C_PREV_RST = 1 << 13;
export const C_ANSWERS_LAST = 1 << 14;
export const C_TTL_FROM_FLOW = 1 << 15;
export const C_ACK_IS_ISN1 = 1 << 16;
export const C_RX_UNACKED = 1 << 17;
export const C_SEQ_STEP = 1 << 18;
export const C_MIDSTREAM = 1 << 19;
export const C_SENDER_SEEN = 1 << 20;
/** The claimed sender had already sent a RST on this flow. */
export const C_SENDER_PREV_RST = 1 << 21;
/**
 * Loss (Zeek's partial connections): the handshake completed although its SYN or SYN-ACK was not seen (the
 * other one, then the originator's ACK); C_HS_COMPLETE is set with it.
 */
export const C_HS_INFERRED = 1 << 22;
/** Loss: an endpoint's data was acknowledged but not seen (an ACK beyond its ISN+1: Zeek's gap). */
export const C_DATA_INFERRED = 1 << 23;
/** The RST's seq is its sender's ISN+1: it answers a segment acknowledging the sender's SYN (or SYN-ACK). */
export const C_SEQ_IS_ISN1 = 1 << 24;
/** Loss: a FIN was inferred from its ACK (on this flow, or on the one it reused in TIME_WAIT). */
export const C_FIN_INFERRED = 1 << 25;
/** The claimed sender itself sent a non-RST segment after the graceful close. */
export const C_SENDER_AFTER_CLOSE = 1 << 26;
/** A RST on no flow whose receiver tried to connect to the RST's sender moments before (scan window). */
export const C_RECV_OPENING = 1 << 27;

/** Entries in the pending ring (held RSTs); beyond this the oldest is released early. */
export const HELD_MAX = 2048;
/** HELD_MAX - 1 (HELD_MAX is a power of two): ring slot of sequence number s is `s & HELD_MASK`. */
export const HELD_MASK = HELD_MAX - 1;

export const PENDING_META = 4; // head, tail (ring sequence numbers), spare
export function pendingBytes(): number {
  return (
    PENDING_META * 8 +
    HELD_MAX * FACTS * 8 +
    HELD_MAX * RST_PAYLOAD_MAX +
    HELD_MAX * ADDR_BYTES * 2 +
    HELD_MAX * HISTORY_MAX
  );
}

export interface PendingViews {
  meta: Float64Array;
  facts: Float64Array;
  payload: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  hist: Uint8Array;
}

export function mapPending(buf: SharedArrayBuffer): PendingViews {
  let off = 0;
  const meta = new Float64Array(buf, off, PENDING_META);
  off += PENDING_META * 8;
  const facts = new Float64Array(buf, off, HELD_MAX * FACTS);
  off += HELD_MAX * FACTS * 8;
  const payload = new Uint8Array(buf, off, HELD_MAX * RST_PAYLOAD_MAX);
  off += HELD_MAX * RST_PAYLOAD_MAX;
  const src = new Uint8Array(buf, off, HELD_MAX * ADDR_BYTES);
  off += HELD_MAX * ADDR_BYTES;
  const dst = new Uint8Array(buf, off, HELD_MAX * ADDR_BYTES);
  off += HELD_MAX * ADDR_BYTES;
  const hist = new Uint8Array(buf, off, HELD_MAX * HISTORY_MAX);
  return { meta, facts, payload, src, dst, hist };
}
