/** Stream a capture file from disk through a CaptureParser, with backpressure from async batch consumers. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { HeaderColumns } from '@rstwatch/core';
import { CaptureParser } from './internal/reader.js';
import type { ParseStats } from './stats.js';

export interface ParseCaptureFileOptions {
  /** Headers per batch (default 4096). */
  batchSize?: number;
  /** Receives each batch in capture order; a returned promise is awaited before reading on. */
  onBatch: (batch: HeaderColumns) => void | Promise<void>;
  /** Called after each chunk read with the bytes read so far and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Aborts reading; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Read size (default 4 MiB). */
  highWaterMark?: number;
}

/**
 * Parse a pcap or pcapng file without loading it into memory. Resolves with the parse counters.
 * Rejects with an Error naming the path when the file cannot be read or is not a pcap/pcapng capture.
 */
export async function parseCaptureFile(path: string, opts: ParseCaptureFileOptions): Promise<ParseStats> {
  let total: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    total = st.size;
  } catch (err) {
    throw new Error(`cannot read capture file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (total === 0) throw new Error(`${path} is empty, not a pcap or pcapng capture`);
  opts.signal?.throwIfAborted();

  const ready: HeaderColumns[] = [];
  const parser = new CaptureParser({
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    onBatch: (b) => {
      ready.push(b);
    },
  });
  const drain = async () => {
    for (let i = 0; i < ready.length; i++) {
      const r = opts.onBatch(ready[i]!);
      if (r !== undefined) await r;
    }
    ready.length = 0;
  };

  const stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 4 << 20 });
  let read = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      opts.signal?.throwIfAborted();
      parser.push(chunk);
      if (parser.stats.drops.bad_magic > 0) {
        throw new Error(`${path} is not a pcap or pcapng capture (unknown magic number)`);
      }
      read += chunk.length;
      if (ready.length > 0) await drain();
      opts.onProgress?.(read, total);
    }
  } catch (err) {
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    if (err instanceof Error && err.message.startsWith(path)) throw err;
    if ((err as NodeJS.ErrnoException).code !== undefined) {
      throw new Error(`cannot read capture file ${path}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  } finally {
    stream.destroy();
  }
  parser.end();
  await drain();
  if (parser.format === undefined) {
    throw new Error(`${path} is not a pcap or pcapng capture (too short for a file header)`);
  }
  return parser.stats;
}
