/**
 * Bounded send buffer in front of the Kafka producer. Encoded batches queue here in production order;
 * one produce request is in flight at a time (the idempotent producer's ordering guarantee), failed
 * requests are retried with exponential backoff, and when the buffer is full new batches are dropped
 * whole and counted instead of growing memory. In `block` mode (file replay at full speed) the caller
 * waits for room instead.
 *
 * A failed request is retried with exactly the same batches, never regrouped with batches queued
 * since: the broker may have written it before the failure (a broker stopping or a lost response), and
 * an idempotent producer's resend is recognised as a duplicate only if it carries the same sequence
 * numbers and record counts per partition. Regrouped, the resend starts at the same sequence with more
 * records, and the broker refuses it, and every resend after it, as out of order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Component, deadlineIn, untilDeadline, withDefaults } from '@rstwatch/core';
import { producerStateLost } from '@rstwatch/kafka';
import { SENDER_DEFAULTS } from './config.js';
import type { AgentStats, BatchDropReason, ProducerReplaceReason } from './stats.js';

/** One Kafka record as the producer takes it. */
export interface OutMessage {
  key?: Buffer;
  value: Buffer;
  partition?: number;
}

/** The part of `@rstwatch/kafka`'s producer the sender uses. */
export interface ProducerPort {
  send(topic: string, messages: OutMessage[]): Promise<unknown>;
}

/** A batch waiting to be sent. */
export interface PendingBatch {
  partition: number;
  key: Buffer;
  value: Buffer;
  headers: number;
  seq: bigint;
}

/** Settings of a sender; the optional ones default to `SENDER_DEFAULTS` (config.ts). */
export interface SenderConfig {
  topic: string;
  /** Most encoded bytes held (queued + in flight). */
  bufferMaxBytes: number;
  /** Most bytes per produce request (several batches are grouped up to this). */
  maxRequestBytes?: number;
  /** A request that neither succeeds nor fails within this time is abandoned as stuck (0 = never). */
  sendTimeoutMs?: number;
  /** Retry backoff after a failed request: first delay, doubling up to `backoffMaxMs`. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Most time `stop()` without a deadline spends sending what is buffered. */
  shutdownTimeoutMs?: number;
}

export interface SenderDeps {
  producer: ProducerPort;
  /**
   * Called when the producer cannot go on: a request was stuck, or the broker refused the producer's
   * idempotence state (out-of-order sequence, unknown producer id, fenced epoch; the kafkajs producer
   * never recovers from those). May return a fresh producer (a new producer id); the same batches are
   * then sent again on it (at least once: the processor drops a duplicate by its (sensor id, batchSeq)).
   * Without a fresh producer the batches are retried on the old one.
   */
  replaceProducer?: (reason: ProducerReplaceReason) => Promise<ProducerPort | undefined>;
}

export interface SenderTelemetry {
  stats: AgentStats;
  /** Called on send failures (rate-limit on the caller side if needed). */
  onError?: (err: unknown, attempt: number) => void;
  /** Called once after a failure when a send succeeds again. */
  onRecovered?: (failedAttempts: number) => void;
}

export class BufferedSender implements Component {
  private readonly opts: Required<SenderConfig> & SenderDeps & SenderTelemetry;
  private producer: ProducerPort;
  /** Requests abandoned as stuck. */
  stuck = 0;
  private readonly queue: PendingBatch[] = [];
  private head = 0;
  /** End (exclusive) of the request that failed and must be resent as is; -1 when none. */
  private retryEnd = -1;
  private bytes = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private abortBackoff = new AbortController();
  private failedAttempts = 0;
  private stopped: Promise<void> | undefined;
  private leftAtStop = 0;

  constructor(config: SenderConfig, deps: SenderDeps, telemetry: SenderTelemetry) {
    this.opts = { ...withDefaults(SENDER_DEFAULTS, config), ...deps, ...telemetry };
    this.producer = deps.producer;
  }

  /** After `stop()`: true when everything buffered was sent (nothing counted as dropped at shutdown). */
  get complete(): boolean {
    return this.leftAtStop === 0;
  }

  /** Batches waiting (including the request in flight). */
  get bufferedBatches(): number {
    return this.queue.length - this.head;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Consecutive failed attempts of the current request (0 when sending normally). */
  get failing(): number {
    return this.failedAttempts;
  }

  /** Queue a batch. Returns false when it was dropped (counted under `buffer_full` or `too_large`). */
  offer(b: PendingBatch): boolean {
    const n = b.value.length;
    if (n > this.opts.bufferMaxBytes) {
      this.drop(b, 'too_large');
      return false;
    }
    if (this.bytes + n > this.opts.bufferMaxBytes) {
      this.drop(b, 'buffer_full');
      return false;
    }
    this.queue.push(b);
    this.bytes += n;
    this.syncStats();
    this.wake?.();
    return true;
  }

  /** Queue a batch even over the limit (block mode: the source waits for room before the next one). */
  offerForced(b: PendingBatch): void {
    this.queue.push(b);
    this.bytes += b.value.length;
    this.syncStats();
    this.wake?.();
  }

  /** True when `bytes` more would fit now. */
  hasRoom(bytes: number): boolean {
    return this.bytes + bytes <= this.opts.bufferMaxBytes || this.bufferedBatches === 0;
  }

  /** Resolves when at least `bytes` fit (or the buffer is empty). For block mode. */
  async waitForRoom(bytes: number): Promise<void> {
    while (!this.hasRoom(bytes)) await new Promise<void>((r) => this.spaceWaiters.push(r));
  }

  /** Count a batch as dropped without queueing it. */
  drop(b: Pick<PendingBatch, 'headers'>, reason: BatchDropReason): void {
    this.opts.stats.batchesDropped[reason]++;
    this.opts.stats.headersDropped[reason] += b.headers;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abortBackoff = new AbortController();
    this.loop = this.run();
  }

  /**
   * Send what is buffered until empty or `deadline` (epoch ms; default `shutdownTimeoutMs` from now),
   * then stop. Batches still buffered at the deadline are counted as dropped (`shutdown`); `complete`
   * tells whether everything was sent. Idempotent.
   */
  stop(deadline: number = deadlineIn(this.opts.shutdownTimeoutMs)): Promise<void> {
    this.stopped ??= this.doStop(deadline);
    return this.stopped;
  }

  private async doStop(deadline: number): Promise<void> {
    if (this.bufferedBatches > 0 && this.running) {
      const idle = new Promise<void>((r) => this.idleWaiters.push(r));
      await untilDeadline(idle, deadline);
    }
    this.running = false;
    this.abortBackoff.abort();
    this.wake?.();
    const left = this.bufferedBatches;
    for (let i = this.head; i < this.queue.length; i++) this.drop(this.queue[i]!, 'shutdown');
    this.queue.length = 0;
    this.head = 0;
    this.retryEnd = -1;
    this.bytes = 0;
    this.syncStats();
    this.notifySpace();
    this.leftAtStop = left;
    // The loop may be stuck in a produce request to a dead broker; do not wait for it past the deadline.
    if (this.loop !== undefined) await Promise.race([this.loop, sleep(100, undefined, { ref: false })]);
  }

  /** Swap in a fresh producer from `replaceProducer` (counted by reason); keeps the old one if none. */
  private async replace(reason: ProducerReplaceReason): Promise<void> {
    const fresh = await this.opts.replaceProducer?.(reason).catch(() => undefined);
    if (fresh === undefined) return;
    this.producer = fresh;
    this.opts.stats.producerReplacements[reason]++;
  }

  private syncStats(): void {
    this.opts.stats.bufferedBatches = this.bufferedBatches;
    this.opts.stats.bufferedBytes = this.bytes;
  }

  private notifySpace(): void {
    const w = this.spaceWaiters;
    if (w.length === 0) return;
    this.spaceWaiters = [];
    for (const r of w) r();
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.bufferedBatches === 0) {
        this.notifyIdle();
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
        continue;
      }
      const end = this.requestEnd();
      const group = this.queue.slice(this.head, end);
      try {
        await this.send(group);
      } catch (err) {
        if (!this.running) return;
        this.retryEnd = end;
        await this.backOff(err);
        continue;
      }
      if (!this.running && this.queue.length === 0) return; // drained and dropped meanwhile
      this.acknowledged(group, end);
    }
  }

  /**
   * End (exclusive) of the next request: consecutive batches up to `maxRequestBytes`, or exactly the
   * failed request again.
   */
  private requestEnd(): number {
    if (this.retryEnd >= 0) return this.retryEnd;
    let end = this.head;
    let reqBytes = 0;
    while (end < this.queue.length) {
      const n = this.queue[end]!.value.length;
      if (end > this.head && reqBytes + n > this.opts.maxRequestBytes) break;
      reqBytes += n;
      end++;
    }
    return end;
  }

  /** One produce request; a request unanswered for `sendTimeoutMs` is abandoned (throws) as stuck. */
  private async send(group: PendingBatch[]): Promise<void> {
    const sent = this.producer.send(
      this.opts.topic,
      group.map((b) => ({ key: b.key, value: b.value, partition: b.partition })),
    );
    const limit = this.opts.sendTimeoutMs;
    if (limit <= 0) {
      await sent;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((r) => {
      timer = setTimeout(() => r('stuck'), limit);
    });
    sent.catch(() => {}); // may settle after being abandoned
    const r = await Promise.race([sent, stuck]).finally(() => clearTimeout(timer));
    if (r === 'stuck') {
      this.stuck++;
      await this.replace('stuck');
      throw new Error(`produce request to ${this.opts.topic} unanswered after ${limit} ms; sending again`);
    }
  }

  /** After a failed request: replace a producer whose state the broker refused, count, wait the backoff. */
  private async backOff(err: unknown): Promise<void> {
    if (producerStateLost(err)) await this.replace('producer_state');
    this.opts.stats.sendFailures++;
    this.failedAttempts++;
    this.opts.onError?.(err, this.failedAttempts);
    const delay = Math.min(
      this.opts.backoffMaxMs,
      this.opts.backoffInitialMs * 2 ** Math.min(this.failedAttempts - 1, 20),
    );
    try {
      await sleep(delay * (0.8 + 0.4 * Math.random()), undefined, { signal: this.abortBackoff.signal });
    } catch {
      // aborted by stop
    }
  }

  /** The request `group` (up to `end`) was acknowledged: count it and free its room. */
  private acknowledged(group: PendingBatch[], end: number): void {
    const stats = this.opts.stats;
    this.retryEnd = -1;
    if (this.failedAttempts > 0) {
      this.opts.onRecovered?.(this.failedAttempts);
      this.failedAttempts = 0;
    }
    for (const b of group) {
      stats.batchesSent++;
      stats.headersSent += b.headers;
      stats.bytesSent += b.value.length;
      stats.lastAckedSeq = b.seq;
      this.bytes -= b.value.length;
    }
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.syncStats();
    this.notifySpace();
  }
}
