/**
 * Each detector on synthetic streams: it fires on the traffic it is meant for and stays quiet on clean
 * traffic of the same size; the alert's evidence and details say why.
 */
import type { RstEvent } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import type { Alert } from './alert.js';
import {
  cleanStream,
  portScanStream,
  resetAttackStream,
  runDetection,
  SEC,
  serviceStream,
  T0_US,
} from './testing.js';

const byRule = (alerts: readonly Alert[], rule: string) => alerts.filter((a) => a.rule === rule);
const first = (alerts: readonly Alert[], rule: string) => byRule(alerts, rule)[0]!;

describe('reset_attack', () => {
  it('fires on 40 forged RSTs to one victim from 3 peers, with sequence evidence counts', () => {
    const events = resetAttackStream({
      victim: '10.9.0.1',
      port: 51000,
      peers: 3,
      count: 40,
      stepUs: 200_000,
    });
    const { latest, alerts } = runDetection(events);
    const ra = byRule(latest, 'reset_attack');
    expect(ra).toHaveLength(1);
    const a = ra[0]!;
    expect(a.status).toBe('closed');
    expect(a.entity_kind).toBe('victim');
    expect(a.entity).toBe('10.9.0.1');
    expect(a.count).toBe(40);
    expect(a.source_ips).toEqual(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    expect(a.destination_ip).toBe('10.9.0.1');
    expect(a.destination_port).toBe(51000);
    expect(a.evidence).toEqual(
      expect.arrayContaining(['rsts=40', 'peers=3', 'seq_in_window_not_exact=40', 'rst_seq_change=40']),
    );
    expect(a.details.port_counts).toEqual([40]);
    expect(a.severity).toBe('high');
    expect(a.summary).toMatch(/^40 forged-looking RSTs aimed at 10\.9\.0\.1 port 51000 from 3 peers/);
    // armed at the 5th RST (classifier.burstMinRsts, 0.8 s), raised 5 s of capture time later (the 30th),
    // named after the first
    const v1 = alerts.find((x) => x.rule === 'reset_attack' && x.version === 1)!;
    expect(v1.count).toBe(30);
    expect(v1.first_seen).toBe(events[0]!.ts);
  });

  it('counts spoofed/middlebox RSTs with sequence evidence, not on-path verdicts or plain endpoint aborts', () => {
    const mk = (cause: RstEvent['cause'], origin: RstEvent['origin'], evidence: string[]) =>
      resetAttackStream({ count: 10 }).map((e) => ({ ...e, cause, origin, evidence }));
    const fire = (ev: RstEvent[]) => byRule(runDetection(ev).latest, 'reset_attack').length;
    expect(fire(mk('other', 'spoofed', ['seq_out_of_window']))).toBe(1);
    expect(fire(mk('stale_connection', 'middlebox', ['data_after_rst']))).toBe(1);
    expect(fire(mk('injected_reset', 'middlebox', ['seq_in_window_not_exact']))).toBe(0);
    expect(fire(mk('app_abort', 'endpoint', ['seq_in_window_not_exact']))).toBe(0);
    expect(fire(mk('other', 'spoofed', ['no_ack_flag']))).toBe(0);
  });

  it('stays quiet below the burst: 4 forged RSTs, or RSTs spread wider than windowS', () => {
    expect(byRule(runDetection(resetAttackStream({ count: 4 })).alerts, 'reset_attack')).toHaveLength(0);
    const spread = resetAttackStream({ count: 20, stepUs: 20 * SEC });
    expect(byRule(runDetection(spread).alerts, 'reset_attack')).toHaveLength(0);
  });
});

describe('port_scan', () => {
  it('vertical syn scan: 12 ports of one host fires at scanMinPorts (10)', () => {
    const { latest, alerts } = runDetection(portScanStream({ hosts: 1, ports: 12 }));
    const a = first(latest, 'port_scan');
    expect(a.entity).toBe('192.0.2.66');
    expect(a.entity_kind).toBe('scanner');
    expect(a.source_ips).toEqual(['192.0.2.66']);
    expect(a.destination_ip).toBe('10.20.0.1');
    expect(a.details.scan_type).toBe('vertical');
    expect(a.details.probe_mix).toBe('syn');
    expect(a.details.distinct_ports).toBe(12);
    expect(a.details.ports).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
    // armed at the 10th port; the 11th and 12th arrive before it is raised
    expect(first(alerts, 'port_scan').count).toBe(12);
  });

  it('horizontal closed-port scan: one port on 10 hosts (scanner = the RSTs receiver)', () => {
    const { latest } = runDetection(portScanStream({ hosts: 10, ports: 1, type: 'closed_port' }));
    const a = first(latest, 'port_scan');
    expect(a.entity).toBe('192.0.2.66');
    expect(a.details.scan_type).toBe('horizontal');
    expect(a.details.probe_mix).toBe('closed_port');
    expect(a.details.distinct_hosts).toBe(10);
    expect(a.destination_port).toBe(20);
    expect(a.evidence).toContain('closed_port=10');
  });

  it('connect scan with port_scan.minHosts lowered; quiet on 9 ports or on probes slower than the window', () => {
    const c = runDetection(portScanStream({ hosts: 3, ports: 1, type: 'connect' }), {
      alerts: { port_scan: { minHosts: 3 } },
    });
    expect(first(c.latest, 'port_scan').details.probe_mix).toBe('connect');
    expect(byRule(runDetection(portScanStream({ hosts: 1, ports: 9 })).alerts, 'port_scan')).toHaveLength(0);
    const slow = portScanStream({ hosts: 1, ports: 30, stepUs: 7 * SEC });
    expect(byRule(runDetection(slow).alerts, 'port_scan')).toHaveLength(0);
  });
});

describe('middlebox_tampering', () => {
  const injected = (count: number, step = SEC) =>
    serviceStream({
      count,
      cause: 'injected_reset',
      origin: 'middlebox',
      stepUs: step,
      clients: 4,
      extra: { ttl: 57, ttl_expected: 60, signature: 'PSH+ACK→RST' },
      evidence: (i) => ['ttl_delta=-3', 'no_ack_flag', ...(i % 2 === 0 ? ['ipid_gap=812'] : [])],
    });

  it('fires on 6 injected RSTs on one service with TTL, IP ID and signature evidence', () => {
    const a = first(runDetection(injected(6)).latest, 'middlebox_tampering');
    expect(a.entity).toBe('198.18.0.10:443');
    expect(a.destination_ip).toBe('198.18.0.10');
    expect(a.destination_port).toBe(443);
    expect(a.count).toBe(6);
    expect(a.evidence).toEqual(
      expect.arrayContaining([
        'injected_reset=6',
        'ttl_delta=-3',
        'ipid_gap_rsts=3',
        'signature=PSH+ACK→RST',
      ]),
    );
    expect(a.details.ttl_deltas).toEqual([-3]);
    expect(a.details.ipid_gaps).toEqual([812]);
    expect(a.details.signatures).toEqual(['PSH+ACK→RST=6']);
    expect(a.details.distinct_clients).toBe(4);
  });

  it('stays quiet on 2 injected RSTs and on endpoint aborts of the same count', () => {
    expect(byRule(runDetection(injected(2)).alerts, 'middlebox_tampering')).toHaveLength(0);
    const clean = serviceStream({ count: 6, cause: 'app_abort', stepUs: SEC });
    expect(runDetection(clean).alerts).toHaveLength(0);
  });
});

describe('backlog_overflow_storm', () => {
  it('fires on 30 backlog overflows within 3 s on one server:port', () => {
    const ev = serviceStream({
      count: 30,
      cause: 'backlog_overflow',
      clients: 30,
      stepUs: 100_000,
      port: 8080,
    });
    const { latest, alerts } = runDetection(ev);
    const a = first(latest, 'backlog_overflow_storm');
    expect(a.entity).toBe('198.18.0.10:8080');
    expect(a.count).toBe(30);
    expect(a.details.distinct_clients).toBe(30);
    expect(first(alerts, 'backlog_overflow_storm').count).toBe(30);
  });

  it('stays quiet on the same 30 spread over 10 minutes (2 per window)', () => {
    const ev = serviceStream({ count: 30, cause: 'backlog_overflow', clients: 30, stepUs: 20 * SEC });
    expect(byRule(runDetection(ev).alerts, 'backlog_overflow_storm')).toHaveLength(0);
  });

  it('keys the service by direction: a client RST (orig) names the destination as the server', () => {
    const ev = serviceStream({
      count: 10,
      cause: 'backlog_overflow',
      server: '10.5.5.5',
      port: 51000,
      direction: 'orig',
    });
    for (const e of ev) {
      e.dst_ip = '198.18.9.9';
      e.dst_port = 25;
    }
    expect(first(runDetection(ev).latest, 'backlog_overflow_storm').entity).toBe('198.18.9.9:25');
  });
});

describe('rst_rate_anomaly', () => {
  /** `base` RSTs per minute for `minutes`, then `burst` in one minute. */
  function series(base: number, minutes: number, burst: number): RstEvent[] {
    const ev: RstEvent[] = [];
    for (let m = 0; m < minutes; m++)
      ev.push(
        ...serviceStream({
          count: base,
          cause: 'app_abort',
          clients: 50,
          startUs: T0_US + m * 60 * SEC,
          stepUs: SEC,
        }),
      );
    ev.push(
      ...serviceStream({
        count: burst,
        cause: 'app_abort',
        clients: 50,
        startUs: T0_US + minutes * 60 * SEC,
        stepUs: 50_000,
      }),
    );
    return ev;
  }

  it('fires when a minute holds 100 RSTs against a learned 5 per minute', () => {
    const { latest, alerts } = runDetection(series(5, 20, 100));
    const a = first(latest, 'rst_rate_anomaly');
    expect(a.entity).toBe('198.18.0.10:443');
    expect(a.details.cause).toBe('app_abort');
    expect(a.details.baseline_mean).toBeCloseTo(5, 0);
    expect(a.details.peak_bucket_rsts).toBe(100);
    const v1 = first(alerts, 'rst_rate_anomaly');
    // mean 5, sd floor sqrt(5): threshold 5 + 4*2.24 = 13.9, and minRsts 20: armed at the 20th
    expect(v1.details.first_bucket_rsts).toBe(20);
    expect(v1.details.threshold).toBe(20);
    expect(a.count).toBe(100);
  });

  it('stays quiet on a steady 30 per minute (same total size), during warm-up, and on a flat zero baseline', () => {
    expect(runDetection(series(30, 24, 30)).alerts).toHaveLength(0);
    expect(runDetection(series(5, 5, 100)).alerts).toHaveLength(0);
    // zero baseline after warm-up: one RST, then silence, then 3 RSTs with minRsts 1 - sd floor holds
    const sparse = [
      ...serviceStream({ count: 1, cause: 'app_abort' }),
      ...serviceStream({ count: 3, cause: 'app_abort', startUs: T0_US + 30 * 60 * SEC }),
    ];
    expect(runDetection(sparse, { alerts: { rst_rate_anomaly: { minRsts: 1 } } }).alerts).toHaveLength(0);
  });

  it('counts per cause: a burst of a new cause is judged against its own (empty) baseline', () => {
    const ev = series(30, 15, 0);
    ev.push(
      ...serviceStream({ count: 40, cause: 'teardown_reset', startUs: T0_US + 15 * 60 * SEC, stepUs: SEC }),
    );
    // teardown_reset has no history before its burst: warm-up not done, nothing fires
    expect(runDetection(ev).alerts).toHaveLength(0);
  });
});

describe('idle_timeout_fingerprint', () => {
  /** Resets after `gaps[i]` seconds of silence, none of them classified idle_timeout. */
  function idleStream(gaps: number[]): RstEvent[] {
    return serviceStream({
      count: gaps.length,
      cause: 'app_abort',
      clients: gaps.length,
      stepUs: 30 * SEC,
      evidence: (i) => ['seq_exact', `idle_gap_s=${gaps[i]}`],
    });
  }

  it('learns a 350 s timer from 5 gaps within 2 s and marks later matching RSTs', () => {
    const ev = idleStream([350, 351, 349, 350, 351, 350, 200, 352]);
    const { latest, alerts } = runDetection(ev);
    const a = first(latest, 'idle_timeout_fingerprint');
    expect(a.entity).toBe('198.18.0.10:443');
    expect(a.details.learned_idle_timer_s).toBe(350);
    expect(a.evidence).toContain('learned_idle_timer_s=350');
    expect(first(alerts, 'idle_timeout_fingerprint').count).toBe(5);
    expect(a.count).toBe(7);
    expect(a.summary).toContain('7 of them not called idle_timeout');
    // the 5th (learning) event and later matches carry the learned timer; the 200 s one does not
    expect(ev.map((e) => e.evidence.includes('learned_idle_timer_s=350'))).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
      false,
      true,
    ]);
  });

  it('learns the timer amid RSTs after random idle gaps (a quarter of the remembered gaps suffices)', () => {
    const gaps = [12, 340, 77, 350, 5, 351, 190, 349, 260, 350, 33, 351, 120, 64, 230, 350, 99, 410];
    const a = first(runDetection(idleStream(gaps)).latest, 'idle_timeout_fingerprint');
    expect(a.details.learned_idle_timer_s).toBe(350);
    expect(a.count).toBe(6);
  });

  it('stays quiet on 8 RSTs after scattered gaps, and ignores gaps below minIdleS', () => {
    expect(runDetection(idleStream([10, 60, 120, 200, 290, 350, 400, 30])).alerts).toHaveLength(0);
    expect(runDetection(idleStream([3, 3, 3, 3, 3, 3, 3, 3])).alerts).toHaveLength(0);
  });
});

describe('clean traffic', () => {
  it('20,000 benign RSTs over 20 services and 2 hours raise nothing', () => {
    const { alerts, detection } = runDetection(cleanStream({ count: 20_000, services: 20, spanS: 7200 }));
    expect(alerts).toEqual([]);
    expect(detection.stats.events).toBe(20_000);
  });
});
