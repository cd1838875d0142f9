/**
 * Test helpers: build HeaderColumns by hand. `buildColumns` takes explicit packets; `Trace`/`TraceConn`
 * script whole conversations (handshake, data, FIN, RST) with sequence numbers, TTLs and IP IDs kept per
 * side, so unit tests of other packages can describe a scenario in a few lines.
 */
import {
  HeaderColumns,
  OPT_MSS,
  OPT_WSCALE,
  parseAddr,
  RST_PAYLOAD_MAX,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_NS,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from '@rstwatch/core';

/** One hand-written header. Endpoints as `a.b.c.d:port` or `[v6]:port`; flags as letters (S F R P A U E C N). */
export interface PacketSpec {
  tsUs: number;
  src: string;
  dst: string;
  flags: string;
  seq?: number;
  ack?: number;
  win?: number;
  ttl?: number;
  ipId?: number;
  len?: number;
  payload?: string;
  wscale?: number;
  vlan?: number;
  /** Checksum verification result (`CK_*` bits); default 0, not verified. */
  cksum?: number;
}

/** Split `host:port` / `[v6]:port`. */
export function splitEndpoint(ep: string): [string, number] {
  const m = /^\[(.+)\]:(\d+)$/.exec(ep) ?? /^([^:]+):(\d+)$/.exec(ep);
  if (!m) throw new Error(`bad endpoint ${ep}`);
  return [m[1]!, Number(m[2])];
}

/** Flag letters to bits. */
export function parseFlags(s: string): number {
  let f = 0;
  for (const ch of s) {
    if (ch === 'S') f |= TCP_SYN;
    else if (ch === 'F') f |= TCP_FIN;
    else if (ch === 'R') f |= TCP_RST;
    else if (ch === 'P') f |= TCP_PSH;
    else if (ch === 'A' || ch === '.') f |= TCP_ACK;
    else if (ch === 'U') f |= TCP_URG;
    else if (ch === 'E') f |= TCP_ECE;
    else if (ch === 'C' || ch === 'W') f |= TCP_CWR;
    else if (ch === 'N') f |= TCP_NS;
    else throw new Error(`bad flag letter ${ch}`);
  }
  return f;
}

/** Append one packet to `c` (which must have room). */
export function appendPacket(c: HeaderColumns, p: PacketSpec): void {
  const i = c.length++;
  const [sa, sp] = splitEndpoint(p.src);
  const [da, dp] = splitEndpoint(p.dst);
  parseAddr(sa, c.srcAddr, i * 16);
  parseAddr(da, c.dstAddr, i * 16);
  const v4 = sa.includes('.') && !sa.includes(':');
  const flags = parseFlags(p.flags);
  const payload = p.payload !== undefined ? Buffer.from(p.payload, 'latin1') : undefined;
  const len = p.len ?? payload?.length ?? 0;
  c.tsUs[i] = p.tsUs;
  c.ipVersion[i] = v4 ? 4 : 6;
  c.srcPort[i] = sp;
  c.dstPort[i] = dp;
  c.flags[i] = flags;
  c.seq[i] = (p.seq ?? 0) >>> 0;
  c.ack[i] = (p.ack ?? 0) >>> 0;
  c.window[i] = p.win ?? ((flags & TCP_RST) !== 0 ? 0 : 64240);
  c.ttl[i] = p.ttl ?? 64;
  c.ipId[i] = v4 ? (p.ipId ?? 0) : 0;
  c.payloadLen[i] = len;
  c.ipLen[i] = (v4 ? 20 : 40) + 20 + len;
  c.vlan[i] = p.vlan ?? 0;
  c.cksum[i] = p.cksum ?? 0;
  c.tunnel[i] = 0;
  c.tsVal[i] = 0;
  c.tsEcr[i] = 0;
  if ((flags & TCP_SYN) !== 0) {
    c.mss[i] = 1460;
    c.wscale[i] = p.wscale ?? 7;
    c.optFlags[i] = OPT_MSS | (p.wscale === -1 ? 0 : OPT_WSCALE);
  } else {
    c.mss[i] = 0;
    c.wscale[i] = 0;
    c.optFlags[i] = 0;
  }
  if ((flags & TCP_RST) !== 0 && payload) {
    const n = Math.min(RST_PAYLOAD_MAX, payload.length);
    c.rstPayload.set(payload.subarray(0, n), i * RST_PAYLOAD_MAX);
    c.rstPayloadLen[i] = n;
  } else c.rstPayloadLen[i] = 0;
}

/** HeaderColumns holding exactly these packets. */
export function buildColumns(pkts: readonly PacketSpec[], shared = false): HeaderColumns {
  const c = HeaderColumns.allocate(Math.max(1, pkts.length), shared);
  for (const p of pkts) appendPacket(c, p);
  return c;
}

/** Split `cols` into batches of at most `size` headers (copies). */
export function splitBatches(cols: HeaderColumns, size: number): HeaderColumns[] {
  const out: HeaderColumns[] = [];
  for (let s = 0; s < cols.length; s += size) {
    const b = HeaderColumns.allocate(Math.min(size, cols.length - s));
    for (let i = s; i < Math.min(cols.length, s + size); i++) b.copyFrom(cols, i);
    out.push(b);
  }
  return out;
}

type Side = 'o' | 'r';

export interface SideOpts {
  ttl?: number;
  isn?: number;
  ipId?: number;
}

export interface RstOpts {
  /** Set the ACK flag (default true). */
  ack?: boolean;
  seq?: number;
  ackNo?: number;
  ttl?: number;
  ipId?: number;
  payload?: string;
  /** Advance the clock by this many µs before the packet (default: the trace step). */
  after?: number;
  cksum?: number;
}

/** A scripted conversation between an originator `o` and a responder `r`. */
export class TraceConn {
  readonly o: string;
  readonly r: string;
  /** Next sequence number per side. */
  nxt: Record<Side, number>;
  ttl: Record<Side, number>;
  ipId: Record<Side, number>;
  constructor(
    private readonly trace: Trace,
    o: string,
    r: string,
    opts: { o?: SideOpts; r?: SideOpts } = {},
  ) {
    this.o = o;
    this.r = r;
    this.nxt = { o: opts.o?.isn ?? 1000, r: opts.r?.isn ?? 900000 };
    this.ttl = { o: opts.o?.ttl ?? 64, r: opts.r?.ttl ?? 64 };
    this.ipId = { o: opts.o?.ipId ?? 100, r: opts.r?.ipId ?? 5000 };
  }

  private peer(s: Side): Side {
    return s === 'o' ? 'r' : 'o';
  }

  /** Raw packet from side `s`. */
  send(
    s: Side,
    flags: string,
    opts: {
      len?: number;
      seq?: number;
      ack?: number;
      ttl?: number;
      ipId?: number;
      payload?: string;
      after?: number;
      win?: number;
      advance?: boolean;
      cksum?: number;
    } = {},
  ): this {
    const ts = this.trace.tick(opts.after);
    const f = parseFlags(flags);
    const seq = opts.seq ?? this.nxt[s];
    const len = opts.len ?? opts.payload?.length ?? 0;
    const spec: PacketSpec = {
      tsUs: ts,
      src: s === 'o' ? this.o : this.r,
      dst: s === 'o' ? this.r : this.o,
      flags,
      seq,
      ack: opts.ack ?? ((f & TCP_ACK) !== 0 ? this.nxt[this.peer(s)] : 0),
      ttl: opts.ttl ?? this.ttl[s],
      ipId: opts.ipId ?? this.ipId[s]++,
      len,
    };
    if (opts.payload !== undefined) spec.payload = opts.payload;
    if (opts.win !== undefined) spec.win = opts.win;
    if (opts.cksum !== undefined) spec.cksum = opts.cksum;
    this.trace.push(spec);
    if (opts.advance !== false && opts.seq === undefined && (f & TCP_RST) === 0) {
      let adv = len;
      if ((f & TCP_SYN) !== 0) adv++;
      if ((f & TCP_FIN) !== 0) adv++;
      this.nxt[s] = (this.nxt[s] + adv) >>> 0;
    }
    return this;
  }

  syn(): this {
    return this.send('o', 'S');
  }
  synAck(): this {
    return this.send('r', 'SA');
  }
  ack(s: Side = 'o'): this {
    return this.send(s, 'A');
  }
  handshake(): this {
    return this.syn().synAck().ack('o');
  }
  data(s: Side, len: number, after?: number): this {
    return this.send(s, 'PA', after === undefined ? { len } : { len, after });
  }
  /** Retransmit `len` bytes starting `back` bytes before the side's next sequence number. */
  retransmit(s: Side, len: number, back = len, after?: number): this {
    const o: { seq: number; len: number; after?: number } = { seq: (this.nxt[s] - back) >>> 0, len };
    if (after !== undefined) o.after = after;
    return this.send(s, 'PA', o);
  }
  fin(s: Side): this {
    return this.send(s, 'FA');
  }
  rst(s: Side, opts: RstOpts = {}): this {
    const withAck = opts.ack ?? true;
    const o: Parameters<TraceConn['send']>[2] = {
      seq: opts.seq ?? this.nxt[s],
      ack: withAck ? (opts.ackNo ?? this.nxt[this.peer(s)]) : (opts.ackNo ?? 0),
    };
    if (opts.ttl !== undefined) o.ttl = opts.ttl;
    if (opts.ipId !== undefined) o.ipId = opts.ipId;
    if (opts.payload !== undefined) o.payload = opts.payload;
    if (opts.after !== undefined) o.after = opts.after;
    if (opts.cksum !== undefined) o.cksum = opts.cksum;
    return this.send(s, withAck ? 'RA' : 'R', o);
  }
}

/** A capture being scripted: a clock and the packets so far. */
export class Trace {
  now: number;
  readonly step: number;
  readonly packets: PacketSpec[] = [];
  constructor(opts: { startUs?: number; stepUs?: number } = {}) {
    this.now = opts.startUs ?? 1_700_000_000_000_000;
    this.step = opts.stepUs ?? 1000;
  }
  /** Advance the clock (default one step) and return the new time. */
  tick(us?: number): number {
    this.now += us ?? this.step;
    return this.now;
  }
  /** Advance the clock by `us` without a packet. */
  wait(us: number): this {
    this.now += us;
    return this;
  }
  push(p: PacketSpec): void {
    this.packets.push(p);
  }
  conn(o: string, r: string, opts: { o?: SideOpts; r?: SideOpts } = {}): TraceConn {
    return new TraceConn(this, o, r, opts);
  }
  /** Everything scripted so far, as one batch. */
  columns(shared = false): HeaderColumns {
    return buildColumns(this.packets, shared);
  }
}
