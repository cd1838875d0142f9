/**
 * Webhook and syslog delivery in the Kafka pipeline: a consumer group of its own (`<alerts.groupId>.deliver`)
 * on the alerts topic hands each alert to `Delivery` and commits a batch's offsets only once every alert
 * of it was delivered or kept in the undelivered file. So a detection stage that crashes with alerts still
 * queued for a webhook loses none: the next member reads them again from the topic (at-least-once; the
 * webhook's `Idempotency-Key` and syslog's structured data carry `id` and `version` for de-duplication).
 * A sink that is down holds only this consumer, never detection: the alerts topic keeps what is behind.
 */
import { type Component, deadlineIn, untilDeadline, withDefaults } from '@rstwatch/core';
import type { Batch, Consumer } from '@rstwatch/kafka';
import { type Delivery, fromEcs } from '@rstwatch/sinks';
import { ALERT_FORWARDER_DEFAULTS } from './config.js';
import type { ProcessorLogger } from './processor.js';

/** Settings of the forwarder; the optional ones default to `ALERT_FORWARDER_DEFAULTS` (config.ts). */
export interface AlertForwarderConfig {
  /** The alerts topic. */
  topic: string;
  /** Longest wait for one batch's alerts (retries included) before it is committed anyway: they are kept. */
  batchDeadlineMs?: number;
  /** Most time `stop()` without a deadline takes. */
  shutdownTimeoutMs?: number;
}

export interface AlertForwarderDeps {
  /** Connected, not yet subscribed; disconnected by `stop`. */
  consumer: Consumer;
  /** Where the alerts go (stopped by its owner: it may serve others). */
  delivery: Delivery;
  /** Aborted at shutdown: the batch in progress is read again by the next owner. */
  signal: AbortSignal;
}

export interface AlertForwarderTelemetry {
  log: ProcessorLogger;
}

/** `new AlertForwarder(config, deps, telemetry)`, `start()`, `stop(deadline)`. */
export class AlertForwarder implements Component {
  forwarded = 0;
  badMessages = 0;
  private readonly o: Required<AlertForwarderConfig> & AlertForwarderDeps & AlertForwarderTelemetry;
  private stopped: Promise<void> | undefined;

  constructor(config: AlertForwarderConfig, deps: AlertForwarderDeps, telemetry: AlertForwarderTelemetry) {
    this.o = { ...withDefaults(ALERT_FORWARDER_DEFAULTS, config), ...deps, ...telemetry };
  }

  async start(): Promise<void> {
    await this.o.consumer.subscribe([this.o.topic]);
    await this.o.consumer.run({ eachBatch: (b) => this.eachBatch(b) });
  }

  /** Disconnects the consumer (abort `signal` first), by `deadline` (epoch ms). Idempotent. */
  stop(deadline: number = deadlineIn(this.o.shutdownTimeoutMs)): Promise<void> {
    this.stopped ??= this.o.consumer.disconnect();
    return untilDeadline(this.stopped, deadline).then(() => {});
  }

  private async eachBatch(batch: Batch): Promise<void> {
    if (this.o.signal.aborted || batch.messages.length === 0) return;
    for (const m of batch.messages) {
      let alert = null;
      try {
        alert = fromEcs(JSON.parse(m.value?.toString('utf8') ?? ''));
      } catch {
        alert = null;
      }
      if (alert === null) {
        this.badMessages++;
        this.o.log.warn(
          { topic: batch.topic, partition: batch.partition, offset: m.offset },
          'alerts topic: not an alert document; skipped',
        );
        continue;
      }
      this.o.delivery.push(alert);
      this.forwarded++;
    }
    // Delivered or kept (after the sink's retries): either way the alert is accounted for.
    const beat = setInterval(() => batch.heartbeat().catch(() => {}), 3000);
    let onAbort = () => {};
    const aborted = new Promise<void>((r) => {
      onAbort = r;
      this.o.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.o.delivery.flush(this.o.batchDeadlineMs), aborted]);
    } finally {
      clearInterval(beat);
      this.o.signal.removeEventListener('abort', onAbort);
    }
    if (this.o.signal.aborted)
      throw new Error('alert forwarding stopped by shutdown; the batch is read again');
    const last = batch.lastOffset();
    await this.o.consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) },
    ]);
    batch.resolveOffset(last);
  }
}
