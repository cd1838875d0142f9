/** The agent's settings from the rstwatch configuration (`sensor`, `kafka` and `agent` sections). */
import { captureConfigFrom } from '@rstwatch/capture';
import type { Config } from '@rstwatch/config';
import { kafkaConnectionFrom } from '@rstwatch/kafka';
import type { AgentRunConfig } from './main.js';

/**
 * Defaults of the agent component's optional settings (`AgentConfig`), declared here only. The settings
 * from the rstwatch configuration (batch sizes, buffer, heartbeat) have theirs in its schema.
 */
export const AGENT_DEFAULTS = {
  /** Most time `stop()` without a deadline spends flushing and sending the final heartbeat. */
  shutdownTimeoutMs: 10_000,
} as const;

/** Defaults of the agent process (`runAgent`) where they differ from the component's. */
export const RUN_AGENT_DEFAULTS = {
  /** A produce request unanswered this long makes the agent replace its producer. */
  sendTimeoutMs: 90_000,
} as const;

/** Defaults of the bounded sender's optional settings (`SenderConfig`), declared here only. */
export const SENDER_DEFAULTS = {
  /** Most bytes per produce request (1 MB; several batches are grouped up to this). */
  maxRequestBytes: 1_000_000,
  /** A produce request unanswered this long is abandoned and sent again (0 = wait forever). */
  sendTimeoutMs: 0,
  /** Retry backoff: 100 ms doubling to 5 s. */
  backoffInitialMs: 100,
  backoffMaxMs: 5_000,
  /** Most time `stop()` without a deadline spends sending what is buffered. */
  shutdownTimeoutMs: 10_000,
} as const;

/** Everything `runAgent` needs, from a loaded configuration. */
export function agentRunConfig(config: Config): AgentRunConfig {
  const a = config.agent;
  return {
    ...captureConfigFrom(a),
    sensorId: config.sensor.id,
    kafka: kafkaConnectionFrom(config),
    topic: config.kafka.topics.headers,
    statsTopic: config.kafka.topics.sensors,
    maxHeaders: a.batch.maxHeaders,
    maxBytes: a.batch.maxBytes,
    lingerMs: a.batch.lingerMs,
    bufferMaxBytes: a.bufferMaxBytes,
    compression: a.compression,
    acks: a.acks === 'all' ? -1 : a.acks === 'leader' ? 1 : 0,
    idempotent: a.idempotent,
    heartbeatIntervalS: a.heartbeatIntervalS,
    retries: a.retries,
  };
}
