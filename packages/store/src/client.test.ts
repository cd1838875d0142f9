import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ClickHouseStoreError, createClickHouse } from './client.js';
import { testClient } from './internal/testing.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

describe('createClickHouse', () => {
  it('fails fast on a closed port with an error naming the URL and never the password', async () => {
    const port = await freePort();
    const c = createClickHouse({
      url: `http://127.0.0.1:${port}`,
      username: 'ops',
      password: 's3cr3t-pw',
      requestTimeoutMs: 2000,
    });
    const t0 = Date.now();
    const err = await c.ping().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(ClickHouseStoreError);
    const msg = String((err as Error).message);
    expect(msg).toContain(`ClickHouse http://127.0.0.1:${port}: ping`);
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('s3cr3t-pw');
    await expect(c.query('SELECT 1')).rejects.toThrow(`ClickHouse http://127.0.0.1:${port}: query`);
    await c.close();
  });

  it('times out against a server that accepts but never answers, within requestTimeoutMs', async () => {
    const s = createServer(() => {});
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    const c = createClickHouse({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(c.query('SELECT 1')).rejects.toThrow(
      new RegExp(`ClickHouse http://127.0.0.1:${port}: query .*[Tt]imeout`),
    );
    expect(Date.now() - t0).toBeLessThan(2500);
    await c.close();
  });

  it('moves credentials out of the URL so they never appear in messages', async () => {
    const port = await freePort();
    const c = createClickHouse({ url: `http://ops:pa55word@127.0.0.1:${port}` });
    expect(c.url).toBe(`http://127.0.0.1:${port}`);
    await expect(c.ping()).rejects.toThrow(/^(?!.*pa55word).*ClickHouse http:\/\/127\.0\.0\.1/);
    await c.close();
  });

  it('rejects bad URLs, database names and half TLS configs with a clear message', () => {
    expect(() => createClickHouse({ url: 'tcp://db:9000' })).toThrow(
      /must be 'embedded' or http\(s\):\/\/host:port/,
    );
    expect(() => createClickHouse({ url: 'not a url' })).toThrow(/must be 'embedded' or http/);
    expect(() => createClickHouse({ url: 'http://u:secret@x y' })).toThrow(/^(?!.*secret)/);
    expect(() => createClickHouse({ database: 'a;drop' })).toThrow(/database name must match/);
    expect(() => createClickHouse({ url: 'https://db:8443', tls: { cert: '-----BEGIN X' } })).toThrow(
      /`ca` is required/,
    );
    expect(() =>
      createClickHouse({
        url: 'https://db:8443',
        tls: { ca: '-----BEGIN CERTIFICATE-----', cert: '-----BEGIN X' },
      }),
    ).toThrow(/`cert` and `key` must be given together/);
  });

  it('embedded: queries run, errors name the engine, one data dir per process', async () => {
    const c = testClient();
    await c.ping();
    expect(c.mode).toBe('embedded');
    expect(await c.query<{ v: number }>('SELECT {x:UInt32} + 1 AS v', { x: 41 })).toEqual([{ v: 42 }]);
    await expect(c.query('SELECT nope FROM nowhere')).rejects.toThrow(
      /^ClickHouse embedded \(\/.*rstwatch-store-.*\): query/,
    );
    expect(c.url).toMatch(/^embedded \(\/.*\)$/);
    expect(() => createClickHouse({ embeddedPath: '/tmp/some-other-dir-rstwatch' })).toThrow(
      /chdb\) already open at .* one data directory per process/,
    );
    await c.close();
  });
});
