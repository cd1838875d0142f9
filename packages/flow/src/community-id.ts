/**
 * Community ID v1 (https://github.com/corelight/community-id-spec) for TCP flows: base64 of SHA-1 over
 * seed, the ordered endpoint pair, protocol 6 and the ports. Computed once per flow, never per packet.
 */
import { isV4Mapped } from '@rstwatch/core';

const scratch = new Uint8Array(2 + 16 + 16 + 2 + 4);

/** SHA-1 message schedule (one 64-byte block: every community ID input, at most 40 bytes, fits). */
const W = new Int32Array(80);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64C = new Uint8Array(64);
for (let k = 0; k < 64; k++) B64C[k] = B64.charCodeAt(k);
/** The digest's 20 bytes (then base64 in one string, no Buffer or crypto call per flow). */
const DIGEST = new Uint8Array(21);

/** Big-endian bytes of the low 32 bits of `v` at `at`. */
function putWord(h: Uint8Array, at: number, v: number): void {
  h[at] = v >>> 24;
  h[at + 1] = v >>> 16;
  h[at + 2] = v >>> 8;
  h[at + 3] = v;
}

/**
 * `1:` + base64 of the SHA-1 of `data[0..n)` (n <= 55: one block), as `crypto.hash('sha1', ..., 'base64')` gives
 * it. In JS: one flow record per flow, and the native call cost more than the hash (~0.8 µs a call).
 */
function sha1Base64(data: Uint8Array, n: number): string {
  sha1Block(data, n);
  return base64Digest();
}

/** SHA-1 of `data[0..n)` (n <= 55) into DIGEST[0..20). */
function sha1Block(data: Uint8Array, n: number): void {
  const w = W;
  for (let k = 0; k < 16; k++) w[k] = 0;
  for (let k = 0; k < n; k++) w[k >> 2]! |= data[k]! << (24 - (k & 3) * 8);
  w[n >> 2]! |= 0x80 << (24 - (n & 3) * 8);
  w[15] = n * 8;
  for (let k = 16; k < 80; k++) {
    const x = w[k - 3]! ^ w[k - 8]! ^ w[k - 14]! ^ w[k - 16]!;
    w[k] = (x << 1) | (x >>> 31);
  }
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  let e = 0xc3d2e1f0 | 0;
  // The four rounds as four loops (no per-step branch).
  let t: number;
  for (let k = 0; k < 20; k++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[k]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let k = 20; k < 40; k++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[k]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let k = 40; k < 60; k++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + w[k]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let k = 60; k < 80; k++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + w[k]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  const h = DIGEST;
  putWord(h, 0, a + 0x67452301);
  putWord(h, 4, b + 0xefcdab89);
  putWord(h, 8, c + 0x98badcfe);
  putWord(h, 12, d + 0x10325476);
  putWord(h, 16, e + 0xc3d2e1f0);
  h[20] = 0;
}

/** `1:` + base64 of DIGEST (20 bytes: six full 3-byte groups, then 2 bytes as 3 characters and '='). */
function base64Digest(): string {
  const h = DIGEST;
  const o = B64C;
  const q = (k: number) => (h[k]! << 16) | (h[k + 1]! << 8) | h[k + 2]!;
  const g0 = q(0);
  const g1 = q(3);
  const g2 = q(6);
  const g3 = q(9);
  const g4 = q(12);
  const g5 = q(15);
  const g6 = q(18);
  // '1:' and the 28 characters as one flat string (a concatenation would keep a cons string per flow).
  return String.fromCharCode(
    0x31,
    0x3a,
    o[g0 >>> 18]!,
    o[(g0 >>> 12) & 63]!,
    o[(g0 >>> 6) & 63]!,
    o[g0 & 63]!,
    o[g1 >>> 18]!,
    o[(g1 >>> 12) & 63]!,
    o[(g1 >>> 6) & 63]!,
    o[g1 & 63]!,
    o[g2 >>> 18]!,
    o[(g2 >>> 12) & 63]!,
    o[(g2 >>> 6) & 63]!,
    o[g2 & 63]!,
    o[g3 >>> 18]!,
    o[(g3 >>> 12) & 63]!,
    o[(g3 >>> 6) & 63]!,
    o[g3 & 63]!,
    o[g4 >>> 18]!,
    o[(g4 >>> 12) & 63]!,
    o[(g4 >>> 6) & 63]!,
    o[g4 & 63]!,
    o[g5 >>> 18]!,
    o[(g5 >>> 12) & 63]!,
    o[(g5 >>> 6) & 63]!,
    o[g5 & 63]!,
    o[g6 >>> 18]!,
    o[(g6 >>> 12) & 63]!,
    o[(g6 >>> 6) & 63]!,
    0x3d,
  );
}

function lessEndpoint(a: Uint8Array, ao: number, ap: number, b: Uint8Array, bo: number, bp: number): boolean {
  for (let k = 0; k < 16; k++) {
    const d = a[ao + k]! - b[bo + k]!;
    if (d !== 0) return d < 0;
  }
  return ap < bp;
}

/**
 * Community ID v1 of a TCP flow between (addrA at offA, portA) and (addrB at offB, portB), 16-byte address
 * slots (IPv4-mapped for IPv4). Direction-free: both orders give the same ID.
 */
export function communityId(
  addrA: Uint8Array,
  offA: number,
  portA: number,
  addrB: Uint8Array,
  offB: number,
  portB: number,
  seed = 0,
): string {
  const v4 = isV4Mapped(addrA, offA) && isV4Mapped(addrB, offB);
  const aFirst = lessEndpoint(addrA, offA, portA, addrB, offB, portB);
  const s = aFirst ? addrA : addrB;
  const so = aFirst ? offA : offB;
  const sp = aFirst ? portA : portB;
  const d = aFirst ? addrB : addrA;
  const dof = aFirst ? offB : offA;
  const dp = aFirst ? portB : portA;
  let n = 0;
  scratch[n++] = (seed >>> 8) & 0xff;
  scratch[n++] = seed & 0xff;
  const start = v4 ? 12 : 0;
  for (let k = start; k < 16; k++) scratch[n++] = s[so + k]!;
  for (let k = start; k < 16; k++) scratch[n++] = d[dof + k]!;
  scratch[n++] = 6; // TCP
  scratch[n++] = 0; // padding
  scratch[n++] = (sp >>> 8) & 0xff;
  scratch[n++] = sp & 0xff;
  scratch[n++] = (dp >>> 8) & 0xff;
  scratch[n++] = dp & 0xff;
  return sha1Base64(scratch, n);
}
