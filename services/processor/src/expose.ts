/** Prometheus metrics of the processor, read from its counters at scrape time (rstwatch_processor_*). */
import type { Metrics } from '@rstwatch/telemetry';
import { type ProcessorMetrics, realitySamples } from './metrics.js';
import type { ConsumerLoop } from './processor.js';
import type { UnitWriter } from './unit-writer.js';

export function exposeMetrics(
  m: Metrics,
  pm: ProcessorMetrics,
  writer: UnitWriter,
  loop: ConsumerLoop,
): void {
  exposeOutputCounters(m, pm);
  exposeInputCounters(m, pm);
  exposeWriteMetrics(m, pm, writer, loop);
}

/** Headers processed, RST events by cause and origin, flows. */
function exposeOutputCounters(m: Metrics, pm: ProcessorMetrics): void {
  const partitioned = (map: Map<string, number>) =>
    [...map.entries()].map(([k, v]) => [{ partition: k }, v] as const);
  m.followCounter('processor_headers_total', 'TCP headers processed (including warm-up replay).', [], () => [
    [{}, pm.headersTotal],
  ]);
  m.followCounter(
    'processor_partition_headers_total',
    'TCP headers processed, by partition.',
    ['partition'],
    () => partitioned(pm.headersByPartition),
  );
  m.followCounter('processor_rst_events_total', 'RST events emitted.', [], () => [[{}, pm.eventsTotal]]);
  m.followCounter(
    'processor_rst_events_by_cause_total',
    'RST events emitted, by cause (rst-taxonomy.md).',
    ['cause'],
    () => [...pm.eventsByCause.entries()].map(([cause, v]) => [{ cause }, v] as const),
  );
  m.followCounter(
    'processor_rst_events_by_origin_total',
    'RST events emitted, by origin (endpoint, middlebox, spoofed, unknown).',
    ['origin'],
    () => [...pm.eventsByOrigin.entries()].map(([origin, v]) => [{ origin }, v] as const),
  );
  m.followCounter('processor_flows_total', 'Flow records emitted.', [], () => [[{}, pm.flowsTotal]]);
  m.followCounter(
    'processor_flow_evictions_total',
    'Flows ended early to make room in a full flow table (classifier.maxFlows), the idlest first: their later packets begin new flows.',
    [],
    () => [[{}, pm.flowEvictions]],
  );
}

/** Units written, dead letters, and what the input held: duplicate batches, late, duplicate, reordered packets. */
function exposeInputCounters(m: Metrics, pm: ProcessorMetrics): void {
  m.followCounter(
    'processor_units_written_total',
    'Units (offset ranges) acknowledged by ClickHouse.',
    [],
    () => [[{}, pm.unitsWritten]],
  );
  m.followCounter(
    'processor_dead_letters_total',
    'Undecodable messages sent to the dead-letter topic.',
    ['reason'],
    () => [...pm.deadLetters.entries()].map(([reason, v]) => [{ reason }, v] as const),
  );
  m.followCounter(
    'processor_duplicate_batches_total',
    'Header batches skipped because the same (sensor, batch_seq) was already processed (agent re-sends).',
    [],
    () => [[{}, pm.duplicateBatches]],
  );
  m.followCounter(
    'processor_late_headers_total',
    'Headers that reached the source merge after its frontier (later than processor.mergeDelayMs): processed at once, out of capture order.',
    ['sensor'],
    () => [...pm.lateHeadersBySensor.entries()].map(([sensor, v]) => [{ sensor }, v] as const),
  );
  m.followCounter(
    'processor_duplicate_headers_total',
    'Packets seen twice within classifier.duplicateWindowMs (SPAN copies): counted, not processed again, by sensor.',
    ['sensor'],
    () => realitySamples(pm.realitiesBySensor, 'duplicates'),
  );
  m.followCounter(
    'processor_reordered_headers_total',
    'Packets processed in causal rather than capture order (within classifier.reorderWindowMs; two taps with skewed clocks), by sensor.',
    ['sensor'],
    () => realitySamples(pm.realitiesBySensor, 'reordered'),
  );
  m.followCounter(
    'processor_late_packets_total',
    'Packets stamped more than classifier.reorderWindowMs before the latest packet already seen: processed as they came, by sensor.',
    ['sensor'],
    () => realitySamples(pm.realitiesBySensor, 'late'),
  );
}

/** ClickHouse inserts (failures, rows, durations), lag, assigned and paused partitions. */
function exposeWriteMetrics(m: Metrics, pm: ProcessorMetrics, writer: UnitWriter, loop: ConsumerLoop): void {
  m.followCounter(
    'processor_insert_failures_total',
    'Failed ClickHouse insert attempts (each is retried).',
    [],
    () => [[{}, writer.failures]],
  );
  m.followCounter(
    'processor_rows_inserted_total',
    'Rows acknowledged by ClickHouse, by table.',
    ['table'],
    () => Object.entries(writer.insertedRows).map(([table, v]) => [{ table }, v] as const),
  );
  m.gauge(
    'processor_consumer_lag',
    'Messages behind the high watermark, by partition.',
    ['partition'],
    (g) => {
      g.reset();
      for (const [partition, v] of pm.lagByPartition) g.set({ partition }, v);
    },
  );
  m.gauge('processor_assigned_partitions', 'Partitions assigned to this member.', [], (g) => {
    g.set(loop.assignedPartitions);
  });
  m.gauge(
    'processor_paused_partitions',
    'Partitions paused while ClickHouse inserts are retried.',
    [],
    (g) => {
      g.set(writer.retrying);
    },
  );
  m.gauge('processor_insert_seconds_last', 'Duration of the last unit insert.', [], (g) => {
    g.set(pm.insertMsLast / 1000);
  });
  m.gauge('processor_insert_seconds_max', 'Longest unit insert since start.', [], (g) => {
    g.set(pm.insertMsMax / 1000);
  });
}
