/**
 * IEEE 802.2 LLC, the header of FDDI, 802.11 and 802.3 (length-field) Ethernet frames. IP travels in SNAP
 * (DSAP = SSAP = 0xAA, UI control, then a 3-byte OUI and an ethertype); any other LLC payload (spanning
 * tree, NetBIOS, IPX) is not TCP.
 */
import { byEthertype } from './dispatch.js';
import { type DecodeState, notTcp, short, u16 } from './state.js';

export function llc(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 3 > s.end) return short(s);
  if (buf[p] !== 0xaa || buf[p + 1] !== 0xaa || buf[p + 2] !== 0x03) return notTcp(s);
  if (p + 8 > s.end) return short(s);
  s.p = p + 8;
  return byEthertype(s, u16(buf, p + 6));
}
