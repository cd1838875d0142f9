/** Linux "cooked" captures (`tcpdump -i any`): SLL (link type 113, 16 bytes) and SLL2 (276, 20 bytes). */
import { byEthertype } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function linuxSll(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 16 > s.end) return short(s);
  s.p = p + 16;
  return byEthertype(s, u16(buf, p + 14));
}

export function linuxSll2(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 20 > s.end) return short(s);
  s.p = p + 20;
  return byEthertype(s, u16(buf, p));
}
