import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAUSES, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '@rstwatch/core';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTrace, type TraceOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'tracegen-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Frame {
  tsUs: number;
  caplen: number;
  origlen: number;
  vlan: number;
  ipVersion: number;
  ttl: number;
  ipId: number;
  flags: number;
  seq: number;
  ack: number;
  payloadLen: number;
  /** TCP option kinds present. */
  opts: number[];
  srcPort: number;
  dstPort: number;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invalid pcap: ${what}`);
}

/** Independent pcap reader for the tests: checks framing and IPv4 checksums as it goes. */
function readPcap(buf: Buffer): { snaplen: number; linktype: number; frames: Frame[]; badChecksums: number } {
  check(buf.readUInt32LE(0) === 0xa1b2c3d4, 'magic');
  check(buf.readUInt16LE(4) === 2, 'version major');
  check(buf.readUInt16LE(6) === 4, 'version minor');
  const snaplen = buf.readUInt32LE(16);
  const linktype = buf.readUInt32LE(20);
  const frames: Frame[] = [];
  let badChecksums = 0;
  let o = 24;
  while (o < buf.length) {
    check(o + 16 <= buf.length, 'truncated record header');
    const tsUs = buf.readUInt32LE(o) * 1e6 + buf.readUInt32LE(o + 4);
    check(buf.readUInt32LE(o + 4) < 1e6, 'usec >= 1e6');
    const caplen = buf.readUInt32LE(o + 8);
    const origlen = buf.readUInt32LE(o + 12);
    const p = o + 16;
    o = p + caplen;
    check(o <= buf.length, 'truncated record');
    let e = p + 12;
    let ethertype = buf.readUInt16BE(e);
    let vlan = 0;
    if (ethertype === 0x8100) {
      vlan = buf.readUInt16BE(e + 2) & 0x0fff;
      e += 4;
      ethertype = buf.readUInt16BE(e);
    }
    const ip = e + 2;
    const l2 = ip - p;
    let ipLen: number;
    let ipHl: number;
    let ttl: number;
    let ipId = 0;
    let ipVersion: number;
    if (ethertype === 0x0800) {
      ipVersion = 4;
      check(buf[ip] === 0x45, 'IPv4 version/IHL');
      ipHl = 20;
      ipLen = buf.readUInt16BE(ip + 2);
      ipId = buf.readUInt16BE(ip + 4);
      ttl = buf[ip + 8]!;
      check(buf[ip + 9] === 6, 'IPv4 protocol');
      let s = 0;
      for (let k = 0; k < 20; k += 2) s += buf.readUInt16BE(ip + k);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      if (s !== 0xffff) badChecksums++;
    } else {
      check(ethertype === 0x86dd, `ethertype ${ethertype}`);
      ipVersion = 6;
      check(buf[ip]! >> 4 === 6, 'IPv6 version');
      ipHl = 40;
      ipLen = 40 + buf.readUInt16BE(ip + 4);
      check(buf[ip + 6] === 6, 'IPv6 next header');
      ttl = buf[ip + 7]!;
    }
    check(l2 + ipLen === origlen, `frame ${frames.length + 1}: IP length does not match origlen`);
    const t = ip + ipHl;
    const thl = (buf[t + 12]! >> 4) * 4;
    check(thl >= 20, 'TCP header length');
    const opts: number[] = [];
    for (let k = t + 20; k < t + thl; ) {
      const kind = buf[k]!;
      opts.push(kind);
      if (kind === 0) break;
      if (kind === 1) k++;
      else {
        check(buf[k + 1]! >= 2, 'TCP option length');
        k += buf[k + 1]!;
      }
    }
    frames.push({
      tsUs,
      caplen,
      origlen,
      vlan,
      ipVersion,
      ttl,
      ipId,
      flags: ((buf[t + 12]! & 1) << 8) | buf[t + 13]!,
      seq: buf.readUInt32BE(t + 4),
      ack: buf.readUInt32BE(t + 8),
      payloadLen: ipLen - ipHl - thl,
      opts,
      srcPort: buf.readUInt16BE(t),
      dstPort: buf.readUInt16BE(t + 2),
    });
  }
  check(o === buf.length, 'trailing bytes');
  return { snaplen, linktype, frames, badChecksums };
}

async function gen(name: string, opts: Omit<TraceOptions, 'out'>) {
  const out = join(dir, name);
  const summary = await generateTrace({ out, ...opts });
  return { out, summary, buf: readFileSync(out) };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('generateTrace', () => {
  it('writes a valid pcap whose records match the summary', async () => {
    const { out, summary, buf } = await gen('a.pcap', { packets: 60_000, seed: 11, concurrentFlows: 800 });
    const { snaplen, linktype, frames, badChecksums } = readPcap(buf);
    expect(snaplen).toBe(262144);
    expect(linktype).toBe(1);
    expect(frames.length).toBe(60_000);
    expect(summary.packets).toBe(60_000);
    expect(summary.bytes).toBe(statSync(out).size);
    expect(badChecksums).toBe(0);

    let prev = 0;
    let rsts = 0;
    let wire = 0;
    let v6 = 0;
    let tagged = 0;
    const problems: string[] = [];
    frames.forEach((f, i) => {
      if (f.tsUs < prev) problems.push(`frame ${i + 1}: timestamp goes backwards`);
      prev = f.tsUs;
      wire += f.origlen;
      if (f.ipVersion === 6) v6++;
      if (f.vlan !== 0) tagged++;
      if (f.caplen > f.origlen) problems.push(`frame ${i + 1}: caplen > origlen`);
      const rst = (f.flags & TCP_RST) !== 0;
      if (rst) rsts++;
      if (rst && f.payloadLen > 0) {
        if (f.caplen !== f.origlen) problems.push(`frame ${i + 1}: RST payload truncated`);
      } else if (f.caplen > 128) problems.push(`frame ${i + 1}: caplen ${f.caplen} > snaplen`);
      if (f.flags & TCP_SYN && !f.opts.includes(2)) problems.push(`frame ${i + 1}: SYN without MSS`);
    });
    expect(problems).toEqual([]);
    expect(frames[0]!.tsUs).toBe(summary.firstTsUs);
    expect(prev).toBe(summary.lastTsUs);
    expect(rsts).toBe(summary.rsts);
    expect(rsts).toBeGreaterThan(0);
    expect(Object.values(summary.byCause).reduce((a, b) => a + b, 0)).toBe(rsts);
    expect(wire).toBe(summary.wireBytes);
    // The configured mix: ~20% IPv6, some VLAN tags, truncated data segments.
    expect(v6 / frames.length).toBeGreaterThan(0.1);
    expect(v6 / frames.length).toBeLessThan(0.3);
    expect(tagged).toBeGreaterThan(0);
    expect(frames.some((f) => f.caplen < f.origlen)).toBe(true);
    // Timestamps option on the SYNs of stacks that negotiate it, NOP-NOP-TS on later segments.
    expect(
      frames.some(
        (f) => f.flags === TCP_SYN && f.opts.includes(8) && f.opts.includes(4) && f.opts.includes(3),
      ),
    ).toBe(true);
    expect(frames.some((f) => f.flags === TCP_ACK && f.opts.join() === '1,1,8')).toBe(true);
    expect(frames.some((f) => f.flags & TCP_FIN)).toBe(true);
  });

  it('is deterministic: same seed, same bytes; another seed, other bytes', async () => {
    const o = { packets: 20_000, concurrentFlows: 300 };
    const a = await gen('d1.pcap', { ...o, seed: 5 });
    const b = await gen('d2.pcap', { ...o, seed: 5, chunkBytes: 65_536 });
    const c = await gen('d3.pcap', { ...o, seed: 6 });
    expect(sha(a.buf)).toBe(sha(b.buf));
    expect(a.summary).toEqual(b.summary);
    expect(sha(a.buf)).not.toBe(sha(c.buf));
  });

  it('produces RSTs of every cause, each with its wire look, and a ground-truth file', async () => {
    const labelsOut = join(dir, 'all.labels.ndjson');
    // Few concurrent flows: the trace spans long enough for idle timeouts (> 120 s) to fire.
    const { summary, buf } = await gen('all.pcap', {
      packets: 150_000,
      seed: 2,
      concurrentFlows: 4,
      labelsOut,
    });
    const { frames } = readPcap(buf);
    expect((summary.lastTsUs - summary.firstTsUs) / 1e6).toBeGreaterThan(130);
    for (const cause of CAUSES) {
      if (cause === 'other') expect(summary.byCause[cause]).toBeUndefined();
      else expect(summary.byCause[cause], cause).toBeGreaterThan(0);
    }
    const labels = readFileSync(labelsOut, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { frame: number; cause: string });
    expect(labels.length).toBe(summary.rsts);
    const count: Record<string, number> = {};
    for (const { frame, cause } of labels) {
      const f = frames[frame - 1]!;
      expect(f.flags & TCP_RST).toBe(TCP_RST);
      count[cause] = (count[cause] ?? 0) + 1;
    }
    expect(count).toEqual(summary.byCause);
    const of = (cause: string) => labels.filter((l) => l.cause === cause).map((l) => frames[l.frame - 1]!);
    // closed port: RST+ACK with seq 0.
    for (const f of of('closed_port')) {
      expect(f.flags).toBe(TCP_RST | TCP_ACK);
      expect(f.seq).toBe(0);
    }
    // stale connection: bare RST, no ACK flag.
    for (const f of of('stale_connection')) expect(f.flags).toBe(TCP_RST);
    // injected resets include one carrying a block page, kept whole.
    expect(of('injected_reset').some((f) => f.payloadLen > 0 && f.caplen === f.origlen)).toBe(true);
    // malformed SYN probes: a SYN with extra flags is in the trace.
    expect(frames.some((f) => f.flags & TCP_SYN && f.flags & (TCP_FIN | 0x20))).toBe(true);
  });

  it('honours snaplen and writes an empty capture for 0 packets', async () => {
    const full = await gen('full.pcap', { packets: 5_000, seed: 3, snaplen: 262_144, concurrentFlows: 100 });
    expect(readPcap(full.buf).frames.every((f) => f.caplen === f.origlen)).toBe(true);
    const empty = await gen('empty.pcap', { packets: 0 });
    expect(empty.buf.length).toBe(24);
    expect(empty.summary.packets).toBe(0);
  });

  it('rejects invalid options', async () => {
    await expect(generateTrace({ out: join(dir, 'x.pcap'), packets: -1 })).rejects.toThrow(/packets/);
    await expect(generateTrace({ out: join(dir, 'x.pcap'), packets: 10, ipv6Share: 2 })).rejects.toThrow(
      /ipv6Share/,
    );
  });
});

describe('connection-length mix and start ramp', () => {
  const base = { packets: 40_000, seed: 4, concurrentFlows: 500 };

  it('keeps the default output byte-identical (pinned digest) when mix and ramp are left out or default', async () => {
    // Digest of the file this generator wrote before the mix and ramp options existed.
    const plain = await gen('pin.pcap', { packets: 20_000, seed: 5, concurrentFlows: 300 });
    expect(sha(plain.buf)).toBe('5d3e5aab8d8169b2b7b6f53a2d842cea538bf00b049c2b8b0ecee1488d1f2724');
    const a = await gen('m-omit.pcap', base);
    const b = await gen('m-default.pcap', { ...base, mix: 'default', rampUs: 500 * 100 });
    expect(sha(a.buf)).toBe(sha(b.buf));
  });

  it('short, medium and long mixes change packets per connection, each deterministic', async () => {
    const perFlow: Record<string, number> = {};
    for (const mix of ['short', 'medium', 'default', 'long'] as const) {
      const a = await gen(`m-${mix}-1.pcap`, { ...base, mix });
      const b = await gen(`m-${mix}-2.pcap`, { ...base, mix, chunkBytes: 65_536 });
      expect(sha(a.buf), mix).toBe(sha(b.buf));
      const { frames, badChecksums } = readPcap(a.buf);
      expect(frames.length).toBe(base.packets);
      expect(badChecksums).toBe(0);
      perFlow[mix] = a.summary.packets / a.summary.flows;
    }
    expect(perFlow.short!).toBeGreaterThan(6);
    expect(perFlow.short!).toBeLessThan(13);
    expect(perFlow.medium!).toBeGreaterThan(perFlow.short!);
    expect(perFlow.default!).toBeGreaterThan(perFlow.medium!);
    expect(perFlow.long!).toBeGreaterThan(perFlow.default!);
  });

  it('a short ramp starts every concurrent connection early', async () => {
    const o = { packets: 30_000, seed: 8, concurrentFlows: 20_000, mix: 'short' as const };
    const slow = await gen('r-default.pcap', o);
    const fast = await gen('r-0.pcap', { ...o, rampUs: 1000 });
    // Default ramp (2 s) against 30k packets: few of the 20k connections start; 1 ms: nearly all do.
    expect(fast.summary.flows).toBeGreaterThan(12_000);
    expect(fast.summary.flows).toBeGreaterThan(2 * slow.summary.flows);
  });

  it('rejects an unknown mix and a negative ramp', async () => {
    await expect(
      generateTrace({ out: join(dir, 'x.pcap'), packets: 10, mix: 'huge' as unknown as 'short' }),
    ).rejects.toThrow(/mix must be one of short, medium, default, long/);
    await expect(generateTrace({ out: join(dir, 'x.pcap'), packets: 10, rampUs: -1 })).rejects.toThrow(
      /rampUs/,
    );
  });
});

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

describe.runIf(tshark)('tshark reads the trace', () => {
  it('counts the same packets and RSTs and finds nothing malformed', { timeout: 120_000 }, async () => {
    const { out, summary } = await gen('ts.pcap', { packets: 30_000, seed: 9, concurrentFlows: 400 });
    // One pass: columns are all frames, RST frames, malformed frames (frames and bytes each).
    const io = execFileSync(
      'tshark',
      ['-r', out, '-q', '-z', 'io,stat,0,frame,tcp.flags.reset==1,_ws.malformed'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const row = /<>\s*[\d.]+\s*\|\s*(\d+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|/.exec(io);
    expect(row, io).not.toBeNull();
    expect(Number(row![1])).toBe(30_000);
    expect(Number(row![2])).toBe(summary.rsts);
    expect(Number(row![3])).toBe(0);
  });
});
