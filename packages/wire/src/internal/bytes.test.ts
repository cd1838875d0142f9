import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  columnFromLE,
  columnToLE,
  delimitedSize,
  HOST_LE,
  swapBytes,
  varint64Size,
  varintSize,
  writeDelimitedHeader,
  writeVarint,
  writeVarint64,
} from './bytes.js';

describe('little-endian column copies', () => {
  it('runs on a little-endian host here (the big-endian path is exercised explicitly below)', () => {
    expect(HOST_LE).toBe(true);
  });

  it('swaps 2- and 4-byte elements in place, leaves 1-byte ones', () => {
    const b = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    swapBytes(b, 0, 8, 4);
    expect([...b]).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    swapBytes(b, 2, 4, 2);
    expect([...b]).toEqual([4, 3, 1, 2, 7, 8, 6, 5]);
    swapBytes(b, 0, 8, 1);
    expect([...b]).toEqual([4, 3, 1, 2, 7, 8, 6, 5]);
  });

  it('writes and reads little-endian bytes whatever the host order', () => {
    const col = Uint32Array.from([0x01020304, 0xa0b0c0d0, 0xdeadbeef]);
    const out = new Uint8Array(10);
    expect(columnToLE(out, 1, col, 1, 2, true)).toBe(9);
    expect([...out]).toEqual([0, 0xd0, 0xc0, 0xb0, 0xa0, 0xef, 0xbe, 0xad, 0xde, 0]);
    // Pretend the host is big-endian: the column memory then holds big-endian words.
    const beCol = new Uint32Array(2);
    new Uint8Array(beCol.buffer).set([0xa0, 0xb0, 0xc0, 0xd0, 0xde, 0xad, 0xbe, 0xef]);
    const out2 = new Uint8Array(8);
    columnToLE(out2, 0, beCol, 0, 2, false);
    expect([...out2]).toEqual([...out.subarray(1, 9)]);
    const back = new Uint32Array(2);
    columnFromLE(back, out.subarray(1, 9), false);
    expect([...new Uint8Array(back.buffer)]).toEqual([0xa0, 0xb0, 0xc0, 0xd0, 0xde, 0xad, 0xbe, 0xef]);
    const back16 = new Uint16Array(2);
    columnFromLE(back16, Uint8Array.from([0x34, 0x12, 0x78, 0x56]), true);
    expect([...back16]).toEqual([0x1234, 0x5678]);
  });
});

describe('varints', () => {
  it('match protobufjs byte for byte', () => {
    for (const v of [
      0,
      1,
      127,
      128,
      300,
      2 ** 21,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 49 + 3,
      Number.MAX_SAFE_INTEGER,
    ]) {
      const ours = new Uint8Array(10);
      const len = writeVarint(ours, 0, v);
      const theirs = protobuf.Writer.create().uint64(v).finish();
      expect([...ours.subarray(0, len)], String(v)).toEqual([...theirs]);
      expect(varintSize(v)).toBe(len);
    }
    for (const [lo, hi] of [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [5, 1],
      [0, 0x80000000],
    ] as const) {
      const ours = new Uint8Array(10);
      const len = writeVarint64(ours, 0, lo, hi);
      const theirs = protobuf.Writer.create()
        .uint64({ low: lo | 0, high: hi | 0, unsigned: true })
        .finish();
      expect([...ours.subarray(0, len)]).toEqual([...theirs]);
      expect(varint64Size(lo, hi)).toBe(len);
    }
  });

  it('size and write length-delimited field headers consistently', () => {
    const out = new Uint8Array(8);
    expect(writeDelimitedHeader(out, 0, 16, 300)).toBe(4);
    expect([...out.subarray(0, 4)]).toEqual([0x82, 0x01, 0xac, 0x02]);
    expect(delimitedSize(16, 300)).toBe(304);
    expect(delimitedSize(5, 0)).toBe(0);
  });
});
