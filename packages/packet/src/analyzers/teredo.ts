/**
 * Teredo (RFC 4380; UDP 3544, and found by content on other ports as Zeek does): optional
 * authentication and origin indication headers, then an IPv6 packet.
 */
import { TUNNEL_TEREDO } from '@rstwatch/core';
import { A_IPV6 } from './dispatch.js';
import { type DecodeState, malformedTunnel } from './state.js';

export function teredo(buf: Uint8Array, s: DecodeState): number {
  const q = teredoInner(buf, s.p, s.end);
  if (q < 0) return malformedTunnel(s);
  if (s.tunnel === 0) s.tunnel = TUNNEL_TEREDO;
  s.p = q;
  return A_IPV6;
}

/** Offset of the IPv6 packet behind the Teredo headers at `buf[p .. end)`, or -1. */
function teredoInner(buf: Uint8Array, p: number, end: number): number {
  if (p + 2 <= end && buf[p] === 0 && buf[p + 1] === 1) {
    if (p + 4 > end) return -1;
    p += 13 + buf[p + 2]! + buf[p + 3]!;
  }
  if (p + 2 <= end && buf[p] === 0 && buf[p + 1] === 0) p += 8;
  if (p + 40 > end || buf[p]! >> 4 !== 6) return -1;
  return p;
}

/**
 * Whether the UDP payload at `buf[p .. end)` is Teredo: Zeek's test (an IPv6 header with a Teredo
 * 2001:0::/32 source or destination, or the authentication / origin indication headers in front of an
 * IPv6 header), with the IPv6 payload length matching the datagram.
 */
export function isTeredo(buf: Uint8Array, p: number, end: number): boolean {
  const q = teredoInner(buf, p, end);
  if (q < 0 || q + 40 + ((buf[q + 4]! << 8) | buf[q + 5]!) !== end) return false;
  if (q !== p) return true;
  return isTeredoPrefix(buf, q + 8) || isTeredoPrefix(buf, q + 24);
}

function isTeredoPrefix(buf: Uint8Array, a: number): boolean {
  return buf[a] === 0x20 && buf[a + 1] === 0x01 && buf[a + 2] === 0 && buf[a + 3] === 0;
}
