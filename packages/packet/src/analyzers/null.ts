/**
 * BSD loopback encapsulations: a 4-byte address family, in the capturing host's byte order for NULL
 * (link type 0), in network byte order for LOOP (108). The family values of IPv6 differ by OS.
 */
import { byFamily } from './dispatch.js';
import { type DecodeState, short, u32 } from './state.js';

export function nullLink(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return short(s);
  let fam = u32(buf, p);
  if (fam > 0xffff) fam = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  s.p = p + 4;
  return byFamily(s, fam);
}

export function loopLink(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return short(s);
  s.p = p + 4;
  return byFamily(s, u32(buf, p));
}
