/**
 * SyslogSink: RFC 5424 messages (body: ECS JSON or CEF, see format/rfc5424.ts) over
 * - `udp://host:port`: one datagram per alert (RFC 5426). Fire and forget: a receiver that is down is
 *   not noticed, and a message longer than the path allows may be cut or dropped by the receiver.
 * - `tcp://host:port` (RFC 6587) and `tls://host:port` (RFC 5425): octet-counting framing
 *   (`<length> <message>`), one connection kept open and opened again after any failure. A failed
 *   connect or write rejects `send` (retried by Delivery). Delivery is at least once for failures TCP
 *   reports (refused, reset, closed before the write); syslog has no acknowledgements, so a message
 *   already in the socket buffers when the receiver dies is lost (use the Kafka or webhook sink where
 *   that matters).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Alert } from '@rstwatch/detect';
import { rfc5424 } from '../format/rfc5424.js';
import { type AlertSink, SinkError } from '../sink.js';

export interface SyslogSinkOptions {
  /** `udp://host:port`, `tcp://host:port` or `tls://host:port`. */
  url: string;
  format: 'json' | 'cef';
  appName: string;
  /** 0..23. */
  facility: number;
  /** RFC 5424 HOSTNAME; default this machine's host name. */
  hostname?: string;
  /** `tls://`: PEM CA certificates to trust (the PEM text, or a path to a PEM file). */
  ca?: string | Buffer;
  /** `tls://`: verify the server certificate (and its name). */
  rejectUnauthorized: boolean;
  /** Connect and write timeout. */
  timeoutMs: number;
  /** Default `syslog`. */
  name?: string;
}

/** Largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
/**
 * A stream connection that drops within this long after a write may have lost that write (it left before
 * the receiver's FIN or RST arrived): it is written again on the next connection.
 */
const RESEND_WINDOW_MS = 2000;

export interface SyslogTarget {
  transport: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
}

/** Parses a syslog sink URL; throws with what is wrong. */
export function parseSyslogUrl(url: string): SyslogTarget {
  const m = /^(udp|tcp|tls):\/\/(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`syslog url '${url}' must be udp://host:port, tcp://host:port or tls://host:port`);
  }
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { transport: m[1] as SyslogTarget['transport'], host, port };
}

/** RFC 6587 octet-counting frame: `<byte length> <message>`. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export class SyslogSink implements AlertSink {
  readonly name: string;
  readonly target: SyslogTarget;
  readonly #opts: SyslogSinkOptions;
  readonly #hostname: string;
  readonly #ca: string | Buffer | undefined;
  #udp: UdpSocket | undefined;
  #sock: Socket | undefined;
  /** The last frames written (and on which connection, when): resent if that connection drops soon after. */
  #last: { sock: Socket; frames: Buffer; at: number } | undefined;
  /** Frames to write first on the next connection (the last ones, written into a connection that died). */
  #resend: Buffer | undefined;
  #closed = false;

  constructor(opts: SyslogSinkOptions) {
    this.name = opts.name ?? 'syslog';
    this.target = parseSyslogUrl(opts.url);
    this.#opts = opts;
    this.#hostname = opts.hostname ?? osHostname();
    rfc5424Check(opts.facility);
    if (typeof opts.ca === 'string' && !opts.ca.includes('-----BEGIN')) {
      try {
        this.#ca = readFileSync(opts.ca);
      } catch (err) {
        throw new Error(`syslog ca: reading '${opts.ca}' failed`, { cause: err });
      }
    } else {
      this.#ca = opts.ca;
    }
  }

  #message(alert: Alert): string {
    return rfc5424(alert, {
      appName: this.#opts.appName,
      facility: this.#opts.facility,
      hostname: this.#hostname,
      body: this.#opts.format,
      procId: String(process.pid),
    });
  }

  send(alerts: readonly Alert[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SinkError(`${this.name}: closed`, { permanent: true }));
    return this.target.transport === 'udp' ? this.#sendUdp(alerts) : this.#sendStream(alerts);
  }

  async #sendUdp(alerts: readonly Alert[]): Promise<void> {
    const { host, port } = this.target;
    if (!this.#udp) {
      const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
      sock.on('error', () => {
        sock.close();
        if (this.#udp === sock) this.#udp = undefined;
      });
      sock.unref();
      this.#udp = sock;
    }
    const sock = this.#udp;
    for (let i = 0; i < alerts.length; i++) {
      const msg = Buffer.from(this.#message(alerts[i]!), 'utf8');
      if (msg.length > MAX_DATAGRAM) {
        throw new SinkError(`${this.name}: message of ${msg.length} bytes does not fit a UDP datagram`, {
          permanent: true,
          delivered: i,
        });
      }
      await new Promise<void>((res, rej) =>
        sock.send(msg, port, host, (err) =>
          err
            ? rej(
                new SinkError(`${this.name}: sending to udp://${host}:${port} failed`, {
                  delivered: i,
                  cause: err,
                }),
              )
            : res(),
        ),
      );
    }
  }

  async #sendStream(alerts: readonly Alert[]): Promise<void> {
    const own = Buffer.concat(alerts.map((a) => octetFrame(this.#message(a))));
    const sock = await this.#connection();
    // A connection that dropped right after the last write may have lost it (TCP took the bytes, the
    // receiver was already gone): that write goes again first, as rsyslog's ResendLastMSGOnReconnect does.
    // Syslog has no acknowledgement, so delivery over TCP/TLS is at least once.
    const resend = this.#resend;
    this.#resend = undefined;
    const frames = resend ? Buffer.concat([resend, own]) : own;
    const { transport, host, port } = this.target;
    await new Promise<void>((res, rej) => {
      const fail = (err: unknown) => {
        clearTimeout(timer);
        sock.destroy();
        rej(
          new SinkError(
            `${this.name}: writing ${alerts.length} message(s) to ${transport}://${host}:${port} failed`,
            { cause: err },
          ),
        );
      };
      const timer = setTimeout(
        () => fail(new Error(`write not done within ${this.#opts.timeoutMs} ms`)),
        this.#opts.timeoutMs,
      );
      sock.once('error', fail);
      sock.write(frames, (err) => {
        sock.off('error', fail);
        if (err) return fail(err);
        clearTimeout(timer);
        this.#last = { sock, frames: own, at: Date.now() };
        res();
      });
    });
  }

  /** The open connection, or a new one. */
  async #connection(): Promise<Socket> {
    const current = this.#sock;
    if (current) {
      // Let a FIN or RST that already arrived be noticed before writing into a dead connection.
      await new Promise((r) => setImmediate(r));
      if (this.#sock === current && !current.destroyed && current.writable) return current;
    }
    this.#sock = undefined;
    const { transport, host, port } = this.target;
    const timeoutMs = this.#opts.timeoutMs;
    const sock = await new Promise<Socket>((res, rej) => {
      const s =
        transport === 'tls'
          ? tlsConnect({
              host,
              port,
              ...(this.#ca !== undefined ? { ca: this.#ca } : {}),
              rejectUnauthorized: this.#opts.rejectUnauthorized,
              ...(isIP(host) === 0 ? { servername: host } : {}),
            })
          : tcpConnect({ host, port });
      const timer = setTimeout(() => fail(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        s.destroy();
        rej(
          new SinkError(`${this.name}: connecting to ${transport}://${host}:${port} failed`, { cause: err }),
        );
      };
      s.once('error', fail);
      s.once(transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        res(s);
      });
    });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    const drop = () => {
      if (this.#sock === sock) this.#sock = undefined;
      const last = this.#last;
      if (last?.sock === sock && Date.now() - last.at < RESEND_WINDOW_MS && !this.#closed)
        this.#resend = last.frames;
      if (last?.sock === sock) this.#last = undefined;
      sock.destroy();
    };
    sock.on('error', drop);
    sock.on('end', drop);
    sock.on('close', drop);
    sock.on('data', () => {}); // a syslog receiver sends nothing; keep reading to see its FIN
    this.#sock = sock;
    return sock;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const udp = this.#udp;
    this.#udp = undefined;
    udp?.close();
    const sock = this.#sock;
    this.#sock = undefined;
    if (!sock || sock.destroyed) return;
    await new Promise<void>((res) => {
      const timer = setTimeout(() => {
        sock.destroy();
        res();
      }, this.#opts.timeoutMs);
      sock.once('close', () => {
        clearTimeout(timer);
        res();
      });
      sock.end();
    });
  }
}

function rfc5424Check(facility: number): void {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new RangeError(`syslog facility must be an integer in 0..23, got ${facility}`);
  }
}
