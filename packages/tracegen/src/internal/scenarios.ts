/**
 * Connection scripts. Each scenario is a generator that yields the gap (microseconds) before its next
 * packet and then writes it: `yield gap; g.seg(...)`. Every packet is preceded by a yield, so the
 * scheduler interleaves thousands of scripts in timestamp order. RST packets carry their cause label.
 */
import {
  TCP_ACK as A,
  TCP_FIN as F,
  TCP_PSH as P,
  TCP_RST as R,
  TCP_SYN as S,
  TCP_URG as U,
} from '@rstwatch/core';
import { C2S, type Conn, type Gen, L, S2C } from './gen.js';
import type { Rng } from './rng.js';
import type { World } from './world.js';

export type Script = Generator<number, void, void>;
type Scenario = (g: Gen, w: World) => Script;

/** Mean think time between request/response exchanges of one connection, microseconds. */
const THINK_US = 250_000;

const enc = new TextEncoder();
const HTTP_GET = enc.encode(
  'GET /search?q=forbidden+topic HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
);
const BLOCK_PAGE = enc.encode(
  'HTTP/1.1 403 Forbidden\r\nServer: policy-gateway\r\nContent-Length: 0\r\n\r\nblocked',
);
const CLIENT_HELLO = (() => {
  const b = new Uint8Array(517);
  b.set([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  for (let i = 11; i < 43; i++) b[i] = (i * 37) & 0xff;
  return b;
})();

/** Delay before side `dir` answers what the other side just sent, as seen by the sensor near the servers. */
function resp(c: Conn, dir: number): number {
  return dir === S2C ? c.srvUs : c.rttUs;
}

function think(rng: Rng): number {
  return 50 + rng.exp(THINK_US);
}

/** A TTL that differs from `ttl` by at least 2: what a middlebox or forger would put on the wire. */
function otherTtl(rng: Rng, ttl: number): number {
  for (;;) {
    const init = [64, 255, 128][rng.int(3)]!;
    const t = init - rng.range(1, 20);
    if (Math.abs(t - ttl) >= 2) return t;
  }
}

function* handshake(g: Gen, c: Conn, gap: number): Script {
  yield gap;
  g.seg(c, C2S, S, 0);
  yield c.srvUs;
  g.seg(c, S2C, S | A, 0);
  yield c.rttUs;
  g.seg(c, C2S, A, 0);
}

/** `total` bytes from `dir` in slow-start bursts, delayed ACKs, occasional loss and retransmission. */
function* bulk(g: Gen, c: Conn, dir: number, total: number, gap: number): Script {
  const rng = g.rng;
  const rdir = dir ^ 1;
  let cwnd = 10;
  let left = total;
  let first = true;
  while (left > 0) {
    const base = g.nxt(c, dir);
    const lost = rng.chance(0.03) ? rng.int(cwnd) : -1;
    let n = 0;
    while (n < cwnd && left > 0) {
      const l = Math.min(c.seg, left);
      left -= l;
      yield first ? gap : n === 0 ? rng.range(20, 400) : rng.range(2, 40);
      first = false;
      g.seg(c, dir, left === 0 || n === cwnd - 1 ? A | P : A, l);
      n++;
    }
    const sent = (g.nxt(c, dir) - base) >>> 0;
    const rnxt = g.nxt(c, rdir);
    if (lost >= 0 && lost < n) {
      const lostSeq = (base + lost * c.seg) >>> 0;
      const dups = n - lost - 1;
      yield resp(c, rdir);
      g.pkt(c, rdir, A, rnxt, lostSeq, 0);
      for (let k = 0; k < Math.min(dups, 3); k++) {
        yield rng.range(5, 60);
        g.pkt(c, rdir, A, rnxt, lostSeq, 0);
      }
      yield dups >= 3 ? resp(c, dir) : 200_000 + c.rttUs;
      g.pkt(c, dir, A, lostSeq, rnxt, Math.min(c.seg, sent - lost * c.seg));
      yield resp(c, rdir);
      g.pkt(c, rdir, A, rnxt, g.nxt(c, dir), 0);
    } else {
      for (let k = 2; k <= n + 1; k += 2) {
        yield k === 2 ? resp(c, rdir) : rng.range(5, 60);
        g.pkt(c, rdir, A, rnxt, (base + Math.min(k * c.seg, sent)) >>> 0, 0);
      }
    }
    cwnd = Math.min(cwnd * 2, 64);
  }
}

/** The client's request (a few segments, or a bulk upload). */
function* request(g: Gen, c: Conn, gap: number): Script {
  const rng = g.rng;
  const req = g.mix.requestSize(rng);
  if (req > 4 * c.seg) {
    yield* bulk(g, c, C2S, req, gap);
    return;
  }
  let left = req;
  let first = true;
  while (left > 0) {
    const l = Math.min(left, c.seg);
    left -= l;
    yield first ? gap : rng.range(2, 40);
    first = false;
    g.seg(c, C2S, left === 0 ? A | P : A, l);
  }
}

/** Server think time before its response starts. */
function respDelay(rng: Rng, c: Conn): number {
  return c.srvUs + rng.logUniform(20, 5000);
}

/** One request from the client and the server's response. */
function* exchange(g: Gen, c: Conn, gap: number): Script {
  yield* request(g, c, gap);
  yield* bulk(g, c, S2C, g.mix.responseSize(g.rng), respDelay(g.rng, c));
}

/** Gap before the i-th exchange of a connection: right after the handshake, then think time. */
function exGap(rng: Rng, i: number): number {
  return i === 0 ? rng.range(5, 200) : think(rng);
}

/** FIN from `first`, FIN+ACK back, last ACK. */
function* close(g: Gen, c: Conn, first: number, gap: number): Script {
  yield gap;
  g.seg(c, first, F | A, 0);
  yield resp(c, first ^ 1);
  g.seg(c, first ^ 1, F | A, 0);
  yield resp(c, first);
  g.seg(c, first, A, 0);
}

const normal: Scenario = function* (g, w) {
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  // Exchanges inlined (not via exchange()): one generator level less on the bulk of all packets.
  for (let i = 0, n = g.mix.exchanges(g.rng); i < n; i++) {
    yield* request(g, c, exGap(g.rng, i));
    yield* bulk(g, c, S2C, g.mix.responseSize(g.rng), respDelay(g.rng, c));
  }
  yield* close(g, c, g.rng.chance(0.6) ? C2S : S2C, think(g.rng));
};

const closedPort: Scenario = function* (g, w) {
  const rng = g.rng;
  const v6 = w.pickV6();
  const s = w.server(v6);
  const cl = w.client(v6);
  const port = w.closedPort(s);
  const tries = rng.chance(0.25) ? rng.range(2, 3) : 1;
  for (let t = 0; t < tries; t++) {
    const c = w.conn(g, cl, s, port);
    yield t === 0 ? 0 : rng.range(100_000, 1_000_000);
    g.seg(c, C2S, S, 0);
    yield c.srvUs;
    g.pkt(c, S2C, R | A, 0, c.cNxt, 0, L.closed_port, true);
  }
};

const firewallReject: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  const fw = otherTtl(rng, c.s.ttl);
  yield 0;
  g.seg(c, C2S, S, 0);
  const v = rng.int(3);
  if (v === 0) {
    yield rng.range(10, 200);
    g.ttlOv = fw;
    g.ipIdOv = 0;
    g.pkt(c, S2C, R | A, 0, c.cNxt, 0, L.firewall_reject, true);
  } else if (v === 1) {
    yield rng.range(10, 200);
    g.ttlOv = fw;
    g.ipIdOv = rng.int(65536);
    g.pkt(c, S2C, R, 0, 0, 0, L.firewall_reject, true);
  } else {
    yield c.srvUs;
    g.seg(c, S2C, S | A, 0);
    yield rng.range(5, 100);
    g.ttlOv = fw;
    g.ipIdOv = 0;
    g.pkt(c, S2C, R | A, c.sNxt, c.cNxt, 0, L.firewall_reject, true);
  }
};

const backlogOverflow: Scenario = function* (g, w) {
  const rng = g.rng;
  const v6 = w.pickV6();
  const s = w.server(v6);
  const port = s.ports[0] ?? 443;
  const conns: Conn[] = [];
  for (let i = rng.range(3, 12); i > 0; i--) conns.push(w.conn(g, w.client(v6), s, port));
  for (const c of conns) {
    yield rng.range(10, 2000);
    g.seg(c, C2S, S, 0);
  }
  for (const [i, c] of conns.entries()) {
    yield i === 0 ? c.srvUs : rng.range(5, 50);
    g.seg(c, S2C, S | A, 0);
  }
  for (const [i, c] of conns.entries()) {
    yield i === 0 ? c.rttUs : rng.range(5, 500);
    g.seg(c, C2S, A, 0);
  }
  for (const [i, c] of conns.entries()) {
    yield i === 0 ? rng.range(20, 300) : rng.range(5, 50);
    g.pkt(c, S2C, R, c.sNxt, 0, 0, L.backlog_overflow, true);
  }
};

const malformedSyn: Scenario = function* (g, w) {
  const rng = g.rng;
  const v6 = w.pickV6();
  const s = w.server(v6);
  const c = w.conn(g, rng.chance(0.5) ? w.external(v6) : w.client(v6), s);
  const extra = [F, U, F | P | U, F | U][rng.int(4)]!;
  yield 0;
  g.pkt(c, C2S, S | extra, c.cIsn, 0, 0);
  yield c.srvUs;
  g.pkt(c, S2C, R | A, 0, (c.cIsn + 1 + (extra & F ? 1 : 0)) >>> 0, 0, L.malformed_syn, true);
};

const timeWaitReuse: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  yield* exchange(g, c, exGap(g.rng, 0));
  yield* close(g, c, S2C, think(rng)); // the server closes first and sits in TIME_WAIT
  const isn2 = (c.cNxt - rng.range(100_000, 100_000_000)) >>> 0;
  yield rng.range(200_000, 8_000_000);
  g.pkt(c, C2S, S, isn2, 0, 0);
  if (rng.chance(0.6)) {
    yield c.srvUs;
    g.pkt(c, S2C, A, c.sNxt, c.cNxt, 0); // challenge ACK from TIME_WAIT
    yield c.rttUs;
    g.pkt(c, C2S, R, c.cNxt, 0, 0, L.time_wait_reuse, true);
  } else {
    yield c.srvUs;
    g.pkt(c, S2C, R | A, 0, (isn2 + 1) >>> 0, 0, L.time_wait_reuse, true);
  }
};

function* scan(g: Gen, w: World, connect: boolean): Script {
  const rng = g.rng;
  const v6 = w.pickV6();
  const scanner = w.external(v6);
  const target = w.server(v6);
  const n = rng.range(15, 120);
  const srcPort = rng.range(40_000, 65_000);
  const step = rng.range(1, 97);
  let port = rng.range(1, 1024);
  const openAt = rng.int(n);
  for (let i = 0; i < n; i++) {
    const p = i === openAt && target.ports.length > 0 ? target.ports[0]! : port;
    port = 1 + ((port + step) % 65535);
    const c = w.conn(g, scanner, target, p, connect ? -1 : srcPort);
    yield rng.range(50, 3000);
    g.seg(c, C2S, S, 0);
    if (target.ports.includes(p)) {
      yield c.srvUs;
      g.seg(c, S2C, S | A, 0);
      yield c.rttUs;
      if (connect) {
        g.seg(c, C2S, A, 0);
        yield rng.range(10, 300);
        g.seg(c, C2S, R | A, 0, L.connect_scan);
      } else {
        g.pkt(c, C2S, R, c.cNxt, 0, 0, L.syn_scan, true);
      }
    } else if (rng.chance(0.85)) {
      yield c.srvUs;
      g.pkt(c, S2C, R | A, 0, c.cNxt, 0, connect ? L.connect_scan : L.syn_scan, true);
    }
  }
}

const synScan: Scenario = (g, w) => scan(g, w, false);
const connectScan: Scenario = (g, w) => scan(g, w, true);

const retransmissionTimeout: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  for (let i = 0, n = rng.int(2); i < n; i++) yield* exchange(g, c, exGap(g.rng, i));
  const dir = rng.chance(0.5) ? C2S : S2C;
  const len = rng.range(100, c.seg);
  const seq = g.nxt(c, dir);
  yield think(rng);
  g.seg(c, dir, A | P, len);
  let rto = 200_000 + c.rttUs;
  for (let k = rng.range(3, 6); k > 0; k--) {
    yield rto;
    g.pkt(c, dir, A | P, seq, g.nxt(c, dir ^ 1), len);
    rto *= 2;
  }
  yield rto;
  g.seg(c, dir, R | A, 0, L.retransmission_timeout);
};

const idleTimeout: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  for (let i = 0, n = rng.range(1, 2); i < n; i++) yield* exchange(g, c, exGap(g.rng, i));
  const v = rng.float();
  yield rng.range(125_000_000, 240_000_000);
  if (v < 0.6) {
    // A load balancer or firewall times the connection out and resets both sides.
    g.ttlOv = otherTtl(rng, c.s.ttl);
    g.ipIdOv = rng.int(65536);
    g.pkt(c, S2C, R | A, c.sNxt, c.cNxt, 0, L.idle_timeout, true);
    yield rng.range(1, 50);
    g.ttlOv = otherTtl(rng, c.c.ttl);
    g.ipIdOv = rng.int(65536);
    g.pkt(c, C2S, R | A, c.cNxt, c.sNxt, 0, L.idle_timeout, true);
  } else if (v < 0.85) {
    g.seg(c, S2C, R | A, 0, L.idle_timeout);
  } else {
    // The client speaks after the idle period; the middlebox has dropped its state.
    g.seg(c, C2S, A | P, rng.range(50, 500));
    yield rng.range(10, 200);
    g.ttlOv = otherTtl(rng, c.s.ttl);
    g.ipIdOv = 0;
    g.pkt(c, S2C, R, c.cNxt, 0, 0, L.idle_timeout, true);
  }
};

const appAbort: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  for (let i = 0, n = rng.range(1, 4); i < n; i++) yield* exchange(g, c, exGap(g.rng, i));
  const dir = rng.chance(0.6) ? C2S : S2C;
  if (rng.chance(0.4)) {
    // Abort while the other side still has data in flight: its segments keep arriving and each one is
    // answered by a bare RST (the benign RFC 2525 look-alike of an injection race).
    const other = dir ^ 1;
    yield think(rng);
    g.seg(c, other, A, c.seg);
    yield rng.range(2, 40);
    g.seg(c, dir, R | A, 0, L.app_abort);
    for (let k = rng.range(1, 3); k > 0; k--) {
      yield rng.range(2, 40);
      g.seg(c, other, A, c.seg);
      yield resp(c, dir);
      g.pkt(c, dir, R, g.nxt(c, dir), 0, 0, L.app_abort, true);
    }
  } else {
    yield think(rng);
    g.seg(c, dir, R | A, 0, L.app_abort);
  }
};

const staleConnection: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  if (rng.chance(0.7)) {
    yield* handshake(g, c, 0);
    yield* exchange(g, c, exGap(g.rng, 0));
    yield rng.range(1_000_000, 8_000_000); // the server restarts meanwhile
  } else {
    yield 0; // the connection started before the capture
  }
  g.seg(c, C2S, A | P, rng.range(50, 800));
  yield c.srvUs;
  g.pkt(c, S2C, R, c.sNxt, 0, 0, L.stale_connection, true);
};

const teardownReset: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  for (let i = 0, n = rng.range(1, 3); i < n; i++) yield* exchange(g, c, exGap(g.rng, i));
  const v = rng.int(3);
  yield think(rng);
  if (v === 0) {
    // The client closes; data still arrives from the server; the client resets.
    g.seg(c, C2S, F | A, 0);
    yield c.srvUs;
    g.seg(c, S2C, A | P, rng.range(100, c.seg));
    yield c.rttUs;
    g.pkt(c, C2S, R, c.cNxt, 0, 0, L.teardown_reset, true);
  } else if (v === 1) {
    // Load-balancer fast close: FIN immediately followed by RST.
    g.seg(c, S2C, F | A, 0);
    yield rng.range(1, 200);
    g.seg(c, S2C, R | A, 0, L.teardown_reset);
  } else {
    g.seg(c, C2S, F | A, 0);
    yield c.srvUs;
    g.seg(c, S2C, F | A, 0);
    yield c.rttUs;
    g.seg(c, C2S, R | A, 0, L.teardown_reset);
  }
};

const timeWaitAssassination: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  yield* exchange(g, c, exGap(g.rng, 0));
  yield* close(g, c, C2S, think(rng)); // the client sits in TIME_WAIT
  yield rng.range(50_000, 3_000_000);
  const oldSeq = (c.sNxt - rng.range(2000, 40_000)) >>> 0;
  g.pkt(c, S2C, A | P, oldSeq, (c.cNxt - rng.range(1, 500)) >>> 0, rng.range(50, c.seg));
  yield c.rttUs;
  g.pkt(c, C2S, A, c.cNxt, c.sNxt, 0);
  yield c.srvUs;
  g.pkt(c, S2C, R, c.sNxt, 0, 0, L.time_wait_assassination, true);
};

const injectedReset: Scenario = function* (g, w) {
  const rng = g.rng;
  const v6 = w.pickV6();
  const tls = rng.chance(0.7);
  const c = w.conn(g, w.client(v6), w.server(v6), tls ? 443 : 80);
  yield* handshake(g, c, 0);
  const req = tls ? CLIENT_HELLO : HTTP_GET;
  yield rng.range(10, 500);
  g.data = req;
  g.seg(c, C2S, A | P, req.length);
  const ttlS = otherTtl(rng, c.s.ttl);
  const v = rng.int(3);
  const n = v === 1 ? 3 : 1;
  for (let k = 0; k < n; k++) {
    // Towards the client, in the server's name.
    yield rng.range(5, 80);
    g.ttlOv = ttlS;
    g.ipIdOv = v === 1 ? 0 : rng.int(65536);
    if (v === 2) g.data = BLOCK_PAGE;
    const seq = (c.sNxt + (v === 1 ? k * 1460 * (k + 1) : 0)) >>> 0;
    g.pkt(
      c,
      S2C,
      v === 0 ? R : R | A,
      seq,
      v === 0 ? 0 : c.cNxt,
      v === 2 ? BLOCK_PAGE.length : 0,
      L.injected_reset,
      true,
    );
  }
  // Towards the server, in the client's name.
  yield rng.range(1, 30);
  g.ttlOv = otherTtl(rng, c.c.ttl);
  g.ipIdOv = rng.int(65536);
  g.pkt(c, C2S, R, c.cNxt, 0, 0, L.injected_reset, true);
  // The real server had already answered: its data keeps coming (the race that betrays the injector).
  yield c.srvUs;
  g.seg(c, S2C, A | P, rng.range(800, c.seg));
  yield rng.range(2, 40);
  g.seg(c, S2C, A | P, rng.range(100, c.seg));
};

const resetAttack: Scenario = function* (g, w) {
  const rng = g.rng;
  const c = w.randomConn(g);
  yield* handshake(g, c, 0);
  yield* exchange(g, c, exGap(g.rng, 0));
  const victim = rng.chance(0.5) ? C2S : S2C;
  const from = victim ^ 1;
  const ttl = rng.chance(0.5) ? rng.range(30, 50) : rng.range(230, 245);
  const v = rng.int(3);
  const n = v === 2 ? rng.range(5, 20) : rng.range(1, 4);
  const step = rng.range(8000, 65_535);
  let seq = (g.nxt(c, from) + (v === 0 ? rng.range(1 << 20, 1 << 30) : rng.range(1, 30_000))) >>> 0;
  for (let k = 0; k < n; k++) {
    yield k > 0 && v === 2 ? rng.range(10, 300) : think(rng);
    g.ttlOv = ttl;
    g.ipIdOv = rng.int(65536);
    const flags = rng.chance(0.2) ? R | A : R;
    g.pkt(c, from, flags, seq, flags & A ? rng.u32() : 0, 0, L.reset_attack, true);
    if (v === 1) {
      // In window but not exact: the victim answers with a challenge ACK (RFC 5961) and carries on.
      yield resp(c, victim);
      g.pkt(c, victim, A, g.nxt(c, victim), g.nxt(c, from), 0);
    }
    seq = (seq + (v === 2 ? step : rng.range(1, 30_000))) >>> 0;
  }
  for (let i = 0, n = rng.range(1, 2); i < n; i++) yield* exchange(g, c, exGap(g.rng, i));
  yield* close(g, c, C2S, think(rng));
};

const unsolicited: Scenario = function* (g, w) {
  const rng = g.rng;
  const v6 = w.pickV6();
  if (rng.chance(0.5)) {
    // Backscatter: a SYN-ACK nobody asked for, answered by a bare RST.
    const c = w.conn(g, w.server(v6), w.external(v6), rng.chance(0.5) ? 80 : 443, rng.range(1024, 65_535));
    const ack = rng.u32();
    yield 0;
    g.pkt(c, S2C, S | A, c.sIsn, ack, 0);
    yield rng.range(10, 200);
    g.pkt(c, C2S, R, ack, 0, 0, L.unsolicited, true);
  } else {
    // A server under a spoofed SYN flood answers sources that never wrote to it.
    const s = w.server(v6);
    const port = w.closedPort(s);
    for (let k = rng.range(1, 6); k > 0; k--) {
      const c = w.conn(g, w.external(v6), s, port, rng.range(1024, 65_535));
      yield rng.range(5, 2000);
      g.pkt(c, S2C, R | A, 0, rng.u32(), 0, L.unsolicited, true);
    }
  }
};

/** Scenario mix: weight per scenario (normal connections dominate). */
const MIX: readonly [Scenario, number][] = [
  [normal, 0.82],
  [closedPort, 0.025],
  [firewallReject, 0.012],
  [backlogOverflow, 0.004],
  [malformedSyn, 0.006],
  [timeWaitReuse, 0.01],
  [synScan, 0.001],
  [connectScan, 0.001],
  [retransmissionTimeout, 0.01],
  [idleTimeout, 0.01],
  [appAbort, 0.03],
  [staleConnection, 0.01],
  [teardownReset, 0.02],
  [timeWaitAssassination, 0.008],
  [injectedReset, 0.01],
  [resetAttack, 0.006],
  [unsolicited, 0.01],
];
const TOTAL = MIX.reduce((s, [, w]) => s + w, 0);

/** Pick a scenario by weight. The first `MIX.length` calls walk the list once so every cause shows early. */
export function startScenario(g: Gen, w: World, n: number): Script {
  if (n < MIX.length) return MIX[n]![0](g, w);
  let x = g.rng.float() * TOTAL;
  for (const [s, wt] of MIX) {
    x -= wt;
    if (x < 0) return s(g, w);
  }
  return normal(g, w);
}
