import { HeaderColumns, TCP_ACK, TCP_RST } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { packetDrops } from '../stats.js';
import { ethernet, ipv4, PcapngBuilder, pcapFile, sampleTcpFrame, tcp, udp } from '../testing.js';
import { CaptureParser } from './reader.js';

interface Row {
  tsUs: number;
  seq: number;
  sport: number;
}

/** Parse `bytes` pushed in chunks of `chunk` bytes (or the given split points). */
function parse(bytes: Uint8Array, chunk: number | number[] = bytes.length, batchSize = 3) {
  const rows: Row[] = [];
  const sizes: number[] = [];
  const p = new CaptureParser({
    batchSize,
    onBatch: (b) => {
      sizes.push(b.length);
      for (let i = 0; i < b.length; i++)
        rows.push({ tsUs: b.tsUs[i]!, seq: b.seq[i]!, sport: b.srcPort[i]! });
    },
  });
  if (Array.isArray(chunk)) {
    let prev = 0;
    for (const c of [...chunk, bytes.length]) {
      p.push(bytes.subarray(prev, c));
      prev = c;
    }
  } else {
    for (let o = 0; o < bytes.length; o += chunk)
      p.push(bytes.subarray(o, Math.min(o + chunk, bytes.length)));
  }
  p.end();
  const s = p.stats;
  expect(s.packets).toBe(s.tcp + s.notTcp + packetDrops(s));
  expect(rows.length).toBe(s.tcp);
  return { rows, sizes, stats: s, parser: p };
}

const T0 = 1_700_000_000_000_000;
const frames = Array.from({ length: 7 }, (_, i) =>
  sampleTcpFrame({ seq: i + 1, payload: new Uint8Array(i * 3) }),
);
const records = frames.map((frame, i) => ({ tsUs: T0 + i * 1_000_001, frame }));
const expected = records.map((r, i) => ({ tsUs: r.tsUs, seq: i + 1, sport: 40000 }));

describe('pcap', () => {
  for (const littleEndian of [true, false]) {
    for (const nanosecond of [false, true]) {
      it(`reads ${littleEndian ? 'LE' : 'BE'} ${nanosecond ? 'ns' : 'us'} files`, () => {
        const { rows, parser, sizes } = parse(pcapFile(1, records, { littleEndian, nanosecond }));
        expect(parser.format).toBe('pcap');
        expect(rows).toEqual(expected);
        expect(sizes).toEqual([3, 3, 1]);
      });
    }
  }

  it('reads the modified (Kuznetsov) variant with 24-byte record headers', () => {
    expect(parse(pcapFile(1, records, { modified: true })).rows).toEqual(expected);
  });

  it('gives the same result at every chunk boundary', () => {
    const bytes = pcapFile(1, records.slice(0, 3));
    const want = parse(bytes).rows;
    for (let a = 1; a < bytes.length; a++) {
      expect(parse(bytes, [a]).rows).toEqual(want);
    }
    expect(parse(bytes, 1).rows).toEqual(want);
    expect(parse(bytes, 7).rows).toEqual(want);
  });

  it('counts packets that are not TCP and bytes on the wire', () => {
    const u = ethernet(
      0x0800,
      ipv4({ src: '198.18.0.1', dst: '198.18.0.2', proto: 17 }, udp(1, 2, new Uint8Array(9))),
    );
    const { stats } = parse(pcapFile(1, [{ tsUs: T0, frame: u, origLen: 1000 }, records[0]!]));
    expect(stats).toMatchObject({ packets: 2, tcp: 1, notTcp: 1, bytes: 1000 + frames[0]!.length });
  });

  it('hands the consumer each full batch and takes fresh ones from newBatch', () => {
    const made: HeaderColumns[] = [];
    const got: HeaderColumns[] = [];
    const p = new CaptureParser({
      onBatch: (b) => got.push(b),
      newBatch: () => {
        const b = HeaderColumns.allocate(2);
        b.length = 1; // the parser must reset a recycled batch
        made.push(b);
        return b;
      },
    });
    p.push(pcapFile(1, records.slice(0, 5)));
    expect(got.length).toBe(2);
    p.end();
    expect(got.length).toBe(3);
    expect(got.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(new Set(got).size).toBe(3);
    expect(made.slice(0, 3)).toEqual(got);
  });

  it('does not emit an empty batch at end', () => {
    const { sizes } = parse(pcapFile(1, records.slice(0, 3)));
    expect(sizes).toEqual([3]);
  });
});

describe('pcap: bad input', () => {
  it('counts a wrong magic number and ignores the rest', () => {
    const bytes = pcapFile(1, records);
    bytes[0] = 0x00;
    const { stats, parser } = parse(bytes, 100);
    expect(stats.drops.bad_magic).toBe(1);
    expect(stats.packets).toBe(0);
    expect(parser.failed).toBe(true);
    expect(parser.format).toBe(undefined);
  });

  it('counts a truncated file header', () => {
    const { stats } = parse(pcapFile(1, []).subarray(0, 10));
    expect(stats.drops.truncated_header).toBe(1);
    expect(parse(new Uint8Array([0xd4, 0xc3])).stats.drops.truncated_header).toBe(1);
  });

  it('counts a truncated trailing record once', () => {
    const bytes = pcapFile(1, records.slice(0, 2));
    for (const cut of [1, 10, 16, 20, frames[1]!.length + 15]) {
      const { stats, rows } = parse(bytes.subarray(0, bytes.length - cut), 13);
      expect(stats.drops.truncated_record).toBe(1);
      expect(rows.length).toBe(1);
    }
    expect(parse(bytes).stats.drops.truncated_record).toBe(0);
  });

  it('accepts caplen > snaplen but counts it', () => {
    const { stats, rows } = parse(pcapFile(1, records.slice(0, 2), { snaplen: 40 }));
    expect(rows.length).toBe(2);
    expect(stats.anomalies.caplen_over_snaplen).toBe(2);
  });

  it('does not allocate or wait for a huge caplen: the framing is declared lost', () => {
    const good = pcapFile(1, records.slice(0, 1));
    const bad = pcapFile(1, [{ tsUs: T0, frame: frames[0]!, capLen: 0xfffffff0 }]);
    const bytes = new Uint8Array(good.length + bad.length - 24 + 1000);
    bytes.set(good, 0);
    bytes.set(bad.subarray(24), good.length);
    const { stats, rows, parser } = parse(bytes, 50);
    expect(rows.length).toBe(1);
    expect(stats.drops.bad_record_length).toBe(1);
    expect(stats.drops.truncated_record).toBe(0);
    expect(parser.failed).toBe(true);
  });

  it('counts records too short for the headers', () => {
    const { stats } = parse(pcapFile(1, [{ tsUs: T0, frame: frames[0]!.subarray(0, 30) }]));
    expect(stats.drops.snaplen_short).toBe(1);
  });

  it('counts an unsupported link type per packet', () => {
    const { stats } = parse(pcapFile(147, records.slice(0, 3)));
    expect(stats.drops.unsupported_linktype).toBe(3);
    expect(stats.packets).toBe(3);
  });

  it('rejects push after end', () => {
    const p = new CaptureParser({ onBatch: () => {} });
    p.end();
    expect(() => p.push(new Uint8Array(1))).toThrow(/after end/);
  });
});

describe('pcapng', () => {
  const frame = (seq: number) => sampleTcpFrame({ seq });

  it('reads both byte orders, several sections and interfaces with their own link types and resolutions', () => {
    const raw = ipv4({ src: '198.18.0.1', dst: '198.18.0.2' }, tcp({ sport: 7, dport: 8, seq: 99 }));
    const b = new PcapngBuilder()
      .shb({ littleEndian: true })
      .idb(1) // microseconds
      .idb(101, { tsresol: 9 }) // nanoseconds, raw IP
      .epb(0, BigInt(T0), frame(1))
      .epb(1, BigInt(T0 + 5) * 1000n + 999n, raw)
      .block(0x0bad, new Uint8Array(100)) // unknown block: skipped
      .block(5, new Uint8Array(40)) // ISB: skipped
      .shb({ littleEndian: false })
      .idb(1, { tsresol: 3 }) // milliseconds
      .idb(1, { tsresol: 0x80 | 20 }) // 2^-20 s
      .idb(1, { tsresol: 6, tsoffsetSec: 100 })
      .epb(0, BigInt(T0 / 1000 + 7), frame(3))
      .epb(1, (BigInt(T0 / 1e6) << 20n) + (1n << 19n), frame(4))
      .epb(2, BigInt(T0), frame(5))
      .pb(0, BigInt(T0 / 1000 + 8), frame(6))
      .spb(frame(7))
      .bytes();
    const { rows, stats, parser } = parse(b, 64);
    expect(parser.format).toBe('pcapng');
    expect(rows).toEqual([
      { tsUs: T0, seq: 1, sport: 40000 },
      { tsUs: T0 + 5, seq: 99, sport: 7 },
      { tsUs: T0 + 7000, seq: 3, sport: 40000 },
      { tsUs: T0 + 500_000, seq: 4, sport: 40000 },
      { tsUs: T0 + 100_000_000, seq: 5, sport: 40000 },
      { tsUs: T0 + 8000, seq: 6, sport: 40000 },
      { tsUs: T0 + 8000, seq: 7, sport: 40000 }, // SPB: last timestamp seen
    ]);
    expect(stats.anomalies.skipped_block).toBe(2);
    // Every split point gives the same rows.
    for (let a = 1; a < b.length; a += 3) expect(parse(b, [a]).rows).toEqual(rows);
  });

  it('cuts simple packet blocks to the snaplen of interface 0', () => {
    const f = sampleTcpFrame({ payload: new Uint8Array(100) });
    const b = new PcapngBuilder().shb().idb(1, { snaplen: 40 }).spb(f).bytes();
    const { stats } = parse(b);
    expect(stats.drops.snaplen_short).toBe(1);
    const ok = new PcapngBuilder().shb().idb(1, { snaplen: 54 }).spb(f).bytes();
    const r = parse(ok);
    expect(r.stats.tcp).toBe(1);
  });

  it('skips a large unknown block without buffering it', () => {
    const big = new PcapngBuilder()
      .shb()
      .idb(1)
      .block(0x40000bad, new Uint8Array(8 << 20))
      .epb(0, 5n, frame(1));
    const p = parse(big.bytes(), 1 << 16);
    expect(p.rows.map((r) => r.seq)).toEqual([1]);
    expect((p.parser as unknown as { carry: Uint8Array }).carry.length).toBeLessThanOrEqual(1 << 17);
  });

  it('counts packets for undefined interfaces, bad blocks and truncation', () => {
    const undef = new PcapngBuilder().shb().idb(1).epb(3, 0n, frame(1)).epb(0, 0n, frame(2)).bytes();
    const u = parse(undef);
    expect(u.stats.drops.unknown_interface).toBe(1);
    expect(u.rows.length).toBe(1);

    const noIdb = new PcapngBuilder().shb().spb(frame(1)).bytes();
    expect(parse(noIdb).stats.drops.unknown_interface).toBe(1);

    // EPB whose caplen exceeds its block: skipped, counted, next block still read.
    const bad = new PcapngBuilder()
      .shb()
      .idb(1)
      .epb(0, 0n, frame(1), { capLen: 5000 })
      .epb(0, 0n, frame(2))
      .bytes();
    const bb = parse(bad);
    expect(bb.stats.drops.bad_block).toBe(1);
    expect(bb.rows.map((r) => r.seq)).toEqual([2]);

    // Block length not a multiple of 4: framing lost.
    const bytes = new PcapngBuilder().shb().idb(1).epb(0, 0n, frame(1)).bytes();
    const shbLen = new DataView(bytes.buffer).getUint32(4, true);
    new DataView(bytes.buffer).setUint32(shbLen + 4, 23, true);
    const lost = parse(bytes);
    expect(lost.stats.drops.bad_block).toBe(1);
    expect(lost.parser.failed).toBe(true);

    // Trailer mismatch.
    const t = new PcapngBuilder().shb().idb(1).epb(0, 0n, frame(1)).bytes();
    new DataView(t.buffer).setUint32(t.length - 4, 1234, true);
    expect(parse(t).stats.drops.bad_block).toBe(1);

    // Bad byte-order magic.
    const bom = new PcapngBuilder().shb().bytes();
    bom[8] = 0;
    expect(parse(bom).stats.drops.bad_block).toBe(1);

    // Truncated inside the first SHB, and inside a later block.
    const whole = new PcapngBuilder().shb().idb(1).epb(0, 0n, frame(1)).bytes();
    expect(parse(whole.subarray(0, 20)).stats.drops.truncated_header).toBe(1);
    expect(parse(whole.subarray(0, whole.length - 3)).stats.drops.truncated_record).toBe(1);
  });

  it('keeps RST payloads from pcapng packets', () => {
    const f = sampleTcpFrame({ flags: TCP_RST | TCP_ACK, payload: new TextEncoder().encode('blocked') });
    let got = '';
    const p = new CaptureParser({
      onBatch: (b) => {
        got = new TextDecoder().decode(b.rstPayload.subarray(0, b.rstPayloadLen[0]!));
      },
    });
    p.push(new PcapngBuilder().shb().idb(1).epb(0, 1n, f).bytes());
    p.end();
    expect(got).toBe('blocked');
  });
});
