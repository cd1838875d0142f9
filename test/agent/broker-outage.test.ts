// The broker goes away mid-run: the agent keeps capturing, drops whole batches once its bounded buffer
// is full (counted by reason), and resumes sending when the broker is back. Every header it parsed is
// accounted for: sent (and in Kafka exactly once) or counted as dropped.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agent, runAgent, totalBatchesDropped, totalHeadersDropped } from '@rstwatch/agent';
import { TCP_ACK, TCP_PSH } from '@rstwatch/core';
import { ethernet, ipv4, type PcapRecord, pcapFile, tcp } from '@rstwatch/packet/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTopicWhenReady,
  type LocalBroker,
  localBroker,
  uniqueTopic,
  workDir,
} from '../support/kafka.js';
import { decodeBatch, decodeStats, readTopic, testAgentConfig } from './support.js';

/** `seconds` of traffic at `pps` packets/s over 50 connections, capture time starting now. */
function steadyTraffic(seconds: number, pps: number): Uint8Array {
  const recs: PcapRecord[] = [];
  const t0 = Date.now() * 1000;
  for (let i = 0; i < seconds * pps; i++) {
    const c = i % 50;
    const fwd = i % 2 === 0;
    const a = `198.18.1.${1 + c}`;
    const b = '198.18.2.1';
    const seg = tcp({
      sport: fwd ? 40000 + c : 443,
      dport: fwd ? 443 : 40000 + c,
      seq: i,
      flags: TCP_ACK | TCP_PSH,
      payload: new Uint8Array(10),
    });
    recs.push({
      tsUs: t0 + Math.round((i * 1e6) / pps),
      frame: ethernet(0x0800, ipv4({ src: fwd ? a : b, dst: fwd ? b : a }, seg)),
    });
  }
  return pcapFile(1, recs);
}

let broker: LocalBroker | undefined;
const scratch: string[] = [];
afterAll(async () => {
  await broker?.stop().catch(() => {});
  if (broker) scratch.push(broker.dir);
  await Promise.all(scratch.map((p) => rm(p, { recursive: true, force: true })));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent: broker outage', () => {
  it('keeps capturing, counts drops while the broker is down, resumes when it returns', async () => {
    broker = await localBroker();
    const brokers = broker.brokers;
    const topic = uniqueTopic('agent-outage');
    const statsTopic = uniqueTopic('agent-outage-stats');
    await createTopicWhenReady(brokers, topic, 2);
    await createTopicWhenReady(brokers, statsTopic, 1);
    await mkdir(workDir, { recursive: true });
    const pcap = join(workDir, `${topic}.pcap`);
    await writeFile(pcap, steadyTraffic(300, 200));
    scratch.push(pcap);

    const ac = new AbortController();
    let agent: Agent | undefined;
    const run = runAgent(
      testAgentConfig(brokers, {
        pcap,
        replaySpeed: '1x', // paced: behaves like a live interface (drops instead of blocking)
        topic,
        statsTopic,
        maxHeaders: 20,
        lingerMs: 50,
        bufferMaxBytes: 16 * 1024,
        heartbeatIntervalS: 1,
        retries: 1,
        shutdownTimeoutMs: 15_000,
        sendTimeoutMs: 20_000,
      }),
      { signal: ac.signal, onStarted: (a) => (agent = a) },
    );
    await expect.poll(() => agent?.stats.headersSent ?? 0, { timeout: 20_000 }).toBeGreaterThan(100);

    await broker.stop();
    const atStop = { ...agent!.stats };
    await expect
      .poll(() => agent!.stats.headersDropped.buffer_full, { timeout: 60_000, interval: 200 })
      .toBeGreaterThan(0);
    // The request in flight when the broker left fails once kafkajs gives up on it.
    await expect.poll(() => agent!.stats.sendFailures, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    const beforeRestart = agent!.stats.tcpHeaders;
    await sleep(3000); // paced replay hands over 256 headers at a time, every 1.3 s here
    expect(agent!.error).toBeUndefined();
    expect(agent!.stats.tcpHeaders).toBeGreaterThan(beforeRestart); // still capturing
    expect(agent!.stats.bufferedBytes).toBeLessThanOrEqual(16 * 1024);
    const sentWhileDown = agent!.stats.headersSent;
    expect(sentWhileDown).toBeLessThan(atStop.tcpHeaders + 200);

    await broker.start();
    const show = () => JSON.stringify(agent!.stats, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    const resumeBy = Date.now() + 90_000;
    while (agent!.stats.headersSent <= sentWhileDown + 200 && Date.now() < resumeBy) await sleep(200);
    expect(agent!.stats.headersSent, `not resuming: ${show()}`).toBeGreaterThan(sentWhileDown + 200);
    const droppedWhileDown = agent!.stats.headersDropped.buffer_full;
    await expect.poll(() => agent!.stats.bufferedBatches, { timeout: 30_000 }).toBeLessThan(5);
    const droppedAfterCatchUp = agent!.stats.headersDropped.buffer_full;
    await sleep(3000);
    expect(agent!.stats.headersDropped.buffer_full).toBe(droppedAfterCatchUp); // keeping up again
    expect(droppedAfterCatchUp).toBeGreaterThanOrEqual(droppedWhileDown);

    ac.abort();
    const done = await run;
    const s = done.stats;
    expect(s.bufferedBatches).toBe(0);
    expect(s.tcpHeaders).toBe(s.headersSent + totalHeadersDropped(s));
    expect(s.headersDropped.shutdown).toBe(0);

    // Kafka holds exactly the sent batches; the missing batchSeqs are exactly the dropped batches.
    const got = await readTopic(
      brokers,
      topic,
      decodeBatch,
      (g) => g.reduce((n, b) => n + b.records.length, 0) >= s.headersSent,
    );
    expect(got.reduce((n, b) => n + b.records.length, 0)).toBe(s.headersSent);
    const seqs = new Set(got.map((b) => b.batchSeq));
    expect(seqs.size).toBe(got.length);
    expect(Number(s.lastBatchSeq) + 1 - seqs.size).toBe(totalBatchesDropped(s));

    const hb = await readTopic(brokers, statsTopic, decodeStats, (g) =>
      g.some((h) => h.headersSent === s.headersSent),
    );
    const last = hb.find((h) => h.headersSent === s.headersSent)!;
    expect(last.headersDropped.buffer_full).toBe(s.headersDropped.buffer_full);
    expect(last.sendFailures).toBeGreaterThan(0);
    expect(last.tcpHeaders).toBe(s.tcpHeaders);
  });
});
