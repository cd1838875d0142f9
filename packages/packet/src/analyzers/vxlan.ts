/** VXLAN (RFC 7348, UDP 4789): 8-byte header with the I flag set, then Ethernet. */
import { TUNNEL_VXLAN } from '@rstwatch/core';
import { A_ETHERNET } from './dispatch.js';
import { type DecodeState, malformedTunnel } from './state.js';

export function vxlan(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end || (buf[p]! & 0x08) === 0) return malformedTunnel(s);
  if (s.tunnel === 0) s.tunnel = TUNNEL_VXLAN;
  s.p = p + 8;
  return A_ETHERNET;
}
