/**
 * What the packet analyzers share: the one preallocated scratch state a frame's decode runs in, the
 * analyzer signature and its results, and big-endian byte reads. Nothing here allocates per packet.
 */
import { HeaderColumns } from '@rstwatch/core';
import { createParseStats, type ParseStats } from '../stats.js';

/** An analyzer ended the frame: counted in `stats`, no header appended. */
export const STOP = 0;
/** The TCP analyzer appended the frame's header to `out`. */
export const ACCEPT = -1;

/** Upper bound on stacked layers (analyzers run, MPLS labels, IPv6 extension headers) before giving up. */
export const MAX_LAYERS = 16;

/**
 * Addresses are stored in network byte order; on a little-endian host (every platform Node ships
 * prebuilt binaries for but s390x/ppc64) four bytes go in one 32-bit store through the columns' `*Addr32`
 * views instead of four byte stores.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The decode of one frame: the cursor (`p` .. `end` in the frame's buffer), where the header goes (`out`
 * slot `j`: each layer writes its own columns there, an inner IP header overwriting an outer one; the
 * slot counts only once the TCP analyzer appends it) and what outer layers tell inner ones. One instance
 * is reused for every frame; plain small-integer fields only, so V8 keeps it in one hidden class.
 */
export class DecodeState {
  out: HeaderColumns = HeaderColumns.allocate(1);
  stats: ParseStats = createParseStats();
  /** Link type of the frame being decoded. */
  linkType = 0;
  /** Next byte to read. */
  p = 0;
  /** One past the last byte of the current layer's data (shrinks to each IP datagram's length). */
  end = 0;
  /** Slot of the header in `out`, and its address offset (`j * ADDR_BYTES`). */
  j = 0;
  ao = 0;
  /** Whether a VLAN tag was seen (0/1): the outermost tag's id is the one kept. */
  vlanSet = 0;
  /** Outermost tunnel (`TUNNEL_*`). */
  tunnel = 0;
  /** GRE told the analyzer after it: the sequence bit was set / GRE recorded the frame's tunnel (0/1). */
  greSeq = 0;
  greTunnel = 0;
  /** Bytes of the IP payload from `p`, by the IP length fields. */
  l4Len = 0;
  /** Verify checksums (0/1; set per parser). */
  verify = 1;
  /** `CK_*` bits found so far in this frame (an outer IPv4 header's too). */
  ck = 0;
  /**
   * The innermost IP datagram was captured whole (0/1): its TCP checksum can be verified, from `ckAddr`,
   * the ones-complement sum of its addresses (the pseudo-header without protocol and length).
   */
  ckWhole = 0;
  ckAddr = 0;

  /**
   * Start a frame of `linkType` at `buf[off .. end)` for slot `out.length`. Only what a later layer may
   * read before an earlier one wrote it is reset (the IP fields are always written before TCP reads them).
   */
  begin(linkType: number, off: number, end: number, out: HeaderColumns, stats: ParseStats): void {
    // Reference stores cost a write barrier: skip them when the batch and counters are the same.
    if (this.out !== out) this.out = out;
    if (this.stats !== stats) this.stats = stats;
    this.linkType = linkType;
    this.p = off;
    this.end = end;
    this.j = out.length;
    this.ao = out.length * 16;
    out.vlan[this.j] = 0;
    this.vlanSet = 0;
    this.tunnel = 0;
    this.ck = 0;
    this.ckWhole = 0;
  }
}

/**
 * Ones-complement sum of the big-endian 16-bit words of `buf[p .. p + n)` (an odd last byte is padded
 * with zero) added to `sum`, not folded. Stays below 2^31 for n <= 65535 plus a folded `sum`.
 */
export function onesSum(buf: Uint8Array, p: number, n: number, sum: number): number {
  const e4 = p + (n & ~3);
  let k = p;
  for (; k < e4; k += 4) sum += ((buf[k]! << 8) | buf[k + 1]!) + ((buf[k + 2]! << 8) | buf[k + 3]!);
  const e = p + n;
  if (k + 1 < e) {
    sum += (buf[k]! << 8) | buf[k + 1]!;
    k += 2;
  }
  if (k < e) sum += buf[k]! << 8;
  return sum;
}

/** Folds a ones-complement sum to 16 bits. */
export function fold16(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * One layer's decoder: reads its header at `s.p`, records what it learns in `s`, moves `s.p` past its
 * header and returns the id of the analyzer for what follows (from a dispatch table), or {@link STOP}
 * after counting why it stopped, or {@link ACCEPT}.
 */
export type Analyzer = (buf: Uint8Array, s: DecodeState) => number;

export function u16(buf: Uint8Array, p: number): number {
  return (buf[p]! << 8) | buf[p + 1]!;
}

export function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

/** Counts a frame whose bytes end inside a header. */
export function short(s: DecodeState): number {
  s.stats.drops.snaplen_short++;
  return STOP;
}

/** Counts a truncated or undecodable tunnel header. */
export function malformedTunnel(s: DecodeState): number {
  s.stats.drops.tunnel_malformed++;
  return STOP;
}

/** Counts a well-formed frame that carries no TCP we can see. */
export function notTcp(s: DecodeState): number {
  s.stats.notTcp++;
  return STOP;
}
