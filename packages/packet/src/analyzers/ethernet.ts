/**
 * Ethernet (link type 1, and the payload of VXLAN, GRE 0x6558, ERSPAN, Geneve, MPLS pseudowires): an
 * ethertype picks the next analyzer; a value up to 1500 is an 802.3 length, 802.2 LLC follows.
 */
import { A_LLC, byEthertype } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function ethernet(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 14 > s.end) return short(s);
  s.p = p + 14;
  const etype = u16(buf, p + 12);
  return etype <= 1500 ? A_LLC : byEthertype(s, etype);
}
