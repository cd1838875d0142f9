/**
 * Sensor degradations of a classic pcap, deterministic by seed (issue 13): what SPAN ports, lossy
 * sensors and two-tap captures with disagreeing clocks make of a clean capture.
 * - `dup`: every packet captured twice, the copy 0..20 µs after the original (SPAN);
 * - `loss`: a fraction of the non-RST packets dropped (RSTs kept, so the ground truth stays whole);
 * - `skew`: each link direction (one tap each) shifted by its own clock offset in [N/2, N] µs, one
 *   direction forwards and the other backwards (sign by seed), then re-sorted by time like a merge of
 *   the two taps' files.
 * Also a scorer: classification events matched to `*.expected.json` labels by packet identity (the
 * order of RSTs may change under skew).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type Degradation =
  | { kind: 'clean' }
  | { kind: 'dup'; maxGapUs?: number }
  | { kind: 'loss'; fraction: number }
  | { kind: 'skew'; us: number };

/** One captured packet of a classic pcap. */
export interface PcapPacket {
  /** Capture time in microseconds. */
  tsUs: number;
  data: Uint8Array;
  origLen: number;
}

export interface Pcap {
  linktype: number;
  snaplen: number;
  packets: PcapPacket[];
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function readPcap(buf: Uint8Array): Pcap {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const m = b.readUInt32LE(0);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const mb = b.readUInt32BE(0);
  if (!le && mb !== 0xa1b2c3d4 && mb !== 0xa1b23c4d) throw new Error('not a classic pcap');
  const nano = (le ? m : mb) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const packets: PcapPacket[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    const start = off + 16;
    packets.push({
      tsUs: sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac),
      data: new Uint8Array(b.subarray(start, start + incl)),
      origLen: orig,
    });
    off = start + incl;
  }
  return { linktype: u32(20), snaplen: u32(16), packets };
}

/** Little-endian microsecond pcap. */
export function writePcap(p: Pcap): Buffer {
  const total = 24 + p.packets.reduce((n, k) => n + 16 + k.data.length, 0);
  const b = Buffer.alloc(total);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(p.snaplen, 16);
  b.writeUInt32LE(p.linktype, 20);
  let off = 24;
  for (const k of p.packets) {
    const ts = Math.round(k.tsUs);
    b.writeUInt32LE(Math.floor(ts / 1e6), off);
    b.writeUInt32LE(ts % 1e6, off + 4);
    b.writeUInt32LE(k.data.length, off + 8);
    b.writeUInt32LE(k.origLen, off + 12);
    b.set(k.data, off + 16);
    off += 16 + k.data.length;
  }
  return b;
}

interface Ip {
  /** Source and destination address bytes, concatenated (tap direction). */
  src: Uint8Array;
  dst: Uint8Array;
  /** TCP flags, -1 when not TCP. */
  tcpFlags: number;
}

/** The IP addresses and TCP flags of a packet (Ethernet with VLANs, Linux cooked v1/v2, raw IP). */
export function ipOf(linktype: number, d: Uint8Array): Ip | undefined {
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  let l3 = 0;
  let et: number;
  if (linktype === 1) {
    et = b.readUInt16BE(12);
    l3 = 14;
    while (et === 0x8100 || et === 0x88a8) {
      et = b.readUInt16BE(l3 + 2);
      l3 += 4;
    }
  } else if (linktype === 113) {
    et = b.readUInt16BE(14);
    l3 = 16;
  } else if (linktype === 276) {
    et = b.readUInt16BE(0);
    l3 = 20;
  } else if (linktype === 101 || linktype === 12) et = b[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  else return undefined;
  if (et === 0x0800 && b.length >= l3 + 20) {
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const tcp = b[l3 + 9] === 6 && b.length >= l4 + 14;
    return {
      src: d.subarray(l3 + 12, l3 + 16),
      dst: d.subarray(l3 + 16, l3 + 20),
      tcpFlags: tcp ? b[l4 + 13]! : -1,
    };
  }
  if (et === 0x86dd && b.length >= l3 + 40) {
    const tcp = b[l3 + 6] === 6 && b.length >= l3 + 54;
    return {
      src: d.subarray(l3 + 8, l3 + 24),
      dst: d.subarray(l3 + 24, l3 + 40),
      tcpFlags: tcp ? b[l3 + 53]! : -1,
    };
  }
  return undefined;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
  return a.length - b.length;
}

/** Stable sort by capture time (a merge of per-tap files). */
function byTime(ps: PcapPacket[]): PcapPacket[] {
  return ps
    .map((p, k) => ({ p, k }))
    .sort((a, b) => a.p.tsUs - b.p.tsUs || a.k - b.k)
    .map((x) => x.p);
}

/** A degraded copy of `p` (the input is not modified). */
export function degrade(p: Pcap, how: Degradation, seed: number): Pcap {
  const rnd = prng(seed * 2654435761 + 1);
  const out = (packets: PcapPacket[]): Pcap => ({ linktype: p.linktype, snaplen: p.snaplen, packets });
  switch (how.kind) {
    case 'clean':
      return out(p.packets.slice());
    case 'dup': {
      const gap = how.maxGapUs ?? 20;
      const all: PcapPacket[] = [];
      for (const k of p.packets) {
        all.push(k, { ...k, tsUs: k.tsUs + Math.floor(rnd() * (gap + 1)) });
      }
      return out(byTime(all));
    }
    case 'loss': {
      const kept = p.packets.filter((k) => {
        const ip = ipOf(p.linktype, k.data);
        if (ip !== undefined && ip.tcpFlags >= 0 && (ip.tcpFlags & 0x04) !== 0) return true;
        return rnd() >= how.fraction;
      });
      return out(kept);
    }
    case 'skew': {
      const sign = rnd() < 0.5 ? -1 : 1;
      const off0 = sign * how.us * (0.5 + 0.5 * rnd());
      const off1 = -sign * how.us * (0.5 + 0.5 * rnd());
      const moved = p.packets.map((k) => {
        const ip = ipOf(p.linktype, k.data);
        const tap = ip === undefined ? 0 : compareBytes(ip.src, ip.dst) < 0 ? 0 : 1;
        return { ...k, tsUs: Math.max(0, Math.round(k.tsUs + (tap === 0 ? off0 : off1))) };
      });
      return out(byTime(moved));
    }
  }
}

/** Read, degrade and write a pcap file. */
export function degradeFile(input: string, output: string, how: Degradation, seed: number): void {
  writeFileSync(output, writePcap(degrade(readPcap(readFileSync(input)), how, seed)));
}

// ---------------------------------------------------------------------------------------------- scoring

/** A labelled RST of a scenario's `*.expected.json`. */
export interface Label {
  src: string;
  dst: string;
  seq: number;
  ack: number;
  flags: string;
  cause: string;
  origin: string;
  /** Other `cause/origin` verdicts that are right too; one of them scores as the label. */
  acceptable?: string[];
}

/** The fields of an RstEvent the scorer reads. */
export interface ScoredEvent {
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  seq: number;
  ack: number;
  flags: string;
  cause: string;
  origin: string;
}

export interface Score {
  labels: number;
  cause: number;
  origin: number;
  missed: number;
  extra: number;
  /** One line per wrong, missed or extra RST. */
  wrong: string[];
}

function canonIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (!bare.includes(':')) return bare;
  return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
}

function endpoint(ep: string): string {
  const i = ep.lastIndexOf(':');
  return `${canonIp(ep.slice(0, i))}:${ep.slice(i + 1)}`;
}

/** Match events to labels by packet (src, dst, seq, ack, flags), in order among identical packets. */
export function score(scenario: string, labels: readonly Label[], events: readonly ScoredEvent[]): Score {
  const pool = new Map<string, ScoredEvent[]>();
  for (const e of events) {
    const k = `${canonIp(e.src_ip)}:${e.src_port}>${canonIp(e.dst_ip)}:${e.dst_port} ${e.seq} ${e.ack} ${e.flags}`;
    const l = pool.get(k) ?? [];
    l.push(e);
    pool.set(k, l);
  }
  const s: Score = { labels: labels.length, cause: 0, origin: 0, missed: 0, extra: 0, wrong: [] };
  for (const l of labels) {
    const k = `${endpoint(l.src)}>${endpoint(l.dst)} ${l.seq} ${l.ack} ${l.flags}`;
    const e = pool.get(k)?.shift();
    if (e === undefined) {
      s.missed++;
      s.wrong.push(`${scenario}: ${k} MISSED (want ${l.cause}/${l.origin})`);
      continue;
    }
    const alt = l.acceptable?.includes(`${e.cause}/${e.origin}`) === true;
    if (alt || e.cause === l.cause) s.cause++;
    if (alt || e.origin === l.origin) s.origin++;
    if (!alt && (e.cause !== l.cause || e.origin !== l.origin))
      s.wrong.push(`${scenario}: ${k} got ${e.cause}/${e.origin} want ${l.cause}/${l.origin}`);
  }
  for (const [k, rest] of pool)
    for (const e of rest) {
      s.extra++;
      s.wrong.push(`${scenario}: ${k} EXTRA ${e.cause}/${e.origin}`);
    }
  return s;
}

/** Sum of scores. */
export function total(scores: readonly Score[]): Score {
  const t: Score = { labels: 0, cause: 0, origin: 0, missed: 0, extra: 0, wrong: [] };
  for (const s of scores) {
    t.labels += s.labels;
    t.cause += s.cause;
    t.origin += s.origin;
    t.missed += s.missed;
    t.extra += s.extra;
    t.wrong.push(...s.wrong);
  }
  return t;
}
