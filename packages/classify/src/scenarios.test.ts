/**
 * Kernel-driven ground truth (test/fixtures/scenarios, made in network namespaces by
 * test/scenarios/generate.sh): every RST of every scenario pcap goes through @rstwatch/packet and the
 * Engine, and its cause and origin must equal the label.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RstEvent } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';

const DIR = join(import.meta.dirname, '../../../test/fixtures/scenarios');

interface Expected {
  scenario: string;
  config: Record<string, number>;
  rsts: {
    src: string;
    dst: string;
    seq: number;
    flags: string;
    cause: string;
    origin: string;
    why: string;
    /** Other `cause/origin` verdicts that are right too (origin unknown where the sender has no baseline). */
    acceptable?: string[];
  }[];
}

const scenarios: Expected[] = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.expected.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Expected)
  : [];

describe('kernel scenario pcaps', () => {
  it('has scenarios to check', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
  });

  it.each(scenarios.map((s) => [s.scenario, s] as const))(
    '%s: cause and origin of every RST',
    async (_n, s) => {
      const engine = Engine.create({ maxFlows: 4096, maxHosts: 1024, ...s.config });
      const events: RstEvent[] = [];
      await parseCaptureFile(join(DIR, `${s.scenario}.pcap`), {
        onBatch: (b) => {
          events.push(...engine.processBatch(b, 'scenario').events);
        },
      });
      events.push(...engine.finish().events);
      expect(
        events.map(
          (e) => `${e.src_ip.includes(':') ? `[${e.src_ip}]` : e.src_ip}:${e.src_port} ${e.flags} ${e.seq}`,
        ),
      ).toEqual(s.rsts.map((r) => `${r.src} ${r.flags} ${r.seq}`));
      // A verdict among the label's acceptable ones counts as the label.
      const got = events.map((e, i) => {
        const v = `${e.cause}/${e.origin}`;
        const r = s.rsts[i]!;
        return r.acceptable?.includes(v) ? `${r.cause}/${r.origin}` : v;
      });
      expect(got).toEqual(s.rsts.map((r) => `${r.cause}/${r.origin}`));
      // A router's REJECT with no baseline is never taken as the server's closed port.
      if (s.scenario.startsWith('firewall_reject'))
        for (const e of events) expect(`${e.cause}/${e.origin}`).not.toBe('closed_port/endpoint');
    },
  );
});
