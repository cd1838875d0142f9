/**
 * Partitioner and batcher: routes each TCP header to the Kafka partition of its canonical flow
 * (`bucketOf(flowHash, partitions)`, so both directions of a connection share a partition) and keeps one open
 * columnar batch per partition, flushed when it reaches `maxHeaders`, `maxBytes` (estimated encoded
 * size) or `lingerMs` after its first header. Nothing is allocated per header.
 */
import { bucketOf, HeaderColumns as Columns, flowHash, type HeaderColumns } from '@rstwatch/core';

/** Why a batch was closed. */
export type FlushReason = 'count' | 'bytes' | 'linger' | 'final';

/**
 * Receives a closed batch. Runs synchronously: `cols` is reused as soon as it returns, so the callee
 * must encode (copy) it first. `keyHash` is the flow hash of the batch's first header.
 */
export type FlushFn = (partition: number, cols: HeaderColumns, keyHash: number, reason: FlushReason) => void;

export interface BatcherOptions {
  /** Partitions of the headers topic (from its metadata). */
  partitions: number;
  /** Close a batch at this many headers. */
  maxHeaders: number;
  /** Close a batch before its estimated encoded size would exceed this. */
  maxBytes: number;
  /** Close a batch this long after its first header was added. */
  lingerMs: number;
  onFlush: FlushFn;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
}

/**
 * Upper estimate of one header's encoded size, before compression: the fixed-width numeric columns
 * (52 bytes), two 16-byte addresses and the kept RST payload.
 */
export const HEADER_FIXED_BYTES = 84;

/** Canonical partition of header `i`: both directions of a flow map to the same value. */
export function partitionOf(cols: HeaderColumns, i: number, partitions: number): number {
  return bucketOf(flowHash(cols, i), partitions);
}

/** The Kafka message key for a batch: its first header's flow hash, 4 bytes big-endian. */
export function keyBytes(keyHash: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(keyHash >>> 0, 0);
  return b;
}

export class PartitionBatcher {
  readonly partitions: number;
  private readonly maxHeaders: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;
  private readonly onFlush: FlushFn;
  private readonly now: () => number;
  /** Open batch per partition, allocated on first use. */
  private readonly open: (HeaderColumns | undefined)[];
  private readonly bytes: Float64Array;
  private readonly openedAt: Float64Array;
  private readonly keyHash: Uint32Array;
  /** Scratch for addBatch: rows sorted by partition, their hashes and partitions, partition starts. */
  private rows = new Int32Array(0);
  private hashes = new Uint32Array(0);
  private partOf = new Uint32Array(0);
  private readonly starts: Int32Array;
  private readonly cursor: Int32Array;
  /** Headers currently held in open batches. */
  pendingHeaders = 0;

  constructor(opts: BatcherOptions) {
    if (!Number.isInteger(opts.partitions) || opts.partitions <= 0)
      throw new RangeError(`partitions must be a positive integer, got ${opts.partitions}`);
    if (!Number.isInteger(opts.maxHeaders) || opts.maxHeaders <= 0)
      throw new RangeError(`maxHeaders must be a positive integer, got ${opts.maxHeaders}`);
    if (opts.maxBytes < HEADER_FIXED_BYTES + 64)
      throw new RangeError(`maxBytes must be at least ${HEADER_FIXED_BYTES + 64}, got ${opts.maxBytes}`);
    this.partitions = opts.partitions;
    this.maxHeaders = opts.maxHeaders;
    this.maxBytes = opts.maxBytes;
    this.lingerMs = opts.lingerMs;
    this.onFlush = opts.onFlush;
    this.now = opts.now ?? (() => performance.now());
    this.open = new Array(opts.partitions).fill(undefined);
    this.bytes = new Float64Array(opts.partitions);
    this.openedAt = new Float64Array(opts.partitions);
    this.keyHash = new Uint32Array(opts.partitions);
    this.starts = new Int32Array(opts.partitions + 1);
    this.cursor = new Int32Array(opts.partitions);
  }

  /**
   * Add every header of `src`: the same batches as `add` per header in order (each partition's headers
   * keep their order, flushed at the same points), built column by column. Partitions flush in partition
   * order within one call.
   */
  addBatch(src: HeaderColumns): void {
    const n = src.length;
    if (n === 0) return;
    const parts = this.partitions;
    this.ensureScratch(src.capacity);
    const rows = this.rows;
    const hashes = this.hashes;
    const partOf = this.partOf;
    // Stable counting sort of the rows by partition.
    const start = this.starts;
    start.fill(0);
    for (let i = 0; i < n; i++) {
      const h = flowHash(src, i);
      const p = bucketOf(h, parts);
      hashes[i] = h;
      partOf[i] = p;
      start[p + 1]!++;
    }
    for (let p = 0; p < parts; p++) start[p + 1]! += start[p]!;
    const next = this.cursor;
    next.set(start.subarray(0, parts));
    for (let i = 0; i < n; i++) rows[next[partOf[i]!]!++] = i;
    for (let p = 0; p < parts; p++) this.append(src, p, rows, start[p]!, start[p + 1]!);
  }

  /** Add header `i` of `src` to its partition's batch, flushing that batch first or after as needed. */
  add(src: HeaderColumns, i: number): number {
    this.ensureScratch(src.capacity);
    const h = flowHash(src, i);
    const p = bucketOf(h, this.partitions);
    this.hashes[i] = h;
    this.rows[0] = i;
    this.append(src, p, this.rows, 0, 1);
    return p;
  }

  private ensureScratch(capacity: number): void {
    if (this.rows.length >= capacity) return;
    this.rows = new Int32Array(capacity);
    this.hashes = new Uint32Array(capacity);
    this.partOf = new Uint32Array(capacity);
  }

  /**
   * Append rows `rows[k..end)` of `src` (all of partition `p`, in capture order; their hashes in
   * `this.hashes`) to p's open batch, flushing it before a header that would pass `maxBytes` and when it
   * reaches `maxHeaders`.
   */
  private append(src: HeaderColumns, p: number, rows: Int32Array, k: number, end: number): void {
    const lens = src.rstPayloadLen;
    while (k < end) {
      let b = this.open[p];
      if (b === undefined) {
        b = Columns.allocate(this.maxHeaders);
        this.open[p] = b;
      }
      const from = k;
      let len = b.length;
      let full = false;
      while (k < end) {
        const i = rows[k]!;
        const size = HEADER_FIXED_BYTES + lens[i]!;
        if (len > 0 && this.bytes[p]! + size > this.maxBytes) {
          full = true;
          break;
        }
        if (len === 0) {
          this.openedAt[p] = this.now();
          this.keyHash[p] = this.hashes[i]!;
          this.bytes[p] = 0;
        }
        this.bytes[p]! += size;
        k++;
        len++;
        if (len >= this.maxHeaders) break;
      }
      b.gatherFrom(src, rows, from, k);
      this.pendingHeaders += k - from;
      if (b.length >= this.maxHeaders) this.flush(p, 'count');
      else if (full) this.flush(p, 'bytes');
    }
  }

  /** Close batches older than the linger time. Returns how many were flushed. */
  tick(): number {
    const now = this.now();
    let n = 0;
    for (let p = 0; p < this.partitions; p++) {
      const b = this.open[p];
      if (b !== undefined && b.length > 0 && now - this.openedAt[p]! >= this.lingerMs) {
        this.flush(p, 'linger');
        n++;
      }
    }
    return n;
  }

  /** Close every non-empty batch (shutdown, end of file). */
  flushAll(reason: FlushReason = 'final'): void {
    for (let p = 0; p < this.partitions; p++) {
      const b = this.open[p];
      if (b !== undefined && b.length > 0) this.flush(p, reason);
    }
  }

  private flush(p: number, reason: FlushReason): void {
    const b = this.open[p]!;
    const n = b.length;
    try {
      this.onFlush(p, b, this.keyHash[p]!, reason);
    } finally {
      this.pendingHeaders -= n;
      b.reset();
      this.bytes[p] = 0;
    }
  }
}
