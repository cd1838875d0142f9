import type { Producer, ProducerMessage } from '@rstwatch/kafka';
import { describe, expect, it } from 'vitest';
import { toEcs } from '../format/ecs.js';
import { SinkError } from '../sink.js';
import { sampleAlerts } from '../testing.js';
import { ALERT_VERSION_HEADER, KafkaAlertSink } from './kafka.js';

function fakeProducer() {
  const sent: { topic: string; messages: readonly ProducerMessage[] }[] = [];
  let fail = 0;
  let connects = 0;
  let disconnects = 0;
  const producer: Producer = {
    async connect() {
      connects++;
    },
    async send(topic, messages) {
      if (fail > 0) {
        fail--;
        throw new Error('broker gone');
      }
      sent.push({ topic, messages });
    },
    async partitionsFor() {
      return 1;
    },
    async disconnect() {
      disconnects++;
    },
    on: () => () => {},
  };
  return {
    producer,
    sent,
    failNext: (n: number) => {
      fail = n;
    },
    counts: () => ({ connects, disconnects }),
  };
}

describe('KafkaAlertSink', () => {
  it('keys by alert id, values the ECS document, versions in a header', async () => {
    const f = fakeProducer();
    const sink = new KafkaAlertSink({ producer: f.producer, topic: 'alerts' });
    const alerts = sampleAlerts(2, { version: 3 });
    await sink.send(alerts);
    expect(f.sent).toHaveLength(1);
    expect(f.sent[0]!.topic).toBe('alerts');
    const m = f.sent[0]!.messages;
    expect(m.map((x) => x.key)).toEqual(alerts.map((a) => a.id));
    expect(m.map((x) => x.headers)).toEqual([
      { [ALERT_VERSION_HEADER]: '3' },
      { [ALERT_VERSION_HEADER]: '3' },
    ]);
    expect(JSON.parse(Buffer.from(m[1]!.value).toString())).toEqual(toEcs(alerts[1]!));
    await sink.close();
    expect(f.counts()).toEqual({ connects: 1, disconnects: 0 });
  });

  it('a failed send rejects with SinkError and connects again on the next one', async () => {
    const f = fakeProducer();
    const sink = new KafkaAlertSink({ producer: f.producer, topic: 't', ownsProducer: true });
    f.failNext(1);
    const err = await sink.send(sampleAlerts(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).message).toMatch(/topic 't'/);
    await sink.send(sampleAlerts(1));
    await sink.close();
    expect(f.counts()).toEqual({ connects: 2, disconnects: 1 });
  });
});
