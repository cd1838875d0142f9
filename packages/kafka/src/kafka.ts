// Entry point: one client per connection config, handing out producers, consumers and admins.
import kafkajs from 'kafkajs';
import { type Admin, createAdmin } from './admin.js';
import { availableCompressions, type Compression } from './codecs.js';
import { type KafkaConnectionConfig, toKafkaJsConfig } from './config.js';
import { type Consumer, type ConsumerOptions, createConsumer } from './consumer.js';
import { createProducer, type Producer, type ProducerOptions } from './producer.js';

export interface Kafka {
  readonly clientId: string;
  readonly brokers: readonly string[];
  producer(opts?: ProducerOptions): Producer;
  consumer(opts: ConsumerOptions): Consumer;
  admin(): Admin;
  /** Compression codecs that work in this process (always 'none' and 'gzip'). */
  availableCompressions(): Promise<Compression[]>;
}

/** Validates `cfg` (throws KafkaError kind 'config') and returns a client; nothing connects yet. */
export function createKafka(cfg: KafkaConnectionConfig): Kafka {
  const jsCfg = toKafkaJsConfig(cfg);
  const client = new kafkajs.Kafka(jsCfg);
  const brokers = [...cfg.brokers];
  return {
    clientId: jsCfg.clientId ?? '',
    brokers,
    producer: (opts) => createProducer(client, brokers, opts),
    consumer: (opts) => createConsumer(client, brokers, opts),
    admin: () => createAdmin(client, brokers),
    availableCompressions,
  };
}
