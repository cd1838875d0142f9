import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics, parseListen, rateLimitedLog, startHttpServer } from './index.js';
import { prettyLine } from './internal/pretty.js';

/** A pino destination collecting lines in memory. */
function sink() {
  const lines: string[] = [];
  return {
    lines,
    objects: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    write(chunk: string) {
      for (const l of chunk.split('\n')) if (l !== '') lines.push(l);
    },
  };
}

describe('createLogger', () => {
  it('writes JSON lines with level labels, name and base fields', () => {
    const out = sink();
    const log = createLogger({ name: 'agent', level: 'debug', base: { sensor: 'tap-1' }, destination: out });
    log.debug({ batch: 3 }, 'sent');
    log.trace('hidden');
    const [o] = out.objects();
    expect(out.lines).toHaveLength(1);
    expect(o).toMatchObject({ level: 'debug', name: 'agent', sensor: 'tap-1', batch: 3, msg: 'sent' });
    expect(String(o!.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('redacts passwords, secrets and authorization headers at any usual depth', () => {
    const out = sink();
    const log = createLogger({ destination: out });
    log.info(
      {
        password: 'p0',
        config: { kafka: { sasl: { mechanism: 'plain', password: 'p1' } }, clickhouse: { password: 'p2' } },
        sasl: { password: 'p3' },
        req: { headers: { authorization: 'Bearer p4', host: 'x' } },
        secret: 'p5',
      },
      'loaded',
    );
    const line = out.lines[0]!;
    for (const s of ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']) expect(line).not.toContain(s);
    const o = out.objects()[0] as {
      password: string;
      config: { kafka: { sasl: { mechanism: string; password: string } } };
      req: { headers: { authorization: string; host: string } };
    };
    expect(o.password).toBe('<redacted>');
    expect(o.config.kafka.sasl).toEqual({ mechanism: 'plain', password: '<redacted>' });
    expect(o.req.headers).toEqual({ authorization: '<redacted>', host: 'x' });
  });

  it('writes to stderr by default, leaving stdout empty', () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error('build first: pnpm exec tsc -b packages/telemetry');
    const script = `import { createLogger } from ${JSON.stringify(dist)}; createLogger({ name: 't' }).info({ password: 'x' }, 'hello');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toMatchObject({
      level: 'info',
      name: 't',
      msg: 'hello',
      password: '<redacted>',
    });
  });

  it('pretty-prints for people', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 'warn',
        time: '2026-01-01T10:11:12.345Z',
        name: 'proc',
        msg: 'slow',
        lagMs: 12,
      }),
    );
    expect(line).toBe('10:11:12.345 WARN  proc: slow lagMs=12\n');
  });
});

describe('rateLimitedLog', () => {
  it('writes one line per key per interval and reports what it suppressed', () => {
    const out = sink();
    let now = 1000;
    const rl = rateLimitedLog(createLogger({ destination: out }), 10_000, () => now);
    expect(rl.warn('truncated', 'truncated packet', { caplen: 20 })).toBe(true);
    for (let i = 0; i < 4; i++) expect(rl.warn('truncated', 'truncated packet')).toBe(false);
    expect(rl.warn('bad_checksum', 'bad checksum')).toBe(true); // another key is not limited
    now += 10_000;
    expect(rl.warn('truncated', 'truncated packet')).toBe(true);
    const objs = out.objects();
    expect(objs.map((o) => o.key)).toEqual(['truncated', 'bad_checksum', 'truncated']);
    expect(objs[0]).toMatchObject({ level: 'warn', caplen: 20 });
    expect(objs[0]!.suppressed).toBeUndefined();
    expect(objs[2]!.suppressed).toBe(4);
  });
});

describe('createMetrics', () => {
  it('prefixes names, applies default labels and returns the same metric twice', async () => {
    const m = createMetrics('rstwatch_', { service: 'agent' });
    const c = m.counter('drops_total', 'Headers dropped.', ['reason']);
    expect(m.counter('rstwatch_drops_total', 'Headers dropped.', ['reason'])).toBe(c);
    c.inc({ reason: 'buffer_full' }, 2);
    m.gauge('queue_bytes', 'Bytes queued.', [], (g) => g.set(42));
    m.histogram('flush_seconds', 'Flush time.', { buckets: [0.1, 1] }).observe(0.5);
    const text = await m.text();
    expect(text).toContain('rstwatch_drops_total{reason="buffer_full",service="agent"} 2');
    expect(text).toContain('rstwatch_queue_bytes{service="agent"} 42');
    expect(text).toContain('rstwatch_flush_seconds_bucket{le="1",service="agent"} 1');
    expect(() => m.counter('drops', 'no suffix')).toThrow(/_total/);
    expect(() => m.gauge('drops_total', 'wrong type')).toThrow(/another type/);
    expect(() => m.gauge('Bad-Name', 'x')).toThrow(/lower_snake_case/);
  });
});

describe('startHttpServer', () => {
  it('serves metrics, health 200 and readiness 503 with JSON bodies, 404 elsewhere', async () => {
    const m = createMetrics('rstwatch_', { service: 'test' });
    m.counter('events_total', 'Events.').inc(3);
    const srv = await startHttpServer({
      listen: '127.0.0.1:0',
      registry: m.registry,
      health: () => ({ ok: true, details: { uptimeS: 5 } }),
      ready: async () => ({ ok: false, details: { kafka: 'connecting' } }),
    });
    try {
      expect(srv.address).toBe(`127.0.0.1:${srv.port}`);
      const base = `http://${srv.address}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('rstwatch_events_total{service="test"} 3');
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', details: { uptimeS: 5 } });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', details: { kafka: 'connecting' } });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await srv.close();
    }
  });

  it('answers 503 when a probe throws', async () => {
    const srv = await startHttpServer({
      listen: '127.0.0.1:0',
      registry: createMetrics().registry,
      ready: () => {
        throw new Error('no broker');
      },
    });
    try {
      const r = await fetch(`http://${srv.address}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ status: 'unavailable', details: { error: 'no broker' } });
    } finally {
      await srv.close();
    }
  });

  it('close() frees the port, even with a keep-alive connection open', async () => {
    const srv = await startHttpServer({ listen: '127.0.0.1:0', registry: createMetrics().registry });
    await fetch(`http://${srv.address}/healthz`, { keepalive: true });
    await srv.close();
    const again = await startHttpServer({
      listen: `127.0.0.1:${srv.port}`,
      registry: createMetrics().registry,
    });
    expect(again.port).toBe(srv.port);
    await again.close();
  });

  it('rejects with the address when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        startHttpServer({ listen: `127.0.0.1:${port}`, registry: createMetrics().registry }),
      ).rejects.toThrow(`telemetry server cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });

  it('parses host:port and [v6]:port', () => {
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('9464')).toThrow(/host:port/);
    expect(() => parseListen('a:70000')).toThrow(/host:port/);
  });
});
