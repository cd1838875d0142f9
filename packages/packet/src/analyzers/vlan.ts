/** 802.1Q, 802.1ad (QinQ) and 0x9100 tags: one tag per call; the outermost VLAN id is kept. */
import { byEthertype } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function vlan(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return short(s);
  if (s.vlanSet === 0) {
    s.out.vlan[s.j] = u16(buf, p) & 0x0fff;
    s.vlanSet = 1;
  }
  s.p = p + 4;
  return byEthertype(s, u16(buf, p + 2));
}
