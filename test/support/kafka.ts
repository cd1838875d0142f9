// Finds a Kafka broker for integration tests, in the order of the architecture doc ("Test environments"):
// KAFKA_BROKERS, else a Docker engine via testcontainers, else the local Apache Kafka from infra/kafka.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKafka } from '@rstwatch/kafka';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const kafkaInfra = join(repoRoot, 'infra/kafka');
/** Scratch space for test brokers (gitignored). */
export const workDir = join(repoRoot, 'test/.work');

export type KafkaSource = 'env' | 'testcontainers' | 'local';

export interface KafkaHandle {
  brokers: string[];
  source: KafkaSource;
  stop(): Promise<void>;
}

/** Default image when Docker is used: Confluent Platform 8.0 = Apache Kafka 4.0, KRaft only. */
export const defaultKafkaImage = 'confluentinc/cp-kafka:8.0.0';

/** A free TCP port on 127.0.0.1 (closed again; race-prone only against other port grabbers). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

/** True when a Docker engine answers within `timeoutMs` (checked through testcontainers). */
export async function dockerReachable(timeoutMs = 3000): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const sockets = ['/var/run/docker.sock', join(process.env.HOME ?? '/root', '.docker/run/docker.sock')];
  if (!host && !sockets.some((s) => existsSync(s))) return false; // skip loading testcontainers at all
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((res) => {
      timer = setTimeout(() => res(false), timeoutMs);
    });
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export interface LocalBroker {
  brokers: string[];
  port: number;
  dir: string;
  /** Starts (or restarts) the broker on the same port and data dir. */
  start(): Promise<void>;
  /** Clean shutdown (SIGTERM, then SIGKILL of that pid after `timeoutS`). */
  stop(timeoutS?: number): Promise<void>;
  /** Milliseconds the last start() took. */
  lastStartMs: number;
  /**
   * Freezes the broker process (SIGSTOP to the pid start.sh recorded): connections stay open, requests
   * queue in the socket buffers unanswered. `resume()` (SIGCONT) lets it process them.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** Sends `signal` to the broker start.sh started for `dir`, after checking the pid is still that broker. */
async function signalBroker(dir: string, signal: NodeJS.Signals): Promise<void> {
  const pid = Number((await readFile(join(dir, 'kafka.pid'), 'utf8')).trim());
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!Number.isInteger(pid) || pid <= 1 || !cmdline.includes('kafka.Kafka')) {
    throw new Error(`no local broker running for ${dir} (pid file says ${pid})`);
  }
  process.kill(pid, signal);
}

/**
 * A private local broker (infra/kafka/start.sh) on its own port and data dir. It is stopped when this
 * process exits, even on a crash (start.sh --exit-with).
 */
export async function localBroker(opts: { port?: number; dir?: string } = {}): Promise<LocalBroker> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? join(workDir, `kafka-${port}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const broker: LocalBroker = {
    brokers: [`127.0.0.1:${port}`],
    port,
    dir,
    lastStartMs: 0,
    async start() {
      const t0 = performance.now();
      try {
        const { stdout } = await run(
          join(kafkaInfra, 'start.sh'),
          ['--port', String(port), '--dir', dir, '--exit-with', String(process.pid)],
          { timeout: 180_000 },
        );
        const addr = stdout.trim().split('\n').pop();
        if (addr !== `127.0.0.1:${port}`) throw new Error(`start.sh printed '${stdout.trim()}'`);
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(
          `starting the local Kafka broker (infra/kafka/start.sh, dir ${dir}) failed: ${e.stderr || e.message}`,
          {
            cause: err,
          },
        );
      }
      broker.lastStartMs = performance.now() - t0;
    },
    async stop(timeoutS = 30) {
      await run(join(kafkaInfra, 'stop.sh'), ['--dir', dir, '--timeout', String(timeoutS)], {
        timeout: (timeoutS + 15) * 1000,
      });
    },
    pause: () => signalBroker(dir, 'SIGSTOP'),
    resume: () => signalBroker(dir, 'SIGCONT'),
  };
  await broker.start();
  return broker;
}

async function fromTestcontainers(): Promise<KafkaHandle> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(process.env.RSTWATCH_KAFKA_IMAGE ?? defaultKafkaImage)
    .withKraft()
    .withEnvironment({
      KAFKA_NUM_PARTITIONS: '4',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    })
    .start();
  return {
    brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

/**
 * A Kafka broker for this test run: `KAFKA_BROKERS` (comma-separated) if set; else a container when a
 * Docker engine answers; else the local Apache Kafka (infra/kafka). RSTWATCH_KAFKA=local|testcontainers
 * forces a source.
 */
export async function getKafka(): Promise<KafkaHandle> {
  const env = process.env.KAFKA_BROKERS?.trim();
  if (env) {
    const brokers = env
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    return { brokers, source: 'env', stop: async () => {} };
  }
  const forced = process.env.RSTWATCH_KAFKA;
  if (forced === 'testcontainers' || (forced !== 'local' && (await dockerReachable()))) {
    return fromTestcontainers();
  }
  const broker = await localBroker();
  return {
    brokers: broker.brokers,
    source: 'local',
    stop: async () => {
      await broker.stop();
      await rm(broker.dir, { recursive: true, force: true });
    },
  };
}

/** A topic name no other test uses: `prefix-<time>-<random>`. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates `topic` with `partitions` partitions (no-op if it exists) and waits for its leaders. */
export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = createKafka({ brokers, clientId: 'rstwatch-test-setup' }).admin();
  try {
    await admin.createTopics([{ topic, numPartitions: partitions }]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * createTopic on a broker that was just started, which may still answer metadata requests with
 * NOT_LEADER or the leader wait with UNKNOWN_TOPIC_OR_PARTITION: retried for ~9 s.
 */
export async function createTopicWhenReady(
  brokers: string[],
  topic: string,
  partitions: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createTopic(brokers, topic, partitions);
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 1000)));
    }
  }
}
