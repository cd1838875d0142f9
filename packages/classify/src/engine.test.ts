import {
  CAUSES,
  CONN_STATES,
  DIRECTIONS,
  ORIGINS,
  PHASES,
  RST_EVENT_FIELDS,
  SIGNATURES,
} from '@rstwatch/core';
import { Trace } from '@rstwatch/flow/testing';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_NAMES } from './classifier.js';
import { DEFAULT_ENGINE_CONFIG, resolveEngineConfig } from './config.js';
import { Engine } from './engine.js';
import { runEngine } from './testing.js';

const SMALL = { maxFlows: 4096, maxHosts: 1024 };

function run(tr: Trace, cfg = {}) {
  return runEngine(tr.columns(), { ...SMALL, ...cfg });
}

function only(tr: Trace, cfg = {}) {
  const { events } = run(tr, cfg);
  expect(events).toHaveLength(1);
  return events[0]!;
}

const CLIENT = '10.1.0.5';
const SERVER = '10.2.0.9';

/** A finished connection that teaches the engine the server's TTL/IP-ID baseline. */
function warmServer(tr: Trace, ttl = 60) {
  tr.conn(`${CLIENT}:30000`, `${SERVER}:443`, { r: { ttl } }).handshake().data('o', 10).data('r', 10);
}

describe('RST causes from wire evidence', () => {
  it('closed_port: SYN answered by RST+ACK seq 0 ack ISN+1 from the host itself', () => {
    const tr = new Trace();
    warmServer(tr);
    tr.conn(`${CLIENT}:40000`, `${SERVER}:81`, { r: { ttl: 60 } })
      .syn()
      .rst('r', { seq: 0 });
    const e = only(tr);
    expect(e.cause).toBe('closed_port');
    expect(e.origin).toBe('endpoint');
    expect(e.phase).toBe('handshake');
    expect(e.direction).toBe('resp');
    expect(e.conn_state).toBe('REJ');
    expect(e.history).toBe('Sr');
    expect(e.flags).toBe('R.');
    expect(e.ttl_expected).toBe(60);
    expect(e.evidence).toContain('ack_is_isn_plus_1');
    expect(e.confidence).toBeGreaterThanOrEqual(0.85);
  });

  it('firewall_reject: a router one hop closer rejects with a TTL that does not fit the server', () => {
    const tr = new Trace();
    warmServer(tr, 60);
    tr.conn(`${CLIENT}:40001`, `${SERVER}:22`, { r: { ttl: 60 } })
      .syn()
      .rst('r', { seq: 0, ttl: 61, ipId: 0 });
    const e = only(tr);
    expect(e.cause).toBe('firewall_reject');
    expect(e.origin).toBe('middlebox');
    expect(e.evidence).toContain('ttl_delta=1');
    expect(e.ttl_expected).toBe(60);
  });

  it('no TTL baseline: a kernel-style answer to the SYN is closed_port with origin unknown, never endpoint', () => {
    // A router's REJECT (--reject-with tcp-reset) sends exactly this; nothing of the server's came before.
    for (const [client, server, ttl, hops] of [
      [CLIENT, SERVER, 64, 0],
      [CLIENT, SERVER, 61, 3],
      ['[2001:db8:1::2]', '[2001:db8:2::2]', 250, 5],
    ] as const) {
      const tr = new Trace();
      tr.conn(`${client}:40010`, `${server}:8082`, { r: { ttl } }).syn().rst('r', { seq: 0, ipId: 0 });
      const e = only(tr);
      expect(e.cause).toBe('closed_port');
      expect(e.origin).toBe('unknown');
      expect(e.confidence).toBeLessThanOrEqual(0.5);
      expect(e.evidence).toEqual(
        expect.arrayContaining(['no_ttl_baseline', 'ack_is_isn_plus_1', `ttl_hops=${hops}`]),
      );
    }
  });

  it("no TTL baseline: a RST+ACK answering a malformed SYN is not taken as the host's either", () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40011`, `${SERVER}:9`).send('o', 'SF').rst('r', { seq: 0 });
    const e = only(tr);
    expect(e.cause).toBe('malformed_syn');
    expect(e.origin).toBe('unknown');
  });

  it('firewall_reject: a "fake" RST without ACK answering the SYN', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40002`, `${SERVER}:25`).syn().rst('r', { ack: false, seq: 0 });
    const e = only(tr);
    expect(e.cause).toBe('firewall_reject');
    expect(e.origin).toBe('middlebox');
    expect(e.evidence).toContain('no_ack_flag');
  });

  it('firewall_reject: a SYN-ACK and a RST both "from" the server', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40003`, `${SERVER}:443`, { r: { ttl: 60 } })
      .syn()
      .synAck()
      .rst('r', { ack: false, ttl: 57 });
    const e = only(tr);
    expect(e.cause).toBe('firewall_reject');
    expect(e.origin).toBe('middlebox');
    expect(e.evidence).toContain('synack_then_rst');
  });

  it('backlog_overflow: handshake completes, the server resets with no data', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40004`, `${SERVER}:8080`).handshake().rst('r');
    const e = only(tr);
    expect(e.cause).toBe('backlog_overflow');
    expect(e.origin).toBe('endpoint');
    expect(e.phase).toBe('established');
    expect(e.evidence).toContain('handshake_complete_no_data');
    expect(e.signature).toBe('SYN→RST+ACK');
  });

  it('malformed_syn: a SYN with URG answered by RST', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40005`, `${SERVER}:80`);
    c.send('o', 'SU').rst('r', { seq: 0 });
    const e = only(tr);
    expect(e.cause).toBe('malformed_syn');
    expect(e.evidence).toContain('malformed_syn');
  });

  it('time_wait_reuse: a new SYN on a 4-tuple closed seconds ago is refused', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40006`, `${SERVER}:80`);
    c.handshake().data('o', 10).data('r', 10).fin('r').fin('o').ack('r');
    tr.wait(10_000_000);
    c.nxt.o = 777_777;
    c.syn().rst('r', { seq: 0 });
    const { events, flows } = run(tr);
    expect(events).toHaveLength(1);
    expect(events[0]!.cause).toBe('time_wait_reuse');
    expect(events[0]!.evidence).toContain('time_wait_tuple');
    expect(flows.map((f) => f.conn_state)).toEqual(['SF', 'REJ']);
    expect(flows[1]!.rst_cause).toBe('time_wait_reuse');
  });

  it('syn_scan: SYN, SYN-ACK, RST without ACK from the scanner, many ports', () => {
    const tr = new Trace();
    for (let port = 1; port <= 30; port++) {
      tr.conn(`10.9.9.9:50000`, `${SERVER}:${port}`).syn().synAck().rst('o', { ack: false });
    }
    const { events } = run(tr);
    expect(events).toHaveLength(30);
    const last = events[29]!;
    expect(last.cause).toBe('syn_scan');
    expect(last.origin).toBe('endpoint');
    expect(last.signature).toBe('SYN→RST');
    expect(last.evidence.some((x) => x.startsWith('scan_ports='))).toBe(true);
    expect(last.conn_state).toBe('RSTO');
    expect(last.confidence).toBeGreaterThan(events[0]!.confidence);
  });

  it('connect_scan: full handshake, then the originator resets at once', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40007`, `${SERVER}:3306`).handshake().rst('o');
    const e = only(tr);
    expect(e.cause).toBe('connect_scan');
    expect(e.direction).toBe('orig');
    expect(e.signature).toBe('SYN;ACK→RST+ACK');
  });

  it('retransmission_timeout: the same segment retransmitted unacknowledged, then RST from that side', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40008`, `${SERVER}:80`).handshake().data('o', 100);
    for (let k = 0; k < 4; k++) c.retransmit('o', 100, 100, 200_000 * 2 ** k);
    c.rst('o');
    const e = only(tr);
    expect(e.cause).toBe('retransmission_timeout');
    expect(e.evidence).toContain('retransmissions=4');
    expect(e.history).toContain('T');
  });

  it('idle_timeout: RST after a gap longer than idleTimeoutS', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40009`, `${SERVER}:5432`).handshake().data('o', 10).data('r', 10).ack('o');
    c.rst('r', { after: 130_000_000 });
    const e = only(tr);
    expect(e.cause).toBe('idle_timeout');
    expect(e.evidence).toContain('idle_gap_s=130');
    // a larger configured threshold makes it an ordinary abort
    const e2 = only(tr, { idleTimeoutS: 200 });
    expect(e2.cause).toBe('app_abort');
    // the gap is evidence whatever the cause (detectors learn idle timers from it)
    expect(e2.evidence).toContain('idle_gap_s=130');
    expect(e2.evidence.filter((x) => x.startsWith('idle_gap_s='))).toHaveLength(1);
  });

  it('idle_gap_s: every established/closing RST after >= 1 s of silence carries it, shorter gaps do not', () => {
    const mk = (gapUs: number, fin: boolean) => {
      const tr = new Trace();
      const c = tr.conn(`${CLIENT}:40019`, `${SERVER}:8080`).handshake().data('o', 10).data('r', 10).ack('o');
      if (fin) c.fin('o');
      c.rst('r', { after: gapUs });
      return only(tr);
    };
    const est = mk(7_600_000, false);
    expect(est.phase).toBe('established');
    expect(est.cause).toBe('app_abort');
    expect(est.evidence).toContain('idle_gap_s=7');
    const closing = mk(3_000_000, true);
    expect(closing.phase).toBe('closing');
    expect(closing.evidence).toContain('idle_gap_s=3');
    const short = mk(900_000, false);
    expect(short.evidence.some((x) => x.startsWith('idle_gap_s='))).toBe(false);
  });

  it('app_abort: SO_LINGER 0 style RST+ACK at the exact next sequence number', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40010`, `${SERVER}:80`).handshake().data('o', 100).data('r', 1000).ack('o').rst('r');
    const e = only(tr);
    expect(e.cause).toBe('app_abort');
    expect(e.origin).toBe('endpoint');
    expect(e.seq_exact).toBe(true);
    expect(e.in_window).toBe(true);
    expect(e.conn_state).toBe('RSTR');
  });

  it('stale_connection: data to a host that lost its socket, RST seq = the segment ack, no ACK', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40011`, `${SERVER}:80`).handshake().data('o', 100).data('r', 100).ack('o');
    c.data('o', 50, 30_000_000).rst('r', { ack: false });
    const e = only(tr);
    expect(e.cause).toBe('stale_connection');
    expect(e.origin).toBe('endpoint');
    expect(e.evidence).toContain('answers_segment_ack');
    expect(e.evidence).toContain('no_ack_flag');
  });

  it('teardown_reset: RST after a FIN instead of a graceful close', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40012`, `${SERVER}:80`).handshake().data('o', 10).data('r', 10).fin('o').rst('r');
    const e = only(tr);
    expect(e.cause).toBe('teardown_reset');
    expect(e.phase).toBe('closing');
    expect(e.evidence).toContain('fin_seen');
  });

  it('time_wait_assassination: both FINs and the last ACK, an old duplicate, then a RST', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40013`, `${SERVER}:80`).handshake().data('o', 10).data('r', 10);
    c.fin('o').fin('r').ack('o');
    c.retransmit('r', 10, 11);
    c.rst('o', { ack: false });
    const e = only(tr);
    expect(e.cause).toBe('time_wait_assassination');
    expect(e.phase).toBe('closed');
  });

  it('time_wait_assassination: a RST on a tuple closed gracefully after the flow left the table', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40014`, `${SERVER}:80`).handshake().data('o', 10).data('r', 10);
    c.fin('o').fin('r').ack('o');
    c.rst('r', { after: 20_000_000, ack: false });
    const { events } = run(tr);
    expect(events[0]!.cause).toBe('time_wait_assassination');
    expect(events[0]!.evidence).toContain('time_wait_tuple');
  });

  it('injected_reset: RST after the ClientHello, wrong TTL and IP ID, no ACK, the server keeps sending', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40015`, `${SERVER}:443`, { r: { ttl: 52, ipId: 30000 } });
    c.handshake().data('o', 517);
    c.rst('r', { ack: false, ttl: 61, ipId: 12345 });
    c.data('r', 1400).data('r', 1400);
    const e = only(tr);
    expect(e.cause).toBe('injected_reset');
    expect(e.origin).toBe('middlebox');
    expect(e.evidence).toEqual(expect.arrayContaining(['ttl_delta=9', 'data_after_rst', 'no_ack_flag']));
    expect(e.evidence.some((x) => x.startsWith('ipid_gap='))).toBe(true);
    expect(e.conn_state).toBe('RSTR');
  });

  it('injected_reset: a security device RST with a diagnostic payload', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40016`, `${SERVER}:25`, { r: { ttl: 60 } });
    c.handshake().data('r', 30).data('o', 12);
    c.rst('r', { ttl: 64, payload: '220 mailgat\r\n' });
    const e = only(tr);
    expect(e.cause).toBe('injected_reset');
    expect(e.payload_len).toBe(13);
    expect(e.payload_preview).toBe('220 mailgat\\x0d\\x0a');
    expect(e.evidence).toContain('rst_with_payload');
  });

  it('reset_attack: seq far outside the window, the connection continues', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40017`, `${SERVER}:179`).handshake().data('o', 10).data('r', 10);
    c.rst('o', { seq: (c.nxt.o + 50_000_000) >>> 0, ack: false });
    c.data('o', 10).data('r', 10);
    const e = only(tr);
    expect(e.cause).toBe('reset_attack');
    expect(e.origin).toBe('spoofed');
    expect(e.in_window).toBe(false);
    expect(e.evidence).toContain('seq_out_of_window');
  });

  it('reset_attack: in window but not exact, answered by an RFC 5961 challenge ACK', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40018`, `${SERVER}:179`).handshake().data('o', 10).data('r', 10).ack('o');
    c.rst('o', { seq: (c.nxt.o + 1000) >>> 0, ack: false, ttl: 64 });
    c.ack('r');
    const e = only(tr);
    expect(e.cause).toBe('reset_attack');
    expect(e.in_window).toBe(true);
    expect(e.seq_exact).toBe(false);
    expect(e.evidence).toEqual(expect.arrayContaining(['seq_in_window_not_exact', 'challenge_ack_seen']));
  });

  it('unsolicited: a RST with no flow behind it', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40019`, `${SERVER}:6000`).send('r', 'R', { seq: 5 });
    const e = only(tr);
    expect(e.cause).toBe('unsolicited');
    expect(e.phase).toBe('none');
    expect(e.direction).toBe('unknown');
    expect(e.origin).toBe('unknown');
    expect(e.conn_state).toBe('OTH');
  });

  it('other: the originator aborts its own SYN before any answer', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:40020`, `${SERVER}:80`).syn().rst('o', { ack: false });
    const e = only(tr);
    expect(e.cause).toBe('other');
    expect(e.conn_state).toBe('RSTOS0');
  });

  it('RFC 2525 2.16 look-alike: one client RST per arriving server segment is not injection', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:40021`, `${SERVER}:80`).handshake().data('o', 10).data('r', 1000);
    c.rst('o');
    c.data('r', 1000).rst('o', { seq: c.nxt.o }).data('r', 1000).rst('o', { seq: c.nxt.o });
    const { events } = run(tr);
    expect(events).toHaveLength(3);
    for (const e of events) {
      expect(e.cause).toBe('app_abort');
      expect(e.evidence).not.toContain('data_after_rst');
      expect(e.origin).toBe('endpoint');
    }
    expect(events[1]!.evidence).toContain('repeats_earlier_rst');
  });
});

describe('look-alikes and special packets', () => {
  it('an on-path injector bursting RSTs with stepping seq stays injected_reset, not reset_attack', () => {
    const tr = new Trace();
    const c = tr
      .conn(`${CLIENT}:43000`, `${SERVER}:443`, { r: { ttl: 52 } })
      .handshake()
      .data('o', 517);
    const base = c.nxt.r;
    c.rst('r', { ttl: 240, seq: base });
    c.rst('r', { ttl: 240, seq: (base + 1460) >>> 0 });
    c.rst('r', { ttl: 240, seq: (base + 4380) >>> 0 });
    c.data('r', 1400);
    const { events } = run(tr);
    expect(events.map((e) => e.cause)).toEqual(['injected_reset', 'injected_reset', 'injected_reset']);
    expect(events[1]!.evidence).toContain('rst_seq_change');
    expect(events.every((e) => e.origin === 'middlebox')).toBe(true);
  });

  it('an off-path attacker stepping seq through the window is a reset_attack', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:43001`, `${SERVER}:179`).handshake().data('o', 10).data('r', 10).ack('o');
    for (let k = 1; k <= 6; k++) c.rst('o', { ack: false, seq: (c.nxt.o + k * 70_000) >>> 0, ttl: 64 });
    const { events } = run(tr);
    expect(events).toHaveLength(6);
    expect(events.every((e) => e.cause === 'reset_attack' && e.origin === 'spoofed')).toBe(true);
  });

  it('a SYN+RST packet is itself a malformed_syn event', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:43002`, `${SERVER}:8080`).send('o', 'SR', { seq: 5 });
    const e = only(tr);
    expect(e.cause).toBe('malformed_syn');
    expect(e.flags).toBe('SR');
    expect(e.history).toBe('Q');
  });

  it('backscatter: a RST answering a SYN-ACK nobody asked for is unsolicited', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:43003`, '198.18.9.9:443');
    c.synAck().rst('o', { ack: false, seq: c.nxt.o });
    const e = only(tr);
    expect(e.cause).toBe('unsolicited');
    expect(e.origin).toBe('endpoint');
    expect(e.history).toBe('^hR');
  });

  it('time_wait_reuse: the connecting side resets the TIME_WAIT ACK to its reused SYN', () => {
    const tr = new Trace();
    const c = tr
      .conn(`${CLIENT}:43004`, `${SERVER}:8080`)
      .handshake()
      .data('o', 100)
      .fin('r')
      .ack('o')
      .fin('o')
      .ack('r');
    const rcvNxt = c.nxt.o;
    c.nxt.o = 5;
    c.syn();
    c.send('r', 'A', { ack: rcvNxt, seq: c.nxt.r });
    c.rst('o', { ack: false, seq: rcvNxt });
    const e = only(tr);
    expect(e.cause).toBe('time_wait_reuse');
    expect(e.direction).toBe('orig');
  });
});

describe('tampering signatures', () => {
  it('PSH+ACK→RST=RST and PSH+ACK→RST≠RST for several RSTs after the first data packet', () => {
    let tr = new Trace();
    let c = tr.conn(`${CLIENT}:41000`, `${SERVER}:443`).handshake().data('o', 300);
    c.rst('o', { ack: false, ackNo: 5 }).rst('o', { ack: false, ackNo: 5 });
    let { events } = run(tr);
    expect(events.map((e) => e.signature)).toEqual(['PSH+ACK→RST=RST', 'PSH+ACK→RST=RST']);
    tr = new Trace();
    c = tr.conn(`${CLIENT}:41001`, `${SERVER}:443`).handshake().data('o', 300);
    c.rst('o', { ack: false, ackNo: 5 }).rst('o', { ack: false, ackNo: 9 });
    ({ events } = run(tr));
    expect(events.map((e) => e.signature)).toEqual(['PSH+ACK→RST≠RST', 'PSH+ACK→RST≠RST']);
    expect(events[1]!.evidence).toContain('rst_ack_change');
  });

  it('PSH+ACK→RST;RST+ACK, SYN→RST;RST+ACK and the data stages', () => {
    let tr = new Trace();
    let c = tr.conn(`${CLIENT}:41002`, `${SERVER}:443`).handshake().data('o', 300);
    c.rst('o', { ack: false }).rst('o');
    expect(run(tr).events.map((e) => e.signature)).toEqual(['PSH+ACK→RST;RST+ACK', 'PSH+ACK→RST;RST+ACK']);
    tr = new Trace();
    c = tr.conn(`${CLIENT}:41003`, `${SERVER}:443`).syn();
    c.rst('o', { ack: false }).rst('o');
    expect(run(tr).events[0]!.signature).toBe('SYN→RST;RST+ACK');
    tr = new Trace();
    c = tr.conn(`${CLIENT}:41004`, `${SERVER}:443`).handshake().data('o', 300).data('o', 300);
    c.rst('o', { ack: false });
    expect(run(tr).events[0]!.signature).toBe('PSH+ACK;Data→RST');
  });
});

describe('Engine mechanics', () => {
  it('every RST produces exactly one event, in capture order, with exactly the contract fields', () => {
    const tr = new Trace();
    for (let k = 0; k < 20; k++) {
      const c = tr
        .conn(`10.3.0.${k}:${1000 + k}`, `${SERVER}:80`)
        .handshake()
        .data('o', 10);
      if (k % 2) c.rst('r');
      else c.rst('o', { ack: false }).rst('o');
    }
    const { events } = run(tr);
    expect(events).toHaveLength(30);
    const ts = events.map((e) => e.ts);
    expect([...ts].sort()).toEqual(ts);
    for (const e of events) {
      expect(Object.keys(e)).toEqual([...RST_EVENT_FIELDS]);
      expect(CAUSES).toContain(e.cause);
      expect(ORIGINS).toContain(e.origin);
      expect(PHASES).toContain(e.phase);
      expect(DIRECTIONS).toContain(e.direction);
      expect(SIGNATURES).toContain(e.signature);
      expect(CONN_STATES).toContain(e.conn_state);
      expect(e.sensor).toBe('test');
    }
  });

  it('holds a RST until holdPackets later packets or holdMs, then releases it', () => {
    const tr = new Trace();
    const c = tr
      .conn(`${CLIENT}:42000`, `${SERVER}:80`)
      .handshake()
      .data('o', 10)
      .rst('r', { ack: false, ttl: 30 });
    const e = Engine.create({ ...SMALL, holdPackets: 2, holdMs: 10_000 });
    let out = e.processBatch(tr.columns(), 's');
    expect(out.events).toHaveLength(0);
    expect(e.stats().held).toBe(1);
    const tr2 = new Trace({ startUs: tr.now });
    const c2 = tr2.conn(c.o, c.r);
    c2.nxt = { ...c.nxt };
    c2.data('r', 5).data('r', 5);
    out = e.processBatch(tr2.columns(), 's');
    expect(out.events).toHaveLength(1);
    expect(out.events[0]!.evidence).toContain('data_after_rst');
    expect(e.stats().held).toBe(0);
    // time-based release
    const e2 = Engine.create({ ...SMALL, holdMs: 500 });
    expect(e2.processBatch(tr.columns(), 's').events).toHaveLength(0);
    expect(e2.advanceTime(tr.now + 501_000).events).toHaveLength(1);
  });

  it('emit:false rebuilds state silently (warm-up replay)', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:42001`, `${SERVER}:80`).handshake().data('o', 10).rst('r');
    const e = Engine.create(SMALL);
    const out = e.processBatch(tr.columns(), 's', { emit: false });
    expect(out.events).toHaveLength(0);
    expect(out.flows).toHaveLength(0);
    expect(e.stats().rst_events).toBe(1);
    expect(e.advanceTime(tr.now + 10_000_000, { emit: false }).flows).toHaveLength(0);
    expect(e.finish({ emit: false }).flows).toHaveLength(0);
    expect(e.stats().flows_active).toBe(0);
  });

  it('flows:false still ends and counts flows and emits the same events, without building records', () => {
    const tr = new Trace();
    for (let k = 0; k < 20; k++) {
      const c = tr
        .conn(`${CLIENT}:${43000 + k}`, `${SERVER}:80`)
        .handshake()
        .data('o', 10);
      if (k % 3 === 0) c.rst('r');
      else c.fin('o').fin('r').ack('o');
    }
    const cols = tr.columns();
    const full = Engine.create(SMALL);
    const a = full.processBatch(cols, 's');
    const aEnd = full.finish();
    const lean = Engine.create(SMALL);
    const b = lean.processBatch(cols, 's', { flows: false });
    const bEnd = lean.finish({ flows: false });
    expect(b.flows).toHaveLength(0);
    expect(bEnd.flows).toHaveLength(0);
    expect(lean.flowsEnded).toBe(20);
    expect(full.flowsEnded).toBe(a.flows.length + aEnd.flows.length);
    expect(lean.flowsEnded).toBe(full.flowsEnded);
    expect([...b.events, ...bEnd.events]).toEqual([...a.events, ...aEnd.events]);
    expect(b.events.length + bEnd.events.length).toBe(7);
  });

  it('counts impossible flags and bad headers, never throws', () => {
    const tr = new Trace();
    const c = tr.conn(`${CLIENT}:42002`, `${SERVER}:80`);
    c.send('o', 'SR').send('o', 'SF').send('o', '');
    const cols = tr.columns();
    cols.ipVersion[2] = 7;
    const { engine, events } = runEngine(cols, SMALL);
    const s = engine.stats();
    expect(s.anomalies.syn_rst).toBe(1);
    expect(s.anomalies.syn_fin).toBe(1);
    expect(s.drops.bad_ip_version).toBe(1);
    expect(s.headers).toBe(3);
    expect(events).toHaveLength(1);
  });

  it('evicts the idlest flow when full and emits its record', () => {
    const tr = new Trace();
    for (let k = 0; k < 40; k++) tr.conn(`10.4.0.${k}:2000`, `${SERVER}:80`).syn();
    const { engine, flows } = runEngine(tr.columns(), { maxFlows: 16, maxHosts: 64 }, { batch: 7 });
    expect(engine.stats().evictions).toBe(24);
    expect(engine.stats().flows_ended).toBe(40);
    expect(flows).toHaveLength(40);
    expect(new Set(flows.map((f) => f['id.orig_h'])).size).toBe(40);
  });

  it('advanceTime expires idle flows (S1 after flowIdleExpiryS) and closed ones after the close delay', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:42010`, `${SERVER}:80`).handshake().data('o', 10).data('r', 10);
    tr.conn(`${CLIENT}:42011`, `${SERVER}:80`).handshake().data('o', 10).fin('o').fin('r').ack('o');
    const e = Engine.create({ ...SMALL, flowIdleExpiryS: 60 });
    expect(e.processBatch(tr.columns(), 's').flows).toHaveLength(0);
    const closed = e.advanceTime(tr.now + 6_000_000).flows;
    expect(closed.map((f) => f.conn_state)).toEqual(['SF']);
    const idle = e.advanceTime(tr.now + 61_000_000).flows;
    expect(idle.map((f) => `${f.conn_state} ${f.history}`)).toEqual(['S1 ShADd']);
    expect(e.stats().flows_active).toBe(0);
  });

  it('keeps the same 5-tuple from two sensors apart', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:42012`, `${SERVER}:80`).syn();
    const e = Engine.create(SMALL);
    e.processBatch(tr.columns(), 'sensor-1');
    e.processBatch(tr.columns(), 'sensor-2');
    expect(e.stats().flows_active).toBe(2);
    const flows = e.finish().flows;
    expect(flows.map((f) => f.sensor).sort()).toEqual(['sensor-1', 'sensor-2']);
  });

  it('flow records carry the cause and origin of the RST that ended them', () => {
    const tr = new Trace();
    tr.conn(`${CLIENT}:42003`, `${SERVER}:81`).syn().rst('r', { seq: 0 });
    const { flows } = run(tr);
    expect(flows).toHaveLength(1);
    expect(flows[0]!.rst_cause).toBe('closed_port');
    expect(flows[0]!.rst_count).toBe(1);
    expect(flows[0]!.sensor).toBe('test');
    expect(flows[0]!.tunnel).toBeNull();
  });

  it('evidence strings come from the documented vocabulary', () => {
    const tr = new Trace();
    const c = tr
      .conn(`${CLIENT}:42004`, `${SERVER}:443`, { r: { ttl: 52 } })
      .handshake()
      .data('o', 5);
    c.rst('r', { ack: false, ttl: 61, ipId: 9 }).data('r', 10);
    for (const e of run(tr).events)
      for (const x of e.evidence)
        expect(EVIDENCE_NAMES.some((n) => (n.endsWith('=') ? x.startsWith(n) : x === n))).toBe(true);
  });
});

describe('EngineConfig', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_ENGINE_CONFIG).toEqual({
      maxFlows: 262144,
      flowIdleExpiryS: 300,
      idleTimeoutS: 120,
      holdMs: 500,
      holdPackets: 16,
      timeWaitS: 60,
      scanWindowS: 60,
      scanMinPorts: 10,
      retransmitMin: 3,
      burstWindowMs: 1000,
      burstMinRsts: 5,
      maxHosts: 65536,
      duplicateWindowMs: 0.1,
      reorderWindowMs: 0.2,
      checksums: 'auto',
    });
  });

  it('rejects bad values and unknown keys with the key name', () => {
    expect(() => resolveEngineConfig({ maxFlows: -1 })).toThrow(/maxFlows must be an integer/);
    expect(() => resolveEngineConfig({ holdMs: Number.NaN })).toThrow(/holdMs/);
    expect(() => resolveEngineConfig({ scanMinPorts: 2.5 })).toThrow(/scanMinPorts/);
    expect(() => resolveEngineConfig({ nope: 1 } as never)).toThrow(/unknown key "nope"/);
    expect(() => Engine.create({ maxHosts: 0 })).toThrow(/maxHosts/);
    expect(resolveEngineConfig({ holdMs: 0 }).holdMs).toBe(0);
  });

  it('bytes per flow stay within 256 at the defaults', () => {
    expect(Engine.bytesPerFlow()).toBeLessThanOrEqual(256);
  });
});
