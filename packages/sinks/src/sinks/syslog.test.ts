import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toEcs } from '../format/ecs.js';
import { rfc5424 } from '../format/rfc5424.js';
import { SinkError } from '../sink.js';
import { sampleAlert, sampleAlerts } from '../testing.js';
import { octetFrame, parseSyslogUrl, SyslogSink } from './syslog.js';

const base = {
  format: 'json' as const,
  appName: 'rstwatch',
  facility: 4,
  hostname: 'det-1',
  rejectUnauthorized: true,
  timeoutMs: 1000,
};

/** Splits an octet-counted stream into messages. */
function unframe(buf: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < buf.length) {
    const sp = buf.indexOf(0x20, at);
    const len = Number(buf.subarray(at, sp).toString());
    out.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    at = sp + 1 + len;
  }
  return out;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tcpReceiver(port = 0) {
  const data: Buffer[] = [];
  const conns: Socket[] = [];
  const server: Server = createServer((s) => {
    conns.push(s);
    s.on('data', (d: Buffer) => data.push(d));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const stop = () =>
    new Promise<void>((r) => {
      for (const c of conns) c.destroy();
      server.close(() => r());
    });
  cleanups.push(stop);
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    messages: () => unframe(Buffer.concat(data)),
    conns,
    stop,
  };
}

describe('syslog url and framing', () => {
  it('parses udp/tcp/tls URLs and rejects others', () => {
    expect(parseSyslogUrl('udp://127.0.0.1:514')).toEqual({ transport: 'udp', host: '127.0.0.1', port: 514 });
    expect(parseSyslogUrl('tls://[::1]:6514')).toEqual({ transport: 'tls', host: '::1', port: 6514 });
    expect(parseSyslogUrl('tcp://logs.example:601')).toEqual({
      transport: 'tcp',
      host: 'logs.example',
      port: 601,
    });
    for (const bad of ['http://x:1', 'tcp://x', 'udp://x:0', 'udp://x:70000', 'tcp://::1:5']) {
      expect(() => parseSyslogUrl(bad)).toThrow(/must be/);
    }
  });

  it('octet counting counts bytes, not characters', () => {
    expect(octetFrame('abc').toString()).toBe('3 abc');
    expect(octetFrame('é').toString()).toBe('2 é');
  });
});

describe('SyslogSink', () => {
  it('tcp: sends octet-counted RFC 5424 messages over one connection', async () => {
    const rx = await tcpReceiver();
    const sink = new SyslogSink({ ...base, url: `tcp://127.0.0.1:${rx.port}` });
    cleanups.unshift(() => sink.close());
    const alerts = sampleAlerts(3);
    await sink.send(alerts.slice(0, 2));
    await sink.send(alerts.slice(2));
    await expect.poll(() => rx.messages().length).toBe(3);
    expect(rx.conns).toHaveLength(1);
    const msgs = rx.messages();
    for (let i = 0; i < 3; i++) {
      expect(msgs[i]).toBe(
        rfc5424(alerts[i]!, {
          appName: 'rstwatch',
          facility: 4,
          hostname: 'det-1',
          body: 'json',
          procId: String(process.pid),
        }),
      );
    }
  });

  /** A TCP syslog sink and its receiver, version 1 of the sample alert already received. */
  async function tcpSinkSentOnce() {
    const rx = await tcpReceiver();
    const port = rx.port;
    const sink = new SyslogSink({ ...base, url: `tcp://127.0.0.1:${port}` });
    cleanups.unshift(() => sink.close());
    await sink.send([sampleAlert()]);
    await expect.poll(() => rx.messages().length).toBe(1);
    return { rx, port, sink };
  }

  it('tcp: a receiver that is down fails the send; after it is back the sink reconnects', async () => {
    const { rx, port, sink } = await tcpSinkSentOnce();
    await rx.stop();
    const err = await sink.send([sampleAlert({ version: 2 })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).permanent).toBe(false);
    const rx2 = await tcpReceiver(port);
    await sink.send([sampleAlert({ version: 3 })]);
    // The connection dropped right after the write of version 1, which may have been lost on the way (TCP
    // took it, the receiver was gone): it is written again first (at least once, like rsyslog's
    // ResendLastMSGOnReconnect), then version 3.
    await expect.poll(() => rx2.messages().length).toBe(2);
    expect(rx2.messages()[0]).toContain('version="1"');
    expect(rx2.messages()[1]).toContain('version="3"');
  });

  it('tcp: a connection that drops long after the last write resends nothing', async () => {
    const { rx, port, sink } = await tcpSinkSentOnce();
    await new Promise((r) => setTimeout(r, 2200));
    await rx.stop();
    const rx2 = await tcpReceiver(port);
    await sink.send([sampleAlert({ version: 3 })]);
    await expect.poll(() => rx2.messages().length).toBe(1);
    expect(rx2.messages()[0]).toContain('version="3"');
  });

  it('udp: one datagram per alert', async () => {
    const got: string[] = [];
    const rx = createSocket('udp4');
    rx.on('message', (m) => got.push(m.toString('utf8')));
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => rx.close(() => r())));
    const sink = new SyslogSink({ ...base, format: 'cef', url: `udp://127.0.0.1:${rx.address().port}` });
    cleanups.unshift(() => sink.close());
    const alerts = sampleAlerts(2);
    await sink.send(alerts);
    await expect.poll(() => got.length).toBe(2);
    expect(got[0]).toMatch(
      /^<35>1 \S+ det-1 rstwatch \d+ reset_attack \[rstwatch@32473 .*\] CEF:0\|rstwatch\|/,
    );
    expect(got[1]).toContain(`externalId=${alerts[1]!.id}`);
  });

  it('json body parses back to the ECS document', async () => {
    const rx = await tcpReceiver();
    const sink = new SyslogSink({ ...base, url: `tcp://127.0.0.1:${rx.port}` });
    cleanups.unshift(() => sink.close());
    const a = sampleAlert({ summary: 'quote " and ] and \\ and é' });
    await sink.send([a]);
    await expect.poll(() => rx.messages().length).toBe(1);
    const msg = rx.messages()[0]!;
    expect(JSON.parse(msg.slice(msg.indexOf('] ') + 2))).toEqual(toEcs(a, { hostname: 'det-1' }));
  });

  it('tls: a handshake that never completes fails within timeoutMs', async () => {
    const rx = await tcpReceiver(); // plain TCP: accepts, never answers the ClientHello
    const sink = new SyslogSink({ ...base, url: `tls://127.0.0.1:${rx.port}`, timeoutMs: 200 });
    const t0 = performance.now();
    const err = await sink.send([sampleAlert()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(String((err as SinkError).cause)).toMatch(/not connected within 200 ms/);
    expect(performance.now() - t0).toBeLessThan(2000);
    await sink.close();
  });
});
