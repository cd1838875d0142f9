/** FDDI (link type 10): frame control, destination and source addresses (13 bytes), then 802.2 LLC. */
import { A_LLC } from './dispatch.js';
import { type DecodeState, short } from './state.js';

export function fddi(_buf: Uint8Array, s: DecodeState): number {
  if (s.p + 13 > s.end) return short(s);
  s.p += 13;
  return A_LLC;
}
