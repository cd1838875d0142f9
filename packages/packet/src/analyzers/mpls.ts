/**
 * MPLS label stack (ethertypes 0x8847/0x8848, PPP 0x0281): 4 bytes per label, the bottom-of-stack bit
 * ends it. MPLS does not say what it carries: IPv4/IPv6 by the first nibble, 0 a pseudowire control word
 * then Ethernet (RFC 4448).
 */
import { A_ETHERNET, A_IPV4, A_IPV6 } from './dispatch.js';
import { type DecodeState, MAX_LAYERS, notTcp, STOP, short } from './state.js';

export function mpls(buf: Uint8Array, s: DecodeState): number {
  let p = s.p;
  const end = s.end;
  for (let n = 0; ; ) {
    if (p + 4 > end) return short(s);
    const bos = buf[p + 2]! & 0x01;
    p += 4;
    if (bos !== 0) break;
    if (++n > MAX_LAYERS) {
      s.stats.drops.encap_too_deep++;
      return STOP;
    }
  }
  if (p + 1 > end) return short(s);
  const nib = buf[p]! >> 4;
  s.p = p;
  if (nib === 4) return A_IPV4;
  if (nib === 6) return A_IPV6;
  if (nib === 0) {
    s.p = p + 4;
    return A_ETHERNET;
  }
  return notTcp(s);
}
