import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, configDocs, dumpConfig, envName, loadConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

/** The ConfigError thrown by `fn` (fails the test if nothing or something else is thrown). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default with no file and no environment', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.sensor.id).toBe(hostname());
    expect(cfg.log).toEqual({ level: 'info', format: 'json' });
    expect(cfg.metrics).toEqual({ enabled: true, listen: '127.0.0.1:9464' });
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(cfg.kafka.topics.deadLetter).toBe('rstwatch.headers.dlq.v1');
    expect(cfg.kafka.sasl.mechanism).toBe('none');
    expect(cfg.agent.batch).toEqual({ maxHeaders: 4096, maxBytes: 1048576, lingerMs: 50 });
    expect(cfg.agent.compression).toBe('lz4');
    expect(cfg.processor.workers).toBeGreaterThanOrEqual(1);
    expect(cfg.classifier).toEqual({
      maxFlows: 262144,
      flowIdleExpiryS: 300,
      idleTimeoutS: 120,
      holdMs: 500,
      holdPackets: 16,
      timeWaitS: 60,
      scanWindowS: 60,
      scanMinPorts: 10,
      retransmitMin: 3,
      burstWindowMs: 1000,
      burstMinRsts: 5,
      maxHosts: 65536,
      duplicateWindowMs: 0.1,
      reorderWindowMs: 0.2,
      checksums: 'auto',
    });
    expect(cfg.clickhouse.url).toBe('embedded');
    expect(cfg.clickhouse.ttlDays).toEqual({
      rst_events: 90,
      flows: 30,
      sensor_stats: 30,
      header_batches: 30,
      alerts: 365,
    });
    expect(cfg.clickhouse.writer).toEqual({ maxRows: 50000, flushMs: 1000, retryMaxMs: 60000 });
  });

  it('applies defaults < file < env < overrides', () => {
    const f = file(
      'log:\n  level: debug\n  format: pretty\nclickhouse:\n  writer:\n    maxRows: 10\n    flushMs: 20\n    retryMaxMs: 30\n',
    );
    const cfg = loadConfig({
      file: f,
      env: {
        RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS: '1000',
        RSTWATCH_CLICKHOUSE__WRITER__FLUSH_MS: '2000',
        RSTWATCH_KAFKA__BROKERS: 'a:9092, b:9092',
        RSTWATCH_METRICS__ENABLED: 'false',
        RSTWATCH_CLICKHOUSE__TTL_DAYS__RST_EVENTS: '7',
        HOME: '/root',
      },
      overrides: { clickhouse: { writer: { flushMs: 5 } } },
    });
    expect(cfg.log).toEqual({ level: 'debug', format: 'pretty' }); // file
    expect(cfg.clickhouse.writer).toEqual({ maxRows: 1000, flushMs: 5, retryMaxMs: 30 }); // env, override, file
    expect(cfg.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(cfg.metrics.enabled).toBe(false);
    expect(cfg.clickhouse.ttlDays.rst_events).toBe(7);
    expect(cfg.clickhouse.ttlDays.flows).toBe(30);
  });

  it('treats only RSTWATCH_ variables with a `__` path as config, so tooling variables are left alone', () => {
    const cfg = loadConfig({
      env: { RSTWATCH_CLI: '/x', RSTWATCH_KAFKA: 'local', RSTWATCH_SENSOR__ID: 'tap-9' },
    });
    expect(cfg.sensor.id).toBe('tap-9');
    expect(() => loadConfig({ env: { RSTWATCH_SENSOR__IDD: 'x' } })).toThrow(/sensor\.idd|idd/i);
  });

  it('bounds retention: 0 keeps rows forever, values that would overflow ClickHouse DateTime are refused', () => {
    expect(loadConfig({ env: { RSTWATCH_CLICKHOUSE__TTL_DAYS__FLOWS: '0' } }).clickhouse.ttlDays.flows).toBe(
      0,
    );
    expect(() => loadConfig({ env: { RSTWATCH_CLICKHOUSE__TTL_DAYS__FLOWS: '36500' } })).toThrow(
      /clickhouse\.ttlDays\.flows.*0\.\.25000/,
    );
  });

  it('accepts alert sink URLs of the right scheme only, naming the key', () => {
    const ok = loadConfig({
      env: {
        RSTWATCH_ALERTS__WEBHOOK__URL: 'https://siem.example:8443/hook',
        RSTWATCH_ALERTS__SYSLOG__URL: 'tls://[2001:db8::1]:6514',
      },
    });
    expect(ok.alerts.webhook.url).toBe('https://siem.example:8443/hook');
    expect(ok.alerts.syslog.url).toBe('tls://[2001:db8::1]:6514');
    expect(loadConfig({ env: {} }).alerts.syslog.url).toBe('');
    expect(() => loadConfig({ env: { RSTWATCH_ALERTS__WEBHOOK__URL: 'ftp://x/y' } })).toThrow(
      /alerts\.webhook\.url.*http\(s\)/,
    );
    expect(() => loadConfig({ env: { RSTWATCH_ALERTS__SYSLOG__URL: 'tcp://host' } })).toThrow(
      /alerts\.syslog\.url.*udp:\/\/host:port/,
    );
    expect(() => loadConfig({ env: { RSTWATCH_ALERTS__SYSLOG__URL: 'udp://host:70000' } })).toThrow(
      /alerts\.syslog\.url/,
    );
  });

  it('takes durations with units everywhere a time is configured; a bare number keeps the key unit', () => {
    const c = loadConfig({
      file: file(
        'classifier:\n  holdMs: 1s\n  timeWaitS: 2m\nalerts:\n  quietS: 1h\n  webhook:\n    timeoutMs: 2.5s\n',
      ),
      env: { RSTWATCH_CLASSIFIER__IDLE_TIMEOUT_S: '500ms', RSTWATCH_CLASSIFIER__BURST_WINDOW_MS: '1500' },
      overrides: { agent: { batch: { lingerMs: '20ms' } } } as never,
    });
    expect(c.classifier.holdMs).toBe(1000);
    expect(c.classifier.timeWaitS).toBe(120);
    expect(c.classifier.idleTimeoutS).toBe(0.5);
    expect(c.classifier.burstWindowMs).toBe(1500);
    expect(c.alerts.quietS).toBe(3600);
    expect(c.alerts.webhook.timeoutMs).toBe(2500);
    expect(c.agent.batch.lingerMs).toBe(20);
    // Bare numbers keep the unit each key had before durations: no configuration changes meaning.
    expect(loadConfig({ env: { RSTWATCH_CLASSIFIER__IDLE_TIMEOUT_S: '2' } }).classifier.idleTimeoutS).toBe(2);
    expect(loadConfig({ env: { RSTWATCH_CLASSIFIER__HOLD_MS: '250' } }).classifier.holdMs).toBe(250);
    const e = configError(() => loadConfig({ env: { RSTWATCH_CLASSIFIER__IDLE_TIMEOUT_S: 'soon' } }));
    expect(e.message).toMatch(/classifier\.idleTimeoutS.*a duration such as 2s, 500ms/);
    expect(() => loadConfig({ env: { RSTWATCH_CLASSIFIER__FLOW_IDLE_EXPIRY_S: '10ms' } })).toThrow(
      /classifier\.flowIdleExpiryS.*at least 1/,
    );
  });

  it('reads the file named by RSTWATCH_CONFIG', () => {
    const f = file('sensor:\n  id: tap-7\n');
    expect(loadConfig({ env: { RSTWATCH_CONFIG: f } }).sensor.id).toBe('tap-7');
  });

  it('rejects unknown keys, naming the full path, the line and the allowed keys', () => {
    const e = configError(() =>
      loadConfig({ file: file('kafka:\n  topics:\n    headers: x\n    hedaers: y\n'), env: {} }),
    );
    expect(e.path).toBe('kafka.topics.hedaers');
    expect(e.message).toMatch(
      /^config error at kafka\.topics\.hedaers \(.*c\d+\.yaml:4\): unknown key "hedaers"/,
    );
    expect(e.message).toContain('allowed keys here: headers, sensors, alerts, events, deadLetter');
    const top = configError(() => loadConfig({ file: file('kafak: {}\n'), env: {} }));
    expect(top.path).toBe('kafak');
    const env = configError(() => loadConfig({ env: { RSTWATCH_KAFKA__BROKER: 'a:1' } }));
    expect(env.message).toContain('at kafka.broker (env RSTWATCH_KAFKA__BROKER): unknown key "broker"');
  });

  it('lists the allowed values of an enum and names the source', () => {
    const e = configError(() => loadConfig({ env: { RSTWATCH_AGENT__COMPRESSION: 'brotli' } }));
    expect(e.path).toBe('agent.compression');
    expect(e.message).toBe(
      'config error at agent.compression (env RSTWATCH_AGENT__COMPRESSION): expected one of none|gzip|snappy|lz4|zstd, got "brotli"',
    );
    const f = configError(() => loadConfig({ file: file('log:\n  level: loud\n'), env: {} }));
    expect(f.message).toMatch(
      /at log\.level \(.*:2\): expected one of trace\|debug\|info\|warn\|error, got "loud"/,
    );
  });

  it('says what type was expected and what it got', () => {
    const e = configError(() =>
      loadConfig({ file: file('clickhouse:\n  writer:\n    maxRows: x\n'), env: {} }),
    );
    expect(e.path).toBe('clickhouse.writer.maxRows');
    expect(e.cause).toBeInstanceOf(Error); // the zod error, for debugging
    expect(e.message).toMatch(
      /^config error at clickhouse\.writer\.maxRows \(.*:3\): expected a positive integer, got "x"$/,
    );
    const neg = configError(() => loadConfig({ env: { RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS: '-3' } }));
    expect(neg.message).toContain('expected a positive integer, got -3');
    const list = configError(() => loadConfig({ env: { RSTWATCH_KAFKA__BROKERS: 'a:9092,nohost' } }));
    expect(list.path).toBe('kafka.brokers.1');
    expect(list.message).toContain('expected host:port, got "nohost"');
    const url = configError(() => loadConfig({ overrides: { clickhouse: { url: 'ftp://x' } }, env: {} }));
    expect(url.message).toBe(
      'config error at clickhouse.url (override): expected "embedded" or an http(s):// URL, got "ftp://x"',
    );
    const speed = configError(() => loadConfig({ env: { RSTWATCH_AGENT__REPLAY_SPEED: 'fast' } }));
    expect(speed.path).toBe('agent.replaySpeed');
    expect(loadConfig({ env: { RSTWATCH_AGENT__REPLAY_SPEED: '10x' } }).agent.replaySpeed).toBe('10x');
  });

  it('reports every problem at once', () => {
    const e = configError(() =>
      loadConfig({ file: file('log:\n  level: loud\nagent:\n  snaplen: 1\n'), env: {} }),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['log.level', 'agent.snaplen']);
    expect(e.message.split('\n')).toHaveLength(2);
  });

  it('explains a missing file and YAML syntax errors with file:line', () => {
    const missing = join(dir, 'nope.yaml');
    const e = configError(() => loadConfig({ file: missing, env: {} }));
    expect(e.message).toBe(`config error (${missing}): cannot read the config file: file not found`);
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    const f = file('log:\n  level: info\nkafka:\n  brokers: [a:1\n  clientId: x\n');
    const y = configError(() => loadConfig({ file: f, env: {} }));
    expect(y.message).toMatch(
      new RegExp(`^config error \\(${f.replace(/[.]/g, '\\.')}:[45]:\\d+\\): YAML syntax error: `),
    );
    expect(y.cause).toBeDefined();
    const dup = configError(() =>
      loadConfig({ file: file('log:\n  level: info\n  level: warn\n'), env: {} }),
    );
    expect(dup.message).toMatch(/:3:\d+\): YAML syntax error: .*unique/i);
    const list = configError(() => loadConfig({ file: file('- a\n- b\n'), env: {} }));
    expect(list.message).toContain('must be a YAML mapping');
  });

  it('treats an empty file as all defaults', () => {
    expect(loadConfig({ file: file(''), env: {} }).log.level).toBe('info');
  });

  it('reads passwordFile secrets and refuses both forms at once', () => {
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'hunter2\n');
    chmodSync(pw, 0o600);
    const cfg = loadConfig({
      env: {
        RSTWATCH_CLICKHOUSE__PASSWORD_FILE: pw,
        RSTWATCH_KAFKA__SASL__MECHANISM: 'scram-sha-512',
        RSTWATCH_KAFKA__SASL__USERNAME: 'agent',
        RSTWATCH_KAFKA__SASL__PASSWORD_FILE: pw,
      },
    });
    expect(cfg.clickhouse.password).toBe('hunter2');
    expect(cfg.kafka.sasl.password).toBe('hunter2');
    const both = configError(() =>
      loadConfig({ env: { RSTWATCH_CLICKHOUSE__PASSWORD_FILE: pw, RSTWATCH_CLICKHOUSE__PASSWORD: 'x' } }),
    );
    expect(both.path).toBe('clickhouse.password');
    const gone = configError(() =>
      loadConfig({ env: { RSTWATCH_CLICKHOUSE__PASSWORD_FILE: join(dir, 'none') } }),
    );
    expect(gone.path).toBe('clickhouse.passwordFile');
    expect(gone.message).toContain('(env RSTWATCH_CLICKHOUSE__PASSWORD_FILE): cannot read');
    expect(gone.cause).toBeDefined();
  });

  it('checks cross-field rules: SASL credentials, TLS files, idempotence', () => {
    const sasl = configError(() => loadConfig({ env: { RSTWATCH_KAFKA__SASL__MECHANISM: 'plain' } }));
    expect(sasl.issues.map((i) => i.path)).toEqual(['kafka.sasl.username', 'kafka.sasl.password']);
    const tls = configError(() =>
      loadConfig({
        env: { RSTWATCH_KAFKA__SSL__ENABLED: 'true', RSTWATCH_KAFKA__SSL__CA: join(dir, 'ca.pem') },
      }),
    );
    expect(tls.path).toBe('kafka.ssl.ca');
    expect(tls.message).toContain('file not found');
    // TLS files of a disabled Kafka TLS section are not checked.
    expect(loadConfig({ env: { RSTWATCH_KAFKA__SSL__CA: join(dir, 'ca.pem') } }).kafka.ssl.ca).toBe(
      join(dir, 'ca.pem'),
    );
    const idem = configError(() => loadConfig({ env: { RSTWATCH_AGENT__ACKS: 'leader' } }));
    expect(idem.path).toBe('agent.idempotent');
  });

  it('lets overrides from CLI flags win over everything', () => {
    const cfg = loadConfig({
      file: file('agent:\n  pcap: /a.pcap\n'),
      env: { RSTWATCH_AGENT__PCAP: '/b.pcap' },
      overrides: { agent: { pcap: '/c.pcap' } },
    });
    expect(cfg.agent.pcap).toBe('/c.pcap');
  });
});

describe('envName', () => {
  it('maps key paths to variable names', () => {
    expect(envName(['clickhouse', 'writer', 'maxRows'])).toBe('RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS');
    expect(envName(['clickhouse', 'ttlDays', 'rst_events'])).toBe(
      'RSTWATCH_CLICKHOUSE__TTL_DAYS__RST_EVENTS',
    );
  });
});

describe('dumpConfig', () => {
  it('redacts secrets and round-trips through loadConfig', () => {
    const pw = join(dir, 'pw2');
    writeFileSync(pw, 's3cret');
    const cfg = loadConfig({
      env: {
        RSTWATCH_CLICKHOUSE__PASSWORD: 'topsecret',
        RSTWATCH_KAFKA__SASL__MECHANISM: 'plain',
        RSTWATCH_KAFKA__SASL__USERNAME: 'u',
        RSTWATCH_KAFKA__SASL__PASSWORD_FILE: pw,
      },
    });
    const text = dumpConfig(cfg, { redact: true });
    expect(text).not.toContain('topsecret');
    expect(text).not.toContain('s3cret');
    const dumped = parse(text);
    expect(dumped.clickhouse.password).toBe('<redacted>');
    expect(dumped.kafka.sasl.password).toBe('<redacted>');
    expect(dumped.kafka.sasl.passwordFile).toBe(pw);
    expect(dumped.kafka.sasl.username).toBe('u');
    expect(dumpConfig(cfg)).not.toContain('topsecret'); // redaction is the default
    expect(parse(dumpConfig(cfg, { redact: false })).clickhouse.password).toBe('topsecret');
    // An unredacted dump is a valid config file that loads back to the same values.
    const again = loadConfig({ file: file(dumpConfig(loadConfig({ env: {} }), { redact: false })), env: {} });
    expect(again).toEqual(loadConfig({ env: {} }));
  });
});

describe('configDocs', () => {
  it('documents every key with its type, default and variable', () => {
    const md = configDocs();
    expect(md).toContain(
      '| `clickhouse.writer.maxRows` | a positive integer | `50000` | `RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS` |',
    );
    expect(md).toContain('| `agent.compression` | one of none\\|gzip\\|snappy\\|lz4\\|zstd | `"lz4"` |');
    expect(md).toContain('| `sensor.id` | a non-empty string | the host name |');
    expect(md).not.toMatch(/\|\s*\|\s*$/m); // no row without a description
    // Machine-independent: no run-time values leak into the docs.
    expect(md).not.toContain(`\`"${hostname()}"\``);
  });

  it('docs/config.md is up to date (run `pnpm --filter @rstwatch/config docs`)', () => {
    const onDisk = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(configDocs());
  });
});
