/**
 * Direction-free flow hashing. Both directions of a connection hash to the same value, so the agent
 * can partition by it and the flow table can index by it. The hash is a fast 32-bit mix, not a unique
 * key: tables compare the full 5-tuple on collision.
 */
import { ADDR_BYTES, type HeaderColumns } from './columns.js';

/**
 * Compare the source endpoint (address, port) of header `i` with its destination endpoint.
 * Negative when source < destination, positive when greater, 0 when equal (a flow to itself).
 */
export function compareEndpoints(c: HeaderColumns, i: number): number {
  const o = i * ADDR_BYTES;
  const s = c.srcAddr;
  const d = c.dstAddr;
  for (let k = 0; k < ADDR_BYTES; k++) {
    const diff = s[o + k]! - d[o + k]!;
    if (diff !== 0) return diff;
  }
  return c.srcPort[i]! - c.dstPort[i]!;
}

/** One murmur3 mixing round of the 32-bit word `k` into the hash state `h` (shared by every flow hash). */
export function mix32(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function addrWord(a: Uint8Array, o: number): number {
  return a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24) | 0;
}

/**
 * Direction-free 32-bit hash (murmur3 mixing) of header `i`'s endpoints and ports, optionally seeded
 * with the VLAN id. Returns an unsigned 32-bit integer. Allocation-free.
 */
export function flowHash(c: HeaderColumns, i: number, seed = 0): number {
  const lowFirst = compareEndpoints(c, i) <= 0;
  const a = lowFirst ? c.srcAddr : c.dstAddr;
  const b = lowFirst ? c.dstAddr : c.srcAddr;
  const pa = lowFirst ? c.srcPort[i]! : c.dstPort[i]!;
  const pb = lowFirst ? c.dstPort[i]! : c.srcPort[i]!;
  const o = i * ADDR_BYTES;
  let h = seed | 0;
  for (let k = 0; k < ADDR_BYTES; k += 4) h = mix32(h, addrWord(a, o + k));
  for (let k = 0; k < ADDR_BYTES; k += 4) h = mix32(h, addrWord(b, o + k));
  h = mix32(h, (pa << 16) | pb);
  h ^= 36;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Bucket of 32-bit hash `h` in a table of `n` buckets (Lemire's multiply-shift range reduction): uses the
 * hash's high bits and costs one multiply, where `h % n` on a uint32 can compile to a floating-point
 * remainder call. Exact for any n < 2^21 and always < n.
 */
export function bucketOf(h: number, n: number): number {
  return Math.floor((h >>> 0) * n * 2.3283064365386963e-10);
}
