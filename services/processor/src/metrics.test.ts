// The processor's counters and their Prometheus exposition: RST events by cause and by origin; duplicate,
// reordered and late packets by sensor, and flow-table evictions, as a worker returns them.
import { Engine } from '@rstwatch/classify';
import { buildColumns, type PacketSpec } from '@rstwatch/classify/testing';
import type { RstEvent } from '@rstwatch/core';
import { createMetrics } from '@rstwatch/telemetry';
import { describe, expect, it } from 'vitest';
import { exposeMetrics } from './expose.js';
import type { EngineTask } from './internal/tasks.js';
import { ProcessorMetrics } from './metrics.js';
import type { ConsumerLoop } from './processor.js';
import { realitiesLine } from './summary.js';
import type { UnitWriter } from './unit-writer.js';
import runTask from './worker.js';

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

describe('sensor realities', () => {
  /** One batch of `pkts` from `sensor` through the worker, on `engine`. */
  function batch(engine: Engine, sensor: string, pkts: PacketSpec[]) {
    const cols = buildColumns(pkts, true);
    const task: EngineTask = {
      kind: 'batch',
      engineId: 7,
      engine: engine.shared,
      buffer: cols.buffer,
      capacity: cols.capacity,
      length: cols.length,
      sensor,
      emit: true,
      nowUs: 0,
      records: false,
      seq: -1,
    };
    return runTask(task);
  }
  const T = 1_700_000_000_000_000;
  const syn: PacketSpec = {
    tsUs: T,
    src: '10.0.0.1:40000',
    dst: '10.0.0.2:80',
    flags: 'S',
    seq: 100,
    ipId: 7,
  };
  const rst: PacketSpec = {
    tsUs: T + 50,
    src: '10.0.0.2:80',
    dst: '10.0.0.1:40000',
    flags: 'RA',
    seq: 0,
    ack: 101,
    ipId: 9,
  };

  it('the worker returns what a batch added, by sensor; the processor exposes it per sensor', async () => {
    const { pm, m } = exposed();
    const engine = Engine.create({});
    // A SPAN port: the SYN and the RST answering it, each seen twice a few microseconds apart; then a
    // packet past the RST's reorder window, so that the batch does not carry the RST into the next one.
    const later: PacketSpec = {
      tsUs: T + 300,
      src: '10.0.0.9:1000',
      dst: '10.0.0.10:22',
      flags: 'S',
      seq: 1,
    };
    const r1 = batch(engine, 'span-1', [syn, { ...syn, tsUs: T + 8 }, rst, { ...rst, tsUs: T + 61 }, later]);
    expect(r1.sensors).toEqual({ 'span-1': { duplicates: 2, reordered: 0, late: 0 } });
    expect(r1.events).toHaveLength(0); // the RST is held; its copy never becomes an event
    // Two taps: a SYN-ACK stamped 20 us before its SYN (processed after it), then a packet 1 ms late.
    const r2 = batch(engine, 'tap-a', [
      { tsUs: T + 1000, src: '10.0.0.4:443', dst: '10.0.0.3:50000', flags: 'SA', seq: 900, ack: 301 },
      { tsUs: T + 1020, src: '10.0.0.3:50000', dst: '10.0.0.4:443', flags: 'S', seq: 300 },
      { tsUs: T, src: '10.0.0.5:50001', dst: '10.0.0.6:443', flags: 'S', seq: 1 },
    ]);
    expect(r2.sensors).toEqual({ 'tap-a': { duplicates: 0, reordered: 1, late: 1 } });
    // A batch that adds nothing carries nothing.
    expect(batch(engine, 'span-1', []).sensors).toBeUndefined();
    for (const r of [r1, r2]) pm.sensorRealities(r.sensors);
    pm.sensorRealities(
      batch(engine, 'span-1', [
        { ...syn, tsUs: T + 3000, ipId: 8, seq: 5000 },
        { ...syn, tsUs: T + 3004, ipId: 8, seq: 5000 },
      ]).sensors,
    );
    const lines = async (name: string) => (await series(m, `rstwatch_processor_${name}`)).join('\n');
    expect(await lines('duplicate_headers_total')).toBe(
      'rstwatch_processor_duplicate_headers_total{sensor="span-1",service="processor"} 3',
    );
    expect(await lines('reordered_headers_total')).toContain(
      'rstwatch_processor_reordered_headers_total{sensor="tap-a",service="processor"} 1',
    );
    expect(await lines('late_packets_total')).toContain(
      'rstwatch_processor_late_packets_total{sensor="tap-a",service="processor"} 1',
    );
    expect(realitiesLine(pm.realitiesBySensor)).toBe(
      'sensor realities: 3 duplicate packets suppressed, 1 reordered, 1 late',
    );
    expect(realitiesLine(new Map())).toBeNull();
  });
});

describe('flow-table evictions', () => {
  const T = 1_700_000_000_000_000;
  /** SYNs of `n` new connections, `from` on, 10 us apart (each a flow of its own). */
  const syns = (from: number, n: number): PacketSpec[] =>
    Array.from({ length: n }, (_, k) => ({
      tsUs: T + (from + k) * 10,
      src: `10.0.1.${from + k}:40000`,
      dst: '10.0.0.2:80',
      flags: 'S',
      seq: 100 + k,
    }));
  function batch(engine: Engine, pkts: PacketSpec[]) {
    const cols = buildColumns(pkts, true);
    return runTask({
      kind: 'batch',
      engineId: 8,
      engine: engine.shared,
      buffer: cols.buffer,
      capacity: cols.capacity,
      length: cols.length,
      sensor: 'tap-1',
      emit: true,
      nowUs: 0,
      records: false,
      seq: -1,
    });
  }

  it('the worker returns the flows a batch evicted from a full table; the processor counts and exposes them', async () => {
    const { pm, m } = exposed();
    const engine = Engine.create({ maxFlows: 16, maxHosts: 16 });
    // Sixteen flows fit (the smallest table); the next three each evict the idlest.
    const r1 = batch(engine, syns(0, 16));
    expect(r1.evictions).toBe(0);
    const r2 = batch(engine, syns(16, 3));
    expect(r2.evictions).toBe(3);
    expect(r2.flowsEnded).toBe(3);
    // A packet of a flow still in the table evicts nothing.
    const again = { ...syns(18, 1)[0]!, tsUs: T + 1000, flags: 'A', seq: 119, ack: 1 };
    expect(batch(engine, [again]).evictions).toBe(0);
    for (const r of [r1, r2]) pm.evicted(r.evictions);
    expect(await series(m, 'rstwatch_processor_flow_evictions_total')).toEqual([
      'rstwatch_processor_flow_evictions_total{service="processor"} 3',
    ]);
    expect(engine.evictions).toBe(3);
  });
});
