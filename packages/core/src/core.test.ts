import { describe, expect, it } from 'vitest';
import {
  ADDR_BYTES,
  bucketOf,
  bytesPerHeader,
  flowHash,
  formatAddr,
  formatFlags,
  formatTsUs,
  HeaderColumns,
  parseAddr,
} from './index.js';

function put(c: HeaderColumns, src: string, sp: number, dst: string, dp: number): number {
  const i = c.length++;
  parseAddr(src, c.srcAddr, i * ADDR_BYTES);
  parseAddr(dst, c.dstAddr, i * ADDR_BYTES);
  c.srcPort[i] = sp;
  c.dstPort[i] = dp;
  return i;
}

describe('HeaderColumns', () => {
  it('lays columns out in one buffer and survives a round trip through fromBuffer', () => {
    const c = HeaderColumns.allocate(8);
    const i = put(c, '198.18.0.1', 1234, '198.18.0.2', 80);
    c.seq[i] = 0xfffffff0;
    c.rstPayload[i * 64] = 65;
    c.rstPayloadLen[i] = 1;
    const d = HeaderColumns.fromBuffer(c.buffer, 8, 1);
    expect(d.seq[0]).toBe(0xfffffff0);
    expect(formatAddr(d.srcAddr, 0)).toBe('198.18.0.1');
    expect(d.rstPayload[0]).toBe(65);
    expect(bytesPerHeader()).toBeGreaterThan(100);
  });
  it('copyFrom appends and reports full', () => {
    const a = HeaderColumns.allocate(2);
    put(a, '2001:db8::1', 1, '2001:db8::2', 2);
    a.rstPayloadLen[0] = 3;
    a.rstPayload.set([1, 2, 3], 0);
    const b = HeaderColumns.allocate(1);
    expect(b.copyFrom(a, 0)).toBe(true);
    expect(b.copyFrom(a, 0)).toBe(false);
    expect(formatAddr(b.dstAddr, 0)).toBe('2001:db8::2');
    expect([...b.rstPayload.subarray(0, 3)]).toEqual([1, 2, 3]);
  });
  it('appendRange copies a range as gatherFrom does in identity order, RST payloads included', () => {
    const src = HeaderColumns.allocate(64);
    let x = 0x2545f491;
    const bytes = new Uint8Array(src.buffer);
    for (let k = 0; k < bytes.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[k] = x & 0xff;
    }
    for (let i = 0; i < 64; i++) src.rstPayloadLen[i] = i % 3 === 0 ? src.rstPayloadLen[i]! % 65 : 0;
    src.length = 64;
    const identity = Int32Array.from({ length: 64 }, (_, k) => k);
    const a = HeaderColumns.allocate(80);
    const b = HeaderColumns.allocate(80);
    a.gatherFrom(src, identity, 60, 64);
    b.gatherFrom(src, identity, 60, 64);
    a.appendRange(src, 5, 41);
    b.gatherFrom(src, identity, 5, 41);
    expect(a.length).toBe(40);
    expect(Buffer.compare(new Uint8Array(a.buffer), new Uint8Array(b.buffer))).toBe(0);
    expect(a.seq[4]).toBe(src.seq[5]);
    expect(() => a.appendRange(src, 0, 41)).toThrow(RangeError);
  });
  it('rejects bad sizes', () => {
    expect(() => HeaderColumns.allocate(0)).toThrow(RangeError);
    expect(() => HeaderColumns.fromBuffer(new ArrayBuffer(8), 8, 0)).toThrow(RangeError);
  });
});

describe('flowHash', () => {
  it('is the same for both directions and differs for another flow', () => {
    const c = HeaderColumns.allocate(4);
    put(c, '198.18.0.1', 40000, '198.18.0.2', 443);
    put(c, '198.18.0.2', 443, '198.18.0.1', 40000);
    put(c, '198.18.0.1', 40001, '198.18.0.2', 443);
    expect(flowHash(c, 0)).toBe(flowHash(c, 1));
    expect(flowHash(c, 0)).not.toBe(flowHash(c, 2));
    expect(flowHash(c, 0)).toBeGreaterThanOrEqual(0);
  });

  it('is direction-free for IPv6, depends on the seed, and spreads flows evenly over partitions', () => {
    const c = HeaderColumns.allocate(20_002);
    put(c, '2001:db8::1', 40000, '2001:db8::2', 443);
    put(c, '2001:db8::2', 443, '2001:db8::1', 40000);
    expect(flowHash(c, 0)).toBe(flowHash(c, 1));
    expect(flowHash(c, 0, 7)).toBe(flowHash(c, 1, 7));
    expect(flowHash(c, 0, 7)).not.toBe(flowHash(c, 0));
    // Clients of one /16 talking to a few servers (a realistic, highly structured key set).
    const counts = new Array(12).fill(0);
    for (let k = 0; k < 20_000; k++) {
      const i = put(c, `198.18.${(k >> 8) & 255}.${k & 255}`, 32768 + (k % 28000), `198.19.0.${k % 5}`, 443);
      counts[bucketOf(flowHash(c, i), 12)]++;
    }
    for (const n of counts) expect(Math.abs(n - 20_000 / 12)).toBeLessThan(150);
  });
});

describe('addresses and formatting', () => {
  it('formats IPv6 per RFC 5952', () => {
    for (const a of ['2001:db8::1', '::1', '2001:db8:0:1:1:1:1:1', '2001:db8::1:0:0:1', 'fe80::']) {
      expect(formatAddr(parseAddr(a), 0)).toBe(a);
    }
    expect(formatAddr(parseAddr('2001:0db8:0000:0000:0000:0000:0000:0001'), 0)).toBe('2001:db8::1');
    expect(() => parseAddr('300.1.1.1')).toThrow();
    expect(() => parseAddr('2001:db8::1::2')).toThrow();
  });
  it('formats timestamps with microseconds and flags in tcpdump letters', () => {
    expect(formatTsUs(1_700_000_000_123_456)).toBe('2023-11-14T22:13:20.123456Z');
    expect(formatFlags(0x014)).toBe('R.');
    expect(formatFlags(0x004)).toBe('R');
    expect(formatFlags(0x012)).toBe('S.');
    expect(formatFlags(0x018)).toBe('P.');
  });
});

describe('bucketOf', () => {
  it('maps every uint32 into [0, n), spreading the hash range evenly', () => {
    for (const n of [1, 2, 3, 1000, 327_681, 1_310_721, 20_971_521]) {
      for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, -1, 123_456_789]) {
        const b = bucketOf(h, n);
        expect(Number.isInteger(b) && b >= 0 && b < n, `bucketOf(${h}, ${n}) = ${b}`).toBe(true);
      }
      expect(bucketOf(0xffffffff, n)).toBe(n - 1);
      expect(bucketOf(0, n)).toBe(0);
    }
    // Equal slices of the hash range land in each bucket (the high bits choose it).
    const counts = new Array(7).fill(0);
    for (let k = 0; k < 7000; k++) counts[bucketOf(Math.floor((k + 0.5) * (2 ** 32 / 7000)), 7)]++;
    expect(counts).toEqual(new Array(7).fill(1000));
  });
});
