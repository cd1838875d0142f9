import { flowHash, HeaderColumns } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { type FlushReason, HEADER_FIXED_BYTES, PartitionBatcher, partitionOf } from './batcher.js';
import { makeHeaders } from './testing.js';

interface Flushed {
  p: number;
  seqs: number[];
  key: number;
  reason: FlushReason;
}

function collect(partitions: number, maxHeaders: number, maxBytes = 1 << 20, lingerMs = 100) {
  let now = 0;
  const out: Flushed[] = [];
  const b = new PartitionBatcher({
    partitions,
    maxHeaders,
    maxBytes,
    lingerMs,
    now: () => now,
    onFlush: (p, cols, key, reason) => {
      out.push({ p, seqs: Array.from(cols.seq.subarray(0, cols.length)), key, reason });
    },
  });
  return { b, out, advance: (ms: number) => (now += ms) };
}

describe('PartitionBatcher', () => {
  it('puts both directions of a connection in the same partition', () => {
    const specs = [];
    for (let k = 0; k < 200; k++) {
      specs.push({ src: 1 + k, dst: 5000 + (k % 7), sport: 30000 + k, dport: 443 });
      specs.push({ src: 5000 + (k % 7), dst: 1 + k, sport: 443, dport: 30000 + k });
    }
    const cols = makeHeaders(specs);
    const { b, out } = collect(12, 10_000);
    const parts = new Set<number>();
    for (let i = 0; i < cols.length; i += 2) {
      const p1 = b.add(cols, i);
      const p2 = b.add(cols, i + 1);
      expect(p2).toBe(p1);
      expect(partitionOf(cols, i, 12)).toBe(p1);
      expect(flowHash(cols, i)).toBe(flowHash(cols, i + 1));
      parts.add(p1);
    }
    expect(parts.size).toBeGreaterThan(6); // spreads over partitions
    b.flushAll();
    expect(out.reduce((n, f) => n + f.seqs.length, 0)).toBe(400);
    expect(b.pendingHeaders).toBe(0);
  });

  it('flushes at maxHeaders, keeping capture order, keyed by the first header', () => {
    const cols = makeHeaders(Array.from({ length: 10 }, () => ({ src: 1, dst: 2, sport: 1000, dport: 80 })));
    const { b, out } = collect(3, 4);
    b.addBatch(cols);
    expect(out.map((f) => f.seqs)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(out.every((f) => f.reason === 'count')).toBe(true);
    expect(out[0]!.key).toBe(flowHash(cols, 0));
    expect(b.pendingHeaders).toBe(2);
    b.flushAll();
    expect(out[2]!.seqs).toEqual([8, 9]);
    expect(out[2]!.reason).toBe('final');
  });

  it('flushes before the estimated size would exceed maxBytes', () => {
    const cols = makeHeaders(
      Array.from({ length: 5 }, () => ({ src: 1, dst: 2, sport: 1000, dport: 80, rst: 64 })),
    );
    const per = HEADER_FIXED_BYTES + 64;
    const { b, out } = collect(1, 100, per * 2 + 10);
    b.addBatch(cols);
    expect(out.map((f) => f.seqs)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(out[0]!.reason).toBe('bytes');
  });

  it('flushes after the linger time, counted from the first header', () => {
    const cols = makeHeaders([
      { src: 1, dst: 2, sport: 1000, dport: 80 },
      { src: 1, dst: 2, sport: 1000, dport: 80 },
    ]);
    const { b, out, advance } = collect(2, 100, 1 << 20, 50);
    b.add(cols, 0);
    advance(30);
    b.add(cols, 1);
    expect(b.tick()).toBe(0);
    advance(20);
    expect(b.tick()).toBe(1);
    expect(out).toHaveLength(1);
    expect(out[0]!.seqs).toEqual([0, 1]);
    expect(out[0]!.reason).toBe('linger');
    expect(b.tick()).toBe(0);
  });

  it('addBatch gives the same batches, keys, reasons and payloads as add() per header', () => {
    // Seeded mix: 40 connections both ways, some RSTs with payloads, so count and bytes limits both hit.
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const specs = Array.from({ length: 3000 }, () => {
      const k = Math.floor(rnd() * 40);
      const fwd = rnd() < 0.5;
      const rst = rnd() < 0.1 ? Math.floor(rnd() * 65) : 0;
      return fwd
        ? { src: 1 + k, dst: 900, sport: 20000 + k, dport: 443, rst }
        : { src: 900, dst: 1 + k, sport: 443, dport: 20000 + k, rst };
    });
    const cols = makeHeaders(specs);
    for (let i = 0; i < cols.length; i++) {
      const pl = cols.rstPayloadLen[i]!;
      for (let j = 0; j < pl; j++) cols.rstPayload[i * 64 + j] = (i + j) & 0xff;
    }
    const run = (batched: boolean) => {
      const byPart = new Map<number, string[]>();
      const b = new PartitionBatcher({
        partitions: 5,
        maxHeaders: 15,
        maxBytes: HEADER_FIXED_BYTES * 14 + 100,
        lingerMs: 1000,
        now: () => 0,
        onFlush: (p, c, key, reason) => {
          const rows: string[] = [];
          for (let i = 0; i < c.length; i++)
            rows.push(
              `${c.seq[i]}:${c.srcPort[i]}>${c.dstPort[i]}:${Array.from(c.srcAddr.subarray(i * 16, i * 16 + 16))}:${Array.from(c.rstPayload.subarray(i * 64, i * 64 + c.rstPayloadLen[i]!))}`,
            );
          const list = byPart.get(p) ?? [];
          list.push(`${key}/${reason}/${rows.join(',')}`);
          byPart.set(p, list);
        },
      });
      // Three source batches, so open batches carry over between addBatch calls.
      for (const [from, to] of [
        [0, 1000],
        [1000, 1001],
        [1001, 3000],
      ] as const) {
        const part = HeaderColumns.allocate(to - from);
        for (let i = from; i < to; i++) part.copyFrom(cols, i);
        if (batched) b.addBatch(part);
        else for (let i = 0; i < part.length; i++) b.add(part, i);
      }
      const pending = b.pendingHeaders;
      b.flushAll();
      return { byPart, pending };
    };
    const one = run(false);
    const many = run(true);
    expect(many.pending).toBe(one.pending);
    expect([...many.byPart.keys()].sort()).toEqual([...one.byPart.keys()].sort());
    for (const [p, list] of one.byPart) expect(many.byPart.get(p), `partition ${p}`).toEqual(list);
    const reasons = [...one.byPart.values()].flat().map((x) => x.split('/')[1]);
    expect(reasons).toContain('count');
    expect(reasons).toContain('bytes');
  });

  it('rejects nonsense options', () => {
    const onFlush = () => {};
    expect(
      () => new PartitionBatcher({ partitions: 0, maxHeaders: 1, maxBytes: 1e6, lingerMs: 1, onFlush }),
    ).toThrow(/partitions/);
    expect(
      () => new PartitionBatcher({ partitions: 1, maxHeaders: 0, maxBytes: 1e6, lingerMs: 1, onFlush }),
    ).toThrow(/maxHeaders/);
  });
});
