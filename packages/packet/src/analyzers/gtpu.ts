/**
 * GTP-U (3GPP TS 29.281; UDP 2152, and found by content on other ports): version 1, protocol type GTP,
 * optional sequence number / N-PDU / extension headers, and for G-PDU messages (type 0xFF) an IPv4 or
 * IPv6 packet. Echo, error and end-marker messages are not TCP.
 */
import { TUNNEL_GTPU } from '@rstwatch/core';
import { A_IP } from './dispatch.js';
import { type DecodeState, MAX_LAYERS, malformedTunnel, notTcp, u16 } from './state.js';

const G_PDU = 0xff;

export function gtpu(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  const end = s.end;
  if (p + 8 > end) return malformedTunnel(s);
  const flags = buf[p]!;
  if (flags >> 5 !== 1 || (flags & 0x10) === 0) return malformedTunnel(s);
  let q = p + 8;
  if ((flags & 0x07) !== 0) {
    if (q + 4 > end) return malformedTunnel(s);
    let next = (flags & 0x04) !== 0 ? buf[q + 3]! : 0;
    q += 4;
    for (let n = 0; next !== 0; n++) {
      const len = q < end ? buf[q]! << 2 : 0;
      if (len === 0 || q + len > end || n > MAX_LAYERS) return malformedTunnel(s);
      next = buf[q + len - 1]!;
      q += len;
    }
  }
  if (buf[p + 1] !== G_PDU) return notTcp(s);
  if (s.tunnel === 0) s.tunnel = TUNNEL_GTPU;
  s.p = q;
  return A_IP;
}

/**
 * Whether the UDP payload at `buf[p .. end)` is a GTP-U G-PDU: version 1, type GTP, message 0xFF, a
 * length field that matches the datagram, and an IP packet of the length it claims right behind the
 * mandatory header (extension headers make it too ambiguous to guess).
 */
export function isGtpu(buf: Uint8Array, p: number, end: number): boolean {
  if (p + 8 + 20 > end || buf[p] !== 0x30 || buf[p + 1] !== G_PDU) return false;
  if (u16(buf, p + 2) !== end - p - 8) return false;
  const v = buf[p + 8]! >> 4;
  const ipLen = v === 4 ? u16(buf, p + 10) : v === 6 ? 40 + u16(buf, p + 12) : -1;
  return ipLen === end - p - 8;
}
