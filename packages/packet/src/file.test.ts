import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCaptureFile, parseCaptureStream } from './file.js';
import { pcapFile, sampleTcpFrame } from './testing.js';
import { PcapWriter } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'rw-packet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeCapture(name: string, packets: number): string {
  const path = join(dir, name);
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter({ write: (c) => chunks.push(c.slice()), bufferSize: 65536 });
  for (let i = 0; i < packets; i++) w.writePacket(1_700_000_000_000_000 + i, sampleTcpFrame({ seq: i }));
  w.close();
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

describe('parseCaptureFile', () => {
  it('streams a file in small reads, in order, awaiting each batch', async () => {
    const path = writeCapture('a.pcap', 10_000);
    const seqs: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: number[] = [];
    const stats = await parseCaptureFile(path, {
      batchSize: 1000,
      highWaterMark: 7000,
      onBatch: async (b) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        for (let i = 0; i < b.length; i++) seqs.push(b.seq[i]!);
        inFlight--;
      },
      onProgress: (read, total) => progress.push(read / total),
    });
    expect(stats.tcp).toBe(10_000);
    expect(seqs).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(maxInFlight).toBe(1);
    expect(progress.at(-1)).toBe(1);
    expect(progress.length).toBeGreaterThan(10);
  });

  it('round-trips the PcapWriter, including a nanosecond file', async () => {
    const path = join(dir, 'ns.pcap');
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter({ write: (c) => chunks.push(c.slice()), nanosecond: true, linkType: 1 });
    w.writePacket(1_700_000_000_654_321, sampleTcpFrame({ seq: 77 }));
    w.close();
    writeFileSync(path, Buffer.concat(chunks));
    const ts: number[] = [];
    await parseCaptureFile(path, { onBatch: (b) => void ts.push(b.tsUs[0]!, b.seq[0]!) });
    expect(ts).toEqual([1_700_000_000_654_321, 77]);
  });

  it('rejects with the path for missing, empty, directory and non-capture files', async () => {
    const noop = () => {};
    await expect(parseCaptureFile(join(dir, 'nope.pcap'), { onBatch: noop })).rejects.toThrow(
      /cannot read capture file .*nope\.pcap/,
    );
    await expect(parseCaptureFile(dir, { onBatch: noop })).rejects.toThrow(/cannot read capture file/);
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    await expect(parseCaptureFile(empty, { onBatch: noop })).rejects.toThrow(/empty\.pcap is empty/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a capture file at all\n');
    await expect(parseCaptureFile(text, { onBatch: noop })).rejects.toThrow(
      /notes\.txt is not a pcap or pcapng/,
    );
    const tiny = join(dir, 'tiny.pcap');
    writeFileSync(tiny, Uint8Array.of(0xd4));
    await expect(parseCaptureFile(tiny, { onBatch: noop })).rejects.toThrow(/tiny\.pcap is not a pcap/);
  });

  it('returns counters for a truncated capture instead of failing', async () => {
    const full = pcapFile(1, [
      { tsUs: 1, frame: sampleTcpFrame() },
      { tsUs: 2, frame: sampleTcpFrame() },
    ]);
    const path = join(dir, 'cut.pcap');
    writeFileSync(path, full.subarray(0, full.length - 5));
    const stats = await parseCaptureFile(path, { onBatch: () => {} });
    expect(stats.tcp).toBe(1);
    expect(stats.drops.truncated_record).toBe(1);
  });

  it('stops when aborted and propagates onBatch errors', async () => {
    const path = writeCapture('b.pcap', 5000);
    const ac = new AbortController();
    let batches = 0;
    const p = parseCaptureFile(path, {
      batchSize: 100,
      highWaterMark: 4096,
      signal: ac.signal,
      onBatch: () => {
        if (++batches === 2) ac.abort(new Error('stop now'));
      },
    });
    await expect(p).rejects.toThrow('stop now');
    expect(batches).toBeLessThan(50);
    await expect(
      parseCaptureFile(path, {
        onBatch: async () => {
          throw new Error('sink failed');
        },
      }),
    ).rejects.toThrow('sink failed');
  });
});

describe('parseCaptureStream', () => {
  const noop = () => {};
  /** The bytes of `path` as a stream of odd-sized chunks (records split across chunks). */
  async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, Math.min(bytes.length, o + size));
  }

  it('parses a capture arriving in odd-sized chunks, in order, one batch in flight', async () => {
    const bytes = readFileSync(writeCapture('s.pcap', 5000));
    const seqs: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: number[] = [];
    const stats = await parseCaptureStream(chunked(bytes, 997), 'standard input', {
      batchSize: 700,
      onBatch: async (b) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 0));
        for (let i = 0; i < b.length; i++) seqs.push(b.seq[i]!);
        inFlight--;
      },
      onProgress: (read, total) => {
        expect(total).toBe(0);
        progress.push(read);
      },
    });
    expect(stats.tcp).toBe(5000);
    expect(seqs).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(maxInFlight).toBe(1);
    expect(progress.at(-1)).toBe(bytes.length);
  });

  it('names the input in errors: empty, not a capture, a failing source; stops the source early', async () => {
    await expect(
      parseCaptureStream(chunked(new Uint8Array(0), 10), 'stdin', { onBatch: noop }),
    ).rejects.toThrow('stdin is empty, not a pcap or pcapng capture');
    const garbage = new TextEncoder().encode('this is not a capture file at all\n'.repeat(10));
    let returned = false;
    async function* tracked(): AsyncGenerator<Uint8Array> {
      try {
        yield* chunked(garbage, 16);
      } finally {
        returned = true;
      }
    }
    await expect(parseCaptureStream(tracked(), 'stdin', { onBatch: noop })).rejects.toThrow(
      'stdin is not a pcap or pcapng capture (unknown magic number)',
    );
    expect(returned).toBe(true);
    const good = readFileSync(writeCapture('f.pcap', 10));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield good.subarray(0, 100);
      throw new Error('EPIPE');
    }
    await expect(parseCaptureStream(failing(), 'stdin', { onBatch: noop })).rejects.toThrow(
      'cannot read stdin: EPIPE',
    );
  });
});
