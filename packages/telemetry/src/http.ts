/**
 * The telemetry HTTP server every service runs: `/metrics` (Prometheus text), `/healthz` (alive) and
 * `/readyz` (ready to take work), each probe answering 200 or 503 with a JSON body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeResult {
  ok: boolean;
  details?: Record<string, unknown>;
}
export type Probe = () => ProbeResult | Promise<ProbeResult>;

export interface HttpServerOptions {
  /** `host:port` (`[::1]:9464` for IPv6); port 0 picks a free port. */
  listen: string;
  registry: Registry;
  /** Liveness; default always ok. */
  health?: Probe;
  /** Readiness; default always ok. */
  ready?: Probe;
}

export interface HttpServer {
  /** Bound address as `host:port` (the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** Split `host:port` / `[v6]:port`. Throws on anything else. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) throw new Error(`invalid listen address "${listen}": expected host:port`);
  return { host: m[1] ?? m[2]!, port };
}

const OK: Probe = () => ({ ok: true });

async function probe(p: Probe, res: ServerResponse): Promise<void> {
  let r: ProbeResult;
  try {
    r = await p();
  } catch (err) {
    r = { ok: false, details: { error: err instanceof Error ? err.message : String(err) } };
  }
  const body = JSON.stringify({
    status: r.ok ? 'ok' : 'unavailable',
    ...(r.details ? { details: r.details } : {}),
  });
  res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${body}\n`);
}

/** Start the server; resolves once it listens, rejects with the address in the message if it cannot. */
export function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = parseListen(opts.listen);
  const health = opts.health ?? OK;
  const ready = opts.ready ?? OK;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      const text = await opts.registry.metrics();
      res.writeHead(200, { 'content-type': opts.registry.contentType });
      res.end(text);
    } else if (path === '/healthz') await probe(health, res);
    else if (path === '/readyz') await probe(ready, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics, /healthz, /readyz\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(`telemetry server cannot listen on ${opts.listen}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    });
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        address: `${shown}:${a.port}`,
        port: a.port,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
