/**
 * GRE version 0 (RFC 2784/2890: optional checksum, key, sequence number), dispatched on its protocol
 * type: the GRE table first (ERSPAN, transparent Ethernet bridging), then the ethertypes. PPTP's enhanced
 * GRE (version 1) carries PPP, not TCP we decode; RFC 1701 source routing is obsolete.
 */
import { TUNNEL_GRE } from '@rstwatch/core';
import { byEthertype, GRE_NEXT } from './dispatch.js';
import { type DecodeState, malformedTunnel, notTcp, u16 } from './state.js';

export function gre(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return malformedTunnel(s);
  const gf = buf[p]!;
  const ver = buf[p + 1]! & 0x07;
  if (ver !== 0 || (gf & 0x40) !== 0) return ver === 1 ? notTcp(s) : malformedTunnel(s);
  let h = 4;
  if (gf & 0x80) h += 4; // checksum + reserved
  if (gf & 0x20) h += 4; // key
  if (gf & 0x10) h += 4; // sequence number
  if (p + h > s.end) return malformedTunnel(s);
  s.p = p + h;
  s.greSeq = (gf & 0x10) >> 4;
  s.greTunnel = s.tunnel === 0 ? 1 : 0;
  if (s.tunnel === 0) s.tunnel = TUNNEL_GRE;
  const proto = u16(buf, p + 2);
  const id = GRE_NEXT[proto]!;
  return id !== 0 ? id : byEthertype(s, proto);
}
