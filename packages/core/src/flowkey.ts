/**
 * Direction-free flow hashing. Both directions of a connection hash to the same value, so the agent
 * can partition by it and the flow table can index by it. The hash is a fast 32-bit mix (each endpoint
 * hashed alone, the two combined symmetrically), not a unique key: tables compare the full 5-tuple on
 * collision.
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

/**
 * Hash of one endpoint (the four words of a 16-byte address and the port): a multiply-add of the words
 * by distinct odd constants, then one xor-shift-multiply round; {@link combineEndpoints} finishes it.
 */
export function endpointHash(a: Uint32Array, o: number, port: number): number {
  let h =
    (Math.imul(a[o]!, 0x9e3779b1) +
      Math.imul(a[o + 1]!, 0x85ebca77) +
      Math.imul(a[o + 2]!, 0xc2b2ae3d) +
      Math.imul(a[o + 3]!, 0x27d4eb2f) +
      Math.imul(port + 1, 0x165667b1)) |
    0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

/**
 * Symmetric combination of two endpoint hashes and a seed into an unsigned 32-bit flow hash: the same
 * value whichever endpoint comes first, so both directions of a connection agree without ordering them.
 */
export function combineEndpoints(hs: number, hd: number, seed: number): number {
  let h = (hs + hd) ^ Math.imul(hs ^ hd, 0x9e3779b1) ^ Math.imul(seed + 1, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Direction-free 32-bit hash of header `i`'s endpoints and ports, optionally seeded (the flow table
 * seeds it with the sensor ordinal). Returns an unsigned 32-bit integer. Allocation-free.
 */
export function flowHash(c: HeaderColumns, i: number, seed = 0): number {
  const o = i * 4;
  return combineEndpoints(
    endpointHash(c.srcAddr32, o, c.srcPort[i]!),
    endpointHash(c.dstAddr32, o, c.dstPort[i]!),
    seed,
  );
}

/**
 * Bucket of 32-bit hash `h` in a table of `n` buckets (Lemire's multiply-shift range reduction): uses the
 * hash's high bits and costs one multiply, where `h % n` on a uint32 can compile to a floating-point
 * remainder call. Exact for any n < 2^21 and always < n.
 */
export function bucketOf(h: number, n: number): number {
  return Math.floor((h >>> 0) * n * 2.3283064365386963e-10);
}
