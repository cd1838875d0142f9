// Each packet analyzer on its own: what it returns (next analyzer id, STOP, ACCEPT), how far it moves the
// cursor, what it records, and what it counts on bad input. The whole chain is tested through decodePacket
// in ../internal/decode.test.ts and against tshark in test/packet/oracle.test.ts.
import {
  HeaderColumns,
  TCP_ACK,
  TCP_RST,
  TUNNEL_ERSPAN2,
  TUNNEL_ERSPAN3,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_VXLAN,
} from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { createParseStats, packetDrops } from '../stats.js';
import * as T from '../testing.js';
import {
  A_ETHERNET,
  A_IP,
  A_IPV4,
  A_IPV6,
  A_TCP,
  A_VLAN,
  ETHERTYPE_NEXT,
  GRE_NEXT,
  IPPROTO_NEXT,
  UDP_PORT_NEXT,
} from './dispatch.js';
import { erspan2, erspan3 } from './erspan.js';
import { ethernet } from './ethernet.js';
import { geneve } from './geneve.js';
import { gre } from './gre.js';
import { ipv4 } from './ipv4.js';
import { ipv6 } from './ipv6.js';
import { linuxSll, linuxSll2 } from './linux-sll.js';
import { mpls } from './mpls.js';
import { loopLink, nullLink } from './null.js';
import { pppoe } from './pppoe.js';
import { ipByVersion } from './raw-ip.js';
import { ETHERTYPES, IP_PROTOCOLS, install, LINK_TYPES } from './registry.js';
import { ACCEPT, type Analyzer, DecodeState } from './state.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';
import { vlan } from './vlan.js';
import { vxlan } from './vxlan.js';

install();

/** Runs one analyzer on `bytes` from offset 0 (or `at`), with a fresh state; returns what it did. */
function run(a: Analyzer, bytes: Uint8Array, prep?: (s: DecodeState) => void) {
  const s = new DecodeState();
  const out = HeaderColumns.allocate(2);
  const stats = createParseStats();
  s.begin(1, 0, bytes.length, out, stats);
  prep?.(s);
  const id = a(bytes, s);
  const counted = Object.entries(stats.drops)
    .filter(([, n]) => n > 0)
    .map(([k]) => k);
  if (stats.notTcp > 0) counted.push('notTcp');
  if (stats.tcp > 0) counted.push('tcp');
  return { id, p: s.p, end: s.end, s, out, stats, counted };
}

const idOf = (etype: number) => ETHERTYPE_NEXT[etype]!;
const seg = T.tcp({ sport: 1234, dport: 80, seq: 5, ack: 6, flags: TCP_ACK, window: 100 });
const v4 = T.ipv4({ src: '198.18.0.1', dst: '198.18.0.2', proto: 6, ttl: 33, id: 77 }, seg);
const v6 = T.ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 6, hlim: 44 }, seg);

describe('dispatch tables', () => {
  it('give every registered key an analyzer and fixed ids to the hot path', () => {
    for (const [, a] of [...LINK_TYPES, ...ETHERTYPES, ...IP_PROTOCOLS]) expect(typeof a).toBe('function');
    expect(idOf(0x0800)).toBe(A_IPV4);
    expect(idOf(0x86dd)).toBe(A_IPV6);
    expect(idOf(0x8100)).toBe(A_VLAN);
    expect(IPPROTO_NEXT[6]).toBe(A_TCP);
    expect(idOf(0x0806)).toBe(0); // ARP: no analyzer, not TCP
    expect(GRE_NEXT[0x6558]).toBe(A_ETHERNET);
    expect(UDP_PORT_NEXT[4789]).not.toBe(0);
  });
});

describe('link layers', () => {
  it('ethernet: 14 bytes, next by ethertype; runts are snaplen_short; unknown ethertypes are not TCP', () => {
    expect(run(ethernet, T.ethernet(0x0800, v4))).toMatchObject({ id: A_IPV4, p: 14 });
    expect(run(ethernet, T.ethernet(0x0806, new Uint8Array(28))).counted).toEqual(['notTcp']);
    expect(run(ethernet, new Uint8Array(13)).counted).toEqual(['snaplen_short']);
  });
  it('null / loop: address family in host or network byte order', () => {
    expect(run(nullLink, T.concat(Uint8Array.of(2, 0, 0, 0), v4))).toMatchObject({ id: A_IPV4, p: 4 });
    expect(run(nullLink, T.concat(Uint8Array.of(0, 0, 0, 30), v6)).id).toBe(A_IPV6);
    expect(run(loopLink, T.concat(Uint8Array.of(0, 0, 0, 2), v4)).id).toBe(A_IPV4);
    expect(run(loopLink, T.concat(Uint8Array.of(0, 0, 0, 7), v4)).counted).toEqual(['notTcp']);
    expect(run(nullLink, Uint8Array.of(2, 0)).counted).toEqual(['snaplen_short']);
  });
  it('linux SLL and SLL2: protocol at byte 14 / 0', () => {
    const sll = new Uint8Array(16);
    sll[14] = 0x86;
    sll[15] = 0xdd;
    expect(run(linuxSll, T.concat(sll, v6))).toMatchObject({ id: A_IPV6, p: 16 });
    const sll2 = new Uint8Array(20);
    sll2[0] = 0x08;
    expect(run(linuxSll2, T.concat(sll2, v4))).toMatchObject({ id: A_IPV4, p: 20 });
    expect(run(linuxSll2, new Uint8Array(19)).counted).toEqual(['snaplen_short']);
  });
  it('raw IP: version nibble', () => {
    expect(run(ipByVersion, v4).id).toBe(A_IPV4);
    expect(run(ipByVersion, v6).id).toBe(A_IPV6);
    expect(run(ipByVersion, Uint8Array.of(0x50)).counted).toEqual(['bad_ip_header']);
  });
});

describe('layer 2.5', () => {
  it('vlan: one tag per call, the outermost id kept', () => {
    const r = run(vlan, Uint8Array.of(0x20, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00));
    expect(r).toMatchObject({ id: A_VLAN, p: 4 });
    expect(r.out.vlan[0]).toBe(100);
    const again = vlan(Uint8Array.of(0x20, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00), r.s);
    expect(again).toBe(A_IPV4);
    expect(r.out.vlan[0]).toBe(100);
    expect(run(vlan, Uint8Array.of(0, 1)).counted).toEqual(['snaplen_short']);
  });
  it('mpls: label stack to bottom of stack, then IPv4/IPv6/control word + Ethernet by nibble', () => {
    expect(run(mpls, T.mpls([1, 2], v4))).toMatchObject({ id: A_IPV4, p: 8 });
    expect(run(mpls, T.mpls([1], v6)).id).toBe(A_IPV6);
    expect(run(mpls, T.mpls([1], T.concat(new Uint8Array(4), T.ethernet(0x0800, v4))))).toMatchObject({
      id: A_ETHERNET,
      p: 8,
    });
    expect(run(mpls, T.mpls([1], Uint8Array.of(0x90))).counted).toEqual(['notTcp']);
    expect(
      run(
        mpls,
        T.mpls(
          Array.from({ length: 20 }, (_, i) => i),
          v4,
        ),
      ).counted,
    ).toEqual(['encap_too_deep']);
  });
  it('pppoe: session header then PPP protocol', () => {
    const h = Uint8Array.of(0x11, 0, 0, 1, 0, 0, 0x00, 0x21);
    expect(run(pppoe, T.concat(h, v4))).toMatchObject({ id: A_IPV4, p: 8 });
    expect(run(pppoe, Uint8Array.of(0x11, 0, 0, 1, 0, 0, 0xc0, 0x21)).counted).toEqual(['notTcp']);
  });
});

describe('IP', () => {
  it('ipv4: records TTL, id, length and addresses, shrinks the end to the datagram', () => {
    const r = run(ipv4, T.concat(v4, new Uint8Array(6)));
    expect(r).toMatchObject({ id: A_TCP, p: 20, end: v4.length });
    expect([r.out.ipVersion[0], r.out.ttl[0], r.out.ipId[0], r.out.ipLen[0]]).toEqual([4, 33, 77, v4.length]);
    expect(r.s.l4Len).toBe(seg.length);
    const frag = v4.slice();
    frag[7] = 1;
    expect(run(ipv4, frag).counted).toEqual(['ipv4_fragment_nonfirst']);
    expect(run(ipv4, v4.subarray(0, 19)).counted).toEqual(['snaplen_short']);
  });
  it('ipv6: fixed header then extension headers to the upper-layer protocol', () => {
    const r = run(ipv6, v6);
    expect(r).toMatchObject({ id: A_TCP, p: 40 });
    expect([r.out.ipVersion[0], r.out.ttl[0], r.out.ipLen[0]]).toEqual([6, 44, v6.length]);
    const ext = T.ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 0 }, T.ipv6Ext(0, 6, seg));
    expect(run(ipv6, ext)).toMatchObject({ id: A_TCP, p: 48 });
    expect(run(ipv6, T.ipv6({ src: '::1', dst: '::1', next: 58 }, new Uint8Array(8))).counted).toEqual([
      'notTcp',
    ]);
  });
});

describe('TCP', () => {
  it('appends the header with the options summary and a RST payload', () => {
    const rst = T.tcp({
      sport: 1,
      dport: 2,
      seq: 3,
      ack: 4,
      flags: TCP_RST | TCP_ACK,
      window: 0,
      options: T.tcpOptions({ mss: 1460 }),
      payload: new TextEncoder().encode('bye'),
    });
    const r = run(tcp, rst, (s) => {
      s.l4Len = rst.length;
    });
    expect(r.id).toBe(ACCEPT);
    expect(r.out.length).toBe(1);
    expect([r.out.srcPort[0], r.out.dstPort[0], r.out.seq[0], r.out.mss[0], r.out.payloadLen[0]]).toEqual([
      1, 2, 3, 1460, 3,
    ]);
    expect(r.out.rstPayloadLen[0]).toBe(3);
    expect(packetDrops(r.stats)).toBe(0);
  });
  it('counts bad offsets and lengths', () => {
    const bad = seg.slice();
    bad[12] = 0x40;
    expect(run(tcp, bad, (s) => (s.l4Len = bad.length)).counted).toEqual(['bad_tcp_offset']);
    expect(run(tcp, seg, (s) => (s.l4Len = 10)).counted).toEqual(['bad_ip_length']);
  });
});

describe('tunnels', () => {
  const eth = T.ethernet(0x0800, v4);
  it('udp: tunnels by destination port, anything else is not TCP', () => {
    expect(run(udp, T.udp(5, 4789, T.vxlan(1, eth))).id).toBe(UDP_PORT_NEXT[4789]);
    expect(run(udp, T.udp(5, 53, new Uint8Array(4))).counted).toEqual(['notTcp']);
  });
  it('gre: header options skipped, GRE table then ethertypes; outermost tunnel recorded', () => {
    const r = run(gre, T.gre(0x0800, v4, { key: 1, seq: 2, checksum: true }));
    expect(r).toMatchObject({ id: A_IPV4, p: 16 });
    expect(r.s.tunnel).toBe(TUNNEL_GRE);
    expect(run(gre, T.gre(0x6558, eth)).id).toBe(A_ETHERNET);
    expect(run(gre, T.gre(0x880b, new Uint8Array(8), { version: 1 })).counted).toEqual(['notTcp']);
    expect(run(gre, Uint8Array.of(0, 0)).counted).toEqual(['tunnel_malformed']);
  });
  it('erspan II/III: header sizes, tunnel named after ERSPAN when GRE was outermost', () => {
    const r2 = run(erspan2, T.erspan2(eth), (s) => {
      s.greSeq = 1;
      s.greTunnel = 1;
      s.tunnel = TUNNEL_GRE;
    });
    expect(r2).toMatchObject({ id: A_ETHERNET, p: 8 });
    expect(r2.s.tunnel).toBe(TUNNEL_ERSPAN2);
    const r3 = run(erspan3, T.erspan3(v4, { frameType: 2, subheader: true }), (s) => {
      s.greTunnel = 1;
    });
    expect(r3).toMatchObject({ id: A_IP, p: 20 });
    expect(r3.s.tunnel).toBe(TUNNEL_ERSPAN3);
    expect(run(erspan3, new Uint8Array(8)).counted).toEqual(['tunnel_malformed']);
  });
  it('vxlan and geneve', () => {
    const vx = run(vxlan, T.vxlan(7, eth));
    expect(vx).toMatchObject({ id: A_ETHERNET, p: 8 });
    expect(vx.s.tunnel).toBe(TUNNEL_VXLAN);
    expect(run(vxlan, new Uint8Array(8)).counted).toEqual(['tunnel_malformed']);
    const gn = run(geneve, T.geneve(0x0800, v4, 2));
    expect(gn).toMatchObject({ id: A_IPV4, p: 16 });
    expect(gn.s.tunnel).toBe(TUNNEL_GENEVE);
    expect(run(geneve, T.geneve(0x6558, eth)).id).toBe(A_ETHERNET);
  });
});
