import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTsUs, type RstEvent, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { pcapFile, sampleTcpFrame } from '@rstwatch/packet/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { SelectedRst } from './data.js';
import { collectLadders, LadderCollector } from './ladder.js';

const T0 = Date.parse('2026-11-21T18:00:00Z') * 1000;
const C = { src: '198.18.0.1', sport: 40000 };
const S = { src: '198.18.0.2', sport: 443 };

/** One packet of the test flow (client C, server S), or of a noise flow. */
function frame(from: 'c' | 's', flags: number, seq: number, ack: number, payload = '', ttl?: number) {
  const a = from === 'c' ? C : S;
  const b = from === 'c' ? S : C;
  const f = sampleTcpFrame({
    src: a.src,
    dst: b.src,
    sport: a.sport,
    dport: b.sport,
    flags,
    seq,
    ack,
    payload: new TextEncoder().encode(payload),
  });
  if (ttl !== undefined) f[14 + 8] = ttl;
  return f;
}

const dir = mkdtempSync(join(tmpdir(), 'rstwatch-ladder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(records: { tsUs: number; frame: Uint8Array }[]): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(p, pcapFile(1, records));
  return p;
}

/** Packets 1 ms apart; `now()` is the time of the last one added. */
function recorder() {
  const recs: { tsUs: number; frame: Uint8Array }[] = [];
  const add = (frame: Uint8Array) => {
    recs.push({ tsUs: T0 + (recs.length + 1) * 1000, frame });
  };
  return { recs, add, now: () => recs[recs.length - 1]!.tsUs };
}

function selected(id: string, over: Partial<RstEvent>): SelectedRst {
  return {
    id,
    reasons: ['test'],
    event: {
      src_ip: S.src,
      src_port: S.sport,
      dst_ip: C.src,
      dst_port: C.sport,
      direction: 'resp',
      seq: 0,
      ts: formatTsUs(T0),
      ...over,
    } as RstEvent,
  };
}

describe('collectLadders (second pass over the capture)', () => {
  it('keeps the last packets before the RST and the first after it, both directions, other flows ignored', async () => {
    const { recs, add, now } = recorder();
    add(frame('c', TCP_SYN, 100, 0));
    add(frame('s', TCP_SYN | TCP_ACK, 500, 101));
    add(frame('c', TCP_ACK, 101, 501));
    // Noise on another flow (same server port, other client) must not appear.
    add(sampleTcpFrame({ src: '198.18.0.9', dst: S.src, sport: 40001, dport: 443, flags: TCP_SYN }));
    for (let i = 0; i < 20; i++) add(frame('c', TCP_PSH | TCP_ACK, 101 + i * 10, 501, 'x'.repeat(10)));
    add(frame('s', TCP_RST, 501, 0, '', 57));
    const rstTs = now();
    add(frame('c', TCP_PSH | TCP_ACK, 301, 501, 'late data'));
    add(frame('c', TCP_ACK, 310, 501));
    const file = capture(recs);

    const ladders = await collectLadders(file, [selected('rst-1', { seq: 501, ts: formatTsUs(rstTs) })], {
      before: 5,
      after: 3,
    });
    const l = ladders.get('rst-1')!;
    expect(l.found).toBe(true);
    expect(l.before).toHaveLength(5);
    expect(l.before.every((p) => !p.fromSender && p.flags === 'P.' && p.len === 10)).toBe(true);
    expect(l.before.map((p) => p.dtUs)).toEqual([-5000, -4000, -3000, -2000, -1000]);
    expect(l.rst).toMatchObject({
      rst: true,
      fromSender: true,
      flags: 'R',
      seq: 501,
      ack: 0,
      ttl: 57,
      dtUs: 0,
    });
    expect(l.rst!.ipId).not.toBeNull();
    // Only two packets follow in the capture: fewer than asked for.
    expect(l.after.map((p) => [p.flags, p.len, p.dtUs])).toEqual([
      ['P.', 9, 1000],
      ['.', 0, 2000],
    ]);
  });

  it('tells a RST it did not meet, and several RSTs of one flow apart', async () => {
    const { recs, add, now } = recorder();
    add(frame('c', TCP_SYN, 100, 0));
    add(frame('s', TCP_RST | TCP_ACK, 0, 101));
    const first = now();
    add(frame('c', TCP_SYN, 100, 0));
    add(frame('s', TCP_RST | TCP_ACK, 0, 101));
    const second = now();
    const file = capture(recs);
    const ladders = await collectLadders(file, [
      selected('a', { ts: formatTsUs(first) }),
      selected('b', { ts: formatTsUs(second) }),
      selected('gone', { ts: formatTsUs(second + 5) }),
    ]);
    expect(ladders.get('a')!.before.map((p) => p.flags)).toEqual(['S']);
    expect(ladders.get('a')!.after.map((p) => p.flags)).toEqual(['S', 'R.']);
    expect(ladders.get('b')!.before.map((p) => p.flags)).toEqual(['S', 'R.', 'S']);
    expect(ladders.get('b')!.after).toEqual([]);
    expect(ladders.get('gone')).toMatchObject({ found: false, rst: null, before: [], after: [] });
  });

  it('is complete once every RST has its packets after (the pass then stops reading)', async () => {
    const { recs, add, now } = recorder();
    add(frame('c', TCP_SYN, 100, 0));
    add(frame('s', TCP_RST | TCP_ACK, 0, 101));
    const rst = now();
    add(frame('c', TCP_SYN, 100, 0));
    add(frame('s', TCP_SYN | TCP_ACK, 9, 101));
    const c = new LadderCollector([selected('x', { ts: formatTsUs(rst) })], { after: 1 });
    const seen: boolean[] = [];
    await parseCaptureFile(capture(recs), {
      batchSize: 1,
      onBatch: (b) => {
        c.push(b);
        seen.push(c.complete);
      },
    });
    expect(seen).toEqual([false, false, true, true]);
    expect(
      c
        .ladders()
        .get('x')!
        .after.map((p) => p.flags),
    ).toEqual(['S']);
  });

  it('IPv6 flows and no selection', async () => {
    const file = capture([{ tsUs: T0, frame: frame('c', TCP_SYN, 1, 0) }]);
    expect((await collectLadders(file, [])).size).toBe(0);
    const l = await collectLadders(file, [
      selected('v6', { src_ip: '2001:db8::1', dst_ip: '2001:db8::2', ts: formatTsUs(T0) }),
    ]);
    expect(l.get('v6')!.found).toBe(false);
  });
});
