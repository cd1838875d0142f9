import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadlineIn } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay, Delivery, type DeliveryLog } from './delivery.js';
import type { UndeliveredRecord } from './internal/undelivered.js';
import type { AlertSink } from './sink.js';
import { MemorySink, sampleAlerts } from './testing.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rstwatch-delivery-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fast = { initialMs: 2, maxMs: 10 };

async function undelivered(path: string): Promise<UndeliveredRecord[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as UndeliveredRecord);
}

/** A sink whose sends never settle. */
class HangingSink implements AlertSink {
  readonly name = 'hanging';
  calls = 0;
  send(): Promise<void> {
    this.calls++;
    return new Promise(() => {});
  }
  async close(): Promise<void> {}
}

function recordingLog(): DeliveryLog & {
  lines: { level: string; msg: string; obj: Record<string, unknown> }[];
} {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
}

describe('backoffDelay', () => {
  it('doubles from initialMs up to maxMs, jittered within [d/2, d]', () => {
    const b = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, b, () => 0)).toBe(50);
    expect(backoffDelay(1, b, () => 1)).toBe(100);
    expect(backoffDelay(2, b, () => 1)).toBe(200);
    expect(backoffDelay(3, b, () => 0.5)).toBe(300);
    expect(backoffDelay(10, b, () => 1)).toBe(1000);
    expect(backoffDelay(50, b, () => 0)).toBe(500);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, b);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

describe('Delivery', () => {
  it('delivers every alert to every sink, in order, in batches', async () => {
    const a = new MemorySink('a');
    const b = new MemorySink('b');
    const d = new Delivery(
      { undeliveredPath: join(dir, 'u.ndjson') },
      { sinks: [a, { sink: b, maxBatch: 3 }] },
    );
    const alerts = sampleAlerts(20);
    for (const x of alerts) d.push(x);
    await d.flush(5000);
    expect(a.received.map((x) => x.id)).toEqual(alerts.map((x) => x.id));
    expect(b.received.map((x) => x.id)).toEqual(alerts.map((x) => x.id));
    expect(b.calls).toBeGreaterThanOrEqual(7); // 20 alerts in batches of at most 3
    expect(d.stats).toEqual({
      a: { delivered: 20, retries: 0, failed: 0, queued: 0, overflowed: 0, lost: 0 },
      b: { delivered: 20, retries: 0, failed: 0, queued: 0, overflowed: 0, lost: 0 },
    });
    await d.stop(deadlineIn(1000));
    expect(a.closed && b.closed).toBe(true);
  });

  it('keeps a copy: later changes to the pushed object do not reach the sinks', async () => {
    const a = new MemorySink('a');
    a.delayMs = 20;
    const d = new Delivery({ undeliveredPath: join(dir, 'u.ndjson') }, { sinks: [a] });
    const [x] = sampleAlerts(1) as [Alert];
    d.push(x);
    x.version = 99;
    await d.stop(deadlineIn(2000));
    expect(a.received[0]!.version).toBe(1);
  });

  it('retries a failing sink with backoff and then delivers, without duplicates', async () => {
    const a = new MemorySink('a');
    a.failNext(3);
    const log = recordingLog();
    const d = new Delivery(
      { retries: 5, backoff: fast, undeliveredPath: join(dir, 'u.ndjson') },
      { sinks: [a] },
      { log },
    );
    for (const x of sampleAlerts(5)) d.push(x);
    await d.flush(5000);
    expect(a.received).toHaveLength(5);
    expect(d.stats.a).toMatchObject({ delivered: 5, retries: 3, failed: 0, queued: 0 });
    expect(log.lines.filter((l) => l.msg.includes('retrying'))).toHaveLength(3);
    expect(await undelivered(join(dir, 'u.ndjson'))).toEqual([]);
  });

  it('after its retries, a dead sink’s alerts go to the undelivered file with the sink and the error; other sinks are not held up', async () => {
    const dead = new MemorySink('dead');
    dead.down = true;
    const ok = new MemorySink('ok');
    const path = join(dir, 'sub', 'undelivered.ndjson');
    const d = new Delivery(
      { retries: 2, backoff: { initialMs: 30, maxMs: 30 }, undeliveredPath: path },
      { sinks: [dead, ok] },
    );
    const alerts = sampleAlerts(4);
    for (const x of alerts) d.push(x);
    await new Promise((r) => setTimeout(r, 5));
    expect(ok.received).toHaveLength(4); // while `dead` is still retrying
    expect(d.stats.dead!.queued).toBe(4);
    await d.flush(5000);
    const kept = await undelivered(path);
    expect(kept.map((r) => r.alert.id)).toEqual(alerts.map((x) => x.id));
    for (const r of kept) {
      expect(r).toMatchObject({
        sink: 'dead',
        reason: 'retries_exhausted',
        attempts: 3,
        error: 'dead: down',
      });
      expect(Date.parse(r.time)).toBeGreaterThan(0);
    }
    expect(kept[0]!.alert).toEqual(alerts[0]);
    expect(d.stats.dead).toEqual({ delivered: 0, retries: 2, failed: 4, queued: 0, overflowed: 0, lost: 0 });
    expect(d.stats.ok!.delivered).toBe(4);
  });

  it('a permanent failure keeps that one alert at once and goes on with the next', async () => {
    const a = new MemorySink('a');
    a.failNext(1, true);
    const path = join(dir, 'u.ndjson');
    const d = new Delivery({ backoff: fast, undeliveredPath: path }, { sinks: [{ sink: a, maxBatch: 1 }] });
    const alerts = sampleAlerts(3);
    for (const x of alerts) d.push(x);
    await d.flush(5000);
    expect(a.received.map((x) => x.id)).toEqual([alerts[1]!.id, alerts[2]!.id]);
    const kept = await undelivered(path);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ sink: 'a', reason: 'permanent', attempts: 1 });
    expect(d.stats.a).toMatchObject({ delivered: 2, retries: 0, failed: 1 });
  });

  it('a sink that takes part of a batch gets only the rest again', async () => {
    let calls = 0;
    const got: string[] = [];
    const { SinkError } = await import('./sink.js');
    const partial: AlertSink = {
      name: 'partial',
      async send(alerts) {
        calls++;
        if (calls === 1) {
          got.push(alerts[0]!.id, alerts[1]!.id);
          throw new SinkError('broke after two', { delivered: 2 });
        }
        got.push(...alerts.map((x) => x.id));
      },
      async close() {},
    };
    const d = new Delivery({ backoff: fast, undeliveredPath: join(dir, 'u.ndjson') }, { sinks: [partial] });
    const alerts = sampleAlerts(5);
    for (const x of alerts) d.push(x);
    await d.flush(5000);
    expect(got).toEqual(alerts.map((x) => x.id));
    expect(d.stats.partial).toMatchObject({ delivered: 5, retries: 1, failed: 0 });
  });

  it('a full queue sends newer alerts to the undelivered file, counted as overflowed', async () => {
    const slow = new MemorySink('slow');
    slow.delayMs = 30;
    const path = join(dir, 'u.ndjson');
    const d = new Delivery({ undeliveredPath: path }, { sinks: [{ sink: slow, maxQueue: 3, maxBatch: 1 }] });
    const alerts = sampleAlerts(10);
    for (const x of alerts) d.push(x);
    expect(d.stats.slow).toMatchObject({ queued: 3, failed: 7, overflowed: 7 });
    await d.flush(5000);
    expect(slow.received.map((x) => x.id)).toEqual(alerts.slice(0, 3).map((x) => x.id));
    const kept = await undelivered(path);
    expect(kept.map((r) => r.alert.id)).toEqual(alerts.slice(3).map((x) => x.id));
    expect(kept.every((r) => r.reason === 'queue_full' && r.attempts === 0)).toBe(true);
    expect(d.stats.slow).toMatchObject({ delivered: 3, failed: 7, overflowed: 7, queued: 0 });
  });

  it('push returns at once and never throws, even when a sink hangs', async () => {
    const hanging = new HangingSink();
    const ok = new MemorySink('ok');
    const d = new Delivery(
      { maxQueue: 100_000, undeliveredPath: join(dir, 'u.ndjson') },
      { sinks: [hanging, ok] },
    );
    const alerts = sampleAlerts(2000);
    const t0 = performance.now();
    for (const x of alerts) d.push(x);
    expect(performance.now() - t0).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 20));
    expect(ok.received).toHaveLength(2000);
    expect(hanging.calls).toBe(1);
    expect(d.stats.hanging!.queued).toBe(2000);
    expect(() => d.push({} as Alert)).not.toThrow();
    await d.stop(deadlineIn(50));
  });

  it('close keeps what is left after the deadline (reason shutdown) and later pushes (reason closed)', async () => {
    const hanging = new HangingSink();
    const path = join(dir, 'u.ndjson');
    const d = new Delivery({ undeliveredPath: path }, { sinks: [hanging] });
    const alerts = sampleAlerts(3);
    for (const x of alerts) d.push(x);
    const t0 = performance.now();
    await d.stop(deadlineIn(100));
    expect(performance.now() - t0).toBeLessThan(3000);
    d.push(sampleAlerts(4)[3]!);
    await new Promise((r) => setTimeout(r, 50));
    const kept = await undelivered(path);
    expect(kept.map((r) => r.reason)).toEqual(['shutdown', 'shutdown', 'shutdown', 'closed']);
    expect(kept.map((r) => r.alert.id)).toEqual(sampleAlerts(4).map((x) => x.id));
    expect(d.stats.hanging).toMatchObject({ delivered: 0, failed: 4, queued: 0 });
  });

  it('close interrupts a backoff and keeps the alerts', async () => {
    const dead = new MemorySink('dead');
    dead.down = true;
    const path = join(dir, 'u.ndjson');
    const d = new Delivery(
      { retries: 100, backoff: { initialMs: 60_000, maxMs: 60_000 }, undeliveredPath: path },
      { sinks: [dead] },
    );
    d.push(sampleAlerts(1)[0]!);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await d.stop(deadlineIn(50));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect((await undelivered(path)).map((r) => r.reason)).toEqual(['shutdown']);
    expect(dead.calls).toBe(1);
  });

  it('when even the undelivered file cannot be written, the alerts are counted as lost and logged', async () => {
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const dead = new MemorySink('dead');
    dead.down = true;
    const log = recordingLog();
    const d = new Delivery(
      { retries: 0, undeliveredPath: join(blocker, 'u.ndjson') },
      { sinks: [dead] },
      { log },
    );
    d.push(sampleAlerts(1)[0]!);
    await d.flush(2000);
    expect(d.stats.dead).toMatchObject({ failed: 1, lost: 1 });
    expect(log.lines.some((l) => l.level === 'error' && l.msg.includes('lost'))).toBe(true);
  });

  it('rejects duplicate sink names and bad limits', () => {
    const path = join(dir, 'u.ndjson');
    expect(
      () =>
        new Delivery({ undeliveredPath: path }, { sinks: [new MemorySink('x'), new MemorySink('x')] }, {}),
    ).toThrow(/unique/);
    expect(
      () =>
        new Delivery({ undeliveredPath: path }, { sinks: [{ sink: new MemorySink('x'), maxQueue: 0 }] }, {}),
    ).toThrow(/maxQueue/);
    expect(() => new Delivery({ undeliveredPath: '' }, { sinks: [] })).toThrow(/undeliveredPath/);
  });
});
