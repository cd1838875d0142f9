/**
 * The scheduler: keeps `concurrentFlows` scripts running, always advances the one whose next packet is
 * earliest (binary heap on time), and streams the output in fixed-size chunks with one write in flight
 * while the next chunk is being filled.
 */
import { open, writeFile } from 'node:fs/promises';
import { CAUSES } from '@rstwatch/core';
import { Gen } from './gen.js';
import { isMixName, MIX_NAMES, type MixName, mixByName } from './mix.js';
import { Rng } from './rng.js';
import { type Script, startScenario } from './scenarios.js';
import { World } from './world.js';

/** Options of {@link generateTrace}. */
export interface TraceOptions {
  /** Output pcap path. */
  out: string;
  /** Exact number of packets (pcap records) to write. */
  packets: number;
  /** PRNG seed: same seed and options give a byte-identical file. Default 1. */
  seed?: number;
  /** Connections in progress at any time (long idle ones excepted). Default 5000. */
  concurrentFlows?: number;
  /**
   * Connection-length mix: `short` (handshake, one small request and response, close: ~10 packets),
   * `medium` (a few small exchanges: ~18), `default` (~90 packets per connection, some bulk), `long`
   * (bulk responses of 64 KB-16 MB). Applies to ordinary connections and to the exchanges inside the
   * RST scenarios. Default `default`.
   */
  mix?: MixName;
  /**
   * The first `concurrentFlows` connections start at uniformly random times in [start, start + rampUs].
   * Default min(2 s, concurrentFlows x 100 us). With many concurrent connections and a packet budget
   * shorter than the ramp, only part of them ever start: use a shorter ramp to reach the concurrency
   * early (0 = all start at once).
   */
  rampUs?: number;
  /** Share of connections over IPv6. Default 0.2. */
  ipv6Share?: number;
  /** Share of server segments behind an 802.1Q tag. Default 0.1. */
  vlanShare?: number;
  /** Capture time of the first packet's flow start, microseconds since the epoch. Default 2026-01-01. */
  startTsUs?: number;
  /** Captured bytes per frame; RSTs with payload are always kept whole. Default 128. */
  snaplen?: number;
  /** Output chunk size in bytes. Default 4 MiB. */
  chunkBytes?: number;
  /**
   * Also write the ground truth to this path: one NDJSON line per RST packet,
   * `{"frame":N,"cause":"..."}` (N = 1-based frame number in the pcap, as tshark counts).
   */
  labelsOut?: string;
}

/** What was written. `byCause` counts RST packets by the cause the generator meant (the ground truth). */
export interface TraceSummary {
  packets: number;
  /** Connections (4-tuple sessions the generator scripted) with at least one packet in the file. */
  flows: number;
  rsts: number;
  /** File size in bytes. */
  bytes: number;
  byCause: Record<string, number>;
  /** Sum of original (on-the-wire) frame lengths. */
  wireBytes: number;
  firstTsUs: number;
  lastTsUs: number;
}

const DEFAULT_START_US = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
/** Scripts that sleep longer than this stop counting against `concurrentFlows` meanwhile. */
const PARK_US = 10_000_000;

/** Binary min-heap of task ids keyed by time, in typed arrays (ties resolve deterministically). */
class Heap {
  size = 0;
  private keys = new Float64Array(1024);
  private ids = new Int32Array(1024);

  topKey(): number {
    return this.size > 0 ? this.keys[0]! : Number.POSITIVE_INFINITY;
  }
  topId(): number {
    return this.ids[0]!;
  }
  push(id: number, t: number): void {
    if (this.size === this.keys.length) {
      const k = new Float64Array(this.size * 2);
      k.set(this.keys);
      this.keys = k;
      const d = new Int32Array(this.size * 2);
      d.set(this.ids);
      this.ids = d;
    }
    const keys = this.keys;
    const ids = this.ids;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= t) break;
      keys[i] = keys[p]!;
      ids[i] = ids[p]!;
      i = p;
    }
    keys[i] = t;
    ids[i] = id;
  }
  /** Remove the top (read it first with topKey/topId). */
  pop(): void {
    const keys = this.keys;
    const ids = this.ids;
    const n = --this.size;
    if (n === 0) return;
    const t = keys[n]!;
    const id = ids[n]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && keys[r]! < keys[l]! ? r : l;
      if (keys[m]! >= t) break;
      keys[i] = keys[m]!;
      ids[i] = ids[m]!;
      i = m;
    }
    keys[i] = t;
    ids[i] = id;
  }
}

function check(name: string, v: number, lo: number, hi: number, int: boolean): void {
  if (!Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
    throw new RangeError(`${name} must be ${int ? 'an integer' : 'a number'} in ${lo}..${hi}, got ${v}`);
  }
}

/** Write a deterministic pcap of `packets` records with a realistic TCP mix; resolves with a summary. */
export async function generateTrace(opts: TraceOptions): Promise<TraceSummary> {
  const packets = opts.packets;
  const seed = opts.seed ?? 1;
  const concurrentFlows = opts.concurrentFlows ?? 5000;
  const ipv6Share = opts.ipv6Share ?? 0.2;
  const vlanShare = opts.vlanShare ?? 0.1;
  const snaplen = opts.snaplen ?? 128;
  const chunkBytes = opts.chunkBytes ?? 4 << 20;
  const startTsUs = opts.startTsUs ?? DEFAULT_START_US;
  const mix = opts.mix ?? 'default';
  // Spread the first flows over a short ramp so the capture does not open with a wall of SYNs.
  const rampUs = opts.rampUs ?? Math.min(2_000_000, concurrentFlows * 100);
  check('packets', packets, 0, Number.MAX_SAFE_INTEGER, true);
  check('seed', seed, 0, 0xffffffff, true);
  check('concurrentFlows', concurrentFlows, 1, 10_000_000, true);
  check('ipv6Share', ipv6Share, 0, 1, false);
  check('vlanShare', vlanShare, 0, 1, false);
  check('snaplen', snaplen, 64, 262_144, true);
  check('chunkBytes', chunkBytes, 4096, 1 << 30, true);
  check('startTsUs', startTsUs, 0, 4_000_000_000_000_000, true);
  check('rampUs', rampUs, 0, 3_600_000_000, true);
  if (!isMixName(mix)) throw new RangeError(`mix must be one of ${MIX_NAMES.join(', ')}, got ${String(mix)}`);

  const rng = new Rng(seed);
  const g = new Gen(rng, { snaplen, chunkBytes, packets });
  g.mix = mixByName(mix);
  if (opts.labelsOut !== undefined) g.labels = [];
  const world = new World(rng, { concurrentFlows, ipv6Share, vlanShare });
  const heap = new Heap();
  // Task slots: the script, whether it sleeps (parked), and free slots for reuse.
  const scripts: (Script | null)[] = [];
  const parked: boolean[] = [];
  const free: number[] = [];
  g.now = startTsUs;
  let started = 0;
  let active = 0;

  const fh = await open(opts.out, 'w');
  let pending: Promise<void> = Promise.resolve();
  const write = async (chunk: Uint8Array): Promise<void> => {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  };
  try {
    while (!g.done) {
      while (active < concurrentFlows) {
        const t = started < concurrentFlows ? startTsUs + rng.int(rampUs) : g.now + rng.int(200);
        const id = free.length > 0 ? free.pop()! : scripts.length;
        scripts[id] = startScenario(g, world, started);
        parked[id] = false;
        heap.push(id, t);
        started++;
        active++;
      }
      let t = heap.topKey();
      const id = heap.topId();
      heap.pop();
      const it = scripts[id]!;
      if (parked[id]) {
        parked[id] = false;
        active++;
      }
      // Run the task for as long as its next packet is not later than every other task's. Chunk
      // flushes happen inside the loop so that the schedule (and the file) never depends on chunk size.
      const limit = heap.topKey();
      for (;;) {
        g.now = t;
        const r = it.next();
        if (g.full) {
          await pending;
          pending = write(g.take());
        }
        if (r.done) {
          active--;
          scripts[id] = null;
          free.push(id);
          break;
        }
        const gap = r.value;
        t += gap > 0 ? Math.round(gap) : 0;
        if (gap > PARK_US) {
          parked[id] = true;
          active--;
        }
        if (t > limit || parked[id] || g.done) {
          heap.push(id, t);
          break;
        }
      }
    }
    await pending;
    await write(g.take());
  } finally {
    await pending.catch(() => {});
    await fh.close();
  }

  if (opts.labelsOut !== undefined) {
    const lines: string[] = [];
    const lab = g.labels!;
    for (let i = 0; i < lab.length; i += 2)
      lines.push(`{"frame":${lab[i]},"cause":"${CAUSES[lab[i + 1]!]}"}\n`);
    await writeFile(opts.labelsOut, lines.join(''));
  }
  const byCause: Record<string, number> = {};
  CAUSES.forEach((c, i) => {
    const n = g.byCause[i]!;
    if (n > 0) byCause[c] = n;
  });
  return {
    packets: g.count,
    flows: g.flows,
    rsts: g.rsts,
    bytes: g.fileBytes,
    byCause,
    wireBytes: g.origBytes,
    firstTsUs: g.firstTsUs < 0 ? startTsUs : g.firstTsUs,
    lastTsUs: g.lastTsUs < 0 ? startTsUs : g.lastTsUs,
  };
}
