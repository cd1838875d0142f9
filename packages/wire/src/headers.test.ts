import { fileURLToPath } from 'node:url';
import {
  ADDR_BYTES,
  CK_BAD_IP,
  CK_BAD_TCP,
  CK_OFFLOAD,
  CK_VERIFIED,
  HeaderColumns,
  isV4Mapped,
  OPT_MSS,
  OPT_SACK_BLOCKS,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  parseAddr,
  RST_PAYLOAD_MAX,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  TUNNEL_GENEVE,
  TUNNEL_VXLAN,
} from '@rstwatch/core';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { rstwatch } from '#generated';
import { decodeHeaderBatch, encodeHeaderBatch, MAX_BATCH_HEADERS, WireError } from './index.js';

const PROTO = fileURLToPath(new URL('../../../proto/rstwatch/v1/headers.proto', import.meta.url));
const META = { sensorId: 'sensor-a', batchSeq: 42n };
const T0 = 1_763_700_000_000_000;

interface Hdr {
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  ttl?: number;
  ipId?: number;
  ipLen?: number;
  payloadLen?: number;
  opt?: number;
  mss?: number;
  wscale?: number;
  tsVal?: number;
  tsEcr?: number;
  vlan?: number;
  tunnel?: number;
  cksum?: number;
  rst?: number[];
}

function batchOf(hs: Hdr[], capacity = Math.max(hs.length, 1)): HeaderColumns {
  const c = HeaderColumns.allocate(capacity);
  for (const h of hs) {
    const i = c.length++;
    c.tsUs[i] = h.ts;
    c.ipVersion[i] = h.src.includes(':') ? 6 : 4;
    parseAddr(h.src, c.srcAddr, i * ADDR_BYTES);
    parseAddr(h.dst, c.dstAddr, i * ADDR_BYTES);
    c.srcPort[i] = h.sport;
    c.dstPort[i] = h.dport;
    c.flags[i] = h.flags;
    c.seq[i] = h.seq ?? 0;
    c.ack[i] = h.ack ?? 0;
    c.window[i] = h.window ?? 0;
    c.ttl[i] = h.ttl ?? 64;
    c.ipId[i] = h.ipId ?? 0;
    c.ipLen[i] = h.ipLen ?? 40;
    c.payloadLen[i] = h.payloadLen ?? 0;
    c.optFlags[i] = h.opt ?? 0;
    c.mss[i] = h.mss ?? 0;
    c.wscale[i] = h.wscale ?? 0;
    c.tsVal[i] = h.tsVal ?? 0;
    c.tsEcr[i] = h.tsEcr ?? 0;
    c.vlan[i] = h.vlan ?? 0;
    c.tunnel[i] = h.tunnel ?? 0;
    c.cksum[i] = h.cksum ?? 0;
    const p = h.rst ?? [];
    c.rstPayloadLen[i] = p.length;
    c.rstPayload.set(p, i * RST_PAYLOAD_MAX);
  }
  return c;
}

const SCALARS = [
  'tsUs',
  'ipVersion',
  'srcPort',
  'dstPort',
  'flags',
  'seq',
  'ack',
  'window',
  'ttl',
  'ipId',
  'ipLen',
  'payloadLen',
  'optFlags',
  'mss',
  'wscale',
  'tsVal',
  'tsEcr',
  'vlan',
  'tunnel',
  'cksum',
  'rstPayloadLen',
] as const;

/** Header i of a batch as a plain object (test-side only), RST payload cut to its length. */
function row(c: HeaderColumns, i: number): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const k of SCALARS) r[k] = c[k][i];
  r.srcAddr = [...c.srcAddr.subarray(i * ADDR_BYTES, (i + 1) * ADDR_BYTES)];
  r.dstAddr = [...c.dstAddr.subarray(i * ADDR_BYTES, (i + 1) * ADDR_BYTES)];
  r.rstPayload = [...c.rstPayload.subarray(i * RST_PAYLOAD_MAX, i * RST_PAYLOAD_MAX + c.rstPayloadLen[i]!)];
  return r;
}

function rows(c: HeaderColumns, start = 0, end = c.length): Record<string, unknown>[] {
  const out = [];
  for (let i = start; i < end; i++) out.push(row(c, i));
  return out;
}

const payload64 = Array.from({ length: 64 }, (_, k) => (k * 37 + 1) & 0xff);

/** A batch exercising every field: IPv4 and IPv6, all flag bits, seq/ack near 2^32, options, RSTs. */
function richBatch(): HeaderColumns {
  return batchOf([
    {
      ts: T0 + 5,
      src: '198.18.0.1',
      dst: '198.18.0.2',
      sport: 40000,
      dport: 443,
      flags: TCP_SYN,
      seq: 0xfffffffe,
      window: 64240,
      ttl: 64,
      ipId: 0xbeef,
      ipLen: 60,
      opt: OPT_MSS | OPT_WSCALE | OPT_SACK_PERMITTED | OPT_TIMESTAMPS,
      mss: 1460,
      wscale: 7,
      tsVal: 0xffffffff,
      tsEcr: 0,
      cksum: CK_VERIFIED,
    },
    {
      ts: T0,
      src: '2001:db8::2',
      dst: '2001:db8::1',
      sport: 443,
      dport: 40000,
      flags: TCP_SYN | TCP_ACK,
      seq: 0xffffffff,
      ack: 0xffffffff,
      window: 65535,
      ttl: 255,
      ipLen: 80,
      opt: OPT_MSS | OPT_TIMESTAMPS,
      mss: 1440,
      tsVal: 123456789,
      tsEcr: 0xfffffffe,
      vlan: 4094,
    },
    {
      ts: T0 + 1000,
      src: '198.18.0.1',
      dst: '198.18.0.2',
      sport: 40000,
      dport: 443,
      flags: 0x1ff, // all nine bits, RST among them
      seq: 0x80000000,
      ack: 1,
      window: 0,
      ttl: 1,
      ipId: 65535,
      ipLen: 65535,
      payloadLen: 65495,
      opt: OPT_SACK_BLOCKS,
      vlan: 1,
      tunnel: TUNNEL_VXLAN,
      cksum: CK_VERIFIED | CK_BAD_IP | CK_BAD_TCP,
      rst: payload64,
    },
    {
      ts: T0 + 1001,
      src: '10.0.0.1',
      dst: '10.0.0.2',
      sport: 1,
      dport: 65535,
      flags: TCP_RST,
      cksum: CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD,
      rst: [],
    },
    {
      ts: T0 + 2002,
      src: 'fe80::1',
      dst: '::ffff:10.0.0.9', // an IPv6 packet whose address happens to look IPv4-mapped
      sport: 65535,
      dport: 1,
      flags: TCP_RST | TCP_ACK,
      seq: 12345,
      ack: 0x100000000 - 1,
      tunnel: TUNNEL_GENEVE,
      rst: [0x41],
    },
    { ts: T0 + 3003, src: '0.0.0.0', dst: '255.255.255.255', sport: 0, dport: 0, flags: 0 },
  ]);
}

function expectWireError(fn: () => unknown, reason?: string): WireError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WireError);
  if (reason !== undefined) expect((err as WireError).reason).toBe(reason);
  return err as WireError;
}

describe('HeaderBatch round trip', () => {
  it('keeps every field of every header (IPv4, IPv6, all flags, seq near 2^32, options, RST payloads)', () => {
    const c = richBatch();
    const bytes = encodeHeaderBatch(META, c);
    const { meta, columns } = decodeHeaderBatch(bytes);
    expect(meta).toEqual({ sensorId: 'sensor-a', batchSeq: 42n, baseTsUs: T0, count: 6 });
    expect(columns.length).toBe(6);
    expect(rows(columns)).toEqual(rows(c));
    // Spot checks that the comparison above is not vacuous.
    expect(columns.seq[1]).toBe(0xffffffff);
    expect(columns.flags[2]).toBe(0x1ff);
    expect(columns.rstPayloadLen[2]).toBe(64);
    expect([...columns.rstPayload.subarray(2 * 64, 3 * 64)]).toEqual(payload64);
    expect(columns.rstPayloadLen[4]).toBe(1);
    expect(isV4Mapped(columns.srcAddr, 0)).toBe(true);
    expect(isV4Mapped(columns.dstAddr, 4 * ADDR_BYTES)).toBe(true);
    expect(columns.ipVersion[4]).toBe(6);
    expect([...columns.cksum.subarray(0, 6)]).toEqual([1, 0, 7, 13, 0, 0]);
  });

  it('sends cksum only when some header was verified; a batch without it decodes as not verified', () => {
    const c = richBatch();
    const withCk = encodeHeaderBatch(META, c);
    c.cksum.fill(0);
    const without = encodeHeaderBatch(META, c);
    // A two-byte tag (field 29), one length byte, six elements.
    expect(withCk.length - without.length).toBe(9);
    expect(rstwatch.v1.HeaderBatch.decode(without).cksum.length).toBe(0);
    // A batch from an older agent (no field 29) into a reused batch holding stale results: all 0.
    const out = decodeHeaderBatch(withCk, HeaderColumns.allocate(8)).columns;
    expect(out.cksum[2]).toBe(7);
    decodeHeaderBatch(without, out);
    expect([...out.cksum.subarray(0, 6)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(rows(out)).toEqual(rows(c));
    // A sub-range carries its own slice of the column, or none when nothing in it was verified.
    const r = richBatch();
    expect([...decodeHeaderBatch(encodeHeaderBatch(META, r, 2, 4)).columns.cksum.subarray(0, 2)]).toEqual([
      7, 13,
    ]);
    expect(rstwatch.v1.HeaderBatch.decode(encodeHeaderBatch(META, r, 4, 6)).cksum.length).toBe(0);
  });

  it('sends RST payloads for RST headers only', () => {
    const c = batchOf([
      { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_ACK, rst: [1, 2, 3] },
      { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_RST, rst: [4, 5] },
    ]);
    const withoutStray = encodeHeaderBatch(
      META,
      batchOf([
        { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_ACK },
        { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_RST, rst: [4, 5] },
      ]),
    );
    const bytes = encodeHeaderBatch(META, c);
    expect(Buffer.from(bytes).equals(Buffer.from(withoutStray))).toBe(true);
    const d = decodeHeaderBatch(bytes).columns;
    expect([d.rstPayloadLen[0], d.rstPayloadLen[1]]).toEqual([0, 2]);
    expect([...d.rstPayload.subarray(64, 66)]).toEqual([4, 5]);
  });

  it('encodes a sub-range, with base_ts_us the earliest timestamp of the range', () => {
    const c = richBatch();
    const { meta, columns } = decodeHeaderBatch(encodeHeaderBatch(META, c, 2, 5));
    expect(meta.count).toBe(3);
    expect(meta.baseTsUs).toBe(T0 + 1000);
    expect(rows(columns)).toEqual(rows(c, 2, 5));
    const empty = decodeHeaderBatch(encodeHeaderBatch(META, c, 3, 3));
    expect(empty.meta).toEqual({ sensorId: 'sensor-a', batchSeq: 42n, baseTsUs: 0, count: 0 });
    expect(empty.columns.length).toBe(0);
  });

  it('rejects a range outside the batch', () => {
    const c = richBatch();
    expectWireError(() => encodeHeaderBatch(META, c, 4, 3), 'bad_count');
    expectWireError(() => encodeHeaderBatch(META, c, 0, 7), 'bad_count');
    expectWireError(() => encodeHeaderBatch(META, c, -1, 2), 'bad_count');
    expectWireError(() => encodeHeaderBatch(META, c, 0.5, 2), 'bad_count');
  });

  it('switches to 64-bit timestamp deltas when the batch spans 2^32 us or more, and back', () => {
    const span = 2 ** 32;
    for (const [last, wide] of [
      [T0 + span - 1, false],
      [T0 + span, true],
      [T0 + 10 * span + 7, true],
    ] as const) {
      const c = batchOf([
        { ts: last, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_ACK },
        { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: TCP_ACK },
      ]);
      const bytes = encodeHeaderBatch(META, c);
      const m = rstwatch.v1.HeaderBatch.decode(bytes);
      expect(m.tsDeltaUsWide.length).toBe(wide ? 16 : 0);
      expect(m.tsDeltaUs.length).toBe(wide ? 0 : 8);
      const d = decodeHeaderBatch(bytes).columns;
      expect([d.tsUs[0], d.tsUs[1]]).toEqual([last, T0]);
    }
  });

  it('carries uint64 batch sequence numbers up to 2^64 - 1 and timestamps up to 2^53 - 2^32', () => {
    for (const batchSeq of [0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const c = batchOf([{ ts: 0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0 }]);
      expect(decodeHeaderBatch(encodeHeaderBatch({ sensorId: 's', batchSeq }, c)).meta.batchSeq).toBe(
        batchSeq,
      );
    }
    const late = Number.MAX_SAFE_INTEGER - 2 ** 32 + 1;
    const c = batchOf([{ ts: late, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0 }]);
    expect(decodeHeaderBatch(encodeHeaderBatch(META, c)).columns.tsUs[0]).toBe(late);
  });

  it('returns a Buffer that owns its memory (transferable), even for a tiny batch', () => {
    const bytes = encodeHeaderBatch(META, richBatch(), 0, 1);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
  });

  it('decodes from a Node Buffer slice at an odd offset (as a Kafka client hands it over)', () => {
    const bytes = encodeHeaderBatch(META, richBatch());
    const big = Buffer.alloc(bytes.length + 11);
    big.set(bytes, 7);
    const { columns } = decodeHeaderBatch(big.subarray(7, 7 + bytes.length));
    expect(rows(columns)).toEqual(rows(richBatch()));
  });

  it('ignores fields it does not know (additive evolution) and masks flag bits above the ninth', () => {
    const c = richBatch();
    const m = rstwatch.v1.HeaderBatch.decode(encodeHeaderBatch(META, c));
    const flags = Uint8Array.from(m.flags);
    flags[1] = 0xfe; // header 0: 0xfe02 -> 0x002
    m.flags = flags;
    const w = rstwatch.v1.HeaderBatch.encode(m);
    w.uint32((99 << 3) | 2).bytes(new Uint8Array([1, 2, 3])); // unknown field 99
    w.uint32((100 << 3) | 0).uint32(7); // unknown varint field 100
    const d = decodeHeaderBatch(w.finish()).columns;
    expect(d.flags[0]).toBe(TCP_SYN);
    expect(rows(d, 1)).toEqual(rows(c, 1));
  });
});

describe('HeaderBatch decode into a reused batch', () => {
  it('reuses `out` when it is big enough, overwriting stale contents', () => {
    const out = HeaderColumns.allocate(16);
    // Stale data in out: payloads and a mapped prefix that must not survive.
    out.rstPayloadLen.fill(9);
    out.srcAddr.fill(0xaa);
    const c = richBatch();
    const r = decodeHeaderBatch(encodeHeaderBatch(META, c), out);
    expect(r.columns).toBe(out);
    expect(out.length).toBe(6);
    expect(rows(out)).toEqual(rows(c));
    const r2 = decodeHeaderBatch(encodeHeaderBatch(META, c, 0, 2), out);
    expect(r2.columns).toBe(out);
    expect(out.length).toBe(2);
    expect(rows(out)).toEqual(rows(c, 0, 2));
  });

  it('allocates a new batch when `out` is too small, keeping it shared if `out` was', () => {
    const c = richBatch();
    const small = HeaderColumns.allocate(2, true);
    const before = Buffer.from(new Uint8Array(small.buffer)).toString('hex');
    const r = decodeHeaderBatch(encodeHeaderBatch(META, c), small);
    expect(r.columns).not.toBe(small);
    expect(r.columns.capacity).toBeGreaterThanOrEqual(6);
    expect(r.columns.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(rows(r.columns)).toEqual(rows(c));
    expect(Buffer.from(new Uint8Array(small.buffer)).toString('hex')).toBe(before);
    expect(small.length).toBe(0);
  });

  it('leaves `out` untouched when the message is invalid', () => {
    const out = decodeHeaderBatch(encodeHeaderBatch(META, richBatch()), HeaderColumns.allocate(8)).columns;
    const before = Buffer.from(new Uint8Array(out.buffer)).toString('hex');
    const m = rstwatch.v1.HeaderBatch.decode(encodeHeaderBatch(META, richBatch()));
    m.dstAddr = m.dstAddr.subarray(1);
    expectWireError(
      () => decodeHeaderBatch(rstwatch.v1.HeaderBatch.encode(m).finish(), out),
      'bad_column_length',
    );
    expect(Buffer.from(new Uint8Array(out.buffer)).toString('hex')).toBe(before);
    expect(out.length).toBe(6);
  });
});

describe('HeaderBatch encoder input checks', () => {
  const one = (h: Partial<Hdr>) =>
    batchOf([{ ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0, ...h }]);
  it('rejects what it cannot represent', () => {
    const v5 = one({});
    v5.ipVersion[0] = 5;
    expectWireError(() => encodeHeaderBatch(META, v5), 'bad_ip_version');
    const longRst = one({ flags: TCP_RST });
    longRst.rstPayloadLen[0] = 65;
    expectWireError(() => encodeHeaderBatch(META, longRst), 'bad_rst_payload');
    for (const ts of [Number.NaN, -1, 1.5, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expectWireError(() => encodeHeaderBatch(META, one({ ts })), 'bad_timestamp');
    }
    expectWireError(() => encodeHeaderBatch({ sensorId: '', batchSeq: 1n }, one({})), 'missing_field');
    expectWireError(() => encodeHeaderBatch({ sensorId: 's', batchSeq: -1n }, one({})), 'bad_value');
    expectWireError(() => encodeHeaderBatch({ sensorId: 's', batchSeq: 2n ** 64n }, one({})), 'bad_value');
  });
  it('rejects more than MAX_BATCH_HEADERS headers', () => {
    const big = HeaderColumns.allocate(MAX_BATCH_HEADERS + 1);
    big.length = MAX_BATCH_HEADERS + 1;
    expectWireError(() => encodeHeaderBatch(META, big), 'too_large');
  });
});

describe('HeaderBatch decoder on bad input', () => {
  const valid = () => rstwatch.v1.HeaderBatch.decode(encodeHeaderBatch(META, richBatch()));
  const enc = (m: rstwatch.v1.HeaderBatch.$Properties) => rstwatch.v1.HeaderBatch.encode(m).finish();

  it('rejects an oversized count before allocating anything', () => {
    expectWireError(
      () => decodeHeaderBatch(enc({ sensorId: 's', count: MAX_BATCH_HEADERS + 1 })),
      'too_large',
    );
    expectWireError(() => decodeHeaderBatch(enc({ sensorId: 's', count: 0xffffffff })), 'too_large');
    // Within the cap but without the columns to back it: rejected by length, not allocated.
    expectWireError(
      () => decodeHeaderBatch(enc({ sensorId: 's', count: MAX_BATCH_HEADERS })),
      'bad_column_length',
    );
  });

  it('names what is inconsistent', () => {
    const cases: [string, (m: rstwatch.v1.HeaderBatch) => void][] = [
      ['bad_column_length', (m) => (m.seq = m.seq.subarray(4))],
      ['bad_column_length', (m) => (m.count = 5)],
      ['bad_column_length', (m) => (m.tsDeltaUsWide = new Uint8Array(48))], // both timestamp columns
      ['bad_column_length', (m) => (m.tsDeltaUs = new Uint8Array(0))],
      ['bad_column_length', (m) => (m.srcAddr = Uint8Array.from([...m.srcAddr, 1, 2, 3, 4]))],
      ['bad_column_length', (m) => (m.rstPayloadLen = m.rstPayloadLen.subarray(1))],
      ['bad_column_length', (m) => (m.rstPayload = m.rstPayload.subarray(1))],
      ['bad_column_length', (m) => (m.cksum = m.cksum.subarray(1))],
      ['bad_column_length', (m) => (m.cksum = Uint8Array.from([...m.cksum, 1]))],
      ['bad_rst_payload', (m) => (m.rstPayloadLen = Uint8Array.from([65, 0, 0]))],
      ['bad_ip_version', (m) => (m.ipVersion = Uint8Array.from([4, 6, 4, 4, 5, 4]))],
      ['missing_field', (m) => (m.sensorId = '')],
      ['truncated', (m) => (m.count = null)],
      ['bad_timestamp', (m) => (m.baseTsUs = Number.MAX_SAFE_INTEGER)],
      ['bad_timestamp', (m) => (m.baseTsUs = { low: 0, high: 0x200000, unsigned: true })],
    ];
    for (const [reason, mutate] of cases) {
      const m = valid();
      mutate(m);
      expectWireError(() => decodeHeaderBatch(enc(m)), reason);
    }
  });

  it('rejects a 64-bit timestamp delta that overflows 2^53', () => {
    const c = batchOf([
      { ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0 },
      { ts: T0 + 2 ** 33, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0 },
    ]);
    const m = rstwatch.v1.HeaderBatch.decode(encodeHeaderBatch(META, c));
    const wide = Uint8Array.from(m.tsDeltaUsWide);
    wide[15] = 0xff;
    m.tsDeltaUsWide = wide;
    expectWireError(() => decodeHeaderBatch(enc(m)), 'bad_timestamp');
  });

  it('rejects every strict prefix of a message (a cut-short message never decodes as a smaller batch)', () => {
    for (const bytes of [encodeHeaderBatch(META, richBatch()), encodeHeaderBatch(META, richBatch(), 0, 0)]) {
      for (let len = 0; len < bytes.length; len++) {
        const err = expectWireError(() => decodeHeaderBatch(bytes.subarray(0, len)));
        expect(['truncated', 'bad_column_length', 'missing_field']).toContain(err.reason);
      }
    }
  });

  it('never throws anything but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          const { meta, columns } = decodeHeaderBatch(bytes);
          expect(meta.count).toBe(columns.length);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws anything but WireError on mutated valid messages, and what decodes is well formed', () => {
    const base = encodeHeaderBatch(META, richBatch());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(base.length),
        (edits, cut) => {
          const bytes = Uint8Array.from(base);
          for (const [pos, v] of edits) bytes[pos] = v;
          try {
            const { columns: c } = decodeHeaderBatch(bytes.subarray(0, cut));
            expect(c.length).toBeLessThanOrEqual(MAX_BATCH_HEADERS);
            for (let i = 0; i < c.length; i++) {
              expect([4, 6]).toContain(c.ipVersion[i]);
              expect(c.flags[i]).toBeLessThanOrEqual(0x1ff);
              expect(c.rstPayloadLen[i]).toBeLessThanOrEqual(64);
              if ((c.flags[i]! & TCP_RST) === 0) expect(c.rstPayloadLen[i]).toBe(0);
              if (c.ipVersion[i] === 4) expect(isV4Mapped(c.srcAddr, i * ADDR_BYTES)).toBe(true);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(WireError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** fast-check arbitrary for one valid header. */
const arbHeader = fc.record({
  ts: fc.integer({ min: 0, max: 2 ** 40 }),
  v6: fc.boolean(),
  src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  sport: fc.integer({ min: 0, max: 0xffff }),
  dport: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0x1ff }),
  u32: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 6, maxLength: 6 }),
  u16: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
  u8: fc.array(fc.integer({ min: 0, max: 0xff }), { minLength: 5, maxLength: 5 }),
  rst: fc.uint8Array({ maxLength: 64 }),
});

describe('HeaderBatch property: any valid batch round-trips', () => {
  it('holds for random batches and random sub-ranges', () => {
    fc.assert(
      fc.property(fc.array(arbHeader, { maxLength: 40 }), fc.nat(), fc.nat(), (hs, a, b) => {
        const c = HeaderColumns.allocate(Math.max(hs.length, 1));
        hs.forEach((h, i) => {
          c.tsUs[i] = h.ts;
          c.ipVersion[i] = h.v6 ? 6 : 4;
          c.srcAddr.set(h.src, i * 16);
          c.dstAddr.set(h.dst, i * 16);
          if (!h.v6) {
            parseAddr(`${h.src[0]}.${h.src[1]}.${h.src[2]}.${h.src[3]}`, c.srcAddr, i * 16);
            parseAddr(`${h.dst[0]}.${h.dst[1]}.${h.dst[2]}.${h.dst[3]}`, c.dstAddr, i * 16);
          }
          c.srcPort[i] = h.sport;
          c.dstPort[i] = h.dport;
          c.flags[i] = h.flags;
          [c.seq[i], c.ack[i], c.ipLen[i], c.payloadLen[i], c.tsVal[i], c.tsEcr[i]] = h.u32;
          [c.window[i], c.ipId[i], c.mss[i], c.vlan[i]] = h.u16;
          [c.ttl[i], c.wscale[i], c.optFlags[i], c.tunnel[i], c.cksum[i]] = h.u8;
          const rl = h.flags & TCP_RST ? h.rst.length : 0;
          c.rstPayloadLen[i] = rl;
          c.rstPayload.set(h.rst.subarray(0, rl), i * 64);
        });
        c.length = hs.length;
        const start = hs.length ? a % (hs.length + 1) : 0;
        const end = start + (hs.length ? b % (hs.length - start + 1) : 0);
        const { meta, columns } = decodeHeaderBatch(encodeHeaderBatch(META, c, start, end));
        expect(meta.count).toBe(end - start);
        expect(rows(columns)).toEqual(rows(c, start, end));
      }),
      { numRuns: 500 },
    );
  });
});

describe('HeaderBatch is plain protobuf', () => {
  const root = protobuf.loadSync(PROTO);
  const Type = root.lookupType('rstwatch.v1.HeaderBatch');

  /** Little-endian column from the reflection-decoded message as numbers. */
  function le(bytes: Uint8Array, width: number): number[] {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = [];
    for (let o = 0; o < bytes.length; o += width) {
      out.push(width === 1 ? dv.getUint8(o) : width === 2 ? dv.getUint16(o, true) : dv.getUint32(o, true));
    }
    return out;
  }

  it('decodes with protobufjs reflection from the .proto to the same values', () => {
    const c = richBatch();
    const o = Type.toObject(Type.decode(encodeHeaderBatch(META, c)), {
      longs: String,
      defaults: false,
    }) as Record<
      string,
      // biome-ignore lint/suspicious/noExplicitAny: reflection output is untyped
      any
    >;
    expect(o.sensorId).toBe('sensor-a');
    expect(o.batchSeq).toBe('42');
    expect(o.baseTsUs).toBe(String(T0));
    expect(o.count).toBe(6);
    expect(le(o.tsDeltaUs, 4).map((d) => T0 + d)).toEqual([...c.tsUs.subarray(0, 6)]);
    const widths: Record<string, number> = {
      ipVersion: 1,
      srcPort: 2,
      dstPort: 2,
      flags: 2,
      seq: 4,
      ack: 4,
      window: 2,
      ttl: 1,
      ipId: 2,
      ipLen: 4,
      payloadLen: 4,
      optFlags: 1,
      mss: 2,
      wscale: 1,
      tsVal: 4,
      tsEcr: 4,
      vlan: 2,
      tunnel: 1,
      cksum: 1,
    };
    for (const [k, w] of Object.entries(widths)) {
      expect(le(o[k], w), k).toEqual([...(c[k as keyof HeaderColumns] as Uint32Array).subarray(0, 6)]);
    }
    // Addresses: 4 bytes for IPv4 headers, 16 for IPv6, in order.
    const expectAddrs = (col: Uint8Array) =>
      [0, 1, 2, 3, 4, 5].flatMap((i) =>
        c.ipVersion[i] === 4
          ? [...col.subarray(i * 16 + 12, i * 16 + 16)]
          : [...col.subarray(i * 16, i * 16 + 16)],
      );
    expect([...o.srcAddr]).toEqual(expectAddrs(c.srcAddr));
    expect([...o.dstAddr]).toEqual(expectAddrs(c.dstAddr));
    expect([...o.rstPayloadLen]).toEqual([64, 0, 1]);
    expect([...o.rstPayload]).toEqual([...payload64, 0x41]);
    // Every field of the .proto is accounted for: all populated here but the wide timestamps.
    const unset = Type.fieldsArray.map((f) => f.name).filter((n) => o[n] === undefined);
    expect(unset).toEqual(['tsDeltaUsWide']);
  });

  it('accepts a message built by protobufjs reflection from plain values', () => {
    const msg = Type.fromObject({
      sensorId: 'java-sensor',
      batchSeq: '18446744073709551615',
      baseTsUs: T0,
      count: 1,
      tsDeltaUs: [7, 0, 0, 0],
      ipVersion: [4],
      srcAddr: [192, 0, 2, 1],
      dstAddr: [192, 0, 2, 2],
      srcPort: [0x50, 0],
      dstPort: [0xbb, 0x01],
      flags: [0x14, 0],
      seq: [1, 0, 0, 0],
      ack: [2, 0, 0, 0],
      window: [0, 1],
      ttl: [63],
      ipId: [1, 2],
      ipLen: [40, 0, 0, 0],
      payloadLen: [0, 0, 0, 0],
      optFlags: [0],
      mss: [0, 0],
      wscale: [0],
      tsVal: [0, 0, 0, 0],
      tsEcr: [0, 0, 0, 0],
      vlan: [10, 0],
      tunnel: [0],
      rstPayloadLen: [2],
      rstPayload: [104, 105],
    });
    const { meta, columns: c } = decodeHeaderBatch(Type.encode(msg).finish());
    expect(meta).toEqual({ sensorId: 'java-sensor', batchSeq: 2n ** 64n - 1n, baseTsUs: T0, count: 1 });
    expect(row(c, 0)).toMatchObject({
      tsUs: T0 + 7,
      ipVersion: 4,
      srcPort: 80,
      dstPort: 443,
      flags: 0x14,
      seq: 1,
      ack: 2,
      window: 256,
      ttl: 63,
      ipId: 0x0201,
      ipLen: 40,
      vlan: 10,
      rstPayloadLen: 2,
      rstPayload: [104, 105],
    });
    expect(row(c, 0).srcAddr).toEqual([...parseAddr('192.0.2.1')]);
  });
});
