/**
 * Parse counters. Plain numeric fields only, so a stats object can be copied, merged, sent across threads
 * and exported as metrics without translation. Every packet the parser sees ends in exactly one of
 * `tcp`, `notTcp` or one of the {@link PACKET_DROP_REASONS}; capture-structure problems (bad file or block
 * framing) and tolerated anomalies are counted separately, so the invariant
 * `packets === tcp + notTcp + packetDrops(stats)` always holds.
 */

/** Why a packet yielded no TCP header although it may have carried one. Each packet counts once. */
export const PACKET_DROP_REASONS = [
  /** The captured bytes end inside the link, IP or TCP fixed header (snaplen too small, or a runt frame). */
  'snaplen_short',
  /** IP version nibble does not match the link's ethertype, IPv4 IHL < 5, or a malformed IPv6 extension header. */
  'bad_ip_header',
  /** IP total/payload length smaller than the headers it must contain (incl. IPv6 jumbograms, length 0). */
  'bad_ip_length',
  /** TCP data offset < 5, or the TCP header is longer than the IP payload. */
  'bad_tcp_offset',
  /** The capture's link type (DLT) is not one the decoder knows; the packet is not looked at. */
  'unsupported_linktype',
  /** IPv4 fragment with offset != 0 and protocol TCP: no TCP header in it. */
  'ipv4_fragment_nonfirst',
  /** IPv6 fragment header with offset != 0 in front of TCP: no TCP header in it. */
  'ipv6_fragment_nonfirst',
  /** GRE/ERSPAN/VXLAN/Geneve/MPLS header that is truncated or uses flags/versions we cannot decode. */
  'tunnel_malformed',
  /** More than 16 stacked encapsulation layers (VLAN tags, MPLS labels, tunnels, IPv6 extension headers). */
  'encap_too_deep',
  /** pcapng packet block naming an interface that no IDB of the section defined. */
  'unknown_interface',
  /** decodePacket was handed a full HeaderColumns batch (a live-capture caller bug; the parser never does). */
  'batch_full',
] as const;

/** Problems with the capture's framing. These are not packets: they do not enter `packets`. */
export const CAPTURE_DROP_REASONS = [
  /** The input does not start with a pcap or pcapng magic number; nothing after it is read. */
  'bad_magic',
  /** The input ended inside the pcap file header or the first pcapng section header. */
  'truncated_header',
  /** The input ended inside a record/block (counted once by `end()`). */
  'truncated_record',
  /**
   * A pcap record header claims more than 1 MiB of captured data: the framing is lost, the rest of the
   * input is ignored (libpcap refuses such files too). Never allocates the claimed size.
   */
  'bad_record_length',
  /**
   * A pcapng block with an impossible total length (< 12, not a multiple of 4, > 16 MiB for packet
   * blocks, trailer mismatch) or inconsistent fields: the block is skipped if its framing is intact,
   * otherwise the rest of the input is ignored.
   */
  'bad_block',
] as const;

/** Tolerated oddities: the packet or block was still used. */
export const ANOMALY_REASONS = [
  /** TCP options with a bad length or truncated; the fixed header was kept, the options summary is partial. */
  'bad_tcp_options',
  /** IPv4 total length 0 (TCP segmentation offload seen on the sending host): the captured length is used. */
  'ipv4_length_zero',
  /** pcap record with caplen > the file's snaplen (accepted up to 1 MiB). */
  'caplen_over_snaplen',
  /** pcapng block type we do not decode (NRB, ISB, DSB, custom, ...), skipped without buffering it. */
  'skipped_block',
] as const;

export type PacketDropReason = (typeof PACKET_DROP_REASONS)[number];
export type CaptureDropReason = (typeof CAPTURE_DROP_REASONS)[number];
export type DropReason = PacketDropReason | CaptureDropReason;
export type AnomalyReason = (typeof ANOMALY_REASONS)[number];

export interface ParseStats {
  /** Packet records seen (complete records only). */
  packets: number;
  /** Packets that produced a TCP header (appended to a batch). */
  tcp: number;
  /** Well-formed packets that do not carry TCP (ARP, UDP, ICMP, ESP, non-IP, non-first non-TCP fragments). */
  notTcp: number;
  /** Sum of the packets' original (on-the-wire) lengths. */
  bytes: number;
  /** Packets or capture data lost, by reason (see {@link PACKET_DROP_REASONS}, {@link CAPTURE_DROP_REASONS}). */
  drops: Record<DropReason, number>;
  /** Tolerated anomalies, by reason (see {@link ANOMALY_REASONS}). */
  anomalies: Record<AnomalyReason, number>;
  /** Link type of the last packet counted as `unsupported_linktype`, -1 when none was. */
  unsupportedLinkType: number;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}

/** Fresh zeroed counters. */
export function createParseStats(): ParseStats {
  return {
    packets: 0,
    tcp: 0,
    notTcp: 0,
    bytes: 0,
    drops: zeros<DropReason>([...PACKET_DROP_REASONS, ...CAPTURE_DROP_REASONS]),
    anomalies: zeros<AnomalyReason>(ANOMALY_REASONS),
    unsupportedLinkType: -1,
  };
}

/** Add `src` into `into` (returns `into`). */
export function mergeParseStats(into: ParseStats, src: ParseStats): ParseStats {
  into.packets += src.packets;
  into.tcp += src.tcp;
  into.notTcp += src.notTcp;
  into.bytes += src.bytes;
  for (const k of Object.keys(src.drops) as DropReason[]) into.drops[k] = (into.drops[k] ?? 0) + src.drops[k];
  for (const k of Object.keys(src.anomalies) as AnomalyReason[])
    into.anomalies[k] = (into.anomalies[k] ?? 0) + src.anomalies[k];
  if (src.unsupportedLinkType >= 0) into.unsupportedLinkType = src.unsupportedLinkType;
  return into;
}

/** Packets dropped for any packet-level reason (so `packets === tcp + notTcp + packetDrops(s)`). */
export function packetDrops(s: ParseStats): number {
  let n = 0;
  for (const k of PACKET_DROP_REASONS) n += s.drops[k];
  return n;
}

/** All drops, packet- and capture-level. */
export function totalDrops(s: ParseStats): number {
  let n = 0;
  for (const k of Object.keys(s.drops) as DropReason[]) n += s.drops[k];
  return n;
}

/**
 * Why nothing of a capture could be decoded, or null when something could: packets were read, none
 * yielded a TCP header and none was even recognised as other traffic. Names the drop reasons with their
 * counts, and the link type when it is one the decoder does not read.
 */
export function undecodableCapture(s: ParseStats): string | null {
  if (s.packets === 0 || s.tcp > 0 || s.notTcp > 0) return null;
  const parts: string[] = [];
  for (const k of PACKET_DROP_REASONS) {
    const n = s.drops[k];
    if (n === 0) continue;
    if (k === 'unsupported_linktype') {
      parts.push(`${n} of link type ${s.unsupportedLinkType}, which rstwatch does not decode`);
    } else parts.push(`${n} ${k}`);
  }
  return `no packet could be decoded (${s.packets} packets: ${parts.join(', ')})`;
}
