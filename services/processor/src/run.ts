/**
 * Process entry points: `runProcessor` (Kafka → workers → ClickHouse) and `runEmbedded` (capture →
 * in-process workers → embedded ClickHouse, no Kafka). Components start in order and stop in reverse;
 * every start-up error says what was being started.
 */

import { hostname } from 'node:os';
import { captureConfigFrom, createSource } from '@rstwatch/capture';
import type { Config } from '@rstwatch/config';
import { deadlineIn, HeaderColumns, type StopList, stopInReverse } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import {
  createKafka,
  type Kafka,
  kafkaConnectionFrom,
  type Producer,
  type RetryOptions,
} from '@rstwatch/kafka';
import { KafkaAlertSink } from '@rstwatch/sinks';
import { createClickHouse, insertAlerts, migrate, type StoreClient } from '@rstwatch/store';
import { createLogger, createMetrics, type Logger, type Metrics, startHttpServer } from '@rstwatch/telemetry';
import { AlertForwarder } from './alert-forwarder.js';
import { type AlertLink, type AlertOutput, deliveryFor, LocalAlerts } from './alerting.js';
import { UNIT_WRITER_DEFAULTS } from './config.js';
import { exposeDetectMetrics } from './detect-metrics.js';
import { DetectStage } from './detect-stage.js';
import { EventPublisher } from './event-publisher.js';
import { exposeMetrics } from './expose.js';
import { LocalPipeline } from './local.js';
import { ProcessorMetrics, realitySamples } from './metrics.js';
import { EnginePool } from './pool.js';
import { ConsumerLoop } from './processor.js';
import { openStore, type StoreSink } from './store-sink.js';
import { Summary } from './summary.js';
import { UnitWriter } from './unit-writer.js';

export interface RunProcessorOptions {
  signal: AbortSignal;
  /** Use this ClickHouse client instead of `config.clickhouse` (tests wrap one to inject failures). */
  clickhouse?: StoreClient;
  logger?: Logger;
}

/** Stops `stops` in reverse start order, all within `deadlineS`; a failed stop is logged, not thrown. */
function stopAll(stops: StopList, deadlineS: number, log: Logger): Promise<void> {
  return stopInReverse(stops, deadlineIn(deadlineS * 1000), (name, err) =>
    log.warn({ err: (err as Error).message }, `stopping ${name} failed`),
  );
}

/** The Prometheus and health endpoints of a service (`metrics.*`), stopped with the other components. */
async function serveMetrics(
  config: Config,
  service: string,
  expose: (m: Metrics) => void,
  ready: () => { ok: boolean; details?: Record<string, unknown> },
  stops: StopList,
): Promise<void> {
  if (!config.metrics.enabled) return;
  const registry = createMetrics('rstwatch_', { service });
  registry.collectProcessMetrics();
  expose(registry);
  const server = await step(`metrics endpoint on ${config.metrics.listen}`, () =>
    startHttpServer({
      listen: config.metrics.listen,
      registry: registry.registry,
      health: () => ({ ok: true }),
      ready,
    }),
  );
  stops.push(['metrics endpoint', () => server.close()]);
}

/** Thrown when a component fails to start; names the component. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

async function step<T>(what: string, f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw new StartupError(`starting ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** ClickHouse client from the config. */
export function clickhouseFromConfig(config: Config): StoreClient {
  const c = config.clickhouse;
  return createClickHouse({
    url: c.url,
    database: c.database,
    username: c.username,
    ...(c.password !== undefined ? { password: c.password } : {}),
    embeddedPath: c.embeddedPath,
    ...(c.tls.ca || c.tls.cert || c.tls.key
      ? {
          tls: {
            ...(c.tls.ca ? { ca: c.tls.ca } : {}),
            ...(c.tls.cert ? { cert: c.tls.cert } : {}),
            ...(c.tls.key ? { key: c.tls.key } : {}),
          },
        }
      : {}),
  });
}

/** Create or upgrade the schema. */
export async function migrateFromConfig(client: StoreClient, config: Config): Promise<void> {
  await migrate(client, {
    ...(config.clickhouse.cluster ? { cluster: config.clickhouse.cluster } : {}),
    ttlDays: config.clickhouse.ttlDays,
  });
}

/** Runs the Kafka processor until `signal` aborts, then drains and exits within the shutdown deadline. */
/**
 * The dead-letter producer (the processor's one producer). Not idempotent on purpose: after a send that
 * timed out although the broker wrote it, an idempotent producer reuses the sequence number for the next
 * record, which the broker then drops as a duplicate without an error (a dead letter lost without
 * trace). Plain acks=all with one request in flight gives at-least-once, in order: a dead letter may
 * appear twice, never not at all. (Tested in test/processor/dead-letter.test.ts.)
 */
export function deadLetterProducer(kafka: Kafka, retry?: RetryOptions): Producer {
  return kafka.producer({ acks: -1, maxInFlightRequests: 1, ...(retry ? { retry } : {}) });
}

/**
 * RST events for the detection stage (`rstwatch detect`) go out on the dead-letter producer (acks=all);
 * none when alerts are off. Checks that the events topic exists.
 */
async function eventPublisher(
  config: Config,
  producer: Producer,
  log: Logger,
): Promise<EventPublisher | undefined> {
  if (!config.alerts.enabled) return undefined;
  const topic = config.kafka.topics.events;
  const events = new EventPublisher({
    producer,
    topic,
    onError: (err, attempt) =>
      log.warn({ err: err.message, attempt, topic }, 'publishing RST events failed, retrying'),
  });
  // A missing events topic would stall every commit (publishing retries forever): say so at start.
  await step(
    `events topic ${topic} (create it, see docs/deployment.md, or set alerts.enabled: false when no detection stage runs)`,
    () => producer.partitionsFor(topic),
  );
  return events;
}

export async function runProcessor(config: Config, opts: RunProcessorOptions): Promise<void> {
  const log =
    opts.logger ?? createLogger({ level: config.log.level, format: config.log.format, name: 'processor' });
  const metrics = new ProcessorMetrics();
  const stops: StopList = [];
  let ready = false;
  try {
    const clickhouse =
      opts.clickhouse ?? (await step('ClickHouse client', () => clickhouseFromConfig(config)));
    stops.push(['ClickHouse client', () => (opts.clickhouse ? Promise.resolve() : clickhouse.close())]);
    await step(`ClickHouse schema at ${clickhouse.url}`, () => migrateFromConfig(clickhouse, config));
    const writer = new UnitWriter(
      { retryMaxMs: Math.min(config.clickhouse.writer.retryMaxMs, UNIT_WRITER_DEFAULTS.retryMaxMs) },
      { client: clickhouse },
      {
        onError: (err, info) => log.warn({ ...info, err: err.message }, 'ClickHouse insert failed, retrying'),
      },
    );
    await writer.start();
    stops.push(['ClickHouse writer', writer]);
    const kafka = createKafka(kafkaConnectionFrom(config));
    const dlq = deadLetterProducer(kafka);
    await step(`dead-letter producer (brokers ${config.kafka.brokers.join(',')})`, () => dlq.connect());
    stops.push(['dead-letter producer', () => dlq.disconnect()]);
    const pool = new EnginePool({ workers: config.processor.workers, engine: config.classifier });
    await pool.start();
    stops.push(['worker pool', pool]);
    const consumer = kafka.consumer({
      groupId: config.processor.groupId,
      fromBeginning: config.processor.fromBeginning,
      maxBytes: Math.min(config.processor.maxInFlightBytes, 64 << 20),
    });
    await step(`Kafka consumer (group ${config.processor.groupId})`, () => consumer.connect());
    const events = await eventPublisher(config, dlq, log);
    const loop = new ConsumerLoop(
      config,
      { kafka, consumer, dlq, pool, writer, ...(events ? { events } : {}), signal: opts.signal },
      { metrics, log },
    );
    // Writes and commits what was consumed while the consumer still accepts commits, then disconnects it.
    stops.push(['Kafka consumer', loop]);
    await serveMetrics(
      config,
      'processor',
      (m) => {
        exposeMetrics(m, metrics, writer, loop);
      },
      () => ({
        ok: ready,
        details: { partitions: loop.assignedPartitions, retrying: writer.retrying },
      }),
      stops,
    );
    await step('consuming', () => loop.start());
    ready = true;
    log.info({ group: config.processor.groupId, workers: pool.workers }, 'processor running');
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info({}, 'shutting down');
  } finally {
    ready = false;
    await stopAll(stops, config.processor.shutdownDeadlineS, log);
  }
}

export interface RunEmbeddedOptions {
  iface?: string;
  pcap?: string;
  /** Append every alert version (ECS JSON, NDJSON) to this file. */
  alertsOut?: string;
  /** With `pcap`: store it even when it is already stored (another copy). */
  storeAgain?: boolean;
  /** Where the summary table goes at the end (default: none). */
  stdout?: NodeJS.WritableStream;
  signal: AbortSignal;
  logger?: Logger;
}

/**
 * Capture → in-process workers → embedded ClickHouse (or `clickhouse.url`), no Kafka. A capture file is
 * stored once (like `analyze --store`); a live interface every run. Serves `/metrics` and the health
 * endpoints while it runs (`metrics.*`), prints the summary table at the end.
 */
export async function runEmbedded(config: Config, opts: RunEmbeddedOptions): Promise<void> {
  const log =
    opts.logger ?? createLogger({ level: config.log.level, format: config.log.format, name: 'run' });
  if ((opts.iface === undefined) === (opts.pcap === undefined)) {
    throw new StartupError('run needs exactly one of --iface or --pcap');
  }
  const stops: StopList = [];
  const started = performance.now();
  const summary = new Summary();
  const metrics = new ProcessorMetrics();
  let ready = false;
  try {
    const opened = await step('ClickHouse store', () =>
      openStore(config, opts.pcap ?? null, opts.storeAgain === true, 'run'),
    );
    const store = 'already' in opened ? null : opened;
    if ('already' in opened) {
      const a = opened.already;
      log.warn(
        { events: a.events, flows: a.flows, prefix: a.prefix },
        `run: ${opts.pcap} is already stored; classifying without storing it twice (run again with --store-again to add a copy)`,
      );
    } else stops.push(['ClickHouse store', () => opened.close()]);
    const alerts = await embeddedAlerts(config, opts.alertsOut, store, summary, log);
    if (alerts) stops.push(['alert delivery', alerts]);
    const prefix = store?.prefix ?? `run:${config.sensor.id}:${Date.now()}:`;
    const pipeline = embeddedPipeline(config, { store, alerts, summary, metrics, prefix });
    await pipeline.start();
    stops.push(['worker pool', pipeline]);
    await serveMetrics(
      config,
      'run',
      (m) => {
        exposeRunMetrics(m, metrics, pipeline);
        if (alerts) exposeDetectMetrics(m, config, { stats: () => alerts.detection.stats }, alerts.delivery);
      },
      () => ({ ok: ready, details: { headers: pipeline.headers } }),
      stops,
    );
    const source = createSource(captureConfigFrom({ ...config.agent, iface: opts.iface, pcap: opts.pcap }));
    log.info({ source: source.describe, clickhouse: store?.where ?? 'not storing' }, 'run: capturing');
    ready = true;
    // Sources own their batches only during the call, so the pipeline gets a copy (in a batch of its
    // pool, which comes back after the task).
    await source.run(async (b) => {
      let copy = pipeline.newBatch();
      if (copy.capacity < b.length) copy = HeaderColumns.allocate(b.length);
      for (let i = 0; i < b.length; i++) copy.copyFrom(b, i);
      metrics.headersTotal += b.length;
      await pipeline.push(copy);
    }, opts.signal);
    await pipeline.finish();
    await alerts?.end(prefix);
    if (store) await closeStore(store, stops, log);
    await alerts?.stop(deadlineIn(10_000));
    if (alerts?.undelivered) log.warn({}, `alerts: ${alerts.undelivered}`);
    if (pipeline.evictions > 0)
      log.warn(
        { evictions: pipeline.evictions, maxFlows: config.classifier.maxFlows },
        'run: the flow table was full: flows were ended early to make room; raise classifier.maxFlows',
      );
    const seconds = (performance.now() - started) / 1000;
    opts.stdout?.write(
      summary.render({
        file: opts.pcap ?? `interface ${opts.iface}`,
        headers: pipeline.headers,
        flows: pipeline.flowsEnded,
        seconds,
        sensors: pipeline.sensors,
      }),
    );
    log.info({ headers: pipeline.headers }, 'run: done');
  } finally {
    ready = false;
    await stopAll(stops, config.processor.shutdownDeadlineS, log);
  }
}

/** `run`'s detectors (started), or null with `alerts.enabled: false`. */
async function embeddedAlerts(
  config: Config,
  alertsOut: string | undefined,
  store: StoreSink | null,
  summary: Summary,
  log: Logger,
): Promise<LocalAlerts | null> {
  if (!config.alerts.enabled) return null;
  const alerts = new LocalAlerts(
    { config, ...(alertsOut ? { alertsOut, appendAlerts: true } : {}) },
    {
      ...(store ? { output: { write: (token, a, links) => store.alerts(token, a, links) } } : {}),
      onAlert: (a) => summary.alert(a),
    },
    { log },
  );
  await alerts.start();
  return alerts;
}

/** Where `run`'s events and flows go: detectors, summary, metrics, store. */
interface EmbeddedOutputs {
  store: StoreSink | null;
  alerts: LocalAlerts | null;
  summary: Summary;
  metrics: ProcessorMetrics;
  /** `ingest_token` prefix of the alert units. */
  prefix: string;
}

/** One engine, as in `analyze`: per-host evidence (TTL baselines, scan counts) sees every flow. */
function embeddedPipeline(config: Config, o: EmbeddedOutputs): LocalPipeline {
  const { store, alerts, summary, metrics } = o;
  const conf = {
    workers: 1,
    engine: config.classifier,
    sensor: config.sensor.id,
    flowRecords: store !== null,
  };
  return new LocalPipeline(conf, {
    onEvents: async (events) => {
      // Detectors first: a learned idle timer adds its evidence to the events before they are written.
      alerts?.observe(events);
      for (const e of events) summary.add(e);
      metrics.rstEvents(events);
      metrics.eventsTotal += events.length;
      await store?.events(events);
      await alerts?.flush(o.prefix);
    },
    onFlows: async (flows) => {
      metrics.flowsTotal += flows.length;
      await store?.flows(flows);
    },
  });
}

/** Writes what is left, takes the store off the stop list, says what was stored. */
async function closeStore(store: StoreSink, stops: StopList, log: Logger): Promise<void> {
  await store.close();
  stops.splice(
    stops.findIndex(([n]) => n === 'ClickHouse store'),
    1,
  );
  const n = store.counts;
  log.info(
    { events: n.events, flows: n.flows, alerts: n.alerts, clickhouse: store.where, prefix: store.prefix },
    `run: stored ${n.events} events, ${n.flows} flows and ${n.alerts} alert versions`,
  );
}

/**
 * Prometheus metrics of `run`: headers, RST events by cause and origin, flows, flow-table evictions,
 * duplicate / reordered / late packets by sensor (rstwatch_run_*).
 */
function exposeRunMetrics(
  m: Metrics,
  pm: ProcessorMetrics,
  pipeline: Pick<LocalPipeline, 'headers' | 'sensors' | 'evictions'>,
): void {
  const sensors = pipeline.sensors;
  m.followCounter('run_headers_total', 'TCP headers classified.', [], () => [[{}, pipeline.headers]]);
  m.followCounter('run_rst_events_total', 'RST events emitted.', [], () => [[{}, pm.eventsTotal]]);
  m.followCounter('run_flows_total', 'Flow records emitted.', [], () => [[{}, pm.flowsTotal]]);
  m.followCounter(
    'run_flow_evictions_total',
    'Flows ended early to make room in a full flow table (classifier.maxFlows), the idlest first.',
    [],
    () => [[{}, pipeline.evictions]],
  );
  m.followCounter('run_rst_events_by_cause_total', 'RST events by cause.', ['cause'], () =>
    [...pm.eventsByCause.entries()].map(([cause, v]) => [{ cause }, v] as const),
  );
  m.followCounter('run_rst_events_by_origin_total', 'RST events by origin.', ['origin'], () =>
    [...pm.eventsByOrigin.entries()].map(([origin, v]) => [{ origin }, v] as const),
  );
  m.followCounter(
    'run_duplicate_headers_total',
    'Packets seen twice within classifier.duplicateWindowMs (SPAN copies), not processed again, by sensor.',
    ['sensor'],
    () => realitySamples(sensors, 'duplicates'),
  );
  m.followCounter(
    'run_reordered_headers_total',
    'Packets processed in causal rather than capture order (classifier.reorderWindowMs), by sensor.',
    ['sensor'],
    () => realitySamples(sensors, 'reordered'),
  );
  m.followCounter(
    'run_late_packets_total',
    'Packets stamped more than classifier.reorderWindowMs before the latest one seen, by sensor.',
    ['sensor'],
    () => realitySamples(sensors, 'late'),
  );
}

/** Retries `f` with backoff until it resolves or `signal` aborts (then rejects with what failed). */
async function untilDone(
  what: string,
  f: () => Promise<void>,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      log.warn({ err: (err as Error).message, attempt }, `${what} failed, retrying`);
      if (signal.aborted) throw new Error(`${what} aborted by shutdown`, { cause: err });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** The detection stage's durable outputs: ClickHouse, then the alerts topic, each retried until done. */
function alertOutput(
  config: Config,
  clickhouse: StoreClient,
  topicSink: KafkaAlertSink,
  signal: AbortSignal,
  log: Logger,
): AlertOutput {
  return {
    write: async (token: string, alerts: readonly Alert[], links: readonly AlertLink[]) => {
      await untilDone(
        'writing alerts to ClickHouse',
        () => insertAlerts(clickhouse, { token, alerts, links }),
        signal,
        log,
      );
      if (alerts.length === 0) return;
      await untilDone(
        `writing alerts to ${config.kafka.topics.alerts}`,
        () => topicSink.send(alerts),
        signal,
        log,
      );
    },
  };
}

export interface RunDetectOptions {
  signal: AbortSignal;
  /** Use this ClickHouse client instead of `config.clickhouse`. */
  clickhouse?: StoreClient;
  logger?: Logger;
}

/**
 * The detection stage: consumes the events topic in its own group (`alerts.groupId`), runs the detectors
 * per partition and writes alerts to ClickHouse and the alerts topic before committing, then hands them
 * to the webhook and syslog sinks. Runs until `signal` aborts.
 */
export async function runDetect(config: Config, opts: RunDetectOptions): Promise<void> {
  const log =
    opts.logger ?? createLogger({ level: config.log.level, format: config.log.format, name: 'detect' });
  const stops: StopList = [];
  let ready = false;
  try {
    const clickhouse =
      opts.clickhouse ?? (await step('ClickHouse client', () => clickhouseFromConfig(config)));
    stops.push(['ClickHouse client', () => (opts.clickhouse ? Promise.resolve() : clickhouse.close())]);
    await step(`ClickHouse schema at ${clickhouse.url}`, () => migrateFromConfig(clickhouse, config));
    const kafka = createKafka(kafkaConnectionFrom(config));
    const producer = kafka.producer({ acks: -1, maxInFlightRequests: 1 });
    await step(`alerts producer (brokers ${config.kafka.brokers.join(',')})`, () => producer.connect());
    stops.push(['alerts producer', () => producer.disconnect()]);
    const ecs = { hostname: hostname() };
    const topicSink = new KafkaAlertSink({ producer, topic: config.kafka.topics.alerts, ecs });
    const output = alertOutput(config, clickhouse, topicSink, opts.signal, log);
    // Webhook and syslog read the alerts topic in a group of their own and commit after delivery, so a
    // crash loses nothing queued for them (alert-forwarder.ts).
    const delivery = await step('alert sinks (alerts.webhook, alerts.syslog)', () =>
      deliveryFor(config, { ecs }, log),
    );
    stops.push(['alert delivery', () => delivery.stop(deadlineIn(5000))]);
    if (config.alerts.webhook.url !== '' || config.alerts.syslog.url !== '') {
      const group = `${config.alerts.groupId}.deliver`;
      const fwdConsumer = kafka.consumer({ groupId: group, fromBeginning: true });
      await step(`alert forwarder (group ${group})`, () => fwdConsumer.connect());
      const forwarder = new AlertForwarder(
        { topic: config.kafka.topics.alerts },
        { consumer: fwdConsumer, delivery, signal: opts.signal },
        { log },
      );
      stops.push(['alert forwarder', forwarder]);
      await step('forwarding alerts', () => forwarder.start());
    }
    const consumer = kafka.consumer({ groupId: config.alerts.groupId, fromBeginning: true });
    await step(`Kafka consumer (group ${config.alerts.groupId})`, () => consumer.connect());
    const stage = new DetectStage(config, { consumer, output, signal: opts.signal }, { log });
    stops.push(['Kafka consumer', stage]);
    await serveMetrics(
      config,
      'detect',
      (m) => {
        exposeDetectMetrics(
          m,
          config,
          {
            stats: () => stage.stats(),
            eventsByKind: () => stage.byKind,
            badMessages: () => stage.badMessages,
          },
          delivery,
        );
      },
      () => ({ ok: ready, details: { partitions: stage.assignedPartitions } }),
      stops,
    );
    await step('consuming', () => stage.start());
    ready = true;
    log.info({ group: config.alerts.groupId, topic: config.kafka.topics.events }, 'detection stage running');
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info({}, 'shutting down');
  } finally {
    ready = false;
    await stopAll(stops, config.processor.shutdownDeadlineS, log);
  }
}
