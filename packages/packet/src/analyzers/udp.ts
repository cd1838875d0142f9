/** UDP: only as a carrier of tunnels, found by destination port. */
import { UDP_PORT_NEXT } from './dispatch.js';
import { type DecodeState, notTcp, short, u16 } from './state.js';

export function udp(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end) return short(s);
  const id = UDP_PORT_NEXT[u16(buf, p + 2)]!;
  if (id === 0) return notTcp(s);
  s.p = p + 8;
  return id;
}
