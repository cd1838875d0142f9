import { describe, expect, it } from 'vitest';
import { redact, toKafkaJsConfig } from './config.js';
import { KafkaError } from './errors.js';

describe('toKafkaJsConfig', () => {
  it('applies defaults and keeps kafkajs quiet without a logger', () => {
    const c = toKafkaJsConfig({ brokers: ['127.0.0.1:9092'] });
    expect(c.clientId).toBe('rstwatch');
    expect(c.connectionTimeout).toBe(3000);
    expect(c.requestTimeout).toBe(30_000);
    expect(c.logLevel).toBe(0);
    expect(c.ssl).toBeUndefined();
    expect(c.sasl).toBeUndefined();
  });

  it('maps TLS and SASL options', () => {
    const c = toKafkaJsConfig({
      brokers: ['kafka-1.example:9093', '[::1]:9093'],
      ssl: { ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      logger: () => {},
      logLevel: 'debug',
    });
    expect(c.ssl).toEqual({ ca: ['CA'], cert: 'CERT', key: 'KEY', rejectUnauthorized: false });
    expect(c.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    expect(c.logLevel).toBe(5);
    expect(toKafkaJsConfig({ brokers: ['h:1'], ssl: true }).ssl).toBe(true);
  });

  it.each([
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['no-port'] }, "entry 'no-port'"],
    [{ brokers: ['h:1'], connectionTimeoutMs: 0 }, 'connectionTimeoutMs'],
    [{ brokers: ['h:1'], logLevel: 'loud' }, 'logLevel must be one of'],
    [{ brokers: ['h:1'], sasl: { mechanism: 'gssapi', username: 'u', password: 'p' } }, 'sasl.mechanism'],
  ])('rejects %j naming the key', (cfg, fragment) => {
    const run = () => toKafkaJsConfig(cfg as never);
    expect(run).toThrow(KafkaError);
    expect(run).toThrow(fragment);
  });

  it('routes kafkajs logs to the logger, structured and without secrets', () => {
    const seen: [string, string, Record<string, unknown>][] = [];
    const c = toKafkaJsConfig({
      brokers: ['h:1'],
      logger: (level, message, extra) => seen.push([level, message, extra]),
    });
    const log = c.logCreator!(2)({
      namespace: 'Connection',
      level: 2,
      label: 'WARN',
      log: {
        message: 'handshake',
        timestamp: 'now',
        sasl: { password: 'hunter2' },
        broker: 'h:1',
        nested: { password: 'x', ok: 1 },
      } as never,
    });
    expect(seen).toEqual([
      [
        'warn',
        'handshake',
        {
          sasl: '[redacted]',
          broker: 'h:1',
          nested: { password: '[redacted]', ok: 1 },
          namespace: 'Connection',
        },
      ],
    ]);
    expect(JSON.stringify(seen)).not.toContain('hunter2');
    expect(log).toBeUndefined();
  });
});

describe('redact', () => {
  it('replaces credentials and binary payloads, keeps the rest', () => {
    expect(
      redact({ password: 'p', user: 'u', ssl: { key: 'k' }, buf: Buffer.alloc(3), list: [{ token: 't' }] }),
    ).toEqual({
      password: '[redacted]',
      user: 'u',
      ssl: '[redacted]',
      buf: '[3 bytes]',
      list: [{ token: '[redacted]' }],
    });
  });
});
