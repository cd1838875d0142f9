/** The agent's settings from the rstwatch configuration (`sensor`, `kafka` and `agent` sections). */
import { captureConfigFrom } from '@rstwatch/capture';
import type { Config } from '@rstwatch/config';
import { kafkaConnectionFrom } from '@rstwatch/kafka';
import type { AgentRunConfig } from './main.js';

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
