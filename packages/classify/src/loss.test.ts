// Sensor realities (issue 13): loss and one-sided views. A packet the sensor did not see but the other
// side's numbers prove (Zeek's partial connections and gaps) keeps the verdict the whole exchange would
// get, with less confidence and an `inferred_*` / `gap` marker; what no remaining packet proves is not
// invented. A connection seen in one direction only is classified from that side.
import type { RstEvent } from '@rstwatch/core';
import { Trace } from '@rstwatch/flow/testing';
import { describe, expect, it } from 'vitest';
import { runEngine } from './testing.js';

const SMALL = { maxFlows: 4096, maxHosts: 1024 };
const CLIENT = '10.1.0.5';
const SERVER = '10.2.0.9';

function run(tr: Trace) {
  return runEngine(tr.columns(), SMALL);
}
function only(tr: Trace): RstEvent {
  const { events } = run(tr);
  expect(events).toHaveLength(1);
  return events[0]!;
}
function last(tr: Trace): RstEvent {
  return run(tr).events.at(-1)!;
}
/** The same script with and without the lost packet: the verdicts, and their confidences. */
function lossy(script: (tr: Trace, lose: boolean) => void): { whole: RstEvent; lost: RstEvent } {
  const a = new Trace();
  script(a, false);
  const b = new Trace();
  script(b, true);
  return { whole: last(a), lost: last(b) };
}
function sameVerdict(whole: RstEvent, lost: RstEvent, marker: string) {
  expect([lost.cause, lost.origin]).toEqual([whole.cause, whole.origin]);
  expect(lost.confidence).toBeLessThan(whole.confidence);
  expect(lost.evidence).toContain(marker);
  expect(whole.evidence).not.toContain(marker);
}

describe('loss degrades confidence, not the verdict', () => {
  it('SYN-ACK lost: the originator ACK proves it (connect_scan stays connect_scan)', () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = tr.conn(`${CLIENT}:40000`, `${SERVER}:8443`).syn();
      if (lose) c.nxt.r = (c.nxt.r + 1) >>> 0;
      else c.synAck();
      c.ack('o').rst('o');
    });
    expect(whole.cause).toBe('connect_scan');
    sameVerdict(whole, lost, 'inferred_synack');
  });

  it('SYN lost: a SYN-ACK then the ACK (backlog_overflow stays backlog_overflow)', () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = tr.conn(`${CLIENT}:40001`, `${SERVER}:8080`);
      if (lose) c.nxt.o = (c.nxt.o + 1) >>> 0;
      else c.syn();
      c.synAck().ack('o').rst('r', { ack: false });
    });
    expect(whole.cause).toBe('backlog_overflow');
    sameVerdict(whole, lost, 'inferred_syn');
  });

  it("originator's ACK lost: its RST+ACK acknowledges the SYN-ACK (connect_scan, not syn_scan)", () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = tr.conn(`${CLIENT}:40002`, `${SERVER}:8080`).syn().synAck();
      if (!lose) c.ack('o');
      c.rst('o');
    });
    expect(whole.cause).toBe('connect_scan');
    sameVerdict(whole, lost, 'inferred_ack');
  });

  it("originator's ACK lost: the server's own RST at its ISN+1 answers it (backlog_overflow)", () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = tr.conn(`${CLIENT}:40003`, `${SERVER}:8080`).syn().synAck();
      c.send('r', 'SA', { seq: (c.nxt.r - 1) >>> 0, after: 1_000_000 }); // retransmitted
      if (!lose) c.ack('o');
      c.rst('r', { ack: false });
    });
    expect(whole.cause).toBe('backlog_overflow');
    sameVerdict(whole, lost, 'inferred_ack');
  });

  it('SYN-ACK lost before a half-open scan: the bare RST at ISN+1 answers it (syn_scan)', () => {
    const { whole, lost } = lossy((tr, lose) => {
      // The scanner probes two ports; the second SYN-ACK is lost.
      tr.conn(`${CLIENT}:40004`, `${SERVER}:8443`).syn().synAck().rst('o', { ack: false });
      const c = tr.conn(`${CLIENT}:40004`, `${SERVER}:8080`).syn();
      if (!lose) c.synAck();
      c.rst('o', { ack: false });
    });
    expect(whole.cause).toBe('syn_scan');
    sameVerdict(whole, lost, 'inferred_synack');
    // Without the other probe the same bare RST is the host giving up its SYN: nothing inferred.
    const tr = new Trace();
    tr.conn(`${CLIENT}:40008`, `${SERVER}:8080`).syn().rst('o', { ack: false });
    expect(only(tr).cause).toBe('other');
  });

  it('data lost both ways: the ACKs prove it (app_abort, not connect_scan)', () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = tr.conn(`${CLIENT}:40005`, `${SERVER}:8080`).handshake();
      if (lose) c.nxt.o = (c.nxt.o + 6) >>> 0;
      else c.data('o', 6);
      c.ack('r');
      if (lose) c.nxt.r = (c.nxt.r + 6) >>> 0;
      else c.data('r', 6);
      c.ack('o').rst('o', { after: 200_000 });
    });
    expect(whole.cause).toBe('app_abort');
    sameVerdict(whole, lost, 'gap');
  });

  it('what nothing proves stays unsolicited: a SYN-ACK nobody is seen asking for, a lone RST+ACK seq 0', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40006`, `${SERVER}:443`).synAck().rst('o', { ack: false });
    tr.conn(`${CLIENT}:40007`, `${SERVER}:25`).rst('r', { seq: 0, ackNo: 12345 });
    const { events } = run(tr);
    expect(events.map((e) => e.cause)).toEqual(['unsolicited', 'unsolicited']);
    for (const e of events) expect(e.evidence.filter((v) => v.startsWith('inferred'))).toEqual([]);
  });
});

describe('loss around closes and scans: what the other packets prove', () => {
  /** A connection closed by the server first (TIME_WAIT on the server), the client's FIN optional. */
  function closed(tr: Trace, port: number, opts: { clientFin: boolean; lastAck: boolean }) {
    const c = tr.conn(`${CLIENT}:${port}`, `${SERVER}:8080`).handshake().data('o', 100).ack('r');
    c.fin('r');
    if (opts.clientFin) c.fin('o');
    else c.nxt.o = (c.nxt.o + 1) >>> 0; // sent, not seen
    if (opts.lastAck) c.ack('r');
    return c;
  }
  /** The client reuses its port at once: the TIME_WAIT socket ACKs the SYN, the client resets that ACK. */
  function reuse(tr: Trace, port: number, c: ReturnType<Trace['conn']>, synSeen: boolean) {
    const n = tr.conn(`${CLIENT}:${port}`, `${SERVER}:8080`, { o: { isn: 500 } });
    if (synSeen) n.syn();
    c.send('r', 'A', { seq: c.nxt.r, ack: c.nxt.o });
    n.rst('o', { ack: false, seq: c.nxt.o });
  }

  it("client's FIN lost: the TIME_WAIT's ACK of it proves it (time_wait_reuse stays time_wait_reuse)", () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = closed(tr, 42000, { clientFin: !lose, lastAck: true });
      reuse(tr, 42000, c, true);
    });
    expect([whole.cause, whole.origin]).toEqual(['time_wait_reuse', 'endpoint']);
    sameVerdict(whole, lost, 'inferred_fin');
  });

  it("the reusing SYN lost: the client resets the TIME_WAIT's answer to it (reuse, not assassination)", () => {
    const { whole, lost } = lossy((tr, lose) => {
      const c = closed(tr, 42001, { clientFin: true, lastAck: true });
      reuse(tr, 42001, c, !lose);
    });
    expect([whole.cause, whole.origin]).toEqual(['time_wait_reuse', 'endpoint']);
    sameVerdict(whole, lost, 'inferred_syn');
  });

  it('the server resetting an ACK from TIME_WAIT stays an assassination (servers do not reuse a client port)', () => {
    const tr = new Trace();
    // The client closes first (TIME_WAIT on the client); an unseen segment makes it ACK; the server resets.
    const c = tr.conn(`${CLIENT}:42002`, `${SERVER}:8080`).handshake().data('o', 10).ack('r');
    c.fin('o').fin('r').ack('o');
    c.send('o', 'A', { seq: c.nxt.o, ack: c.nxt.r, after: 2_000_000 });
    c.rst('r', { ack: false, seq: c.nxt.r });
    expect(only(tr).cause).toBe('time_wait_assassination');
  });

  it('two taps: the last ACK stamped after the reusing SYN does not hide the TIME_WAIT', () => {
    const tr = new Trace({ stepUs: 10 });
    const c = closed(tr, 42003, { clientFin: true, lastAck: false });
    const n = tr.conn(`${CLIENT}:42003`, `${SERVER}:8080`, { o: { isn: 500 } }).syn();
    c.ack('r'); // the server's last ACK, stamped by the other tap after the client's SYN
    c.send('r', 'A', { seq: c.nxt.r, ack: c.nxt.o });
    n.rst('o', { ack: false, seq: c.nxt.o });
    const e = only(tr);
    expect([e.cause, e.origin]).toEqual(['time_wait_reuse', 'endpoint']);
  });

  it("a closed port's answer whose SYN was lost, to a host opening connections to it: closed_port, inferred", () => {
    const { whole, lost } = lossy((tr, lose) => {
      // The client probes the server (its SYNs seen) and the server answers; one SYN is lost. An open
      // port first gives the server's TTL baseline.
      tr.conn(`${CLIENT}:42009`, `${SERVER}:22`).syn().synAck().rst('o', { ack: false });
      tr.conn(`${CLIENT}:42010`, `${SERVER}:21`).syn().rst('r', { seq: 0 });
      const c = tr.conn(`${CLIENT}:42011`, `${SERVER}:23`);
      if (lose) c.nxt.o = (c.nxt.o + 1) >>> 0;
      else c.syn();
      c.rst('r', { seq: 0 });
    });
    expect([whole.cause, whole.origin]).toEqual(['closed_port', 'endpoint']);
    sameVerdict(whole, lost, 'inferred_syn');
  });

  it('the same RST+ACK to a host that opened nothing to its sender stays unsolicited (backscatter)', () => {
    const tr = new Trace();
    // The server's TTL is known, and the client talks to another host, never to this server.
    tr.conn(`${SERVER}:40000`, '10.3.0.1:53').syn().synAck().ack('o');
    tr.conn(`${CLIENT}:42020`, '10.3.0.2:443').syn();
    tr.conn(`${CLIENT}:42021`, `${SERVER}:23`).rst('r', { seq: 0, ackNo: 777 });
    const e = run(tr).events.at(-1)!;
    expect(e.cause).toBe('unsolicited');
    expect(e.evidence).not.toContain('inferred_syn');
  });
});

describe('one-sided views (one direction only)', () => {
  it("originator's side only: classified from what it shows, flow record one-sided", () => {
    const tr = new Trace();
    // Only client -> server on this tap: SYN, ACK, data; the server's numbers come from the client's ACKs.
    const c = tr.conn(`${CLIENT}:41000`, `${SERVER}:8080`).syn();
    c.nxt.r = (c.nxt.r + 1) >>> 0;
    c.ack('o').data('o', 100);
    c.nxt.r = (c.nxt.r + 50) >>> 0;
    c.ack('o').rst('o', { after: 100_000 });
    const { events, flows } = run(tr);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect([e.cause, e.origin]).toEqual(['app_abort', 'endpoint']);
    expect(e.evidence).toContain('inferred_synack');
    expect(flows).toHaveLength(1);
    expect(flows[0]!.one_sided).toBe(true);
  });

  it('a RST from the side never seen: the cause from the numbers, origin unknown (no baseline of that host)', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:41001`, `${SERVER}:8080`).syn();
    c.nxt.r = (c.nxt.r + 1) >>> 0;
    c.ack('o').data('o', 100);
    c.rst('r', { after: 100_000, ttl: 57 });
    const e = only(tr);
    expect(e.origin).toBe('unknown');
    expect(e.ttl_expected).toBeNull();
    expect(e.evidence).toContain('no_ttl_baseline');
    expect(e.confidence).toBeLessThanOrEqual(0.7);
  });

  it("responder's side only: SYN-ACK, data, the server's RST (no SYN or ACK seen)", () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:41002`, `${SERVER}:8080`);
    c.nxt.o = (c.nxt.o + 1) >>> 0;
    c.synAck();
    c.nxt.o = (c.nxt.o + 20) >>> 0;
    c.data('r', 300).rst('r', { after: 100_000 });
    const { events, flows } = run(tr);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    // The server's own packets give it a TTL baseline: its RST is its own; what it shows is an abort.
    expect([e.cause, e.origin]).toEqual(['app_abort', 'endpoint']);
    expect(flows[0]!.one_sided).toBe(true);
  });
});
