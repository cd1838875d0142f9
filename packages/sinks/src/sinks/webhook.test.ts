import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toEcs } from '../format/ecs.js';
import { SinkError } from '../sink.js';
import { sampleAlert, sampleAlerts } from '../testing.js';
import { signBody, verifySignature, WebhookSink } from './webhook.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  method: string;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** An HTTP receiver on 127.0.0.1; `answer` picks the status of each request (default 200). */
async function receiver(answer: (r: Received, n: number) => number | 'hang' = () => 200) {
  const got: Received[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        method: req.method ?? '',
      };
      got.push(r);
      const status = answer(r, got.length);
      if (status === 'hang') return;
      res.writeHead(status, status === 301 ? { location: 'http://elsewhere/' } : {}).end('answer');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`;
  return { got, url };
}

describe('WebhookSink', () => {
  it('POSTs each alert as an ECS document with a signature the receiver can verify', async () => {
    const secret = 's3cret';
    const verified: boolean[] = [];
    const { got, url } = await receiver((r) => {
      verified.push(verifySignature(secret, r.body, r.headers['x-rstwatch-signature'] as string));
      return 200;
    });
    const sink = new WebhookSink({ url, secret, timeoutMs: 2000 });
    const alerts = sampleAlerts(3);
    await sink.send(alerts);
    expect(got).toHaveLength(3);
    expect(verified).toEqual([true, true, true]);
    for (let i = 0; i < 3; i++) {
      const r = got[i]!;
      expect(r.method).toBe('POST');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-rstwatch-alert-id']).toBe(alerts[i]!.id);
      expect(r.headers['x-rstwatch-alert-version']).toBe('1');
      expect(r.headers['idempotency-key']).toBe(`${alerts[i]!.id}:1`);
      expect(r.headers['x-rstwatch-signature']).toBe(signBody(secret, r.body));
      expect(JSON.parse(r.body)).toEqual(toEcs(alerts[i]!));
    }
    // A tampered body or another key does not verify.
    expect(
      verifySignature(secret, `${got[0]!.body} `, got[0]!.headers['x-rstwatch-signature'] as string),
    ).toBe(false);
    expect(verifySignature('other', got[0]!.body, got[0]!.headers['x-rstwatch-signature'] as string)).toBe(
      false,
    );
    expect(verifySignature(secret, got[0]!.body, undefined)).toBe(false);
  });

  it('signBody is HMAC-SHA256 in hex', () => {
    // RFC 4231 test case 2.
    expect(signBody('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('sends no signature header without a secret', async () => {
    const { got, url } = await receiver();
    await new WebhookSink({ url, timeoutMs: 2000 }).send([sampleAlert()]);
    expect(got[0]!.headers['x-rstwatch-signature']).toBeUndefined();
  });

  it('5xx, 408 and 429 are retryable; other 4xx and redirects are permanent; delivered says how far it got', async () => {
    const statuses = [200, 503, 200, 429, 200, 408, 200, 400, 200, 301, 200, 404];
    const { url } = await receiver((_r, n) => statuses[n - 1]!);
    const sink = new WebhookSink({ url, timeoutMs: 2000 });
    const expectations: [boolean, number][] = [
      [false, 1],
      [false, 1],
      [false, 1],
      [true, 1],
      [true, 1],
      [true, 1],
    ];
    for (const [permanent, delivered] of expectations) {
      const err = await sink.send(sampleAlerts(2)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect((err as SinkError).permanent).toBe(permanent);
      expect((err as SinkError).delivered).toBe(delivered);
    }
  });

  it('a receiver that does not answer in time, or is not there, is a retryable failure', async () => {
    const { url } = await receiver(() => 'hang');
    const t0 = performance.now();
    const err = (await new WebhookSink({ url, timeoutMs: 200 })
      .send([sampleAlert()])
      .catch((e) => e)) as SinkError;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(err.permanent).toBe(false);
    expect(err.cause instanceof Error && err.cause.message).toMatch(/no response within 200 ms/);
    const closedUrl = url.replace(/:\d+\//, ':1/');
    const refused = (await new WebhookSink({ url: closedUrl, timeoutMs: 500 })
      .send([sampleAlert()])
      .catch((e) => e)) as SinkError;
    expect(refused).toBeInstanceOf(SinkError);
    expect(refused.permanent).toBe(false);
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => new WebhookSink({ url: 'ftp://x/', timeoutMs: 1 })).toThrow(/http/);
    expect(() => new WebhookSink({ url: 'nope', timeoutMs: 1 })).toThrow(/not a URL/);
  });
});
