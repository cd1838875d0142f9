import { bucketOf } from '@rstwatch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostTable } from './hosts.js';

/**
 * The host table against a plain model of its contract: two-way sets chosen by the FNV-1a hash of
 * (address, sensor); a new host takes the set's first empty way, else the way used least recently
 * (the later of its scan and burst window starts; way 0 on a tie); every field is per entry.
 */
interface Entry {
  addr: string;
  sensor: number;
  ttl: number;
  ipId: number;
  ck: number;
  scanStart: number;
  burstStart: number;
  ports: Set<number>;
  burst: number;
  peer: string;
}

function fnv(addr: Uint8Array, sensor: number): number {
  let h = 0x811c9dc5 ^ sensor;
  for (const b of addr) h = Math.imul(h ^ b, 0x01000193);
  h ^= h >>> 15;
  return h >>> 0;
}

class Model {
  readonly entries: (Entry | undefined)[];
  constructor(readonly capacity: number) {
    this.entries = new Array(capacity).fill(undefined);
  }
  private way0(addr: Uint8Array, sensor: number): number {
    return bucketOf(fnv(addr, sensor), this.capacity / 2) * 2;
  }
  find(addr: Uint8Array, sensor: number): number {
    const e0 = this.way0(addr, sensor);
    const key = addr.join('.');
    for (const e of [e0, e0 + 1]) {
      const x = this.entries[e];
      if (x !== undefined && x.addr === key && x.sensor === sensor) return e;
    }
    return -1;
  }
  findOrAdd(addr: Uint8Array, sensor: number, ts: number): number {
    const found = this.find(addr, sensor);
    if (found >= 0) return found;
    const e0 = this.way0(addr, sensor);
    const seen = (e: number) => Math.max(this.entries[e]!.scanStart, this.entries[e]!.burstStart);
    const e =
      this.entries[e0] === undefined
        ? e0
        : this.entries[e0 + 1] === undefined
          ? e0 + 1
          : seen(e0) <= seen(e0 + 1)
            ? e0
            : e0 + 1;
    this.entries[e] = {
      addr: addr.join('.'),
      sensor,
      ttl: 0,
      ipId: 0,
      ck: 0,
      scanStart: ts,
      burstStart: ts,
      ports: new Set(),
      burst: 0,
      peer: '',
    };
    return e;
  }
}

const WINDOW = 50;

/** One of 24 hosts (IPv4-mapped and IPv6 addresses) on one of two sensors. */
const host = fc.record({ n: fc.integer({ min: 0, max: 23 }), sensor: fc.integer({ min: 0, max: 1 }) });
/** Time steps: none (ties in the replacement rule), within the windows, past them. */
const dt = fc.constantFrom(0, 7, 60);
const op = fc.oneof(
  fc.record({
    kind: fc.constant('observe' as const),
    host,
    ttl: fc.integer({ min: 1, max: 255 }),
    ipId: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({ kind: fc.constant('find' as const), host }),
  fc.record({
    kind: fc.constant('attempt' as const),
    host,
    port: fc.integer({ min: 1, max: 65535 }),
    peer: host,
  }),
  fc.record({ kind: fc.constant('rst' as const), host }),
  fc.record({ kind: fc.constant('checksum' as const), host, v: fc.integer({ min: 0, max: 255 }) }),
);

/** An address as the host table takes it: its 16 bytes as four 32-bit words. */
const words = (a: Uint8Array) => new Uint32Array(a.buffer, a.byteOffset, 4);

function addrOf(n: number): Uint8Array {
  const a = new Uint8Array(16);
  if (n % 2 === 0) {
    a[10] = 0xff;
    a[11] = 0xff;
    a.set([198, 18, n >> 8, n & 0xff], 12);
  } else a.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n >> 8, n & 0xff]);
  return a;
}

describe('HostTable', () => {
  it('keeps the two-way-set contract and every field per entry, under replacement', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(op, dt), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(2, 6, 8, 64),
        (ops, capacity) => {
          const t = new HostTable(capacity);
          const m = new Model(capacity);
          let ts = 1000;
          /** The entry of the host, found or added, the same in the table and the model. */
          const add = (a: Uint8Array, s: number): number => {
            const e = t.findOrAdd(words(a), 0, s, ts);
            expect(e).toBe(m.findOrAdd(a, s, ts));
            return e;
          };
          for (const [o, step] of ops) {
            ts += step;
            const a = addrOf(o.host.n);
            const s = o.host.sensor;
            switch (o.kind) {
              case 'observe': {
                const e = t.observe(words(a), 0, s, o.ttl, o.ipId, ts);
                expect(e).toBe(m.findOrAdd(a, s, ts));
                m.entries[e]!.ttl = o.ttl;
                m.entries[e]!.ipId = o.ipId;
                break;
              }
              case 'find':
                expect(t.find(words(a), 0, s)).toBe(m.find(a, s));
                break;
              case 'attempt': {
                const e = add(a, s);
                const x = m.entries[e]!;
                if (ts - x.scanStart > WINDOW) {
                  x.scanStart = ts;
                  x.ports.clear();
                }
                x.ports.add(Math.imul(o.port, 0x9e3779b1) >>> 26);
                expect(t.notePort(e, o.port, ts, WINDOW)).toBe(x.ports.size);
                const p = addrOf(o.peer.n);
                t.notePeer(e, words(p), 0);
                x.peer = p.join('.');
                break;
              }
              case 'rst': {
                const e = add(a, s);
                const x = m.entries[e]!;
                if (ts - x.burstStart > WINDOW) {
                  x.burstStart = ts;
                  x.burst = 0;
                }
                x.burst++;
                expect(t.noteRst(e, ts, WINDOW)).toBe(x.burst);
                break;
              }
              case 'checksum': {
                const e = add(a, s);
                t.setChecksumState(e, o.v);
                m.entries[e]!.ck = o.v;
                break;
              }
            }
            // Every entry the model holds reads back whole, and no other entry is live.
            for (let e = 0; e < capacity; e++) {
              const x = m.entries[e];
              if (x === undefined) continue;
              const xa = Uint8Array.from(x.addr.split('.').map(Number));
              expect(t.find(words(xa), 0, x.sensor)).toBe(e);
              expect([t.ttl(e), t.ipId(e), t.checksumState(e)]).toEqual([x.ttl, x.ipId, x.ck]);
              expect(t.ports(e, ts, WINDOW)).toBe(ts - x.scanStart > WINDOW ? 0 : x.ports.size);
              for (let n = 0; n < 24; n++) {
                const p = addrOf(n);
                expect(t.openedTo(e, words(p), 0, ts, WINDOW)).toBe(
                  ts - x.scanStart <= WINDOW && x.ports.size > 0 && x.peer === p.join('.'),
                );
              }
            }
            for (let n = 0; n < 24; n++)
              for (const sensor of [0, 1])
                expect(t.find(words(addrOf(n)), 0, sensor)).toBe(m.find(addrOf(n), sensor));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('attaches to the same memory from another view (another thread)', () => {
    const t = new HostTable(16);
    const a = addrOf(3);
    const e = t.observe(words(a), 0, 1, 57, 4242, 10);
    t.setChecksumState(e, 9);
    const other = new HostTable(16, t.memory);
    expect(other.find(words(a), 0, 1)).toBe(e);
    expect([other.ttl(e), other.ipId(e), other.checksumState(e)]).toEqual([57, 4242, 9]);
    expect(() => new HostTable(2000, t.memory)).toThrow(/too small/);
  });
});
