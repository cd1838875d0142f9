import { createHash } from 'node:crypto';
import { CAUSES, type RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { describe, expect, it } from 'vitest';
import { CAUSE_EXPLANATIONS } from '../summary.js';
import { ReportCollector } from './data.js';
import { durationText, escapeHtml, jsonForScript, loadUplot, offsetText, renderReport } from './html.js';
import type { Ladder } from './ladder.js';

const HOSTILE = '</script><img src=x onerror="window.__pwned=1"><!--';

function ev(over: Partial<RstEvent> = {}): RstEvent {
  return {
    ts: '2026-11-21T18:00:00.000001Z',
    sensor: 's',
    community_id: '1:abc',
    src_ip: '198.18.0.2',
    src_port: 443,
    dst_ip: '198.18.0.1',
    dst_port: 40000,
    direction: 'resp',
    cause: 'injected_reset',
    origin: 'middlebox',
    phase: 'established',
    confidence: 0.8,
    flags: 'R',
    seq: 501,
    ack: 0,
    ttl: 57,
    ttl_expected: 63,
    ip_id: 1,
    in_window: true,
    seq_exact: true,
    payload_len: HOSTILE.length,
    payload_preview: HOSTILE,
    signature: 'PSH+ACK→RST',
    conn_state: 'RSTR',
    history: 'ShADdR',
    evidence: ['ttl_delta=6', 'rst_with_payload', 'something_new'],
    ...over,
  };
}

const alert: Alert = {
  id: 'a'.repeat(32),
  version: 1,
  rule: 'middlebox_tampering',
  status: 'open',
  severity: 'high',
  severity_score: 73,
  summary: `tampering on ${HOSTILE}`,
  first_seen: '2026-11-21T18:00:00.000001Z',
  last_seen: '2026-11-21T18:00:00.000001Z',
  updated: '2026-11-21T18:00:00.000001Z',
  count: 1,
  entity_kind: 'service',
  entity: '198.18.0.2:443',
  source_ips: ['198.18.0.2'],
  destination_ip: '198.18.0.2',
  destination_port: 443,
  sensors: ['s'],
  community_ids: ['1:abc'],
  evidence: ['rsts=1'],
  details: {},
};

const ladder: Ladder = {
  found: true,
  before: [
    {
      dtUs: -1500,
      fromSender: false,
      flags: 'P.',
      seq: 101,
      ack: 501,
      len: 517,
      ttl: 64,
      ipId: 7,
      win: 502,
      rst: false,
    },
  ],
  rst: {
    dtUs: 0,
    fromSender: true,
    flags: 'R',
    seq: 501,
    ack: 0,
    len: 0,
    ttl: 57,
    ipId: 1,
    win: 0,
    rst: true,
  },
  after: [],
};

async function page(events: RstEvent[], alerts: Alert[] = []) {
  const r = new ReportCollector();
  for (const e of events) r.add(e);
  for (const a of alerts) r.alert(a);
  const m = r.model();
  const ladders = new Map(m.selected.map((s) => [s.id, ladder]));
  const html = await renderReport(m, ladders, {
    file: `capture-${HOSTILE}.pcap`,
    headers: 10,
    flows: 2,
    seconds: 0.1,
    alertsEnabled: true,
    generatedAt: new Date('2026-12-01T00:00:00Z'),
  });
  return { m, html };
}

describe('escaping', () => {
  it('escapeHtml and jsonForScript', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const j = jsonForScript({ k: HOSTILE, l: '\u2028&' });
    expect(j).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(j)).toEqual({ k: HOSTILE, l: '\u2028&' });
  });

  it('a hostile payload preview, alert summary and file name appear as text only', async () => {
    const { html } = await page([ev()], [alert]);
    // Only the page's own markup: the hostile text never opens an element or closes a script.
    expect(html).not.toContain('<img');
    expect(html).not.toContain('onerror="');
    expect(html).not.toContain('<!--');
    expect(html.match(/<\/script>/g)).toHaveLength(3); // data, uPlot, the page script
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain(`<code class="payload">${escapeHtml(HOSTILE)}</code>`);
    expect(html).toContain(`tampering on ${escapeHtml(HOSTILE)}`);
    expect(html).toContain(`<title>rstwatch report: capture-${escapeHtml(HOSTILE)}.pcap</title>`);
  });
});

describe('renderReport', () => {
  it('a page with no network access, only its own scripts allowed (by hash)', async () => {
    const { html } = await page([ev()]);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline'; script");
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(2);
    for (const s of scripts) {
      expect(csp).toContain(`'sha256-${createHash('sha256').update(s).digest('base64')}'`);
    }
    const uplot = await loadUplot();
    expect(scripts[0]).toBe(uplot.js);
    expect(uplot.version).toMatch(/^\d+\.\d+\.\d+$/);
    // Nothing points outside the file.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(http/);
  });

  it('explains every cause, with counts for those seen', async () => {
    const { html } = await page([ev(), ev({ cause: 'closed_port', origin: 'endpoint', seq: 9 })]);
    for (const c of CAUSES) {
      expect(html).toContain(`data-cause="${c}"`);
      expect(html).toContain(escapeHtml(CAUSE_EXPLANATIONS[c]));
    }
  });

  it('each selected RST: evidence in words, its ladder with the RST marked, alert links', async () => {
    const { m, html } = await page([ev()], [alert]);
    expect(m.selected).toHaveLength(1);
    expect(html).toContain('<article class="rst card" id="rst-1" data-ladder="yes">');
    expect(html).toContain(
      "its TTL is 6 away from what this host's other packets predict".replace("'", '&#39;'),
    );
    expect(html).toContain('the RST carries a payload');
    expect(html).toContain('<code>something_new</code>');
    expect(html).toMatch(/<g class="pkt sel">[\s\S]*?R {2}seq 501 {2}ack 0/);
    expect(html).toContain('−1.50 ms');
    expect(html).toMatch(/data-alert-id="a{32}"[\s\S]*?<a href="#rst-1">#1<\/a>/);
  });

  it('no RSTs: a page that says so', async () => {
    const { html } = await page([]);
    expect(html).toContain('No RST packets in this capture.');
    expect(html).toContain('No RSTs to show.');
  });
});

describe('formatting', () => {
  it('durations and offsets', () => {
    expect(durationText(350)).toBe('350 ms');
    expect(durationText(5000)).toBe('5 s');
    expect(durationText(2500)).toBe('2.5 s');
    expect(durationText(147_000)).toBe('2 min 27 s');
    expect(durationText(3 * 3600_000 + 120_000)).toBe('3 h 2 min');
    expect(offsetText(0)).toBe('0');
    expect(offsetText(-25)).toBe('−25 µs');
    expect(offsetText(11_200)).toBe('+11.2 ms');
    expect(offsetText(2_004_000)).toBe('+2.004 s');
  });
});
