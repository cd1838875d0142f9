/**
 * Wires the agent process by hand: Kafka producer -> capture source -> Agent, started in that order and
 * stopped in reverse. `runAgent` resolves when the capture ends (file) or `signal` aborts (SIGINT/SIGTERM
 * in the CLI), after flushing and the final heartbeat.
 */
import { type CaptureConfig, type CaptureSource, createSource } from '@rstwatch/capture';
import { type Compression, createKafka, type KafkaConnectionConfig, type Producer } from '@rstwatch/kafka';
import { TOPIC_HEADERS, TOPIC_SENSORS } from '@rstwatch/wire';
import { Agent, type AgentConfig, type AgentLogger } from './agent.js';
import { RUN_AGENT_DEFAULTS } from './config.js';
import { wireCodec } from './wire.js';

/** What the agent reads from the configuration (the `sensor`, `kafka` and `agent` sections). */
export interface AgentRunConfig extends CaptureConfig {
  sensorId: string;
  kafka: KafkaConnectionConfig;
  topic?: string;
  statsTopic?: string;
  maxHeaders: number;
  maxBytes: number;
  lingerMs: number;
  bufferMaxBytes: number;
  compression: Compression;
  acks: -1 | 0 | 1;
  idempotent: boolean;
  heartbeatIntervalS: number;
  /** Produce retries inside one request (the agent retries failed requests itself afterwards). */
  retries: number;
  /** Defaults: `AGENT_DEFAULTS`, `SENDER_DEFAULTS`, `RUN_AGENT_DEFAULTS` (config.ts). */
  shutdownTimeoutMs?: number;
  /** Most bytes per produce request. */
  maxRequestBytes?: number;
  /** A produce request unanswered this long makes the agent replace its producer. */
  sendTimeoutMs?: number;
}

export interface RunAgentOptions {
  signal: AbortSignal;
  logger?: AgentLogger;
  /** Called once the agent runs (e.g. to register metrics and flip readiness). */
  onStarted?: (agent: Agent) => void;
}

/** The agent component's settings from the process's. */
function agentConfig(cfg: AgentRunConfig, topic: string): AgentConfig {
  return {
    sensorId: cfg.sensorId,
    topic,
    statsTopic: cfg.statsTopic ?? TOPIC_SENSORS,
    maxHeaders: cfg.maxHeaders,
    maxBytes: cfg.maxBytes,
    lingerMs: cfg.lingerMs,
    bufferMaxBytes: cfg.bufferMaxBytes,
    heartbeatIntervalS: cfg.heartbeatIntervalS,
    ...(cfg.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: cfg.shutdownTimeoutMs } : {}),
    ...(cfg.maxRequestBytes !== undefined ? { maxRequestBytes: cfg.maxRequestBytes } : {}),
    sendTimeoutMs: cfg.sendTimeoutMs ?? RUN_AGENT_DEFAULTS.sendTimeoutMs,
  };
}

/** Run the agent until the capture ends or `signal` aborts. Throws (with what was starting) on start-up. */
export async function runAgent(cfg: AgentRunConfig, opts: RunAgentOptions): Promise<Agent> {
  const log = opts.logger;
  const topic = cfg.topic ?? TOPIC_HEADERS;
  const kafka = createKafka(cfg.kafka);
  const newProducer = () =>
    kafka.producer({
      idempotent: cfg.idempotent,
      acks: cfg.acks,
      compression: cfg.compression,
      retry: { retries: cfg.retries, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
  let producer: Producer;
  try {
    producer = newProducer();
    await producer.connect();
  } catch (err) {
    const brokers = cfg.kafka.brokers.join(',');
    throw new Error(`starting the Kafka producer (brokers ${brokers}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  let agent: Agent | undefined;
  try {
    let source: CaptureSource;
    try {
      source = createSource(cfg, log);
    } catch (err) {
      throw new Error(`starting the capture source: ${(err as Error).message}`, { cause: err });
    }
    agent = new Agent(
      agentConfig(cfg, topic),
      {
        source,
        producer,
        codec: wireCodec,
        reconnect: async () => {
          const old = producer;
          void Promise.race([old.disconnect(), new Promise((r) => setTimeout(r, 5000).unref())]).catch(
            () => {},
          );
          const fresh = newProducer();
          await fresh.connect();
          producer = fresh;
          return fresh;
        },
      },
      log ? { logger: log } : {},
    );
    try {
      await agent.start();
    } catch (err) {
      throw new Error(`starting the agent (${source.describe}): ${(err as Error).message}`, { cause: err });
    }
    opts.onStarted?.(agent);
    const aborted = new Promise<void>((r) => {
      if (opts.signal.aborted) r();
      else opts.signal.addEventListener('abort', () => r(), { once: true });
    });
    await Promise.race([agent.captureDone.catch(() => {}), aborted]);
    await agent.stop();
    if (agent.error !== undefined) {
      const e = agent.error as Error;
      throw new Error(`capture failed (${source.describe}): ${e.message}`, { cause: e });
    }
    return agent;
  } finally {
    await agent?.stop();
    await producer.disconnect().catch(() => {});
  }
}
