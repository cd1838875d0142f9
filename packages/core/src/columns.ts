/**
 * Columnar batch of TCP headers: the one in-memory shape that the packet parser fills, the wire codec
 * encodes and decodes, and the flow tracker consumes. Every column is a typed-array view over a single
 * (optionally shared) buffer, so a batch crosses threads as one transferable buffer and nothing is
 * allocated per packet.
 */

/** TCP flag bits as carried in `flags` (the nine bits of the TCP header, NS/AE highest). */
export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
export const TCP_NS = 0x100;

/** Bits of `optFlags`: which TCP options were present. */
export const OPT_SACK_PERMITTED = 0x01;
export const OPT_SACK_BLOCKS = 0x02;
export const OPT_TIMESTAMPS = 0x04;
export const OPT_MSS = 0x08;
export const OPT_WSCALE = 0x10;

/** Values of `tunnel`: the outermost encapsulation the header was found inside (0 = none). */
export const TUNNEL_NONE = 0;
export const TUNNEL_GRE = 1;
export const TUNNEL_ERSPAN2 = 2;
export const TUNNEL_ERSPAN3 = 3;
export const TUNNEL_VXLAN = 4;
export const TUNNEL_GENEVE = 5;
export const TUNNEL_GTPU = 6;
export const TUNNEL_TEREDO = 7;
export const TUNNEL_AYIYA = 8;
export const TUNNEL_NAMES = [
  '',
  'gre',
  'erspan2',
  'erspan3',
  'vxlan',
  'geneve',
  'gtpu',
  'teredo',
  'ayiya',
] as const;

/**
 * Values of `cksum`: what checksum verification found. 0 = not verified (segment not wholly captured,
 * TSO length 0, or verification switched off); otherwise CK_VERIFIED, plus CK_BAD_IP / CK_BAD_TCP when
 * the IPv4 header / TCP checksum is wrong, plus CK_OFFLOAD when the wrong value looks like checksum
 * offload on the capturing host (TCP field = the pseudo-header partial sum, or a zero field).
 */
export const CK_VERIFIED = 0x01;
export const CK_BAD_IP = 0x02;
export const CK_BAD_TCP = 0x04;
export const CK_OFFLOAD = 0x08;

/** Bytes of RST payload kept per header (RST packets only; RFC 1122 4.2.2.12). */
export const RST_PAYLOAD_MAX = 64;
/** Bytes per address slot: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
export const ADDR_BYTES = 16;

interface ColumnSpec {
  readonly name: ColumnName;
  readonly ctor:
    | Float64ArrayConstructor
    | Uint32ArrayConstructor
    | Uint16ArrayConstructor
    | Uint8ArrayConstructor;
  readonly width: number;
}

type ColumnName =
  | 'tsUs'
  | 'seq'
  | 'ack'
  | 'tsVal'
  | 'tsEcr'
  | 'ipLen'
  | 'payloadLen'
  | 'srcPort'
  | 'dstPort'
  | 'window'
  | 'flags'
  | 'ipId'
  | 'mss'
  | 'vlan'
  | 'ipVersion'
  | 'ttl'
  | 'wscale'
  | 'optFlags'
  | 'tunnel'
  | 'rstPayloadLen'
  | 'cksum'
  | 'srcAddr'
  | 'dstAddr'
  | 'rstPayload';

/** Column layout, widest element first so every view stays aligned. */
const COLUMNS: readonly ColumnSpec[] = [
  { name: 'tsUs', ctor: Float64Array, width: 1 },
  { name: 'seq', ctor: Uint32Array, width: 1 },
  { name: 'ack', ctor: Uint32Array, width: 1 },
  { name: 'tsVal', ctor: Uint32Array, width: 1 },
  { name: 'tsEcr', ctor: Uint32Array, width: 1 },
  { name: 'ipLen', ctor: Uint32Array, width: 1 },
  { name: 'payloadLen', ctor: Uint32Array, width: 1 },
  { name: 'srcPort', ctor: Uint16Array, width: 1 },
  { name: 'dstPort', ctor: Uint16Array, width: 1 },
  { name: 'window', ctor: Uint16Array, width: 1 },
  { name: 'flags', ctor: Uint16Array, width: 1 },
  { name: 'ipId', ctor: Uint16Array, width: 1 },
  { name: 'mss', ctor: Uint16Array, width: 1 },
  { name: 'vlan', ctor: Uint16Array, width: 1 },
  { name: 'ipVersion', ctor: Uint8Array, width: 1 },
  { name: 'ttl', ctor: Uint8Array, width: 1 },
  { name: 'wscale', ctor: Uint8Array, width: 1 },
  { name: 'optFlags', ctor: Uint8Array, width: 1 },
  { name: 'tunnel', ctor: Uint8Array, width: 1 },
  { name: 'rstPayloadLen', ctor: Uint8Array, width: 1 },
  { name: 'cksum', ctor: Uint8Array, width: 1 },
  { name: 'srcAddr', ctor: Uint8Array, width: ADDR_BYTES },
  { name: 'dstAddr', ctor: Uint8Array, width: ADDR_BYTES },
  { name: 'rstPayload', ctor: Uint8Array, width: RST_PAYLOAD_MAX },
];

/** Bytes one header occupies in a {@link HeaderColumns} buffer. */
export function bytesPerHeader(): number {
  let n = 0;
  for (const c of COLUMNS) n += c.ctor.BYTES_PER_ELEMENT * c.width;
  return n;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8; // not `(n + 7) & ~7`: tables pass 2 GiB (32-bit bit operations)
}

/** Total buffer bytes for a batch of `capacity` headers. */
export function columnsByteLength(capacity: number): number {
  let off = 0;
  for (const c of COLUMNS) off = align8(off + c.ctor.BYTES_PER_ELEMENT * c.width * capacity);
  return off;
}

// Gather helpers: dst[j..] = src[rows[from..to)], one typed-array type each (monomorphic loops).
function g64(d: Float64Array, s: Float64Array, rows: Int32Array, from: number, to: number, j: number): void {
  for (let k = from; k < to; k++) d[j++] = s[rows[k]!]!;
}
function g32(d: Uint32Array, s: Uint32Array, rows: Int32Array, from: number, to: number, j: number): void {
  for (let k = from; k < to; k++) d[j++] = s[rows[k]!]!;
}
function g16(d: Uint16Array, s: Uint16Array, rows: Int32Array, from: number, to: number, j: number): void {
  for (let k = from; k < to; k++) d[j++] = s[rows[k]!]!;
}
function g8(d: Uint8Array, s: Uint8Array, rows: Int32Array, from: number, to: number, j: number): void {
  for (let k = from; k < to; k++) d[j++] = s[rows[k]!]!;
}
function gAddr(d: Uint32Array, s: Uint32Array, rows: Int32Array, from: number, to: number, j: number): void {
  let o = j * 4;
  for (let k = from; k < to; k++) {
    const i = rows[k]! * 4;
    d[o] = s[i]!;
    d[o + 1] = s[i + 1]!;
    d[o + 2] = s[i + 2]!;
    d[o + 3] = s[i + 3]!;
    o += 4;
  }
}

/**
 * A batch of up to `capacity` TCP headers stored column by column. Header `i` is the i-th element of
 * every column; addresses and RST payloads are fixed-width slots (`i * 16`, `i * 64`).
 *
 * Field meanings (all raw, as on the wire):
 * - `tsUs`: capture time, microseconds since the Unix epoch (integer-valued float64).
 * - `ipVersion`: 4 or 6. `srcAddr`/`dstAddr`: 16 bytes each, IPv4 as ::ffff:a.b.c.d.
 * - `flags`: the nine TCP flag bits (see `TCP_*`). `seq`, `ack`, `window` (unscaled), `ttl` (hop limit).
 * - `ipId`: IPv4 identification (0 for IPv6). `ipLen`: IP total length (IPv6: 40 + payload length).
 * - `payloadLen`: TCP payload bytes, computed from the IP length, not the captured length.
 * - `mss`, `wscale`, `tsVal`, `tsEcr`, `optFlags`: TCP option summary (`OPT_*` say which were present).
 * - `vlan`: outermost 802.1Q VLAN id, 0 when untagged. `tunnel`: outer encapsulation (`TUNNEL_*`).
 * - `rstPayload`/`rstPayloadLen`: first bytes (<= 64) of the payload of RST packets only.
 * - `cksum`: checksum verification result (`CK_*` bits; 0 = not verified).
 */
export class HeaderColumns {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly capacity: number;
  /** Number of headers filled. */
  length = 0;

  readonly tsUs!: Float64Array;
  readonly seq!: Uint32Array;
  readonly ack!: Uint32Array;
  readonly tsVal!: Uint32Array;
  readonly tsEcr!: Uint32Array;
  readonly ipLen!: Uint32Array;
  readonly payloadLen!: Uint32Array;
  readonly srcPort!: Uint16Array;
  readonly dstPort!: Uint16Array;
  readonly window!: Uint16Array;
  readonly flags!: Uint16Array;
  readonly ipId!: Uint16Array;
  readonly mss!: Uint16Array;
  readonly vlan!: Uint16Array;
  readonly ipVersion!: Uint8Array;
  readonly ttl!: Uint8Array;
  readonly wscale!: Uint8Array;
  readonly optFlags!: Uint8Array;
  readonly tunnel!: Uint8Array;
  readonly rstPayloadLen!: Uint8Array;
  readonly cksum!: Uint8Array;
  readonly srcAddr!: Uint8Array;
  readonly dstAddr!: Uint8Array;
  readonly rstPayload!: Uint8Array;
  /** The address columns as 32-bit words (host order; 4 per header), for word-wise compares and hashing. */
  readonly srcAddr32: Uint32Array;
  readonly dstAddr32: Uint32Array;

  private constructor(buffer: ArrayBuffer | SharedArrayBuffer, capacity: number, length: number) {
    this.buffer = buffer;
    this.capacity = capacity;
    this.length = length;
    let off = 0;
    const self = this as unknown as Record<ColumnName, unknown>;
    for (const c of COLUMNS) {
      const n = capacity * c.width;
      self[c.name] = new c.ctor(buffer as ArrayBuffer, off, n);
      off = align8(off + c.ctor.BYTES_PER_ELEMENT * n);
    }
    this.srcAddr32 = new Uint32Array(buffer as ArrayBuffer, this.srcAddr.byteOffset, capacity * 4);
    this.dstAddr32 = new Uint32Array(buffer as ArrayBuffer, this.dstAddr.byteOffset, capacity * 4);
  }

  /** A new, empty batch. `shared` backs it with a SharedArrayBuffer. */
  static allocate(capacity: number, shared = false): HeaderColumns {
    if (!Number.isInteger(capacity) || capacity <= 0)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    const bytes = columnsByteLength(capacity);
    const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new HeaderColumns(buf, capacity, 0);
  }

  /** Views over an existing buffer (e.g. one received from another thread). */
  static fromBuffer(
    buffer: ArrayBuffer | SharedArrayBuffer,
    capacity: number,
    length: number,
  ): HeaderColumns {
    if (buffer.byteLength < columnsByteLength(capacity)) {
      throw new RangeError(`buffer of ${buffer.byteLength} bytes is too small for ${capacity} headers`);
    }
    if (length < 0 || length > capacity) throw new RangeError(`length ${length} outside 0..${capacity}`);
    return new HeaderColumns(buffer, capacity, length);
  }

  /** True when no more headers fit. */
  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** Forget all headers (buffers are reused, not cleared, except the RST payload lengths). */
  reset(): void {
    this.length = 0;
  }

  /**
   * Append headers `rows[from..to)` of `src` (in that order) to this batch, column by column: the same
   * result as `copyFrom` per row, with far fewer typed-array switches. The caller ensures there is room.
   */
  gatherFrom(src: HeaderColumns, rows: Int32Array, from: number, to: number): void {
    const j = this.length;
    if (j + (to - from) > this.capacity)
      throw new RangeError(`gatherFrom: ${to - from} headers do not fit (${j} of ${this.capacity} used)`);
    g64(this.tsUs, src.tsUs, rows, from, to, j);
    g32(this.seq, src.seq, rows, from, to, j);
    g32(this.ack, src.ack, rows, from, to, j);
    g32(this.tsVal, src.tsVal, rows, from, to, j);
    g32(this.tsEcr, src.tsEcr, rows, from, to, j);
    g32(this.ipLen, src.ipLen, rows, from, to, j);
    g32(this.payloadLen, src.payloadLen, rows, from, to, j);
    g16(this.srcPort, src.srcPort, rows, from, to, j);
    g16(this.dstPort, src.dstPort, rows, from, to, j);
    g16(this.window, src.window, rows, from, to, j);
    g16(this.flags, src.flags, rows, from, to, j);
    g16(this.ipId, src.ipId, rows, from, to, j);
    g16(this.mss, src.mss, rows, from, to, j);
    g16(this.vlan, src.vlan, rows, from, to, j);
    g8(this.ipVersion, src.ipVersion, rows, from, to, j);
    g8(this.ttl, src.ttl, rows, from, to, j);
    g8(this.wscale, src.wscale, rows, from, to, j);
    g8(this.optFlags, src.optFlags, rows, from, to, j);
    g8(this.tunnel, src.tunnel, rows, from, to, j);
    g8(this.rstPayloadLen, src.rstPayloadLen, rows, from, to, j);
    g8(this.cksum, src.cksum, rows, from, to, j);
    gAddr(this.srcAddr32, src.srcAddr32, rows, from, to, j);
    gAddr(this.dstAddr32, src.dstAddr32, rows, from, to, j);
    // RST payloads: only the (rare) headers that carry one.
    const spl = src.rstPayloadLen;
    let jj = j;
    for (let k = from; k < to; k++, jj++) {
      const i = rows[k]!;
      const pl = spl[i]!;
      if (pl > 0) {
        const po = i * RST_PAYLOAD_MAX;
        this.rstPayload.set(src.rstPayload.subarray(po, po + pl), jj * RST_PAYLOAD_MAX);
      }
    }
    this.length = j + (to - from);
  }

  /**
   * Append headers [from, to) of `src` in order: `gatherFrom` with the identity order, one block copy per
   * column instead of an element loop (a batch joined behind carried headers is copied whole).
   */
  appendRange(src: HeaderColumns, from: number, to: number): void {
    const j = this.length;
    const n = to - from;
    if (j + n > this.capacity)
      throw new RangeError(`appendRange: ${n} headers do not fit (${j} of ${this.capacity} used)`);
    const cp = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(d: T, s: T, w = 1) =>
      d.set(s.subarray(from * w, to * w), j * w);
    cp(this.tsUs, src.tsUs);
    cp(this.seq, src.seq);
    cp(this.ack, src.ack);
    cp(this.tsVal, src.tsVal);
    cp(this.tsEcr, src.tsEcr);
    cp(this.ipLen, src.ipLen);
    cp(this.payloadLen, src.payloadLen);
    cp(this.srcPort, src.srcPort);
    cp(this.dstPort, src.dstPort);
    cp(this.window, src.window);
    cp(this.flags, src.flags);
    cp(this.ipId, src.ipId);
    cp(this.mss, src.mss);
    cp(this.vlan, src.vlan);
    cp(this.ipVersion, src.ipVersion);
    cp(this.ttl, src.ttl);
    cp(this.wscale, src.wscale);
    cp(this.optFlags, src.optFlags);
    cp(this.tunnel, src.tunnel);
    cp(this.rstPayloadLen, src.rstPayloadLen);
    cp(this.cksum, src.cksum);
    cp(this.srcAddr32, src.srcAddr32, 4);
    cp(this.dstAddr32, src.dstAddr32, 4);
    // RST payloads: only the (rare) headers that carry one.
    const spl = src.rstPayloadLen;
    for (let k = from; k < to; k++) {
      const pl = spl[k]!;
      if (pl > 0) {
        const po = k * RST_PAYLOAD_MAX;
        this.rstPayload.set(src.rstPayload.subarray(po, po + pl), (j + k - from) * RST_PAYLOAD_MAX);
      }
    }
    this.length = j + n;
  }

  /** Copy header `i` of `src` to the end of this batch. Returns false when full. */
  copyFrom(src: HeaderColumns, i: number): boolean {
    if (this.length >= this.capacity) return false;
    const j = this.length++;
    this.tsUs[j] = src.tsUs[i]!;
    this.seq[j] = src.seq[i]!;
    this.ack[j] = src.ack[i]!;
    this.tsVal[j] = src.tsVal[i]!;
    this.tsEcr[j] = src.tsEcr[i]!;
    this.ipLen[j] = src.ipLen[i]!;
    this.payloadLen[j] = src.payloadLen[i]!;
    this.srcPort[j] = src.srcPort[i]!;
    this.dstPort[j] = src.dstPort[i]!;
    this.window[j] = src.window[i]!;
    this.flags[j] = src.flags[i]!;
    this.ipId[j] = src.ipId[i]!;
    this.mss[j] = src.mss[i]!;
    this.vlan[j] = src.vlan[i]!;
    this.ipVersion[j] = src.ipVersion[i]!;
    this.ttl[j] = src.ttl[i]!;
    this.wscale[j] = src.wscale[i]!;
    this.optFlags[j] = src.optFlags[i]!;
    this.tunnel[j] = src.tunnel[i]!;
    this.cksum[j] = src.cksum[i]!;
    const pl = src.rstPayloadLen[i]!;
    this.rstPayloadLen[j] = pl;
    // Addresses as four 32-bit words each.
    const sa = src.srcAddr32;
    const da = src.dstAddr32;
    const dsa = this.srcAddr32;
    const dda = this.dstAddr32;
    const so = i * 4;
    const jo = j * 4;
    dsa[jo] = sa[so]!;
    dsa[jo + 1] = sa[so + 1]!;
    dsa[jo + 2] = sa[so + 2]!;
    dsa[jo + 3] = sa[so + 3]!;
    dda[jo] = da[so]!;
    dda[jo + 1] = da[so + 1]!;
    dda[jo + 2] = da[so + 2]!;
    dda[jo + 3] = da[so + 3]!;
    const sp = src.rstPayload;
    const po = i * RST_PAYLOAD_MAX;
    const jp = j * RST_PAYLOAD_MAX;
    for (let k = 0; k < pl; k++) this.rstPayload[jp + k] = sp[po + k]!;
    return true;
  }
}
