/** Raw IP (link types 101, 12, 14; ERSPAN III IP frames): IPv4 or IPv6 by the version nibble. */
import { A_IPV4, A_IPV6 } from './dispatch.js';
import { type DecodeState, STOP, short } from './state.js';

export function ipByVersion(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 1 > s.end) return short(s);
  const v = buf[p]! >> 4;
  if (v === 4) return A_IPV4;
  if (v === 6) return A_IPV6;
  s.stats.drops.bad_ip_header++;
  return STOP;
}
