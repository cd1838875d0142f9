/**
 * PPP link layers: LINKTYPE_PPP (9; with or without the 0xFF 0x03 HDLC address/control bytes, and a
 * 1-byte protocol field when protocol compression is on) and PPP in HDLC framing (50, "PPP serial":
 * address, control, 2-byte protocol). The protocol picks the next analyzer.
 */
import { byPppProtocol } from './dispatch.js';
import { type DecodeState, short, u16 } from './state.js';

export function ppp(buf: Uint8Array, s: DecodeState): number {
  let p = s.p;
  if (p + 2 > s.end) return short(s);
  if (buf[p] === 0xff && buf[p + 1] === 0x03) p += 2;
  if (p + 1 > s.end) return short(s);
  if ((buf[p]! & 0x01) !== 0) {
    s.p = p + 1;
    return byPppProtocol(s, buf[p]!);
  }
  if (p + 2 > s.end) return short(s);
  s.p = p + 2;
  return byPppProtocol(s, u16(buf, p));
}

export function pppSerial(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  if (p + 4 > s.end) return short(s);
  s.p = p + 4;
  return byPppProtocol(s, u16(buf, p + 2));
}
