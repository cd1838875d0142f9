// The Alerts section of the `analyze` table: the latest version of each alert, most severe first (then
// the earliest), at most `topN` rows (20 by default) and a line counting the rest.
import type { RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { sampleAlert } from '@rstwatch/sinks/testing';
import { describe, expect, it } from 'vitest';
import { Summary } from './summary.js';

const INFO = { file: 'x.pcap', headers: 10, flows: 2, seconds: 0.1 };

/** One RST event (the table renders its sections only when there is at least one). */
const EVENT = {
  ts: '2026-01-01T00:00:00.000001Z',
  src_ip: '198.18.0.2',
  src_port: 443,
  dst_ip: '203.0.113.7',
  dst_port: 50000,
  direction: 'resp',
  cause: 'reset_attack',
  origin: 'spoofed',
} as RstEvent;

function summaryWith(alerts: readonly Alert[]): Summary {
  const s = new Summary();
  s.add(EVENT);
  for (const a of alerts) s.alert(a);
  return s;
}

/** The lines of the Alerts section: its title, then the table (header, dashes, rows), then "... more". */
function alertsSection(text: string): string[] {
  const lines = text.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Alerts'));
  expect(at, text).toBeGreaterThanOrEqual(0);
  return lines.slice(at);
}

/** The data rows of the Alerts table (after the header and the dashes), without the "more" line. */
function rows(text: string): string[] {
  return alertsSection(text)
    .slice(3)
    .filter((l) => !l.startsWith('  ... and'));
}

const id = (n: number) => `${n.toString(16).padStart(32, '0')}`;

describe('Summary alerts section', () => {
  it('says none were raised when there are none', () => {
    const text = summaryWith([]).render(INFO);
    expect(alertsSection(text)).toEqual(['Alerts: none raised.']);
  });

  it('shows the latest version of each alert once, whatever order the versions came in', () => {
    const a1 = sampleAlert({ id: id(1), version: 1, count: 5, summary: 'first alert v1' });
    const a2 = sampleAlert({ id: id(1), version: 2, count: 9, summary: 'first alert v2' });
    const a3 = sampleAlert({ id: id(1), version: 3, count: 12, status: 'closed', summary: 'first alert v3' });
    const b2 = sampleAlert({ id: id(2), version: 2, count: 7, entity: '198.18.0.9', summary: 'second v2' });
    const b1 = sampleAlert({ id: id(2), version: 1, count: 4, entity: '198.18.0.9', summary: 'second v1' });
    // a3 before a2 and b2 before b1: a late older version must not replace the newer one.
    const s = summaryWith([a1, a3, a2, b2, b1]);
    expect(s.alerts).toBe(2);
    const text = s.render(INFO);
    const section = alertsSection(text);
    expect(section[0]).toBe('Alerts (2):');
    const r = rows(text);
    expect(r).toHaveLength(2);
    expect(r.some((l) => l.endsWith('first alert v3') && /\s12\s/.test(l))).toBe(true);
    expect(r.some((l) => l.endsWith('second v2') && /\s7\s/.test(l))).toBe(true);
    expect(text).not.toMatch(/first alert v1|first alert v2|second v1/);
    expect(section.some((l) => l.includes('... and'))).toBe(false);
  });

  it('orders by severity (critical first), then by first seen', () => {
    const mk = (n: number, severity: Alert['severity'], score: number, first: string) =>
      sampleAlert({
        id: id(n),
        severity,
        severity_score: score,
        first_seen: first,
        summary: `alert-${n}`,
      });
    const list = [
      mk(1, 'low', 21, '2026-01-01T00:00:01.000000Z'),
      mk(2, 'high', 73, '2026-01-01T00:00:05.000000Z'),
      mk(3, 'medium', 47, '2026-01-01T00:00:02.000000Z'),
      mk(4, 'critical', 99, '2026-01-01T00:00:09.000000Z'),
      mk(5, 'high', 73, '2026-01-01T00:00:03.000000Z'),
      mk(6, 'medium', 47, '2026-01-01T00:00:00.500000Z'),
    ];
    const text = summaryWith(list).render(INFO);
    const r = rows(text);
    expect(r.map((l) => /alert-(\d+)$/.exec(l)?.[1])).toEqual(['4', '5', '2', '6', '3', '1']);
    expect(r.map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'critical',
      'high',
      'high',
      'medium',
      'medium',
      'low',
    ]);
    // The first-seen column is the UTC time to the second.
    expect(r[0]).toContain('2026-01-01 00:00:09');
  });

  it('shows at most 20 alerts by default and counts the rest in an "... and N more" line', () => {
    const list = Array.from({ length: 27 }, (_, i) =>
      sampleAlert({
        id: id(i + 1),
        // Alternate severities so the 20 shown are the most severe ones.
        severity: i % 3 === 0 ? 'critical' : 'low',
        severity_score: i % 3 === 0 ? 99 : 21,
        first_seen: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000000Z`,
        summary: `alert-${i + 1}`,
      }),
    );
    const text = summaryWith(list).render(INFO);
    const section = alertsSection(text);
    expect(section[0]).toBe('Alerts (27):');
    const r = rows(text);
    expect(r).toHaveLength(20);
    expect(section.at(-1)).toBe('  ... and 7 more (--alerts FILE writes them all)');
    // Every critical one (9 of them) is shown, first; the low ones left out are the latest.
    expect(r.slice(0, 9).every((l) => l.trim().startsWith('critical'))).toBe(true);
    const shown = r.map((l) => Number(/alert-(\d+)$/.exec(l)?.[1]));
    const lowShown = shown.slice(9);
    expect(lowShown).toEqual([...lowShown].sort((a, b) => a - b));
    expect(Math.max(...lowShown)).toBeLessThan(
      Math.min(...list.map((_, i) => i + 1).filter((n) => !shown.includes(n))),
    );
  });

  it('with exactly 20 alerts there is no "more" line; topN lowers the limit', () => {
    const list = Array.from({ length: 20 }, (_, i) =>
      sampleAlert({ id: id(i + 1), summary: `alert-${i + 1}` }),
    );
    const all = summaryWith(list).render(INFO);
    expect(rows(all)).toHaveLength(20);
    expect(all).not.toContain('... and');
    const few = summaryWith(list).render({ ...INFO, topN: 3 });
    expect(rows(few)).toHaveLength(3);
    expect(alertsSection(few).at(-1)).toBe('  ... and 17 more (--alerts FILE writes them all)');
  });
});
