// The alerting CLI end to end, as child processes of the built CLI: `analyze --alerts` (ECS documents,
// the table's Alerts section, determinism, clean traffic staying quiet), `--webhook` to a node:http
// receiver (signed, every version exactly once, also when the receiver is down or answers 503 at
// first), `--syslog` to a real rsyslogd (JSON and CEF bodies), a sink that stays down (exit 0, table
// on time, alerts in the undelivered file), and `run --pcap` into the embedded ClickHouse read back by
// `query alerts` and `query alert-events`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generate, LONG_TTL, removeTempDirs, tempDir } from '../processor/support.js';
import { freePort } from '../support/kafka.js';
import { type Rsyslog, rsyslog } from '../support/rsyslog.js';
import {
  alertsSection,
  type CliResult,
  cefParse,
  type EcsAlert,
  ecsKey,
  latestById,
  parseNdjson,
  type RstEventLike,
  readNdjson,
  runCli,
  until,
  type WebhookReceiver,
  webhookReceiver,
  withoutAttackFlows,
} from './support.js';

const RULES = [
  'reset_attack',
  'port_scan',
  'middlebox_tampering',
  'backlog_overflow_storm',
  'rst_rate_anomaly',
  'idle_timeout_fingerprint',
];
const SECRET = 's3cret';
const PACKETS = 200_000;

let dir: string;
/** A tracegen capture of PACKETS packets (attacks included). */
let pcap: string;
/** `analyze pcap --alerts`: every alert version, in the order written. */
let ref: EcsAlert[];
let refTable: string;
const sorted = (xs: Iterable<string>) => [...xs].sort();
let refKeys: string[];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

beforeAll(async () => {
  dir = tempDir('alerts-cli');
  pcap = await generate(dir, PACKETS, 1);
  const out = join(dir, 'ref-alerts.ndjson');
  const r = await runCli(['analyze', pcap, '--alerts', out, '--format', 'table', '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  refTable = r.stdout;
  ref = readNdjson<EcsAlert>(out);
  refKeys = sorted(ref.map(ecsKey));
});

afterAll(() => {
  removeTempDirs();
});

/** Each key once: the multiset of `keys` is exactly the reference's. */
function expectEachReferenceVersionOnce(keys: string[], what: string): void {
  const dups = keys.filter((k, i) => keys.indexOf(k) !== i);
  expect(dups, `${what}: delivered more than once`).toEqual([]);
  expect(sorted(keys), what).toEqual(refKeys);
}

describe('analyze --alerts', () => {
  it('writes one ECS document per alert version; the table lists the latest of each', () => {
    expect(ref.length).toBeGreaterThanOrEqual(20);
    for (const d of ref) {
      expect(d.event.kind).toBe('alert');
      expect(d.event.id).toMatch(/^[0-9a-f]{32}$/);
      expect(Number.isInteger(d.event.sequence) && d.event.sequence >= 1, ecsKey(d)).toBe(true);
      expect(RULES).toContain(d.rule.name);
      expect(d.rule.id).toBe(d.rule.name);
      expect(d['@timestamp']).toMatch(/^2026-01-01T\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(Number.isNaN(Date.parse(d['@timestamp']))).toBe(false);
    }
    // Versions of one alert are 1, 2, ... in the order written, each once.
    const byId = new Map<string, number[]>();
    for (const d of ref) byId.set(d.event.id, [...(byId.get(d.event.id) ?? []), d.event.sequence]);
    for (const [id, versions] of byId) {
      expect({ id, versions }).toEqual({ id, versions: versions.map((_, i) => i + 1) });
    }
    // Generated traffic carries the four attack rules.
    expect(new Set(ref.map((d) => d.rule.name))).toEqual(
      new Set(['reset_attack', 'port_scan', 'middlebox_tampering', 'backlog_overflow_storm']),
    );

    const latest = latestById(ref);
    const section = alertsSection(refTable);
    expect(section, refTable).not.toBeNull();
    expect(section!.total).toBe(latest.size);
    expect(section!.rows).toHaveLength(Math.min(20, latest.size));
    expect(section!.rows.length + section!.more).toBe(latest.size);
    // Each row is the latest version of a distinct alert.
    const shown = new Set<string>();
    for (const row of section!.rows) {
      const match = [...latest.values()].filter(
        (d) =>
          d.rule.name === row.rule &&
          d.rstwatch.entity === row.entity &&
          d.rstwatch.count === row.rsts &&
          d.message === row.summary &&
          !shown.has(d.event.id),
      );
      expect(
        match.length,
        `table row ${JSON.stringify(row)} is no latest alert version`,
      ).toBeGreaterThanOrEqual(1);
      const d = match[0]!;
      shown.add(d.event.id);
      expect(row.severity).toBe(d.rstwatch.severity);
      expect(row.firstSeen).toBe(d.event.start.slice(0, 19).replace('T', ' '));
    }
    // Most severe first; the alerts left out are no more severe than the last shown.
    const scores = section!.rows.map((r) => ({ low: 21, medium: 47, high: 73, critical: 99 })[r.severity]!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const hidden = [...latest.values()].filter((d) => !shown.has(d.event.id));
    for (const d of hidden) expect(d.event.severity).toBeLessThanOrEqual(scores.at(-1)!);
  });

  it('is deterministic: a second run writes the same documents', async () => {
    const out = join(dir, 'again-alerts.ndjson');
    const r = await runCli(['analyze', pcap, '--alerts', out, '--format', 'table', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const again = readNdjson<EcsAlert>(out);
    expect(again.map(ecsKey)).toEqual(ref.map(ecsKey));
    expect(again).toEqual(ref);
    expect(alertsSection(r.stdout)).toEqual(alertsSection(refTable));
  });

  it('a second run into the same OUT leaves the same documents (OUT is written, not appended to)', async () => {
    // `analyze --alerts` says "write" (like --flows, which truncates); only `run --alerts` says "append".
    const out = join(dir, 'twice-alerts.ndjson');
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['analyze', pcap, '--alerts', out, '--format', 'table', '--no-progress']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(readNdjson<EcsAlert>(out).map(ecsKey)).toEqual(ref.map(ecsKey));
  });

  it('the same size of tracegen traffic without the attack flows raises nothing', async () => {
    // A longer capture of the same generator, its attack flows taken out, cut to PACKETS packets.
    const big = await generate(dir, PACKETS + 40_000, 1);
    const ev = await runCli(['analyze', big, '--format', 'ndjson', '--no-progress']);
    expect(ev.code, ev.stderr).toBe(0);
    const clean = join(dir, 'clean.pcap');
    const cut = withoutAttackFlows(big, parseNdjson<RstEventLike>(ev.stdout), clean, PACKETS);
    expect(cut.kept).toBe(PACKETS);
    expect(cut.dropped).toBeGreaterThan(0);

    const out = join(dir, 'clean-alerts.ndjson');
    const r = await runCli(['analyze', clean, '--alerts', out, '--format', 'table', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    // Still resets to classify (aborts, teardowns, stale connections, backscatter), just no attack.
    const head = /: ([\d,]+) TCP headers, [\d,]+ flows, ([\d,]+) RSTs/.exec(r.stdout);
    expect(head, r.stdout).not.toBeNull();
    expect(Number(head![1]!.replaceAll(',', ''))).toBe(PACKETS);
    expect(Number(head![2]!.replaceAll(',', ''))).toBeGreaterThan(100);
    expect(r.stdout).toContain('\nAlerts: none raised.\n');
    expect(alertsSection(r.stdout)).toEqual({ total: 0, rows: [], more: 0 });
    expect(readNdjson(out)).toEqual([]);
  });
});

describe('analyze --webhook', () => {
  const env = { RSTWATCH_ALERTS__WEBHOOK__SECRET: SECRET };

  /** Checks what the receiver accepted against the reference and the run's own `--alerts` file. */
  function checkDelivered(rx: WebhookReceiver, alertsFile: string): void {
    expect(rx.requests.filter((h) => !h.signed).map((h) => h.headers)).toEqual([]);
    const accepted = rx.accepted();
    const keys = accepted.map((h) => String(h.headers['idempotency-key']));
    expectEachReferenceVersionOnce(keys, 'webhook');
    const file = new Map(readNdjson<EcsAlert>(alertsFile).map((d) => [ecsKey(d), d]));
    expect(sorted(file.keys())).toEqual(refKeys);
    for (const h of accepted) {
      const doc = JSON.parse(h.body) as EcsAlert;
      const key = ecsKey(doc);
      expect(h.headers['idempotency-key']).toBe(key);
      expect(h.headers['x-rstwatch-alert-id']).toBe(doc.event.id);
      expect(h.headers['x-rstwatch-alert-version']).toBe(String(doc.event.sequence));
      expect(h.headers['content-type']).toBe('application/json');
      expect(doc).toEqual(file.get(key));
    }
  }

  it('POSTs every alert version once, signed with the secret', async () => {
    const rx = await webhookReceiver(SECRET);
    cleanups.push(() => rx.close());
    const out = join(dir, 'webhook-alerts.ndjson');
    const r = await runCli(['analyze', pcap, '--webhook', rx.url, '--alerts', out, '--no-progress'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(rx.requests).toHaveLength(ref.length);
    checkDelivered(rx, out);
  });

  it('a receiver answering 503 to the first requests still gets every version once; exit 0', async () => {
    const rx = await webhookReceiver(SECRET, { status: (n) => (n <= 4 ? 503 : 200) });
    cleanups.push(() => rx.close());
    const out = join(dir, 'webhook-503-alerts.ndjson');
    const r = await runCli(['analyze', pcap, '--webhook', rx.url, '--alerts', out, '--no-progress'], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(rx.requests.filter((h) => h.status === 503)).toHaveLength(4);
    expect(rx.requests).toHaveLength(ref.length + 4);
    checkDelivered(rx, out);
    expect(r.stderr).toMatch(/retrying/);
    expect(r.stderr).not.toMatch(/gave up|undelivered/);
  });

  it('a receiver not listening at first (connections refused) still gets every version once; exit 0', async () => {
    const port = await freePort();
    const out = join(dir, 'webhook-down-alerts.ndjson');
    let stderr = '';
    const run = runCli(
      ['analyze', pcap, '--webhook', `http://127.0.0.1:${port}/hook`, '--alerts', out, '--no-progress'],
      { env, timeoutMs: 60_000, onStderr: (s) => (stderr = s) },
    );
    let ended = false;
    void run.finally(() => (ended = true));
    // Up once analyze has been refused and is waiting to retry.
    await until(
      () => /ECONNREFUSED/.test(stderr) || ended,
      30_000,
      'a refused webhook POST',
      () => stderr,
    );
    expect(ended, stderr).toBe(false);
    const rx = await webhookReceiver(SECRET, { port });
    cleanups.push(() => rx.close());
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    checkDelivered(rx, out);
  });
});

describe('analyze --syslog to rsyslogd', () => {
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await rsyslog();
  });
  afterAll(async () => {
    await rs?.dispose();
  });

  /** Runs analyze with `--syslog`, then waits until rsyslog wrote as many new messages as there are versions. */
  async function deliver(t: 'tcp' | 'udp', env: Record<string, string> = {}) {
    const before = (await rs.records(t)).length;
    const r = await runCli(['analyze', pcap, '--syslog', rs.url(t), '--no-progress'], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    let got = await rs.records(t);
    await until(
      async () => {
        got = await rs.records(t);
        return got.length - before >= ref.length;
      },
      15_000,
      `${ref.length} messages in rsyslog's ${t} file`,
      () => `${got.length - before} arrived; analyze stderr:\n${r.stderr}`,
    );
    // Anything late would be a duplicate.
    await new Promise((res) => setTimeout(res, 300));
    return { r, records: (await rs.records(t)).slice(before) };
  }

  for (const t of ['tcp', 'udp'] as const) {
    it(`${t}: every alert version arrives once, the JSON body is its ECS document`, async () => {
      const { records } = await deliver(t);
      const docs = records.map((rec) => JSON.parse(rec.msg.trimStart()) as EcsAlert & { observer: object });
      expectEachReferenceVersionOnce(docs.map(ecsKey), `syslog ${t}`);
      const byKey = new Map(ref.map((d) => [ecsKey(d), d]));
      for (const [i, doc] of docs.entries()) {
        const want = byKey.get(ecsKey(doc)) as EcsAlert & { observer: object };
        // The syslog sink adds the host name to observer; the rest is the document --alerts writes.
        expect({ ...doc, observer: {} }).toEqual({ ...want, observer: {} });
        expect(records[i]!.app).toBe('rstwatch');
        expect(records[i]!.msgid).toBe(doc.rule.name);
        expect(records[i]!.sd).toContain(`id="${doc.event.id}" version="${doc.event.sequence}"`);
      }
    });
  }

  it('tcp, RSTWATCH_ALERTS__SYSLOG__FORMAT=cef: the CEF body carries the rule and the id', async () => {
    const { records } = await deliver('tcp', { RSTWATCH_ALERTS__SYSLOG__FORMAT: 'cef' });
    const cef = records.map((rec) => cefParse(rec.msg.trimStart()));
    const byKey = new Map(ref.map((d) => [ecsKey(d), d]));
    const keys = cef.map(({ ext }) => `${ext.externalId}:${ext.cn1}`);
    expectEachReferenceVersionOnce(keys, 'syslog cef');
    for (const { header, ext } of cef) {
      const want = byKey.get(`${ext.externalId}:${ext.cn1}`)!;
      expect(header.slice(0, 3)).toEqual(['CEF:0', 'rstwatch', 'rstwatch']);
      expect(header[4]).toBe(want.rule.name);
      expect(header[5]).toBe(want.message);
      expect(ext.cat).toBe(want.rule.name);
      expect(ext.cs1).toBe(want.rstwatch.entity);
      expect(ext.cnt).toBe(String(want.rstwatch.count));
    }
  });
});

describe('analyze with a webhook that stays down', () => {
  let port: number;
  let undeliveredFile: string;
  let r: CliResult;
  let defaultRun: CliResult | undefined;
  beforeAll(async () => {
    port = await freePort(); // nothing listens there
    undeliveredFile = join(dir, 'undelivered', 'alerts.ndjson');
    r = await runCli(['analyze', pcap, '--webhook', `http://127.0.0.1:${port}/hook`, '--no-progress'], {
      env: {
        RSTWATCH_ALERTS__WEBHOOK__SECRET: SECRET,
        RSTWATCH_ALERTS__WEBHOOK__RETRIES: '1',
        RSTWATCH_ALERTS__UNDELIVERED_PATH: undeliveredFile,
      },
      timeoutMs: 90_000,
    });
  });

  it('exits 0, prints its table within 30 s, and keeps every alert version in the undelivered file', () => {
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(alertsSection(r.stdout)).toEqual(alertsSection(refTable));
    const kept = readNdjson<{
      sink: string;
      reason: string;
      attempts: number;
      error: string;
      alert: { id: string; version: number };
    }>(undeliveredFile);
    expectEachReferenceVersionOnce(
      kept.map((k) => `${k.alert.id}:${k.alert.version}`),
      'undelivered file',
    );
    for (const k of kept) {
      expect(k.sink).toBe('webhook');
      expect(k.reason).toBe('retries_exhausted');
      expect(k.attempts).toBe(2); // the first try and RETRIES=1 retry
      expect(k.error).toMatch(/ECONNREFUSED/);
    }
  });

  it('without alerts.undeliveredPath they are kept beside the per-user embedded data directory, whatever the working directory', async () => {
    const cwd = join(dir, 'default-undelivered');
    const data = join(dir, 'xdg-data');
    mkdirSync(cwd);
    const d = await runCli(['analyze', pcap, '--webhook', `http://127.0.0.1:${port}/hook`, '--no-progress'], {
      env: { RSTWATCH_ALERTS__WEBHOOK__RETRIES: '0', XDG_DATA_HOME: data },
      cwd,
      timeoutMs: 90_000,
    });
    expect(d.code, d.stderr).toBe(0);
    defaultRun = d;
    // clickhouse.embeddedPath defaults to $XDG_DATA_HOME/rstwatch/chdb: the file is its sibling.
    const kept = readNdjson<{ alert: { id: string; version: number } }>(
      join(data, 'rstwatch', 'undelivered-alerts.ndjson'),
    );
    expectEachReferenceVersionOnce(
      kept.map((k) => `${k.alert.id}:${k.alert.version}`),
      'default undelivered file',
    );
    expect(existsSync(join(cwd, '.rstwatch'))).toBe(false);
  });

  it('stderr says the alerts were not delivered, how many, and where they are kept', () => {
    expect(r.stderr).toMatch(/webhook/);
    expect(r.stderr).toMatch(/undelivered|not delivered/i);
    expect(r.stderr).toContain(`"alerts":${ref.length}`);
    // A reader must be able to find them: the file is named (the default, beside the per-user data
    // directory, is not obvious).
    expect(r.stderr).toContain(undeliveredFile);
    expect(defaultRun?.stderr ?? '').toContain(join('xdg-data', 'rstwatch', 'undelivered-alerts.ndjson'));
  });
});

describe('run --pcap into the embedded ClickHouse', () => {
  let config: string;
  let runAlerts: EcsAlert[];
  beforeAll(async () => {
    const data = join(dir, 'run-ch', 'data');
    config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        clickhouse: { url: 'embedded', embeddedPath: data, ttlDays: LONG_TTL },
        agent: { replaySpeed: 'max' },
        metrics: { enabled: false },
        log: { level: 'warn', format: 'json' },
      }),
    );
    const out = join(dir, 'run-alerts.ndjson');
    const r = await runCli(['run', '--pcap', pcap, '--config', config, '--alerts', out], {
      timeoutMs: 180_000,
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    runAlerts = readNdjson<EcsAlert>(out);
  });

  it('writes the same alert versions to --alerts as analyze', () => {
    expect(sorted(runAlerts.map(ecsKey))).toEqual(refKeys);
  });

  it('query alerts lists the latest version of the same alerts as analyze --alerts', async () => {
    // The capture is dated 2026-01-01: look back far enough (hours is a UInt32, clamped at 1970).
    const r = await runCli([
      'query',
      'alerts',
      '--format',
      'json',
      '--param',
      'hours=1000000',
      '--config',
      config,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as {
      id: string;
      version: number;
      rule: string;
      entity: string;
      count: number;
      severity: string;
      status: string;
      summary: string;
    }[];
    const latest = latestById(ref);
    expect(sorted(rows.map((x) => x.id))).toEqual(sorted(latest.keys()));
    for (const row of rows) {
      const d = latest.get(row.id)!;
      expect(row).toMatchObject({
        version: d.event.sequence,
        rule: d.rule.name,
        entity: d.rstwatch.entity,
        count: d.rstwatch.count,
        severity: d.rstwatch.severity,
        status: d.rstwatch.status,
        summary: d.message,
      });
    }
  });

  it("query alert-events returns that alert's RST events", async () => {
    const latest = latestById(ref);
    const events = parseNdjson<RstEventLike & { ts: string; community_id: string }>(
      (await runCli(['analyze', pcap, '--format', 'ndjson', '--no-progress'])).stdout,
    );
    const eventKey = (e: RstEventLike & { ts: string }) =>
      `${e.ts}|${e.src_ip}|${e.src_port}|${e.dst_ip}|${e.dst_port}|${e.cause}|${e.origin}`;
    const known = new Set(events.map(eventKey));
    // One alert of each rule.
    const picks = [...new Set(ref.map((d) => d.rule.name))].map(
      (rule) => [...latest.values()].find((d) => d.rule.name === rule)!,
    );
    for (const a of picks) {
      const r = await runCli([
        'query',
        'alert-events',
        '--format',
        'json',
        '--param',
        `id=${a.event.id}`,
        '--config',
        config,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as (RstEventLike & { ts: string; community_id: string })[];
      const what = `${a.rule.name} ${a.rstwatch.entity} (${a.event.id})`;
      expect(rows.length, what).toBe(a.rstwatch.count);
      for (const e of rows) {
        expect(known.has(eventKey(e)), `${what}: ${eventKey(e)} is no analyze event`).toBe(true);
      }
      // The alert's sample of community IDs is among its events'.
      const ids = new Set(rows.map((e) => e.community_id));
      for (const c of a.network.community_id) expect(ids.has(c), `${what}: ${c}`).toBe(true);
      // Oldest first.
      expect(rows.map((e) => e.ts)).toEqual([...rows.map((e) => e.ts)].sort());
      if (a.rule.name === 'reset_attack') {
        for (const e of rows) expect([e.cause, e.dst_ip]).toEqual(['reset_attack', a.rstwatch.entity]);
      }
      if (a.rule.name === 'backlog_overflow_storm') {
        for (const e of rows) expect(`${e.src_ip}:${e.src_port}`).toBe(a.rstwatch.entity);
      }
    }
  });
});
