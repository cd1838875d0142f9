/**
 * AYIYA, "Anything In Anything" (UDP 5072, and found by content as Zeek does): identity and signature
 * lengths in the header, opcode 1 (forward) carries the packet named by the next-header field.
 */
import { TUNNEL_AYIYA } from '@rstwatch/core';
import { byIpProtocol } from './dispatch.js';
import { type DecodeState, malformedTunnel, notTcp } from './state.js';

export function ayiya(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end) return malformedTunnel(s);
  const h = 8 + (1 << (buf[p]! >> 4)) + (buf[p + 1]! >> 4) * 4;
  if (p + h > s.end) return malformedTunnel(s);
  if ((buf[p + 2]! & 0x0f) !== 1) return notTcp(s);
  if (s.tunnel === 0) s.tunnel = TUNNEL_AYIYA;
  s.p = p + h;
  return byIpProtocol(s, buf[p + 3]!);
}

/** Zeek's AYIYA signature: SHA-1 signature length and identity/hash/auth/opcode bytes 0x52 0x11. */
export function isAyiya(buf: Uint8Array, p: number, end: number): boolean {
  return p + 3 <= end && buf[p + 1] === 0x52 && buf[p + 2] === 0x11;
}
