/**
 * The scheduler: keeps `concurrentFlows` scripts running, always advances the one whose next packet is
 * earliest (binary heap on time), and streams the output in fixed-size chunks with one write in flight
 * while the next chunk is being filled.
 */
import { type FileHandle, open, writeFile } from 'node:fs/promises';
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

/** Options with their defaults applied, validated. */
interface Settings {
  packets: number;
  seed: number;
  concurrentFlows: number;
  ipv6Share: number;
  vlanShare: number;
  snaplen: number;
  chunkBytes: number;
  startTsUs: number;
  mix: MixName;
  rampUs: number;
}

function settings(opts: TraceOptions): Settings {
  const concurrentFlows = opts.concurrentFlows ?? 5000;
  const s: Settings = {
    packets: opts.packets,
    seed: opts.seed ?? 1,
    concurrentFlows,
    ipv6Share: opts.ipv6Share ?? 0.2,
    vlanShare: opts.vlanShare ?? 0.1,
    snaplen: opts.snaplen ?? 128,
    chunkBytes: opts.chunkBytes ?? 4 << 20,
    startTsUs: opts.startTsUs ?? DEFAULT_START_US,
    mix: opts.mix ?? 'default',
    // Spread the first flows over a short ramp so the capture does not open with a wall of SYNs.
    rampUs: opts.rampUs ?? Math.min(2_000_000, concurrentFlows * 100),
  };
  check('packets', s.packets, 0, Number.MAX_SAFE_INTEGER, true);
  check('seed', s.seed, 0, 0xffffffff, true);
  check('concurrentFlows', s.concurrentFlows, 1, 10_000_000, true);
  check('ipv6Share', s.ipv6Share, 0, 1, false);
  check('vlanShare', s.vlanShare, 0, 1, false);
  check('snaplen', s.snaplen, 64, 262_144, true);
  check('chunkBytes', s.chunkBytes, 4096, 1 << 30, true);
  check('startTsUs', s.startTsUs, 0, 4_000_000_000_000_000, true);
  check('rampUs', s.rampUs, 0, 3_600_000_000, true);
  if (!isMixName(s.mix)) {
    throw new RangeError(`mix must be one of ${MIX_NAMES.join(', ')}, got ${String(s.mix)}`);
  }
  return s;
}

/** The output file, with at most one chunk write in flight while the generator fills the next. */
class ChunkFile {
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly fh: FileHandle) {}

  /** Hand the generator's filled chunk to the file once the previous write is done. */
  async flush(g: Gen): Promise<void> {
    await this.pending;
    this.pending = this.write(g.take());
  }

  /** Write the last chunk and wait for everything. */
  async finish(g: Gen): Promise<void> {
    await this.pending;
    await this.write(g.take());
  }

  /** Wait for the write in flight (ignoring its failure) and close the file. */
  async close(): Promise<void> {
    await this.pending.catch(() => {});
    await this.fh.close();
  }

  private async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }
}

/** Keeps `concurrentFlows` scripts running and always advances the one whose next packet is earliest. */
class Scheduler {
  private readonly heap = new Heap();
  // Task slots: the script, whether it sleeps (parked), and free slots for reuse.
  private readonly scripts: (Script | null)[] = [];
  private readonly parked: boolean[] = [];
  private readonly free: number[] = [];
  private started = 0;
  private active = 0;

  constructor(
    private readonly g: Gen,
    private readonly world: World,
    private readonly rng: Rng,
    private readonly s: Settings,
  ) {}

  /** Start scripts until `concurrentFlows` are active; the first ones start within the ramp. */
  fill(): void {
    const { g, s } = this;
    while (this.active < s.concurrentFlows) {
      const t =
        this.started < s.concurrentFlows ? s.startTsUs + this.rng.int(s.rampUs) : g.now + this.rng.int(200);
      const id = this.free.length > 0 ? this.free.pop()! : this.scripts.length;
      this.scripts[id] = startScenario(g, this.world, this.started);
      this.parked[id] = false;
      this.heap.push(id, t);
      this.started++;
      this.active++;
    }
  }

  /**
   * Run the earliest task for as long as its next packet is not later than every other task's. Chunk
   * flushes happen inside the loop so that the schedule (and the file) never depends on chunk size.
   */
  async runEarliest(file: ChunkFile): Promise<void> {
    const { g, heap, parked } = this;
    let t = heap.topKey();
    const id = heap.topId();
    heap.pop();
    const it = this.scripts[id]!;
    if (parked[id]) {
      parked[id] = false;
      this.active++;
    }
    const limit = heap.topKey();
    for (;;) {
      g.now = t;
      const r = it.next();
      if (g.full) await file.flush(g);
      if (r.done) {
        this.active--;
        this.scripts[id] = null;
        this.free.push(id);
        return;
      }
      const gap = r.value;
      t += gap > 0 ? Math.round(gap) : 0;
      if (gap > PARK_US) {
        parked[id] = true;
        this.active--;
      }
      if (t > limit || parked[id] || g.done) {
        heap.push(id, t);
        return;
      }
    }
  }
}

/** Write a deterministic pcap of `packets` records with a realistic TCP mix; resolves with a summary. */
export async function generateTrace(opts: TraceOptions): Promise<TraceSummary> {
  const s = settings(opts);
  const rng = new Rng(s.seed);
  const g = new Gen(rng, { snaplen: s.snaplen, chunkBytes: s.chunkBytes, packets: s.packets });
  g.mix = mixByName(s.mix);
  if (opts.labelsOut !== undefined) g.labels = [];
  const world = new World(rng, {
    concurrentFlows: s.concurrentFlows,
    ipv6Share: s.ipv6Share,
    vlanShare: s.vlanShare,
  });
  const scheduler = new Scheduler(g, world, rng, s);
  g.now = s.startTsUs;

  const file = new ChunkFile(await open(opts.out, 'w'));
  try {
    while (!g.done) {
      scheduler.fill();
      await scheduler.runEarliest(file);
    }
    await file.finish(g);
  } finally {
    await file.close();
  }
  if (opts.labelsOut !== undefined) await writeLabels(opts.labelsOut, g.labels!);
  return summary(g, s.startTsUs);
}

/** The ground truth as NDJSON: one `{"frame":N,"cause":"..."}` line per RST packet. */
async function writeLabels(path: string, lab: readonly number[]): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < lab.length; i += 2)
    lines.push(`{"frame":${lab[i]},"cause":"${CAUSES[lab[i + 1]!]}"}\n`);
  await writeFile(path, lines.join(''));
}

function summary(g: Gen, startTsUs: number): TraceSummary {
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
