// Alert sinks against real receivers: a node:http webhook receiver, Debian's rsyslogd over UDP, TCP
// and TLS, and Kafka. Each sink's alerts must arrive intact; a receiver that is down and then up must
// get every alert (exactly once over HTTP, at least once over syslog TCP/TLS, all of them over Kafka);
// a sink that stays down must end with its alerts in the undelivered file, counted; and while a sink
// is down `push` returns at once and the other sinks keep delivering.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { deadlineIn } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { createKafka, type Producer } from '@rstwatch/kafka';
import {
  ALERT_VERSION_HEADER,
  type AlertSink,
  Delivery,
  FileSink,
  KafkaAlertSink,
  SyslogSink,
  toEcs,
  type UndeliveredRecord,
  verifySignature,
  WebhookSink,
} from '@rstwatch/sinks';
import { sampleAlerts } from '@rstwatch/sinks/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopicWhenReady, freePort, localBroker, uniqueTopic, workDir } from '../support/kafka.js';
import { type Rsyslog, type RsyslogRecord, rsyslog, type SyslogTransport } from '../support/rsyslog.js';

const dir = join(workDir, `alerts-sinks-${randomBytes(4).toString('hex')}`);
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  await mkdir(dir, { recursive: true });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Alerts with distinct ids and a mix of versions, severities, rules and awkward characters. */
function alerts(n: number, tag: string): Alert[] {
  const rules = ['reset_attack', 'port_scan', 'middlebox_tampering', 'backlog_overflow_storm'] as const;
  const sev = ['low', 'medium', 'high', 'critical'] as const;
  const score = { low: 21, medium: 47, high: 73, critical: 99 };
  return sampleAlerts(n).map((a, i) => ({
    ...a,
    id: `${tag}${a.id.slice(tag.length)}`,
    version: 1 + (i % 3),
    rule: rules[i % 4]!,
    severity: sev[i % 4]!,
    severity_score: score[sev[i % 4]!],
    summary: `${tag} alert ${i}: "quoted" | piped = equal \\ backslash ] bracket é`,
    details: { i, tag, note: 'a=b|c' },
  }));
}

const key = (a: { id: string; version: number }) => `${a.id}:${a.version}`;

async function undelivered(path: string): Promise<UndeliveredRecord[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as UndeliveredRecord);
}

/** Pushes every alert and returns the longest single push, in ms. */
function pushAll(d: Delivery, list: readonly Alert[]): number {
  let worst = 0;
  for (const a of list) {
    const t0 = performance.now();
    d.push(a);
    worst = Math.max(worst, performance.now() - t0);
  }
  return worst;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------------------------------
// Webhook

interface Post {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on `port` that verifies signatures; `status` picks each answer (default 200). */
async function httpReceiver(port: number, secret: string, status: (n: number) => number = () => 200) {
  const posts: Post[] = [];
  const badSignatures: Post[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const p = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      if (!verifySignature(secret, p.body, req.headers['x-rstwatch-signature'] as string | undefined)) {
        badSignatures.push(p);
        res.writeHead(401).end();
        return;
      }
      const s = status(posts.length + 1);
      if (s >= 200 && s < 300) posts.push(p);
      res.writeHead(s).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  cleanups.push(close);
  return { posts, badSignatures, close };
}

describe('webhook sink → node:http receiver', () => {
  const secret = 'integration-secret';

  it('every alert arrives intact, signed, with its idempotency key', async () => {
    const port = await freePort();
    const rx = await httpReceiver(port, secret);
    const list = alerts(25, 'a1');
    const d = new Delivery(
      { undeliveredPath: join(dir, 'webhook-intact.ndjson') },
      { sinks: [new WebhookSink({ url: `http://127.0.0.1:${port}/alerts`, secret, timeoutMs: 5000 })] },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    pushAll(d, list);
    await d.flush(20_000);
    expect(rx.badSignatures).toEqual([]);
    expect(rx.posts.map((p) => JSON.parse(p.body))).toEqual(list.map((a) => toEcs(a)));
    expect(rx.posts.map((p) => p.headers['idempotency-key'])).toEqual(list.map(key));
    expect(rx.posts.map((p) => p.headers['x-rstwatch-alert-id'])).toEqual(list.map((a) => a.id));
    expect(d.stats.webhook).toMatchObject({ delivered: 25, failed: 0, queued: 0 });
  });

  it('a receiver that is down and then up gets every alert exactly once, and push never waits', async () => {
    const port = await freePort(); // nothing listens yet: connections are refused
    const list = alerts(30, 'a2');
    const file = join(dir, 'webhook-downup-file.ndjson');
    const d = new Delivery(
      { backoff: { initialMs: 50, maxMs: 400 }, undeliveredPath: join(dir, 'webhook-downup.ndjson') },
      {
        sinks: [
          {
            sink: new WebhookSink({ url: `http://127.0.0.1:${port}/alerts`, secret, timeoutMs: 2000 }),
            retries: 100,
          },
          new FileSink(file),
        ],
      },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    const worst = pushAll(d, list.slice(0, 20));
    expect(worst).toBeLessThan(20);
    await until(() => d.stats.webhook!.retries >= 3, 10_000, 'webhook retries');
    // The file sink is not held up by the dead webhook.
    expect(d.stats.file!.delivered).toBe(20);
    expect(d.stats.webhook!.delivered).toBe(0);
    const rx = await httpReceiver(port, secret);
    pushAll(d, list.slice(20));
    await d.flush(30_000);
    const got = rx.posts.map((p) => p.headers['idempotency-key']);
    expect(got).toEqual(list.map(key)); // every alert, once, in order
    expect(d.stats.webhook).toMatchObject({ delivered: 30, failed: 0, queued: 0 });
    expect(await undelivered(join(dir, 'webhook-downup.ndjson'))).toEqual([]);
  });

  it('a receiver answering 503 for a while gets every alert exactly once', async () => {
    const port = await freePort();
    let failures = 0;
    const rx = await httpReceiver(port, secret, () => (failures++ < 4 ? 503 : 200));
    const list = alerts(10, 'a3');
    const d = new Delivery(
      {
        retries: 10,
        backoff: { initialMs: 20, maxMs: 100 },
        undeliveredPath: join(dir, 'webhook-503.ndjson'),
      },
      { sinks: [new WebhookSink({ url: `http://127.0.0.1:${port}/`, secret, timeoutMs: 2000 })] },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    pushAll(d, list);
    await d.flush(20_000);
    expect(rx.posts.map((p) => p.headers['idempotency-key'])).toEqual(list.map(key));
    expect(d.stats.webhook).toMatchObject({ delivered: 10, retries: 4, failed: 0 });
  });
});

// ---------------------------------------------------------------------------------------------------
// Syslog

/** Parses a CEF extension into key/value pairs (undoing the escapes). */
function cefExtension(ext: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(?:^| )([A-Za-z0-9]+)=((?:[^\\ ]|\\.| (?![A-Za-z0-9]+=))*)/g;
  for (const m of ext.matchAll(re)) {
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  }
  return out;
}

/** Splits a CEF line into 7 header fields (unescaped) and the extension. */
function cefParse(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let cur = '';
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const c = line[i]!;
    if (c === '\\') cur += line[++i];
    else if (c === '|') {
      header.push(cur);
      cur = '';
    } else cur += c;
  }
  return { header, ext: cefExtension(line.slice(i)) };
}

function checkRecord(r: RsyslogRecord, a: Alert, format: 'json' | 'cef', hostname: string): void {
  const pri = 4 * 8 + { critical: 2, high: 3, medium: 4, low: 5 }[a.severity];
  expect(r.pri).toBe(String(pri));
  expect(r.protocol).toBe('1');
  expect(r.hostname).toBe(hostname);
  expect(r.app).toBe('rstwatch');
  expect(r.msgid).toBe(a.rule);
  expect(r.sd).toBe(
    `[rstwatch@32473 id="${a.id}" version="${a.version}" rule="${a.rule}" severity="${a.severity}" status="${a.status}"]`,
  );
  // rsyslog's own parse of the time (its rfc3339 output keeps 6 fractional digits).
  expect(Date.parse(r.timestamp)).toBe(Date.parse(a.updated));
  const msg = r.msg.trimStart();
  if (format === 'json') {
    expect(JSON.parse(msg)).toEqual(toEcs(a, { hostname }));
  } else {
    const { header, ext } = cefParse(msg);
    expect(header).toEqual([
      'CEF:0',
      'rstwatch',
      'rstwatch',
      '0.1.0',
      a.rule,
      a.summary,
      String({ low: 3, medium: 5, high: 8, critical: 10 }[a.severity]),
    ]);
    expect(ext).toMatchObject({
      externalId: a.id,
      src: a.source_ips[0],
      dst: a.destination_ip,
      dpt: String(a.destination_port),
      cnt: String(a.count),
      rt: String(Date.parse(a.updated)),
      cn1: String(a.version),
      cs1: a.entity,
      cs4: a.evidence.join(' '),
      flexString2: JSON.stringify(a.details),
    });
  }
}

describe('syslog sink → rsyslogd', () => {
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await rsyslog();
  });
  afterAll(async () => {
    await rs?.dispose();
  });

  const sinkFor = (t: SyslogTransport, format: 'json' | 'cef', receiver: Rsyslog = rs) =>
    new SyslogSink({
      url: receiver.url(t),
      format,
      appName: 'rstwatch',
      facility: 4,
      hostname: 'det-1',
      ca: receiver.caFile,
      rejectUnauthorized: true,
      timeoutMs: 2000,
    });

  for (const t of ['udp', 'tcp', 'tls'] as const) {
    for (const format of ['json', 'cef'] as const) {
      it(`${t}, ${format} body: every alert arrives intact (rsyslog parses the RFC 5424 fields)`, async () => {
        const tag = `${t}${format}`.slice(0, 6);
        const list = alerts(12, tag);
        const d = new Delivery(
          { undeliveredPath: join(dir, `syslog-${tag}.ndjson`) },
          { sinks: [sinkFor(t, format)] },
          {},
        );
        cleanups.push(() => d.stop(deadlineIn(5000)));
        pushAll(d, list);
        await d.flush(20_000);
        expect(d.stats.syslog).toMatchObject({ delivered: 12, failed: 0 });
        let mine: RsyslogRecord[] = [];
        await until(
          async () => {
            mine = (await rs.records(t)).filter((r) => r.sd.includes(`id="${tag}`));
            return mine.length >= 12;
          },
          10_000,
          `12 messages in rsyslog's ${t} file`,
        );
        expect(mine).toHaveLength(12);
        for (let i = 0; i < 12; i++) checkRecord(mine[i]!, list[i]!, format, 'det-1');
      });
    }
  }

  it('tls: a server certificate the sink does not trust fails the send (and nothing is written)', async () => {
    const other = await rsyslog({ start: false }); // only for its certificate
    cleanups.push(() => other.dispose());
    const sink = new SyslogSink({
      url: rs.url('tls'),
      format: 'json',
      appName: 'rstwatch',
      facility: 4,
      ca: other.caFile,
      rejectUnauthorized: true,
      timeoutMs: 2000,
    });
    cleanups.push(() => sink.close());
    const [a] = alerts(1, 'tlsbad');
    const err = await sink.send([a!]).catch((e: unknown) => e);
    expect(String((err as Error).cause)).toMatch(/self[- ]signed|certificate/i);
    await new Promise((r) => setTimeout(r, 200));
    expect((await rs.records('tls')).filter((r) => r.sd.includes('id="tlsbad'))).toEqual([]);
  });

  for (const t of ['tcp', 'tls'] as const) {
    it(`${t}: a receiver that is down and then up gets every alert at least once`, async () => {
      const down = await rsyslog({ start: false });
      cleanups.push(() => down.dispose());
      const tag = `${t}du`;
      const list = alerts(20, tag);
      const d = new Delivery(
        { backoff: { initialMs: 50, maxMs: 400 }, undeliveredPath: join(dir, `syslog-${tag}.ndjson`) },
        {
          sinks: [
            { sink: sinkFor(t, 'json', down), retries: 100 },
            new FileSink(join(dir, `${tag}-file.ndjson`)),
          ],
        },
        {},
      );
      cleanups.push(() => d.stop(deadlineIn(5000)));
      expect(pushAll(d, list.slice(0, 10))).toBeLessThan(20);
      await until(() => d.stats.syslog!.retries >= 3, 10_000, 'syslog retries');
      expect(d.stats.file!.delivered).toBe(10);
      await down.start();
      await d.flush(30_000);
      expect(d.stats.syslog).toMatchObject({ delivered: 10, failed: 0, queued: 0 });
      // Then a restart while connected: the sink notices the closed connection and reconnects.
      await down.stop();
      expect(pushAll(d, list.slice(10))).toBeLessThan(20);
      await until(() => d.stats.syslog!.retries >= 5, 10_000, 'syslog retries after the restart');
      await down.start();
      await d.flush(30_000);
      let ids: string[] = [];
      await until(
        async () => {
          ids = (await down.records(t)).map((r) => {
            const doc = JSON.parse(r.msg) as { event: { id: string; sequence: number } };
            return `${doc.event.id}:${doc.event.sequence}`;
          });
          return list.every((a) => ids.includes(key(a)));
        },
        10_000,
        'every alert in rsyslog',
      );
      for (const a of list) expect(ids).toContain(key(a));
      expect(d.stats.syslog).toMatchObject({ delivered: 20, failed: 0, queued: 0 });
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Kafka

interface KafkaRecord {
  key: string;
  version: string | undefined;
  doc: unknown;
}

async function readAlerts(brokers: string[], topic: string, n: number): Promise<KafkaRecord[]> {
  const kafka = createKafka({ brokers, clientId: 'alerts-test-reader' });
  const c = kafka.consumer({ groupId: `${topic}-reader`, fromBeginning: true, maxWaitTimeMs: 100 });
  const got: KafkaRecord[] = [];
  await c.connect();
  try {
    await c.subscribe([topic]);
    await c.run({
      eachBatch: async (b) => {
        for (const m of b.messages) {
          got.push({
            key: m.key?.toString() ?? '',
            version: m.headers?.[ALERT_VERSION_HEADER]?.toString(),
            doc: JSON.parse(m.value!.toString()),
          });
        }
      },
    });
    await until(() => got.length >= n, 60_000, `${n} alerts in topic ${topic}`);
    return got;
  } finally {
    await c.disconnect();
  }
}

describe('Kafka sink', () => {
  const producers: Producer[] = [];
  afterAll(async () => {
    for (const p of producers) await p.disconnect().catch(() => {});
  });

  it('every alert arrives intact: key = id, value = ECS document, version header', async () => {
    const brokers = inject('kafkaBrokers').split(',');
    const topic = uniqueTopic('alerts-sink');
    await createTopicWhenReady(brokers, topic, 1);
    const producer = createKafka({ brokers, clientId: 'alerts-sink-test' }).producer({
      acks: -1,
      maxInFlightRequests: 1,
    });
    producers.push(producer);
    const list = alerts(25, 'k1');
    const d = new Delivery(
      { undeliveredPath: join(dir, 'kafka-intact.ndjson') },
      { sinks: [new KafkaAlertSink({ producer, topic })] },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    pushAll(d, list);
    await d.flush(30_000);
    expect(d.stats.kafka).toMatchObject({ delivered: 25, failed: 0 });
    const got = await readAlerts(brokers, topic, 25);
    expect(got).toEqual(list.map((a) => ({ key: a.id, version: String(a.version), doc: toEcs(a) })));
  });

  it('a broker that is down and then up gets every alert (read back by a consumer), push never waits', async () => {
    const broker = await localBroker();
    cleanups.push(async () => {
      await broker.stop().catch(() => {});
      await rm(broker.dir, { recursive: true, force: true });
    });
    const topic = uniqueTopic('alerts-sink-downup');
    await createTopicWhenReady(broker.brokers, topic, 1);
    await broker.stop();
    const retry = { retries: 1, initialRetryTime: 100, maxRetryTime: 500 };
    const kafka = createKafka({
      brokers: broker.brokers,
      clientId: 'alerts-downup',
      requestTimeoutMs: 3000,
      retry,
    });
    const producer = kafka.producer({ acks: -1, maxInFlightRequests: 1, retry });
    producers.push(producer);
    const list = alerts(20, 'k2');
    const d = new Delivery(
      { backoff: { initialMs: 100, maxMs: 1000 }, undeliveredPath: join(dir, 'kafka-downup.ndjson') },
      {
        sinks: [
          { sink: new KafkaAlertSink({ producer, topic }), retries: 200 },
          new FileSink(join(dir, 'k2-file.ndjson')),
        ],
      },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    expect(pushAll(d, list.slice(0, 10))).toBeLessThan(20);
    await until(() => d.stats.kafka!.retries >= 2, 60_000, 'Kafka retries');
    expect(d.stats.file!.delivered).toBe(10);
    expect(d.stats.kafka!.delivered).toBe(0);
    await broker.start();
    expect(pushAll(d, list.slice(10))).toBeLessThan(20);
    await d.flush(120_000);
    expect(d.stats.kafka).toMatchObject({ delivered: 20, failed: 0, queued: 0 });
    const got = await readAlerts(broker.brokers, topic, 20);
    const keys = got.map((r) => `${r.key}:${r.version}`);
    for (const a of list) expect(keys).toContain(key(a));
    // Each alert's versions stay in order within its key's partition.
    expect([...new Set(keys)]).toEqual(list.map(key));
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------------
// Delivery with sinks that stay down

describe('Delivery with unreachable sinks', () => {
  it('ends with their alerts in the undelivered file with the sink and the error, counted; the others deliver', async () => {
    const webhookPort = await freePort();
    const syslogPort = await freePort();
    const path = join(dir, 'unreachable', 'undelivered.ndjson');
    const file = join(dir, 'unreachable-file.ndjson');
    const sinks: AlertSink[] = [
      new WebhookSink({ url: `http://127.0.0.1:${webhookPort}/`, timeoutMs: 1000 }),
      new SyslogSink({
        url: `tcp://127.0.0.1:${syslogPort}`,
        format: 'cef',
        appName: 'rstwatch',
        facility: 4,
        rejectUnauthorized: true,
        timeoutMs: 1000,
      }),
      new FileSink(file),
    ];
    const d = new Delivery(
      { retries: 2, backoff: { initialMs: 20, maxMs: 50 }, undeliveredPath: path },
      { sinks },
    );
    cleanups.push(() => d.stop(deadlineIn(5000)));
    const list = alerts(15, 'u1');
    expect(pushAll(d, list)).toBeLessThan(20);
    await d.flush(30_000);
    const kept = await undelivered(path);
    for (const sink of ['webhook', 'syslog']) {
      const mine = kept.filter((r) => r.sink === sink);
      expect(mine.map((r) => key(r.alert))).toEqual(list.map(key));
      for (const r of mine) {
        expect(r.reason).toBe('retries_exhausted');
        expect(r.attempts).toBe(3);
        expect(r.error).toMatch(/ECONNREFUSED/);
      }
      expect(d.stats[sink]).toMatchObject({ delivered: 0, failed: 15, queued: 0, lost: 0 });
    }
    expect(kept[0]!.alert).toEqual(list[0]);
    expect(d.stats.file).toMatchObject({ delivered: 15, failed: 0 });
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l))).toEqual(list.map((a) => toEcs(a)));
  });
});
