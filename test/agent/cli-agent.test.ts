// `rstwatch agent` as a process: flags over config, JSON logs on stderr, metrics endpoint, and SIGTERM =
// stop capturing, flush, final heartbeat, exit 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTopic, freePort, uniqueTopic, workDir } from '../support/kafka.js';
import { decodeBatch, decodeStats, readTopic, referenceHeaders } from './support.js';

const brokers = inject('kafkaBrokers');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'services/cli/dist/main.js');
const fixture = join(root, 'test/fixtures/agent/curl-rst.pcap');

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exit, stderr: () => stderr };
}

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((p) => rm(p, { force: true })));
});

async function topics() {
  const topic = uniqueTopic('agent-cli');
  const stats = uniqueTopic('agent-cli-stats');
  await createTopic(brokers.split(','), topic, 2);
  await createTopic(brokers.split(','), stats, 1);
  await mkdir(workDir, { recursive: true });
  const cfg = join(workDir, `${topic}.yaml`);
  scratch.push(cfg);
  await writeFile(
    cfg,
    `sensor:\n  id: cfg-sensor\nkafka:\n  brokers: ["127.0.0.1:1"]\n  topics:\n    sensors: ${stats}\nagent:\n  batch:\n    maxHeaders: 16\n  compression: zstd\nmetrics:\n  enabled: false\n`,
  );
  return { topic, stats, cfg };
}

describe('rstwatch agent (process)', () => {
  it('replays a capture to Kafka and exits 0; flags override the config file', async () => {
    const { topic, stats, cfg } = await topics();
    const ref = await referenceHeaders(fixture);
    const p = start([
      'agent',
      '--config',
      cfg,
      '--pcap',
      fixture,
      '--brokers',
      brokers,
      '--sensor-id',
      'cli-1',
      '--topic',
      topic,
    ]);
    expect(await p.exit, p.stderr()).toBe(0);
    const lines = p
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: number | string });
    expect(lines.some((l) => l.msg === 'agent stopped')).toBe(true);
    const got = await readTopic(
      brokers.split(','),
      topic,
      decodeBatch,
      (g) => g.reduce((n, b) => n + b.records.length, 0) >= ref.records.length,
    );
    expect(got.reduce((n, b) => n + b.records.length, 0)).toBe(ref.records.length);
    expect(got.every((b) => b.sensorId === 'cli-1' && b.records.length <= 16)).toBe(true);
    const hb = await readTopic(brokers.split(','), stats, decodeStats, (g) => g.length > 0);
    expect(hb.at(-1)!.sensorId).toBe('cli-1');
    expect(hb.at(-1)!.headersSent).toBe(ref.records.length);
  });

  it('SIGTERM: stops a paced replay, flushes, publishes the final heartbeat, exits 0; serves /metrics', async () => {
    const { topic, stats, cfg } = await topics();
    const port = await freePort();
    const p = start(
      [
        'agent',
        '--config',
        cfg,
        '--pcap',
        fixture,
        '--replay-speed',
        '0.01x',
        '--brokers',
        brokers,
        '--topic',
        topic,
      ],
      {
        RSTWATCH_SENSOR__ID: 'env-sensor',
        RSTWATCH_METRICS__ENABLED: 'true',
        RSTWATCH_METRICS__LISTEN: `127.0.0.1:${port}`,
      },
    );
    const child: ChildProcess = p.child;
    // Wait until something was sent (first batches go out after the linger time).
    let metrics = '';
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (/rstwatch_agent_headers_sent_total [1-9]/.test(metrics)) break;
      } catch {
        // not listening yet
      }
    }
    expect(metrics).toMatch(/rstwatch_agent_headers_sent_total [1-9]/);
    expect(metrics).toContain('rstwatch_agent_headers_dropped_total{reason="buffer_full"} 0');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await p.exit, p.stderr()).toBe(0);
    const hb = await readTopic(brokers.split(','), stats, decodeStats, (g) => g.length > 0);
    const last = hb.at(-1)!;
    expect(last.sensorId).toBe('env-sensor');
    expect(last.headersSent).toBeGreaterThan(0);
    const got = await readTopic(
      brokers.split(','),
      topic,
      decodeBatch,
      (g) => g.reduce((n, b) => n + b.records.length, 0) >= last.headersSent,
    );
    expect(got.reduce((n, b) => n + b.records.length, 0)).toBe(last.headersSent);
    expect(last.tcpHeaders).toBe(last.headersSent);
  });
});
