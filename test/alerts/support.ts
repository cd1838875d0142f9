// Helpers for the alerting CLI tests: the CLI as a bounded child process, the ECS documents it writes,
// the Alerts section of its table, a capture with the attack flows taken out, and a webhook receiver.
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { cli, root } from '../processor/support.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/**
 * Runs `rstwatch ARGS` (the built CLI) without any RSTWATCH_* variable of this process, plus `env`.
 * SIGKILL to the child's PID after `timeoutMs` (then the result says so in `signal`).
 */
export function runCli(
  args: string[],
  opts: {
    env?: Record<string, string>;
    timeoutMs?: number;
    cwd?: string;
    onStderr?: (s: string) => void;
  } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('RSTWATCH_')) delete env[k];
  Object.assign(env, opts.env ?? {});
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: opts.cwd ?? root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr);
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
    }
  }, opts.timeoutMs ?? 120_000);
  return new Promise((res, rej) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** An ECS alert document as the sinks write it (the fields the tests look at). */
export interface EcsAlert {
  '@timestamp': string;
  message: string;
  event: { kind: string; id: string; sequence: number; severity: number; start: string; end: string };
  rule: { id: string; name: string };
  network: { community_id: string[] };
  destination: { ip: string; port?: number };
  rstwatch: { severity: string; status: string; count: number; entity: string; entity_kind: string };
}

export function parseNdjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export function readNdjson<T = Record<string, unknown>>(path: string): T[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return parseNdjson<T>(text);
}

/** `id:version` of an ECS alert document (the webhook's Idempotency-Key). */
export const ecsKey = (d: EcsAlert) => `${d.event.id}:${d.event.sequence}`;

/** The latest version of each alert id. */
export function latestById(docs: readonly EcsAlert[]): Map<string, EcsAlert> {
  const m = new Map<string, EcsAlert>();
  for (const d of docs) {
    const had = m.get(d.event.id);
    if (had === undefined || had.event.sequence < d.event.sequence) m.set(d.event.id, d);
  }
  return m;
}

export interface AlertsSection {
  /** N of "Alerts (N):"; 0 for "Alerts: none raised.". */
  total: number;
  rows: {
    severity: string;
    rule: string;
    entity: string;
    rsts: number;
    firstSeen: string;
    summary: string;
  }[];
  /** M of "... and M more", else 0. */
  more: number;
}

/**
 * The Alerts section of `analyze --format table`, or null when the output has none. Columns are cut at
 * the positions of the dashes line (the summary, last, may contain spaces).
 */
export function alertsSection(table: string): AlertsSection | null {
  const lines = table.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Alerts'));
  if (at < 0) return null;
  if (lines[at] === 'Alerts: none raised.') return { total: 0, rows: [], more: 0 };
  const m = /^Alerts \((\d+)\):$/.exec(lines[at]!);
  if (!m) throw new Error(`unexpected Alerts line: ${lines[at]}`);
  const dashes = lines[at + 2]!;
  const cols: [number, number][] = [];
  for (const d of dashes.matchAll(/-+/g)) cols.push([d.index, d.index + d[0].length]);
  const rows: AlertsSection['rows'] = [];
  let more = 0;
  for (const line of lines.slice(at + 3)) {
    if (line.trim() === '') break;
    const mm = /^ {2}\.\.\. and (\d+) more/.exec(line);
    if (mm) {
      more = Number(mm[1]);
      break;
    }
    const cell = (i: number) =>
      line.slice(cols[i]![0], i === cols.length - 1 ? undefined : cols[i]![1]).trim();
    rows.push({
      severity: cell(0),
      rule: cell(1),
      entity: cell(2),
      rsts: Number(cell(3)),
      firstSeen: cell(4),
      summary: cell(5),
    });
  }
  return { total: Number(m[1]), rows, more };
}

/** RST causes and origins of the attack scenarios (what the detectors look at). */
const ATTACK_CAUSES = new Set([
  'reset_attack',
  'syn_scan',
  'connect_scan',
  'closed_port',
  'injected_reset',
  'firewall_reject',
  'backlog_overflow',
]);
const ATTACK_ORIGINS = new Set(['middlebox', 'spoofed']);

/** `2001:db8::1` → `2001:0db8:0000:0000:0000:0000:0000:0001` (the form read from packets below). */
function fullV6(text: string): string {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const a = head === '' ? [] : head.split(':');
  const b = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - a.length - b.length).fill('0');
  return [...a, ...zeros, ...b].map((g) => g.padStart(4, '0')).join(':');
}

const ipKey = (ip: string) => (ip.includes(':') ? fullV6(ip.toLowerCase()) : ip);

/** Direction-free 4-tuple key. */
function tupleKey(a: string, pa: number, b: string, pb: number): string {
  const x = `${a}|${pa}`;
  const y = `${b}|${pb}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

export interface RstEventLike {
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  cause: string;
  origin: string;
}

/**
 * Writes to `out` the first `maxPackets` packets of the classic pcap `src` (Ethernet, optional 802.1Q,
 * IPv4/IPv6 + TCP, as tracegen writes) that do not belong to a connection with an attack RST among
 * `events` (`analyze --format ndjson` of `src`): tracegen traffic minus the attack causes, as
 * packages/detect/src/captures.test.ts takes them out of the events, but here out of the capture.
 * Returns the packets kept and dropped.
 */
export function withoutAttackFlows(
  src: string,
  events: readonly RstEventLike[],
  out: string,
  maxPackets: number,
): { kept: number; dropped: number; flows: number } {
  const drop = new Set<string>();
  for (const e of events) {
    if (ATTACK_CAUSES.has(e.cause) || ATTACK_ORIGINS.has(e.origin)) {
      drop.add(tupleKey(ipKey(e.src_ip), e.src_port, ipKey(e.dst_ip), e.dst_port));
    }
  }
  const buf = readFileSync(src);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4 || buf.readUInt32LE(20) !== 1) {
    throw new Error(`${src}: not a little-endian Ethernet pcap`);
  }
  const parts: Buffer[] = [buf.subarray(0, 24)];
  const hex = (f: Buffer, o: number) => f.readUInt16BE(o).toString(16).padStart(4, '0');
  let kept = 0;
  let dropped = 0;
  for (let off = 24; off + 16 <= buf.length && kept < maxPackets; ) {
    const incl = buf.readUInt32LE(off + 8);
    const rec = buf.subarray(off, off + 16 + incl);
    const f = rec.subarray(16);
    off += 16 + incl;
    let p = 12;
    let type = f.readUInt16BE(p);
    if (type === 0x8100) {
      p += 4;
      type = f.readUInt16BE(p);
    }
    p += 2;
    let key: string | null = null;
    if (type === 0x0800 && f[p + 9] === 6) {
      const t = p + (f[p]! & 15) * 4;
      const s = [...f.subarray(p + 12, p + 16)].join('.');
      const d = [...f.subarray(p + 16, p + 20)].join('.');
      key = tupleKey(s, f.readUInt16BE(t), d, f.readUInt16BE(t + 2));
    } else if (type === 0x86dd && f[p + 6] === 6) {
      const addr = (o: number) => Array.from({ length: 8 }, (_, i) => hex(f, o + 2 * i)).join(':');
      const t = p + 40;
      key = tupleKey(addr(p + 8), f.readUInt16BE(t), addr(p + 24), f.readUInt16BE(t + 2));
    }
    if (key !== null && drop.has(key)) {
      dropped++;
      continue;
    }
    parts.push(rec);
    kept++;
  }
  writeFileSync(out, Buffer.concat(parts));
  return { kept, dropped, flows: drop.size };
}

/** `sha256=<hex>` HMAC of `body`, as the webhook signs it (computed here, independently of the sinks). */
export function expectedSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Hook {
  /** When the receiver answered. */
  at: number;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The X-Rstwatch-Signature matched the HMAC of the body under the secret. */
  signed: boolean;
}

export interface WebhookReceiver {
  port: number;
  url: string;
  /** Every request, in arrival order, with the status it got. */
  requests: Hook[];
  /** The requests answered 2xx. */
  accepted(): Hook[];
  close(): Promise<void>;
}

/**
 * A node:http webhook receiver on 127.0.0.1:`port` (0: any) checking `X-Rstwatch-Signature` with
 * `secret`. `status(n)` answers the n-th request (1-based; default 200); a bad signature gets 401.
 */
export async function webhookReceiver(
  secret: string,
  opts: { port?: number; status?: (n: number) => number } = {},
): Promise<WebhookReceiver> {
  const requests: Hook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sig = req.headers['x-rstwatch-signature'];
      const want = Buffer.from(expectedSignature(secret, body));
      const signed =
        typeof sig === 'string' && sig.length === want.length && timingSafeEqual(Buffer.from(sig), want);
      const status = !signed ? 401 : (opts.status?.(requests.length + 1) ?? 200);
      requests.push({ at: Date.now(), status, headers: req.headers, body: body.toString('utf8'), signed });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`, naming `what`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  detail: () => string = () => '',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Splits a CEF line into its 7 header fields (unescaped) and the extension's key/value pairs. */
export function cefParse(line: string): { header: string[]; ext: Record<string, string> } {
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
  const ext: Record<string, string> = {};
  const re = /(?:^| )([A-Za-z0-9]+)=((?:[^\\ ]|\\.| (?![A-Za-z0-9]+=))*)/g;
  for (const m of line.slice(i).matchAll(re)) {
    ext[m[1]!] = m[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  }
  return { header, ext };
}
