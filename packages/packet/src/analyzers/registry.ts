/**
 * The registration list: which analyzer handles which link type, ethertype, PPP protocol, IP protocol,
 * UDP port, GRE protocol and address family. Adding an encapsulation is one analyzer file plus one row
 * here. `install()` turns the rows into the typed-array dispatch tables of `dispatch.ts`.
 */

import { ayiya, isAyiya } from './ayiya.js';
import {
  A_ETHERNET,
  A_IP,
  A_IPV4,
  A_IPV6,
  A_LLC,
  A_TCP,
  A_VLAN,
  ANALYZERS,
  type Detector,
  ETHERTYPE_NEXT,
  FAMILY_NEXT,
  GRE_NEXT,
  IPPROTO_NEXT,
  LINK_NEXT,
  PPP_NEXT,
  UDP_DETECTORS,
  UDP_PORT_NEXT,
} from './dispatch.js';
import { erspan2, erspan3 } from './erspan.js';
import { ethernet } from './ethernet.js';
import { fddi } from './fddi.js';
import { geneve } from './geneve.js';
import { gre } from './gre.js';
import { gtpu, isGtpu } from './gtpu.js';
import { ieee80211 } from './ieee802-11.js';
import { ipv4 } from './ipv4.js';
import { ipv6 } from './ipv6.js';
import { linuxSll, linuxSll2 } from './linux-sll.js';
import { llc } from './llc.js';
import { mpls } from './mpls.js';
import { nflog } from './nflog.js';
import { loopLink, nullLink } from './null.js';
import { ppp, pppSerial } from './ppp.js';
import { pppoe } from './pppoe.js';
import { radiotap } from './radiotap.js';
import { ipByVersion } from './raw-ip.js';
import type { Analyzer } from './state.js';
import { tcp } from './tcp.js';
import { isTeredo, teredo } from './teredo.js';
import { udp } from './udp.js';
import { vlan } from './vlan.js';
import { vxlan } from './vxlan.js';

type Rows = readonly (readonly [key: number, analyzer: Analyzer])[];

/** Link types (DLT/LINKTYPE values) the decoder reads. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_BSD12 = 12;
export const LINKTYPE_RAW_BSD14 = 14;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_FDDI = 10;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Analyzers with fixed ids (see `A_*` in dispatch.ts). */
const FIXED: Rows = [
  [A_ETHERNET, ethernet],
  [A_IPV4, ipv4],
  [A_IPV6, ipv6],
  [A_IP, ipByVersion],
  [A_TCP, tcp],
  [A_VLAN, vlan],
  [A_LLC, llc],
];

export const LINK_TYPES: Rows = [
  [LINKTYPE_NULL, nullLink],
  [LINKTYPE_ETHERNET, ethernet],
  [LINKTYPE_PPP, ppp],
  [LINKTYPE_FDDI, fddi],
  [LINKTYPE_RAW_BSD12, ipByVersion],
  [LINKTYPE_RAW_BSD14, ipByVersion],
  [LINKTYPE_PPP_HDLC, pppSerial],
  [LINKTYPE_RAW, ipByVersion],
  [LINKTYPE_IEEE802_11, ieee80211],
  [LINKTYPE_LOOP, loopLink],
  [LINKTYPE_LINUX_SLL, linuxSll],
  [LINKTYPE_IEEE802_11_RADIOTAP, radiotap],
  [LINKTYPE_IPV4, ipv4],
  [LINKTYPE_IPV6, ipv6],
  [LINKTYPE_NFLOG, nflog],
  [LINKTYPE_LINUX_SLL2, linuxSll2],
];

export const ETHERTYPES: Rows = [
  [0x0800, ipv4],
  [0x86dd, ipv6],
  [0x8100, vlan],
  [0x88a8, vlan],
  [0x9100, vlan],
  [0x8847, mpls],
  [0x8848, mpls],
  [0x8864, pppoe],
];

/** PPP protocol numbers (PPP links, PPPoE sessions). */
export const PPP_PROTOCOLS: Rows = [
  [0x0021, ipv4],
  [0x0057, ipv6],
  [0x0281, mpls],
  [0x0283, mpls],
];

/** GRE protocol types that are not plain ethertypes (the rest go through {@link ETHERTYPES}). */
export const GRE_PROTOCOLS: Rows = [
  [0x6558, ethernet],
  [0x88be, erspan2],
  [0x22eb, erspan3],
];

export const IP_PROTOCOLS: Rows = [
  [4, ipv4],
  [6, tcp],
  [17, udp],
  [41, ipv6],
  [47, gre],
];

/** UDP ports of tunnels (destination port first, then source port). */
export const UDP_PORTS: Rows = [
  [2152, gtpu],
  [3544, teredo],
  [4789, vxlan],
  [5072, ayiya],
  [6081, geneve],
];

/** UDP tunnels recognised by content on any other port, tried in this order (Zeek's protocol detection). */
export const UDP_CONTENT: readonly (readonly [Detector, Analyzer])[] = [
  [isGtpu, gtpu],
  [isTeredo, teredo],
  [isAyiya, ayiya],
];

/** Socket address families (BSD NULL/LOOP headers); IPv6's value differs between BSDs, Linux, macOS. */
export const ADDRESS_FAMILIES: Rows = [
  [2, ipv4],
  [10, ipv6],
  [23, ipv6],
  [24, ipv6],
  [28, ipv6],
  [30, ipv6],
];

/** Fills the dispatch tables from the rows above. Idempotent. */
export function install(): void {
  const ids = new Map<Analyzer, number>();
  for (const [id, a] of FIXED) {
    ids.set(a, id);
    ANALYZERS[id] = a;
  }
  const idOf = (a: Analyzer): number => {
    let id = ids.get(a);
    if (id === undefined) {
      id = ids.size + 1;
      if (id >= ANALYZERS.length) throw new Error('packet analyzers: dispatch table full');
      ids.set(a, id);
      ANALYZERS[id] = a;
    }
    return id;
  };
  const fill = (table: Uint8Array, rows: Rows) => {
    for (const [key, a] of rows) table[key] = idOf(a);
  };
  fill(LINK_NEXT, LINK_TYPES);
  fill(ETHERTYPE_NEXT, ETHERTYPES);
  fill(PPP_NEXT, PPP_PROTOCOLS);
  fill(GRE_NEXT, GRE_PROTOCOLS);
  fill(IPPROTO_NEXT, IP_PROTOCOLS);
  fill(UDP_PORT_NEXT, UDP_PORTS);
  fill(FAMILY_NEXT, ADDRESS_FAMILIES);
  UDP_DETECTORS.count = UDP_CONTENT.length;
  UDP_CONTENT.forEach(([test, a], k) => {
    UDP_DETECTORS.tests[k] = test;
    UDP_DETECTORS.ids[k] = idOf(a);
  });
}
