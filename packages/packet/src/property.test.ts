// Property tests: no input makes the parser throw, hang or over-count.
import { HeaderColumns, TCP_ACK, TCP_RST } from '@rstwatch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket } from './internal/decode.js';
import { CaptureParser } from './internal/reader.js';
import { createParseStats, type ParseStats, packetDrops } from './stats.js';
import {
  ethernet,
  geneve,
  gre,
  ipv4,
  ipv6,
  ipv6Ext,
  mpls,
  PcapngBuilder,
  pcapFile,
  tcp,
  tcpOptions,
  udp,
  vxlan,
} from './testing.js';

const LINK_TYPES = [0, 1, 10, 12, 14, 101, 108, 113, 228, 229, 276];

function checkInvariants(s: ParseStats, headers: number): void {
  expect(s.packets).toBe(s.tcp + s.notTcp + packetDrops(s));
  expect(headers).toBe(s.tcp);
  expect(headers).toBeLessThanOrEqual(s.packets);
  for (const v of [...Object.values(s.drops), ...Object.values(s.anomalies)]) {
    expect(Number.isInteger(v) && v >= 0).toBe(true);
  }
}

/** A handful of valid frames of different shapes to mutate. */
const seg = tcp({
  sport: 443,
  dport: 50000,
  seq: 5,
  ack: 6,
  flags: TCP_RST | TCP_ACK,
  options: tcpOptions({ mss: 1400, ts: [1, 2], sack: [[1, 2]] }),
  payload: new Uint8Array(70).fill(0x41),
});
const in4 = ipv4({ src: '198.18.0.1', dst: '198.18.0.2' }, seg);
const in6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 0 }, ipv6Ext(0, 6, seg));
const VALID: [number, Uint8Array][] = [
  [1, ethernet(0x0800, in4, [{ vid: 5 }, { vid: 6 }])],
  [1, ethernet(0x86dd, in6)],
  [1, ethernet(0x8847, mpls([1, 2], in4))],
  [
    1,
    ethernet(
      0x0800,
      ipv4(
        { src: '198.18.0.3', dst: '198.18.0.4', proto: 47 },
        gre(0x6558, ethernet(0x0800, in4), { key: 1, seq: 2 }),
      ),
    ),
  ],
  [
    1,
    ethernet(
      0x0800,
      ipv4(
        { src: '198.18.0.3', dst: '198.18.0.4', proto: 17 },
        udp(1, 4789, vxlan(3, ethernet(0x86dd, in6))),
      ),
    ),
  ],
  [
    1,
    ethernet(
      0x0800,
      ipv4({ src: '198.18.0.3', dst: '198.18.0.4', proto: 17 }, udp(1, 6081, geneve(0x0800, in4, 1))),
    ),
  ],
  [101, in4],
  [276, new Uint8Array([0x86, 0xdd, ...new Uint8Array(18), ...in6])],
];

describe('decodePacket properties', () => {
  it('random bytes on any link type never throw and count exactly one outcome', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), (lt, bytes) => {
        const out = HeaderColumns.allocate(1);
        const s = createParseStats();
        const ok = decodePacket(lt, bytes, 0, bytes.length, 0, out, s);
        checkInvariants(s, out.length);
        expect(s.packets).toBe(1);
        expect(ok).toBe(out.length === 1);
      }),
      { numRuns: 800 },
    );
  });

  it('mutated and truncated valid frames never throw, and kept headers stay inside the frame', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        ([lt, frame], muts, cut) => {
          const f = frame.slice();
          for (const [pos, val] of muts) f[pos % f.length] = val;
          const cap = cut % (f.length + 1);
          const out = HeaderColumns.allocate(1);
          const s = createParseStats();
          decodePacket(lt, f, 0, cap, 0, out, s);
          checkInvariants(s, out.length);
          if (out.length === 1) expect(out.rstPayloadLen[0]).toBeLessThanOrEqual(64);
        },
      ),
      { numRuns: 2500 },
    );
  });

  it('unmutated valid frames decode to TCP', () => {
    for (const [lt, f] of VALID) {
      const out = HeaderColumns.allocate(1);
      const s = createParseStats();
      expect(decodePacket(lt, f, 0, f.length, 0, out, s)).toBe(true);
      expect(out.rstPayloadLen[0]).toBe(64);
    }
  });
});

describe('CaptureParser properties', () => {
  const validFile = () => {
    const recs = VALID.filter(([lt]) => lt === 1).map(([, frame], i) => ({ tsUs: 1e15 + i, frame }));
    return pcapFile(1, recs);
  };
  const validNg = () => {
    const b = new PcapngBuilder().shb().idb(1).idb(101, { tsresol: 9 });
    for (const [lt, f] of VALID) if (lt === 1 || lt === 101) b.epb(lt === 1 ? 0 : 1, 123456789n, f);
    return b.shb({ littleEndian: false }).idb(276).epb(0, 1n, VALID[7]![1]).bytes();
  };

  it('random byte streams (with valid magic) in random chunks never throw', () => {
    const magic = fc.constantFrom(
      Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1),
      Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4),
      Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1),
      Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a),
    );
    fc.assert(
      fc.property(
        magic,
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (m, rest, cuts) => {
          const bytes = new Uint8Array(m.length + rest.length);
          bytes.set(m, 0);
          bytes.set(rest, m.length);
          let headers = 0;
          const p = new CaptureParser({ batchSize: 2, onBatch: (b) => (headers += b.length) });
          const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
          let prev = 0;
          for (const c of [...points, bytes.length]) {
            p.push(bytes.subarray(prev, c));
            prev = c;
          }
          p.end();
          checkInvariants(p.stats, headers);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('mutated valid pcap and pcapng files never throw; chunking never changes the result', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 97 }),
        (ng, muts, cut, chunk) => {
          const orig = ng ? validNg() : validFile();
          const f = orig.slice(0, Math.max(1, orig.length - (cut % 40)));
          for (const [pos, val] of muts) f[pos % f.length] = val;
          const run = (size: number) => {
            const seqs: number[] = [];
            const p = new CaptureParser({
              batchSize: 3,
              onBatch: (b) => {
                for (let i = 0; i < b.length; i++) seqs.push(b.seq[i]!, b.tsUs[i]!, b.payloadLen[i]!);
              },
            });
            for (let o = 0; o < f.length; o += size) p.push(f.subarray(o, o + size));
            p.end();
            checkInvariants(p.stats, seqs.length / 3);
            return { seqs, stats: p.stats };
          };
          const whole = run(f.length);
          const chunked = run(chunk);
          expect(chunked).toEqual(whole);
        },
      ),
      { numRuns: 800 },
    );
  });
});
