// Producer: sends batches of messages to one topic, surfaces every failure (thrown and as an 'error' event).
import { EventEmitter } from 'node:events';
import type { Kafka as KafkaJs, Admin as KafkaJsAdmin, Producer as KafkaJsProducer, Message } from 'kafkajs';
import kafkajs from 'kafkajs';
import { type Compression, compressionType, registerCodecs } from './codecs.js';
import type { RetryOptions } from './config.js';
import { KafkaError, wrapError } from './errors.js';
import { connectedAdmin } from './probe.js';

export interface ProducerOptions {
  /** Idempotent producer (no duplicates from retries). Requires `acks: -1`. Default false. */
  idempotent?: boolean;
  /** -1: all in-sync replicas (default), 1: leader only, 0: no acknowledgement. */
  acks?: -1 | 0 | 1;
  /** Default 'none'. See `availableCompressions()` for what this process supports. */
  compression?: Compression;
  /** Concurrent requests per broker. Default 1 when idempotent (ordering), else 5. */
  maxInFlightRequests?: number;
  /** Retries per send. Default 5 retries, 300 ms .. 10 s (bounded even when idempotent). */
  retry?: RetryOptions;
  /** How long the broker may wait for replica acknowledgements. Default 30000 ms. */
  ackTimeoutMs?: number;
}

export interface ProducerMessage {
  key?: Uint8Array | string;
  value: Uint8Array;
  /** Explicit partition; omitted: Java-compatible murmur2 of the key (random without a key). */
  partition?: number;
  headers?: Record<string, string>;
}

export interface ProducerEvents {
  connect: [];
  disconnect: [];
  /** A send or the connection failed; send() also rejects with the same error. */
  error: [KafkaError];
}

export interface Producer {
  connect(): Promise<void>;
  /** Resolves once the broker acknowledged every message (per `acks`); rejects with KafkaError. */
  send(topic: string, messages: readonly ProducerMessage[]): Promise<void>;
  /** Partition count of `topic` (cached for 30 s). Rejects if the topic does not exist. */
  partitionsFor(topic: string): Promise<number>;
  disconnect(): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof ProducerEvents>(event: E, listener: (...args: ProducerEvents[E]) => void): () => void;
}

export const defaultProducerRetry: RetryOptions = { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 };
const PARTITIONS_TTL_MS = 30_000;

const asBuffer = (b: Uint8Array | string): Buffer | string =>
  typeof b === 'string' || Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Rejects option combinations kafkajs would accept but that cannot work. */
function checkProducerOptions(idempotent: boolean, acks: number, compression: Compression): void {
  if (idempotent && acks !== -1) {
    throw new KafkaError('invalid producer options: idempotent requires acks -1 (all)', { kind: 'config' });
  }
  if (!(compression in compressionType)) {
    throw new KafkaError(
      `invalid producer options: compression '${String(compression)}' is not one of ${Object.keys(compressionType).join(', ')}`,
      { kind: 'config' },
    );
  }
}

function toKafkaJsMessages(messages: readonly ProducerMessage[]): Message[] {
  const out: Message[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const msg: Message = { value: asBuffer(m.value) };
    if (m.key !== undefined) msg.key = asBuffer(m.key);
    if (m.partition !== undefined) msg.partition = m.partition;
    if (m.headers !== undefined) msg.headers = m.headers;
    out[i] = msg;
  }
  return out;
}

/** Partition count of `topic` from the cluster metadata; a topic without partitions is an error. */
async function fetchPartitionCount(admin: KafkaJsAdmin, topic: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const n = meta.topics[0]?.partitions.length ?? 0;
  if (n === 0) throw new KafkaError(`topic '${topic}' has no partitions`, { kind: 'broker' });
  return n;
}

/** The producer's events: kafkajs's connect and disconnect, and our 'error'. */
function forwardEvents(producer: KafkaJsProducer): EventEmitter<ProducerEvents> {
  const events = new EventEmitter<ProducerEvents>();
  events.on('error', () => {}); // 'error' without listeners must not crash the process: send() rejects anyway.
  producer.on(producer.events.CONNECT, () => events.emit('connect'));
  producer.on(producer.events.DISCONNECT, () => events.emit('disconnect'));
  return events;
}

export function createProducer(
  client: KafkaJs,
  brokers: readonly string[],
  opts: ProducerOptions = {},
): Producer {
  const idempotent = opts.idempotent ?? false;
  const acks = opts.acks ?? -1;
  const compression = opts.compression ?? 'none';
  checkProducerOptions(idempotent, acks, compression);
  const producer: KafkaJsProducer = client.producer({
    idempotent,
    maxInFlightRequests: opts.maxInFlightRequests ?? (idempotent ? 1 : 5),
    retry: { ...(opts.retry ?? defaultProducerRetry) },
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
  });
  const events = forwardEvents(producer);

  let admin: KafkaJsAdmin | undefined;
  const partitionCache = new Map<string, { n: number; at: number }>();
  const fail = (doing: string, err: unknown): KafkaError => {
    const e = wrapError(doing, err);
    events.emit('error', e);
    return e;
  };

  return {
    async connect() {
      await registerCodecs();
      try {
        admin ??= await connectedAdmin(client);
        await producer.connect();
      } catch (err) {
        throw fail(`producer: connecting to Kafka (${brokers.join(',')}) failed`, err);
      }
    },

    async send(topic, messages) {
      if (messages.length === 0) return;
      const out = toKafkaJsMessages(messages);
      try {
        await producer.send({
          topic,
          messages: out,
          acks,
          compression: compressionType[compression],
          timeout: opts.ackTimeoutMs ?? 30_000,
        });
      } catch (err) {
        throw fail(`producer: sending ${messages.length} message(s) to topic '${topic}' failed`, err);
      }
    },

    async partitionsFor(topic) {
      const hit = partitionCache.get(topic);
      if (hit !== undefined && Date.now() - hit.at < PARTITIONS_TTL_MS) return hit.n;
      try {
        admin ??= await connectedAdmin(client);
        const n = await fetchPartitionCount(admin, topic);
        partitionCache.set(topic, { n, at: Date.now() });
        return n;
      } catch (err) {
        throw fail(`producer: reading the partition count of topic '${topic}' failed`, err);
      }
    },

    async disconnect() {
      const a = admin;
      admin = undefined;
      await Promise.allSettled([producer.disconnect(), a?.disconnect()]);
    },

    on(event, listener) {
      events.on(event, listener as never);
      return () => events.off(event, listener as never);
    },
  };
}
