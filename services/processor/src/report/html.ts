/**
 * Renders the report model as one self-contained HTML page: tables, ladder diagrams (inline SVG) and
 * text are rendered here, every capture-derived string escaped; the charts are drawn in the browser by
 * uPlot (its minified build inlined from node_modules) and the page's script (`client.ts`) from a JSON
 * element. A Content-Security-Policy allows only those two scripts (by hash) and no network access.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { CAUSES, type Cause, ORIGINS, type Origin } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { CAUSE_EXPLANATIONS } from '../summary.js';
import { CLIENT_JS } from './client.js';
import { endpointText, type ReportModel, type SelectedRst } from './data.js';
import { evidenceWords } from './evidence.js';
import type { Ladder, LadderPacket } from './ladder.js';
import { REPORT_CSS } from './style.js';

/** One colour per cause, grouped by family (handshake refusals blue, scans purple, tampering warm). */
export const CAUSE_COLORS: Record<Cause, string> = {
  closed_port: '#4e79a7',
  firewall_reject: '#2f4b7c',
  backlog_overflow: '#76b7b2',
  malformed_syn: '#9ecae9',
  time_wait_reuse: '#59a14f',
  syn_scan: '#b07aa1',
  connect_scan: '#7b4f9d',
  retransmission_timeout: '#edc948',
  idle_timeout: '#c49a1a',
  app_abort: '#8cd17d',
  stale_connection: '#499894',
  teardown_reset: '#a0cbc6',
  time_wait_assassination: '#9c755f',
  injected_reset: '#f28e2b',
  reset_attack: '#e15759',
  unsolicited: '#bab0ac',
  other: '#d3d3d3',
};

export const ORIGIN_COLORS: Record<Origin, string> = {
  endpoint: '#4e79a7',
  middlebox: '#f28e2b',
  spoofed: '#e15759',
  unknown: '#bab0ac',
};

/** What the page says about the run, beside the model. */
export interface ReportInfo {
  /** Capture file as given (or "standard input"). */
  file: string;
  headers: number;
  flows: number;
  /** Analysis time, seconds. */
  seconds: number;
  /** Whether the detectors ran (alerts.enabled). */
  alertsEnabled: boolean;
  /** When the page was made (default now). */
  generatedAt?: Date;
  /** Why there are no ladders, when there are none (e.g. the capture came on standard input). */
  laddersNote?: string;
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** JSON safe inside a `<script type="application/json">` element (no `</script>`, no `<!--`). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const require = createRequire(import.meta.url);
let uplotCache: Promise<{ js: string; css: string; version: string }> | undefined;

/** uPlot's minified build and stylesheet, read once from node_modules. */
export function loadUplot(): Promise<{ js: string; css: string; version: string }> {
  uplotCache ??= (async () => {
    const js = await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    const version = /uPlot \(v([\d.]+)\)/.exec(js)?.[1] ?? /\(v([\d.]+)\)/.exec(js)?.[1] ?? '?';
    // An inline script ends at the first `</script`: make sure the library has none (JS reads `<\/` as `</`).
    return { js: js.replace(/<\/(script)/gi, '<\\/$1'), css, version };
  })();
  return uplotCache;
}

const nf = (n: number) => n.toLocaleString('en-US');

function pct(part: number, whole: number): string {
  if (whole === 0) return '0';
  const p = (100 * part) / whole;
  return p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1);
}

/** "2 min 27 s", "350 ms", "3 h 2 min". */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number.isInteger(s) || s >= 10 ? Math.round(s) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - h * 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `2026-11-21 18:48:21` (UTC) from an RFC 3339 time; `withFraction` keeps the microseconds. */
function when(ts: string, withFraction = false): string {
  return ts.slice(0, withFraction ? 26 : 19).replace('T', ' ');
}

/** Signed offset from the RST, e.g. `−12.3 ms`, `+2.004 s`, `0`. */
export function offsetText(us: number): string {
  if (us === 0) return '0';
  const sign = us < 0 ? '−' : '+';
  const a = Math.abs(us);
  if (a < 1000) return `${sign}${a} µs`;
  if (a < 1_000_000) return `${sign}${(a / 1000).toFixed(a < 10_000 ? 2 : 1)} ms`;
  return `${sign}${(a / 1_000_000).toFixed(3)} s`;
}

function chip(text: string, color: string): string {
  return `<span class="chip" style="--c:${color}">${escapeHtml(text)}</span>`;
}

function causeChip(c: Cause): string {
  return chip(c, CAUSE_COLORS[c] ?? '#999');
}

const SEVERITY_COLORS: Record<string, string> = {
  low: '#8a94a6',
  medium: '#d9a100',
  high: '#e0662b',
  critical: '#c62828',
};

function kpis(m: ReportModel, info: ReportInfo): string {
  const forged = m.origins
    .filter((o) => o.origin === 'middlebox' || o.origin === 'spoofed')
    .reduce((a, o) => a + o.count, 0);
  const top = m.causes.filter((c) => c.count > 0).sort((a, b) => b.count - a.count)[0];
  const worst = m.alerts[0];
  const cards: [string, string, string][] = [
    [nf(m.events), 'RSTs classified', `${nf(info.headers)} TCP headers, ${nf(info.flows)} flows`],
    [
      top ? escapeHtml(top.cause) : '–',
      'most common cause',
      top ? `${nf(top.count)} RSTs (${pct(top.count, m.events)} %)` : 'no RSTs',
    ],
    [nf(forged), 'not from the endpoint', `${pct(forged, m.events)} % sent by a middlebox or spoofed`],
    [
      info.alertsEnabled ? nf(m.alerts.length) : 'off',
      'alerts',
      worst
        ? `highest: ${escapeHtml(worst.severity)} ${escapeHtml(worst.rule)}`
        : info.alertsEnabled
          ? 'none raised'
          : 'detectors disabled',
    ],
  ];
  return `<div class="kpis">${cards
    .map(
      ([v, l, sub]) =>
        `<div class="kpi"><div class="v">${v}</div><div class="l">${l}</div><div class="s">${sub}</div></div>`,
    )
    .join('')}</div>`;
}

/** Alerts shown before the rest are folded. */
const ALERTS_SHOWN = 8;

function alertsSection(m: ReportModel, info: ReportInfo): string {
  if (!info.alertsEnabled)
    return '<p class="muted">The detectors were disabled (alerts.enabled = false).</p>';
  if (m.alerts.length === 0) return '<p class="muted">No alerts were raised on this capture.</p>';
  const rows = m.alerts.map((a: Alert) => {
    const samples = (m.alertSamples[a.id] ?? [])
      .map((id) => `<a href="#${escapeHtml(id)}">${escapeHtml(id.replace('rst-', '#'))}</a>`)
      .join(' ');
    const ev = a.evidence.map((e) => `<code>${escapeHtml(e)}</code>`).join(' ');
    return `<tr class="alert" data-alert-id="${escapeHtml(a.id)}">
<td>${chip(a.severity, SEVERITY_COLORS[a.severity] ?? '#999')}</td>
<td><b>${escapeHtml(a.rule)}</b><div class="muted small">${escapeHtml(a.entity_kind)} ${escapeHtml(a.entity)}</div></td>
<td class="num">${nf(a.count)}</td>
<td class="nowrap small">${escapeHtml(when(a.first_seen))}<br>${escapeHtml(when(a.last_seen))}</td>
<td>${escapeHtml(a.summary)}<div class="small">${ev}</div></td>
<td class="small">${escapeHtml(a.status)}</td>
<td class="small">${samples || '<span class="muted">–</span>'}</td>
</tr>`;
  });
  const head =
    '<thead><tr><th>severity</th><th>rule / entity</th><th class="num">RSTs</th><th>first / last seen (UTC)</th><th>summary and evidence</th><th>status</th><th>ladders</th></tr></thead>';
  const table = (rs: string[]) => `<table class="data alerts">${head}<tbody>${rs.join('')}</tbody></table>`;
  // The most severe first; the rest folded so the charts stay near the top.
  if (rows.length <= ALERTS_SHOWN + 2) return table(rows);
  return `${table(rows.slice(0, ALERTS_SHOWN))}<details class="more"><summary>${rows.length - ALERTS_SHOWN} more alerts</summary>${table(rows.slice(ALERTS_SHOWN))}</details>`;
}

function causesSection(m: ReportModel): string {
  const seen = m.causes.filter((c) => c.count > 0).sort((a, b) => b.count - a.count);
  const unseen = m.causes.filter((c) => c.count === 0);
  const row = (
    c: ReportModel['causes'][number],
  ) => `<tr class="${c.count === 0 ? 'unseen' : ''}" data-cause="${c.cause}">
<td>${causeChip(c.cause)}</td>
<td class="num">${c.count === 0 ? '–' : nf(c.count)}</td>
<td class="num">${c.count === 0 ? '' : `${pct(c.count, m.events)} %`}</td>
${ORIGINS.map((o) => `<td class="num">${c.byOrigin[o] ? nf(c.byOrigin[o]) : '<span class="muted">·</span>'}</td>`).join('')}
<td>${escapeHtml(CAUSE_EXPLANATIONS[c.cause])}</td></tr>`;
  return `<table class="data causes"><thead><tr><th>cause</th><th class="num">RSTs</th><th class="num">share</th>${ORIGINS.map((o) => `<th class="num">${o}</th>`).join('')}<th>what it means</th></tr></thead>
<tbody>${seen.map(row).join('')}${unseen.map(row).join('')}</tbody></table>`;
}

/** Arrow heads of the ladder's packets: plain, other RSTs, the selected RST (colours as in style.ts). */
const ARROWS: [string, string][] = [
  ['pkt', '#56627a'],
  ['rst', '#e89a9b'],
  ['sel', '#c62828'],
];

/** The ladder diagram of one RST: originator on the left when known, one arrow per packet. */
export function ladderSvg(s: SelectedRst, ladder: Ladder): string {
  const e = s.event;
  const sender = endpointText(e.src_ip, e.src_port);
  const receiver = endpointText(e.dst_ip, e.dst_port);
  // The sender is drawn left when it is the connection's originator.
  const senderLeft = e.direction === 'orig';
  const packets: LadderPacket[] = [...ladder.before, ...(ladder.rst ? [ladder.rst] : []), ...ladder.after];
  const W = 640;
  const L = 170;
  const R = 600;
  const top = 50;
  const rowH = 32;
  const H = top + packets.length * rowH + 16;
  const out: string[] = [];
  out.push(
    `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="packets before and after the RST">`,
    `<defs>${ARROWS.map(([k, color]) => `<marker id="ah-${k}-${s.id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`).join('')}</defs>`,
  );
  const leftLabel = senderLeft ? sender : receiver;
  const rightLabel = senderLeft ? receiver : sender;
  const role = (isSender: boolean) => (isSender ? 'RST sender' : 'RST receiver');
  out.push(
    `<text class="host" x="${L}" y="16" text-anchor="middle">${escapeHtml(leftLabel)}</text>`,
    `<text class="role" x="${L}" y="30" text-anchor="middle">${role(senderLeft)}</text>`,
    `<text class="host" x="${R}" y="16" text-anchor="end">${escapeHtml(rightLabel)}</text>`,
    `<text class="role" x="${R}" y="30" text-anchor="end">${role(!senderLeft)}</text>`,
    `<line class="life" x1="${L}" y1="38" x2="${L}" y2="${H - 6}"/>`,
    `<line class="life" x1="${R}" y1="38" x2="${R}" y2="${H - 6}"/>`,
    `<text class="role" x="8" y="30">time from RST</text>`,
  );
  packets.forEach((p, i) => {
    const y = top + i * rowH + 6;
    const fromLeft = p.fromSender === senderLeft;
    const x1 = fromLeft ? L : R;
    const x2 = fromLeft ? R : L;
    const isRst = p.flags.includes('R');
    const cls = p.rst ? 'pkt sel' : isRst ? 'pkt rst' : 'pkt';
    const label = `${p.flags}  seq ${p.seq}  ack ${p.ack}  len ${p.len}  ttl ${p.ttl}${p.ipId !== null ? `  id ${p.ipId}` : ''}  win ${p.win}`;
    out.push(
      `<g class="${cls}"><text class="dt" x="8" y="${y + 12}">${escapeHtml(offsetText(p.dtUs))}</text>`,
      `<line x1="${x1}" y1="${y + 6}" x2="${x2}" y2="${y + 18}" marker-end="url(#ah-${p.rst ? 'sel' : isRst ? 'rst' : 'pkt'}-${s.id})"/>`,
      `<text class="lbl" x="${(L + R) / 2}" y="${y + 3}" text-anchor="middle">${escapeHtml(label)}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

function detail(k: string, v: string): string {
  return `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`;
}

/** The reasons, without one that another only makes more precise ("first x" beside "first x sent by ..."). */
function reasonsText(reasons: readonly string[]): string {
  return reasons
    .filter((r) => !reasons.some((o) => o !== r && o.startsWith(`${r} `)))
    .map(escapeHtml)
    .join('; ');
}

function selectedCard(s: SelectedRst, ladder: Ladder | undefined, note: string | undefined): string {
  const e = s.event;
  const dir = `${escapeHtml(endpointText(e.src_ip, e.src_port))} → ${escapeHtml(endpointText(e.dst_ip, e.dst_port))}`;
  const ttl = e.ttl_expected === null ? String(e.ttl) : `${e.ttl} (expected ${e.ttl_expected})`;
  const dl = [
    detail('time (UTC)', escapeHtml(when(e.ts, true))),
    detail('flags', `<code>${escapeHtml(e.flags)}</code>`),
    detail('seq / ack', `${e.seq} / ${e.ack}`),
    detail('TTL', escapeHtml(ttl)),
    detail('IP ID', e.ip_id === null ? '–' : String(e.ip_id)),
    detail(
      'window',
      `${e.in_window === null ? '–' : e.in_window ? 'in window' : 'out of window'}${e.seq_exact ? ', exact' : ''}`,
    ),
    detail('signature', escapeHtml(e.signature)),
    detail('conn_state / history', `${escapeHtml(e.conn_state)} / <code>${escapeHtml(e.history)}</code>`),
    detail('confidence', e.confidence.toFixed(2)),
    detail('community_id', `<code class="small">${escapeHtml(e.community_id)}</code>`),
  ];
  if (e.payload_len > 0) {
    dl.push(
      detail(`payload (${e.payload_len} B)`, `<code class="payload">${escapeHtml(e.payload_preview)}</code>`),
    );
  }
  const evidence =
    e.evidence.length === 0
      ? '<p class="muted">No evidence items.</p>'
      : `<ul class="evidence">${e.evidence
          .map((x) => `<li>${escapeHtml(evidenceWords(x))} <code>${escapeHtml(x)}</code></li>`)
          .join('')}</ul>`;
  let diagram: string;
  if (ladder === undefined)
    diagram = `<p class="muted">${escapeHtml(note ?? 'No packets were kept for this RST.')}</p>`;
  else if (!ladder.found)
    diagram = '<p class="muted">The second pass over the capture did not find this RST.</p>';
  else diagram = ladderSvg(s, ladder);
  return `<article class="rst card" id="${escapeHtml(s.id)}" data-ladder="${ladder?.found ? 'yes' : 'no'}">
<header><span class="n">${escapeHtml(s.id.replace('rst-', '#'))}</span> ${causeChip(e.cause)} ${chip(e.origin, ORIGIN_COLORS[e.origin] ?? '#999')} <span class="phase">${escapeHtml(e.phase)}</span> <span class="flow">${dir}</span></header>
<p class="why small">Selected as: ${reasonsText(s.reasons)}. <span class="muted">${escapeHtml(CAUSE_EXPLANATIONS[e.cause])}.</span></p>
<div class="cols"><div class="facts"><h4>Evidence</h4>${evidence}<dl>${dl.join('')}</dl></div>
<div class="diagram">${diagram}</div></div>
</article>`;
}

function topBox(title: string, chart: string, n: number): string {
  return `<div class="card"><h3>${title}</h3>${n === 0 ? '<p class="muted">none</p>' : `<div class="chart" data-chart="${chart}"></div>`}</div>`;
}

/** The whole page. */
export async function renderReport(
  m: ReportModel,
  ladders: Map<string, Ladder>,
  info: ReportInfo,
): Promise<string> {
  const uplot = await loadUplot();
  const generated = (info.generatedAt ?? new Date()).toISOString().slice(0, 19).replace('T', ' ');
  const span =
    m.events === 0
      ? 'no RSTs'
      : `${escapeHtml(when(m.firstTs))} → ${escapeHtml(when(m.lastTs))} UTC (${durationText(Date.parse(m.lastTs) - Date.parse(m.firstTs))})`;
  const chartData = {
    causes: CAUSES,
    colors: { cause: CAUSE_COLORS, origin: ORIGIN_COLORS },
    time: m.time,
    top: m.top,
  };
  const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  const csp = `default-src 'none'; script-src ${sha(uplot.js)} ${sha(CLIENT_JS)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const bin = durationText(m.time.stepMs).replace(/ 0 s$/, '');
  const approx =
    m.topApproximation > 0
      ? `<p class="muted small">Counts below may be short by up to ${nf(m.topApproximation)} (too many distinct hosts to count them all exactly).</p>`
      : '';
  const selected = m.selected.map((s) => selectedCard(s, ladders.get(s.id), info.laddersNote)).join('\n');
  const body = `
<header class="top">
  <div class="brand">rstwatch · RST report</div>
  <h1>${escapeHtml(info.file)}</h1>
  <p class="sub">${span} · analysed in ${info.seconds.toFixed(1)} s · generated ${generated} UTC</p>
  <nav><a href="#alerts">Alerts</a><a href="#time">Over time</a><a href="#causes">Causes</a><a href="#top">Top talkers</a><a href="#ladders">Ladders</a></nav>
</header>
<main>
${kpis(m, info)}
<section id="alerts"><h2>Alerts</h2>${alertsSection(m, info)}</section>
<section id="time"><h2>RSTs over time</h2>
${
  m.events === 0
    ? '<p class="muted">No RST packets in this capture.</p>'
    : `<p class="muted small">Capture time (UTC), bars of ${escapeHtml(bin)}. Hover for counts.</p>
<div class="card"><h3>By cause</h3><div class="chart" data-chart="time-cause"></div></div>
<div class="card"><h3>By origin <span class="muted small">(who really sent them)</span></h3><div class="chart" data-chart="time-origin"></div></div>`
}
</section>
<section id="causes"><h2>Causes</h2>${causesSection(m)}</section>
<section id="top"><h2>Top talkers</h2>${approx}
<div class="grid3">${topBox('RST senders', 'top-senders', m.top.senders.length)}${topBox('RST receivers', 'top-receivers', m.top.receivers.length)}${topBox('Services <span class="muted small">(responder ip:port)</span>', 'top-services', m.top.services.length)}</div>
</section>
<section id="ladders"><h2>Selected RSTs, packet by packet</h2>
<p class="muted small">The first RST of each cause, samples of each alert and the first of each cause and origin pair; up to 12 packets of the connection before each and 8 after. The RST is drawn in red, other RSTs in pink.</p>
${m.selected.length === 0 ? '<p class="muted">No RSTs to show.</p>' : selected}
</section>
</main>
<footer>Generated by <code>rstwatch analyze --html</code>. Charts: uPlot ${escapeHtml(uplot.version)} (MIT), inlined. This file makes no network requests.</footer>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rstwatch">
<title>rstwatch report: ${escapeHtml(info.file)}</title>
<style>${uplot.css}</style>
<style>${REPORT_CSS}</style>
</head>
<body>${body}
<script type="application/json" id="rstwatch-data">${jsonForScript(chartData)}</script>
<script>${uplot.js}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}
