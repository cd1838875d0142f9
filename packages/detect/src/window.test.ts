/** HitWindow and Sample against brute force (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rstEvent } from './testing.js';
import { type Hit, HitWindow, hitOf, Sample } from './window.js';

const hit = (us: number, n: number): Hit => {
  const h = hitOf(rstEvent(), us);
  h.community_id = `c${n}`;
  return h;
};

describe('HitWindow', () => {
  it('fires exactly when `need` hits (the new one among them) fit in the window, brute force agrees', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 40 }),
        (times, need, window) => {
          const w = new HitWindow(window, 1000);
          const seen: number[] = [];
          for (let i = 0; i < times.length; i++) {
            const t = times[i]!;
            const j = w.add(hit(t, i), need);
            const newest = Math.max(t, ...seen);
            seen.push(t);
            // kept: within the window of the newest; a run of `need` around t spanning <= window
            const kept = seen.filter((x) => x >= newest - window).sort((a, b) => a - b);
            const fires =
              t >= newest - window &&
              kept.some(
                (lo, k) =>
                  k + need - 1 < kept.length &&
                  kept[k + need - 1]! - lo <= window &&
                  lo <= t &&
                  t <= kept[k + need - 1]!,
              );
            expect(j >= 0).toBe(fires);
            if (j >= 0) {
              const taken = w.takeFrom(j);
              expect(taken.length).toBeGreaterThanOrEqual(need);
              w.clear();
              seen.length = 0;
            }
          }
        },
      ),
    );
  });

  it('keeps at most cap hits', () => {
    const w = new HitWindow(1e9, 8);
    for (let i = 0; i < 100; i++) w.add(hit(i, i), 1000);
    expect(w.size).toBe(8);
  });
});

describe('Sample', () => {
  it('keeps the cap earliest distinct values whatever the order (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        (times, cap) => {
          const items = times.map((t) => [`v${t}`, t] as const);
          const a = new Sample(cap);
          const b = new Sample(cap);
          for (const [v, t] of items) a.add(v, t);
          for (const [v, t] of [...items].reverse()) b.add(v, t);
          const want = [...items]
            .sort((x, y) => x[1] - y[1])
            .slice(0, cap)
            .map((x) => x[0]);
          expect(a.byTime()).toEqual(want);
          expect(b.byTime()).toEqual(want);
          expect(a.sorted()).toEqual([...want].sort());
        },
      ),
    );
  });
});
