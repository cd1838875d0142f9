/** The Kafka connection described by the rstwatch configuration's `kafka` section. */
import { readFileSync } from 'node:fs';
import type { Config } from '@rstwatch/config';
import type { KafkaConnectionConfig } from './config.js';

/** Kafka connection from the config; TLS material is read from its files here (never logged). */
export function kafkaConnectionFrom(config: Pick<Config, 'kafka'>): KafkaConnectionConfig {
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
