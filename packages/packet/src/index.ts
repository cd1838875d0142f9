// Packet parsing: streaming pcap/pcapng readers, link layers, tunnels, IPv4/IPv6/TCP headers into HeaderColumns.
export { type ParseCaptureFileOptions, parseCaptureFile, parseCaptureStream } from './file.js';
export {
  decodePacket,
  isSupportedLinkType,
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
} from './internal/decode.js';
export { CaptureParser, type CaptureParserOptions, MAX_CAPLEN } from './internal/reader.js';
export {
  ANOMALY_REASONS,
  type AnomalyReason,
  CAPTURE_DROP_REASONS,
  type CaptureDropReason,
  createParseStats,
  type DropReason,
  mergeParseStats,
  PACKET_DROP_REASONS,
  type PacketDropReason,
  type ParseStats,
  packetDrops,
  totalDrops,
  undecodableCapture,
} from './stats.js';
export { PcapWriter, type PcapWriterOptions } from './writer.js';
