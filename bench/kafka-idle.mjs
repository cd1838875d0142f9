#!/usr/bin/env node
// Idle cost of one connected Kafka producer (through @rstwatch/kafka): CPU time and setTimeout calls
// over --seconds with nothing to send, after one answered request. Checks patches/kafkajs@2.2.4.patch
// (unpatched kafkajs re-armed a 1 ms timer forever on every idle connection). Starts a private broker
// (infra/kafka/start.sh) unless KAFKA_BROKERS is set. Prints name=value lines.
//
//   node bench/kafka-idle.mjs [--seconds 10]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../packages/kafka/dist/index.js';
import { parseBenchArgs } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: { seconds: { type: 'string', default: '10' } },
});
const seconds = Number(values.seconds);
const log = (m) => process.stderr.write(`# ${m}\n`);

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer().once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

let brokers = process.env.KAFKA_BROKERS;
let dir = null;
if (!brokers) {
  dir = mkdtempSync(join(tmpdir(), 'rw-kafka-idle-'));
  execFileSync(join(root, 'infra/kafka/build.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync(
    join(root, 'infra/kafka/start.sh'),
    ['--port', String(await freePort()), '--dir', dir, '--exit-with', String(process.pid)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  brokers = out.trim().split('\n').pop();
  log(`private broker ${brokers}`);
}
try {
  const producer = createKafka({ brokers: brokers.split(','), clientId: 'bench-idle' }).producer({
    idempotent: true,
  });
  await producer.connect();
  await producer.send(`bench-idle-${Date.now().toString(36)}`, [{ value: new Uint8Array(3) }]);
  const realSetTimeout = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = (...args) => {
    timers++;
    return realSetTimeout(...args);
  };
  const c0 = process.cpuUsage();
  await new Promise((r) => realSetTimeout(r, seconds * 1000));
  const c = process.cpuUsage(c0);
  globalThis.setTimeout = realSetTimeout;
  await producer.disconnect();
  console.log(`node=${process.version}`);
  console.log(`idle_seconds=${seconds}`);
  console.log(`cpu_ms=${Math.round((c.user + c.system) / 1000)}`);
  console.log(`settimeout_calls=${timers}`);
} finally {
  if (dir !== null) {
    execFileSync(join(root, 'infra/kafka/stop.sh'), ['--dir', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}
