/**
 * One captured frame -> one TCP header in the next slot of a HeaderColumns batch. The layers are decoded
 * by the packet analyzers in `../analyzers/` (one per protocol), chained through the dispatch tables that
 * `../analyzers/registry.ts` fills: the link type picks the first analyzer, each analyzer returns the id
 * of the next from its key (ethertype, IP protocol, UDP port, ...). The hot path: manual big-endian byte
 * reads on a Uint8Array, one reused scratch state, no allocation, every loop bounded by MAX_LAYERS or the
 * captured length.
 */
import type { HeaderColumns } from '@rstwatch/core';
import * as D from '../analyzers/dispatch.js';
import { ANALYZERS, LINK_NEXT } from '../analyzers/dispatch.js';
import { ethernet } from '../analyzers/ethernet.js';
import { ipv4 } from '../analyzers/ipv4.js';
import { ipv6 } from '../analyzers/ipv6.js';
import { install } from '../analyzers/registry.js';
import { DecodeState, MAX_LAYERS as LAYERS } from '../analyzers/state.js';
import { tcp } from '../analyzers/tcp.js';
import { vlan } from '../analyzers/vlan.js';
import type { ParseStats } from '../stats.js';

export {
  LINKTYPE_ETHERNET,
  LINKTYPE_FDDI,
  LINKTYPE_IEEE802_11,
  LINKTYPE_IEEE802_11_RADIOTAP,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NFLOG,
  LINKTYPE_NULL,
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_RAW,
  LINKTYPE_RAW_BSD12,
  LINKTYPE_RAW_BSD14,
} from '../analyzers/registry.js';

install();
const S = new DecodeState();

// Module-local copies of the hot path's ids (V8 does not constant-fold imported bindings, so a switch on
// them would load and compare each one); checked equal to dispatch.ts's at load.
const A_ETHERNET = 1;
const A_IPV4 = 2;
const A_IPV6 = 3;
const A_TCP = 5;
const A_VLAN = 6;
const MAX_LAYERS = 16;
if (
  D.A_ETHERNET !== A_ETHERNET ||
  D.A_IPV4 !== A_IPV4 ||
  D.A_IPV6 !== A_IPV6 ||
  D.A_TCP !== A_TCP ||
  D.A_VLAN !== A_VLAN ||
  LAYERS !== MAX_LAYERS
)
  throw new Error('packet analyzers: hot-path ids out of step with dispatch.ts');

/** True when {@link decodePacket} can decode frames of this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return linkType >= 0 && linkType < LINK_NEXT.length && LINK_NEXT[linkType] !== 0;
}

/**
 * Decode one frame of `linkType` found at `buf[off .. off + capLen)` captured at `tsUs`, and append its TCP
 * header to `out` if it carries one. Counts the packet in `stats` (`packets`, `bytes`, and exactly one of
 * `tcp`, `notTcp` or a packet drop reason). Returns true when a header was appended. `origLen` is the
 * on-the-wire length for the `bytes` counter (defaults to `capLen`). `verify` 0 skips the checksums
 * (`out.cksum` stays 0). Never throws on any input.
 */
export function decodePacket(
  linkType: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  tsUs: number,
  out: HeaderColumns,
  stats: ParseStats,
  origLen: number = capLen,
  verify = 1,
): boolean {
  if (!decodeFrame(linkType, buf, off, capLen, out, stats, origLen, verify)) return false;
  out.tsUs[out.length - 1] = tsUs;
  return true;
}

/**
 * {@link decodePacket} without the timestamp: the caller writes `out.tsUs[out.length - 1]` on success.
 * Keeps the float64 timestamp out of the call, so V8 never boxes it (no per-packet heap number).
 */
export function decodeFrame(
  linkType: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  out: HeaderColumns,
  stats: ParseStats,
  origLen: number,
  verify = 1,
): boolean {
  stats.packets++;
  stats.bytes += origLen;
  if (out.length >= out.capacity) {
    stats.drops.batch_full++;
    return false;
  }
  let id = (linkType & 0xffff) === linkType ? LINK_NEXT[linkType]! : 0;
  if (id === 0) {
    stats.drops.unsupported_linktype++;
    stats.unsupportedLinkType = linkType;
    return false;
  }
  const end = off + capLen;
  S.begin(linkType, off, Math.min(end, buf.length), out, stats);
  S.verify = verify;
  for (let layer = 0; layer <= MAX_LAYERS; layer++) {
    // The common layers are called directly (monomorphic, inlinable); the rest through the table.
    switch (id) {
      case A_ETHERNET:
        id = ethernet(buf, S);
        break;
      case A_IPV4:
        id = ipv4(buf, S);
        break;
      case A_IPV6:
        id = ipv6(buf, S);
        break;
      case A_TCP:
        id = tcp(buf, S);
        break;
      case A_VLAN:
        id = vlan(buf, S);
        break;
      default:
        id = ANALYZERS[id]!(buf, S);
    }
    if (id <= 0) return id < 0;
  }
  stats.drops.encap_too_deep++;
  return false;
}
