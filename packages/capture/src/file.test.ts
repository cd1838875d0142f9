import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ethernet, ipv4, pcapFile, tcp } from '@rstwatch/packet/testing';
import { describe, expect, it } from 'vitest';
import { FileSource, parseReplaySpeed } from './file.js';

const dir = mkdtempSync(join(tmpdir(), 'capture-file-'));

/** `n` TCP packets `gapMs` apart. */
function trace(n: number, gapMs: number): string {
  const t0 = 1_700_000_000_000_000;
  const recs = Array.from({ length: n }, (_, i) => ({
    tsUs: t0 + i * gapMs * 1000,
    frame: ethernet(
      0x0800,
      ipv4({ src: '198.18.0.1', dst: '198.18.0.2' }, tcp({ sport: 1000, dport: 80, seq: i })),
    ),
  }));
  const p = join(dir, `t-${n}-${gapMs}.pcap`);
  writeFileSync(p, pcapFile(1, recs));
  return p;
}

async function replay(path: string, speed: string) {
  const src = new FileSource({ path, replaySpeed: speed });
  const arrivals: { seq: number; at: number }[] = [];
  const t0 = performance.now();
  await src.run((b) => {
    for (let i = 0; i < b.length; i++) arrivals.push({ seq: b.seq[i]!, at: performance.now() - t0 });
  }, new AbortController().signal);
  return { arrivals, elapsed: performance.now() - t0, src };
}

describe('FileSource', () => {
  it('parses replay speeds and rejects nonsense naming the allowed values', () => {
    expect(parseReplaySpeed('max')).toBe(0);
    expect(parseReplaySpeed('1x')).toBe(1);
    expect(parseReplaySpeed('0.5x')).toBe(0.5);
    expect(() => parseReplaySpeed('fast')).toThrow(/'max' or a factor/);
    expect(() => parseReplaySpeed('0x')).toThrow();
  });

  it('max: everything at once, in order, live=false (the agent blocks instead of dropping)', async () => {
    const { arrivals, elapsed, src } = await replay(trace(20, 100), 'max');
    expect(arrivals.map((a) => a.seq)).toEqual([...Array(20).keys()]);
    expect(elapsed).toBeLessThan(1000);
    expect(src.live).toBe(false);
    expect(src.parseStats().tcp).toBe(20);
  });

  it('10x: paced header by header on capture timestamps, live=true', async () => {
    const { arrivals, elapsed, src } = await replay(trace(11, 100), '10x');
    expect(src.live).toBe(true);
    expect(arrivals.map((a) => a.seq)).toEqual([...Array(11).keys()]);
    // 10 gaps of 100 ms at 10x = 100 ms total; each header no earlier than its time.
    expect(elapsed).toBeGreaterThanOrEqual(95);
    for (let i = 0; i < arrivals.length; i++) expect(arrivals[i]!.at).toBeGreaterThanOrEqual(i * 10 - 2);
  });

  it('a missing or non-capture file rejects naming the path', async () => {
    await expect(replay(join(dir, 'missing.pcap'), 'max')).rejects.toThrow(
      /cannot read capture file .*missing\.pcap/,
    );
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture at all');
    await expect(replay(junk, 'max')).rejects.toThrow(/not a pcap or pcapng capture/);
  });
});
