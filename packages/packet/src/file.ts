/**
 * Stream a capture file from disk through a CaptureParser (fixed memory: two read buffers), with
 * backpressure from async batch consumers.
 */
import { type FileHandle, type FileReadResult, open, stat } from 'node:fs/promises';
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
  /** Supplies empty batches (e.g. from a pool the consumer returns batches to); default allocates. */
  newBatch?: () => HeaderColumns;
  /** Read size (default 4 MiB). */
  highWaterMark?: number;
  /** false: leave every header's `cksum` 0 (not verified) and skip the sums. Default true. */
  verifyChecksums?: boolean;
}

/**
 * A CaptureParser whose batches wait in `ready` until `drain` hands them, in order, to `opts.onBatch`
 * (awaiting each), so reading pauses while the consumer is busy.
 */
function batchedParser(opts: ParseCaptureFileOptions): {
  parser: CaptureParser;
  ready: HeaderColumns[];
  drain: () => Promise<void>;
} {
  const ready: HeaderColumns[] = [];
  const parser = new CaptureParser({
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(opts.newBatch !== undefined ? { newBatch: opts.newBatch } : {}),
    ...(opts.verifyChecksums !== undefined ? { verifyChecksums: opts.verifyChecksums } : {}),
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
  return { parser, ready, drain };
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

  const { parser, ready, drain } = batchedParser(opts);

  // Two reusable buffers: the next read runs in libuv's thread pool while this thread parses the current
  // chunk (the parser copies any record split across chunks, so a buffer can be refilled afterwards).
  // Measured faster than fs.createReadStream, which allocates a fresh buffer per chunk.
  const size = opts.highWaterMark ?? 4 << 20;
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new Error(`cannot read capture file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let cur = 0;
  let read = 0;
  let next: Promise<FileReadResult<Buffer>> | undefined = fh.read(bufs[0]!, 0, size, 0);
  try {
    for (;;) {
      let got: number;
      try {
        got = (await next!).bytesRead;
      } catch (err) {
        next = undefined;
        throw new Error(`cannot read capture file ${path}: ${(err as Error).message}`, { cause: err });
      }
      next = undefined;
      if (got === 0) break;
      opts.signal?.throwIfAborted();
      const chunk = bufs[cur]!.subarray(0, got);
      read += got;
      cur ^= 1;
      next = fh.read(bufs[cur]!, 0, size, read);
      parser.push(chunk);
      if (parser.stats.drops.bad_magic > 0) {
        throw new Error(`${path} is not a pcap or pcapng capture (unknown magic number)`);
      }
      if (ready.length > 0) await drain();
      opts.onProgress?.(read, total);
    }
  } finally {
    if (next !== undefined) await next.catch(() => undefined);
    await fh.close();
  }
  parser.end();
  await drain();
  if (parser.format === undefined) {
    throw new Error(`${path} is not a pcap or pcapng capture (too short for a file header)`);
  }
  return parser.stats;
}

/**
 * Parse a pcap or pcapng capture arriving as a stream of chunks (e.g. `process.stdin` fed by
 * `tcpdump -w -` or `zcat`), with backpressure from async batch consumers: the next chunk is read only
 * after the batches parsed so far were handed over. `label` names the input in errors. `onProgress`
 * gets the bytes read so far and a total of 0 (unknown). Resolves with the parse counters.
 */
export async function parseCaptureStream(
  input: AsyncIterable<Uint8Array>,
  label: string,
  opts: ParseCaptureFileOptions,
): Promise<ParseStats> {
  opts.signal?.throwIfAborted();
  const { parser, ready, drain } = batchedParser(opts);
  let read = 0;
  const it = input[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await it.next();
      } catch (err) {
        throw new Error(`cannot read ${label}: ${(err as Error).message}`, { cause: err });
      }
      if (next.done === true) {
        done = true;
        break;
      }
      opts.signal?.throwIfAborted();
      const chunk = next.value;
      read += chunk.length;
      parser.push(chunk);
      if (parser.stats.drops.bad_magic > 0) {
        throw new Error(`${label} is not a pcap or pcapng capture (unknown magic number)`);
      }
      if (ready.length > 0) await drain();
      opts.onProgress?.(read, 0);
    }
  } finally {
    // Stopped early (bad input, a failing consumer, abort): let the source release what it holds.
    if (!done) await it.return?.().catch(() => undefined);
  }
  parser.end();
  await drain();
  if (parser.format === undefined) {
    throw new Error(
      read === 0
        ? `${label} is empty, not a pcap or pcapng capture`
        : `${label} is not a pcap or pcapng capture (too short for a file header)`,
    );
  }
  return parser.stats;
}
