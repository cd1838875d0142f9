// The processor's counters and their Prometheus exposition: RST events by cause and by origin.
import type { RstEvent } from '@rstwatch/core';
import { createMetrics } from '@rstwatch/telemetry';
import { describe, expect, it } from 'vitest';
import { exposeMetrics } from './expose.js';
import { ProcessorMetrics } from './metrics.js';
import type { ConsumerLoop } from './processor.js';
import type { UnitWriter } from './unit-writer.js';

const tp = { topic: 'rstwatch.headers.v1', partition: 3 };
const ev = (cause: RstEvent['cause'], origin: RstEvent['origin']) => ({ cause, origin });

/** The exposition lines of one metric family, without HELP/TYPE. */
async function series(m: ReturnType<typeof createMetrics>, name: string): Promise<string[]> {
  const text = await m.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .sort();
}

function exposed() {
  const pm = new ProcessorMetrics();
  const m = createMetrics('rstwatch_', { service: 'processor' });
  const writer = { failures: 0, insertedRows: {}, retrying: 0 } as unknown as UnitWriter;
  const loop = { assignedPartitions: 1 } as unknown as ConsumerLoop;
  exposeMetrics(m, pm, writer, loop);
  return { pm, m };
}

describe('ProcessorMetrics', () => {
  it('counts emitted events in total, by cause and by origin; headers without events count no event', () => {
    const pm = new ProcessorMetrics();
    pm.headers(tp, 100, [
      ev('reset_attack', 'spoofed'),
      ev('reset_attack', 'spoofed'),
      ev('closed_port', 'endpoint'),
    ]);
    pm.headers(tp, 50, []); // warm-up replay: headers, no events
    pm.headers(tp, 0, [ev('injected_reset', 'middlebox'), ev('closed_port', 'endpoint')]); // a tick
    expect(pm.headersTotal).toBe(150);
    expect(pm.eventsTotal).toBe(5);
    expect(Object.fromEntries(pm.eventsByCause)).toEqual({
      reset_attack: 2,
      closed_port: 2,
      injected_reset: 1,
    });
    expect(Object.fromEntries(pm.eventsByOrigin)).toEqual({ spoofed: 2, endpoint: 2, middlebox: 1 });
    expect(pm.headersByPartition.get('rstwatch.headers.v1/3')).toBe(150);
  });

  it('rstEvents counts events that did not come through headers (the embedded run mode)', () => {
    const pm = new ProcessorMetrics();
    pm.rstEvents([ev('syn_scan', 'endpoint')]);
    expect([pm.headersTotal, pm.eventsTotal, pm.eventsByCause.get('syn_scan')]).toEqual([0, 1, 1]);
  });
});

describe('exposeMetrics', () => {
  it('exposes rstwatch_processor_rst_events_by_cause_total and _by_origin_total, read at scrape time', async () => {
    const { pm, m } = exposed();
    expect(await series(m, 'rstwatch_processor_rst_events_by_cause_total')).toEqual([]);
    pm.headers(tp, 10, [
      ev('reset_attack', 'spoofed'),
      ev('reset_attack', 'spoofed'),
      ev('app_abort', 'endpoint'),
    ]);
    expect(await series(m, 'rstwatch_processor_rst_events_by_cause_total')).toEqual([
      'rstwatch_processor_rst_events_by_cause_total{cause="app_abort",service="processor"} 1',
      'rstwatch_processor_rst_events_by_cause_total{cause="reset_attack",service="processor"} 2',
    ]);
    expect(await series(m, 'rstwatch_processor_rst_events_by_origin_total')).toEqual([
      'rstwatch_processor_rst_events_by_origin_total{origin="endpoint",service="processor"} 1',
      'rstwatch_processor_rst_events_by_origin_total{origin="spoofed",service="processor"} 2',
    ]);
    // Later scrapes follow the counters; the totals agree with rst_events_total.
    pm.headers(tp, 10, [ev('reset_attack', 'unknown')]);
    expect(await series(m, 'rstwatch_processor_rst_events_by_cause_total')).toContain(
      'rstwatch_processor_rst_events_by_cause_total{cause="reset_attack",service="processor"} 3',
    );
    expect(await series(m, 'rstwatch_processor_rst_events_by_origin_total')).toContain(
      'rstwatch_processor_rst_events_by_origin_total{origin="unknown",service="processor"} 1',
    );
    expect(await series(m, 'rstwatch_processor_rst_events_total')).toEqual([
      'rstwatch_processor_rst_events_total{service="processor"} 4',
    ]);
  });
});
