/**
 * The processor: a Kafka consumer-group member that turns header batches into ClickHouse rows.
 *
 * Per assigned partition it keeps one engine (flow table + classifier in shared memory) and processes
 * that partition's messages in order, one batch in flight, on any worker of the pool. Output is written
 * in *units*: a run of consecutive offsets whose rows are inserted with the deduplication token
 * `topic:partition:first-last`. Before inserting, the unit's range is recorded as commit metadata at the
 * unchanged offset (an intent); after ClickHouse acknowledges it, the offset moves past the unit. A
 * member that takes over after a crash reads the intent and cuts its first unit at the same range, so
 * the replayed insert carries the same token and ClickHouse drops it: at-least-once in, exactly-once out.
 * On assignment a partition is replayed from `warmupMessages` before its committed offset with output
 * suppressed, to rebuild flow state.
 *
 * A HeaderBatch the agent sent twice (same `(sensorId, batchSeq)`, see `batch-seq.ts`) is skipped: not
 * processed, no rows. The per-sensor sequence state is per partition and rebuilt by the warm-up replay, so
 * a new owner skips the same messages. Every other HeaderBatch gets a `header_batches` row in its unit.
 */
import type { Config } from '@rstwatch/config';
import type { FlowRecord, HeaderColumns, RstEvent } from '@rstwatch/core';
import { type Component, deadlineIn, formatTsUs, untilDeadline } from '@rstwatch/core';
import type { Batch, ConsumedMessage, Consumer, Kafka, Producer, TopicPartition } from '@rstwatch/kafka';
import type { HeaderBatchRow, SensorStatsRow, StoreClient } from '@rstwatch/store';
import { decodeHeaderBatch, decodeSensorStats, type SensorStats, WireError } from '@rstwatch/wire';
import { admitBatch, batchIdentity, type SensorSeq } from './batch-seq.js';
import { CONSUMER_LOOP_DEFAULTS } from './config.js';
import type { EventPublisher } from './event-publisher.js';
import { type MergeRelease, parseSnapshot, SourceMerge } from './merge.js';
import type { ProcessorMetrics } from './metrics.js';
import type { EngineHandle, EnginePool } from './pool.js';
import type { UnitWriter } from './unit-writer.js';

/**
 * Commit metadata, `;`-separated parts: `rstwatch:unit:<first>-<last>` marks a unit whose rows may be in
 * ClickHouse but whose offsets are not committed (an intent); `rstwatch:tick:<after>:<us>` says that the
 * partition went quiet after offset `after` and capture time was moved to `us` (µs), with `:pending` while
 * the rows that released are being written. A new owner replays the tick at the same point of its warm-up.
 */
const INTENT = /(?:^|;)rstwatch:unit:(\d+)-(\d+)(?:;|$)/;
const TICK = /(?:^|;)rstwatch:tick:(\d+):(\d+)(:pending)?(?:;|$)/;
/**
 * `rstwatch:merge:<state>`: the source merge's state at the committed offset (see `merge.ts`), present only
 * while several sources share the partition or headers are held. A new owner replays from the oldest held
 * offset and restores this state at the committed offset.
 */
const MERGE = /(?:^|;)rstwatch:merge:([^;]*)(?:;|$)/;

/** What a HeaderBatch says about itself. */
type HeaderBatchMeta = ReturnType<typeof decodeHeaderBatch>['meta'];

/** Capture time moved forward on a quiet partition (see `TICK`). */
interface Tick {
  after: bigint;
  us: number;
  pending: boolean;
}

export interface ProcessorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly engine: EngineHandle | null;
  /** Offsets below this were committed by an earlier owner: replay them silently. */
  readonly committed: bigint;
  /** Where a pending intent says the first unit must end (inclusive), if any. */
  intentEnd: bigint | null;
  revoked: boolean;
  /** Messages before this offset are ignored (the warm-up replay starts here). */
  start: bigint;
  /**
   * The next offset the engine has not seen. Kafka re-delivers from the last committed or resolved
   * offset after a failed batch or a rebalance that kept the partition; what the engine (and the open
   * unit) already holds is skipped, so nothing is counted twice.
   */
  next: bigint;
  /** Rows of the unit being built (consecutive offsets, not yet written). */
  unit: OpenUnit | null;
  /** The committed position as this member knows it (everything below is written). */
  committedNext: bigint;
  /** Capture time of the last header processed (µs), 0 before any. */
  lastTsUs: number;
  /** `performance.now()` when the last message was processed. */
  lastActivityMs: number;
  /** The partition's high watermark at the last fetch: ticks only when everything up to it was consumed. */
  highWatermark: bigint;
  /** The latest tick, carried in every commit's metadata until a newer one. */
  tick: Tick | null;
  /** A tick read from the committed metadata, replayed when the warm-up passes its offset. */
  replayTick: Tick | null;
  /** A batch is being processed (ticks wait). */
  busy: boolean;
  /** A tick is running (batches wait for it). */
  ticking: Promise<void> | null;
  /** Per sensor: highest batch_seq and recent batches seen in this partition (duplicate detection). */
  readonly seqs: Map<string, SensorSeq>;
  /** The source merge (headers partitions with `processor.mergeDelayMs` > 0). */
  readonly merge: SourceMerge | null;
  /** The merge state at `committedNext`, written in every commit's metadata ('' when trivial). */
  mergeCommitted: string;
  /** The merge state to restore once the warm-up reaches the committed offset (null: done). */
  mergeRestore: { snap: string; fresh: boolean } | null;
}

interface OpenUnit {
  first: string;
  last: string;
  count: number;
  events: RstEvent[];
  flows: FlowRecord[];
  sensorStats: SensorStatsRow[];
  headerBatches: HeaderBatchRow[];
}

export interface ConsumerLoopDeps {
  kafka: Kafka;
  consumer: Consumer;
  dlq: Producer;
  pool: EnginePool;
  writer: UnitWriter;
  /** Publishes each written unit's RST events to the events topic (detection stage); none: alerts off. */
  events?: EventPublisher;
  /** Aborted at shutdown: batches stop taking messages and write what they hold. */
  signal: AbortSignal;
}

export interface ConsumerLoopTelemetry {
  metrics: ProcessorMetrics;
  log: ProcessorLogger;
}

type ConsumerLoopOptions = { config: Config } & ConsumerLoopDeps & ConsumerLoopTelemetry;

/**
 * The consume → process → write → commit loop: `new ConsumerLoop(config, deps, telemetry)`, `start()`,
 * `stop(deadline)` (settings: the rstwatch `Config`; fixed ones in `CONSUMER_LOOP_DEFAULTS`, config.ts).
 */
export class ConsumerLoop implements Component {
  private readonly parts = new Map<string, PartitionState>();
  private readonly headersTopic: string;
  private readonly sensorsTopic: string;
  private readonly dlqTopic: string;
  /** Messages per unit at most (a unit is one insert per table). */
  private readonly unitMaxMessages = CONSUMER_LOOP_DEFAULTS.unitMaxMessages;
  /** Batches being processed (see `drain`). */
  private readonly inflight = new Set<Promise<void>>();
  /** A quiet partition's capture time advances after this much wall-clock silence. */
  private readonly tickIdleMs = CONSUMER_LOOP_DEFAULTS.tickIdleMs;
  /** Ticks stop once capture time is this far past the last header: by then nothing is left to release. */
  private readonly tickMaxAdvanceUs: number;
  /** The source merge delay (0: no merge). */
  private readonly mergeDelayMs: number;
  private tickTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped: Promise<void> | undefined;
  private readonly o: ConsumerLoopOptions;

  constructor(config: Config, deps: ConsumerLoopDeps, telemetry: ConsumerLoopTelemetry) {
    const o: ConsumerLoopOptions = { config, ...deps, ...telemetry };
    this.o = o;
    this.headersTopic = o.config.kafka.topics.headers;
    this.sensorsTopic = o.config.kafka.topics.sensors;
    this.dlqTopic = o.config.kafka.topics.deadLetter;
    this.mergeDelayMs = o.config.processor.mergeDelayMs ?? 0;
    const c = o.config.classifier;
    this.tickMaxAdvanceUs =
      (Math.max(c.holdMs / 1000, c.flowIdleExpiryS, c.timeWaitS, c.idleTimeoutS) + 2) * 1_000_000;
  }

  async start(): Promise<void> {
    const { consumer } = this.o;
    consumer.onRebalance((ev) => {
      if (ev.type === 'revoke') for (const tp of ev.partitions) this.revoke(tp);
      this.o.log.info({ type: ev.type, partitions: ev.partitions }, 'partition assignment changed');
      if (ev.type === 'assign') {
        const headers = ev.partitions.filter((tp) => tp.topic === this.headersTopic);
        this.prime(headers).catch((err: unknown) =>
          this.o.log.warn(
            { err: (err as Error).message },
            'reading committed offsets of new partitions failed',
          ),
        );
      }
    });
    await consumer.subscribe([this.headersTopic, this.sensorsTopic]);
    await consumer.run({
      partitionsConsumedConcurrently: Math.max(2, this.o.pool.workers * 2),
      eachBatch: (batch) => {
        const p = this.eachBatch(batch).catch((err: unknown) => {
          // Kafka delivers the batch again; the partition's state is rebuilt from the committed offset and
          // its metadata, as a new owner would, so a half-done unit or tick is redone with the same token.
          this.reset({ topic: batch.topic, partition: batch.partition });
          throw err;
        });
        this.inflight.add(p);
        const done = () => this.inflight.delete(p);
        p.then(done, done);
        return p;
      },
    });
    this.tickTimer = setInterval(() => {
      if (this.ticking || this.o.signal.aborted) return;
      this.ticking = true;
      const p = this.tickQuiet().finally(() => {
        this.ticking = false;
      });
      this.inflight.add(p);
      const done = () => this.inflight.delete(p);
      p.then(done, done);
    }, this.tickIdleMs);
    this.tickTimer.unref();
  }

  /**
   * Shutdown (abort `signal` first): waits for the batches in progress, which stop taking messages and
   * write what they hold, while the consumer still accepts commits; then disconnects the consumer and
   * drops every partition's state. Returns by `deadline` (epoch ms; default
   * `processor.shutdownDeadlineS` from now); what was not committed by then is replayed by the next
   * owner. Idempotent.
   */
  stop(deadline: number = deadlineIn(this.o.config.processor.shutdownDeadlineS * 1000)): Promise<void> {
    this.stopped ??= (async () => {
      await this.drain();
      await this.o.consumer.disconnect();
      this.revokeAll();
    })();
    return untilDeadline(this.stopped, deadline).then(() => {});
  }

  /** Waits for the batches in progress (before the consumer disconnects: Kafka ignores commits then). */
  private async drain(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Drop the state of every partition (shutdown). */
  private revokeAll(): void {
    for (const st of [...this.parts.values()]) this.revoke(st.tp);
  }

  get assignedPartitions(): number {
    return this.parts.size;
  }

  /**
   * A partition that is assigned while it has nothing new to read would get no batch, hence no state:
   * no warm-up, no ticks, and a tick the previous owner left pending would not be written until new
   * data arrives. Reading the last committed message again brings a batch that creates the state.
   */
  private async prime(tps: TopicPartition[]): Promise<void> {
    if (tps.length === 0 || this.o.config.processor.warmupMessages === 0) return;
    const rows = await this.o.consumer.committedOffsets(this.headersTopic);
    for (const tp of tps) {
      if (this.parts.has(key(tp)) || this.o.signal.aborted) continue;
      const row = rows.find((r) => r.partition === tp.partition);
      const offset = row && row.offset !== '-1' ? BigInt(row.offset) : 0n;
      if (offset <= 0n) continue;
      try {
        this.o.consumer.seek({ ...tp, offset: String(offset - 1n) });
      } catch {
        // revoked meanwhile
      }
    }
  }

  /** Forget a partition's state after a failure; its next batch creates it again (with warm-up). */
  private reset(tp: TopicPartition): void {
    if (!this.parts.has(key(tp))) return;
    this.revoke(tp);
    this.o.log.info({ ...tp }, 'partition state dropped after a failure');
  }

  private revoke(tp: TopicPartition): void {
    const k = key(tp);
    const st = this.parts.get(k);
    if (!st) return;
    st.revoked = true;
    if (st.engine) this.o.pool.release(st.engine);
    this.parts.delete(k);
    this.o.metrics.partitionRevoked(tp);
  }

  private async state(batch: Batch): Promise<PartitionState | 'seeked'> {
    const tp = { topic: batch.topic, partition: batch.partition };
    const existing = this.parts.get(key(tp));
    if (existing && !existing.revoked) return existing;
    const committed = await this.committed(tp);
    const isHeaders = batch.topic === this.headersTopic;
    const warmup = isHeaders ? BigInt(this.o.config.processor.warmupMessages) : 0n;
    const first = BigInt(batch.firstOffset() ?? batch.lastOffset());
    let start = committed.offset >= 0n ? committed.offset - warmup : first;
    // Headers the previous owner still held in the source merge are replayed too.
    const mergeSnap = isHeaders ? parseSnapshot(committed.merge) : null;
    if (mergeSnap?.heldFrom != null && mergeSnap.heldFrom < start) start = mergeSnap.heldFrom;
    if (start < 0n) start = 0n;
    const merge = isHeaders && this.mergeDelayMs > 0 ? new SourceMerge(this.mergeDelayMs) : null;
    // Until the committed offset the replay must not release more than the previous owner had.
    if (merge && mergeSnap) merge.capAt(mergeSnap.frontier);
    const st: PartitionState = {
      tp,
      engine: isHeaders ? this.o.pool.createEngine() : null,
      committed: committed.offset >= 0n ? committed.offset : first,
      intentEnd: committed.intentEnd,
      revoked: false,
      start,
      next: start,
      unit: null,
      committedNext: committed.offset >= 0n ? committed.offset : first,
      lastTsUs: 0,
      lastActivityMs: performance.now(),
      highWatermark: -1n,
      tick: committed.tick ? { ...committed.tick, pending: false } : null,
      replayTick: committed.tick,
      busy: false,
      ticking: null,
      seqs: new Map(),
      merge,
      mergeCommitted: committed.merge,
      mergeRestore: merge ? { snap: committed.merge, fresh: committed.offset < 0n } : null,
    };
    this.parts.set(key(tp), st);
    this.o.metrics.partitionAssigned(tp);
    this.o.log.info(
      {
        ...tp,
        committed: String(st.committed),
        replayFrom: String(start),
        intentEnd: st.intentEnd?.toString(),
        tick: committed.tick ? `${committed.tick.after}:${committed.tick.us}` : undefined,
        merge: committed.merge || undefined,
      },
      'partition state created',
    );
    if (start < first) {
      // Rebuild flow state from before the committed offset; the messages there are not re-emitted.
      this.o.consumer.seek({ ...tp, offset: String(start) });
      return 'seeked';
    }
    return st;
  }

  private async committed(
    tp: TopicPartition,
  ): Promise<{ offset: bigint; intentEnd: bigint | null; tick: Tick | null; merge: string }> {
    const rows = await this.o.consumer.committedOffsets(tp.topic);
    const row = rows.find((r) => r.partition === tp.partition);
    if (!row || row.offset === '-1') return { offset: -1n, intentEnd: null, tick: null, merge: '' };
    const m = INTENT.exec(row.metadata ?? '');
    const offset = BigInt(row.offset);
    const intentEnd = m && BigInt(m[1]!) === offset ? BigInt(m[2]!) : null;
    const t = TICK.exec(row.metadata ?? '');
    const tick =
      t && BigInt(t[1]!) < offset
        ? {
            after: BigInt(t[1]!),
            us: Number(t[2]!),
            pending: t[3] !== undefined && BigInt(t[1]!) + 1n === offset,
          }
        : null;
    const merge = MERGE.exec(row.metadata ?? '')?.[1] ?? '';
    return { offset, intentEnd, tick, merge };
  }

  /** The commit metadata of `st`: the unit being written (if any) and the latest tick. */
  private metadata(st: PartitionState, unit?: string): string {
    const parts: string[] = [];
    if (unit !== undefined) parts.push(`rstwatch:unit:${unit}`);
    if (st.mergeCommitted !== '') parts.push(`rstwatch:merge:${st.mergeCommitted}`);
    const t = st.tick;
    if (t) parts.push(`rstwatch:tick:${t.after}:${t.us}${t.pending ? ':pending' : ''}`);
    return parts.join(';');
  }

  /**
   * Quiet partitions: time passes on the wire even when no packet arrives, so RSTs held to see what
   * follows them and idle flows are released by moving the engine's capture time forward by the
   * wall-clock silence. Only when everything consumed is committed; recorded in the commit metadata so
   * that a new owner replays the same tick at the same offset (and writes its rows with the same token).
   */
  private async tickQuiet(): Promise<void> {
    const now = performance.now();
    for (const st of [...this.parts.values()]) {
      if (this.o.signal.aborted) return;
      if (!st.engine || st.revoked || st.busy || st.unit || st.intentEnd !== null) continue;
      if (st.lastTsUs === 0 || st.next !== st.committedNext || st.next <= st.start) continue;
      // A lagging partition is not quiet: its next messages are already in Kafka, only not fetched yet.
      // Ticking then would make output depend on fetch timing.
      if (st.next < st.highWatermark) continue;
      const idleMs = now - st.lastActivityMs;
      if (idleMs < this.tickIdleMs) continue;
      // Headers held in the source merge wait for the merge delay of silence before a tick flushes them.
      if (st.merge && st.merge.held > 0 && idleMs < this.mergeDelayMs) continue;
      const us = Math.floor(st.lastTsUs + idleMs * 1000);
      const after = st.next - 1n;
      const held = st.merge !== null && st.merge.held > 0;
      if (!held && st.tick && st.tick.after === after && us - st.tick.us < 1_000_000) continue;
      if (!held && st.tick && st.tick.after === after && st.tick.us - st.lastTsUs > this.tickMaxAdvanceUs)
        continue;
      const p = this.writeTick(st, after, us);
      st.ticking = p;
      try {
        await p;
      } catch (err) {
        this.o.log.warn(
          { ...st.tp, err: (err as Error).message },
          'moving capture time of a quiet partition failed; rebuilding the partition from its committed offset',
        );
        // What the tick released may not be written: rebuild from the committed offset and metadata.
        // Fetching the last committed message again makes sure a batch comes to do it.
        this.reset(st.tp);
        if (!this.o.signal.aborted) {
          const from = st.committedNext > 0n ? st.committedNext - 1n : 0n;
          try {
            this.o.consumer.seek({ ...st.tp, offset: String(from) });
          } catch {
            // not assigned any more: the next owner starts from the committed offset anyway
          }
        }
      } finally {
        st.ticking = null;
      }
    }
  }

  /** Move `st`'s capture time to `us` after offset `after`; write what that releases, then commit. */
  private async writeTick(st: PartitionState, after: bigint, us: number): Promise<void> {
    // Every source is silent: what the source merge holds goes to the engine first, then time moves.
    const flushed = await this.runMerged(st, st.merge?.flush() ?? null, true);
    const r = await this.o.pool.advance(st.engine!, us, true);
    if (flushed) {
      r.events.unshift(...flushed.events);
      r.flows.unshift(...flushed.flows);
    }
    if (r.events.length > 0 || r.flows.length > 0) {
      st.tick = { after, us, pending: true };
      await this.o.consumer.commitOffsets([
        { ...st.tp, offset: String(st.committedNext), metadata: this.metadata(st) },
      ]);
      const t0 = performance.now();
      await this.o.writer.write(
        {
          token: `${st.tp.topic}:${st.tp.partition}:tick-${after}-${us}`,
          events: r.events,
          flows: r.flows,
          sensorStats: [],
          headerBatches: [],
        },
        {
          pause: () => this.o.consumer.pause([{ topic: st.tp.topic, partitions: [st.tp.partition] }]),
          resume: () => this.o.consumer.resume([{ topic: st.tp.topic, partitions: [st.tp.partition] }]),
          signal: this.o.signal,
        },
      );
      await this.o.events?.publish(r.events, this.o.signal);
      this.o.metrics.unitWritten(st.tp, r.events.length, r.flows.length, performance.now() - t0);
      // (the flushed headers' events were counted when they ran)
      this.o.metrics.headers(st.tp, 0, flushed ? r.events.slice(flushed.events.length) : r.events);
    }
    st.tick = { after, us, pending: false };
    if (st.merge) st.mergeCommitted = st.merge.snapshot();
    if (st.revoked) return;
    await this.o.consumer.commitOffsets([
      { ...st.tp, offset: String(st.committedNext), metadata: this.metadata(st) },
    ]);
  }

  private async eachBatch(batch: Batch): Promise<void> {
    if (this.o.signal.aborted) return;
    const st = await this.state(batch);
    if (st === 'seeked') return;
    while (st.ticking) await st.ticking.catch(() => {});
    const hw = BigInt(batch.highWatermark);
    if (hw > st.highWatermark) st.highWatermark = hw;
    st.busy = true;
    try {
      await this.eachMessage(batch, st);
    } finally {
      st.busy = false;
      st.lastActivityMs = performance.now();
    }
  }

  private async eachMessage(batch: Batch, st: PartitionState): Promise<void> {
    for (const m of batch.messages) {
      if (st.revoked || !batch.isRunning() || batch.isStale()) return;
      // Shutting down: take no more messages, but write the open unit below.
      if (this.o.signal.aborted) break;
      const offset = BigInt(m.offset);
      if (offset < st.start || offset < st.next) continue;
      st.next = offset + 1n;
      if (offset < st.committed) {
        // Warm-up: replay what earlier owners already wrote, silently, to rebuild flow state.
        if (st.engine) await this.processHeaders(st, m, false);
        // The previous owner's merge state at its committed offset (before a tick recorded at this offset).
        if (offset === st.committed - 1n) await this.restoreMerge(st);
        const t = st.replayTick;
        if (t && offset === t.after && st.engine) {
          // The earlier owner moved capture time here; a pending tick is written again (same token).
          st.replayTick = null;
          if (t.pending) await this.writeTick(st, t.after, t.us);
          else {
            await this.runMerged(st, st.merge?.flush() ?? null, false);
            await this.o.pool.advance(st.engine, t.us, false);
          }
        }
        continue;
      }
      if (st.mergeRestore) await this.restoreMerge(st);
      st.unit ??= {
        first: m.offset,
        last: m.offset,
        events: [],
        flows: [],
        sensorStats: [],
        headerBatches: [],
        count: 0,
      };
      const u = st.unit;
      u.last = m.offset;
      u.count++;
      if (st.engine) {
        const out = await this.processHeaders(st, m, true);
        if (out) {
          for (const e of out.events) u.events.push(e);
          for (const f of out.flows) u.flows.push(f);
          u.headerBatches.push(out.batch);
        }
      } else {
        const row = await this.processSensorStats(st, m);
        if (row) u.sensorStats.push(row);
      }
      // A pending intent fixes where the first unit ends; otherwise units are capped in size.
      if (st.intentEnd !== null ? offset >= st.intentEnd : u.count >= this.unitMaxMessages) {
        await this.writeUnit(batch, st);
      }
    }
    // End of the fetched batch (or shutdown): write what we have, unless a pending intent says the unit
    // goes on.
    if (st.unit && st.intentEnd === null && !st.revoked && !batch.isStale()) await this.writeUnit(batch, st);
  }

  /** Write the partition's open unit: record the intent, insert, then commit past it. */
  private async writeUnit(batch: Batch, st: PartitionState): Promise<void> {
    const u = st.unit!;
    const token = `${st.tp.topic}:${st.tp.partition}:${u.first}-${u.last}`;
    const next = String(BigInt(u.last) + 1n);
    // The merge state after `last` (what a new owner restores at `next`); the intent keeps the one at `first`.
    const mergeNext = st.merge ? st.merge.snapshot() : '';
    await this.o.consumer.commitOffsets([
      { ...st.tp, offset: u.first, metadata: this.metadata(st, `${u.first}-${u.last}`) },
    ]);
    const t0 = performance.now();
    await this.o.writer.write(
      { token, events: u.events, flows: u.flows, sensorStats: u.sensorStats, headerBatches: u.headerBatches },
      {
        onRetry: () => batch.heartbeat().catch(() => {}),
        pause: () => this.o.consumer.pause([{ topic: st.tp.topic, partitions: [st.tp.partition] }]),
        resume: () => this.o.consumer.resume([{ topic: st.tp.topic, partitions: [st.tp.partition] }]),
        signal: this.o.signal,
      },
    );
    await this.o.events?.publish(u.events, this.o.signal);
    this.o.metrics.unitWritten(st.tp, u.events.length, u.flows.length, performance.now() - t0);
    st.unit = null;
    if (st.revoked) return;
    if (st.merge) st.mergeCommitted = mergeNext;
    await this.o.consumer.commitOffsets([{ ...st.tp, offset: next, metadata: this.metadata(st) }]);
    st.committedNext = BigInt(next);
    st.intentEnd = null;
    batch.resolveOffset(u.last);
    this.o.metrics.lag(st.tp, BigInt(batch.highWatermark) - BigInt(u.last) - 1n);
    await batch.heartbeat().catch(() => {});
  }

  private async processHeaders(
    st: PartitionState,
    m: ConsumedMessage,
    emit: boolean,
  ): Promise<{ events: RstEvent[]; flows: FlowRecord[]; batch: HeaderBatchRow } | null> {
    const decoded = await this.decodeHeaders(st, m, emit);
    if (decoded === null) return null;
    const { meta, columns } = decoded;
    if (!this.admitHeaders(st, m, meta, emit)) return null;
    if (columns.length > 0) {
      const ts = columns.tsUs[columns.length - 1]!;
      if (ts > st.lastTsUs) st.lastTsUs = ts;
    }
    const r = st.merge
      ? await this.mergeHeaders(st, m, meta.sensorId, columns, emit)
      : await this.engineHeaders(st, m, meta.sensorId, columns, emit);
    if (r === null || !emit) return null;
    const batch: HeaderBatchRow = {
      sensor: meta.sensorId,
      batch_seq: String(meta.batchSeq),
      topic: st.tp.topic,
      partition: st.tp.partition,
      offset: m.offset,
      headers: meta.count,
      first_ts: formatTsUs(meta.baseTsUs),
      received_at: formatTsUs(Number(m.timestamp) * 1000),
    };
    return { events: r.events, flows: r.flows, batch };
  }

  /** The message's HeaderBatch, or null when there is none (dead-lettered when `emit`). */
  private async decodeHeaders(
    st: PartitionState,
    m: ConsumedMessage,
    emit: boolean,
  ): Promise<ReturnType<typeof decodeHeaderBatch> | null> {
    if (!m.value || m.value.length === 0) {
      if (emit) await this.deadLetter(st.tp, m, 'empty', 'message has no value');
      return null;
    }
    try {
      return decodeHeaderBatch(m.value);
    } catch (err) {
      if (emit) {
        const reason = err instanceof WireError ? err.reason : 'decode_failed';
        await this.deadLetter(st.tp, m, reason, (err as Error).message);
      }
      return null;
    }
  }

  /** False for a batch the agent sent twice (see batch-seq.ts); an agent restart is logged. */
  private admitHeaders(
    st: PartitionState,
    m: ConsumedMessage,
    meta: HeaderBatchMeta,
    emit: boolean,
  ): boolean {
    const verdict = admitBatch(
      st.seqs,
      meta.sensorId,
      meta.batchSeq,
      batchIdentity(meta.baseTsUs, meta.count, m.value!.length),
    );
    const where = { ...st.tp, offset: m.offset, sensor: meta.sensorId, batchSeq: String(meta.batchSeq) };
    if (verdict === 'duplicate') {
      // Sent twice by the agent: the original was processed (and written) already.
      if (emit) {
        this.o.metrics.duplicateBatch(st.tp);
        this.o.log.debug(where, 'duplicate header batch skipped');
      }
      return false;
    }
    if (verdict === 'restart' && emit) {
      this.o.log.info(where, 'batch_seq went back with a new batch: the agent restarted');
    }
    return true;
  }

  /** Through the source merge: what it releases now (maybe other messages' headers, maybe none of these). */
  private async mergeHeaders(
    st: PartitionState,
    m: ConsumedMessage,
    sensor: string,
    columns: HeaderColumns,
    emit: boolean,
  ): Promise<{ events: RstEvent[]; flows: FlowRecord[] }> {
    const rel = st.merge!.push(BigInt(m.offset), sensor, Number(m.timestamp), columns);
    if (rel.late && emit) {
      for (const [late, n] of rel.late) {
        this.o.metrics.lateHeaders(late, n);
        this.o.log.debug(
          { ...st.tp, offset: m.offset, sensor: late, late: n },
          'headers later than the source merge',
        );
      }
    }
    return (await this.runMerged(st, rel, emit, m)) ?? { events: [], flows: [] };
  }

  /** Straight to the engine; null when it failed on the batch (dead-lettered when `emit`). */
  private async engineHeaders(
    st: PartitionState,
    m: ConsumedMessage,
    sensor: string,
    columns: HeaderColumns,
    emit: boolean,
  ): Promise<{ events: RstEvent[]; flows: FlowRecord[] } | null> {
    let b: Awaited<ReturnType<EnginePool['process']>>;
    try {
      b = await this.o.pool.process(st.engine!, columns, sensor, emit);
    } catch (err) {
      // A batch the engine cannot process must not stop the partition (it would fail again on every
      // re-delivery); at shutdown the pool itself may be gone, then the batch is simply not done.
      if (this.o.signal.aborted) throw err;
      if (emit) await this.deadLetter(st.tp, m, 'process_failed', (err as Error).message);
      return null;
    }
    this.o.metrics.headers(st.tp, b.headers, emit ? b.events : []);
    if (emit) {
      this.o.metrics.sensorRealities(b.sensors);
      this.o.metrics.evicted(b.evictions);
    }
    return b;
  }

  /**
   * Run what the source merge released through the engine, run by run. A run the engine fails on is
   * dead-lettered with the message being processed (if any) and the rest go on.
   */
  private async runMerged(
    st: PartitionState,
    rel: MergeRelease | null,
    emit: boolean,
    m?: ConsumedMessage,
  ): Promise<{ events: RstEvent[]; flows: FlowRecord[] } | null> {
    if (!rel || rel.runs.length === 0) return null;
    const out: { events: RstEvent[]; flows: FlowRecord[] } = { events: [], flows: [] };
    for (const run of rel.runs) {
      let b: Awaited<ReturnType<EnginePool['process']>>;
      try {
        b = await this.o.pool.process(st.engine!, run.cols, run.sensor, emit);
      } catch (err) {
        if (this.o.signal.aborted) throw err;
        if (emit && m) await this.deadLetter(st.tp, m, 'process_failed', (err as Error).message);
        else if (emit) this.o.log.warn({ ...st.tp, err: (err as Error).message }, 'merged headers failed');
        continue;
      }
      this.o.metrics.headers(st.tp, b.headers, emit ? b.events : []);
      if (emit) {
        this.o.metrics.sensorRealities(b.sensors);
        this.o.metrics.evicted(b.evictions);
      }
      for (const e of b.events) out.events.push(e);
      for (const f of b.flows) out.flows.push(f);
    }
    return out;
  }

  /** At the committed offset: take the merge state the previous owner recorded there (silently). */
  private async restoreMerge(st: PartitionState): Promise<void> {
    const want = st.mergeRestore;
    st.mergeRestore = null;
    if (!st.merge || !want) return;
    await this.runMerged(st, st.merge.restore(want.snap, want.fresh), false);
  }

  private async processSensorStats(st: PartitionState, m: ConsumedMessage): Promise<SensorStatsRow | null> {
    let s: SensorStats;
    try {
      if (!m.value) throw new WireError('truncated', 'message has no value');
      s = decodeSensorStats(m.value);
    } catch (err) {
      const reason = err instanceof WireError ? err.reason : 'decode_failed';
      await this.deadLetter(st.tp, m, reason, (err as Error).message);
      return null;
    }
    return sensorStatsRow(s);
  }

  private async deadLetter(
    tp: TopicPartition,
    m: ConsumedMessage,
    reason: string,
    error: string,
  ): Promise<void> {
    this.o.metrics.deadLetter(tp, reason);
    this.o.log.warn(
      { ...tp, offset: m.offset, reason, error },
      'undecodable message sent to the dead-letter topic',
    );
    await this.o.dlq.send(this.dlqTopic, [
      {
        ...(m.key ? { key: m.key } : {}),
        value: m.value ?? new Uint8Array(0),
        headers: {
          'rstwatch-error': error.slice(0, 1000),
          'rstwatch-reason': reason,
          'rstwatch-topic': tp.topic,
          'rstwatch-partition': String(tp.partition),
          'rstwatch-offset': m.offset,
        },
      },
    ]);
  }
}

/** A heartbeat as a `sensor_stats` row. */
export function sensorStatsRow(s: SensorStats): SensorStatsRow {
  return {
    ts: formatTsUs(s.tsUs),
    sensor: s.sensorId,
    agent_version: s.agentVersion,
    uptime_ms: s.uptimeMs,
    packets: s.packetsSeen,
    tcp_headers: s.tcpHeaders,
    kernel_drops: s.kernelDrops,
    kernel_if_drops: s.kernelIfDrops,
    parse_errors: s.parseErrors,
    batches: s.batchesSent,
    bytes: s.bytesSent,
    headers_sent: s.headersSent,
    send_failures: s.sendFailures,
    agent_drops: s.headersDropped,
    last_batch_seq: Number(s.lastBatchSeq),
    // Deprecated (always 0): the sensor-health query computes lost batches from header_batches.
    lost_batches: 0,
    agent_batch_drops: s.batchesDropped ?? {},
  };
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

export type { StoreClient };
