import { describe, expect, it } from 'vitest';
import {
  type Component,
  deadlineIn,
  MIN_STOP_MS,
  msLeft,
  startInOrder,
  stopInReverse,
  untilDeadline,
  withDefaults,
} from './component.js';

/** A component that records its start and stop in `log`; `hang` makes its stop never return. */
function recorder(name: string, log: string[], o: { hang?: boolean; failStart?: boolean } = {}): Component {
  return {
    async start() {
      if (o.failStart) throw new Error('no broker');
      log.push(`start ${name}`);
    },
    stop() {
      log.push(`stop ${name}`);
      return o.hang ? new Promise(() => {}) : Promise.resolve();
    },
  };
}

describe('one component shape', () => {
  it('untilDeadline: true when the work settles in time, false at the deadline', async () => {
    expect(await untilDeadline(Promise.resolve(), deadlineIn(50))).toBe(true);
    const t0 = Date.now();
    expect(await untilDeadline(new Promise(() => {}), deadlineIn(60))).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    await expect(untilDeadline(Promise.reject(new Error('x')), deadlineIn(50))).rejects.toThrow('x');
    expect(msLeft(Date.now() - 1000)).toBe(0);
    expect(msLeft(Date.now() - 1000, 7)).toBe(7);
  });

  it('starts in order, stops in reverse within one deadline; a hanging or failing stop does not hold the rest', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const stops = await startInOrder([
      ['a', recorder('a', log)],
      ['b', recorder('b', log, { hang: true })],
      [
        'c',
        {
          async start() {},
          stop: async () => {
            log.push('stop c');
            throw new Error('boom');
          },
        },
      ],
    ]);
    stops.push(['fn', async (deadline) => void log.push(`stop fn ${deadline > Date.now()}`)]);
    const t0 = Date.now();
    await stopInReverse(stops, deadlineIn(300), (name, err) =>
      errors.push(`${name}: ${(err as Error).message}`),
    );
    const took = Date.now() - t0;
    expect(log).toEqual(['start a', 'start b', 'stop fn true', 'stop c', 'stop b', 'stop a']);
    expect(errors).toEqual(['c: boom']);
    expect(took).toBeGreaterThanOrEqual(250);
    // b hung until the deadline; a still got its minimum time and returned at once.
    expect(took).toBeLessThan(300 + MIN_STOP_MS + 200);
  });

  it('a component that fails to start stops those started before it, and names itself', async () => {
    const log: string[] = [];
    await expect(
      startInOrder([
        ['a', recorder('a', log)],
        ['kafka', recorder('kafka', log, { failStart: true })],
        ['c', recorder('c', log)],
      ]),
    ).rejects.toThrow('starting kafka: no broker');
    expect(log).toEqual(['start a', 'stop a']);
  });

  it('withDefaults: a setting left out or undefined takes its default', () => {
    const d = { a: 1, b: 2 } as const;
    expect(withDefaults(d, { b: 5, c: 'x' })).toEqual({ a: 1, b: 5, c: 'x' });
    expect(withDefaults(d, { a: undefined })).toEqual({ a: 1, b: 2 });
  });
});
