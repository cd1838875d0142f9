import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AlertSinksConfig, sinksFromConfig } from './config.js';

const off: AlertSinksConfig = {
  webhook: { url: '', timeoutMs: 5000, retries: 5 },
  syslog: {
    url: '',
    format: 'json',
    appName: 'rstwatch',
    facility: 4,
    rejectUnauthorized: true,
    timeoutMs: 5000,
    retries: 5,
  },
};

describe('sinksFromConfig', () => {
  it('builds nothing when the URLs are empty', () => {
    expect(sinksFromConfig(off)).toEqual([]);
  });

  it('builds the webhook and syslog sinks with their retries, the secret read from its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rstwatch-sinkcfg-'));
    try {
      await writeFile(join(dir, 'secret'), 'k3y\n');
      const sinks = sinksFromConfig({
        webhook: { url: 'http://127.0.0.1:9/x', secretFile: join(dir, 'secret'), timeoutMs: 100, retries: 2 },
        syslog: { ...off.syslog, url: 'tcp://127.0.0.1:601', retries: 7 },
      });
      expect(sinks.map((s) => [s.sink.name, s.retries])).toEqual([
        ['webhook', 2],
        ['syslog', 7],
      ]);
      expect(() =>
        sinksFromConfig({
          ...off,
          webhook: { ...off.webhook, url: 'http://x/', secretFile: join(dir, 'none') },
        }),
      ).toThrow(/secretFile/);
      expect(() => sinksFromConfig({ ...off, syslog: { ...off.syslog, url: 'tcp://x' } })).toThrow(/must be/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
