/** PPPoE session stage (ethertype 0x8864): 6-byte header, then the 2-byte PPP protocol. */
import { byPppProtocol } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function pppoe(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end) return short(s);
  s.p = p + 8;
  return byPppProtocol(s, u16(buf, p + 6));
}
