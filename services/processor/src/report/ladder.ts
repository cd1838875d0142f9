/**
 * Packets around the selected RSTs, for the report's ladder diagrams. `analyze` keeps no packets, so this
 * is a second, cheap pass over the capture (parsing only, no flow tracking): headers whose direction-free
 * flow hash matches a selected flow are compared by 4-tuple, and per selected RST the last `before`
 * packets of its flow and the `after` packets that follow it are kept. Memory: (before + after) packets
 * per selected RST, whatever the capture size.
 */
import {
  ADDR_BYTES,
  combineEndpoints,
  endpointHash,
  flowHash,
  formatAddr,
  formatFlags,
  formatTsUs,
  type HeaderColumns,
  parseAddr,
  TCP_RST,
} from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { endpointText, type SelectedRst } from './data.js';

/** One packet of a ladder. */
export interface LadderPacket {
  /** Microseconds relative to the RST (negative before it). */
  dtUs: number;
  /** Sent by the RST's sender (else by its receiver). */
  fromSender: boolean;
  /** tcpdump letters, e.g. `S.`, `P.`, `R`. */
  flags: string;
  seq: number;
  ack: number;
  /** TCP payload bytes. */
  len: number;
  ttl: number;
  /** IPv4 ID, null for IPv6. */
  ipId: number | null;
  win: number;
  /** This is the selected RST itself. */
  rst: boolean;
}

/** The packets around one selected RST; `found` is false when the second pass did not meet the RST. */
export interface Ladder {
  found: boolean;
  before: LadderPacket[];
  rst: LadderPacket | null;
  after: LadderPacket[];
}

export interface LadderLimits {
  /** Packets kept before each RST (default 12). */
  before: number;
  /** Packets kept after each RST (default 8). */
  after: number;
}

interface RawPacket {
  tsUs: number;
  src: string;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  ttl: number;
  ipId: number | null;
  win: number;
}

interface Target {
  id: string;
  ts: string;
  sender: string;
  seq: number;
  rstTsUs: number;
  before: RawPacket[];
  rst: RawPacket | null;
  after: RawPacket[];
}

interface FlowTrack {
  /** Both endpoints, sorted: the direction-free 4-tuple. */
  key: string;
  ring: RawPacket[];
  targets: Target[];
}

function flowKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Direction-free flow hash of two endpoints given as text (the same value `flowHash` gives a header). */
function hashOf(srcIp: string, srcPort: number, dstIp: string, dstPort: number): number {
  const buf = new Uint8Array(2 * ADDR_BYTES);
  parseAddr(srcIp, buf, 0);
  parseAddr(dstIp, buf, ADDR_BYTES);
  const w = new Uint32Array(buf.buffer);
  return combineEndpoints(endpointHash(w, 0, srcPort), endpointHash(w, 4, dstPort), 0);
}

/** Consumes header batches in capture order and keeps the packets around the selected RSTs. */
export class LadderCollector {
  private readonly flows = new Map<number, FlowTrack[]>();
  private readonly targets: Target[] = [];
  private readonly limits: LadderLimits;
  private open: number;

  constructor(selected: readonly SelectedRst[], limits: Partial<LadderLimits> = {}) {
    this.limits = { before: 12, after: 8, ...limits };
    for (const s of selected) {
      const e = s.event;
      const sender = endpointText(e.src_ip, e.src_port);
      const key = flowKey(sender, endpointText(e.dst_ip, e.dst_port));
      let h: number;
      try {
        h = hashOf(e.src_ip, e.src_port, e.dst_ip, e.dst_port);
      } catch {
        continue; // not an address this capture could hold
      }
      const t: Target = {
        id: s.id,
        ts: e.ts,
        sender,
        seq: e.seq,
        rstTsUs: 0,
        before: [],
        rst: null,
        after: [],
      };
      this.targets.push(t);
      const list = this.flows.get(h) ?? [];
      let track = list.find((f) => f.key === key);
      if (track === undefined) {
        track = { key, ring: [], targets: [] };
        list.push(track);
        this.flows.set(h, list);
      }
      track.targets.push(t);
    }
    this.open = this.targets.length;
  }

  /** True when every RST was met and has its `after` packets: the rest of the capture can be skipped. */
  get complete(): boolean {
    return this.open === 0;
  }

  push(c: HeaderColumns): void {
    const flows = this.flows;
    for (let i = 0; i < c.length; i++) {
      const list = flows.get(flowHash(c, i));
      if (list !== undefined) this.packet(c, i, list);
    }
  }

  private packet(c: HeaderColumns, i: number, list: FlowTrack[]): void {
    const o = i * ADDR_BYTES;
    const src = endpointText(formatAddr(c.srcAddr, o), c.srcPort[i]!);
    const key = flowKey(src, endpointText(formatAddr(c.dstAddr, o), c.dstPort[i]!));
    const track = list.find((f) => f.key === key);
    if (track === undefined) return;
    const p: RawPacket = {
      tsUs: c.tsUs[i]!,
      src,
      flags: c.flags[i]!,
      seq: c.seq[i]!,
      ack: c.ack[i]!,
      len: c.payloadLen[i]!,
      ttl: c.ttl[i]!,
      ipId: c.ipVersion[i] === 4 ? c.ipId[i]! : null,
      win: c.window[i]!,
    };
    for (const t of track.targets) {
      if (t.rst === null) {
        if (
          (p.flags & TCP_RST) !== 0 &&
          p.src === t.sender &&
          p.seq === t.seq &&
          formatTsUs(p.tsUs) === t.ts
        ) {
          t.rst = p;
          t.rstTsUs = p.tsUs;
          t.before = track.ring.slice();
          if (this.limits.after === 0) this.open--;
        }
      } else if (t.after.length < this.limits.after) {
        t.after.push(p);
        if (t.after.length === this.limits.after) this.open--;
      }
    }
    track.ring.push(p);
    if (track.ring.length > this.limits.before) track.ring.shift();
  }

  /** The ladders, by selected RST id. */
  ladders(): Map<string, Ladder> {
    const out = new Map<string, Ladder>();
    for (const t of this.targets) {
      const view = (p: RawPacket, rst = false): LadderPacket => ({
        dtUs: p.tsUs - t.rstTsUs,
        fromSender: p.src === t.sender,
        flags: formatFlags(p.flags),
        seq: p.seq,
        ack: p.ack,
        len: p.len,
        ttl: p.ttl,
        ipId: p.ipId,
        win: p.win,
        rst,
      });
      out.set(t.id, {
        found: t.rst !== null,
        before: t.before.map((p) => view(p)),
        rst: t.rst ? view(t.rst, true) : null,
        after: t.after.map((p) => view(p)),
      });
    }
    return out;
  }
}

/** Reads `file` once more and returns the ladders of `selected` (stops early once all are complete). */
export async function collectLadders(
  file: string,
  selected: readonly SelectedRst[],
  limits: Partial<LadderLimits> = {},
): Promise<Map<string, Ladder>> {
  const collector = new LadderCollector(selected, limits);
  if (selected.length === 0) return collector.ladders();
  const stop = new AbortController();
  try {
    await parseCaptureFile(file, {
      batchSize: 8192,
      signal: stop.signal,
      onBatch: (b) => {
        collector.push(b);
        if (collector.complete) stop.abort();
      },
    });
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
  return collector.ladders();
}
