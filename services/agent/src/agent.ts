/**
 * The agent component: capture source -> partition batcher -> wire encoder -> bounded sender -> Kafka,
 * plus a heartbeat of its counters. `start()` connects and begins capturing, `stop()` stops the capture,
 * flushes what is buffered within a deadline, publishes a final heartbeat and returns.
 */

import type { CaptureSource } from '@rstwatch/capture';
import {
  type Component,
  deadlineIn,
  type HeaderColumns,
  msLeft,
  untilDeadline,
  type WithDefaults,
  withDefaults,
} from '@rstwatch/core';
import { keyBytes, PartitionBatcher } from './batcher.js';
import { AGENT_DEFAULTS } from './config.js';
import { BufferedSender, type ProducerPort } from './sender.js';
import { type AgentStats, createAgentStats, type ProducerReplaceReason } from './stats.js';

/** The part of `@rstwatch/kafka`'s producer the agent uses. */
export interface AgentProducer extends ProducerPort {
  /** Number of partitions of `topic`. */
  partitionsFor(topic: string): Promise<number>;
}

/** Wire encoders (from `@rstwatch/wire`), injected so the agent is testable without the codec. */
export interface AgentCodec {
  encodeHeaderBatch(meta: { sensorId: string; batchSeq: bigint }, cols: HeaderColumns): Uint8Array;
  encodeSensorStats(snapshot: HeartbeatSnapshot): Uint8Array;
}

/** Minimal structured logger (pino-compatible). */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Everything a heartbeat reports: cumulative counters since the agent started. */
export interface HeartbeatSnapshot {
  sensorId: string;
  /** Wall-clock time of the snapshot, ms since the epoch. */
  timeMs: number;
  startedMs: number;
  packets: number;
  tcpHeaders: number;
  notTcp: number;
  kernelReceived: number;
  kernelDrops: number;
  ifDrops: number;
  parseDrops: Record<string, number>;
  batchesSent: number;
  headersSent: number;
  bytesSent: number;
  sendFailures: number;
  batchesDropped: Record<string, number>;
  headersDropped: Record<string, number>;
  bufferedBatches: number;
  bufferedBytes: number;
  lastBatchSeq: bigint;
  lastAckedSeq: bigint;
  final: boolean;
}

/** Settings of the agent component; the optional ones default to `AGENT_DEFAULTS` / `SENDER_DEFAULTS` (config.ts). */
export interface AgentConfig {
  sensorId: string;
  /** Headers topic (`rstwatch.headers.v1`). */
  topic: string;
  /** Heartbeat topic (`rstwatch.sensors.v1`). */
  statsTopic: string;
  maxHeaders: number;
  maxBytes: number;
  lingerMs: number;
  bufferMaxBytes: number;
  /** Seconds between heartbeats (0 disables periodic ones; the final one is always sent). */
  heartbeatIntervalS: number;
  /** Most time `stop()` without a deadline spends flushing. */
  shutdownTimeoutMs?: number;
  /** `drop` when the buffer is full (live), or `block` the source (file replay). Default from the source. */
  overflow?: 'drop' | 'block';
  /** Override the partition count instead of asking the broker (tests). */
  partitions?: number;
  /** A produce request unanswered this long is abandoned and sent again (0 = wait forever). */
  sendTimeoutMs?: number;
  /** Most bytes per produce request (several batches are grouped). */
  maxRequestBytes?: number;
  /** Retry backoff: first delay, doubling up to `backoffMaxMs`. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface AgentDeps {
  source: CaptureSource;
  producer: AgentProducer;
  /**
   * Replaces a producer whose request stayed unanswered for `sendTimeoutMs`, or whose idempotence state
   * the broker refused (disconnect the old one, connect a new one). Without it the request is simply
   * sent again on the same producer.
   */
  reconnect?: () => Promise<AgentProducer>;
  codec: AgentCodec;
}

export interface AgentTelemetry {
  logger?: AgentLogger;
}

const noLog: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class Agent implements Component {
  readonly stats: AgentStats = createAgentStats();
  private readonly opts: WithDefaults<typeof AGENT_DEFAULTS, AgentConfig>;
  private readonly deps: AgentDeps;
  private readonly log: AgentLogger;
  private batcher: PartitionBatcher | undefined;
  private sender: BufferedSender | undefined;
  private readonly captureAbort = new AbortController();
  private capture: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private nextSeq = 0n;
  private startedMs = 0;
  private block = false;
  private stopped: Promise<void> | undefined;
  private captureError: unknown;
  private lastFailLog = 0;
  private heartbeatPending: Promise<boolean> | undefined;
  private producer: AgentProducer;

  constructor(config: AgentConfig, deps: AgentDeps, telemetry: AgentTelemetry = {}) {
    this.opts = withDefaults(AGENT_DEFAULTS, config);
    this.deps = deps;
    this.log = telemetry.logger ?? noLog;
    this.producer = deps.producer;
  }

  /** Partitions of the headers topic in use (after `start`). */
  get partitions(): number {
    return this.batcher?.partitions ?? 0;
  }

  /** The capture's outcome: resolves when the source ends (end of file), rejects if it failed. */
  get captureDone(): Promise<void> {
    if (this.capture === undefined) throw new Error('agent not started');
    return this.capture;
  }

  /** Error that ended the capture, if any. */
  get error(): unknown {
    return this.captureError;
  }

  async start(): Promise<void> {
    const o = this.opts;
    this.startedMs = Date.now();
    let partitions = o.partitions;
    if (partitions === undefined) {
      try {
        partitions = await this.producer.partitionsFor(o.topic);
      } catch (err) {
        throw new Error(`reading the partitions of topic ${o.topic}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    this.block = (o.overflow ?? (this.deps.source.live ? 'drop' : 'block')) === 'block';
    this.sender = new BufferedSender(
      {
        topic: o.topic,
        bufferMaxBytes: o.bufferMaxBytes,
        ...(o.sendTimeoutMs !== undefined ? { sendTimeoutMs: o.sendTimeoutMs } : {}),
        ...(o.maxRequestBytes !== undefined ? { maxRequestBytes: o.maxRequestBytes } : {}),
        ...(o.backoffInitialMs !== undefined ? { backoffInitialMs: o.backoffInitialMs } : {}),
        ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
      },
      { producer: this.producer, replaceProducer: (reason) => this.replaceProducer(reason) },
      {
        stats: this.stats,
        onError: (err, attempt) => this.onSendError(err, attempt),
        onRecovered: (attempts) => this.log.info({ failedAttempts: attempts }, 'sending to Kafka again'),
      },
    );
    this.batcher = new PartitionBatcher({
      partitions,
      maxHeaders: o.maxHeaders,
      maxBytes: o.maxBytes,
      lingerMs: o.lingerMs,
      onFlush: (p, cols, keyHash) => this.flushBatch(p, cols, keyHash),
    });
    await this.sender.start();
    this.startTimers();
    this.startCapture(partitions);
  }

  private async replaceProducer(reason: ProducerReplaceReason): Promise<AgentProducer | undefined> {
    const make = this.deps.reconnect;
    this.log.warn(
      { reason, reconnect: make !== undefined },
      reason === 'stuck'
        ? 'produce request unanswered; replacing the Kafka producer'
        : 'the broker refused the producer state (idempotent sequence); replacing the Kafka producer',
    );
    if (make === undefined) return undefined;
    try {
      this.producer = await make();
      return this.producer;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'reconnecting to Kafka failed; retrying later');
      return undefined;
    }
  }

  private onSendError(err: unknown, attempt: number): void {
    const now = Date.now();
    if (attempt === 1 || now - this.lastFailLog > 10_000) {
      this.lastFailLog = now;
      this.log.warn(
        { err: (err as Error).message, attempt, bufferedBytes: this.stats.bufferedBytes },
        'sending to Kafka failed; buffering and retrying',
      );
    }
  }

  /** The linger tick of the batcher and the periodic heartbeat. */
  private startTimers(): void {
    const o = this.opts;
    const tick = Math.max(5, Math.min(100, Math.floor(o.lingerMs / 2)));
    this.lingerTimer = setInterval(() => this.batcher?.tick(), tick);
    this.lingerTimer.unref();
    if (o.heartbeatIntervalS > 0) {
      // One heartbeat in flight at a time: while Kafka is down they would otherwise pile up.
      this.heartbeatTimer = setInterval(() => {
        if (this.heartbeatPending !== undefined) return;
        this.heartbeatPending = this.heartbeat(false).finally(() => {
          this.heartbeatPending = undefined;
        });
      }, o.heartbeatIntervalS * 1000);
      this.heartbeatTimer.unref();
    }
  }

  private startCapture(partitions: number): void {
    const src = this.deps.source;
    this.log.info(
      { source: src.describe, partitions, topic: this.opts.topic, block: this.block },
      'capture starting',
    );
    this.capture = src
      .run((b) => this.onHeaders(b), this.captureAbort.signal)
      .then(
        () => {
          this.batcher?.flushAll();
          this.syncSourceStats();
          this.log.info({ packets: this.stats.packets, tcpHeaders: this.stats.tcpHeaders }, 'capture ended');
        },
        (err: unknown) => {
          this.captureError = err;
          this.batcher?.flushAll();
          throw err;
        },
      );
    // Keep an unhandled rejection from crashing the process: callers read `captureDone`/`error`.
    this.capture.catch(() => {});
  }

  /**
   * Stop capturing, send what is buffered until `deadline` (epoch ms; default `shutdownTimeoutMs` from
   * now), publish a final heartbeat (given at least 2 s). Idempotent.
   */
  stop(deadline: number = deadlineIn(this.opts.shutdownTimeoutMs)): Promise<void> {
    this.stopped ??= this.doStop(deadline);
    return this.stopped;
  }

  /** Copy the source's counters into `stats`. */
  syncSourceStats(): void {
    const src = this.deps.source;
    let ps: ReturnType<CaptureSource['parseStats']> | undefined;
    try {
      ps = src.parseStats();
    } catch {
      ps = undefined;
    }
    if (ps !== undefined) {
      this.stats.packets = ps.packets;
      this.stats.notTcp = ps.notTcp;
      this.stats.parseDrops = { ...ps.drops };
    }
    const k = src.kernelStats();
    if (k !== undefined) {
      this.stats.kernelReceived = k.received;
      this.stats.kernelDrops = k.dropped;
      this.stats.ifDrops = k.ifDropped;
    }
  }

  /** Current counters as a heartbeat. */
  snapshot(final = false): HeartbeatSnapshot {
    this.syncSourceStats();
    const s = this.stats;
    return {
      sensorId: this.opts.sensorId,
      timeMs: Date.now(),
      startedMs: this.startedMs,
      packets: s.packets,
      tcpHeaders: s.tcpHeaders,
      notTcp: s.notTcp,
      kernelReceived: s.kernelReceived,
      kernelDrops: s.kernelDrops,
      ifDrops: s.ifDrops,
      parseDrops: { ...s.parseDrops },
      batchesSent: s.batchesSent,
      headersSent: s.headersSent,
      bytesSent: s.bytesSent,
      sendFailures: s.sendFailures,
      batchesDropped: { ...s.batchesDropped },
      headersDropped: { ...s.headersDropped },
      bufferedBatches: s.bufferedBatches,
      bufferedBytes: s.bufferedBytes,
      lastBatchSeq: s.lastBatchSeq,
      lastAckedSeq: s.lastAckedSeq,
      final,
    };
  }

  /** Publish one heartbeat now (not through the bounded buffer: it is small and cumulative). */
  async heartbeat(final: boolean): Promise<boolean> {
    const snap = this.snapshot(final);
    try {
      const value = this.deps.codec.encodeSensorStats(snap);
      await this.producer.send(this.opts.statsTopic, [
        { key: Buffer.from(this.opts.sensorId), value: toBuffer(value) },
      ]);
      this.stats.heartbeatsSent++;
      return true;
    } catch (err) {
      this.stats.heartbeatFailures++;
      this.log.debug({ err: (err as Error).message }, 'heartbeat not sent');
      return false;
    }
  }

  private onHeaders(b: HeaderColumns): void | Promise<void> {
    if (this.block && !this.sender!.hasRoom(1)) {
      return this.sender!.waitForRoom(1).then(() => this.addHeaders(b));
    }
    this.addHeaders(b);
  }

  private addHeaders(b: HeaderColumns): void {
    this.stats.tcpHeaders += b.length;
    this.batcher!.addBatch(b);
  }

  private flushBatch(partition: number, cols: HeaderColumns, keyHash: number): void {
    const seq = this.nextSeq++;
    this.stats.lastBatchSeq = seq;
    let value: Uint8Array;
    try {
      value = this.deps.codec.encodeHeaderBatch({ sensorId: this.opts.sensorId, batchSeq: seq }, cols);
    } catch (err) {
      this.sender!.drop({ headers: cols.length }, 'encode_error');
      this.log.error(
        { err: (err as Error).message, partition, headers: cols.length },
        'encoding a batch failed',
      );
      return;
    }
    const batch = { partition, key: keyBytes(keyHash), value: toBuffer(value), headers: cols.length, seq };
    if (this.block) this.sender!.offerForced(batch);
    else this.sender!.offer(batch);
  }

  private async doStop(deadline: number): Promise<void> {
    this.captureAbort.abort();
    // A source that does not end on abort is left behind at the deadline.
    if (this.capture !== undefined)
      await untilDeadline(
        this.capture.catch(() => {}),
        deadline,
      );
    clearInterval(this.lingerTimer);
    clearInterval(this.heartbeatTimer);
    this.batcher?.flushAll();
    let complete = true;
    if (this.sender !== undefined) {
      await this.sender.stop(deadline);
      complete = this.sender.complete;
    }
    this.syncSourceStats();
    // The final heartbeat gets what is left of the deadline, at least 2 s.
    const left = msLeft(deadline, 2000);
    const sent = await Promise.race([
      this.heartbeat(true),
      new Promise<boolean>((r) => setTimeout(() => r(false), left).unref()),
    ]);
    this.log.info(
      {
        complete,
        finalHeartbeat: sent,
        headersSent: this.stats.headersSent,
        batchesSent: this.stats.batchesSent,
        headersDropped: this.stats.headersDropped,
        // CPU seconds (user + system) of this process since it started, for sizing sensors.
        cpuSeconds: Number(((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(3)),
      },
      'agent stopped',
    );
  }
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
