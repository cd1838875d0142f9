// The engine's checksum gate: a packet whose checksum failed is evidence, not state (a RST with one
// becomes an event that says it reset nothing), and `auto` stops taking a host's failures as evidence when
// they look like checksum offload on the capturing host.
import { CK_BAD_IP, CK_BAD_TCP, CK_OFFLOAD, CK_VERIFIED, type FlowRecord } from '@rstwatch/core';
import { Trace } from '@rstwatch/flow/testing';
import { describe, expect, it } from 'vitest';
import { runEngine } from './testing.js';

const SMALL = { maxFlows: 4096, maxHosts: 1024 };
const CLIENT = '10.1.0.5';
const SERVER = '10.2.0.9';
const BAD = CK_VERIFIED | CK_BAD_TCP;
const OFFLOAD = CK_VERIFIED | CK_BAD_TCP | CK_OFFLOAD;

function run(tr: Trace, checksums: 'auto' | 'verify' | 'ignore') {
  return runEngine(tr.columns(), { ...SMALL, checksums });
}

/** A connection with data both ways, a RST from the server (checksum `ck`), then more data and a close. */
function resetMidway(ck: number): Trace {
  const tr = new Trace();
  const c = tr.conn(`${CLIENT}:41000`, `${SERVER}:443`, { r: { ttl: 60 } });
  c.handshake().data('o', 100).data('r', 1000);
  c.rst('r', { cksum: ck, ttl: 60 });
  c.data('o', 100).data('r', 1000).fin('o').fin('r').ack('o');
  return tr;
}

const without = (h: string, ch: string) => h.split(ch).join('');

describe('a packet with a bad checksum changes no state', () => {
  it('a RST with a bad checksum is an event with bad_checksum, and the connection goes on', () => {
    const good = run(resetMidway(CK_VERIFIED), 'verify');
    const bad = run(resetMidway(BAD), 'verify');
    expect(good.events).toHaveLength(1);
    expect(bad.events).toHaveLength(1);
    const g = good.events[0]!;
    const e = bad.events[0]!;
    expect(g.evidence).not.toContain('bad_checksum');
    expect(e.evidence).toContain('bad_checksum');
    // What it would have been stands, with low confidence and not taken as the host's own.
    expect(e.cause).toBe(g.cause);
    expect(e.confidence).toBeLessThanOrEqual(0.4);
    expect(e.origin).not.toBe('endpoint');
    // The good RST ended the flow; the bad one reset nothing: the close that follows is graceful.
    expect(good.flows).toHaveLength(1);
    expect(good.flows[0]!.conn_state).toMatch(/^RST/);
    expect(bad.flows).toHaveLength(1);
    const f = bad.flows[0]!;
    expect(f.conn_state).toBe('SF');
    expect(f.rst_cause).toBeNull();
    expect(f.history).toContain('c'); // Zeek's bad-checksum letter, responder side
    expect(without(f.history, 'c')).toBe('ShADdFf');
    expect(bad.engine.stats().checksums).toEqual({ bad: 1, offloaded: 0, offload_hosts: 0 });
    expect(bad.engine.stats().anomalies).toEqual(
      run(resetMidway(CK_VERIFIED), 'verify').engine.stats().anomalies,
    );
  });

  it('a data packet or FIN with a bad checksum: the flow is what it would be without it', () => {
    const script = (spoil: boolean) => {
      const tr = new Trace();
      const c = tr.conn(`${CLIENT}:41001`, `${SERVER}:80`);
      c.handshake().data('o', 50);
      if (spoil) {
        // A forged FIN and a forged data segment "from" the server, both failing their checksums.
        c.send('r', 'FA', { cksum: BAD, advance: false });
        c.send('r', 'PA', { len: 500, cksum: CK_VERIFIED | CK_BAD_IP, advance: false });
      }
      c.data('r', 800).data('o', 50).data('r', 800).fin('o').fin('r').ack('o');
      return run(tr, 'verify').flows;
    };
    const clean = script(false)[0]!;
    const spoilt = script(true)[0]!;
    const same = (r: FlowRecord) => ({
      conn_state: r.conn_state,
      orig_pkts: r.orig_pkts,
      resp_pkts: r.resp_pkts,
      orig_bytes: r.orig_bytes,
      resp_bytes: r.resp_bytes,
      history: without(r.history, 'c'),
    });
    expect(spoilt.history).toContain('c');
    expect(clean.history).not.toContain('c');
    expect(same(spoilt)).toEqual(same(clean));
    expect(spoilt.conn_state).toBe('SF');
  });

  it('a bad SYN-ACK does not answer the SYN: the flow stays unanswered', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:41002`, `${SERVER}:80`).syn().send('r', 'SA', { cksum: BAD });
    const { flows } = run(tr, 'verify');
    expect(flows[0]!.conn_state).toBe('S0');
    expect(flows[0]!.resp_pkts).toBe(0);
  });

  it('ignore (Zeek -C) takes every packet as it is, and counts nothing', () => {
    const r = run(resetMidway(BAD), 'ignore');
    expect(r.events[0]!.evidence).not.toContain('bad_checksum');
    expect(r.flows[0]!.conn_state).toMatch(/^RST/);
    expect(r.engine.stats().checksums).toEqual({ bad: 0, offloaded: 0, offload_hosts: 0 });
  });

  it('a header that was not verified (cksum 0) is taken as it is in every mode', () => {
    for (const mode of ['auto', 'verify'] as const) {
      const r = run(resetMidway(0), mode);
      expect(r.events[0]!.evidence).not.toContain('bad_checksum');
      expect(r.flows[0]!.conn_state).toMatch(/^RST/);
    }
  });
});

describe('auto: offload on the capturing host is not evidence', () => {
  it('a failure with the offload signature is processed (verify still rejects it)', () => {
    const a = run(resetMidway(OFFLOAD), 'auto');
    expect(a.events[0]!.evidence).not.toContain('bad_checksum');
    expect(a.flows[0]!.conn_state).toMatch(/^RST/);
    expect(a.engine.stats().checksums).toEqual({ bad: 0, offloaded: 1, offload_hosts: 0 });
    expect(a.engine.offloadHost).toBe(SERVER);
    const v = run(resetMidway(OFFLOAD), 'verify');
    expect(v.events[0]!.evidence).toContain('bad_checksum');
    expect(v.flows[0]!.conn_state).toBe('SF');
  });

  /** `n` connections to the server, every server packet failing its checksum (not offload-like). */
  function allServerPacketsFail(n: number): Trace {
    const tr = new Trace();
    for (let k = 0; k < n; k++) {
      const c = tr.conn(`${CLIENT}:${42000 + k}`, `${SERVER}:443`);
      c.syn().send('r', 'SA', { cksum: BAD }).ack('o').data('o', 100);
      c.send('r', 'PA', { len: 1000, cksum: BAD }).rst('r', { cksum: BAD });
    }
    return tr;
  }

  it('a host whose packets keep failing with nothing accepted stops counting as evidence', () => {
    const v = run(allServerPacketsFail(6), 'verify');
    expect(v.events).toHaveLength(6);
    expect(v.events.every((e) => e.evidence.includes('bad_checksum'))).toBe(true);
    expect(v.engine.stats().checksums).toEqual({ bad: 18, offloaded: 0, offload_hosts: 0 });

    const a = run(allServerPacketsFail(6), 'auto');
    expect(a.events).toHaveLength(6);
    // Three failures are evidence (all in the first connection); the fourth makes the host offload-like.
    expect(a.events.map((e) => e.evidence.includes('bad_checksum'))).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(a.engine.stats().checksums).toEqual({ bad: 3, offloaded: 15, offload_hosts: 1 });
    expect(a.engine.offloadHost).toBe(SERVER);
    // From then on its packets are state: the later connections were answered and reset.
    expect(a.flows.slice(1).map((f) => f.conn_state)).toEqual(['RSTR', 'RSTR', 'RSTR', 'RSTR', 'RSTR']);
  });

  it('a host whose own packets pass keeps its failing RSTs as evidence (forged RSTs are not offload)', () => {
    const tr = new Trace();
    for (let k = 0; k < 8; k++) {
      const c = tr.conn(`${CLIENT}:${43000 + k}`, `${SERVER}:443`);
      c.handshake().data('o', 100).data('r', 1000);
      c.rst('r', { cksum: BAD, ack: false }).data('r', 1000).fin('o').fin('r').ack('o');
    }
    const a = run(tr, 'auto');
    expect(a.events).toHaveLength(8);
    expect(a.events.every((e) => e.evidence.includes('bad_checksum'))).toBe(true);
    expect(a.engine.stats().checksums).toEqual({ bad: 8, offloaded: 0, offload_hosts: 0 });
    expect(a.engine.offloadHost).toBe('');
    expect(a.flows.map((f) => f.conn_state)).toEqual(Array(8).fill('SF'));
  });
});
