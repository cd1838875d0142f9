/**
 * IEEE 802.11 (link type 105) data frames: 24-byte header, a fourth address when both DS bits are set, a
 * QoS control field for QoS subtypes, then 802.2 LLC. Management and control frames, null-data subtypes,
 * A-MSDU aggregates and protected (encrypted) frames carry nothing we can read: not TCP.
 */
import { A_LLC } from './dispatch.js';
import { type DecodeState, notTcp, short } from './state.js';

export function ieee80211(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 24 > s.end) return short(s);
  const fc = buf[p]!;
  const flags = buf[p + 1]!;
  // Type 2 (data) only, and not the subtypes without a body (bit 6 of the subtype).
  if (((fc >> 2) & 0x03) !== 2 || (fc & 0x40) !== 0) return notTcp(s);
  if ((flags & 0x40) !== 0) return notTcp(s);
  let h = (flags & 0x03) === 0x03 ? 30 : 24;
  if ((fc & 0x80) !== 0) {
    if (p + h + 2 > s.end) return short(s);
    if ((buf[p + h]! & 0x80) !== 0) return notTcp(s);
    h += 2;
  }
  // +HTC: a 4-byte HT control field follows QoS data frames with the order bit set.
  if ((fc & 0x80) !== 0 && (flags & 0x80) !== 0) h += 4;
  if (p + h > s.end) return short(s);
  s.p = p + h;
  return A_LLC;
}
