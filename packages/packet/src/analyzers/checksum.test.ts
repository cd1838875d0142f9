// Checksum verification: the ones-complement sum itself (against a plain RFC 1071 implementation), then
// what decodePacket writes to `cksum` for IPv4 headers and TCP over IPv4 and IPv6, for offload-like
// values, and for segments that were not captured whole.
import {
  CK_BAD_IP,
  CK_BAD_TCP,
  CK_OFFLOAD,
  CK_VERIFIED,
  HeaderColumns,
  parseAddr,
  TCP_ACK,
  TCP_RST,
} from '@rstwatch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../internal/decode.js';
import { createParseStats } from '../stats.js';
import * as T from '../testing.js';
import { fold16, onesSum } from './state.js';

const ETH = 1;
const V4 = { src: '198.18.0.1', dst: '198.18.7.200' };
const V6 = { src: '2001:db8::1', dst: '2001:db8:0:7::c8' };

/** RFC 1071 one word at a time, end-around carry on every add: the folded (not complemented) sum. */
function refSum(bytes: ArrayLike<number>, from = 0, to = bytes.length): number {
  let s = 0;
  for (let k = from; k < to; k += 2) {
    s += (bytes[k]! << 8) | (k + 1 < to ? bytes[k + 1]! : 0);
    if (s > 0xffff) s = (s & 0xffff) + 1;
  }
  return s;
}

const put16 = (b: Uint8Array, at: number, v: number) => {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
};

/** The IPv4 packet with a correct header checksum. */
function ipSum4(pkt: Uint8Array): Uint8Array {
  const ihl = (pkt[0]! & 0x0f) * 4;
  put16(pkt, 10, 0);
  put16(pkt, 10, ~refSum(pkt, 0, ihl) & 0xffff);
  return pkt;
}

/** Folded pseudo-header sum of a TCP segment of `len` bytes between `src` and `dst`. */
function pseudo(src: string, dst: string, len: number): number {
  const v6 = src.includes(':');
  const a = v6 ? parseAddr(src) : parseAddr(src).subarray(12);
  const b = v6 ? parseAddr(dst) : parseAddr(dst).subarray(12);
  const tail = v6
    ? [len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 0, 0, 0, 6]
    : [0, 6, len >> 8, len & 0xff];
  return refSum([...a, ...b, ...tail]);
}

/** Sets the TCP checksum field of `seg` to `field`, or to the correct value. */
function tcpSum(seg: Uint8Array, src: string, dst: string, field?: number): Uint8Array {
  put16(seg, 16, 0);
  const ps = pseudo(src, dst, seg.length);
  let s = ps + refSum(seg);
  s = (s & 0xffff) + (s >>> 16);
  put16(seg, 16, field ?? ~s & 0xffff);
  return seg;
}

/** An Ethernet frame of IPv4/TCP with both checksums right (then `edit` may spoil them). */
function frame4(seg: Uint8Array, edit?: (ip: Uint8Array) => void, ip: Partial<T.Ipv4Opts> = {}): Uint8Array {
  const pkt = ipSum4(T.ipv4({ ...V4, ...ip }, tcpSum(seg, V4.src, V4.dst)));
  edit?.(pkt);
  return T.ethernet(0x0800, pkt);
}

function frame6(seg: Uint8Array): Uint8Array {
  return T.ethernet(0x86dd, T.ipv6(V6, seg));
}

const segment = (payload = 0, flags = TCP_ACK) =>
  T.tcp({
    sport: 443,
    dport: 40000,
    seq: 7,
    ack: 9,
    flags,
    payload: Uint8Array.from({ length: payload }, (_, k) => (k * 151 + 3) & 0xff),
  });

/** `cksum` of the one header decoded from `frame` (capLen: bytes captured). */
function ck(frame: Uint8Array, capLen = frame.length, verify = 1): number {
  const out = HeaderColumns.allocate(1);
  const stats = createParseStats();
  expect(decodePacket(ETH, frame, 0, capLen, 1, out, stats, frame.length, verify)).toBe(true);
  return out.cksum[0]!;
}

describe('ones-complement sum', () => {
  it('verifies a textbook IPv4 header (checksum 0xb861) and computes its checksum', () => {
    const h = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0,
      0xa8, 0x00, 0xc7,
    ]);
    expect(fold16(onesSum(h, 0, 20, 0))).toBe(0xffff);
    h[10] = 0;
    h[11] = 0;
    expect(~fold16(onesSum(h, 0, 20, 0)) & 0xffff).toBe(0xb861);
  });

  it('pads an odd last byte with zero', () => {
    const b = Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a]);
    expect(onesSum(b, 0, 1, 0)).toBe(0x1200);
    expect(onesSum(b, 0, 3, 0)).toBe(0x1234 + 0x5600);
    expect(onesSum(b, 1, 3, 0)).toBe(0x3456 + 0x7800);
    expect(onesSum(b, 0, 5, 0)).toBe(0x1234 + 0x5678 + 0x9a00);
    expect(onesSum(b, 2, 0, 5)).toBe(5);
  });

  it('folds the carries twice (0x1fffe and a carry out of the first fold)', () => {
    expect(fold16(0x1fffe)).toBe(0xffff);
    expect(fold16(0xffff)).toBe(0xffff);
    expect(fold16(0x2fffd)).toBe(0xffff);
    expect(fold16(0xffffffff)).toBe(0xffff);
    expect(fold16(0x12345)).toBe(0x2346);
    expect(fold16(0)).toBe(0);
  });

  it('agrees with RFC 1071 for any bytes, offset, length and carried-in sum', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        (b, x, y, s0) => {
          const p = b.length ? x % b.length : 0;
          const n = b.length ? y % (b.length - p + 1) : 0;
          let ref = s0 + refSum(b, p, p + n);
          ref = (ref & 0xffff) + (ref >>> 16);
          expect(fold16(onesSum(b, p, n, s0))).toBe(ref);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('does not overflow on the largest segment of 0xff bytes plus an IPv6 address sum', () => {
    const b = new Uint8Array(65535).fill(0xff);
    const addrs = onesSum(new Uint8Array(32).fill(0xff), 0, 32, 0);
    expect(fold16(onesSum(b, 0, b.length, addrs + 6 + 65535))).toBe(
      fold16(refSum(b) + fold16(addrs) + 6 + 65535),
    );
  });
});

describe('checksum verification in decodePacket', () => {
  it('a right IPv4 header and TCP checksum: verified, nothing bad (even, odd and empty payloads)', () => {
    for (const n of [0, 1, 3, 4, 1200, 1201])
      expect(ck(frame4(segment(n))), `payload ${n}`).toBe(CK_VERIFIED);
    // With IP options the header sum covers them and the TCP segment starts after them.
    const opts = Uint8Array.of(1, 1, 1, 0); // NOP NOP NOP EOL
    expect(ck(frame4(segment(5), undefined, { options: opts }))).toBe(CK_VERIFIED);
  });

  it('a wrong IPv4 header checksum is CK_BAD_IP; a zero one is offload-like too', () => {
    expect(ck(frame4(segment(10), (ip) => (ip[11] = ip[11]! ^ 0x01)))).toBe(CK_VERIFIED | CK_BAD_IP);
    expect(ck(frame4(segment(10), (ip) => put16(ip, 10, 0)))).toBe(CK_VERIFIED | CK_BAD_IP | CK_OFFLOAD);
    // A header field changed after summing (TTL decremented without an update) is caught as well.
    expect(ck(frame4(segment(10), (ip) => (ip[8] = ip[8]! - 1)))).toBe(CK_VERIFIED | CK_BAD_IP);
  });

  it('a wrong TCP checksum over IPv4 is CK_BAD_TCP: a flipped payload bit, header bit, or address', () => {
    expect(ck(frame4(segment(11), (ip) => (ip[20 + 20 + 5] = ip[20 + 20 + 5]! ^ 0x10)))).toBe(
      CK_VERIFIED | CK_BAD_TCP,
    );
    expect(ck(frame4(segment(0), (ip) => (ip[20 + 13] = TCP_RST)))).toBe(CK_VERIFIED | CK_BAD_TCP);
    // The destination address is in the pseudo-header: a NAT that rewrote it and only fixed the IP sum.
    const nat = (ip: Uint8Array) => {
      ip[19] = ip[19]! ^ 0x01;
      ipSum4(ip);
    };
    expect(ck(frame4(segment(11), nat))).toBe(CK_VERIFIED | CK_BAD_TCP);
  });

  it('the offload signature: a TCP field holding the pseudo-header sum (Linux CHECKSUM_PARTIAL) or 0', () => {
    for (const n of [0, 1, 100]) {
      const seg = tcpSum(segment(n), V4.src, V4.dst, pseudo(V4.src, V4.dst, 20 + n));
      expect(ck(T.ethernet(0x0800, ipSum4(T.ipv4(V4, seg)))), `payload ${n}`).toBe(
        CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD,
      );
    }
    const zero = tcpSum(segment(40), V4.src, V4.dst, 0);
    expect(ck(T.ethernet(0x0800, ipSum4(T.ipv4(V4, zero))))).toBe(CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD);
    // The pseudo-header sum for another length is just wrong, not offload.
    const other = tcpSum(segment(40), V4.src, V4.dst, pseudo(V4.src, V4.dst, 61));
    expect(ck(T.ethernet(0x0800, ipSum4(T.ipv4(V4, other))))).toBe(CK_VERIFIED | CK_BAD_TCP);
  });

  it('TCP over IPv6: the pseudo-header has 128-bit addresses and a 32-bit length', () => {
    for (const n of [0, 1, 7, 1440]) {
      expect(ck(frame6(tcpSum(segment(n), V6.src, V6.dst))), `payload ${n}`).toBe(CK_VERIFIED);
    }
    const bad = tcpSum(segment(7), V6.src, V6.dst);
    bad[25] = bad[25]! ^ 0x80;
    expect(ck(frame6(bad))).toBe(CK_VERIFIED | CK_BAD_TCP);
    // Summed with IPv4-style pseudo-header fields instead (wrong for IPv6).
    const v4style = tcpSum(segment(7), V4.src, V4.dst);
    expect(ck(frame6(v4style))).toBe(CK_VERIFIED | CK_BAD_TCP);
    // After an extension header the pseudo-header length is the TCP segment's, not the payload length's.
    const ext = T.ipv6(
      { ...V6, next: 60 },
      T.ipv6Ext(60, 6, tcpSum(segment(9), V6.src, V6.dst), { units: 1 }),
    );
    expect(ck(T.ethernet(0x86dd, ext))).toBe(CK_VERIFIED);
    const off = tcpSum(segment(7), V6.src, V6.dst, pseudo(V6.src, V6.dst, 27));
    expect(ck(frame6(off))).toBe(CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD);
  });

  it('Ethernet padding after a short datagram is not summed', () => {
    const f = frame4(segment(0));
    expect(f.length).toBe(54);
    expect(ck(T.concat(f, Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x55, 0xaa)))).toBe(CK_VERIFIED);
  });

  it('a segment not captured whole (snap length), TSO length 0, or verification off: not verified', () => {
    const f = frame4(segment(200));
    expect(ck(f, f.length - 1)).toBe(0);
    expect(ck(f, 14 + 20 + 20)).toBe(0);
    // A bad checksum that could not be checked is not reported either.
    const bad = frame4(segment(200), (ip) => (ip[100] = ip[100]! ^ 1));
    expect(ck(bad, bad.length - 50)).toBe(0);
    // IPv6 cut short.
    const f6 = frame6(tcpSum(segment(30), V6.src, V6.dst));
    expect(ck(f6, f6.length - 30)).toBe(0);
    // TSO: total length 0 on the capturing host; its lengths are the capture's, not the wire's.
    expect(ck(frame4(segment(50), (ip) => put16(ip, 2, 0)))).toBe(0);
    expect(ck(f, f.length, 0)).toBe(0);
    expect(ck(bad, bad.length, 0)).toBe(0);
  });

  it('an IPv4 header verified on a datagram whose TCP segment was cut: only its own bit', () => {
    // The header checksum covers only the header: it is checked only when the datagram is whole, so a
    // snapped datagram gives no result at all rather than half of one.
    const spoilt = frame4(segment(200), (ip) => (ip[11] = ip[11]! ^ 1));
    expect(ck(spoilt, spoilt.length - 10)).toBe(0);
  });
});
