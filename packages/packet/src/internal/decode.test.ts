import {
  formatAddr,
  HeaderColumns,
  OPT_MSS,
  OPT_SACK_BLOCKS,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  TCP_ACK,
  TCP_NS,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TUNNEL_ERSPAN2,
  TUNNEL_ERSPAN3,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_NONE,
  TUNNEL_VXLAN,
} from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { createParseStats, type ParseStats, packetDrops } from '../stats.js';
import {
  concat,
  erspan2,
  erspan3,
  ethernet,
  geneve,
  gre,
  ipv4,
  ipv6,
  ipv6Ext,
  mpls,
  sampleTcpFrame,
  tcp,
  tcpOptions,
  udp,
  vxlan,
} from '../testing.js';
import { decodePacket } from './decode.js';

function decode(linkType: number, frame: Uint8Array, capLen = frame.length) {
  const out = HeaderColumns.allocate(4);
  const stats = createParseStats();
  const ok = decodePacket(linkType, frame, 0, capLen, 1_700_000_000_123_456, out, stats);
  expect(stats.packets).toBe(1);
  expect(stats.tcp + stats.notTcp + packetDrops(stats)).toBe(1);
  expect(out.length).toBe(ok ? 1 : 0);
  return { ok, out, stats };
}

function row(out: HeaderColumns, i = 0) {
  return {
    tsUs: out.tsUs[i],
    ipVersion: out.ipVersion[i],
    src: formatAddr(out.srcAddr, i * 16),
    dst: formatAddr(out.dstAddr, i * 16),
    sport: out.srcPort[i],
    dport: out.dstPort[i],
    seq: out.seq[i],
    ack: out.ack[i],
    flags: out.flags[i],
    window: out.window[i],
    ttl: out.ttl[i],
    ipId: out.ipId[i],
    ipLen: out.ipLen[i],
    payloadLen: out.payloadLen[i],
    mss: out.mss[i],
    wscale: out.wscale[i],
    tsVal: out.tsVal[i],
    tsEcr: out.tsEcr[i],
    optFlags: out.optFlags[i],
    vlan: out.vlan[i],
    tunnel: out.tunnel[i],
    rstPayload: Array.from(out.rstPayload.subarray(i * 64, i * 64 + out.rstPayloadLen[i]!)),
  };
}

function dropped(stats: ParseStats): string[] {
  return Object.entries(stats.drops)
    .filter(([, n]) => n > 0)
    .map(([k]) => k);
}

const seg = tcp({ sport: 40000, dport: 443, seq: 0xfffffff0, ack: 7, flags: TCP_ACK | TCP_PSH, window: 512 });
const v4 = (payload: Uint8Array, proto = 6) => ipv4({ src: '198.18.0.1', dst: '198.18.0.2', proto }, payload);
const v6 = (payload: Uint8Array, next = 6) => ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next }, payload);

describe('decodePacket: fields', () => {
  it('decodes every field of an IPv4 TCP packet with options', () => {
    const opts = tcpOptions({ mss: 1460, wscale: 7, sackPermitted: true, ts: [0xdeadbeef, 12345] });
    const f = ethernet(
      0x0800,
      ipv4(
        { src: '198.18.1.2', dst: '198.19.3.4', ttl: 61, id: 0xbeef },
        tcp({
          sport: 1234,
          dport: 80,
          seq: 0x80000001,
          ack: 0xffffffff,
          flags: TCP_SYN | TCP_ACK | TCP_NS,
          window: 29200,
          options: opts,
          payload: new Uint8Array(10),
        }),
      ),
    );
    const { ok, out } = decode(1, f);
    expect(ok).toBe(true);
    expect(row(out)).toEqual({
      tsUs: 1_700_000_000_123_456,
      ipVersion: 4,
      src: '198.18.1.2',
      dst: '198.19.3.4',
      sport: 1234,
      dport: 80,
      seq: 0x80000001,
      ack: 0xffffffff,
      flags: TCP_SYN | TCP_ACK | TCP_NS,
      window: 29200,
      ttl: 61,
      ipId: 0xbeef,
      ipLen: 20 + 20 + opts.length + 10,
      payloadLen: 10,
      mss: 1460,
      wscale: 7,
      tsVal: 0xdeadbeef,
      tsEcr: 12345,
      optFlags: OPT_MSS | OPT_WSCALE | OPT_SACK_PERMITTED | OPT_TIMESTAMPS,
      vlan: 0,
      tunnel: TUNNEL_NONE,
      rstPayload: [],
    });
  });

  it('records SACK blocks', () => {
    const f = ethernet(0x0800, v4(tcp({ sport: 1, dport: 2, options: tcpOptions({ sack: [[1, 2]] }) })));
    const { out } = decode(1, f);
    expect(out.optFlags[0]).toBe(OPT_SACK_BLOCKS);
  });

  it('takes the payload length from the IP length, not the captured length (snaplen cut, padding)', () => {
    const full = sampleTcpFrame({ payload: new Uint8Array(1000) });
    const cut = decode(1, full.subarray(0, 80), 80);
    expect(cut.ok).toBe(true);
    expect(cut.out.payloadLen[0]).toBe(1000);
    // Ethernet padding: a bare ACK padded to 60 bytes carries no payload.
    const padded = concat(sampleTcpFrame(), new Uint8Array(6));
    expect(decode(1, padded).out.payloadLen[0]).toBe(0);
  });

  it('copies at most 64 captured payload bytes of RST packets only', () => {
    const payload = Uint8Array.from({ length: 100 }, (_, i) => i);
    const rst = decode(1, sampleTcpFrame({ flags: TCP_RST | TCP_ACK, payload }));
    expect(rst.out.rstPayloadLen[0]).toBe(64);
    expect(row(rst.out).rstPayload).toEqual(Array.from(payload.subarray(0, 64)));
    const shortRst = decode(1, sampleTcpFrame({ flags: TCP_RST, payload: Uint8Array.of(65, 66, 67) }));
    expect(row(shortRst.out).rstPayload).toEqual([65, 66, 67]);
    // Captured only partly: copy what was captured.
    const f = sampleTcpFrame({ flags: TCP_RST, payload });
    const cut = decode(1, f, 54 + 10);
    expect(row(cut.out).rstPayload).toEqual(Array.from(payload.subarray(0, 10)));
    expect(cut.out.payloadLen[0]).toBe(100);
    const data = decode(1, sampleTcpFrame({ flags: TCP_ACK, payload }));
    expect(data.out.rstPayloadLen[0]).toBe(0);
  });

  it('overwrites every column of a reused slot', () => {
    const out = HeaderColumns.allocate(1);
    const stats = createParseStats();
    const rich = sampleTcpFrame({
      flags: TCP_RST,
      payload: Uint8Array.of(1, 2, 3),
      options: tcpOptions({ mss: 1, wscale: 2, ts: [3, 4] }),
    });
    decodePacket(1, rich, 0, rich.length, 1, out, stats);
    out.reset();
    const plain = ethernet(0x86dd, v6(seg));
    decodePacket(1, plain, 0, plain.length, 2, out, stats);
    const r = row(out);
    expect(r).toMatchObject({ mss: 0, wscale: 0, tsVal: 0, tsEcr: 0, optFlags: 0, rstPayload: [], ipId: 0 });
    expect(r.src).toBe('2001:db8::1');
  });
});

describe('decodePacket: link layers', () => {
  const ip = v4(seg);
  const cases: [string, number, Uint8Array][] = [
    ['raw 101', 101, ip],
    ['raw 12', 12, ip],
    ['raw 14', 14, ip],
    ['ipv4 228', 228, ip],
    ['ipv6 229', 229, v6(seg)],
    ['raw 101 v6', 101, v6(seg)],
    ['NULL little-endian AF_INET', 0, concat(Uint8Array.of(2, 0, 0, 0), ip)],
    ['NULL big-endian AF_INET', 0, concat(Uint8Array.of(0, 0, 0, 2), ip)],
    ['NULL AF_INET6 (BSD 24)', 0, concat(Uint8Array.of(24, 0, 0, 0), v6(seg))],
    ['NULL AF_INET6 (Darwin 30)', 0, concat(Uint8Array.of(30, 0, 0, 0), v6(seg))],
    ['LOOP AF_INET', 108, concat(Uint8Array.of(0, 0, 0, 2), ip)],
    ['SLL', 113, concat(Uint8Array.of(0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00), ip)],
    [
      'SLL2',
      276,
      concat(Uint8Array.of(0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0), ip),
    ],
    ['PPPoE', 1, ethernet(0x8864, concat(Uint8Array.of(0x11, 0, 0, 1, 0, 0), Uint8Array.of(0, 0x21), ip))],
  ];
  for (const [name, lt, frame] of cases) {
    it(`decodes ${name}`, () => {
      const { ok, out } = decode(lt, frame);
      expect(ok).toBe(true);
      expect(out.srcPort[0]).toBe(40000);
      expect(out.seq[0]).toBe(0xfffffff0);
      expect(out.vlan[0]).toBe(0);
    });
  }

  it('records the outer VLAN id of stacked 802.1ad/802.1Q tags', () => {
    const f = ethernet(0x0800, ip, [{ vid: 300, tpid: 0x88a8 }, { vid: 42 }]);
    const { out } = decode(1, f);
    expect(out.vlan[0]).toBe(300);
    const single = decode(1, ethernet(0x86dd, v6(seg), [{ vid: 4094, pcp: 5 }]));
    expect(single.out.vlan[0]).toBe(4094);
  });

  it('walks MPLS label stacks and guesses IPv4/IPv6 after bottom of stack', () => {
    expect(decode(1, ethernet(0x8847, mpls([100, 200, 300], ip))).ok).toBe(true);
    expect(decode(1, ethernet(0x8847, mpls([100], v6(seg)))).out.ipVersion[0]).toBe(6);
    const vm = decode(1, ethernet(0x8847, mpls([16], ip), [{ vid: 7 }]));
    expect(vm.out.vlan[0]).toBe(7);
    // Pseudowire control word then Ethernet.
    const pw = decode(1, ethernet(0x8847, mpls([5], concat(new Uint8Array(4), ethernet(0x0800, ip)))));
    expect(pw.ok).toBe(true);
  });

  it('counts non-TCP as notTcp', () => {
    expect(decode(1, ethernet(0x0806, new Uint8Array(28))).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x0800, v4(udp(1, 53, new Uint8Array(4)), 17))).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x0800, v4(new Uint8Array(8), 1))).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x86dd, v6(new Uint8Array(8), 58))).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x86dd, v6(new Uint8Array(8), 50))).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x86dd, v6(new Uint8Array(0), 59), [])).stats.drops.bad_ip_length).toBe(1);
    expect(decode(0, concat(Uint8Array.of(7, 0, 0, 0), ip)).stats.notTcp).toBe(1);
    expect(decode(1, ethernet(0x8847, mpls([1], Uint8Array.of(0x90, 0, 0, 0)))).stats.notTcp).toBe(1);
  });

  it('counts unsupported link types', () => {
    const { stats } = decode(147, ip); // LINKTYPE_USER0: private, never decoded
    expect(dropped(stats)).toEqual(['unsupported_linktype']);
  });
});

describe('decodePacket: tunnels', () => {
  const inner = v4(seg);
  const innerEth = ethernet(0x0800, inner);
  const outer4 = (proto: number, p: Uint8Array) =>
    ethernet(0x0800, ipv4({ src: '198.18.9.9', dst: '198.18.8.8', proto, ttl: 250 }, p));
  const cases: [string, Uint8Array, number][] = [
    ['GRE IPv4', outer4(47, gre(0x0800, inner)), TUNNEL_GRE],
    ['GRE key+seq+checksum', outer4(47, gre(0x0800, inner, { checksum: true, key: 9, seq: 3 })), TUNNEL_GRE],
    ['GRE Ethernet (0x6558)', outer4(47, gre(0x6558, innerEth, { key: 1 })), TUNNEL_GRE],
    ['GRE IPv6 inner', outer4(47, gre(0x86dd, v6(seg))), TUNNEL_GRE],
    ['GRE over IPv6', ethernet(0x86dd, v6(gre(0x0800, inner), 47)), TUNNEL_GRE],
    ['ERSPAN II', outer4(47, gre(0x88be, erspan2(innerEth), { seq: 1 })), TUNNEL_ERSPAN2],
    ['ERSPAN I (no header)', outer4(47, gre(0x88be, innerEth)), TUNNEL_ERSPAN2],
    ['ERSPAN III', outer4(47, gre(0x22eb, erspan3(innerEth), { seq: 1 })), TUNNEL_ERSPAN3],
    [
      'ERSPAN III + subheader',
      outer4(47, gre(0x22eb, erspan3(innerEth, { subheader: true }), { seq: 1 })),
      TUNNEL_ERSPAN3,
    ],
    [
      'ERSPAN III carrying an IP frame',
      outer4(47, gre(0x22eb, erspan3(inner, { frameType: 2 }), { seq: 1 })),
      TUNNEL_ERSPAN3,
    ],
    ['VXLAN', outer4(17, udp(50000, 4789, vxlan(42, innerEth))), TUNNEL_VXLAN],
    ['Geneve Ethernet', outer4(17, udp(50000, 6081, geneve(0x6558, innerEth, 2))), TUNNEL_GENEVE],
    ['Geneve IPv4', outer4(17, udp(50000, 6081, geneve(0x0800, inner))), TUNNEL_GENEVE],
    [
      'VXLAN in GRE: outermost wins',
      outer4(47, gre(0x0800, v4(udp(1, 4789, vxlan(1, innerEth)), 17))),
      TUNNEL_GRE,
    ],
    ['IP-in-IP', outer4(4, inner), TUNNEL_NONE],
  ];
  for (const [name, frame, t] of cases) {
    it(`decodes the inner TCP of ${name}`, () => {
      const { ok, out } = decode(1, frame);
      expect(ok).toBe(true);
      const r = row(out);
      expect(['198.18.0.1', '2001:db8::1']).toContain(r.src);
      expect(r.ipVersion).toBe(r.src.includes(':') ? 6 : 4);
      expect(r.ttl).toBe(64);
      expect(r.sport).toBe(40000);
      expect(r.tunnel).toBe(t);
    });
  }

  it('counts malformed tunnels', () => {
    const outer = (proto: number, p: Uint8Array) =>
      ethernet(0x0800, ipv4({ src: '198.18.9.9', dst: '198.18.8.8', proto }, p));
    expect(dropped(decode(1, outer(47, Uint8Array.of(0, 0))).stats)).toEqual(['tunnel_malformed']);
    expect(dropped(decode(1, outer(47, gre(0x0800, inner, { version: 2 }))).stats)).toEqual([
      'tunnel_malformed',
    ]);
    expect(dropped(decode(1, outer(17, udp(1, 4789, Uint8Array.of(0, 0, 0)))).stats)).toEqual([
      'tunnel_malformed',
    ]);
    const badVx = udp(1, 4789, concat(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0), innerEth));
    expect(dropped(decode(1, outer(17, badVx)).stats)).toEqual(['tunnel_malformed']);
    const badGen = udp(1, 6081, geneve(0x0800, inner, 60).subarray(0, 40));
    expect(dropped(decode(1, outer(17, badGen)).stats)).toEqual(['tunnel_malformed']);
    // PPTP (GRE version 1) is a known non-TCP tunnel.
    expect(decode(1, outer(47, gre(0x880b, new Uint8Array(8), { version: 1 }))).stats.notTcp).toBe(1);
  });

  it('stops at 16 layers of encapsulation', () => {
    let p = inner;
    for (let k = 0; k < 20; k++) p = ipv4({ src: '198.18.0.9', dst: '198.18.0.10', proto: 4 }, p);
    expect(dropped(decode(101, p).stats)).toEqual(['encap_too_deep']);
    const labels = Array.from({ length: 30 }, (_, i) => i);
    expect(dropped(decode(1, ethernet(0x8847, mpls(labels, inner))).stats)).toEqual(['encap_too_deep']);
  });
});

describe('decodePacket: IPv4 and IPv6 details', () => {
  it('skips IPv4 options', () => {
    const f = ethernet(
      0x0800,
      ipv4({ src: '198.18.0.1', dst: '198.18.0.2', options: new Uint8Array(12) }, seg),
    );
    const { out } = decode(1, f);
    expect(out.srcPort[0]).toBe(40000);
    expect(out.ipLen[0]).toBe(32 + seg.length);
  });

  it('keeps first fragments and counts non-first TCP fragments', () => {
    const first = ipv4({ src: '198.18.0.1', dst: '198.18.0.2', moreFragments: true }, seg);
    expect(decode(101, first).ok).toBe(true);
    const later = ipv4({ src: '198.18.0.1', dst: '198.18.0.2', fragOffset: 185 }, seg);
    expect(dropped(decode(101, later).stats)).toEqual(['ipv4_fragment_nonfirst']);
    const laterUdp = ipv4({ src: '198.18.0.1', dst: '198.18.0.2', fragOffset: 185, proto: 17 }, seg);
    expect(decode(101, laterUdp).stats.notTcp).toBe(1);
  });

  it('walks IPv6 extension headers', () => {
    const chain = ipv6Ext(
      0,
      43,
      ipv6Ext(43, 60, ipv6Ext(60, 51, ipv6Ext(51, 44, ipv6Ext(44, 6, seg), { units: 1 }))),
    );
    const { ok, out } = decode(229, v6Chain(chain, 0));
    expect(ok).toBe(true);
    expect(out.payloadLen[0]).toBe(0);
    expect(out.ipLen[0]).toBe(40 + chain.length);
    const frag = v6Chain(ipv6Ext(44, 6, seg, { fragOffset: 100 }), 44);
    expect(dropped(decode(229, frag).stats)).toEqual(['ipv6_fragment_nonfirst']);
  });

  it('counts bad IP headers and lengths', () => {
    const bad = (f: Uint8Array, lt = 101) => dropped(decode(lt, f).stats);
    expect(bad(ipv4({ src: '198.18.0.1', dst: '198.18.0.2', ihl: 4 }, seg))).toEqual(['bad_ip_header']);
    expect(bad(ethernet(0x0800, v6(seg)), 1)).toEqual(['bad_ip_header']);
    expect(bad(ethernet(0x86dd, v4(seg)), 1)).toEqual(['bad_ip_header']);
    expect(bad(Uint8Array.of(0x50, 0, 0, 0))).toEqual(['bad_ip_header']);
    expect(bad(ipv4({ src: '198.18.0.1', dst: '198.18.0.2', totalLength: 10 }, seg))).toEqual([
      'bad_ip_length',
    ]);
    expect(bad(ipv4({ src: '198.18.0.1', dst: '198.18.0.2', totalLength: 30 }, seg))).toEqual([
      'bad_ip_length',
    ]);
    expect(bad(ipv6({ src: '2001:db8::1', dst: '2001:db8::2', payloadLength: 0 }, seg))).toEqual([
      'bad_ip_length',
    ]);
    const ext = ipv6(
      { src: '2001:db8::1', dst: '2001:db8::2', next: 0, payloadLength: 8 },
      ipv6Ext(0, 6, seg, { units: 3 }),
    );
    expect(bad(ext)).toEqual(['bad_ip_length']);
  });

  it('treats an IPv4 total length of 0 as segmentation offload (captured length)', () => {
    const f = ethernet(
      0x0800,
      ipv4(
        { src: '198.18.0.1', dst: '198.18.0.2', totalLength: 0 },
        tcp({ sport: 1, dport: 2, payload: new Uint8Array(3000) }),
      ),
    );
    const { ok, out, stats } = decode(1, f);
    expect(ok).toBe(true);
    expect(out.payloadLen[0]).toBe(3000);
    expect(out.ipLen[0]).toBe(3040);
    expect(stats.anomalies.ipv4_length_zero).toBe(1);
  });

  it('counts bad TCP data offsets and truncated headers', () => {
    const bad = (f: Uint8Array, cap?: number) => dropped(decode(1, f, cap).stats);
    expect(bad(sampleTcpFrame({ dataOffset: 4 }))).toEqual(['bad_tcp_offset']);
    expect(bad(sampleTcpFrame({ dataOffset: 15 }))).toEqual(['bad_tcp_offset']);
    const f = sampleTcpFrame();
    expect(bad(f, 10)).toEqual(['snaplen_short']);
    expect(bad(f, 20)).toEqual(['snaplen_short']);
    expect(bad(f, 14 + 20 + 19)).toEqual(['snaplen_short']);
    expect(bad(ethernet(0x8100, Uint8Array.of(0, 1)))).toEqual(['snaplen_short']);
  });

  it('keeps the header but counts malformed TCP options', () => {
    const cases = [
      Uint8Array.of(2, 3, 0, 0), // MSS with length 3
      Uint8Array.of(3, 0, 0, 0), // length 0
      Uint8Array.of(8, 40, 0, 0), // runs past the header
      Uint8Array.of(1, 1, 1, 5), // kind without room for a length
    ];
    for (const o of cases) {
      const { ok, stats } = decode(1, sampleTcpFrame({ options: o }));
      expect(ok).toBe(true);
      expect(stats.anomalies.bad_tcp_options).toBe(1);
    }
    // Cut by the snaplen inside the timestamp option: partial summary, not counted as malformed.
    const f = sampleTcpFrame({ options: tcpOptions({ mss: 1200, ts: [1, 2] }) });
    const cut = decode(1, f, 14 + 20 + 20 + 4 + 6);
    expect(cut.ok).toBe(true);
    expect(cut.out.mss[0]).toBe(1200);
    expect(cut.out.optFlags[0]).toBe(OPT_MSS);
    expect(cut.stats.anomalies.bad_tcp_options).toBe(0);
    const good = decode(1, sampleTcpFrame({ options: Uint8Array.of(2, 4, 5, 0xb4, 0, 0, 0, 0) }));
    expect(good.out.mss[0]).toBe(1460);
    expect(good.stats.anomalies.bad_tcp_options).toBe(0);
  });

  it('never writes past a full batch', () => {
    const out = HeaderColumns.allocate(1);
    const stats = createParseStats();
    const f = sampleTcpFrame();
    expect(decodePacket(1, f, 0, f.length, 0, out, stats)).toBe(true);
    expect(decodePacket(1, f, 0, f.length, 0, out, stats)).toBe(false);
    expect(stats.drops.batch_full).toBe(1);
    expect(out.length).toBe(1);
  });

  it('clamps a capLen beyond the buffer', () => {
    const f = sampleTcpFrame();
    expect(decode(1, f, f.length + 1000).ok).toBe(true);
  });
});

function v6Chain(chain: Uint8Array, next: number): Uint8Array {
  return ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next }, chain);
}

describe('decodePacket: addresses in a batch', () => {
  it('writes the addresses of each header to its own slot, in network byte order (IPv4 as ::ffff:a.b.c.d)', () => {
    const out = HeaderColumns.allocate(8);
    const stats = createParseStats();
    const want: [string, string][] = [];
    for (let i = 0; i < 8; i++) {
      const a = `198.18.${i}.${200 + i}`;
      const b = `198.19.${255 - i}.${i + 1}`;
      const c = `2001:db8:${i + 1}::${(0xa0 + i).toString(16)}`;
      const d = `2001:db8:ffff:${i}:8000::1`;
      const frame =
        i % 2 === 0
          ? ethernet(0x0800, ipv4({ src: a, dst: b }, seg))
          : ethernet(0x86dd, ipv6({ src: c, dst: d }, seg));
      want.push(i % 2 === 0 ? [a, b] : [c, d]);
      expect(decodePacket(1, frame, 0, frame.length, i, out, stats)).toBe(true);
    }
    expect(out.length).toBe(8);
    expect(
      Array.from({ length: 8 }, (_, i) => [formatAddr(out.srcAddr, i * 16), formatAddr(out.dstAddr, i * 16)]),
    ).toEqual(want);
    expect(Array.from(out.srcAddr.subarray(0, 16))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 200,
    ]);
    expect(Array.from(out.dstAddr.subarray(16, 32))).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 1,
    ]);
  });
});
