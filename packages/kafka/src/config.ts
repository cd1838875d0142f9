// Connection configuration for @rstwatch/kafka and its translation to kafkajs (the only place that knows it).
import type { KafkaConfig, LogEntry, logCreator, SASLOptions } from 'kafkajs';
import { KafkaError } from './errors.js';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Structured log sink. `extra` never contains credentials or TLS material. */
export type KafkaLogger = (
  level: Exclude<KafkaLogLevel, 'nothing'>,
  message: string,
  extra: Record<string, unknown>,
) => void;

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  initialRetryTime: number;
  maxRetryTime: number;
}

export interface TlsOptions {
  /** PEM CA bundle; omitted: the system's CAs. */
  ca?: string;
  /** PEM client certificate (mutual TLS). */
  cert?: string;
  /** PEM client private key (mutual TLS). */
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface SaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

export interface KafkaConnectionConfig {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id sent to the brokers (quotas, logs). Default `rstwatch`. */
  clientId?: string;
  /** `true`: TLS with the system's CAs. */
  ssl?: boolean | TlsOptions;
  sasl?: SaslOptions;
  /** TCP connect timeout per broker. Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** Per-request timeout. Default 30000 ms. */
  requestTimeoutMs?: number;
  /** Retries for connecting and for admin/consumer requests. Default 5 retries, 300 ms .. 10 s. */
  retry?: RetryOptions;
  /** Minimum level passed to `logger`. Default `warn`; with no logger nothing is logged. */
  logLevel?: KafkaLogLevel;
  logger?: KafkaLogger;
}

export const defaultConnection = {
  clientId: 'rstwatch',
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 30_000,
  retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 } satisfies RetryOptions,
  logLevel: 'warn' as KafkaLogLevel,
};

// kafkajs numeric levels: NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5.
const levelNumber: Record<KafkaLogLevel, number> = { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 };
const levelName = (n: number): Exclude<KafkaLogLevel, 'nothing'> =>
  n <= 1 ? 'error' : n <= 2 ? 'warn' : n <= 4 ? 'info' : 'debug';

const secretKey = /pass|secret|token|sasl|ssl|credential|authoriz|^cert$|^key$|^ca$/i;

/** Copies `value` with anything that looks like a credential replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value))
    return `[${(value as Uint8Array).byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return value.message;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = secretKey.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function validate(cfg: KafkaConnectionConfig): void {
  const bad = (key: string, why: string): never => {
    throw new KafkaError(`invalid Kafka config: ${key} ${why}`, { kind: 'config' });
  };
  if (!Array.isArray(cfg.brokers) || cfg.brokers.length === 0)
    bad('brokers', 'must list at least one host:port');
  for (const b of cfg.brokers) {
    if (typeof b !== 'string' || !/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) {
      bad('brokers', `entry '${String(b)}' is not host:port`);
    }
  }
  for (const key of ['connectionTimeoutMs', 'requestTimeoutMs'] as const) {
    const v = cfg[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      bad(key, 'must be a positive number of milliseconds');
  }
  if (cfg.logLevel !== undefined && !(cfg.logLevel in levelNumber)) {
    bad('logLevel', `must be one of ${Object.keys(levelNumber).join(', ')}`);
  }
  if (cfg.sasl !== undefined) {
    if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(cfg.sasl.mechanism)) {
      bad('sasl.mechanism', 'must be one of plain, scram-sha-256, scram-sha-512');
    }
    if (!cfg.sasl.username) bad('sasl.username', 'must not be empty');
  }
}

function logCreatorFor(cfg: KafkaConnectionConfig): logCreator {
  const logger = cfg.logger;
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      if (logger === undefined) return;
      const { message, timestamp: _t, logger: _l, ...rest } = log as LogEntry['log'] & { logger?: unknown };
      const extra = redact(rest) as Record<string, unknown>;
      if (namespace) extra.namespace = namespace;
      try {
        logger(levelName(level), String(message), extra);
      } catch {
        // A failing log sink must not break the client.
      }
    };
}

/** The kafkajs client configuration for `cfg` (validated). */
export function toKafkaJsConfig(cfg: KafkaConnectionConfig): KafkaConfig {
  validate(cfg);
  const level = cfg.logger === undefined ? 'nothing' : (cfg.logLevel ?? defaultConnection.logLevel);
  const out: KafkaConfig = {
    brokers: [...cfg.brokers],
    clientId: cfg.clientId ?? defaultConnection.clientId,
    connectionTimeout: cfg.connectionTimeoutMs ?? defaultConnection.connectionTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs ?? defaultConnection.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { ...(cfg.retry ?? defaultConnection.retry) },
    logLevel: levelNumber[level],
    logCreator: logCreatorFor(cfg),
  };
  if (cfg.ssl === true) out.ssl = true;
  else if (cfg.ssl && typeof cfg.ssl === 'object') {
    const { ca, cert, key, rejectUnauthorized } = cfg.ssl;
    out.ssl = {
      ...(ca === undefined ? {} : { ca: [ca] }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    };
  }
  if (cfg.sasl !== undefined) {
    const { mechanism, username, password } = cfg.sasl;
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}
