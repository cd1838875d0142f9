import { CAUSES, type RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { describe, expect, it } from 'vitest';
import { BIN_STEPS_MS, ReportCollector, TimeBins, TopCounter } from './data.js';

const T0 = Date.parse('2026-11-21T18:00:00Z');

function ev(over: Partial<RstEvent> = {}, atMs = 0): RstEvent {
  return {
    ts: new Date(T0 + atMs).toISOString().replace('Z', '000Z'),
    sensor: 's',
    community_id: `1:${over.src_port ?? 1000}`,
    src_ip: '198.18.0.1',
    src_port: 1000,
    dst_ip: '198.18.0.2',
    dst_port: 80,
    direction: 'resp',
    cause: 'closed_port',
    origin: 'endpoint',
    phase: 'handshake',
    confidence: 0.9,
    flags: 'R.',
    seq: 0,
    ack: 1,
    ttl: 64,
    ttl_expected: 64,
    ip_id: 0,
    in_window: null,
    seq_exact: null,
    payload_len: 0,
    payload_preview: '',
    signature: 'SYN→RST+ACK',
    conn_state: 'REJ',
    history: 'Sr',
    evidence: ['answers_syn'],
    ...over,
  };
}

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'a1',
    version: 1,
    rule: 'reset_attack',
    status: 'open',
    severity: 'high',
    severity_score: 73,
    summary: 'forged',
    first_seen: '2026-11-21T18:00:00.000000Z',
    last_seen: '2026-11-21T18:00:01.000000Z',
    updated: '2026-11-21T18:00:01.000000Z',
    count: 5,
    entity_kind: 'victim',
    entity: '198.18.0.2',
    source_ips: ['198.18.0.1'],
    destination_ip: '198.18.0.2',
    destination_port: 80,
    sensors: ['s'],
    community_ids: [],
    evidence: ['rsts=5'],
    details: {},
    ...over,
  };
}

describe('TimeBins', () => {
  it('buckets by capture time with a step chosen from the span, counts preserved', () => {
    const b = new TimeBins();
    // 150 s of events, one per second, alternating two causes.
    for (let s = 0; s < 150; s++) b.add(T0 + s * 1000, s % 2, s % 3 === 0 ? 1 : 0);
    const ser = b.series(120);
    // 150 s in at most 120 bins: 5 s bins (the ladder's next step after 1 s).
    expect(ser.stepMs).toBe(5_000);
    expect(ser.t.length).toBe(30);
    expect(ser.t[0]).toBe(T0 / 1000);
    expect(ser.t[1]! - ser.t[0]!).toBe(5);
    expect(ser.byCause.map((s) => s.name)).toEqual([CAUSES[0], CAUSES[1]]);
    const total = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
    expect(total(ser.byCause[0]!.counts)).toBe(75);
    expect(total(ser.byCause[1]!.counts)).toBe(75);
    expect(ser.byCause[0]!.counts[0]).toBe(3); // seconds 0, 2, 4
    expect(ser.byOrigin.map((s) => [s.name, total(s.counts)])).toEqual([
      ['endpoint', 100],
      ['middlebox', 50],
    ]);
  });

  it('a sub-second capture gets sub-second bins', () => {
    const b = new TimeBins();
    for (let ms = 0; ms < 800; ms += 7) b.add(T0 + ms, 0, 0);
    const ser = b.series(120);
    expect(ser.stepMs).toBe(10);
    expect(ser.t.length).toBe(80);
  });

  it('stays bounded over a long span by coarsening, still exact per bin', () => {
    const b = new TimeBins(64);
    // Ten days, one event per minute.
    const n = 10 * 24 * 60;
    for (let i = 0; i < n; i++) b.add(T0 + i * 60_000, 0, 0);
    expect(b.stepMs).toBeGreaterThanOrEqual(3_600_000 * 6);
    const ser = b.series(120);
    expect(ser.t.length).toBeLessThanOrEqual(120);
    expect(BIN_STEPS_MS).toContain(ser.stepMs as (typeof BIN_STEPS_MS)[number]);
    expect(ser.byCause[0]!.counts.reduce((a, x) => a + x, 0)).toBe(n);
  });

  it('empty: no bins, no series', () => {
    expect(new TimeBins().series()).toMatchObject({ t: [], byCause: [], byOrigin: [] });
  });
});

describe('TopCounter', () => {
  it('ranks by total, then key, with the split by cause', () => {
    const t = new TopCounter();
    for (let i = 0; i < 3; i++) t.add('b', 0);
    t.add('b', 2);
    t.add('a', 1);
    t.add('c', 1);
    const top = t.top(2);
    expect(top.map((r) => [r.key, r.total])).toEqual([
      ['b', 4],
      ['a', 1],
    ]);
    expect(top[0]!.byCause[0]).toBe(3);
    expect(top[0]!.byCause[2]).toBe(1);
    expect(top[0]!.byCause.length).toBe(CAUSES.length);
    expect(t.maxDropped).toBe(0);
  });

  it('keeps the heavy hitters when there are more keys than it holds, and says counts may be short', () => {
    const t = new TopCounter(100);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 50; i++) t.add(`heavy${k}`, 0);
    for (let k = 0; k < 10_000; k++) t.add(`light${k}`, 0);
    const top = t.top(5);
    expect(top.map((r) => r.key).sort()).toEqual(['heavy0', 'heavy1', 'heavy2', 'heavy3', 'heavy4']);
    expect(top.every((r) => r.total === 50)).toBe(true);
    expect(t.maxDropped).toBe(1);
  });
});

describe('ReportCollector', () => {
  it('counts by cause and origin, top senders, receivers and services (responder side)', () => {
    const r = new ReportCollector();
    r.add(ev({ src_ip: '10.0.0.1', dst_ip: '10.0.0.2', src_port: 80, dst_port: 5000, direction: 'resp' }));
    r.add(
      ev({ src_ip: '10.0.0.3', dst_ip: '10.0.0.2', src_port: 6000, dst_port: 443, direction: 'orig' }, 1000),
    );
    r.add(
      ev(
        {
          src_ip: '2001:db8::1',
          dst_ip: '2001:db8::2',
          dst_port: 22,
          direction: 'orig',
          cause: 'injected_reset',
          origin: 'middlebox',
        },
        2000,
      ),
    );
    const m = r.model();
    expect(m.events).toBe(3);
    expect(m.causes.find((c) => c.cause === 'closed_port')).toMatchObject({
      count: 2,
      byOrigin: { endpoint: 2 },
    });
    expect(m.causes.find((c) => c.cause === 'injected_reset')).toMatchObject({
      count: 1,
      byOrigin: { middlebox: 1 },
    });
    expect(m.causes.length).toBe(CAUSES.length);
    expect(m.origins.find((o) => o.origin === 'middlebox')!.count).toBe(1);
    expect(m.top.receivers[0]).toMatchObject({ key: '10.0.0.2', total: 2 });
    expect(m.top.services.map((s) => s.key).sort()).toEqual([
      '10.0.0.1:80',
      '10.0.0.2:443',
      '[2001:db8::2]:22',
    ]);
    expect(m.firstTs).toBe('2026-11-21T18:00:00.000000Z');
    expect(m.lastTs).toBe('2026-11-21T18:00:02.000000Z');
    expect(m.time.byCause.map((s) => s.name)).toEqual(['closed_port', 'injected_reset']);
  });

  it('selects the first RST of each cause and of each cause/origin pair, not the later ones', () => {
    const r = new ReportCollector();
    r.add(ev({ src_port: 1 }));
    r.add(ev({ src_port: 2 }, 10));
    r.add(ev({ src_port: 3, origin: 'middlebox' }, 20));
    r.add(ev({ src_port: 4, cause: 'app_abort' }, 30));
    const sel = r.model().selected;
    expect(sel.map((s) => [s.id, s.event.src_port])).toEqual([
      ['rst-1', 1],
      ['rst-2', 3],
      ['rst-3', 4],
    ]);
    expect(sel[0]!.reasons).toEqual(['first closed_port', 'first closed_port sent by the endpoint']);
    expect(sel[1]!.reasons).toEqual(['first closed_port sent by a middlebox']);
  });

  it("selects an alert's sample RSTs from recent events, or the next RST on that flow", () => {
    const r = new ReportCollector();
    for (let i = 0; i < 10; i++)
      r.add(
        ev({ src_port: 100 + i, community_id: `1:flow${i}`, cause: 'reset_attack', origin: 'spoofed' }, i),
      );
    r.alert(alert({ id: 'A', community_ids: ['1:flow7', '1:later'] }));
    // A newer version of the same alert picks nothing more, but replaces the one shown.
    r.alert(alert({ id: 'A', version: 2, count: 9, community_ids: ['1:flow8'] }));
    r.add(ev({ src_port: 999, community_id: '1:later', cause: 'reset_attack', origin: 'spoofed' }, 50));
    const m = r.model();
    expect(m.alerts).toHaveLength(1);
    expect(m.alerts[0]).toMatchObject({ id: 'A', version: 2, count: 9 });
    const byId = new Map(m.selected.map((s) => [s.id, s]));
    const samples = m.alertSamples.A!.map((id) => byId.get(id)!.event.src_port);
    expect(samples).toEqual([107, 999]);
    expect(byId.get(m.alertSamples.A![0]!)!.reasons).toEqual(['sample of alert reset_attack on 198.18.0.2']);
  });

  it('bounds the selection', () => {
    const r = new ReportCollector({ max: 5, pairsUpTo: 3 });
    let t = 0;
    for (const cause of CAUSES)
      for (const origin of ['endpoint', 'middlebox'] as const) r.add(ev({ cause, origin, src_port: t }, t++));
    for (let i = 0; i < 20; i++) r.alert(alert({ id: `a${i}`, community_ids: [`1:${i}`] }));
    const sel = r.model().selected;
    // Every cause's first RST is always shown; the pair closed_port/middlebox came while there was room
    // (1 < 3 selected), no other pair past the limits; alert samples only link RSTs already selected.
    expect(sel.length).toBe(CAUSES.length + 1);
    expect(sel[1]!.event).toMatchObject({ cause: 'closed_port', origin: 'middlebox' });
    expect(sel.filter((s) => s.reasons.every((x) => x.startsWith('sample'))).length).toBe(0);
    expect(sel.filter((s) => s.reasons.some((x) => x.startsWith('sample'))).length).toBeGreaterThan(0);
    expect(new Set(sel.map((s) => s.event.cause)).size).toBe(CAUSES.length);
  });

  it('sorts alerts most severe first, then earliest', () => {
    const r = new ReportCollector();
    r.alert(alert({ id: 'low', severity: 'low', severity_score: 21 }));
    r.alert(alert({ id: 'late', first_seen: '2026-11-21T18:05:00.000000Z' }));
    r.alert(alert({ id: 'early' }));
    expect(r.model().alerts.map((a) => a.id)).toEqual(['early', 'late', 'low']);
  });
});
