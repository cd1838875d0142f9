/**
 * Linux NFLOG (link type 239): address family, version 0, resource id, then type-length-value records in
 * the capturing host's byte order (little-endian on every host that writes them in practice), each
 * padded to 4 bytes; the packet is the NFULA_PAYLOAD (type 9) record's value.
 */
import { byFamily } from './dispatch.js';
import { type DecodeState, MAX_LAYERS, notTcp, STOP, short } from './state.js';

const NFULA_PAYLOAD = 9;

export function nflog(buf: Uint8Array, s: DecodeState): number {
  let p = s.p;
  const end = s.end;
  if (p + 4 > end) return short(s);
  const family = buf[p]!;
  if (buf[p + 1] !== 0) return notTcp(s);
  p += 4;
  for (let n = 0; ; n++) {
    if (p + 4 > end) return short(s);
    const len = buf[p]! | (buf[p + 1]! << 8);
    const type = buf[p + 2]! | (buf[p + 3]! << 8);
    if (len < 4) {
      s.stats.drops.bad_ip_header++;
      return STOP;
    }
    if (type === NFULA_PAYLOAD) {
      s.p = p + 4;
      if (p + len < end) s.end = p + len;
      return byFamily(s, family);
    }
    if (n > 4 * MAX_LAYERS) {
      s.stats.drops.encap_too_deep++;
      return STOP;
    }
    p += (len + 3) & ~3;
  }
}
