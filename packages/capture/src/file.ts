/**
 * Capture source for pcap/pcapng files, optionally paced by the capture timestamps (`1x`, `10x`, ...)
 * to replay a trace as if it were live; `max` reads as fast as the consumer takes it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeaderColumns } from '@rstwatch/core';
import { CaptureParser, type ParseStats } from '@rstwatch/packet';
import type { CaptureSource, HeaderSink, KernelStats } from './source.js';

/** `max` or a speed factor such as `1x`, `10x`, `0.5x`. */
export type ReplaySpeed = string;

/** Parse a replay speed: 0 means as fast as possible. Throws a RangeError naming the allowed values. */
export function parseReplaySpeed(s: ReplaySpeed): number {
  if (s === 'max') return 0;
  const m = /^(\d+(?:\.\d+)?)x$/.exec(s);
  const v = m ? Number(m[1]) : Number.NaN;
  if (!(v > 0)) throw new RangeError(`replay speed must be 'max' or a factor like '1x' or '10x', got '${s}'`);
  return v;
}

export interface FileSourceOptions {
  path: string;
  /** 'max' (default) or 'Nx'. */
  replaySpeed?: ReplaySpeed;
  /** Headers per parsed batch (default 4096, 256 when paced). */
  batchSize?: number;
}

export class FileSource implements CaptureSource {
  readonly describe: string;
  readonly live: boolean;
  private readonly path: string;
  private readonly speed: number;
  private readonly batchSize: number;
  private parser: CaptureParser | undefined;

  constructor(opts: FileSourceOptions) {
    this.path = opts.path;
    this.speed = parseReplaySpeed(opts.replaySpeed ?? 'max');
    this.batchSize = opts.batchSize ?? (this.speed > 0 ? 256 : 4096);
    // A paced replay stands in for a live interface: it must not be slowed down by Kafka.
    this.live = this.speed > 0;
    this.describe = `file ${opts.path} (replay ${opts.replaySpeed ?? 'max'})`;
  }

  parseStats(): ParseStats {
    if (this.parser === undefined) throw new Error('FileSource not started');
    return this.parser.stats;
  }

  kernelStats(): KernelStats | undefined {
    return undefined;
  }

  async run(sink: HeaderSink, signal: AbortSignal): Promise<void> {
    try {
      const st = await stat(this.path);
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size === 0) throw new Error('file is empty');
    } catch (err) {
      throw new Error(`cannot read capture file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    const pool: HeaderColumns[] = [];
    const ready: HeaderColumns[] = [];
    const size = this.batchSize;
    const parser = new CaptureParser({
      batchSize: size,
      onBatch: (b) => {
        ready.push(b);
      },
      newBatch: () => pool.pop() ?? HeaderColumns.allocate(size),
    });
    this.parser = parser;
    const speed = this.speed;
    let wall0 = 0;
    let ts0 = -1;
    // Paced replay hands headers over when their capture time comes, in runs copied to `scratch`.
    const scratch = speed > 0 ? HeaderColumns.allocate(size) : undefined;
    const paced = async (b: HeaderColumns) => {
      const out = scratch!;
      let i = 0;
      while (i < b.length) {
        if (ts0 < 0) {
          ts0 = b.tsUs[0]!;
          wall0 = performance.now();
        }
        const now = performance.now();
        const wait = wall0 + (b.tsUs[i]! - ts0) / 1000 / speed - now;
        if (wait > 1) {
          await sleep(wait, undefined, { signal });
          continue;
        }
        out.reset();
        const horizon = now - wall0 + 1;
        while (i < b.length && (b.tsUs[i]! - ts0) / 1000 / speed <= horizon) out.copyFrom(b, i++);
        const r = sink(out);
        if (r !== undefined) await r;
      }
    };
    const deliver = async () => {
      for (let k = 0; k < ready.length; k++) {
        const b = ready[k]!;
        if (scratch !== undefined) await paced(b);
        else {
          const r = sink(b);
          if (r !== undefined) await r;
        }
        b.length = 0;
        pool.push(b);
      }
      ready.length = 0;
    };
    const stream = createReadStream(this.path, { highWaterMark: speed > 0 ? 64 << 10 : 1 << 20 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (signal.aborted) break;
        parser.push(chunk);
        if (parser.stats.drops.bad_magic > 0)
          throw new Error(`${this.path} is not a pcap or pcapng capture (unknown magic number)`);
        if (ready.length > 0) await deliver();
      }
      if (!signal.aborted) {
        parser.end();
        await deliver();
        if (parser.format === undefined)
          throw new Error(`${this.path} is not a pcap or pcapng capture (too short for a file header)`);
      }
    } catch (err) {
      if (signal.aborted && (err as Error).name === 'AbortError') return;
      throw err;
    } finally {
      stream.destroy();
    }
  }
}
