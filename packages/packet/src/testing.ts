/**
 * Frame and capture-file builders for tests (this package's and others'): Ethernet, VLAN, MPLS, IPv4/IPv6,
 * TCP with options, UDP, GRE, ERSPAN, VXLAN, Geneve, and pcap/pcapng files in either byte order.
 * Not for the hot path: every call allocates.
 */
import { parseAddr } from '@rstwatch/core';

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function be16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}
function be32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

const MAC_A = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const MAC_B = Uint8Array.of(0x02, 0, 0, 0, 0, 2);

/** Ethernet II frame; `tags` are VLAN tags outermost first (`tpid` default 0x8100). */
export function ethernet(
  etype: number,
  payload: Uint8Array,
  tags: readonly { vid: number; tpid?: number; pcp?: number }[] = [],
): Uint8Array {
  const parts: Uint8Array[] = [MAC_B, MAC_A];
  for (const t of tags) parts.push(be16(t.tpid ?? 0x8100), be16(((t.pcp ?? 0) << 13) | (t.vid & 0xfff)));
  parts.push(be16(etype), payload);
  return concat(...parts);
}

/** MPLS label stack (outermost first) in front of `payload`. */
export function mpls(labels: readonly number[], payload: Uint8Array, ttl = 64): Uint8Array {
  const parts: Uint8Array[] = labels.map((l, i) =>
    be32(((l & 0xfffff) << 12) | (i === labels.length - 1 ? 0x100 : 0) | ttl),
  );
  return concat(...parts, payload);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto?: number;
  ttl?: number;
  id?: number;
  /** IP options bytes (padded to 4 by the caller). */
  options?: Uint8Array;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  moreFragments?: boolean;
  /** Override the total length field. */
  totalLength?: number;
  /** Override the IHL field (32-bit words). */
  ihl?: number;
  version?: number;
}

function v4bytes(a: string): Uint8Array {
  return parseAddr(a).subarray(12, 16);
}

/** IPv4 header (checksum left 0) + payload. */
export function ipv4(o: Ipv4Opts, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const h = new Uint8Array(hl);
  h[0] = ((o.version ?? 4) << 4) | (o.ihl ?? hl / 4);
  h.set(be16(o.totalLength ?? hl + payload.length), 2);
  h.set(be16(o.id ?? 0x1234), 4);
  h.set(be16(((o.moreFragments ? 1 : 0) << 13) | (o.fragOffset ?? 0)), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto ?? 6;
  h.set(v4bytes(o.src), 12);
  h.set(v4bytes(o.dst), 16);
  h.set(opts, 20);
  return concat(h, payload);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  next?: number;
  hlim?: number;
  /** Override the payload length field. */
  payloadLength?: number;
}

/** IPv6 header + payload (which may start with extension headers built by {@link ipv6Ext}). */
export function ipv6(o: Ipv6Opts, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h.set(be16(o.payloadLength ?? payload.length), 4);
  h[6] = o.next ?? 6;
  h[7] = o.hlim ?? 64;
  h.set(parseAddr(o.src), 8);
  h.set(parseAddr(o.dst), 24);
  return concat(h, payload);
}

/**
 * One IPv6 extension header of `type` (0 hop-by-hop, 43 routing, 60 destination options: 8-byte units;
 * 51 AH: 4-byte units; 44 fragment: `fragOffset` in 8-byte units) followed by `payload`.
 */
export function ipv6Ext(
  type: number,
  next: number,
  payload: Uint8Array,
  opt: { fragOffset?: number; units?: number } = {},
): Uint8Array {
  if (type === 44) {
    const h = new Uint8Array(8);
    h[0] = next;
    h.set(be16((opt.fragOffset ?? 0) << 3), 2);
    h.set(be32(0xabcd), 4);
    return concat(h, payload);
  }
  const units = opt.units ?? 0;
  const len = type === 51 ? (units + 2) * 4 : (units + 1) * 8;
  const h = new Uint8Array(len);
  h[0] = next;
  h[1] = units;
  if (type === 0 || type === 60) {
    h[2] = 1; // PadN covering the rest
    h[3] = len - 4;
  }
  return concat(h, payload);
}

export interface TcpOptsSpec {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  sack?: readonly [number, number][];
  ts?: readonly [number, number];
}

/** TCP options bytes (NOP-padded to a multiple of 4). */
export function tcpOptions(s: TcpOptsSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  if (s.mss !== undefined) parts.push(Uint8Array.of(2, 4), be16(s.mss));
  if (s.sackPermitted) parts.push(Uint8Array.of(4, 2));
  if (s.ts !== undefined) parts.push(Uint8Array.of(8, 10), be32(s.ts[0]), be32(s.ts[1]));
  if (s.wscale !== undefined) parts.push(Uint8Array.of(3, 3, s.wscale));
  if (s.sack !== undefined && s.sack.length > 0) {
    parts.push(Uint8Array.of(5, 2 + 8 * s.sack.length));
    for (const [l, r] of s.sack) parts.push(be32(l), be32(r));
  }
  let b = concat(...parts);
  while (b.length % 4 !== 0) b = concat(Uint8Array.of(1), b);
  return b;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Nine flag bits (TCP_* from core). */
  flags?: number;
  window?: number;
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Override the data offset field (32-bit words). */
  dataOffset?: number;
}

/** TCP header (checksum 0) + payload. */
export function tcp(s: TcpSpec): Uint8Array {
  const opts = s.options ?? new Uint8Array(0);
  const h = new Uint8Array(20 + opts.length);
  h.set(be16(s.sport), 0);
  h.set(be16(s.dport), 2);
  h.set(be32(s.seq ?? 0), 4);
  h.set(be32(s.ack ?? 0), 8);
  const flags = s.flags ?? 0x010;
  h[12] = ((s.dataOffset ?? h.length / 4) << 4) | ((flags >> 8) & 1);
  h[13] = flags & 0xff;
  h.set(be16(s.window ?? 65535), 14);
  h.set(opts, 20);
  return concat(h, s.payload ?? new Uint8Array(0));
}

/** UDP header (checksum 0) + payload. */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return concat(be16(sport), be16(dport), be16(8 + payload.length), be16(0), payload);
}

/** GRE header with optional checksum/key/sequence fields. */
export function gre(
  proto: number,
  payload: Uint8Array,
  o: { checksum?: boolean; key?: number; seq?: number; version?: number } = {},
): Uint8Array {
  let f = 0;
  const extra: Uint8Array[] = [];
  if (o.checksum) {
    f |= 0x8000;
    extra.push(be32(0));
  }
  if (o.key !== undefined) {
    f |= 0x2000;
    extra.push(be32(o.key));
  }
  if (o.seq !== undefined) {
    f |= 0x1000;
    extra.push(be32(o.seq));
  }
  f |= o.version ?? 0;
  return concat(be16(f), be16(proto), ...extra, payload);
}

/** ERSPAN type II header (8 bytes) + mirrored Ethernet frame. Wrap with `gre(0x88be, .., { seq })`. */
export function erspan2(frame: Uint8Array, session = 1): Uint8Array {
  return concat(be16(0x1000 | 0), be16(session & 0x3ff), be32(0), frame);
}

/** ERSPAN type III header (12 bytes, + 8 with the platform sub-header) + frame. Wrap with `gre(0x22eb, ..)`. */
export function erspan3(frame: Uint8Array, o: { subheader?: boolean; frameType?: number } = {}): Uint8Array {
  const h = new Uint8Array(12);
  h.set(be16(0x2000), 0);
  h.set(be16(7), 2);
  h.set(be32(0x01020304), 4);
  h[10] = ((o.frameType ?? 0) & 0x1f) << 2;
  h[11] = o.subheader ? 1 : 0;
  return concat(h, o.subheader ? new Uint8Array(8) : new Uint8Array(0), frame);
}

/** VXLAN header (I flag set) + inner Ethernet frame. Wrap with `udp(x, 4789, ..)`. */
export function vxlan(vni: number, frame: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x08, 0, 0, 0), be32((vni & 0xffffff) << 8), frame);
}

/** Geneve header with `optWords` 4-byte words of options + payload of `proto`. Wrap with `udp(x, 6081, ..)`. */
export function geneve(proto: number, payload: Uint8Array, optWords = 0): Uint8Array {
  const h = new Uint8Array(8 + optWords * 4);
  h[0] = optWords & 0x3f;
  h.set(be16(proto), 2);
  h.set(be32(0x00abcd00), 4);
  return concat(h, payload);
}

export interface PcapRecord {
  tsUs: number;
  frame: Uint8Array;
  /** On-the-wire length (default frame length). */
  origLen?: number;
  /** Captured length written in the record header (default frame length; override to make bad files). */
  capLen?: number;
}

/** A whole classic pcap file in memory. */
export function pcapFile(
  linkType: number,
  records: readonly PcapRecord[],
  o: { littleEndian?: boolean; nanosecond?: boolean; snaplen?: number; modified?: boolean } = {},
): Uint8Array {
  const le = o.littleEndian ?? true;
  const rh = o.modified ? 24 : 16;
  let size = 24;
  for (const r of records) size += rh + r.frame.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const magic = o.modified ? 0xa1b2cd34 : o.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4;
  v.setUint32(0, magic, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, o.snaplen ?? 262144, le);
  v.setUint32(20, linkType, le);
  let p = 24;
  for (const r of records) {
    const sec = Math.floor(r.tsUs / 1e6);
    const us = r.tsUs - sec * 1e6;
    v.setUint32(p, sec, le);
    v.setUint32(p + 4, o.nanosecond ? us * 1000 + 999 : us, le);
    v.setUint32(p + 8, r.capLen ?? r.frame.length, le);
    v.setUint32(p + 12, r.origLen ?? r.frame.length, le);
    out.set(r.frame, p + rh);
    p += rh + r.frame.length;
  }
  return out;
}

/** Builds pcapng files block by block; `shb()` starts a section and sets its byte order. */
export class PcapngBuilder {
  private readonly blocks: Uint8Array[] = [];
  private le = true;

  /** Raw block with the given body (padded to 4). */
  block(type: number, body: Uint8Array): this {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, this.le);
    v.setUint32(4, len, this.le);
    b.set(body, 8);
    v.setUint32(len - 4, len, this.le);
    this.blocks.push(b);
    return this;
  }

  private options(opts: readonly [number, Uint8Array][]): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const [code, val] of opts) {
      const h = new Uint8Array(4);
      const v = new DataView(h.buffer);
      v.setUint16(0, code, this.le);
      v.setUint16(2, val.length, this.le);
      parts.push(h, val, new Uint8Array((4 - (val.length % 4)) % 4));
    }
    if (parts.length > 0) parts.push(new Uint8Array(4));
    return concat(...parts);
  }

  shb(o: { littleEndian?: boolean } = {}): this {
    this.le = o.littleEndian ?? true;
    const body = new Uint8Array(16);
    const v = new DataView(body.buffer);
    v.setUint32(0, 0x1a2b3c4d, this.le);
    v.setUint16(4, 1, this.le);
    v.setUint16(6, 0, this.le);
    v.setInt32(8, -1, this.le);
    v.setInt32(12, -1, this.le);
    return this.block(0x0a0d0d0a, concat(body, this.options([[1, new TextEncoder().encode('test')]])));
  }

  /** Interface description; `tsresol` is the raw option byte (e.g. 9 = ns, 0x80|20 = 2^-20 s). */
  idb(linkType: number, o: { snaplen?: number; tsresol?: number; tsoffsetSec?: number } = {}): this {
    const body = new Uint8Array(8);
    const v = new DataView(body.buffer);
    v.setUint16(0, linkType, this.le);
    v.setUint32(4, o.snaplen ?? 0, this.le);
    const opts: [number, Uint8Array][] = [[2, new TextEncoder().encode('eth0')]];
    if (o.tsresol !== undefined) opts.push([9, Uint8Array.of(o.tsresol)]);
    if (o.tsoffsetSec !== undefined) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(o.tsoffsetSec), this.le);
      opts.push([14, b]);
    }
    return this.block(1, concat(body, this.options(opts)));
  }

  /** Enhanced packet block; `ticks` in the interface's resolution. */
  epb(ifid: number, ticks: bigint, frame: Uint8Array, o: { origLen?: number; capLen?: number } = {}): this {
    const h = new Uint8Array(20);
    const v = new DataView(h.buffer);
    v.setUint32(0, ifid, this.le);
    v.setUint32(4, Number(ticks >> 32n), this.le);
    v.setUint32(8, Number(ticks & 0xffffffffn), this.le);
    v.setUint32(12, o.capLen ?? frame.length, this.le);
    v.setUint32(16, o.origLen ?? frame.length, this.le);
    const pad = new Uint8Array((4 - (frame.length % 4)) % 4);
    return this.block(6, concat(h, frame, pad, this.options([[1, new TextEncoder().encode('c')]])));
  }

  /** Obsolete packet block (type 2). */
  pb(ifid: number, ticks: bigint, frame: Uint8Array): this {
    const h = new Uint8Array(20);
    const v = new DataView(h.buffer);
    v.setUint16(0, ifid, this.le);
    v.setUint32(4, Number(ticks >> 32n), this.le);
    v.setUint32(8, Number(ticks & 0xffffffffn), this.le);
    v.setUint32(12, frame.length, this.le);
    v.setUint32(16, frame.length, this.le);
    return this.block(2, concat(h, frame));
  }

  /** Simple packet block (interface 0, no timestamp). */
  spb(frame: Uint8Array, origLen?: number): this {
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, origLen ?? frame.length, this.le);
    return this.block(3, concat(h, frame));
  }

  bytes(): Uint8Array {
    return concat(...this.blocks);
  }
}

/** Canonical IPv4/TCP Ethernet frame used across tests. */
export function sampleTcpFrame(spec: Partial<TcpSpec> & { src?: string; dst?: string } = {}): Uint8Array {
  return ethernet(
    0x0800,
    ipv4(
      { src: spec.src ?? '198.18.0.1', dst: spec.dst ?? '198.18.0.2' },
      tcp({ sport: 40000, dport: 80, seq: 1000, ack: 2000, ...spec }),
    ),
  );
}
