/** Radiotap (link type 127): a little-endian header length at byte 2, then an 802.11 frame. */
import { byLinkType } from './dispatch.js';
import { type DecodeState, short } from './state.js';

const LINKTYPE_IEEE802_11 = 105;

export function radiotap(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return short(s);
  const len = buf[p + 2]! | (buf[p + 3]! << 8);
  if (len < 8 || p + len > s.end) return short(s);
  s.p = p + len;
  return byLinkType(s, LINKTYPE_IEEE802_11);
}
