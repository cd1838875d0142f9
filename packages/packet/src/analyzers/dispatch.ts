/**
 * The dispatch tables: analyzer id -> analyzer, and key (link type, ethertype, IP protocol, UDP port,
 * GRE protocol, address family) -> analyzer id. Filled once by `registry.ts`; read on the hot path as
 * typed arrays, so a lookup is one indexed load. Analyzers find their successor here by key and never
 * import it.
 */
import { type Analyzer, type DecodeState, STOP } from './state.js';

/** Fixed ids: analyzers an encapsulation names by payload type rather than by key, and the hot path. */
export const A_ETHERNET = 1;
export const A_IPV4 = 2;
export const A_IPV6 = 3;
/** IPv4 or IPv6 by the version nibble. */
export const A_IP = 4;
/** Ids the decode loop calls directly (the common path), not through {@link ANALYZERS}. */
export const A_TCP = 5;
export const A_VLAN = 6;
/** 802.2 LLC (+ SNAP): after FDDI, 802.11 and 802.3 length-field Ethernet headers. */
export const A_LLC = 7;

const unset: Analyzer = () => STOP;
/** Analyzers by id (0 is never used: it means "no analyzer"). */
export const ANALYZERS: Analyzer[] = Array.from({ length: 64 }, () => unset);

export const LINK_NEXT = new Uint8Array(65536);
export const ETHERTYPE_NEXT = new Uint8Array(65536);
export const PPP_NEXT = new Uint8Array(65536);
export const GRE_NEXT = new Uint8Array(65536);
export const IPPROTO_NEXT = new Uint8Array(256);
export const UDP_PORT_NEXT = new Uint8Array(65536);
export const FAMILY_NEXT = new Uint8Array(256);

/** Recognises a protocol from the first bytes of a UDP payload `buf[p .. end)`. */
export type Detector = (buf: Uint8Array, p: number, end: number) => boolean;
/** UDP payload detectors, tried in order when no port matched, and the analyzer each one leads to. */
export const UDP_DETECTORS = {
  count: 0,
  tests: Array.from({ length: 8 }, (): Detector => () => false),
  ids: new Uint8Array(8),
};

/** The analyzer for `etype`, or STOP after counting the frame as not TCP. */
export function byEthertype(s: DecodeState, etype: number): number {
  const id = ETHERTYPE_NEXT[etype]!;
  if (id === 0) s.stats.notTcp++;
  return id;
}

/** The analyzer for PPP protocol `proto` (PPP, PPP serial, PPPoE), or STOP (not TCP). */
export function byPppProtocol(s: DecodeState, proto: number): number {
  const id = PPP_NEXT[proto]!;
  if (id === 0) s.stats.notTcp++;
  return id;
}

/** The analyzer for IP protocol / IPv6 next header `proto`, or STOP (not TCP). */
export function byIpProtocol(s: DecodeState, proto: number): number {
  const id = IPPROTO_NEXT[proto]!;
  if (id === 0) s.stats.notTcp++;
  return id;
}

/** The analyzer for link type `linkType` (an encapsulation that carries another link layer), or STOP. */
export function byLinkType(s: DecodeState, linkType: number): number {
  const id = LINK_NEXT[linkType]!;
  if (id === 0) s.stats.drops.unsupported_linktype++;
  return id;
}

/** The analyzer for socket address family `fam` (NULL/LOOP/NFLOG headers), or STOP (not TCP). */
export function byFamily(s: DecodeState, fam: number): number {
  const id = fam < 256 ? FAMILY_NEXT[fam]! : 0;
  if (id === 0) s.stats.notTcp++;
  return id;
}
