/**
 * KafkaAlertSink: one message per alert on `topic`: key = alert id (every version of one alert in one
 * partition, in order), value = the ECS JSON document, header `rstwatch-alert-version`. Give it a
 * producer made with `kafka.producer({ acks: -1, maxInFlightRequests: 1 })`: not idempotent, for the
 * reason in services/processor's `deadLetterProducer` (an idempotent producer can silently drop the
 * next record after a send that timed out); the Delivery's retries make it at least once, in order,
 * and consumers keep the latest `event.sequence` per `event.id`.
 */
import type { Alert } from '@rstwatch/detect';
import type { Producer, ProducerMessage } from '@rstwatch/kafka';
import { type EcsOptions, toEcs } from '../format/ecs.js';
import { type AlertSink, SinkError } from '../sink.js';

export interface KafkaAlertSinkOptions {
  producer: Producer;
  topic: string;
  /** Default `kafka`. */
  name?: string;
  ecs?: EcsOptions;
  /** Disconnect the producer on `close()`. Default false (the caller owns it). */
  ownsProducer?: boolean;
}

/** Header carrying the alert version (consumers may skip stale versions without parsing the value). */
export const ALERT_VERSION_HEADER = 'rstwatch-alert-version';

export class KafkaAlertSink implements AlertSink {
  readonly name: string;
  readonly #opts: KafkaAlertSinkOptions;
  #connected: Promise<void> | undefined;

  constructor(opts: KafkaAlertSinkOptions) {
    this.name = opts.name ?? 'kafka';
    this.#opts = opts;
  }

  async send(alerts: readonly Alert[]): Promise<void> {
    const { producer, topic } = this.#opts;
    const messages: ProducerMessage[] = alerts.map((a) => ({
      key: a.id,
      value: Buffer.from(JSON.stringify(toEcs(a, this.#opts.ecs ?? {}))),
      headers: { [ALERT_VERSION_HEADER]: String(a.version) },
    }));
    try {
      // Connecting is idempotent; done here so a broker that is down at start-up is only a retry.
      this.#connected ??= producer.connect();
      await this.#connected;
      await producer.send(topic, messages);
    } catch (err) {
      this.#connected = undefined;
      throw new SinkError(`${this.name}: producing ${alerts.length} alert(s) to topic '${topic}' failed`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    if (this.#opts.ownsProducer) await this.#opts.producer.disconnect();
  }
}
