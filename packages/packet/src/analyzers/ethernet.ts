/** Ethernet II (link type 1, and the payload of VXLAN, GRE 0x6558, ERSPAN, Geneve, MPLS pseudowires). */
import { byEthertype } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function ethernet(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 14 > s.end) return short(s);
  s.p = p + 14;
  return byEthertype(s, u16(buf, p + 12));
}
