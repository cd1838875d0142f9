/**
 * IPv6 and its extension headers (hop-by-hop, routing, destination options, fragment, AH). A non-first
 * fragment carries no TCP header; ESP, no-next-header, ICMPv6 and anything unknown are not TCP we can
 * see. Payload length 0 (jumbogram or zeroed) leaves nothing trustworthy to compute lengths from.
 */
import type { HeaderColumns } from '@rstwatch/core';
import { byIpProtocol, IPPROTO_NEXT } from './dispatch.js';
import { type DecodeState, LITTLE_ENDIAN, MAX_LAYERS, notTcp, onesSum, STOP, short, u16 } from './state.js';

export function ipv6(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 40 > s.end) return short(s);
  if (buf[p]! >> 4 !== 6) {
    s.stats.drops.bad_ip_header++;
    return STOP;
  }
  const plen = u16(buf, p + 4);
  if (plen === 0) {
    s.stats.drops.bad_ip_length++;
    return STOP;
  }
  const out = s.out;
  const j = s.j;
  out.ipVersion[j] = 6;
  out.ipLen[j] = 40 + plen;
  out.ttl[j] = buf[p + 7]!;
  out.ipId[j] = 0;
  writeAddrs6(buf, p, out, s.ao);
  s.ckWhole = 0;
  if (s.verify !== 0 && p + 40 + plen <= s.end) {
    s.ckAddr = onesSum(buf, p + 8, 32, 0);
    s.ckWhole = 1;
  }
  if (p + 40 + plen < s.end) s.end = p + 40 + plen;
  s.p = p + 40;
  s.l4Len = plen;
  return extensionHeaders(buf, s, buf[p + 6]!);
}

/** Walks extension headers from `s.p`, `next` naming the first; dispatches on the upper-layer protocol. */
function extensionHeaders(buf: Uint8Array, s: DecodeState, next: number): number {
  const end = s.end;
  let p = s.p;
  for (let ext = 0; IPPROTO_NEXT[next] === 0; ) {
    let hlen = 0;
    if (next === 0 || next === 43 || next === 60) {
      if (p + 2 > end) return short(s);
      hlen = (buf[p + 1]! + 1) << 3;
    } else if (next === 44) {
      if (p + 8 > end) return short(s);
      if (u16(buf, p + 2) >> 3 !== 0) {
        if (buf[p]! === 6) s.stats.drops.ipv6_fragment_nonfirst++;
        else s.stats.notTcp++;
        return STOP;
      }
      hlen = 8;
    } else if (next === 51) {
      if (p + 2 > end) return short(s);
      hlen = (buf[p + 1]! + 2) << 2;
    } else {
      return notTcp(s);
    }
    if (hlen > s.l4Len) {
      s.stats.drops.bad_ip_length++;
      return STOP;
    }
    if (++ext > MAX_LAYERS) {
      s.stats.drops.encap_too_deep++;
      return STOP;
    }
    next = buf[p]!;
    p += hlen;
    s.l4Len -= hlen;
  }
  s.p = p;
  return byIpProtocol(s, next);
}

/** Source and destination of the IPv6 header at `p` into slot `ao` of the address columns. */
function writeAddrs6(buf: Uint8Array, p: number, out: HeaderColumns, ao: number): void {
  if (!LITTLE_ENDIAN) {
    writeAddrs6Bytes(buf, p, out, ao);
    return;
  }
  const w = ao >> 2;
  const s32 = out.srcAddr32;
  const d32 = out.dstAddr32;
  for (let k = 0; k < 4; k++) {
    const a = p + 8 + (k << 2);
    s32[w + k] = buf[a]! | (buf[a + 1]! << 8) | (buf[a + 2]! << 16) | (buf[a + 3]! << 24);
    d32[w + k] = buf[a + 16]! | (buf[a + 17]! << 8) | (buf[a + 18]! << 16) | (buf[a + 19]! << 24);
  }
}

/** {@link writeAddrs6} on a big-endian host, byte by byte. */
function writeAddrs6Bytes(buf: Uint8Array, p: number, out: HeaderColumns, ao: number): void {
  for (let k = 0; k < 16; k++) {
    out.srcAddr[ao + k] = buf[p + 8 + k]!;
    out.dstAddr[ao + k] = buf[p + 24 + k]!;
  }
}
