/**
 * UDP: only as a carrier of tunnels, found as Zeek finds them: by destination port, then source port
 * (the server's port in replies), then by content (the detectors of `UDP_DETECTORS`).
 */
import { UDP_DETECTORS, UDP_PORT_NEXT } from './dispatch.js';
import { type DecodeState, notTcp, short, u16 } from './state.js';

export function udp(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 8 > s.end) return short(s);
  let id = UDP_PORT_NEXT[u16(buf, p + 2)]!;
  if (id === 0) id = UDP_PORT_NEXT[u16(buf, p)]!;
  if (id === 0) id = detect(buf, p + 8, s.end);
  if (id === 0) return notTcp(s);
  s.p = p + 8;
  return id;
}

function detect(buf: Uint8Array, p: number, end: number): number {
  const d = UDP_DETECTORS;
  for (let k = 0; k < d.count; k++) if (d.tests[k]!(buf, p, end)) return d.ids[k]!;
  return 0;
}
