/**
 * Packet assembly for the trace generator: hosts, connections and the pcap record writer. `pkt()` writes
 * one complete pcap record (Ethernet, optional 802.1Q, IPv4/IPv6, TCP with options, captured payload)
 * straight into the current output chunk; nothing is allocated per packet.
 */
import { CAUSES, TCP_ACK, TCP_RST, TCP_SYN } from '@rstwatch/core';
import { type Mix, mixByName } from './mix.js';
import type { Rng } from './rng.js';

/** A host: address, TTL as seen at the sensor, IPv4 ID counter and TCP timestamp clock. */
export interface Host {
  readonly v6: boolean;
  readonly addr: Uint8Array;
  /** TTL / hop limit of its packets at the sensor (initial TTL minus hops). */
  readonly ttl: number;
  ipId: number;
  readonly mac: number;
  readonly tsBase: number;
  /** Whether its TCP stack negotiates timestamps. */
  readonly ts: boolean;
  /** Servers: listening ports. */
  readonly ports: readonly number[];
  /** Servers: 802.1Q VLAN id of its segment (0 = untagged). */
  readonly vlan: number;
  /** Clients: last ephemeral port handed out. */
  port: number;
}

/** One TCP connection (4-tuple) and the sequence state of both sides. Direction 0 = client to server. */
export class Conn {
  cNxt: number;
  sNxt: number;
  readonly cIsn: number;
  readonly sIsn: number;
  cWin: number;
  sWin: number;
  readonly ts: boolean;
  /** Max payload per segment. */
  readonly seg: number;
  readonly mss: number;
  /** Sensor-to-client-and-back delay (the sensor sits near the servers), microseconds. */
  readonly rttUs: number;
  /** Sensor-to-server-and-back delay, microseconds. */
  readonly srvUs: number;
  readonly flowLabel: number;
  /** Set once a packet of this connection has been written. */
  seen = false;
  constructor(
    readonly c: Host,
    readonly s: Host,
    readonly cPort: number,
    public sPort: number,
    readonly vlan: number,
    rng: Rng,
  ) {
    this.cIsn = rng.u32();
    this.sIsn = rng.u32();
    this.cNxt = this.cIsn;
    this.sNxt = this.sIsn;
    this.cWin = rng.range(200, 4000);
    this.sWin = rng.range(200, 4000);
    this.ts = c.ts && s.ts;
    this.mss = c.v6 ? 1440 : 1460;
    this.seg = this.mss - (this.ts ? 12 : 0);
    this.rttUs = rng.logUniform(150, 40_000);
    this.srvUs = rng.logUniform(15, 400);
    this.flowLabel = c.v6 ? rng.u32() & 0xfffff : 0;
  }
}

export const C2S = 0;
export const S2C = 1;

/** Label of a RST packet: index into CAUSES. */
export const L = Object.fromEntries(CAUSES.map((c, i) => [c, i])) as Record<(typeof CAUSES)[number], number>;

const HEADROOM = 1 << 20;
const PATTERN = 1 << 16;

export interface GenOptions {
  snaplen: number;
  chunkBytes: number;
  packets: number;
}

/** Writer state plus the packet assembler. Chunks are handed to the caller through `full`/`take()`. */
export class Gen {
  /** Current capture time, microseconds since the epoch. */
  now = 0;
  count = 0;
  rsts = 0;
  flows = 0;
  origBytes = 0;
  fileBytes = 0;
  firstTsUs = -1;
  lastTsUs = -1;
  readonly byCause = new Float64Array(CAUSES.length);
  /** When recording ground truth: pairs of (frame number, cause index) for every RST packet. */
  labels: number[] | null = null;

  /** One-shot overrides for the next `pkt()` (forged or middlebox packets); reset after use. */
  ttlOv = -1;
  ipIdOv = -1;
  /** Payload bytes for the next `pkt()` (e.g. a TLS ClientHello or a RST diagnostic text). */
  data: Uint8Array | null = null;
  /** Connection-length mix: exchanges per connection, request and response sizes. */
  mix: Mix = mixByName('default');

  buf: Uint8Array;
  off = 0;
  private spare: Uint8Array;
  /** Offset of the printable filler pattern used for payload bytes, in both chunk buffers. */
  private readonly patternAt: number;
  private readonly snaplen: number;
  private readonly chunk: number;
  private readonly limit: number;

  constructor(
    readonly rng: Rng,
    opts: GenOptions,
  ) {
    this.snaplen = opts.snaplen;
    this.chunk = opts.chunkBytes;
    this.limit = opts.packets;
    this.patternAt = opts.chunkBytes + HEADROOM;
    this.buf = new Uint8Array(this.patternAt + PATTERN + 2048);
    this.spare = new Uint8Array(this.patternAt + PATTERN + 2048);
    for (let i = this.patternAt; i < this.buf.length; i++) this.buf[i] = 0x20 + (rng.u32() % 95);
    this.spare.set(this.buf.subarray(this.patternAt), this.patternAt);
    // pcap global header: magic, v2.4, thiszone 0, sigfigs 0, snaplen 262144, LINKTYPE_ETHERNET.
    const h = new DataView(this.buf.buffer);
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, 262144, true);
    h.setUint32(20, 1, true);
    this.off = 24;
  }

  /** True when the chunk should be written out. */
  get full(): boolean {
    return this.off >= this.chunk;
  }

  /** True once the requested number of packets has been written. */
  get done(): boolean {
    return this.count >= this.limit;
  }

  /** Hand over the filled chunk and continue in the spare buffer (which the caller must have drained). */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.off);
    const b = this.buf;
    this.buf = this.spare;
    this.spare = b;
    this.fileBytes += this.off;
    this.off = 0;
    return out;
  }

  /** Next sequence number of the sender in `dir`. */
  nxt(c: Conn, dir: number): number {
    return dir === C2S ? c.cNxt : c.sNxt;
  }

  /** Send an in-sequence segment from `dir` and advance its sequence number. */
  seg(c: Conn, dir: number, flags: number, len: number, label = -1, bare = false): void {
    const fromClient = dir === C2S;
    const seq = fromClient ? c.cNxt : c.sNxt;
    const ack = flags & TCP_ACK ? (fromClient ? c.sNxt : c.cNxt) : 0;
    this.pkt(c, dir, flags, seq, ack, len, label, bare);
    const adv = len + (flags & TCP_SYN ? 1 : 0) + (flags & 1 ? 1 : 0);
    if (fromClient) c.cNxt = (c.cNxt + adv) >>> 0;
    else c.sNxt = (c.sNxt + adv) >>> 0;
  }

  /**
   * Write one packet. `bare` leaves out TCP options and zeroes the window (kernel RST replies). `label`
   * is the cause index for RST packets. Ignored once the packet budget is spent.
   */
  pkt(
    c: Conn,
    dir: number,
    flags: number,
    seq: number,
    ack: number,
    len: number,
    label = -1,
    bare = false,
  ): void {
    if (this.count >= this.limit) {
      this.clearOverrides();
      return;
    }
    const b = this.buf;
    const rec = this.off;
    const fromClient = dir === C2S;
    const src = fromClient ? c.c : c.s;
    const dst = fromClient ? c.s : c.c;
    const v6 = src.v6;
    let o = writeEthernet(b, rec + 16, src, dst, c.vlan, v6);
    const l2 = o - rec - 16;

    const syn = (flags & TCP_SYN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const optLen = syn ? (c.ts ? 20 : 12) : bare || !c.ts ? 0 : 12;
    const thl = 20 + optLen;
    const ipTotal = (v6 ? 40 : 20) + thl + len;
    const ttl = this.ttlOv >= 0 ? this.ttlOv : src.ttl;
    if (v6) o = writeIpv6(b, o, src, dst, c.flowLabel, thl + len, ttl);
    else o = writeIpv4(b, o, src, dst, ipTotal, this.nextIpId(src), this.ipIdOv === 0, ttl);

    const sp = fromClient ? c.cPort : c.sPort;
    const dp = fromClient ? c.sPort : c.cPort;
    const win = bare && rst ? 0 : syn ? (fromClient ? 64240 : 65160) : fromClient ? c.cWin : c.sWin;
    o = writeTcp(b, o, sp, dp, seq, ack, thl, flags, win);
    if (optLen !== 0) o = writeTcpOptions(b, o, c, src, dst, flags, this.now);

    const frame = l2 + ipTotal;
    const keepWhole = rst && len > 0;
    const cap = keepWhole || frame <= this.snaplen ? frame : this.snaplen;
    const hdr = o - rec - 16;
    if (cap > hdr) this.payload(o, cap - hdr, seq);
    writeRecordHeader(b, rec, this.now, cap, frame);
    this.off = rec + 16 + cap;
    this.account(c, frame, rst, label);
    this.clearOverrides();
  }

  /** The IPv4 ID of `src`'s next packet: the one-shot override, else its counter (advanced). */
  private nextIpId(src: Host): number {
    if (this.ipIdOv >= 0) return this.ipIdOv;
    const id = src.ipId;
    src.ipId = (id + 1) & 0xffff;
    return id;
  }

  /** `n` captured payload bytes at `o`: the `data` override (zero-padded), else the filler pattern. */
  private payload(o: number, n: number, seq: number): void {
    const b = this.buf;
    const d = this.data;
    if (d !== null) {
      for (let k = 0; k < n; k++) b[o + k] = k < d.length ? d[k]! : 0;
    } else {
      // The filler pattern lives at the end of every chunk buffer, so this is one native memmove.
      const start = this.patternAt + (seq & 0xffff);
      b.copyWithin(o, start, start + Math.min(n, 2048));
    }
  }

  /** Counters and ground truth for the packet just written. */
  private account(c: Conn, frame: number, rst: boolean, label: number): void {
    const t = this.now;
    if (this.firstTsUs < 0) this.firstTsUs = t;
    this.lastTsUs = t;
    if (!c.seen) {
      c.seen = true;
      this.flows++;
    }
    this.count++;
    this.origBytes += frame;
    if (rst) {
      const cause = label >= 0 ? label : L.other;
      this.rsts++;
      this.byCause[cause]!++;
      if (this.labels !== null) this.labels.push(this.count, cause);
    }
  }

  private clearOverrides(): void {
    this.ttlOv = -1;
    this.ipIdOv = -1;
    this.data = null;
  }
}

/** Ethernet header (with an 802.1Q tag when `vlan` is not 0) at `o`; returns the offset after it. */
function writeEthernet(b: Uint8Array, o: number, src: Host, dst: Host, vlan: number, v6: boolean): number {
  writeMac(b, o, dst.mac);
  writeMac(b, o + 6, src.mac);
  o += 12;
  if (vlan !== 0) {
    b[o] = 0x81;
    b[o + 1] = 0x00;
    b[o + 2] = (vlan >> 8) & 0x0f;
    b[o + 3] = vlan & 0xff;
    o += 4;
  }
  b[o] = v6 ? 0x86 : 0x08;
  b[o + 1] = v6 ? 0xdd : 0x00;
  return o + 2;
}

/** IPv4 header with its checksum; DF is set except on forged packets (`forged`: ID override 0). */
function writeIpv4(
  b: Uint8Array,
  o: number,
  src: Host,
  dst: Host,
  total: number,
  id: number,
  forged: boolean,
  ttl: number,
): number {
  b[o] = 0x45;
  b[o + 1] = 0;
  b[o + 2] = total >> 8;
  b[o + 3] = total & 0xff;
  b[o + 4] = id >> 8;
  b[o + 5] = id & 0xff;
  b[o + 6] = forged ? 0 : 0x40;
  b[o + 7] = 0;
  b[o + 8] = ttl;
  b[o + 9] = 6;
  b[o + 10] = 0;
  b[o + 11] = 0;
  const sa = src.addr;
  const da = dst.addr;
  b[o + 12] = sa[0]!;
  b[o + 13] = sa[1]!;
  b[o + 14] = sa[2]!;
  b[o + 15] = sa[3]!;
  b[o + 16] = da[0]!;
  b[o + 17] = da[1]!;
  b[o + 18] = da[2]!;
  b[o + 19] = da[3]!;
  let s = 0;
  for (let k = 0; k < 20; k += 2) s += (b[o + k]! << 8) | b[o + k + 1]!;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  b[o + 10] = s >> 8;
  b[o + 11] = s & 0xff;
  return o + 20;
}

function writeIpv6(
  b: Uint8Array,
  o: number,
  src: Host,
  dst: Host,
  flowLabel: number,
  payloadLen: number,
  hopLimit: number,
): number {
  b[o] = 0x60;
  b[o + 1] = (flowLabel >> 16) & 0x0f;
  b[o + 2] = (flowLabel >> 8) & 0xff;
  b[o + 3] = flowLabel & 0xff;
  b[o + 4] = payloadLen >> 8;
  b[o + 5] = payloadLen & 0xff;
  b[o + 6] = 6;
  b[o + 7] = hopLimit;
  b.set(src.addr, o + 8);
  b.set(dst.addr, o + 24);
  return o + 40;
}

/** The fixed 20-byte TCP header (checksum 0, urgent pointer 0). */
function writeTcp(
  b: Uint8Array,
  o: number,
  sp: number,
  dp: number,
  seq: number,
  ack: number,
  thl: number,
  flags: number,
  win: number,
): number {
  b[o] = sp >> 8;
  b[o + 1] = sp & 0xff;
  b[o + 2] = dp >> 8;
  b[o + 3] = dp & 0xff;
  b[o + 4] = seq >>> 24;
  b[o + 5] = (seq >>> 16) & 0xff;
  b[o + 6] = (seq >>> 8) & 0xff;
  b[o + 7] = seq & 0xff;
  b[o + 8] = ack >>> 24;
  b[o + 9] = (ack >>> 16) & 0xff;
  b[o + 10] = (ack >>> 8) & 0xff;
  b[o + 11] = ack & 0xff;
  b[o + 12] = ((thl >> 2) << 4) | ((flags >> 8) & 1);
  b[o + 13] = flags & 0xff;
  b[o + 14] = win >> 8;
  b[o + 15] = win & 0xff;
  b[o + 16] = 0;
  b[o + 17] = 0;
  b[o + 18] = 0;
  b[o + 19] = 0;
  return o + 20;
}

/**
 * TCP options: on a SYN, MSS then (with timestamps) SACK-permitted, timestamps and window scale 7, or
 * (without) NOP-padded window scale 8 and SACK-permitted; otherwise NOP, NOP, timestamps.
 */
function writeTcpOptions(
  b: Uint8Array,
  o: number,
  c: Conn,
  src: Host,
  dst: Host,
  flags: number,
  nowUs: number,
): number {
  const syn = (flags & TCP_SYN) !== 0;
  const ms = Math.floor(nowUs / 1000);
  const tsval = (src.tsBase + ms) >>> 0;
  const tsecr = syn && !(flags & TCP_ACK) ? 0 : (dst.tsBase + ms - Math.floor(c.rttUs / 1000)) >>> 0;
  if (!syn) {
    b[o] = 1;
    b[o + 1] = 1;
    return writeTs(b, o + 2, tsval, tsecr);
  }
  b[o] = 2;
  b[o + 1] = 4;
  b[o + 2] = c.mss >> 8;
  b[o + 3] = c.mss & 0xff;
  if (c.ts) {
    b[o + 4] = 4; // SACK permitted
    b[o + 5] = 2;
    o = writeTs(b, o + 6, tsval, tsecr);
    b[o] = 1;
    b[o + 1] = 3; // window scale 7
    b[o + 2] = 3;
    b[o + 3] = 7;
    return o + 4;
  }
  b[o + 4] = 1;
  b[o + 5] = 3;
  b[o + 6] = 3;
  b[o + 7] = 8;
  b[o + 8] = 1;
  b[o + 9] = 1;
  b[o + 10] = 4;
  b[o + 11] = 2;
  return o + 12;
}

/** pcap record header (little-endian): seconds, microseconds, captured and original lengths. */
function writeRecordHeader(b: Uint8Array, rec: number, tUs: number, cap: number, frame: number): void {
  const sec = Math.floor(tUs / 1e6);
  writeLe32(b, rec, sec);
  writeLe32(b, rec + 4, tUs - sec * 1e6);
  writeLe32(b, rec + 8, cap);
  writeLe32(b, rec + 12, frame);
}

function writeMac(b: Uint8Array, o: number, mac: number): void {
  b[o] = 0x02;
  b[o + 1] = 0x00;
  b[o + 2] = mac >>> 24;
  b[o + 3] = (mac >>> 16) & 0xff;
  b[o + 4] = (mac >>> 8) & 0xff;
  b[o + 5] = mac & 0xff;
}

function writeTs(b: Uint8Array, o: number, tsval: number, tsecr: number): number {
  b[o] = 8;
  b[o + 1] = 10;
  b[o + 2] = tsval >>> 24;
  b[o + 3] = (tsval >>> 16) & 0xff;
  b[o + 4] = (tsval >>> 8) & 0xff;
  b[o + 5] = tsval & 0xff;
  b[o + 6] = tsecr >>> 24;
  b[o + 7] = (tsecr >>> 16) & 0xff;
  b[o + 8] = (tsecr >>> 8) & 0xff;
  b[o + 9] = tsecr & 0xff;
  return o + 10;
}

function writeLe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
