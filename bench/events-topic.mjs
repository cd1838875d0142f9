#!/usr/bin/env node
// How RST events reach the detectors: the cost of the events-topic layout (docs/alerts.md, "Events topic").
//
// Detectors count by different entities (victim host, scanning source, server:port), so an event must be
// in the partition of every entity it matters to. Two layouts are compared on the events of real
// classifications (several traffic shapes):
//   A. one topic, each event published once per entity kind it is relevant to (`entityKeys`), keyed by
//      that entity: what rstwatch does;
//   B. one topic per entity kind, every event published to every kind's topic (each detector filters).
// Printed per shape: events, messages and bytes per layout, fan-out (messages per event); with --brokers
// (or KAFKA_BROKERS) also the time to produce each layout to a real broker.
//
//   node bench/events-topic.mjs [--packets 300000] [--file PCAP ...] [--brokers host:port]
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Engine } from '../packages/classify/dist/index.js';
import { ENTITY_KINDS, entityKeys } from '../packages/detect/dist/index.js';
import { parseCaptureFile } from '../packages/packet/dist/index.js';
import { generateTrace } from '../packages/tracegen/dist/index.js';
import { parseBenchArgs } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    packets: { type: 'string', default: '300000' },
    file: { type: 'string', multiple: true },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '' },
  },
});
const log = (m) => process.stderr.write(`# ${m}\n`);

async function shapes() {
  if (values.file?.length)
    return values.file.map((f) => [
      f
        .split('/')
        .pop()
        .replace(/\.pcap(ng)?$/, ''),
      f,
    ]);
  const dir = join(root, 'bench/out');
  mkdirSync(dir, { recursive: true });
  const out = [['sample', join(root, 'test/fixtures/sample.pcap')]];
  // Light (the generator's default 5k concurrent connections) and busy-tap (100k concurrent) traffic.
  for (const conc of [5000, 100000]) {
    const f = join(dir, `events-topic-${values.packets}-c${conc}.pcap`);
    if (!existsSync(f))
      await generateTrace({ packets: Number(values.packets), seed: 1, concurrentFlows: conc, out: f });
    out.push([`tracegen_conc${conc}`, f]);
  }
  return out;
}

async function eventsOf(file) {
  const engine = Engine.create({});
  const events = [];
  await parseCaptureFile(file, {
    batchSize: 8192,
    onBatch: (b) => {
      events.push(...engine.processBatch(b, 'bench').events);
    },
  });
  events.push(...engine.finish().events);
  return events;
}

function layouts(events) {
  const a = [];
  const b = [];
  for (const e of events) {
    const value = Buffer.from(JSON.stringify(e));
    const keys = entityKeys(e);
    for (const [kind, key] of keys) a.push({ topic: 'events', key: `${kind}:${key}`, value });
    // B: every kind's topic gets every event, keyed by that kind's entity when it has one.
    for (const kind of ENTITY_KINDS) {
      const k = keys.find(([kk]) => kk === kind);
      b.push({ topic: `events-${kind}`, key: k ? `${kind}:${k[1]}` : `${kind}:${e.dst_ip}`, value });
    }
  }
  return { a, b };
}

const bytes = (msgs) => msgs.reduce((s, m) => s + m.value.length + m.key.length, 0);

async function produceTime(brokers, msgs, tag) {
  const { createKafka } = await import('../packages/kafka/dist/index.js');
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench-events-topic' });
  const admin = kafka.admin();
  const topics = [...new Set(msgs.map((m) => m.topic))].map((t) => `bench-${tag}-${t}-${Date.now()}`);
  const rename = new Map([...new Set(msgs.map((m) => m.topic))].map((t, i) => [t, topics[i]]));
  await admin.createTopics(topics.map((topic) => ({ topic, numPartitions: 4, replicationFactor: 1 })));
  const producer = kafka.producer({ acks: -1, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = performance.now();
  for (const [t, name] of rename) {
    const mine = msgs.filter((m) => m.topic === t).map(({ key, value }) => ({ key, value }));
    for (let i = 0; i < mine.length; i += 5000) await producer.send(name, mine.slice(i, i + 5000));
  }
  const ms = performance.now() - t0;
  await producer.disconnect();
  await admin.deleteTopics?.(topics).catch(() => {});
  await admin.disconnect();
  return ms;
}

for (const [name, file] of await shapes()) {
  log(`${name}: classifying ${file}`);
  const events = await eventsOf(file);
  const { a, b } = layouts(events);
  const n = Math.max(1, events.length);
  console.log(`${name}.events=${events.length}`);
  console.log(`${name}.layout_a_messages=${a.length}`);
  console.log(`${name}.layout_a_fanout=${(a.length / n).toFixed(3)}`);
  console.log(`${name}.layout_a_bytes=${bytes(a)}`);
  console.log(`${name}.layout_b_messages=${b.length}`);
  console.log(`${name}.layout_b_fanout=${(b.length / n).toFixed(3)}`);
  console.log(`${name}.layout_b_bytes=${bytes(b)}`);
  if (values.brokers && events.length > 0) {
    const msA = await produceTime(values.brokers, a, 'a');
    const msB = await produceTime(values.brokers, b, 'b');
    console.log(`${name}.layout_a_produce_ms=${msA.toFixed(0)}`);
    console.log(`${name}.layout_b_produce_ms=${msB.toFixed(0)}`);
  }
}
