/**
 * The engine's guarantees: determinism (replay and small reordering), suppression, bounded entities,
 * duplicate drop, version policy (monotonic, rate-limited, closing after quietS), links, odd input.
 */
import type { RstEvent } from '@rstwatch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from './alert.js';
import { alertId, Detection, entityKeys, parseTsUs } from './index.js';
import {
  cleanStream,
  cloneEvents,
  detectionOptions,
  portScanStream,
  resetAttackStream,
  rstEvent,
  runDetection,
  SEC,
  serviceStream,
  T0_US,
} from './testing.js';

/** A mixed stream: every detector has something to find, amid clean traffic. */
function mixed(): RstEvent[] {
  const ev = [
    ...cleanStream({ count: 3000, services: 10, spanS: 1200, seed: 7 }),
    ...resetAttackStream({ count: 50, peers: 4, startUs: T0_US + 100 * SEC, stepUs: 200_000 }),
    ...portScanStream({ hosts: 2, ports: 15, startUs: T0_US + 200 * SEC }),
    ...serviceStream({
      count: 40,
      cause: 'backlog_overflow',
      clients: 20,
      startUs: T0_US + 300 * SEC,
      port: 8080,
    }),
    ...serviceStream({
      count: 8,
      cause: 'injected_reset',
      origin: 'middlebox',
      startUs: T0_US + 400 * SEC,
      stepUs: 3 * SEC,
      port: 853,
      evidence: () => ['ttl_delta=5'],
    }),
    ...serviceStream({
      count: 10,
      cause: 'teardown_reset',
      port: 3306,
      clients: 10,
      startUs: T0_US + 500 * SEC,
      stepUs: 20 * SEC,
      evidence: () => ['fin_seen', 'idle_gap_s=300'],
    }),
  ];
  return ev.sort((a, b) => parseTsUs(a.ts) - parseTsUs(b.ts));
}

const ids = (alerts: readonly Alert[]) => [...new Set(alerts.map((a) => a.id))].sort();
const finalOf = (alerts: readonly Alert[]) => {
  const m = new Map<string, Alert>();
  for (const a of alerts) m.set(a.id, a);
  return [...m.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
};

describe('determinism', () => {
  it('a replay gives the same alerts, ids and versions; every rule is represented', () => {
    const ev = mixed();
    const a = runDetection(cloneEvents(ev)).alerts;
    const b = runDetection(cloneEvents(ev)).alerts;
    expect(b).toEqual(a);
    expect(new Set(a.map((x) => x.rule))).toEqual(
      new Set([
        'reset_attack',
        'port_scan',
        'backlog_overflow_storm',
        'middlebox_tampering',
        'idle_timeout_fingerprint',
      ]),
    );
    for (const x of a) expect(x.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a stream reordered by up to 2 s gives the same ids and the same closing versions', () => {
    const ev = mixed();
    const base = runDetection(cloneEvents(ev)).alerts;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        let x = seed;
        const jit = ev.map((e) => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          return { e, k: parseTsUs(e.ts) + (x % 2_000_000) };
        });
        jit.sort((p, q) => p.k - q.k);
        const got = runDetection(cloneEvents(jit.map((j) => j.e))).alerts;
        expect(ids(got)).toEqual(ids(base));
        // versions may differ by one or two: which arrival doubles the count or starts a new 10 s is order-dependent
        const strip = (a: Alert) => ({ ...a, version: 0 });
        expect(finalOf(got).map(strip)).toEqual(finalOf(base).map(strip));
      }),
      { numRuns: 10 },
    );
  });

  it('alertId is 32 hex of sha256 over rule, entity and first event', () => {
    const id = alertId('port_scan', '192.0.2.1', '2026-01-01T00:00:00.000000Z', '1:abc');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(alertId('port_scan', '192.0.2.1', '2026-01-01T00:00:00.000000Z', '1:abc')).toBe(id);
    expect(alertId('port_scan', '192.0.2.2', '2026-01-01T00:00:00.000000Z', '1:abc')).not.toBe(id);
    expect(alertId('reset_attack', '192.0.2.1', '2026-01-01T00:00:00.000000Z', '1:abc')).not.toBe(id);
  });
});

describe('version policy', () => {
  it('versions of each id count up by one, counts never shrink, closed is last', () => {
    const { alerts } = runDetection(mixed());
    const seen = new Map<string, Alert>();
    for (const a of alerts) {
      const prev = seen.get(a.id);
      if (prev === undefined) expect(a.version).toBe(1);
      else {
        expect(prev.status).toBe('open');
        expect(a.version).toBe(prev.version + 1);
        expect(a.count).toBeGreaterThanOrEqual(prev.count);
      }
      seen.set(a.id, a);
    }
    for (const a of seen.values()) expect(a.status).toBe('closed');
  });

  it('stats count what was emitted; severity comes from the configuration', () => {
    const { alerts, detection } = runDetection(mixed(), { alerts: { port_scan: { severity: 'critical' } } });
    for (const [rule, st] of Object.entries(detection.stats.rules)) {
      const mine = alerts.filter((a) => a.rule === rule);
      expect(st.raised).toBe(mine.filter((a) => a.version === 1).length);
      expect(st.closed).toBe(mine.filter((a) => a.status === 'closed').length);
      expect(st.updated).toBe(mine.length - st.raised - st.closed);
    }
    const scan = alerts.find((a) => a.rule === 'port_scan')!;
    expect([scan.severity, scan.severity_score]).toEqual(['critical', 99]);
    expect(alerts.find((a) => a.rule === 'idle_timeout_fingerprint')!.severity).toBe('low');
  });

  it('closes after quietS of capture time without evidence (advance), at last_seen + quietS', () => {
    const alerts: Alert[] = [];
    const d = new Detection(detectionOptions({ alerts: { quietS: 60 }, onAlert: (a) => alerts.push(a) }));
    for (const e of resetAttackStream({ count: 5 })) d.observe(e);
    expect(alerts).toEqual([]); // armed: raised once the watermark is 5 s further
    d.advance(T0_US + 10 * SEC);
    expect(alerts.map((a) => a.status)).toEqual(['open']);
    const last = parseTsUs(alerts[0]!.last_seen);
    d.advance(last + 60 * SEC);
    expect(alerts).toHaveLength(1); // within quietS + lateness: still open
    d.advance(last + 70 * SEC);
    expect(alerts.map((a) => `${a.version} ${a.status}`)).toEqual(['1 open', '2 closed']);
    expect(parseTsUs(alerts[1]!.updated)).toBe(last + 60 * SEC);
    // new evidence after the close opens a new episode with a new id
    for (const e of resetAttackStream({ count: 5, startUs: last + 100 * SEC })) d.observe(e);
    d.advance(last + 110 * SEC);
    expect(alerts[2]!.version).toBe(1);
    expect(alerts[2]!.id).not.toBe(alerts[0]!.id);
    d.finish();
    expect(alerts.at(-1)!.status).toBe('closed');
  });

  it('rate-limits a 100k-RST flood to a few dozen versions, well under a second', () => {
    const ev = resetAttackStream({ count: 100_000, peers: 1, stepUs: 1000 }); // 100 s of capture time
    const alerts: Alert[] = [];
    const d = new Detection(detectionOptions({ onAlert: (a) => alerts.push(a) }));
    // CPU time, not wall time: this file's process only, so other work on the machine does not count.
    const c0 = process.cpuUsage();
    for (const e of ev) d.observe(e);
    d.finish();
    const c1 = process.cpuUsage(c0);
    const ms = (c1.user + c1.system) / 1000;
    expect(alerts.at(-1)!.count).toBe(100_000);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(1);
    // raised, doublings (at most 15 from 5 to 100k), at most one per 10 s otherwise (10), closing
    expect(alerts.length).toBeLessThanOrEqual(1 + 15 + 11 + 1);
    expect(alerts.length).toBeGreaterThanOrEqual(5);
    expect(ms).toBeLessThan(1000);
    const links = d.takeLinks();
    expect(links).toHaveLength(100_000);
    expect(d.takeLinks()).toHaveLength(0);
  });

  it('a new source in the sample makes a version at once; beyond sampleSize it waits', () => {
    const alerts: Alert[] = [];
    const d = new Detection(detectionOptions({ alerts: { sampleSize: 12 }, onAlert: (a) => alerts.push(a) }));
    const ev = resetAttackStream({ count: 14, peers: 14, stepUs: SEC });
    for (const e of ev) d.observe(e);
    // armed at 5 (t=4 s), raised when the watermark reaches 9 s; peers 10 to 12 fill the sample, 13 and 14 wait
    expect(alerts.map((a) => a.count)).toEqual([9, 10, 11, 12]);
    expect(alerts[3]!.source_ips).toHaveLength(12);
  });
});

describe('suppression', () => {
  it('by rule and entity CIDR, and by source CIDR: not raised, counted', () => {
    const ev = [
      ...resetAttackStream({ count: 10, victim: '10.9.0.1' }),
      ...portScanStream({ hosts: 1, ports: 12 }),
    ];
    ev.sort((a, b) => parseTsUs(a.ts) - parseTsUs(b.ts));
    const r1 = runDetection(cloneEvents(ev), {
      alerts: { suppress: [{ rule: 'reset_attack', entity: '10.9.0.0/16', reason: 'lab' }] },
    });
    expect(r1.alerts.map((a) => a.rule)).not.toContain('reset_attack');
    expect(r1.alerts.map((a) => a.rule)).toContain('port_scan');
    expect(r1.detection.stats.rules.reset_attack.suppressed).toBe(1);
    const r2 = runDetection(cloneEvents(ev), { alerts: { suppress: [{ source: '192.0.2.0/24' }] } });
    expect(new Set(r2.alerts.map((a) => a.rule))).toEqual(new Set(['reset_attack']));
    expect(r2.detection.stats.rules.port_scan.suppressed).toBe(1);
    // a rule for another entity or a source CIDR that does not hold every source suppresses nothing
    const r3 = runDetection(cloneEvents(ev), {
      alerts: { suppress: [{ entity: '10.8.0.0/16' }, { source: '203.0.113.1/32', rule: 'port_scan' }] },
    });
    expect(new Set(r3.alerts.map((a) => a.rule))).toEqual(new Set(['reset_attack', 'port_scan']));
  });

  it('an exact ip:port entity', () => {
    const ev = serviceStream({ count: 20, cause: 'backlog_overflow', port: 8080 });
    const r = runDetection(ev, { alerts: { suppress: [{ entity: '198.18.0.10:8080' }] } });
    expect(r.alerts).toEqual([]);
    expect(r.detection.stats.rules.backlog_overflow_storm.suppressed).toBe(1);
  });
});

describe('bounds and odd input', () => {
  it('keeps at most maxEntities per detector, evicting the least recently seen (counted)', () => {
    const ev: RstEvent[] = [];
    for (let v = 0; v < 500; v++)
      ev.push(
        ...resetAttackStream({ count: 2, victim: `10.9.${v >> 8}.${v & 255}`, startUs: T0_US + v * SEC }),
      );
    const { detection } = runDetection(ev, { alerts: { maxEntities: 100 } });
    expect(detection.entities('reset_attack')).toBe(100);
    expect(detection.stats.rules.reset_attack.evicted).toBe(400);
    expect(detection.stats.evicted).toBeGreaterThanOrEqual(400);
  });

  it('evicts the least recently seen entity, not the first seen', () => {
    // a and b raise alerts; a is seen again; c then takes a place: b's episode is closed by the eviction.
    const a = resetAttackStream({ count: 6, victim: '10.9.0.1', startUs: T0_US });
    const b = resetAttackStream({ count: 6, victim: '10.9.0.2', startUs: T0_US + SEC });
    const a2 = resetAttackStream({ count: 1, victim: '10.9.0.1', startUs: T0_US + 2 * SEC });
    const c = resetAttackStream({ count: 1, victim: '10.9.0.3', startUs: T0_US + 3 * SEC });
    const alerts: Alert[] = [];
    const d = new Detection(detectionOptions({ alerts: { maxEntities: 2 }, onAlert: (x) => alerts.push(x) }));
    for (const e of [...a, ...b, ...a2, ...c]) d.observe(e, 'victim');
    const closed = alerts.filter((x) => x.status === 'closed').map((x) => x.entity);
    expect(closed).toEqual(['10.9.0.2']);
    expect(d.stats.rules.reset_attack.evicted).toBe(1);
  });

  it('drops exact duplicates (a processor republishing) and counts them', () => {
    const ev = resetAttackStream({ count: 8 });
    const twice = [...ev.slice(0, 4), ...ev.slice(0, 4).map((e) => ({ ...e })), ...ev.slice(4)];
    const { latest, detection } = runDetection(twice);
    expect(latest[0]!.count).toBe(8);
    expect(detection.stats.duplicates).toBe(4);
    expect(detection.stats.events).toBe(8);
  });

  it('counts malformed events and never throws (property)', () => {
    const d = new Detection(detectionOptions());
    d.observe({ ...rstEvent(), ts: 'yesterday' });
    d.observe({ ...rstEvent(), src_port: 70000 });
    d.observe({ ...rstEvent(), cause: 'gremlins' } as unknown as RstEvent);
    d.observe(null as unknown as RstEvent);
    d.observe(rstEvent(), 'nonsense' as never);
    expect(d.stats.badEvents).toBe(5);
    fc.assert(
      fc.property(fc.anything(), (x) => {
        d.observe(x as RstEvent);
        entityKeys(x as RstEvent);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({ ts: fc.string(), evidence: fc.array(fc.string()), seq: fc.double() }),
        (over) => {
          d.observe({ ...rstEvent(), ...over });
        },
      ),
    );
  });

  it('parses RFC 3339 capture times to µs', () => {
    expect(parseTsUs('2026-01-01T00:00:01.000002Z')).toBe(T0_US + 1_000_002);
    expect(parseTsUs('2026-01-01T00:00:01Z')).toBe(T0_US + 1_000_000);
    expect(parseTsUs('2026-01-01T00:00:01.5Z')).toBe(T0_US + 1_500_000);
    expect(parseTsUs('2026-01-01 00:00:01Z')).toBeNaN();
    expect(parseTsUs('2026-01-01T00:00:01.12a456Z')).toBeNaN();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000_000 }), (us) => {
        const ts = rstEvent({ us }).ts;
        expect(parseTsUs(ts)).toBe(us);
      }),
    );
  });
});

describe('kinds, entity keys and links', () => {
  it('entityKeys: service for every event, victim and scanner only where their detectors can use it', () => {
    expect(entityKeys(rstEvent())).toEqual([['service', '198.18.0.10:443']]);
    expect(entityKeys(resetAttackStream({ count: 1, victim: '10.9.0.1' })[0]!)).toEqual([
      ['victim', '10.9.0.1'],
      ['service', '203.0.113.1:443'],
    ]);
    const closed = portScanStream({ hosts: 1, ports: 1, type: 'closed_port' })[0]!;
    expect(entityKeys(closed)).toEqual([
      ['scanner', '192.0.2.66'],
      ['service', '10.20.0.1:20'],
    ]);
    const v6 = rstEvent({ src_ip: '2001:db8::1', dst_ip: '2001:db8::2', src_port: 443, direction: 'resp' });
    expect(entityKeys(v6)).toEqual([['service', '[2001:db8::1]:443']]);
    const unknown = rstEvent({ src_port: 50000, dst_port: 22, direction: 'unknown' });
    expect(entityKeys(unknown)).toEqual([['service', '10.0.0.1:22']]);
  });

  it('per-kind instances fed by entityKeys raise exactly what one embedded instance raises', () => {
    const ev = mixed();
    const embedded = runDetection(cloneEvents(ev)).alerts;
    const split: Alert[] = [];
    const byKind = new Map(
      (['victim', 'scanner', 'service'] as const).map((k) => [
        k,
        new Detection(detectionOptions({ kinds: [k], onAlert: (a) => split.push(a) })),
      ]),
    );
    // the detection stage advances every instance to the time of its partitions
    for (const e of cloneEvents(ev)) {
      for (const [k] of entityKeys(e)) byKind.get(k)!.observe(e, k);
      for (const d of byKind.values()) d.advance(parseTsUs(e.ts));
    }
    for (const d of byKind.values()) d.finish();
    expect(finalOf(split)).toEqual(finalOf(embedded));
  });

  it('takeLinks lists every contributing event once per alert, including those before it fired', () => {
    const d = new Detection(detectionOptions());
    const ev = resetAttackStream({ count: 7 });
    for (const e of ev) d.observe(e);
    expect(d.takeLinks()).toEqual([]); // armed, not raised yet
    d.advance(T0_US + 10 * SEC);
    const links = d.takeLinks();
    expect(links.map((l) => l.ts)).toEqual(ev.map((e) => e.ts));
    expect(new Set(links.map((l) => `${l.rule} ${l.alert_id}`)).size).toBe(1);
    expect(links[0]).toEqual({
      alert_id: links[0]!.alert_id,
      rule: 'reset_attack',
      ts: ev[0]!.ts,
      community_id: ev[0]!.community_id,
      sensor: 's1',
      src_ip: ev[0]!.src_ip,
      src_port: ev[0]!.src_port,
      dst_ip: ev[0]!.dst_ip,
      dst_port: ev[0]!.dst_port,
    });
  });

  it('disabled rules and alerts.enabled=false raise nothing', () => {
    const ev = resetAttackStream({ count: 20 });
    expect(runDetection(cloneEvents(ev), { alerts: { reset_attack: { enabled: false } } }).alerts).toEqual(
      [],
    );
    expect(runDetection(cloneEvents(ev), { alerts: { enabled: false } }).alerts).toEqual([]);
  });
});
