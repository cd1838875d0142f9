/** The report page's stylesheet (inlined; no web fonts, nothing fetched). */
export const REPORT_CSS = `
:root { --fg: #1d2330; --muted: #6b7384; --line: #e3e6eb; --bg: #f5f6f8; --card: #fff; --accent: #c62828; }
* { box-sizing: border-box; }
html { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
a { color: #2f5fa7; text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { background: #1d2330; color: #fff; padding: 18px 32px 0; }
header.top .brand { font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #ff8a80; font-weight: 600; }
header.top h1 { margin: 4px 0 2px; font-size: 22px; font-weight: 600; word-break: break-all; }
header.top .sub { margin: 0; color: #b9c0cc; font-size: 13px; }
header.top nav { margin-top: 12px; display: flex; gap: 4px; }
header.top nav a { color: #dfe3ea; padding: 7px 12px; border-radius: 6px 6px 0 0; font-size: 13px; }
header.top nav a:hover { background: #2c3444; text-decoration: none; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 32px 40px; }
section { margin-top: 28px; }
h2 { font-size: 18px; margin: 0 0 10px; font-weight: 600; }
h3 { font-size: 14px; margin: 0 0 8px; font-weight: 600; }
h4 { font-size: 13px; margin: 0 0 6px; font-weight: 600; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.nowrap { white-space: nowrap; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 14px; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.kpi .v { font-size: 26px; font-weight: 650; line-height: 1.1; word-break: break-all; }
.kpi .l { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin-top: 4px; }
.kpi .s { font-size: 12px; color: var(--muted); }
.grid3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; align-items: start; }
@media (max-width: 1100px) { .grid3 { grid-template-columns: 1fr; } .kpis { grid-template-columns: repeat(2, 1fr); } }
.chart { width: 100%; min-height: 60px; }
table.data { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
table.data th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); background: #fafbfc; border-bottom: 1px solid var(--line); padding: 7px 10px; }
table.data td { border-bottom: 1px solid #eef0f3; padding: 6px 10px; vertical-align: top; }
table.data tr:last-child td { border-bottom: 0; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.readout { font-size: 12px; color: var(--muted); min-height: 18px; margin-top: 4px; word-break: break-all; }
table.causes tr.unseen td { color: #a3a9b5; }
table.causes tr.unseen .chip { opacity: .45; }
.chip { display: inline-block; padding: 1px 8px 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap;
  border-left: 10px solid var(--c); background: color-mix(in srgb, var(--c) 14%, white); }
.rst header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; font-size: 14px; }
.rst header .n { font-weight: 700; color: var(--muted); }
.rst header .phase { font-size: 12px; color: var(--muted); border: 1px solid var(--line); border-radius: 10px; padding: 0 8px; }
.rst header .flow { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.rst .why { margin: 6px 0 10px; }
.rst .cols { display: grid; grid-template-columns: minmax(280px, 1fr) 660px; gap: 18px; }
@media (max-width: 1100px) { .rst .cols { grid-template-columns: 1fr; } }
.rst ul.evidence { margin: 0 0 10px; padding-left: 18px; }
.rst ul.evidence li { margin-bottom: 3px; }
.rst ul.evidence code { color: var(--muted); }
.rst dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; font-size: 12.5px; }
.rst dt { color: var(--muted); }
.rst dd { margin: 0; word-break: break-all; }
.rst code.payload { white-space: pre-wrap; word-break: break-all; }
.diagram { overflow-x: auto; }
svg.ladder { display: block; max-width: 100%; height: auto; background: #fbfcfd; border: 1px solid #eef0f3; border-radius: 6px; }
svg.ladder text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: #3b4352; }
svg.ladder text.host { font-weight: 600; font-size: 12px; fill: var(--fg); }
svg.ladder text.role { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.ladder text.dt { fill: var(--muted); }
svg.ladder line.life { stroke: #9aa3b2; stroke-width: 2; }
svg.ladder .pkt line { stroke: #56627a; stroke-width: 1.3; }
svg.ladder .pkt.rst line { stroke: #e89a9b; stroke-width: 1.6; }
svg.ladder .pkt.rst text.lbl { fill: #b0484a; }
svg.ladder .pkt.sel line { stroke: var(--accent); stroke-width: 2.6; }
svg.ladder .pkt.sel text.lbl { fill: var(--accent); font-weight: 700; }
details.more { margin-top: 8px; }
details.more summary { cursor: pointer; color: #2f5fa7; font-size: 13px; margin-bottom: 8px; }
table.alerts td:nth-child(2) { min-width: 170px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 20px; }
.u-legend { font-size: 12px; text-align: left; }
.u-legend .u-marker { border-radius: 2px; }
`;
