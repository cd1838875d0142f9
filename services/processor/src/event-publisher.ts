/**
 * Publishes the processor's RST events to the events topic (`kafka.topics.events`) for the detection
 * stage. A partition's engine sees only some of a host's flows, so detectors that count per victim, per
 * scanner or per service run in their own consumer group, fed by this topic keyed by their entity.
 *
 * Layout (measured in bench/events-topic.mjs, see docs/alerts.md): one topic; each event is published
 * once per entity kind it is relevant to (`entityKeys`), keyed `kind:entity` with the kind in the
 * `rstwatch-entity-kind` header, so every event of one entity meets in one detection partition and a
 * detector reads only its kind. Every event goes out as `service`; `victim` and `scanner` copies only
 * for the causes their detectors use: 1.4-1.5 messages per event measured, against 3 for one topic per kind.
 *
 * Called after the unit's rows are in ClickHouse and before its offsets are committed: a crash in
 * between publishes the unit again on replay, and the detection stage drops such repeats by event
 * identity. Failures are retried with backoff until acknowledged or shut down (the commit waits).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RstEvent } from '@rstwatch/core';
import { entityKeys } from '@rstwatch/detect';
import type { Producer, ProducerMessage } from '@rstwatch/kafka';

export const ENTITY_KIND_HEADER = 'rstwatch-entity-kind';

export interface EventPublisherOptions {
  producer: Producer;
  topic: string;
  retryInitialMs?: number;
  retryMaxMs?: number;
  onError?: (err: Error, attempt: number) => void;
}

/** The events-topic messages of `events`: one per (event, entity kind). */
export function eventMessages(events: readonly RstEvent[]): ProducerMessage[] {
  const out: ProducerMessage[] = [];
  for (const e of events) {
    const value = Buffer.from(JSON.stringify(e));
    for (const [kind, key] of entityKeys(e)) {
      out.push({ key: `${kind}:${key}`, value, headers: { [ENTITY_KIND_HEADER]: kind } });
    }
  }
  return out;
}

export class EventPublisher {
  messages = 0;
  failures = 0;

  constructor(private readonly o: EventPublisherOptions) {}

  /** Resolves once the broker acknowledged every message; rejects only when `signal` aborts. */
  async publish(events: readonly RstEvent[], signal?: AbortSignal): Promise<void> {
    if (events.length === 0) return;
    const msgs = eventMessages(events);
    let delay = this.o.retryInitialMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.producer.send(this.o.topic, msgs);
        this.messages += msgs.length;
        return;
      } catch (err) {
        this.failures++;
        this.o.onError?.(err as Error, attempt);
        if (signal?.aborted) throw new Error('publishing RST events aborted by shutdown', { cause: err });
        await sleep(delay);
        delay = Math.min(delay * 2, this.o.retryMaxMs ?? 5000);
      }
    }
  }
}
