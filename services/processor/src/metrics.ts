/**
 * The processor's counters, kept as plain numbers by the components and read by the Prometheus
 * endpoint (see `exposeMetrics`) and the logs. Partition-labelled series are dropped on revoke.
 */
import type { SensorRealities } from '@rstwatch/classify';
import type { RstEvent } from '@rstwatch/core';
import type { TopicPartition } from '@rstwatch/kafka';

const tpKey = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;

/** Add per-sensor duplicate, reordered and late counts (a task's, see BatchResult) to `into`. */
export function addRealities(
  into: Map<string, SensorRealities>,
  add: Readonly<Record<string, SensorRealities>> | undefined,
): void {
  if (add === undefined) return;
  for (const [sensor, n] of Object.entries(add)) {
    const had = into.get(sensor);
    if (had === undefined) into.set(sensor, { ...n });
    else {
      had.duplicates += n.duplicates;
      had.reordered += n.reordered;
      had.late += n.late;
    }
  }
}

/** `[{ sensor }, value]` samples of one of the counts, for a counter labelled by sensor. */
export function realitySamples(
  by: ReadonlyMap<string, SensorRealities>,
  key: keyof SensorRealities,
): (readonly [{ sensor: string }, number])[] {
  return [...by.entries()].map(([sensor, n]) => [{ sensor }, n[key]] as const);
}

export class ProcessorMetrics {
  headersTotal = 0;
  eventsTotal = 0;
  /** RST events emitted, by taxonomy `cause` (at most the 17 causes) and by `origin` (4). */
  readonly eventsByCause = new Map<string, number>();
  readonly eventsByOrigin = new Map<string, number>();
  flowsTotal = 0;
  unitsWritten = 0;
  insertMsLast = 0;
  insertMsMax = 0;
  /** Undecodable messages sent to the dead-letter topic, by reason. */
  readonly deadLetters = new Map<string, number>();
  /** Consumer lag per partition (messages). */
  readonly lagByPartition = new Map<string, number>();
  readonly headersByPartition = new Map<string, number>();
  readonly assigned = new Set<string>();
  /** Partitions paused because ClickHouse is not acknowledging. */
  pausedPartitions = 0;
  /** HeaderBatch messages skipped as duplicates of an earlier `(sensorId, batchSeq)` (emit phase only). */
  duplicateBatches = 0;

  /** Headers that reached the source merge later than its frontier (processed out of capture order), by sensor. */
  readonly lateHeadersBySensor = new Map<string, number>();

  /**
   * Packets the engines found duplicated (SPAN copies, suppressed), processed in causal rather than capture
   * order (two taps) or later than the reorder window, by sensor; emit phase only (a warm-up replay sees
   * the same packets again).
   */
  readonly realitiesBySensor = new Map<string, SensorRealities>();

  sensorRealities(sensors: Readonly<Record<string, SensorRealities>> | undefined): void {
    addRealities(this.realitiesBySensor, sensors);
  }

  /**
   * Flows the engines ended early to make room in a full flow table (`classifier.maxFlows`), emit phase
   * only: their later packets begin new flows, and a RST among them lost the history that explains it.
   */
  flowEvictions = 0;

  evicted(n: number): void {
    this.flowEvictions += n;
  }

  lateHeaders(sensor: string, n: number): void {
    this.lateHeadersBySensor.set(sensor, (this.lateHeadersBySensor.get(sensor) ?? 0) + n);
  }

  duplicateBatch(_tp: TopicPartition): void {
    this.duplicateBatches++;
  }

  /** `n` headers processed on `tp`, which emitted `events` (none during the warm-up replay). */
  headers(tp: TopicPartition, n: number, events: readonly Pick<RstEvent, 'cause' | 'origin'>[]): void {
    this.headersTotal += n;
    this.rstEvents(events);
    const k = tpKey(tp);
    this.headersByPartition.set(k, (this.headersByPartition.get(k) ?? 0) + n);
  }

  /** Count emitted RST events, in total and by cause and origin (once per batch, off the worker threads). */
  rstEvents(events: readonly Pick<RstEvent, 'cause' | 'origin'>[]): void {
    this.eventsTotal += events.length;
    for (const e of events) {
      this.eventsByCause.set(e.cause, (this.eventsByCause.get(e.cause) ?? 0) + 1);
      this.eventsByOrigin.set(e.origin, (this.eventsByOrigin.get(e.origin) ?? 0) + 1);
    }
  }

  unitWritten(_tp: TopicPartition, events: number, flows: number, ms: number): void {
    this.unitsWritten++;
    this.flowsTotal += flows;
    void events;
    this.insertMsLast = ms;
    if (ms > this.insertMsMax) this.insertMsMax = ms;
  }

  lag(tp: TopicPartition, lag: bigint): void {
    this.lagByPartition.set(tpKey(tp), Number(lag < 0n ? 0n : lag));
  }

  deadLetter(_tp: TopicPartition, reason: string): void {
    this.deadLetters.set(reason, (this.deadLetters.get(reason) ?? 0) + 1);
  }

  partitionAssigned(tp: TopicPartition): void {
    this.assigned.add(tpKey(tp));
  }

  partitionRevoked(tp: TopicPartition): void {
    const k = tpKey(tp);
    this.assigned.delete(k);
    this.lagByPartition.delete(k);
    this.headersByPartition.delete(k);
  }
}
