/**
 * ERSPAN inside GRE: type I/II (GRE protocol 0x88BE; type II has an 8-byte header and sets GRE's
 * sequence bit, type I has none) and type III (0x22EB, 12 bytes plus an optional 8-byte platform
 * sub-header; Ethernet or IP frames). When GRE was the outermost tunnel, ERSPAN names it instead.
 */
import { TUNNEL_ERSPAN2, TUNNEL_ERSPAN3 } from '@rstwatch/core';
import { A_ETHERNET, A_IP } from './dispatch.js';
import { type DecodeState, malformedTunnel, notTcp } from './state.js';

export function erspan2(_buf: Uint8Array, s: DecodeState): number {
  if (s.greSeq !== 0) {
    if (s.p + 8 > s.end) return malformedTunnel(s);
    s.p += 8;
  }
  if (s.greTunnel !== 0) s.tunnel = TUNNEL_ERSPAN2;
  return A_ETHERNET;
}

export function erspan3(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 12 > s.end) return malformedTunnel(s);
  const frameType = (buf[p + 10]! >> 2) & 0x1f;
  s.p = p + ((buf[p + 11]! & 0x01) !== 0 ? 20 : 12);
  if (s.greTunnel !== 0) s.tunnel = TUNNEL_ERSPAN3;
  if (frameType === 0) return A_ETHERNET;
  if (frameType === 2) return A_IP;
  return notTcp(s);
}
