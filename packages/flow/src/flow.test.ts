import { bucketOf, type FlowRecord, flowHash, formatAddr, HeaderColumns } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import {
  CS_OTH,
  CS_REJ,
  CS_RSTO,
  CS_RSTOS0,
  CS_RSTR,
  CS_RSTRH,
  CS_S0,
  CS_S1,
  CS_SF,
  CS_SH,
  CS_SHR,
  connStateCode,
  EP_CLOSED,
  EP_ESTABLISHED,
  EP_INACTIVE,
  EP_PARTIAL,
  EP_RESET,
  EP_SYN_ACK_SENT,
  EP_SYN_SENT,
} from './conn-state.js';
import { buildFlowRecord } from './record.js';
import { appendPacket, buildColumns, Trace } from './testing.js';
import { CLOSE_DELAY_US, END_EVICTED, FlowTracker } from './tracker.js';

const CFG = { maxFlows: 64, flowIdleExpiryS: 300, timeWaitS: 60, maxHosts: 64 };

/** Feed `cols` through a tracker; return all records (ended flows, then the rest at the end). */
function track(cols: HeaderColumns, cfg = CFG): { records: FlowRecord[]; reasons: number[]; t: FlowTracker } {
  const t = FlowTracker.create(cfg);
  const records: FlowRecord[] = [];
  const reasons: number[] = [];
  t.listener = {
    flowEnded(f, reason) {
      records.push(buildFlowRecord(t, f));
      reasons.push(reason);
    },
    historyOverflow() {},
  };
  const s = t.sensorOrdinal('s1');
  for (let i = 0; i < cols.length; i++) {
    const f = t.locate(cols, i, s);
    t.update(f, cols, i);
  }
  t.endAll(3);
  return { records, reasons, t };
}

function one(cols: HeaderColumns): FlowRecord {
  const { records } = track(cols);
  expect(records).toHaveLength(1);
  return records[0]!;
}

describe('connStateCode (Zeek main.zeek conn_state)', () => {
  it('covers the precedence rules', () => {
    expect(connStateCode(EP_SYN_SENT, EP_RESET, 0, 0, 'Sr')).toBe(CS_REJ);
    expect(connStateCode(EP_RESET, EP_RESET, 0, 0, 'ShRr')).toBe(CS_REJ);
    // responder RST wins over originator RST when data was exchanged
    expect(connStateCode(EP_RESET, EP_RESET, 10, 0, 'ShADRr')).toBe(CS_RSTR);
    expect(connStateCode(EP_INACTIVE, EP_RESET, 0, 0, '^r')).toBe(CS_RSTRH);
    expect(connStateCode(EP_RESET, EP_ESTABLISHED, 5, 5, 'ShADR')).toBe(CS_RSTO);
    expect(connStateCode(EP_RESET, EP_INACTIVE, 0, 0, 'SR')).toBe(CS_RSTOS0);
    expect(connStateCode(EP_RESET, EP_INACTIVE, 0, 0, 'SaR')).toBe(CS_RSTOS0);
    expect(connStateCode(EP_RESET, EP_PARTIAL, 0, 0, 'SaFR')).toBe(CS_OTH);
    expect(connStateCode(EP_CLOSED, EP_CLOSED, 1, 1, 'ShADFf')).toBe(CS_SF);
    expect(connStateCode(EP_CLOSED, EP_INACTIVE, 0, 0, 'SF')).toBe(CS_SH);
    expect(connStateCode(EP_INACTIVE, EP_CLOSED, 0, 0, '^hf')).toBe(CS_SHR);
    expect(connStateCode(EP_SYN_SENT, EP_INACTIVE, 0, 0, 'S')).toBe(CS_S0);
    expect(connStateCode(EP_ESTABLISHED, EP_ESTABLISHED, 0, 0, 'ShA')).toBe(CS_S1);
    expect(connStateCode(EP_SYN_ACK_SENT, EP_INACTIVE, 0, 0, 'H')).toBe(CS_OTH);
  });
});

describe('FlowTracker: conn_state and history like Zeek', () => {
  it('graceful close: SF with ShADadFf and Zeek byte counts', () => {
    const tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:80')
      .handshake()
      .data('o', 100)
      .ack('r')
      .data('r', 500)
      .ack('o')
      .fin('o')
      .fin('r')
      .ack('o');
    const r = one(tr.columns());
    expect(r.conn_state).toBe('SF');
    expect(r.history).toBe('ShADadFf');
    expect(r.orig_bytes).toBe(100);
    expect(r.resp_bytes).toBe(500);
    expect(r.orig_pkts).toBe(6);
    expect(r.resp_pkts).toBe(4);
    expect(r['id.orig_h']).toBe('10.0.0.1');
    expect(r['id.resp_p']).toBe(80);
    expect(r.community_id).toMatch(/^1:/);
    expect(r.uid).toMatch(/^C[0-9A-Za-z]{17}$/);
  });

  it('REJ for a SYN answered by RST+ACK', () => {
    const tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:81').syn().rst('r', { seq: 0 });
    const r = one(tr.columns());
    expect([r.conn_state, r.history]).toEqual(['REJ', 'Sr']);
  });

  it('S0 for an unanswered SYN, with one S for a same-seq retransmission', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80');
    c.syn().send('o', 'S', { seq: 1000, advance: false });
    const r = one(tr.columns());
    expect([r.conn_state, r.history]).toEqual(['S0', 'S']);
  });

  it('the four conn_state-RST-behavior traces of Zeek', () => {
    // single RST
    let tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:5555').send('o', 'R', { seq: 7 });
    let r = one(tr.columns());
    expect([r.history, r.conn_state]).toEqual(['R', 'OTH']);
    // SYN then RST
    tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:5555').syn().rst('o', { ack: false });
    r = one(tr.columns());
    expect([r.history, r.conn_state]).toEqual(['SR', 'RSTOS0']);
    // SYN, ack from the responder, RST
    tr = new Trace();
    let c = tr.conn('10.0.0.1:40000', '10.0.0.2:5555').syn();
    c.send('r', 'A', { seq: 5, ack: 1001 }).rst('o', { ack: false });
    r = one(tr.columns());
    expect([r.history, r.conn_state]).toEqual(['SaR', 'RSTOS0']);
    // SYN, ack, FIN, RST
    tr = new Trace();
    c = tr.conn('10.0.0.1:40000', '10.0.0.2:5555').syn();
    c.send('r', 'A', { seq: 5, ack: 1001 }).send('o', 'FA', { ack: 5 }).rst('o', { ack: false });
    r = one(tr.columns());
    expect([r.history, r.conn_state]).toEqual(['SaFR', 'OTH']);
  });

  it('flips a flow first seen from a likely server port (^h)', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80');
    c.synAck().ack('o').data('o', 10).data('r', 20);
    const r = one(tr.columns());
    expect(r['id.orig_p']).toBe(40000);
    expect(r['id.resp_p']).toBe(80);
    expect(r.history.startsWith('^h')).toBe(true);
  });

  it('RSTR after data, responder RST wins', () => {
    const tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake().data('o', 10).ack('r').rst('r').rst('o');
    const r = one(tr.columns());
    expect(r.conn_state).toBe('RSTR');
    expect(r.history).toBe('ShADarR');
    expect(r.rst_count).toBe(2);
  });

  it('retransmissions (T), zero windows (W) and their logarithmic repetition', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake().data('o', 100);
    for (let k = 0; k < 10; k++) c.retransmit('o', 100);
    c.send('r', 'A', { win: 0 });
    const r = one(tr.columns());
    expect(r.history).toBe('ShADTTaw');
  });

  it('FIN+RST is I, SYN+FIN is Q (once per direction)', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake();
    c.send('o', 'FRA').send('o', 'FRA');
    let r = one(tr.columns());
    expect(r.history).toBe('ShAI');
    const tr2 = new Trace();
    tr2.conn('10.0.0.1:40001', '10.0.0.2:80').send('o', 'SF', { seq: 1 }).send('o', 'SF', { seq: 1 });
    r = one(tr2.columns());
    expect(r.history).toBe('Q');
  });

  it('a forged RST with a wild sequence number does not move sequence state', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake().data('r', 1000);
    c.rst('r', { seq: 123456789, ack: false, ttl: 40 });
    c.data('r', 1000);
    const { records, t } = track(tr.columns());
    expect(records[0]!.resp_bytes).toBe(1000);
    expect(t.active).toBe(0);
  });

  it('a new SYN on a closed tuple starts a new flow and remembers TIME_WAIT reuse', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake().data('o', 10).fin('o').fin('r').ack('o');
    c.nxt.o = 50000;
    c.syn();
    const { records, t } = track(tr.columns());
    expect(records.map((r) => r.conn_state)).toEqual(['SF', 'S0']);
    void t;
  });

  it('closed flows leave after the close delay; the next packet makes a new flow', () => {
    const tr = new Trace();
    const c = tr.conn('10.0.0.1:2035', '10.0.0.2:8080');
    c.send('o', 'R', { seq: 1 });
    tr.wait(CLOSE_DELAY_US + 1);
    c.send('o', 'R', { seq: 1 });
    const { records } = track(tr.columns());
    expect(records.map((r) => `${r.conn_state} ${r.history}`)).toEqual(['OTH R', 'OTH R']);
  });
});

describe('FlowTracker: table bounds', () => {
  it('never holds more than maxFlows and evicts the idlest', () => {
    const pkts = [];
    for (let k = 0; k < 200; k++) {
      pkts.push({
        tsUs: 1e15 + k * 1000,
        src: `10.0.${k >> 8}.${k & 255}:1234`,
        dst: '10.9.9.9:80',
        flags: 'S',
        seq: k,
      });
    }
    const cols = buildColumns(pkts);
    const t = FlowTracker.create({ ...CFG, maxFlows: 16 });
    const reasons: number[] = [];
    t.listener = { flowEnded: (_f, reason) => reasons.push(reason), historyOverflow() {} };
    const s = t.sensorOrdinal('x');
    for (let i = 0; i < cols.length; i++) {
      const f = t.locate(cols, i, s);
      t.update(f, cols, i);
      expect(t.active).toBeLessThanOrEqual(16);
    }
    expect(reasons.length).toBe(200 - 16);
    expect(reasons.every((r) => r === END_EVICTED)).toBe(true);
    // every flow is still found after deletions shuffled the index
    for (let i = 184; i < 200; i++) {
      const before = t.createdTotal;
      t.locate(cols, i, s);
      expect(t.createdTotal).toBe(before);
    }
  });

  it('finds every live flow through churn in one long index cluster (displacements past 255)', () => {
    // Keys whose home bucket is among the first 8 of the index: a full table of them is one cluster of
    // 320 entries, so deletions shift entries whose displacement does not fit its byte.
    const maxFlows = 320;
    const idxSize = Math.ceil(maxFlows * 1.25) + 1;
    const probe = HeaderColumns.allocate(1);
    const keys: string[] = [];
    for (let k = 0; keys.length < 700 && k < 200_000; k++) {
      probe.length = 0;
      const src = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}:${1024 + (k % 50_000)}`;
      appendPacket(probe, { tsUs: 0, src, dst: '10.9.9.9:80', flags: 'S' });
      if (bucketOf(flowHash(probe, 0, 0), idxSize) < 8) keys.push(src);
    }
    expect(keys.length).toBe(700);
    const t = FlowTracker.create({ ...CFG, maxFlows });
    const ended = new Set<string>();
    t.listener = {
      flowEnded: (f) => ended.add(`${formatAddr(t.addr, t.origAddrAt(f))}:${t.origPort(f)}`),
      historyOverflow() {},
    };
    const s = t.sensorOrdinal('');
    const live = new Set<string>();
    let ts = 1e15;
    let rnd = 12345;
    const touch = (src: string) => {
      ts += 1000;
      const cols = buildColumns([{ tsUs: ts, src, dst: '10.9.9.9:80', flags: 'S', seq: 1 }]);
      const before = t.createdTotal;
      t.update(t.locate(cols, 0, s), cols, 0);
      // A live flow is found (not created again); an ended one is created anew.
      expect(t.createdTotal - before, src).toBe(live.has(src) ? 0 : 1);
      live.add(src);
      for (const e of ended) live.delete(e);
      ended.clear();
    };
    for (const src of keys.slice(0, maxFlows)) touch(src);
    expect(t.active).toBe(maxFlows);
    for (let n = 0; n < 3000; n++) {
      rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
      touch(keys[rnd % keys.length]!);
    }
    expect(t.active).toBe(live.size);
    for (const src of live) touch(src);
  });

  it('reports bytes per flow within the 256-byte budget at the default sizes', () => {
    const bpf = FlowTracker.bytesPerFlow({
      maxFlows: 262144,
      flowIdleExpiryS: 300,
      timeWaitS: 60,
      maxHosts: 65536,
    });
    expect(bpf).toBeLessThanOrEqual(256);
    expect(bpf).toBeGreaterThan(64);
  });

  it('builds a table past 2 GiB of shared memory: the largest maxFlows the configuration allows', () => {
    // 16,777,216 flows: ~3.8 GB of shared memory, committed only where touched. Byte sizes computed with
    // 32-bit bit operations went negative past 2 GiB ("Invalid array buffer length" from ~9.5M flows).
    const cfg = { maxFlows: 16_777_216, flowIdleExpiryS: 300, timeWaitS: 60, maxHosts: 65536 };
    const bpf = FlowTracker.bytesPerFlow(cfg);
    expect(bpf).toBeGreaterThan(200);
    expect(bpf).toBeLessThanOrEqual(256);
    const t = FlowTracker.create(cfg);
    expect(t.shared.flows.buffer.byteLength).toBeGreaterThan(2 ** 31);
    // The next flow takes the top of the free list (slot 0): swap in the last slot, whose record bytes
    // sit past 2^31, so the per-packet offsets are exercised there.
    const free = (t as unknown as { free: Int32Array }).free;
    free[cfg.maxFlows - 1] = cfg.maxFlows - 1;
    free[0] = 0;
    const tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake().data('o', 100).rst('r');
    const cols = tr.columns();
    const s = t.sensorOrdinal('s');
    let f = -1;
    for (let i = 0; i < cols.length; i++) {
      f = t.locate(cols, i, s);
      t.update(f, cols, i);
    }
    expect(t.active).toBe(1);
    expect(f).toBe(cfg.maxFlows - 1);
    const r = buildFlowRecord(t, f);
    expect([r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p'], r.history, r.conn_state]).toEqual(
      ['10.0.0.1', 40000, '10.0.0.2', 80, 'ShADr', 'RSTR'],
    );
  });

  it('prepare (WebAssembly) gives every header the hash flowHash gives it, over chunks and any range', () => {
    // 300 headers of random addresses and ports: a range across three 128-header chunks, the last partial.
    const c = HeaderColumns.allocate(400);
    let x = 12345;
    const rnd = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x;
    };
    for (let i = 0; i < 400; i++) {
      for (let k = 0; k < 4; k++) {
        c.srcAddr32[i * 4 + k] = rnd();
        c.dstAddr32[i * 4 + k] = rnd();
      }
      c.srcPort[i] = rnd() & 0xffff;
      c.dstPort[i] = rnd() & 0xffff;
      c.length = i + 1;
    }
    const t = FlowTracker.create(CFG);
    for (const [sensor, from, to] of [
      [0, 0, 300],
      [7, 13, 400],
      [255, 399, 400],
    ] as const) {
      t.prepare(c, sensor, from, to);
      for (let i = from; i < to; i++) expect(t.batchHashes[i]).toBe(flowHash(c, i, sensor));
    }
  });

  it('attach sees the same memory', () => {
    const tr = new Trace();
    tr.conn('10.0.0.1:40000', '10.0.0.2:80').handshake();
    const cols = tr.columns();
    const a = FlowTracker.create(CFG);
    const s = a.sensorOrdinal('s');
    for (let i = 0; i < cols.length; i++) a.update(a.locate(cols, i, s), cols, i);
    const b = FlowTracker.attach(a.shared);
    expect(b.active).toBe(1);
    expect(b.sensorName(0)).toBe('s');
    const f = b.locate(cols, 0, 0);
    expect(b.created).toBe(false);
    expect(b.history(f)).toBe('ShA');
  });
});
