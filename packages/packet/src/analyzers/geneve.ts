/** Geneve (RFC 8926, UDP 6081): version 0, options skipped, protocol type 0x6558 Ethernet or an ethertype. */
import { TUNNEL_GENEVE } from '@rstwatch/core';
import { A_ETHERNET, byEthertype } from './dispatch.js';
import { type DecodeState, malformedTunnel, u16 } from './state.js';

export function geneve(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end) return malformedTunnel(s);
  const g0 = buf[p]!;
  const glen = 8 + ((g0 & 0x3f) << 2);
  if (g0 >> 6 !== 0 || p + glen > s.end) return malformedTunnel(s);
  if (s.tunnel === 0) s.tunnel = TUNNEL_GENEVE;
  s.p = p + glen;
  const etype = u16(buf, p + 2);
  return etype === 0x6558 ? A_ETHERNET : byEthertype(s, etype);
}
