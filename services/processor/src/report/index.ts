/**
 * `rstwatch analyze FILE --html OUT`: one self-contained HTML page (charts, causes, alerts, ladder
 * diagrams). `HtmlReport` is fed the events and alerts as `analyze` streams them; `write` reads the
 * capture a second time for the packets around the selected RSTs (not possible for standard input) and
 * writes the page.
 */
import { writeFile } from 'node:fs/promises';
import type { RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { ReportCollector } from './data.js';
import { type ReportInfo, renderReport } from './html.js';
import { collectLadders, type Ladder } from './ladder.js';

export { ReportCollector, type ReportModel, type SelectedRst, TimeBins, TopCounter } from './data.js';
export { escapeHtml, type ReportInfo, renderReport } from './html.js';
export { collectLadders, type Ladder, LadderCollector, type LadderPacket } from './ladder.js';

export interface HtmlReportWrite {
  /** Capture path for the second pass, or null when it cannot be read again (standard input). */
  capture: string | null;
  /** What the page calls the input. */
  label: string;
  headers: number;
  flows: number;
  seconds: number;
  alertsEnabled: boolean;
}

/** Collects what the report shows while `analyze` runs, and writes the page at the end. */
export class HtmlReport {
  private readonly collector = new ReportCollector();

  constructor(private readonly out: string) {}

  add(events: readonly RstEvent[]): void {
    for (const e of events) this.collector.add(e);
  }

  alert(a: Alert): void {
    this.collector.alert(a);
  }

  /** Second pass over the capture for the ladders, then the page; returns its size in bytes. */
  async write(w: HtmlReportWrite): Promise<number> {
    const model = this.collector.model();
    let ladders = new Map<string, Ladder>();
    const info: ReportInfo = {
      file: w.label,
      headers: w.headers,
      flows: w.flows,
      seconds: w.seconds,
      alertsEnabled: w.alertsEnabled,
    };
    if (w.capture !== null) ladders = await collectLadders(w.capture, model.selected);
    else
      info.laddersNote =
        'The capture came on standard input and cannot be read a second time for its packets.';
    const html = await renderReport(model, ladders, info);
    try {
      await writeFile(this.out, html);
    } catch (err) {
      throw new Error(`writing the HTML report to ${this.out}`, { cause: err });
    }
    return Buffer.byteLength(html);
  }
}
