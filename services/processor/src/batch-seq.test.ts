import { describe, expect, it } from 'vitest';
import { admitBatch, batchIdentity, RECENT_BATCHES, type SensorSeq } from './batch-seq.js';

describe('admitBatch', () => {
  const id = (seq: number, run = 0) => batchIdentity(1_000_000 * run + seq, 10, 500 + seq);

  it('skips a batch sent again after the original, per sensor', () => {
    const m = new Map<string, SensorSeq>();
    expect(admitBatch(m, 'a', 0n, id(0))).toBe('new');
    expect(admitBatch(m, 'a', 1n, id(1))).toBe('new');
    expect(admitBatch(m, 'b', 1n, id(1))).toBe('new');
    expect(admitBatch(m, 'a', 3n, id(3))).toBe('new'); // a gap is not a duplicate
    expect(admitBatch(m, 'a', 1n, id(1))).toBe('duplicate');
    expect(admitBatch(m, 'a', 3n, id(3))).toBe('duplicate');
    expect(admitBatch(m, 'a', 4n, id(4))).toBe('new');
    expect(m.get('a')!.max).toBe(4n);
  });

  it('treats a lower seq with other content as an agent restart, not as duplicates', () => {
    const m = new Map<string, SensorSeq>();
    for (let i = 0; i < 5; i++) expect(admitBatch(m, 'a', BigInt(i), id(i))).toBe('new');
    expect(admitBatch(m, 'a', 0n, id(0, 1))).toBe('restart');
    expect(admitBatch(m, 'a', 1n, id(1, 1))).toBe('new');
    expect(admitBatch(m, 'a', 1n, id(1, 1))).toBe('duplicate');
    // The previous run's batch 3 (a late duplicate) is above the new run's highest: not recognized.
    expect(admitBatch(m, 'a', 2n, id(2, 1))).toBe('new');
  });

  it('is deterministic: replaying the same sequence gives the same verdicts', () => {
    const seq = [0, 1, 2, 1, 3, 0, 4, 4, 5].map((s, i) => [BigInt(s), i === 5 ? id(0, 1) : id(s)] as const);
    const run = () => {
      const m = new Map<string, SensorSeq>();
      return seq.map(([s, x]) => admitBatch(m, 'a', s, x));
    };
    expect(run()).toEqual(run());
    expect(run()).toEqual(['new', 'new', 'new', 'duplicate', 'new', 'restart', 'new', 'duplicate', 'new']);
  });

  it('remembers a bounded number of batches per sensor', () => {
    const m = new Map<string, SensorSeq>();
    for (let i = 0; i < RECENT_BATCHES + 10; i++) admitBatch(m, 'a', BigInt(i), id(i));
    expect(m.get('a')!.recent.size).toBe(RECENT_BATCHES);
    expect(admitBatch(m, 'a', BigInt(RECENT_BATCHES + 9), id(RECENT_BATCHES + 9))).toBe('duplicate');
  });
});
