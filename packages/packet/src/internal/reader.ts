/**
 * Push-based pcap / pcapng reader. Bytes arrive in chunks with arbitrary boundaries; complete records are
 * decoded straight out of the chunk, and only a record split across chunks is copied into a small carry
 * buffer (bounded by the largest record we accept). Unknown pcapng blocks are skipped as they stream by,
 * without buffering them. Headers go into HeaderColumns batches handed to `onBatch`.
 */
import { HeaderColumns } from '@rstwatch/core';
import { createParseStats, type ParseStats } from '../stats.js';
import { decodeFrame } from './decode.js';

/** Largest captured length of one packet we accept (libpcap's own maximum is 256 KiB for most DLTs). */
export const MAX_CAPLEN = 1 << 20;
/** Largest pcapng block we buffer (SHB, IDB, packet blocks); bigger ones are skipped. */
const MAX_BLOCK = MAX_CAPLEN + 4096;
/** Most interfaces accepted per pcapng section. */
const MAX_INTERFACES = 1 << 16;

const S_MAGIC = 0;
const S_PCAP_HDR = 1;
const S_PCAP_REC = 2;
const S_NG = 3;
const S_DEAD = 4;
/** A consume step's answer: stop here until `want` bytes are available. */
const NEED_MORE = -1;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

const TWO32 = 4294967296;

function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export interface CaptureParserOptions {
  /** Headers per batch when the parser allocates one (default 4096). */
  batchSize?: number;
  /** Receives every full batch, and the last partial one from `end()`. The consumer owns it afterwards. */
  onBatch: (batch: HeaderColumns) => void;
  /** Supplies the next empty batch (e.g. from a pool); default allocates `batchSize`. Its length is reset. */
  newBatch?: () => HeaderColumns;
  /** false: skip checksum verification (every header's `cksum` stays 0). Default true. */
  verifyChecksums?: boolean;
}

/**
 * Streaming capture parser. Detects pcap (micro/nanosecond, either byte order, also the "modified" pcap
 * variant) or pcapng (any number of sections and interfaces, either byte order) by magic number.
 * Bad input is counted in `stats`, never thrown.
 */
export class CaptureParser {
  readonly stats: ParseStats = createParseStats();
  private readonly onBatch: (batch: HeaderColumns) => void;
  private readonly makeBatch: () => HeaderColumns;
  private batch: HeaderColumns;

  private state = S_MAGIC;
  private fmt: 'pcap' | 'pcapng' | undefined = undefined;
  private ended = false;
  /** Bytes still to skip (unknown or oversized pcapng block). */
  private skip = 0;
  /** When `consume` stops short: bytes needed from the start of the unit it stopped at. */
  private want = 0;
  private carry: Uint8Array = new Uint8Array(0);
  private carryLen = 0;
  private sawSection = false;

  // pcap file state
  private le = false;
  private nano = false;
  private recHdr = 16;
  private snaplen = 0;
  private linkType = 0;

  // pcapng section state: one entry per interface
  private ifCount = 0;
  private readonly ifLink: number[] = [];
  private readonly ifSnap: number[] = [];
  /** 0: divide ticks by ifScale, 1: multiply by ifScale, 2: binary fraction of 2^ifShift. */
  private readonly ifMode: number[] = [];
  private readonly ifScale: number[] = [];
  private readonly ifShift: number[] = [];
  private readonly ifOffsetUs: number[] = [];
  private lastTsUs = 0;
  /** Verify checksums (0/1). */
  private readonly verify: number;

  constructor(opts: CaptureParserOptions) {
    const size = opts.batchSize ?? 4096;
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`batchSize must be a positive integer`);
    this.onBatch = opts.onBatch;
    this.makeBatch = opts.newBatch ?? (() => HeaderColumns.allocate(size));
    this.verify = opts.verifyChecksums === false ? 0 : 1;
    this.batch = this.freshBatch();
  }

  /** 'pcap' or 'pcapng' once the magic number has been read. */
  get format(): 'pcap' | 'pcapng' | undefined {
    return this.fmt;
  }

  /** Link type of a pcap file, or of the most recent pcapng interface (undefined before it is known). */
  get linkTypeHint(): number | undefined {
    if (this.fmt === 'pcap') return this.linkType;
    return this.ifCount > 0 ? this.ifLink[this.ifCount - 1] : undefined;
  }

  /** True once the input was found unreadable (bad magic or lost framing); further input is ignored. */
  get failed(): boolean {
    return this.state === S_DEAD;
  }

  /** Feed the next bytes of the capture. Chunks may split records anywhere. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('CaptureParser.push() after end()');
    // Normalise Buffers to plain Uint8Array views so the decoder sees one array shape.
    const b =
      chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    const n = b.length;
    let pos = 0;
    while (this.carryLen > 0 && pos < n) {
      const need = this.want - this.carryLen;
      const take = Math.min(need, n - pos);
      this.ensureCarry(this.carryLen + take);
      this.carry.set(b.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
      if (this.carryLen < this.want) return;
      const used = this.consume(this.carry, 0, this.carryLen);
      const rest = this.carryLen - used;
      if (rest > 0) this.carry.copyWithin(0, used, this.carryLen);
      this.carryLen = rest;
    }
    if (pos >= n) return;
    const used = this.consume(b, pos, n);
    if (used < n) {
      this.ensureCarry(n - used);
      this.carry.set(b.subarray(used, n), 0);
      this.carryLen = n - used;
    }
  }

  /** End of input: count a truncated trailing record and hand over the last partial batch. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.state !== S_DEAD && (this.carryLen > 0 || this.skip > 0)) {
      const inHeader =
        this.state === S_MAGIC || this.state === S_PCAP_HDR || (this.state === S_NG && !this.sawSection);
      if (inHeader) this.stats.drops.truncated_header++;
      else this.stats.drops.truncated_record++;
    }
    this.carryLen = 0;
    this.skip = 0;
    if (this.batch.length > 0) {
      const b = this.batch;
      this.onBatch(b);
    }
  }

  private freshBatch(): HeaderColumns {
    const b = this.makeBatch();
    b.length = 0;
    return b;
  }

  private ensureCarry(size: number): void {
    if (this.carry.length >= size) return;
    let cap = this.carry.length === 0 ? 65536 : this.carry.length * 2;
    while (cap < size) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.carry.subarray(0, this.carryLen), 0);
    this.carry = next;
  }

  private emitIfFull(): void {
    if (this.batch.length >= this.batch.capacity) {
      const full = this.batch;
      this.batch = this.freshBatch();
      this.onBatch(full);
    }
  }

  private die(): number {
    this.state = S_DEAD;
    this.skip = 0;
    return 0;
  }

  /** Process complete units in `b[off..end)`; returns the offset of the first byte not consumed. */
  private consume(b: Uint8Array, off: number, end: number): number {
    // Each step returns the offset to go on from, or NEED_MORE (with `want` set) to stop at `off`. A step
    // that finds the input unreadable calls die() and returns `off`; the next turn then returns `end`.
    while (off < end) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, end - off);
        this.skip -= k;
        off += k;
        continue;
      }
      const avail = end - off;
      let next: number;
      switch (this.state) {
        case S_DEAD:
          return end;
        case S_MAGIC:
          next = this.magic(b, off, avail);
          break;
        case S_PCAP_HDR:
          next = this.pcapHeader(b, off, avail);
          break;
        case S_PCAP_REC:
          next = this.pcapRecord(b, off, avail);
          break;
        default:
          next = this.ngBlock(b, off, avail);
      }
      if (next === NEED_MORE) return off;
      off = next;
    }
    return off;
  }

  /** Stop at the current unit until `n` bytes of it are available. */
  private needMore(n: number): number {
    this.want = n;
    return NEED_MORE;
  }

  /** The file's magic number: pcap (byte order, time resolution, record header size) or pcapng. */
  private magic(b: Uint8Array, off: number, avail: number): number {
    if (avail < 4) return this.needMore(4);
    const m = u32be(b, off);
    if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34) {
      this.le = false;
    } else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1 || m === 0x34cdb2a1) {
      this.le = true;
    } else if (m === BT_SHB) {
      this.fmt = 'pcapng';
      this.state = S_NG;
      return off;
    } else {
      this.stats.drops.bad_magic++;
      this.die();
      return off;
    }
    const mm = this.le ? u32le(b, off) : m;
    this.nano = mm === 0xa1b23c4d;
    this.recHdr = mm === 0xa1b2cd34 ? 24 : 16;
    this.fmt = 'pcap';
    this.state = S_PCAP_HDR;
    return off;
  }

  /** The pcap global header: snaplen and link type. */
  private pcapHeader(b: Uint8Array, off: number, avail: number): number {
    if (avail < 24) return this.needMore(24);
    const rd = this.le ? u32le : u32be;
    this.snaplen = rd(b, off + 16);
    this.linkType = rd(b, off + 20) & 0xffff;
    this.state = S_PCAP_REC;
    return off + 24;
  }

  /** One pcap record: its header, then the frame through the decoder. */
  private pcapRecord(b: Uint8Array, off: number, avail: number): number {
    const rh = this.recHdr;
    if (avail < rh) return this.needMore(rh);
    const le = this.le;
    const sec = le ? u32le(b, off) : u32be(b, off);
    const frac = le ? u32le(b, off + 4) : u32be(b, off + 4);
    const caplen = le ? u32le(b, off + 8) : u32be(b, off + 8);
    const wirelen = le ? u32le(b, off + 12) : u32be(b, off + 12);
    if (caplen > MAX_CAPLEN) {
      this.stats.drops.bad_record_length++;
      this.die();
      return off;
    }
    if (avail < rh + caplen) return this.needMore(rh + caplen);
    if (caplen > this.snaplen && this.snaplen !== 0) this.stats.anomalies.caplen_over_snaplen++;
    const batch = this.batch;
    if (decodeFrame(this.linkType, b, off + rh, caplen, batch, this.stats, wirelen, this.verify)) {
      batch.tsUs[batch.length - 1] = sec * 1e6 + (this.nano ? Math.floor(frac / 1000) : frac);
      this.emitIfFull();
    }
    return off + rh + caplen;
  }

  /**
   * One pcapng block: framing checked (length, trailer; a section header also sets the byte order), then
   * handed to its block reader. Unknown and oversized blocks are skipped.
   */
  private ngBlock(b: Uint8Array, off: number, avail: number): number {
    if (avail < 12) return this.needMore(12);
    let type = this.le ? u32le(b, off) : u32be(b, off);
    if (type === BT_SHB) {
      const bom = u32be(b, off + 8);
      if (bom === 0x1a2b3c4d) this.le = false;
      else if (bom === 0x4d3c2b1a) this.le = true;
      else {
        this.stats.drops.bad_block++;
        this.die();
        return off;
      }
      type = BT_SHB;
    }
    const le = this.le;
    const len = le ? u32le(b, off + 4) : u32be(b, off + 4);
    if (len < 12 || (len & 3) !== 0 || (type === BT_SHB && (len < 28 || len > MAX_BLOCK))) {
      this.stats.drops.bad_block++;
      this.die();
      return off;
    }
    if (type !== BT_SHB && type !== BT_IDB && type !== BT_EPB && type !== BT_SPB && type !== BT_PB) {
      this.stats.anomalies.skipped_block++;
      this.skip = len;
      return off;
    }
    if (len > MAX_BLOCK) {
      this.stats.drops.bad_block++;
      this.skip = len;
      return off;
    }
    if (avail < len) return this.needMore(len);
    const trailer = le ? u32le(b, off + len - 4) : u32be(b, off + len - 4);
    if (trailer !== len) {
      this.stats.drops.bad_block++;
      this.die();
      return off;
    }
    if (type === BT_EPB || type === BT_PB) this.packetBlock(b, off, len, type === BT_PB);
    else if (type === BT_SPB) this.simplePacketBlock(b, off, len);
    else if (type === BT_IDB) this.interfaceBlock(b, off, len);
    else this.sectionBlock(b, off);
    return off + len;
  }

  private sectionBlock(b: Uint8Array, off: number): void {
    const major = this.le ? b[off + 12]! | (b[off + 13]! << 8) : (b[off + 12]! << 8) | b[off + 13]!;
    this.sawSection = true;
    this.ifCount = 0;
    if (major !== 1) {
      // Unknown major version: its blocks cannot be trusted; treat the section as unreadable.
      this.stats.drops.bad_block++;
      this.die();
    }
  }

  private interfaceBlock(b: Uint8Array, off: number, len: number): void {
    if (len < 20 || this.ifCount >= MAX_INTERFACES) {
      this.stats.drops.bad_block++;
      return;
    }
    const le = this.le;
    const rd16 = (o: number) => (le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!);
    const i = this.ifCount++;
    this.ifLink[i] = rd16(off + 8);
    this.ifSnap[i] = le ? u32le(b, off + 12) : u32be(b, off + 12);
    let tsres = 6;
    let offsetUs = 0;
    let o = off + 16;
    const oend = off + len - 4;
    while (o + 4 <= oend) {
      const code = rd16(o);
      const olen = rd16(o + 2);
      if (code === 0) break;
      if (o + 4 + olen > oend) break;
      if (code === 9 && olen >= 1) tsres = b[o + 4]!;
      else if (code === 14 && olen >= 8) {
        const lo = le ? u32le(b, o + 4) : u32be(b, o + 8);
        const hi = le ? u32le(b, o + 8) : u32be(b, o + 4);
        const shi = hi > 0x7fffffff ? hi - TWO32 : hi;
        offsetUs = (shi * TWO32 + lo) * 1e6;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if ((tsres & 0x80) !== 0) {
      this.ifMode[i] = 2;
      this.ifShift[i] = tsres & 0x7f;
      this.ifScale[i] = 2 ** (tsres & 0x7f);
    } else if (tsres >= 6) {
      this.ifMode[i] = 0;
      this.ifScale[i] = 10 ** (tsres - 6);
      this.ifShift[i] = 0;
    } else {
      this.ifMode[i] = 1;
      this.ifScale[i] = 10 ** (6 - tsres);
      this.ifShift[i] = 0;
    }
    this.ifOffsetUs[i] = offsetUs;
  }

  /** Microseconds since the epoch from a 64-bit pcapng timestamp of interface `i`. */
  private tsUs(i: number, hi: number, lo: number): number {
    const mode = this.ifMode[i]!;
    const s = this.ifScale[i]!;
    let us: number;
    if (mode === 0) {
      if (s === 1) us = hi * TWO32 + lo;
      else {
        const hq = Math.floor(hi / s);
        const hr = hi - hq * s;
        us = hq * TWO32 + Math.floor((hr * TWO32 + lo) / s);
      }
    } else if (mode === 1) {
      us = (hi * TWO32 + lo) * s;
    } else {
      const n = this.ifShift[i]!;
      if (n <= 32) {
        const lowUnit = 2 ** n; // ticks per second
        const secLo = Math.floor(lo / lowUnit);
        const frac = lo - secLo * lowUnit;
        us = (hi * 2 ** (32 - n) + secLo) * 1e6 + Math.floor((frac * 1e6) / lowUnit);
      } else {
        const hs = 2 ** (n - 32);
        const sec = Math.floor(hi / hs);
        const frac = (hi - sec * hs) * TWO32 + lo;
        us = sec * 1e6 + Math.floor((frac * 1e6) / s);
      }
    }
    return us + this.ifOffsetUs[i]!;
  }

  private packetBlock(b: Uint8Array, off: number, len: number, obsolete: boolean): void {
    const le = this.le;
    const ifid = obsolete
      ? le
        ? b[off + 8]! | (b[off + 9]! << 8)
        : (b[off + 8]! << 8) | b[off + 9]!
      : le
        ? u32le(b, off + 8)
        : u32be(b, off + 8);
    if (len < 32) {
      this.stats.drops.bad_block++;
      return;
    }
    const hi = le ? u32le(b, off + 12) : u32be(b, off + 12);
    const lo = le ? u32le(b, off + 16) : u32be(b, off + 16);
    const caplen = le ? u32le(b, off + 20) : u32be(b, off + 20);
    const wirelen = le ? u32le(b, off + 24) : u32be(b, off + 24);
    if (28 + caplen + 4 > len) {
      this.stats.drops.bad_block++;
      return;
    }
    if (ifid >= this.ifCount) {
      this.stats.packets++;
      this.stats.bytes += wirelen;
      this.stats.drops.unknown_interface++;
      return;
    }
    const ts = this.tsUs(ifid, hi, lo);
    this.lastTsUs = ts;
    const batch = this.batch;
    if (decodeFrame(this.ifLink[ifid]!, b, off + 28, caplen, batch, this.stats, wirelen, this.verify)) {
      batch.tsUs[batch.length - 1] = ts;
      this.emitIfFull();
    }
  }

  private simplePacketBlock(b: Uint8Array, off: number, len: number): void {
    if (len < 16) {
      this.stats.drops.bad_block++;
      return;
    }
    const wirelen = this.le ? u32le(b, off + 8) : u32be(b, off + 8);
    if (this.ifCount === 0) {
      this.stats.packets++;
      this.stats.bytes += wirelen;
      this.stats.drops.unknown_interface++;
      return;
    }
    let caplen = len - 16;
    if (wirelen < caplen) caplen = wirelen;
    const snap = this.ifSnap[0]!;
    if (snap !== 0 && snap < caplen) caplen = snap;
    // SPBs carry no timestamp: use the last timestamp seen in this capture.
    const batch = this.batch;
    if (decodeFrame(this.ifLink[0]!, b, off + 12, caplen, batch, this.stats, wirelen, this.verify)) {
      batch.tsUs[batch.length - 1] = this.lastTsUs;
      this.emitIfFull();
    }
  }
}
