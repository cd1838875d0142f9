import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { availableCompressions, loadCodec } from './codecs.js';

const require = createRequire(import.meta.url);

// Compressible but not trivial: repeated records with a counter, like header batches.
function sample(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i % 64) + ((i >> 9) & 7);
  return b;
}

describe('codecs', () => {
  it('offers gzip plus snappy, lz4 and zstd on this platform', async () => {
    expect(await availableCompressions()).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
  });

  it.each(['snappy', 'lz4', 'zstd'] as const)('%s round-trips and compresses', async (name) => {
    const codec = await loadCodec(name);
    if (codec instanceof Error) throw codec;
    for (const size of [0, 1, 1000, 300_000]) {
      const input = sample(size);
      const packed = await codec.compress({ buffer: input });
      if (size >= 1000) expect(packed.length).toBeLessThan(input.length / 2);
      expect(Buffer.compare(await codec.decompress(packed), input)).toBe(0);
    }
  });

  it('snappy reads the xerial framing written by the Java client', async () => {
    const codec = await loadCodec('snappy');
    if (codec instanceof Error) throw codec;
    const snappy = require('snappy') as { compressSync(b: Buffer): Buffer };
    const a = sample(5000);
    const b = Buffer.from('second block');
    const block = (x: Buffer) => {
      const c = snappy.compressSync(x);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(c.length);
      return [len, c];
    };
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const framed = Buffer.concat([header, ...block(a), ...block(b)]);
    expect(Buffer.compare(await codec.decompress(framed), Buffer.concat([a, b]))).toBe(0);
    await expect(codec.decompress(framed.subarray(0, framed.length - 3))).rejects.toThrow('truncated');
  });

  it('zstd decompresses frames without a content size (streaming writers)', async () => {
    const codec = await loadCodec('zstd');
    if (codec instanceof Error) throw codec;
    // Frame header without the content-size field (descriptor 0x00, window byte 0x00), one raw last
    // block of 10 bytes (block header 0x000051, little endian).
    const fixed = Buffer.from([
      0x28,
      0xb5,
      0x2f,
      0xfd,
      0x00,
      0x00,
      0x51,
      0x00,
      0x00,
      ...Buffer.from('hello zstd'),
    ]);
    expect((await codec.decompress(fixed)).toString()).toBe('hello zstd');
  });
});
