/**
 * Events from real kernel captures (test/fixtures/scenarios, made in network namespaces): each pcap goes
 * through @rstwatch/packet and the real classify Engine, then through the detectors, with thresholds
 * lowered to what one capture holds. Clean captures and tracegen traffic without attacks stay quiet.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@rstwatch/classify';
import type { RstEvent } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { generateTrace } from '@rstwatch/tracegen';
import { describe, expect, it } from 'vitest';
import type { Alert } from './alert.js';
import { cloneEvents, type OptionsSpec, runDetection } from './testing.js';

const DIR = join(import.meta.dirname, '../../../test/fixtures/scenarios');

async function classify(pcap: string, config: Record<string, number> = {}): Promise<RstEvent[]> {
  const engine = Engine.create({ maxFlows: 4096, maxHosts: 1024, ...config });
  const events: RstEvent[] = [];
  await parseCaptureFile(pcap, {
    onBatch: (b) => {
      events.push(...engine.processBatch(b, 'scenario').events);
    },
  });
  events.push(...engine.finish().events);
  return events;
}

function scenario(name: string, config?: Record<string, number>): Promise<RstEvent[]> {
  return classify(join(DIR, `${name}.pcap`), config);
}

const rules = (alerts: readonly Alert[]) => [...new Set(alerts.map((a) => a.rule))].sort();
const latest = (alerts: readonly Alert[], rule: string) => alerts.filter((a) => a.rule === rule).at(-1)!;

describe('kernel scenario captures', () => {
  it('reset_attack_v4: 8 forged RSTs to one victim raise reset_attack (default thresholds)', async () => {
    const ev = await scenario('reset_attack_v4');
    expect(ev.filter((e) => e.cause === 'reset_attack')).toHaveLength(8);
    const { alerts } = runDetection(ev);
    expect(rules(alerts)).toEqual(['reset_attack']);
    const a = latest(alerts, 'reset_attack');
    expect(a.entity).toBe('198.18.1.2');
    expect(a.count).toBe(8);
    expect(a.source_ips).toEqual(['198.18.2.2']);
    expect(a.evidence).toContain('classified_reset_attack=8');
    expect(a.status).toBe('closed');
  });

  it.each(['syn_scan', 'connect_scan'])(
    '%s_v4 and _v6: a vertical scan of 4 ports (scanMinPorts 4)',
    async (name) => {
      for (const v of ['v4', 'v6']) {
        const ev = await scenario(`${name}_${v}`);
        const { alerts } = runDetection(ev, { classifier: { scanMinPorts: 4 } });
        expect(rules(alerts)).toEqual(['port_scan']);
        const a = latest(alerts, 'port_scan');
        expect(a.entity).toBe(v === 'v4' ? '198.18.1.2' : ev.find((e) => e.cause !== 'closed_port')!.src_ip);
        expect(a.details.scan_type).toBe('vertical');
        expect(a.details.distinct_ports).toBe(4);
        expect(String(a.details.probe_mix)).toContain(name === 'syn_scan' ? 'syn' : 'connect');
        expect(String(a.details.probe_mix)).toContain('closed_port');
        // one port fewer does not make a scan
        expect(runDetection(cloneEvents(ev), { classifier: { scanMinPorts: 5 } }).alerts).toEqual([]);
      }
    },
  );

  it('backlog_overflow_v4: 3 resets of completed handshakes make a storm at minRsts 3, not at 4', async () => {
    const ev = await scenario('backlog_overflow_v4');
    const spec: OptionsSpec = { alerts: { backlog_overflow_storm: { minRsts: 3 } } };
    const a = latest(runDetection(ev, spec).alerts, 'backlog_overflow_storm');
    expect(a.entity).toMatch(/^198\.18\.2\.2:\d+$/);
    expect(a.count).toBe(3);
    expect(a.details.distinct_clients).toBe(1);
    const quiet = { alerts: { backlog_overflow_storm: { minRsts: 4 } } };
    expect(runDetection(cloneEvents(ev), quiet).alerts).toEqual([]);
  });

  it('injected_reset and firewall_reject (v4 + v6): middlebox tampering with TTL evidence', async () => {
    for (const name of ['injected_reset', 'firewall_reject']) {
      for (const v of ['v4', 'v6']) {
        const ev = await scenario(`${name}_${v}`);
        const spec: OptionsSpec = { alerts: { middlebox_tampering: { minRsts: 1 } } };
        const { alerts } = runDetection(ev, spec);
        expect(rules(alerts)).toEqual(['middlebox_tampering']);
        const a = latest(alerts, 'middlebox_tampering');
        expect(a.evidence).toContain(`${name}=1`);
        expect((a.details.ttl_deltas as number[]).length).toBeGreaterThan(0);
        expect(a.evidence.some((x) => x.startsWith('ttl_delta='))).toBe(true);
        expect(a.details.signatures).toHaveLength(1);
      }
    }
  });

  it('idle_timeout (v4 + v6): the idle gap is learned as a timer even when idleTimeoutS calls it something else', async () => {
    const ev = [...(await scenario('idle_timeout_v4')), ...(await scenario('idle_timeout_v6'))];
    expect(ev.map((e) => e.cause)).not.toContain('idle_timeout'); // default idleTimeoutS: 120 s
    const gaps = ev.map((e) => e.evidence.find((x) => x.startsWith('idle_gap_s=')));
    expect(gaps.every((g) => g !== undefined)).toBe(true);
    const spec: OptionsSpec = { alerts: { idle_timeout_fingerprint: { minRsts: 1, minIdleS: 1 } } };
    const { alerts } = runDetection(ev, spec);
    const a = latest(alerts, 'idle_timeout_fingerprint');
    const gap = Number(gaps[0]!.slice('idle_gap_s='.length));
    expect(a.details.learned_idle_timer_s).toBe(gap);
    expect(ev[0]!.evidence).toContain(`learned_idle_timer_s=${gap}`);
    // with the capture's own threshold the classifier calls it idle_timeout; the gap evidence is the same
    const classified = await scenario('idle_timeout_v4', { idleTimeoutS: 2 });
    expect(classified[0]!.cause).toBe('idle_timeout');
    expect(classified[0]!.evidence).toContain(gaps[0]);
    // minIdleS above the gap: nothing to learn
    const high = { alerts: { idle_timeout_fingerprint: { minRsts: 1, minIdleS: gap + 1 } } };
    expect(runDetection(cloneEvents(ev), high).alerts).toEqual([]);
  });

  it('every clean capture stays quiet, even with thresholds lowered to 2', async () => {
    const attacks =
      /^(reset_attack|syn_scan|connect_scan|backlog_overflow|injected_reset|firewall_reject|closed_port)_/;
    const names = readdirSync(DIR)
      .filter((f) => f.endsWith('.pcap') && !attacks.test(f))
      .sort();
    expect(names.length).toBeGreaterThanOrEqual(20);
    const low: OptionsSpec = {
      classifier: { burstMinRsts: 2, scanMinPorts: 3 },
      alerts: {
        port_scan: { minHosts: 3 },
        middlebox_tampering: { minRsts: 2 },
        backlog_overflow_storm: { minRsts: 2 },
        idle_timeout_fingerprint: { minRsts: 2 },
      },
    };
    for (const f of names) {
      const expected = JSON.parse(readFileSync(join(DIR, f.replace('.pcap', '.expected.json')), 'utf8'));
      const ev = await scenario(f.replace('.pcap', ''), expected.config);
      expect({ f, alerts: runDetection(ev, low).alerts }).toEqual({ f, alerts: [] });
    }
  });
});

describe('tracegen traffic', () => {
  it('150k packets without attack causes raise nothing; with them, the four attack rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-detect-'));
    try {
      const out = join(dir, 't.pcap');
      await generateTrace({ out, packets: 150_000, seed: 5 });
      const ev = await classify(out, { maxFlows: 65536, maxHosts: 16384 });
      const attack = new Set([
        'reset_attack',
        'syn_scan',
        'connect_scan',
        'closed_port',
        'injected_reset',
        'firewall_reject',
        'backlog_overflow',
      ]);
      const clean = ev.filter(
        (e) => !attack.has(e.cause) && e.origin !== 'middlebox' && e.origin !== 'spoofed',
      );
      expect(clean.length).toBeGreaterThan(150);
      expect(runDetection(cloneEvents(clean)).alerts).toEqual([]);
      const all = rules(runDetection(cloneEvents(ev)).alerts);
      expect(all).toEqual(['backlog_overflow_storm', 'middlebox_tampering', 'port_scan', 'reset_attack']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
