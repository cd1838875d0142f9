// `rstwatch analyze FILE --html OUT` end to end, opened in a real headless Chromium (Debian's, driven by
// playwright-core): the page loads offline with no console errors and no request leaving the file, every
// chart has the series the capture's events call for (checked against `--format ndjson` of the same run)
// and paints its canvas, every selected RST has its ladder, the alerts table has every alert, and a
// hostile RST payload stays text. Captures: test/fixtures/sample.pcap, a generated 200k-packet capture and
// a hand-built one with a hostile payload. `RSTWATCH_UPDATE_SCREENSHOT=1` refreshes docs/report.png.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CAUSES, ORIGINS, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '@rstwatch/core';
import { ethernet, ipv4, pcapFile, tcp } from '@rstwatch/packet/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, generate, removeTempDirs, root, tempDir } from '../processor/support.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Relative to the repository (the analyses run there): the page's title shows it. */
const SAMPLE = 'test/fixtures/sample.pcap';
const HOSTILE = '</script><img src=x onerror="window.__pwned=1"><b>x';

interface Ev {
  cause: string;
  origin: string;
  src_ip: string;
  dst_ip: string;
  payload_preview: string;
}

interface Analyzed {
  html: string;
  events: Ev[];
  alertIds: Set<string>;
  ms: number;
  bytes: number;
}

let dir: string;
let browser: Browser;

/** `analyze pcap --html --alerts --format ndjson`: the page, the events and the alerts of one run. */
async function analyzeHtml(pcap: string, name: string): Promise<Analyzed> {
  const html = join(dir, `${name}.html`);
  const alerts = join(dir, `${name}-alerts.ndjson`);
  const t0 = performance.now();
  const r = await run(
    process.execPath,
    [cli, 'analyze', pcap, '--html', html, '--alerts', alerts, '--format', 'ndjson', '--no-progress'],
    { maxBuffer: 256 << 20, timeout: 240_000, cwd: root },
  );
  const ms = performance.now() - t0;
  const events = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Ev);
  const alertIds = new Set(
    readFileSync(alerts, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { event: { id: string } }).event.id),
  );
  return { html, events, alertIds, ms, bytes: statSync(html).size };
}

/** Opens a report, recording every console error or warning, page error and request that is not the file. */
async function open(file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  const self = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (r.url() !== self && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
  });
  await page.goto(self);
  await page.waitForSelector('html[data-charts-ready]', { state: 'attached', timeout: 30_000 });
  return { page, problems };
}

interface ChartState {
  labels: string[];
  series: number;
  attr: string | null;
  /** Sum of the first (cumulative: all series) row: the total drawn. */
  total: number;
  /** The cumulative totals per x value. */
  stackTop: number[];
  rowLabels: string[] | null;
  /** Canvas pixels painted in a series colour (not white, not grey). */
  coloured: number;
}

async function charts(page: Page): Promise<Record<string, ChartState>> {
  return page.evaluate(() => {
    const out: Record<string, unknown> = {};
    interface UPlotLike {
      ctx: CanvasRenderingContext2D;
      data: (number | null)[][];
      series: { label: string }[];
      root: HTMLElement;
      rowLabels?: string[];
    }
    const all = (window as unknown as { rstwatchCharts: Record<string, UPlotLike> }).rstwatchCharts;
    for (const [name, u] of Object.entries(all)) {
      const ctx = u.ctx;
      const img = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
      let coloured = 0;
      for (let i = 0; i < img.length; i += 4) {
        const [r, g, b, a] = [img[i]!, img[i + 1]!, img[i + 2]!, img[i + 3]!];
        if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 30) coloured++;
      }
      const top = (u.data[1] ?? []) as number[];
      out[name] = {
        labels: u.series.slice(1).map((s) => s.label),
        series: u.series.length - 1,
        attr: u.root.parentElement!.getAttribute('data-series'),
        total: top.reduce((a, x) => a + (x ?? 0), 0),
        stackTop: top,
        rowLabels: u.rowLabels ?? null,
        coloured,
      };
    }
    return out as Record<string, ChartState>;
  });
}

function inOrder(names: Iterable<string>, order: readonly string[]): string[] {
  const s = new Set(names);
  return order.filter((x) => s.has(x));
}

function topTotals(keys: string[], n = 10): number[] {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m.values()].sort((a, b) => b - a).slice(0, n);
}

/** Everything a report of `a` must show, checked in the browser. */
async function checkReport(a: Analyzed): Promise<Page> {
  const { page, problems } = await open(a.html);
  const c = await charts(page);
  expect(Object.keys(c).sort()).toEqual([
    'time-cause',
    'time-origin',
    'top-receivers',
    'top-senders',
    'top-services',
  ]);
  const causes = inOrder(
    a.events.map((e) => e.cause),
    CAUSES,
  );
  const origins = inOrder(
    a.events.map((e) => e.origin),
    ORIGINS,
  );
  expect(c['time-cause']!.labels).toEqual(causes);
  expect(c['time-origin']!.labels).toEqual(origins);
  for (const name of ['time-cause', 'time-origin']) {
    expect(c[name]!.total, name).toBe(a.events.length);
    expect(c[name]!.attr).toBe(String(c[name]!.series));
  }
  expect(c['top-senders']!.stackTop).toEqual(topTotals(a.events.map((e) => e.src_ip)));
  expect(c['top-receivers']!.stackTop).toEqual(topTotals(a.events.map((e) => e.dst_ip)));
  expect(c['top-senders']!.rowLabels!.length).toBe(c['top-senders']!.stackTop.length);
  expect(c['top-services']!.stackTop.length).toBeGreaterThan(0);
  for (const [name, s] of Object.entries(c)) {
    expect(s.series, name).toBeGreaterThan(0);
    expect(s.coloured, `${name} painted`).toBeGreaterThan(500);
  }

  // Every cause explained; the first RST of each cause has its ladder, with the RST itself drawn.
  expect(await page.locator('table.causes tbody tr').count()).toBe(CAUSES.length);
  const ladders = await page.evaluate(() =>
    [...document.querySelectorAll('article.rst')].map((el) => ({
      cause: el.querySelector('header .chip')!.textContent,
      found: el.getAttribute('data-ladder'),
      sel: el.querySelectorAll('svg.ladder .pkt.sel').length,
      arrows: el.querySelectorAll('svg.ladder .pkt line').length,
      evidence: el.querySelectorAll('ul.evidence li').length,
    })),
  );
  expect(new Set(ladders.map((l) => l.cause))).toEqual(new Set(causes));
  for (const l of ladders) {
    expect(l, JSON.stringify(l)).toMatchObject({ found: 'yes', sel: 1 });
    expect(l.arrows).toBeGreaterThanOrEqual(1);
  }
  expect(ladders.some((l) => l.arrows > 1 && l.evidence > 0)).toBe(true);

  // One row per alert (the --alerts file of the same run has every version of each).
  const rows = await page.evaluate(() =>
    [...document.querySelectorAll('tr.alert')].map((r) => r.getAttribute('data-alert-id')),
  );
  expect(new Set(rows)).toEqual(a.alertIds);
  // Each alert's sample links lead to a ladder on the page.
  const dangling = await page.evaluate(() =>
    [...document.querySelectorAll('tr.alert a[href^="#rst-"]')]
      .map((x) => x.getAttribute('href')!)
      .filter((h) => document.getElementById(h.slice(1)) === null),
  );
  expect(dangling).toEqual([]);
  expect(problems).toEqual([]);
  return page;
}

beforeAll(async () => {
  dir = tempDir('report');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Chromium's sandbox refuses to run as root (containers, CI).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
});

afterAll(async () => {
  await browser?.close();
  removeTempDirs();
});

describe('analyze --html in Chromium', () => {
  it('sample.pcap: every cause, both alerts, a ladder per selected RST; screenshot', async () => {
    const a = await analyzeHtml(SAMPLE, 'sample');
    expect(a.events.length).toBe(74);
    expect(a.alertIds.size).toBeGreaterThan(0);
    const page = await checkReport(a);
    // The ladder of the first closed_port: the SYN, then the RST+ACK answering it.
    const lbl = await page
      .locator('article.rst', { has: page.locator('header .chip', { hasText: /^closed_port$/ }) })
      .first()
      .locator('svg.ladder .pkt text.lbl')
      .allTextContents();
    expect(lbl[0]).toMatch(/^S /);
    expect(lbl.at(-1)).toMatch(/^R\. /);
    // The README's picture: the page without the origin chart and the causes table, and with one ladder
    // (an alert's sample), so that one screen shows each kind of content.
    const height = await page.evaluate(() => {
      const hide = (el: Element | null | undefined) => el?.setAttribute('style', 'display:none');
      hide(document.querySelector('[data-chart="time-origin"]')?.closest('.card'));
      hide(document.getElementById('causes'));
      const keep = document.querySelector('tr.alert a[href^="#rst-"]')!.getAttribute('href')!.slice(1);
      for (const el of document.querySelectorAll('article.rst')) if (el.id !== keep) hide(el);
      const kept = document.getElementById(keep)!;
      return Math.ceil(kept.getBoundingClientRect().bottom + window.scrollY + 16);
    });
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true, clip: { x: 0, y: 0, width: 1400, height } });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    if (process.env.RSTWATCH_UPDATE_SCREENSHOT) copyFileSync(shot, join(root, 'docs/report.png'));
    console.log(`report: sample.pcap -> ${a.bytes} bytes in ${a.ms.toFixed(0)} ms`);
    await page.close();
  });

  it('a generated 200k-packet capture', async () => {
    const pcap = await generate(dir, 200_000, 1);
    const a = await analyzeHtml(pcap, 'gen200k');
    expect(a.events.length).toBeGreaterThan(500);
    const page = await checkReport(a);
    // Bounded selection: the first of each cause plus pairs and alert samples, at most 50 + 17.
    const n = await page.locator('article.rst').count();
    expect(n).toBeLessThanOrEqual(50 + CAUSES.length);
    console.log(`report: 200k packets -> ${a.bytes} bytes in ${a.ms.toFixed(0)} ms, ${n} ladders`);
    await page.close();
  });

  it('a hostile RST payload is shown as text and runs nothing', async () => {
    const C = '198.18.0.1';
    const S = '198.18.0.2';
    const t0 = Date.parse('2026-11-21T18:00:00Z') * 1000;
    const pkt = (from: 'c' | 's', flags: number, seq: number, ack: number, payload = '', ttl = 64) =>
      ethernet(
        0x0800,
        ipv4(
          { src: from === 'c' ? C : S, dst: from === 'c' ? S : C, ttl },
          tcp({
            sport: from === 'c' ? 40000 : 80,
            dport: from === 'c' ? 80 : 40000,
            flags,
            seq,
            ack,
            payload: new TextEncoder().encode(payload),
          }),
        ),
      );
    const frames = [
      pkt('c', TCP_SYN, 100, 0),
      pkt('s', TCP_SYN | TCP_ACK, 500, 101),
      pkt('c', TCP_ACK, 101, 501),
      pkt('c', TCP_PSH | TCP_ACK, 101, 501, 'GET / HTTP/1.1\r\n\r\n'),
      pkt('s', TCP_RST, 501, 0, HOSTILE, 50),
    ];
    const pcap = join(dir, 'hostile.pcap');
    writeFileSync(
      pcap,
      pcapFile(
        1,
        frames.map((frame, i) => ({ tsUs: t0 + i * 1000, frame })),
      ),
    );
    const a = await analyzeHtml(pcap, 'hostile');
    expect(a.events).toHaveLength(1);
    expect(a.events[0]!.payload_preview).toContain('</script><img');
    const { page, problems } = await open(a.html);
    const state = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned,
      imgs: document.querySelectorAll('img').length,
      bold: document.querySelectorAll('main b:not(td b)').length,
      payload: document.querySelector('code.payload')?.textContent,
    }));
    expect(state).toEqual({ pwned: undefined, imgs: 0, bold: 0, payload: a.events[0]!.payload_preview });
    expect(problems).toEqual([]);
    await page.close();
  });
});
