import { HeaderColumns } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { type MergeRelease, parseSnapshot, SourceMerge } from './merge.js';

/** Columns with these capture times (seq = capture time, to identify rows). */
function cols(ts: number[]): HeaderColumns {
  const c = HeaderColumns.allocate(Math.max(1, ts.length));
  for (const t of ts) {
    const i = c.length;
    c.length = i + 1;
    c.tsUs[i] = t;
    c.seq[i] = t;
    c.ipVersion[i] = 4;
  }
  return c;
}

const out = (r: MergeRelease) => r.runs.flatMap((x) => [...x.cols.seq.subarray(0, x.cols.length)]);

describe('SourceMerge', () => {
  it('releases a single source whole and unchanged once the opening is over', () => {
    const m = new SourceMerge(500);
    const a = cols([5, 3, 9]);
    expect(out(m.push(0n, 'a', 1000, a))).toEqual([]); // opening: another source may come
    const r = m.push(1n, 'a', 1600, cols([10]));
    expect(r.runs[0]!.cols).toBe(a); // the same batch object, rows in arrival order
    expect(out(r)).toEqual([5, 3, 9, 10]);
    expect(r.runs.every((x) => x.sensor === 'a')).toBe(true);
    expect(m.held).toBe(0);
    expect(out(m.push(2n, 'a', 1700, cols([11, 12])))).toEqual([11, 12]);
    expect(m.snapshot()).toBe('');
  });

  it('merges two sources by capture time, waiting for the slower one', () => {
    const m = new SourceMerge(500);
    expect(out(m.push(0n, 'rx', 1000, cols([1, 4, 7])))).toEqual([]);
    let r = m.push(1n, 'tx', 1010, cols([2, 3, 5]));
    expect(out(r)).toEqual([1, 2, 3, 4, 5]);
    expect(r.runs[0]!.sensor).toBe('rx+tx');
    expect(m.heldFrom).toBe(0n);
    r = m.push(2n, 'tx', 1020, cols([8, 9]));
    expect(out(r)).toEqual([7]);
    expect(m.heldFrom).toBe(2n);
    r = m.push(3n, 'rx', 1030, cols([10]));
    expect(out(r)).toEqual([8, 9]);
    expect(out(m.flush())).toEqual([10]);
    expect(m.held).toBe(0);
  });

  it('counts headers behind the frontier as late and releases them at once', () => {
    const m = new SourceMerge(500);
    m.push(0n, 'rx', 1000, cols([10, 20]));
    m.push(1n, 'tx', 1001, cols([15, 25])); // frontier 20
    const r = m.push(2n, 'rx', 1002, cols([12, 30]));
    expect(r.late).toEqual(new Map([['rx', 1]]));
    expect(out(r)).toEqual([12, 25]);
  });

  it('stops waiting for a source silent longer than the delay, and releases old headers', () => {
    const m = new SourceMerge(500);
    m.push(0n, 'rx', 1000, cols([1]));
    expect(out(m.push(1n, 'tx', 1000, cols([2])))).toEqual([1]);
    // tx goes silent; rx's headers wait until tx's last batch is more than 500 ms old
    expect(out(m.push(2n, 'rx', 1200, cols([3, 4])))).toEqual([2]);
    expect(out(m.push(3n, 'rx', 1500, cols([5])))).toEqual([]);
    expect(out(m.push(4n, 'rx', 1501, cols([6])))).toEqual([3, 4, 5, 6]);
  });

  it('a new owner restoring the snapshot releases the same headers afterwards', () => {
    const msgs: [bigint, string, number, number[]][] = [
      [0n, 'rx', 1000, [1, 4, 7]],
      [1n, 'tx', 1010, [2, 3, 5]],
      [2n, 'tx', 1020, [8, 9]],
      [3n, 'rx', 1030, [10, 13]],
      [4n, 'tx', 1040, [11, 12]],
      [5n, 'rx', 1050, [14]],
      [6n, 'tx', 1700, [20]],
    ];
    const a = new SourceMerge(500);
    const seen: number[][] = [];
    for (const [o, s, t, ts] of msgs) seen.push(out(a.push(o, s, t, cols(ts))));
    // Crash after offset 3 (committed 4): a new owner replays from the held offset, restores, goes on.
    const b = new SourceMerge(500);
    const ref = new SourceMerge(500);
    for (const [o, s, t, ts] of msgs.slice(0, 4)) ref.push(o, s, t, cols(ts));
    const snap = ref.snapshot();
    const parsed = parseSnapshot(snap)!;
    expect(parsed.heldFrom).toBe(3n);
    b.capAt(parsed.frontier);
    for (const [o, s, t, ts] of msgs.slice(Number(parsed.heldFrom), 4)) b.push(o, s, t, cols(ts));
    b.restore(snap, false);
    expect(b.snapshot()).toBe(snap);
    for (const [k, [o, s, t, ts]] of msgs.slice(4).entries())
      expect(out(b.push(o, s, t, cols(ts)))).toEqual(seen[4 + k]);
  });
});
