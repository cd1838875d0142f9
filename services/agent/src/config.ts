/** The agent's settings from the rstwatch configuration (`sensor`, `kafka` and `agent` sections). */
import { readFileSync } from 'node:fs';
import type { Config } from '@rstwatch/config';
import type { KafkaConnectionConfig } from '@rstwatch/kafka';
import type { AgentRunConfig } from './main.js';

/** Kafka connection from the config; TLS material is read from its files here (never logged). */
export function kafkaConnectionFrom(config: Config): KafkaConnectionConfig {
  const k = config.kafka;
  const ssl = k.ssl.enabled
    ? {
        rejectUnauthorized: k.ssl.rejectUnauthorized,
        ...(k.ssl.ca ? { ca: readFileSync(k.ssl.ca, 'utf8') } : {}),
        ...(k.ssl.cert ? { cert: readFileSync(k.ssl.cert, 'utf8') } : {}),
        ...(k.ssl.key ? { key: readFileSync(k.ssl.key, 'utf8') } : {}),
      }
    : false;
  const sasl =
    k.sasl.mechanism === 'none'
      ? undefined
      : { mechanism: k.sasl.mechanism, username: k.sasl.username ?? '', password: k.sasl.password ?? '' };
  return { brokers: [...k.brokers], clientId: k.clientId, ssl, ...(sasl ? { sasl } : {}) };
}

/** Everything `runAgent` needs, from a loaded configuration. */
export function agentRunConfig(config: Config): AgentRunConfig {
  const a = config.agent;
  return {
    sensorId: config.sensor.id,
    kafka: kafkaConnectionFrom(config),
    topic: config.kafka.topics.headers,
    statsTopic: config.kafka.topics.sensors,
    iface: a.iface,
    pcap: a.pcap,
    bpf: a.bpf,
    snaplen: a.snaplen,
    replaySpeed: a.replaySpeed,
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
