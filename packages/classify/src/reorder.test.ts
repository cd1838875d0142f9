// Sensor realities (issue 13): causal order across batch boundaries. A packet whose reorder window reaches
// past the end of its batch (a RST stamped a few microseconds before the SYN it answers, by another tap)
// waits for the next batch, in the engine's shared memory, so the verdict does not depend on where the
// agent cut its Kafka messages, nor on which worker thread runs the next batch.
import { HeaderColumns, type RstEvent } from '@rstwatch/core';
import { buildColumns, type PacketSpec, Trace } from '@rstwatch/flow/testing';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';

const SMALL = { maxFlows: 4096, maxHosts: 1024 };

/** Rows [from, to) of `cols` as a batch of their own. */
function slice(cols: HeaderColumns, from: number, to: number): HeaderColumns {
  const out = HeaderColumns.allocate(Math.max(1, to - from));
  out.gatherFrom(
    cols,
    Int32Array.from({ length: cols.length }, (_, i) => i),
    from,
    to,
  );
  return out;
}

/** A host probing closed ports; the server's answer to the last probe is stamped 20 µs before that SYN. */
function probes(): { cols: HeaderColumns; cut: number } {
  const tr = new Trace({ stepUs: 20 });
  // An open port first: the server's TTL baseline.
  tr.conn('10.1.0.5:40000', '10.2.0.9:22').syn().synAck().ack('o').rst('o');
  tr.wait(1_000_000);
  tr.conn('10.1.0.5:40001', '10.2.0.9:23').syn().rst('r', { seq: 0 });
  tr.wait(1_000_000);
  const c = tr.conn('10.1.0.5:40002', '10.2.0.9:25');
  const answer = { seq: 0, ackNo: (c.nxt.o + 1) >>> 0 };
  c.rst('r', answer); // stamped first (the other tap's clock)
  const cut = tr.packets.length; // the batch ends with the RST
  c.syn();
  tr.wait(1_000_000);
  tr.conn('10.1.0.5:40003', '10.2.0.9:22').syn().synAck().ack('o');
  return { cols: tr.columns(), cut };
}

function verdicts(events: readonly RstEvent[]): string[] {
  return events.map((e) => `${e.dst_port}<${e.src_port} ${e.cause}/${e.origin}`);
}

describe('causal order across batches', () => {
  it('a RST ending one batch waits for the SYN that opens the next (closed_port, reordered)', () => {
    const { cols, cut } = probes();
    const whole = Engine.create(SMALL);
    const one = [...whole.processBatch(cols, 's').events, ...whole.finish().events];

    const split = Engine.create(SMALL);
    const two = [
      ...split.processBatch(slice(cols, 0, cut), 's').events,
      ...split.processBatch(slice(cols, cut, cols.length), 's').events,
      ...split.finish().events,
    ];
    expect(verdicts(two)).toEqual(verdicts(one));
    const last = two.find((e) => e.dst_port === 40002)!;
    expect([last.cause, last.origin]).toEqual(['closed_port', 'endpoint']);
    expect(last.evidence).toContain('reordered');
  });

  it('the next batch may run on another thread: the carried headers are in shared memory', () => {
    const { cols, cut } = probes();
    const first = Engine.create(SMALL);
    const events = [...first.processBatch(slice(cols, 0, cut), 's').events];
    const other = Engine.attach(first.shared);
    events.push(...other.processBatch(slice(cols, cut, cols.length), 's').events, ...other.finish().events);
    const e = events.find((x) => x.dst_port === 40002)!;
    expect([e.cause, e.origin]).toEqual(['closed_port', 'endpoint']);
    expect(e.evidence).toContain('reordered');
  });

  it('a carried RST whose cause never comes is classified when time passes its window, or at the end', () => {
    const { cols, cut } = probes();
    const e1 = Engine.create(SMALL);
    const out = [...e1.processBatch(slice(cols, 0, cut), 's').events];
    // The partition goes quiet: time moves past the window (and the hold), the RST is released alone.
    const t = cols.tsUs[cut - 1]! + 5_000_000;
    out.push(...e1.advanceTime(t).events);
    const e = out.find((x) => x.dst_port === 40002);
    // Without its SYN: the probing host's earlier SYNs to this server say the SYN was lost.
    expect([e?.cause, e?.evidence.includes('inferred_syn')]).toEqual(['closed_port', true]);
    expect(e?.evidence).not.toContain('reordered');
    // At the end of the input nothing waits either.
    const e2 = Engine.create(SMALL);
    const end = [...e2.processBatch(slice(cols, 0, cut), 's').events, ...e2.finish().events];
    expect(end.map((x) => x.dst_port)).toContain(40002);
  });

  it('a batch of another sensor does not wait: the carried headers run first, alone', () => {
    const { cols, cut } = probes();
    const e1 = Engine.create(SMALL);
    const out = [...e1.processBatch(slice(cols, 0, cut), 'tap-a').events];
    out.push(...e1.processBatch(slice(cols, cut, cols.length), 'tap-b').events, ...e1.finish().events);
    const rst = out.filter((x) => x.dst_port === 40002);
    expect(rst).toHaveLength(1);
    expect(rst[0]!.sensor).toBe('tap-a');
  });

  it('the window is searched past other traffic of the same ports, and ends at a header stamped after it', () => {
    // A closed-port answer stamped 101 µs before the SYN it answers, 100 other headers between them:
    // SYNs from other hosts on the same port pair (one lookahead chain) and on other ports (skipped).
    const t0 = 1.7e15;
    const client = '10.1.0.5:40002';
    const server = '10.2.0.9:25';
    const run = (spikeAt: number) => {
      const pkts: PacketSpec[] = [
        { tsUs: t0, src: '10.1.0.5:40000', dst: '10.2.0.9:22', flags: 'S', seq: 1000 },
        { tsUs: t0 + 20, src: '10.2.0.9:22', dst: '10.1.0.5:40000', flags: 'SA', seq: 5000, ack: 1001 },
        { tsUs: t0 + 40, src: '10.1.0.5:40000', dst: '10.2.0.9:22', flags: 'A', seq: 1001, ack: 5001 },
      ];
      const t1 = t0 + 1_000_000;
      pkts.push({ tsUs: t1, src: server, dst: client, flags: 'RA', seq: 0, ack: 7001 });
      for (let k = 1; k <= 100; k++) {
        const src = k % 2 === 0 ? `10.3.0.${k}:40002` : `10.4.0.${k}:${30000 + k}`;
        // One header stamped past the window (lim = t1 + 200 µs) when `spikeAt` names it.
        pkts.push({ tsUs: k === spikeAt ? t1 + 1000 : t1 + k, src, dst: server, flags: 'S', seq: k });
      }
      pkts.push({ tsUs: t1 + 101, src: client, dst: server, flags: 'S', seq: 7000 });
      const e = Engine.create(SMALL);
      const out = [...e.processBatch(buildColumns(pkts), 's').events, ...e.finish().events];
      const rst = out.filter((x) => x.dst_port === 40002 && x.src_port === 25);
      expect(rst).toHaveLength(1);
      return rst[0]!;
    };
    const waited = run(-1);
    expect([waited.cause, waited.origin]).toEqual(['closed_port', 'endpoint']);
    expect(waited.evidence).toContain('reordered');
    // A header after the window ends it there: the RST does not wait for a SYN beyond it.
    expect(run(70).evidence).not.toContain('reordered');
    expect(run(99).evidence).not.toContain('reordered');
  });
});
