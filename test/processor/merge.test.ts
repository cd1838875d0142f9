// Two taps, one link: a capture split by direction (canonical order of the endpoints) and replayed by two
// agents (two sensor ids, the second started a little later) into one partition gives the same RST events
// as the whole capture replayed by one agent (the processor equals `analyze` on one partition, see
// end-to-end.test.ts): the processor's source merge puts the two directions back in capture order.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeaderColumns } from '@rstwatch/core';
import { createKafka } from '@rstwatch/kafka';
import { createParseStats, decodePacket, PcapWriter } from '@rstwatch/packet';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  analyzeReference,
  diffKeys,
  EVENT_KEY_SQL,
  type EventKey,
  eventKey,
  generate,
  processorOverrides,
  progress,
  publish,
  QUICK_EXPIRY,
  queryEmbedded,
  removeTempDirs,
  root,
  sleep,
  startProcessor,
  stopProcessor,
  tempDir,
  testTopics,
  waitAllCommitted,
  waitFor,
  waitTicksSettled,
} from './support.js';

const brokers = inject('kafkaBrokers').split(',');
const sample = join(root, 'test/fixtures/sample.pcap');

/** Split a classic pcap by direction: (src addr, port) below (dst addr, port) to `a`, the rest to `b`. */
function splitByDirection(pcap: string, a: string, b: string): { a: number; b: number } {
  const buf = readFileSync(pcap);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) !== 0xa1b2c3d4) throw new Error(`${pcap}: not a little-endian µs pcap`);
  const link = v.getUint32(20, true);
  const outs = [a, b].map((path) => {
    const chunks: Buffer[] = [];
    return {
      path,
      chunks,
      w: new PcapWriter({ linkType: link, write: (c) => chunks.push(Buffer.from(c)) }),
      n: 0,
    };
  });
  const cols = HeaderColumns.allocate(1);
  const stats = createParseStats();
  let off = 24;
  while (off + 16 <= buf.length) {
    const tsUs = v.getUint32(off, true) * 1_000_000 + v.getUint32(off + 4, true);
    const cap = v.getUint32(off + 8, true);
    const orig = v.getUint32(off + 12, true);
    const frame = buf.subarray(off + 16, off + 16 + cap);
    off += 16 + cap;
    cols.reset();
    let side = 0;
    if (decodePacket(link, frame, 0, cap, tsUs, cols, stats, orig) && cols.length === 1) {
      const s = Buffer.concat([
        cols.srcAddr.subarray(0, 16),
        Buffer.from([cols.srcPort[0]! >> 8, cols.srcPort[0]! & 255]),
      ]);
      const d = Buffer.concat([
        cols.dstAddr.subarray(0, 16),
        Buffer.from([cols.dstPort[0]! >> 8, cols.dstPort[0]! & 255]),
      ]);
      side = Buffer.compare(s, d) < 0 ? 0 : 1;
    }
    const o = outs[side]!;
    o.w.writePacket(tsUs, frame, orig);
    o.n++;
  }
  for (const o of outs) {
    o.w.close();
    writeFileSync(o.path, Buffer.concat(o.chunks));
  }
  return { a: outs[0]!.n, b: outs[1]!.n };
}

describe('processor: source merge of two taps', () => {
  afterAll(removeTempDirs);

  it('sample.pcap split by direction over two agents: the RST events of the whole capture', async () => {
    const dir = tempDir('merge');
    const rx = join(dir, 'rx.pcap');
    const tx = join(dir, 'tx.pcap');
    const parts = splitByDirection(sample, rx, tx);
    expect(parts.a).toBeGreaterThan(100);
    expect(parts.b).toBeGreaterThan(100);

    const ref = await analyzeReference(sample, dir, { processor: { workers: 1 }, classifier: QUICK_EXPIRY });
    expect(ref.events.length).toBe(74);

    const topics = await testTopics('proc-merge', brokers, 1);
    // Two taps started together, the second a little later: its batches arrive after the first's.
    const [sentRx, sentTx] = await Promise.all([
      publish(brokers, topics, rx, { maxHeaders: 16, sensorId: 'tap-a-rx' }),
      sleep(30).then(() => publish(brokers, topics, tx, { maxHeaders: 16, sensorId: 'tap-a-tx' })),
    ]);
    expect(sentRx + sentTx).toBe(653);

    const embeddedPath = join(dir, 'chdb');
    const overrides = processorOverrides(brokers, topics, embeddedPath, { classifier: QUICK_EXPIRY });
    (overrides.processor as Record<string, unknown>).mergeDelayMs = 500;
    const child = startProcessor(dir, 'p1', overrides);
    try {
      await waitAllCommitted(brokers, topics.group, [topics.headers, topics.sensors], 120_000, () =>
        child.log().slice(-3000),
      );
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000, () => child.log().slice(-2000));
    } finally {
      const stopped = await stopProcessor(child);
      expect(stopped, child.log().slice(-3000)).toMatchObject({ code: 0, killed: false });
    }

    const events = await queryEmbedded<EventKey>(embeddedPath, EVENT_KEY_SQL);
    const want = ref.events.map(eventKey).sort();
    const got = events.map(eventKey).sort();
    expect(diffKeys(want, got), 'events missing from / extra in ClickHouse').toEqual({
      missing: [],
      extra: [],
    });
    // A flow whose packets came from both taps is classified under the pair's name.
    const sensors = await queryEmbedded<{ sensor: string }>(
      embeddedPath,
      'SELECT DISTINCT sensor FROM rstwatch.rst_events ORDER BY sensor',
    );
    expect(sensors.map((s) => s.sensor)).toEqual(['tap-a-rx+tap-a-tx']);
    const batches = await queryEmbedded<{ sensor: string; n: number }>(
      embeddedPath,
      'SELECT sensor, count() AS n FROM rstwatch.header_batches GROUP BY sensor ORDER BY sensor',
    );
    expect(batches.map((b) => b.sensor)).toEqual(['tap-a-rx', 'tap-a-tx']);
  });

  it('a processor killed while the merge holds headers of both taps: the restart gives the same events, once', async () => {
    const dir = tempDir('merge-kill');
    const whole = await generate(dir, 20_000, 11);
    const rx = join(dir, 'rx.pcap');
    const tx = join(dir, 'tx.pcap');
    splitByDirection(whole, rx, tx);
    const ref = await analyzeReference(whole, dir, { processor: { workers: 1 }, classifier: QUICK_EXPIRY });
    expect(ref.events.length).toBeGreaterThan(50);

    const topics = await testTopics('proc-merge-kill', brokers, 1);
    await Promise.all([
      publish(brokers, topics, rx, { maxHeaders: 16, sensorId: 'tap-b-rx' }),
      sleep(30).then(() => publish(brokers, topics, tx, { maxHeaders: 16, sensorId: 'tap-b-tx' })),
    ]);
    const total = (await progress(brokers, topics.group, topics.headers)).total;
    const embeddedPath = join(dir, 'chdb');
    // The default merge delay (500 ms): the whole backlog arrived within it, so the merge holds headers
    // of both sources while offsets are committed with its state (heldFrom) in the metadata.
    const conf = processorOverrides(brokers, topics, embeddedPath, { classifier: QUICK_EXPIRY });
    const first = startProcessor(dir, 'k1', conf);
    let held = '';
    try {
      await waitFor(
        'the first processor to commit part of the stream while the merge holds headers',
        async () => {
          const p = await progress(brokers, topics.group, topics.headers);
          if (p.committed >= total) throw new Error('finished before it could be killed; use a larger input');
          if (p.committed <= 0) return false;
          const consumer = createKafka({ brokers, clientId: 'merge-kill-offsets' }).consumer({
            groupId: topics.group,
          });
          try {
            held = (await consumer.committedOffsets(topics.headers))[0]?.metadata ?? '';
          } finally {
            await consumer.disconnect();
          }
          return /rstwatch:merge:[^:;]*:\d+:/.test(held); // <frontier>:<oldest held offset>:...
        },
        120_000,
        () => first.log().slice(-2000),
        20,
      );
    } finally {
      first.kill('SIGKILL');
    }
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(held, 'committed with headers held (their oldest offset in the merge state)').toMatch(
      /rstwatch:merge:[^:;]*:\d+:/,
    );

    const second = startProcessor(dir, 'k2', conf);
    try {
      // The dead member holds its partition until its session times out (30 s).
      await waitAllCommitted(brokers, topics.group, [topics.headers], 180_000, () =>
        second.log().slice(-2000),
      );
      await waitTicksSettled(brokers, topics.group, topics.headers, 60_000, () => second.log().slice(-2000));
    } finally {
      const stopped = await stopProcessor(second);
      expect(stopped, second.log().slice(-3000)).toMatchObject({ code: 0, killed: false });
    }
    const got = (await queryEmbedded<EventKey>(embeddedPath, EVENT_KEY_SQL)).map(eventKey).sort();
    expect(got.length - new Set(got).size, 'duplicate events').toBe(0);
    expect(
      diffKeys(ref.events.map(eventKey).sort(), got),
      'events missing from / extra in ClickHouse',
    ).toEqual({
      missing: [],
      extra: [],
    });
  });
});
