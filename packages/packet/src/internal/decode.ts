/**
 * One captured frame -> one TCP header in the next slot of a HeaderColumns batch. Link layers, VLAN/MPLS,
 * tunnels (GRE, ERSPAN II/III, VXLAN, Geneve, IP-in-IP), IPv4/IPv6 (options, extension headers, fragments)
 * and TCP with its options. The hot path: manual big-endian byte reads on a Uint8Array, locals only, no
 * allocation, every loop bounded by MAX_LAYERS or the captured length.
 */
import {
  ADDR_BYTES,
  type HeaderColumns,
  OPT_MSS,
  OPT_SACK_BLOCKS,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  RST_PAYLOAD_MAX,
  TCP_RST,
  TUNNEL_ERSPAN2,
  TUNNEL_ERSPAN3,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_VXLAN,
} from '@rstwatch/core';
import type { ParseStats } from '../stats.js';

/** Link types (DLT/LINKTYPE values) the decoder understands. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_BSD12 = 12;
export const LINKTYPE_RAW_BSD14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** True when {@link decodePacket} can decode frames of this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}

/** Upper bound on stacked layers (tags, labels, tunnels, extension headers) before giving up. */
const MAX_LAYERS = 16;

// Decoder states.
const K_ETH = 0;
const K_ETYPE = 1; // `etype` holds an ethertype, `p` points at its payload
const K_IP_ANY = 2; // IPv4 or IPv6 from the version nibble
const K_IP4 = 3;
const K_IP6 = 4;
const K_TCP = 5;
const K_UDP = 6;
const K_GRE = 7;

const VXLAN_PORT = 4789;

/**
 * Addresses are stored in network byte order; on a little-endian host (every platform Node ships
 * prebuilt binaries for but s390x/ppc64) four bytes go in one 32-bit store through the columns' `*Addr32`
 * views instead of four byte stores.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const GENEVE_PORT = 6081;

/**
 * Decode one frame of `linkType` found at `buf[off .. off + capLen)` captured at `tsUs`, and append its TCP
 * header to `out` if it carries one. Counts the packet in `stats` (`packets`, `bytes`, and exactly one of
 * `tcp`, `notTcp` or a packet drop reason). Returns true when a header was appended. `origLen` is the
 * on-the-wire length for the `bytes` counter (defaults to `capLen`). Never throws on any input.
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
): boolean {
  if (!decodeFrame(linkType, buf, off, capLen, out, stats, origLen)) return false;
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
): boolean {
  stats.packets++;
  stats.bytes += origLen;
  const drops = stats.drops;
  if (out.length >= out.capacity) {
    drops.batch_full++;
    return false;
  }
  let end = off + capLen;
  if (end > buf.length) end = buf.length;
  let p = off;
  let kind = K_ETH;
  let etype = 0;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      kind = K_ETH;
      break;
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
      kind = K_IP_ANY;
      break;
    case LINKTYPE_IPV4:
      kind = K_IP4;
      break;
    case LINKTYPE_IPV6:
      kind = K_IP6;
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (p + 4 > end) {
        drops.snaplen_short++;
        return false;
      }
      // NULL: address family in the capturing host's byte order; LOOP: network byte order.
      let fam = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      if (linkType === LINKTYPE_NULL && fam > 0xffff) {
        fam = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
      }
      p += 4;
      if (fam === 2) kind = K_IP4;
      else if (fam === 10 || fam === 23 || fam === 24 || fam === 28 || fam === 30) kind = K_IP6;
      else {
        stats.notTcp++;
        return false;
      }
      break;
    }
    case LINKTYPE_LINUX_SLL:
      if (p + 16 > end) {
        drops.snaplen_short++;
        return false;
      }
      etype = (buf[p + 14]! << 8) | buf[p + 15]!;
      p += 16;
      kind = K_ETYPE;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (p + 20 > end) {
        drops.snaplen_short++;
        return false;
      }
      etype = (buf[p]! << 8) | buf[p + 1]!;
      p += 20;
      kind = K_ETYPE;
      break;
    default:
      drops.unsupported_linktype++;
      return false;
  }

  const j = out.length;
  const ao = j * ADDR_BYTES;
  const src = out.srcAddr;
  const dst = out.dstAddr;
  let vlan = 0;
  let vlanSet = false;
  let tunnel = 0;
  let ipVer = 0;
  let ttl = 0;
  let ipId = 0;
  let ipLen = 0;
  let l4Len = 0; // bytes of the IP payload from `p` (by the IP length fields)

  for (let layer = 0; ; layer++) {
    if (layer > MAX_LAYERS) {
      drops.encap_too_deep++;
      return false;
    }
    switch (kind) {
      case K_ETH:
        if (p + 14 > end) {
          drops.snaplen_short++;
          return false;
        }
        etype = (buf[p + 12]! << 8) | buf[p + 13]!;
        p += 14;
        kind = K_ETYPE;
        break;

      case K_ETYPE:
        switch (etype) {
          case 0x0800:
            kind = K_IP4;
            break;
          case 0x86dd:
            kind = K_IP6;
            break;
          case 0x8100:
          case 0x88a8:
          case 0x9100:
            if (p + 4 > end) {
              drops.snaplen_short++;
              return false;
            }
            if (!vlanSet) {
              vlan = ((buf[p]! << 8) | buf[p + 1]!) & 0x0fff;
              vlanSet = true;
            }
            etype = (buf[p + 2]! << 8) | buf[p + 3]!;
            p += 4;
            break;
          case 0x8847:
          case 0x8848: {
            // MPLS label stack: 4 bytes per label, bottom-of-stack bit ends it.
            let n = 0;
            for (;;) {
              if (p + 4 > end) {
                drops.snaplen_short++;
                return false;
              }
              const bos = buf[p + 2]! & 0x01;
              p += 4;
              if (bos !== 0) break;
              if (++n > MAX_LAYERS) {
                drops.encap_too_deep++;
                return false;
              }
            }
            if (p + 1 > end) {
              drops.snaplen_short++;
              return false;
            }
            const nib = buf[p]! >> 4;
            if (nib === 4) kind = K_IP4;
            else if (nib === 6) kind = K_IP6;
            else if (nib === 0) {
              // Pseudowire control word, then Ethernet (RFC 4448).
              p += 4;
              kind = K_ETH;
            } else {
              stats.notTcp++;
              return false;
            }
            break;
          }
          case 0x8864: {
            // PPPoE session: 6-byte header, 2-byte PPP protocol.
            if (p + 8 > end) {
              drops.snaplen_short++;
              return false;
            }
            const ppp = (buf[p + 6]! << 8) | buf[p + 7]!;
            p += 8;
            if (ppp === 0x0021) kind = K_IP4;
            else if (ppp === 0x0057) kind = K_IP6;
            else {
              stats.notTcp++;
              return false;
            }
            break;
          }
          default:
            stats.notTcp++;
            return false;
        }
        break;

      case K_IP_ANY:
        if (p + 1 > end) {
          drops.snaplen_short++;
          return false;
        }
        if (buf[p]! >> 4 === 4) kind = K_IP4;
        else if (buf[p]! >> 4 === 6) kind = K_IP6;
        else {
          drops.bad_ip_header++;
          return false;
        }
        break;

      case K_IP4: {
        if (p + 20 > end) {
          drops.snaplen_short++;
          return false;
        }
        const b0 = buf[p]!;
        const ihl = (b0 & 0x0f) << 2;
        if (b0 >> 4 !== 4 || ihl < 20) {
          drops.bad_ip_header++;
          return false;
        }
        let totLen = (buf[p + 2]! << 8) | buf[p + 3]!;
        if (totLen === 0) {
          // Host captures of TCP segmentation offload: the kernel hands over a 0 total length (as Wireshark
          // presumes too); the datagram is whatever was captured.
          totLen = end - p;
          stats.anomalies.ipv4_length_zero++;
        }
        if (totLen < ihl) {
          drops.bad_ip_length++;
          return false;
        }
        if (p + ihl > end) {
          drops.snaplen_short++;
          return false;
        }
        const proto = buf[p + 9]!;
        const fragOff = ((buf[p + 6]! & 0x1f) << 8) | buf[p + 7]!;
        if (fragOff !== 0) {
          if (proto === 6) drops.ipv4_fragment_nonfirst++;
          else stats.notTcp++;
          return false;
        }
        ipVer = 4;
        ipLen = totLen;
        ttl = buf[p + 8]!;
        ipId = (buf[p + 4]! << 8) | buf[p + 5]!;
        if (LITTLE_ENDIAN) {
          // ::ffff:a.b.c.d as four words; the last one holds a.b.c.d in memory order.
          const w = ao >> 2;
          const s32 = out.srcAddr32;
          const d32 = out.dstAddr32;
          s32[w] = 0;
          s32[w + 1] = 0;
          s32[w + 2] = 0xffff0000;
          s32[w + 3] = buf[p + 12]! | (buf[p + 13]! << 8) | (buf[p + 14]! << 16) | (buf[p + 15]! << 24);
          d32[w] = 0;
          d32[w + 1] = 0;
          d32[w + 2] = 0xffff0000;
          d32[w + 3] = buf[p + 16]! | (buf[p + 17]! << 8) | (buf[p + 18]! << 16) | (buf[p + 19]! << 24);
        } else {
          for (let k = 0; k < 10; k++) {
            src[ao + k] = 0;
            dst[ao + k] = 0;
          }
          src[ao + 10] = 0xff;
          src[ao + 11] = 0xff;
          dst[ao + 10] = 0xff;
          dst[ao + 11] = 0xff;
          for (let k = 0; k < 4; k++) {
            src[ao + 12 + k] = buf[p + 12 + k]!;
            dst[ao + 12 + k] = buf[p + 16 + k]!;
          }
        }
        l4Len = totLen - ihl;
        // Tunnelled payloads never extend past the datagram (drops Ethernet padding and trailers).
        if (p + totLen < end) end = p + totLen;
        p += ihl;
        if (proto === 6) kind = K_TCP;
        else if (proto === 17) kind = K_UDP;
        else if (proto === 47) kind = K_GRE;
        else if (proto === 4) kind = K_IP4;
        else if (proto === 41) kind = K_IP6;
        else {
          stats.notTcp++;
          return false;
        }
        break;
      }

      case K_IP6: {
        if (p + 40 > end) {
          drops.snaplen_short++;
          return false;
        }
        if (buf[p]! >> 4 !== 6) {
          drops.bad_ip_header++;
          return false;
        }
        const plen = (buf[p + 4]! << 8) | buf[p + 5]!;
        if (plen === 0) {
          // Jumbogram (RFC 2675) or a zeroed length: nothing trustworthy to compute lengths from.
          drops.bad_ip_length++;
          return false;
        }
        let next = buf[p + 6]!;
        ipVer = 6;
        ipLen = 40 + plen;
        ttl = buf[p + 7]!;
        ipId = 0;
        if (LITTLE_ENDIAN) {
          const w = ao >> 2;
          const s32 = out.srcAddr32;
          const d32 = out.dstAddr32;
          for (let k = 0; k < 4; k++) {
            const a = p + 8 + (k << 2);
            s32[w + k] = buf[a]! | (buf[a + 1]! << 8) | (buf[a + 2]! << 16) | (buf[a + 3]! << 24);
            d32[w + k] = buf[a + 16]! | (buf[a + 17]! << 8) | (buf[a + 18]! << 16) | (buf[a + 19]! << 24);
          }
        } else {
          for (let k = 0; k < 16; k++) {
            src[ao + k] = buf[p + 8 + k]!;
            dst[ao + k] = buf[p + 24 + k]!;
          }
        }
        if (p + 40 + plen < end) end = p + 40 + plen;
        p += 40;
        l4Len = plen;
        // Extension headers.
        let ext = 0;
        for (;;) {
          if (next === 6 || next === 17 || next === 47 || next === 4 || next === 41) break;
          let hlen = 0;
          if (next === 0 || next === 43 || next === 60) {
            if (p + 2 > end) {
              drops.snaplen_short++;
              return false;
            }
            hlen = (buf[p + 1]! + 1) << 3;
          } else if (next === 44) {
            if (p + 8 > end) {
              drops.snaplen_short++;
              return false;
            }
            const fo = ((buf[p + 2]! << 8) | buf[p + 3]!) >> 3;
            if (fo !== 0) {
              if (buf[p]! === 6) drops.ipv6_fragment_nonfirst++;
              else stats.notTcp++;
              return false;
            }
            hlen = 8;
          } else if (next === 51) {
            if (p + 2 > end) {
              drops.snaplen_short++;
              return false;
            }
            hlen = (buf[p + 1]! + 2) << 2;
          } else {
            // ESP (50), no next header (59), ICMPv6 (58), anything else: not TCP we can see.
            stats.notTcp++;
            return false;
          }
          if (hlen > l4Len) {
            drops.bad_ip_length++;
            return false;
          }
          if (++ext > MAX_LAYERS) {
            drops.encap_too_deep++;
            return false;
          }
          next = buf[p]!;
          p += hlen;
          l4Len -= hlen;
        }
        if (next === 6) kind = K_TCP;
        else if (next === 17) kind = K_UDP;
        else if (next === 47) kind = K_GRE;
        else if (next === 4) kind = K_IP4;
        else kind = K_IP6;
        break;
      }

      case K_UDP: {
        if (p + 8 > end) {
          drops.snaplen_short++;
          return false;
        }
        const dport = (buf[p + 2]! << 8) | buf[p + 3]!;
        if (dport === VXLAN_PORT) {
          if (p + 16 > end) {
            drops.tunnel_malformed++;
            return false;
          }
          if ((buf[p + 8]! & 0x08) === 0) {
            drops.tunnel_malformed++;
            return false;
          }
          if (tunnel === 0) tunnel = TUNNEL_VXLAN;
          p += 16;
          kind = K_ETH;
        } else if (dport === GENEVE_PORT) {
          if (p + 16 > end) {
            drops.tunnel_malformed++;
            return false;
          }
          const g0 = buf[p + 8]!;
          const glen = 8 + ((g0 & 0x3f) << 2);
          if (g0 >> 6 !== 0 || p + 8 + glen > end) {
            drops.tunnel_malformed++;
            return false;
          }
          etype = (buf[p + 10]! << 8) | buf[p + 11]!;
          if (tunnel === 0) tunnel = TUNNEL_GENEVE;
          p += 8 + glen;
          if (etype === 0x6558) kind = K_ETH;
          else kind = K_ETYPE;
        } else {
          stats.notTcp++;
          return false;
        }
        break;
      }

      case K_GRE: {
        if (p + 4 > end) {
          drops.tunnel_malformed++;
          return false;
        }
        const gf = buf[p]!;
        const ver = buf[p + 1]! & 0x07;
        const gproto = (buf[p + 2]! << 8) | buf[p + 3]!;
        if (ver !== 0 || (gf & 0x40) !== 0) {
          // PPTP's enhanced GRE carries PPP; RFC 1701 source routing is obsolete.
          if (ver === 1) stats.notTcp++;
          else drops.tunnel_malformed++;
          return false;
        }
        let h = 4;
        if (gf & 0x80) h += 4; // checksum + reserved
        if (gf & 0x20) h += 4; // key
        const hasSeq = (gf & 0x10) !== 0;
        if (hasSeq) h += 4;
        if (p + h > end) {
          drops.tunnel_malformed++;
          return false;
        }
        p += h;
        if (gproto === 0x88be) {
          // ERSPAN type II has an 8-byte header and needs the sequence bit; type I has no header.
          if (hasSeq) {
            if (p + 8 > end) {
              drops.tunnel_malformed++;
              return false;
            }
            p += 8;
          }
          if (tunnel === 0) tunnel = TUNNEL_ERSPAN2;
          kind = K_ETH;
        } else if (gproto === 0x22eb) {
          if (p + 12 > end) {
            drops.tunnel_malformed++;
            return false;
          }
          const ft = (buf[p + 10]! >> 2) & 0x1f;
          const o = buf[p + 11]! & 0x01;
          p += o !== 0 ? 20 : 12;
          if (tunnel === 0) tunnel = TUNNEL_ERSPAN3;
          if (ft === 0) kind = K_ETH;
          else if (ft === 2) kind = K_IP_ANY;
          else {
            stats.notTcp++;
            return false;
          }
        } else {
          if (tunnel === 0) tunnel = TUNNEL_GRE;
          if (gproto === 0x6558) kind = K_ETH;
          else {
            etype = gproto;
            kind = K_ETYPE;
          }
        }
        break;
      }

      case K_TCP: {
        if (l4Len < 20) {
          drops.bad_ip_length++;
          return false;
        }
        if (p + 20 > end) {
          drops.snaplen_short++;
          return false;
        }
        const doff = buf[p + 12]! >> 4;
        const hlen = doff << 2;
        if (doff < 5 || hlen > l4Len) {
          drops.bad_tcp_offset++;
          return false;
        }
        const payload = l4Len - hlen;
        const flags = ((buf[p + 12]! & 0x01) << 8) | buf[p + 13]!;
        // Options, as far as they were captured.
        let mss = 0;
        let wscale = 0;
        let tsVal = 0;
        let tsEcr = 0;
        let optFlags = 0;
        let bad = false;
        let q = p + 20;
        let oend = p + hlen;
        // Options cut by the snaplen: use what was captured; running into the cut is not malformed.
        const optsCut = oend > end;
        if (optsCut) oend = end;
        while (q < oend) {
          const kindOpt = buf[q]!;
          if (kindOpt === 0) break;
          if (kindOpt === 1) {
            q++;
            continue;
          }
          if (q + 2 > oend) {
            bad = true;
            break;
          }
          const olen = buf[q + 1]!;
          if (olen < 2 || q + olen > oend) {
            bad = true;
            break;
          }
          switch (kindOpt) {
            case 2:
              if (olen === 4) {
                mss = (buf[q + 2]! << 8) | buf[q + 3]!;
                optFlags |= OPT_MSS;
              } else bad = true;
              break;
            case 3:
              if (olen === 3) {
                wscale = buf[q + 2]!;
                optFlags |= OPT_WSCALE;
              } else bad = true;
              break;
            case 4:
              if (olen === 2) optFlags |= OPT_SACK_PERMITTED;
              else bad = true;
              break;
            case 5:
              if (olen >= 10 && ((olen - 2) & 7) === 0) optFlags |= OPT_SACK_BLOCKS;
              else bad = true;
              break;
            case 8:
              if (olen === 10) {
                tsVal = ((buf[q + 2]! << 24) | (buf[q + 3]! << 16) | (buf[q + 4]! << 8) | buf[q + 5]!) >>> 0;
                tsEcr = ((buf[q + 6]! << 24) | (buf[q + 7]! << 16) | (buf[q + 8]! << 8) | buf[q + 9]!) >>> 0;
                optFlags |= OPT_TIMESTAMPS;
              } else bad = true;
              break;
            default:
              break;
          }
          q += olen;
        }
        if (bad && !optsCut) stats.anomalies.bad_tcp_options++;

        out.ipVersion[j] = ipVer;
        out.srcPort[j] = (buf[p]! << 8) | buf[p + 1]!;
        out.dstPort[j] = (buf[p + 2]! << 8) | buf[p + 3]!;
        out.seq[j] = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
        out.ack[j] = ((buf[p + 8]! << 24) | (buf[p + 9]! << 16) | (buf[p + 10]! << 8) | buf[p + 11]!) >>> 0;
        out.flags[j] = flags;
        out.window[j] = (buf[p + 14]! << 8) | buf[p + 15]!;
        out.ttl[j] = ttl;
        out.ipId[j] = ipId;
        out.ipLen[j] = ipLen;
        out.payloadLen[j] = payload;
        out.mss[j] = mss;
        out.wscale[j] = wscale;
        out.tsVal[j] = tsVal;
        out.tsEcr[j] = tsEcr;
        out.optFlags[j] = optFlags;
        out.vlan[j] = vlan;
        out.tunnel[j] = tunnel;
        let rl = 0;
        if ((flags & TCP_RST) !== 0 && payload > 0) {
          const ps = p + hlen;
          rl = Math.min(payload, RST_PAYLOAD_MAX);
          if (ps + rl > end) rl = end > ps ? end - ps : 0;
          const rp = out.rstPayload;
          const ro = j * RST_PAYLOAD_MAX;
          for (let k = 0; k < rl; k++) rp[ro + k] = buf[ps + k]!;
        }
        out.rstPayloadLen[j] = rl;
        out.length = j + 1;
        stats.tcp++;
        return true;
      }
    }
  }
}
