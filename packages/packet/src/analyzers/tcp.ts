/**
 * TCP, the last layer: the fixed header and the options summary (MSS, window scale, SACK, timestamps)
 * go into slot `s.j` of the batch with what the outer layers recorded, plus up to 64 captured payload
 * bytes of RST segments. The payload length comes from the IP length, not the captured length.
 */
import {
  CK_BAD_TCP,
  CK_OFFLOAD,
  CK_VERIFIED,
  type HeaderColumns,
  OPT_MSS,
  OPT_SACK_BLOCKS,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  RST_PAYLOAD_MAX,
  TCP_RST,
} from '@rstwatch/core';
import { ACCEPT, type DecodeState, fold16, onesSum, STOP, short, u16, u32 } from './state.js';

export function tcp(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  const l4Len = s.l4Len;
  if (l4Len < 20) {
    s.stats.drops.bad_ip_length++;
    return STOP;
  }
  if (p + 20 > s.end) return short(s);
  const doff = buf[p + 12]! >> 4;
  const hlen = doff << 2;
  if (doff < 5 || hlen > l4Len) {
    s.stats.drops.bad_tcp_offset++;
    return STOP;
  }
  // Options cut by the snaplen: use what was captured; running into the cut is not malformed.
  const optsCut = p + hlen > s.end;
  const out = s.out;
  const j = s.j;
  const bad = options(buf, out, j, p + 20, optsCut ? s.end : p + hlen);
  if (bad && !optsCut) s.stats.anomalies.bad_tcp_options++;
  const payload = l4Len - hlen;
  const flags = ((buf[p + 12]! & 0x01) << 8) | buf[p + 13]!;
  out.srcPort[j] = u16(buf, p);
  out.dstPort[j] = u16(buf, p + 2);
  out.seq[j] = u32(buf, p + 4);
  out.ack[j] = u32(buf, p + 8);
  out.flags[j] = flags;
  out.window[j] = u16(buf, p + 14);
  out.payloadLen[j] = payload;
  out.tunnel[j] = s.tunnel;
  out.rstPayloadLen[j] = (flags & TCP_RST) !== 0 && payload > 0 ? rstPayload(buf, s, p + hlen, payload) : 0;
  out.cksum[j] = s.ckWhole !== 0 && p + l4Len <= s.end ? checksum(buf, p, l4Len, s) : s.ck;
  out.length = j + 1;
  s.stats.tcp++;
  return ACCEPT;
}

/**
 * `CK_*` bits of the frame with the TCP checksum of the whole segment at `p` (pseudo-header: the IP
 * layer's address sum, protocol 6, TCP length) verified. A wrong value equal to the pseudo-header's own
 * folded sum (what a sender with checksum offload leaves for its NIC to complete), or zero, is
 * offload-like.
 */
function checksum(buf: Uint8Array, p: number, l4Len: number, s: DecodeState): number {
  const pseudo = s.ckAddr + 6 + l4Len;
  if (fold16(onesSum(buf, p, l4Len, pseudo)) === 0xffff) return s.ck | CK_VERIFIED;
  const field = u16(buf, p + 16);
  return field === 0 || field === fold16(pseudo)
    ? s.ck | CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD
    : s.ck | CK_VERIFIED | CK_BAD_TCP;
}

/**
 * Summarises the options in `buf[q .. oend)` into slot `j` of the option columns; true when one is
 * malformed or truncated.
 */
function options(buf: Uint8Array, out: HeaderColumns, j: number, q: number, oend: number): boolean {
  let mss = 0;
  let wscale = 0;
  let tsVal = 0;
  let tsEcr = 0;
  let optFlags = 0;
  let bad = false;
  while (q < oend) {
    const kind = buf[q]!;
    if (kind === 0) break;
    if (kind === 1) {
      q++;
      continue;
    }
    const olen = q + 2 > oend ? 0 : buf[q + 1]!;
    if (olen < 2 || q + olen > oend) {
      bad = true;
      break;
    }
    if (kind === 2) {
      if (olen === 4) {
        mss = u16(buf, q + 2);
        optFlags |= OPT_MSS;
      } else bad = true;
    } else if (kind === 3) {
      if (olen === 3) {
        wscale = buf[q + 2]!;
        optFlags |= OPT_WSCALE;
      } else bad = true;
    } else if (kind === 4) {
      if (olen === 2) optFlags |= OPT_SACK_PERMITTED;
      else bad = true;
    } else if (kind === 5) {
      if (olen >= 10 && ((olen - 2) & 7) === 0) optFlags |= OPT_SACK_BLOCKS;
      else bad = true;
    } else if (kind === 8) {
      if (olen === 10) {
        tsVal = u32(buf, q + 2);
        tsEcr = u32(buf, q + 6);
        optFlags |= OPT_TIMESTAMPS;
      } else bad = true;
    }
    q += olen;
  }
  out.mss[j] = mss;
  out.wscale[j] = wscale;
  out.tsVal[j] = tsVal;
  out.tsEcr[j] = tsEcr;
  out.optFlags[j] = optFlags;
  return bad;
}

/** Copies the first captured payload bytes (at most 64) of a RST starting at `ps`; returns how many. */
function rstPayload(buf: Uint8Array, s: DecodeState, ps: number, payload: number): number {
  let rl = Math.min(payload, RST_PAYLOAD_MAX);
  if (ps + rl > s.end) rl = s.end > ps ? s.end - ps : 0;
  const rp = s.out.rstPayload;
  const ro = s.j * RST_PAYLOAD_MAX;
  for (let k = 0; k < rl; k++) rp[ro + k] = buf[ps + k]!;
  return rl;
}
