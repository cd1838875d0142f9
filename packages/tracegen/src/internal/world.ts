/** The simulated network: server, client and external host pools and the connection factory. */
import { Conn, type Gen, type Host } from './gen.js';
import type { Rng } from './rng.js';

const SERVICE_PORTS = [443, 443, 443, 443, 80, 80, 8080, 8443, 5432, 3306, 9092, 9200];
const CLOSED_PORTS = [21, 23, 110, 135, 139, 445, 1433, 3389, 5900, 8000, 8888, 9000, 9090, 27017];

export interface WorldOptions {
  concurrentFlows: number;
  ipv6Share: number;
  vlanShare: number;
}

export class World {
  readonly servers4: Host[] = [];
  readonly servers6: Host[] = [];
  readonly clients4: Host[] = [];
  readonly clients6: Host[] = [];
  readonly external4: Host[] = [];
  readonly external6: Host[] = [];
  private nextMac = 1;

  constructor(
    readonly rng: Rng,
    readonly opts: WorldOptions,
  ) {
    const nServers = Math.max(32, Math.ceil(opts.concurrentFlows / 16));
    const nClients = Math.max(256, opts.concurrentFlows);
    for (let i = 0; i < nServers; i++) {
      this.servers4.push(this.host(v4(10, 10, i), 0, 3, true));
      this.servers6.push(this.host(v6(0x10, i), 0, 3, true));
    }
    for (let i = 0; i < nClients; i++) {
      this.clients4.push(this.host(v4(10, 20, i), 1, 12, false));
      this.clients6.push(this.host(v6(0x20, i), 1, 12, false));
    }
    for (let i = 0; i < 512; i++) {
      const a = new Uint8Array([rng.range(11, 126), rng.int(256), rng.int(256), rng.range(1, 254)]);
      this.external4.push(this.host(a, 6, 25, false));
      this.external6.push(this.host(v6(0xbad, i), 6, 25, false));
    }
  }

  private host(addr: Uint8Array, minHops: number, maxHops: number, server: boolean): Host {
    const rng = this.rng;
    const v6 = addr.length === 16;
    const windows = rng.chance(server ? 0.2 : 0.3);
    const initTtl = v6 ? 64 : windows ? 128 : 64;
    const nPorts = server ? rng.range(1, 2) : 0;
    const ports: number[] = [];
    for (let k = 0; k < nPorts; k++) ports.push(SERVICE_PORTS[rng.int(SERVICE_PORTS.length)]!);
    return {
      v6,
      addr,
      ttl: initTtl - rng.range(minHops, maxHops),
      ipId: rng.int(65536),
      mac: this.nextMac++,
      tsBase: rng.u32(),
      ts: !windows || rng.chance(0.2),
      ports,
      vlan: server && rng.chance(this.opts.vlanShare) ? rng.range(2, 4000) : 0,
      port: rng.range(32768, 60999),
    };
  }

  /** True for an IPv6 connection, with the configured share. */
  pickV6(): boolean {
    return this.rng.chance(this.opts.ipv6Share);
  }

  server(v6: boolean): Host {
    const pool = v6 ? this.servers6 : this.servers4;
    return pool[this.rng.int(pool.length)]!;
  }

  client(v6: boolean): Host {
    const pool = v6 ? this.clients6 : this.clients4;
    return pool[this.rng.int(pool.length)]!;
  }

  external(v6: boolean): Host {
    const pool = v6 ? this.external6 : this.external4;
    return pool[this.rng.int(pool.length)]!;
  }

  /** A port the server does not listen on. */
  closedPort(s: Host): number {
    for (;;) {
      const p = this.rng.chance(0.7)
        ? CLOSED_PORTS[this.rng.int(CLOSED_PORTS.length)]!
        : this.rng.range(1, 65535);
      if (!s.ports.includes(p)) return p;
    }
  }

  /** Next ephemeral port of a client (Linux-like: sequential with small random steps). */
  ephemeral(c: Host): number {
    c.port += 1 + this.rng.int(8);
    if (c.port > 60999) c.port = 32768 + (c.port - 61000);
    return c.port;
  }

  /** A new connection from `c` to `s` on `sPort` (default: one of its listening ports). */
  conn(_g: Gen, c: Host, s: Host, sPort = -1, cPort = -1): Conn {
    const port = sPort >= 0 ? sPort : s.ports.length > 0 ? s.ports[this.rng.int(s.ports.length)]! : 443;
    return new Conn(c, s, cPort >= 0 ? cPort : this.ephemeral(c), port, s.vlan || c.vlan, this.rng);
  }

  /** A connection between a random client and server with the configured IPv6 share. */
  randomConn(g: Gen): Conn {
    const v6 = this.pickV6();
    return this.conn(g, this.client(v6), this.server(v6));
  }
}

function v4(a: number, b: number, i: number): Uint8Array {
  return new Uint8Array([a, b + Math.floor(i / 62500), Math.floor(i / 250) % 250, 1 + (i % 250)]);
}

function v6(group: number, i: number): Uint8Array {
  const a = new Uint8Array(16);
  a.set([0x20, 0x01, 0x0d, 0xb8, group >> 8, group & 0xff]);
  const n = i + 1;
  a[12] = (n >>> 24) & 0xff;
  a[13] = (n >>> 16) & 0xff;
  a[14] = (n >>> 8) & 0xff;
  a[15] = n & 0xff;
  return a;
}
