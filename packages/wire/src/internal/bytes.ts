/**
 * Byte-level helpers of the HeaderBatch codec: little-endian column copies between typed arrays and
 * message bytes (a plain memory copy on little-endian hosts, plus an in-place byte swap on big-endian
 * ones), and protobuf varint/tag writing for the exact-size encoder.
 */

/** True on little-endian hosts (every platform Node ships for but s390x). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Column = Uint8Array | Uint16Array | Uint32Array;

/** Bytes of elements [start, start + n) of a typed array, as a view (no copy). */
export function bytesOf(col: Column, start: number, n: number): Uint8Array {
  const w = col.BYTES_PER_ELEMENT;
  return new Uint8Array(col.buffer, col.byteOffset + start * w, n * w);
}

/** Reverse the byte order of each `width`-byte element of `buf[off, off + len)` in place. */
export function swapBytes(buf: Uint8Array, off: number, len: number, width: number): void {
  if (width === 2) {
    for (let k = off; k < off + len; k += 2) {
      const t = buf[k]!;
      buf[k] = buf[k + 1]!;
      buf[k + 1] = t;
    }
  } else if (width === 4) {
    for (let k = off; k < off + len; k += 4) {
      const a = buf[k]!;
      const b = buf[k + 1]!;
      buf[k] = buf[k + 3]!;
      buf[k + 1] = buf[k + 2]!;
      buf[k + 2] = b;
      buf[k + 3] = a;
    }
  }
}

/**
 * Copy a little-endian column (`src`, n elements of `col`'s width) into elements [0, n) of `col`.
 * `littleEndian` is the host order (a parameter so tests can exercise the big-endian path).
 */
export function columnFromLE(col: Column, src: Uint8Array, littleEndian = HOST_LE): void {
  const dst = bytesOf(col, 0, src.length / col.BYTES_PER_ELEMENT);
  dst.set(src);
  if (!littleEndian) swapBytes(dst, 0, dst.length, col.BYTES_PER_ELEMENT);
}

/** Copy elements [start, start + n) of `col` to `out` at `pos` as little-endian. Returns the new position. */
export function columnToLE(
  out: Uint8Array,
  pos: number,
  col: Column,
  start: number,
  n: number,
  littleEndian = HOST_LE,
): number {
  const src = bytesOf(col, start, n);
  out.set(src, pos);
  if (!littleEndian) swapBytes(out, pos, src.length, col.BYTES_PER_ELEMENT);
  return pos + src.length;
}

/** Bytes a varint of `v` (a non-negative safe integer) takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Write `v` (a non-negative safe integer) as a varint at `pos`. Returns the new position. */
export function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 128) {
    out[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/** Write a uint64 given as two 32-bit halves as a varint. Returns the new position. */
export function writeVarint64(out: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi > 0 || lo >= 128) {
    out[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[pos++] = lo;
  return pos;
}

/** Size of a varint64 given as two 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  let n = 1;
  while (hi > 0 || lo >= 128) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field (tag + length + payload), 0 when empty (proto3 omits it). */
export function delimitedSize(field: number, len: number): number {
  return len === 0 ? 0 : varintSize(field << 3) + varintSize(len) + len;
}

/** Write the tag and length of a length-delimited field. Returns the position of the payload. */
export function writeDelimitedHeader(out: Uint8Array, pos: number, field: number, len: number): number {
  pos = writeVarint(out, pos, (field << 3) | 2);
  return writeVarint(out, pos, len);
}

let scratchBuf = new ArrayBuffer(1 << 16);
let scratch32 = new Uint32Array(scratchBuf);
let scratch8 = new Uint8Array(scratchBuf);

/**
 * A module-wide, 4-byte-aligned scratch area of at least `words` 32-bit words (grown on demand, reused
 * across calls; valid until the next call). Returns the word view; {@link scratchBytes} is the byte view.
 */
export function scratchWords(words: number): Uint32Array {
  if (scratch32.length < words) {
    scratchBuf = new ArrayBuffer(Math.max(words * 4, scratchBuf.byteLength * 2));
    scratch32 = new Uint32Array(scratchBuf);
    scratch8 = new Uint8Array(scratchBuf);
  }
  return scratch32;
}

/** The byte view of the current scratch area (call {@link scratchWords} first). */
export function scratchBytes(): Uint8Array {
  return scratch8;
}

/** Word view of a byte column whose byte offset is 4-aligned (HeaderColumns lays columns out 8-aligned). */
export function wordsOf(col: Uint8Array): Uint32Array {
  return new Uint32Array(col.buffer, col.byteOffset, col.length >>> 2);
}

/** The bytes 00 00 ff ff (the IPv4-mapped marker, bytes 8..11 of a mapped address) as a host-order word. */
export const MAPPED_WORD = HOST_LE ? 0xffff0000 : 0x0000ffff;
