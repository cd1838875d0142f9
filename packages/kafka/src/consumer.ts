// Consumer: a group member that hands over whole per-partition batches and commits only when told to
// (auto-commit is off: offsets are committed after the rows derived from them are durable).
import { EventEmitter } from 'node:events';
import type {
  ConsumerConfig,
  EachBatchPayload,
  Kafka as KafkaJs,
  Admin as KafkaJsAdmin,
  Consumer as KafkaJsConsumer,
  KafkaMessage,
} from 'kafkajs';
import { registerCodecs } from './codecs.js';
import type { RetryOptions } from './config.js';
import { KafkaError, wrapError } from './errors.js';
import { connectedAdmin } from './probe.js';

export interface ConsumerOptions {
  groupId: string;
  /** Default 30000 ms. */
  sessionTimeoutMs?: number;
  /** Default 3000 ms. */
  heartbeatIntervalMs?: number;
  /** Time the group waits for members to re-join during a rebalance. Default 60000 ms. */
  rebalanceTimeoutMs?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Default 10 MiB. */
  maxBytes?: number;
  /** How long a fetch waits for data. Default 500 ms. */
  maxWaitTimeMs?: number;
  /** Where a partition without a committed offset starts: earliest (true) or latest (false, default). */
  fromBeginning?: boolean;
  /** Retries of the consumer's own requests and of restarts after a crash. */
  retry?: RetryOptions;
}

export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch, as a decimal string (Kafka's int64). */
  timestamp: string;
  headers: Record<string, string>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** Kafka convention: the offset of the next message to read (last processed + 1). */
  offset: string;
  /** Free text stored with a committed offset (e.g. a write intent); returned by `committedOffsets`. */
  metadata?: string;
}

export interface Batch {
  topic: string;
  partition: number;
  messages: readonly ConsumedMessage[];
  /** The partition's high watermark when the batch was fetched (lag = highWatermark - last offset - 1). */
  highWatermark: string;
  firstOffset(): string | null;
  lastOffset(): string;
  /** True when the batch was superseded (seek or rebalance): stop processing it. */
  isStale(): boolean;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** Heartbeats the group (call during long batches so the member is not evicted). */
  heartbeat(): Promise<void>;
  /**
   * Marks messages up to `offset` as processed (the consumer's position, not a commit). When the
   * handler returns normally the whole batch is resolved; when it throws, the partition is fetched
   * again from just after the last resolved offset.
   */
  resolveOffset(offset: string): void;
}

export interface RunOptions {
  eachBatch: (batch: Batch) => Promise<void>;
  /** Batches of different partitions processed at once. Default 1. */
  partitionsConsumedConcurrently?: number;
}

export interface RebalanceEvent {
  /** 'revoke' is emitted (for what was lost) before 'assign' (for what was gained). */
  type: 'assign' | 'revoke';
  partitions: TopicPartition[];
}

export interface ConsumerEvents {
  /** The consumer crashed; `restarting` tells whether it re-joins by itself. */
  error: [KafkaError, { restarting: boolean }];
  rebalance: [RebalanceEvent];
}

export interface Consumer {
  connect(): Promise<void>;
  subscribe(topics: string[]): Promise<void>;
  /** Starts consuming; resolves once the loop is started (not when it ends). */
  run(opts: RunOptions): Promise<void>;
  commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  pause(topics: readonly { topic: string; partitions?: number[] }[]): void;
  resume(topics: readonly { topic: string; partitions?: number[] }[]): void;
  /** Moves the position of an assigned partition; the next batch starts there. */
  seek(to: TopicPartitionOffset): void;
  /**
   * Assignment changes. kafkajs uses the eager protocol; this reports the difference between the
   * old and the new assignment when the member re-joins, and revokes everything on stop or crash.
   * Returns the unsubscribe function.
   */
  onRebalance(cb: (ev: RebalanceEvent) => void): () => void;
  onError(cb: (err: KafkaError, info: { restarting: boolean }) => void): () => void;
  /** The partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /** Committed offsets of this group for `topic`, one per partition; '-1' means none committed. */
  committedOffsets(topic: string): Promise<{ partition: number; offset: string; metadata: string | null }[]>;
  disconnect(): Promise<void>;
}

function toConsumed(m: KafkaMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      if (v === undefined) continue;
      headers[k] = Array.isArray(v) ? String(v[v.length - 1]) : String(v);
    }
  }
  return { offset: m.offset, key: m.key ?? null, value: m.value ?? null, timestamp: m.timestamp, headers };
}

const keyOf = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

function kafkaJsConsumerConfig(opts: ConsumerOptions): ConsumerConfig {
  return {
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: opts.heartbeatIntervalMs ?? 3000,
    rebalanceTimeout: opts.rebalanceTimeoutMs ?? 60_000,
    maxBytesPerPartition: opts.maxBytesPerPartition ?? 1 << 20,
    maxBytes: opts.maxBytes ?? 10 << 20,
    maxWaitTimeInMs: opts.maxWaitTimeMs ?? 500,
    allowAutoTopicCreation: false,
    ...(opts.retry === undefined ? {} : { retry: { ...opts.retry } }),
  };
}

/**
 * This member's assignment, followed through kafkajs's group events: the difference at each re-join
 * becomes 'revoke' and 'assign' events, a stop or a crash revokes everything, a crash is an 'error'.
 */
class Membership {
  readonly events = new EventEmitter<ConsumerEvents>();
  private assigned = new Map<string, TopicPartition>();

  constructor(consumer: KafkaJsConsumer, groupId: string) {
    this.events.on('error', () => {}); // no listener must not crash the process
    consumer.on(consumer.events.GROUP_JOIN, (ev) => this.joined(ev.payload.memberAssignment));
    consumer.on(consumer.events.STOP, () => this.revokeAll());
    consumer.on(consumer.events.CRASH, (ev) => {
      this.revokeAll();
      const err = wrapError(`consumer group '${groupId}' crashed`, ev.payload.error);
      this.events.emit('error', err, { restarting: ev.payload.restart });
    });
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()];
  }

  revokeAll(): void {
    const lost = [...this.assigned.values()];
    this.assigned = new Map();
    this.emitRebalance('revoke', lost);
  }

  private joined(memberAssignment: Record<string, number[]>): void {
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) {
        const tp = { topic, partition };
        next.set(keyOf(tp), tp);
      }
    }
    const assigned = this.assigned;
    const lost = [...assigned.entries()].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    const gained = [...next.entries()].filter(([k]) => !assigned.has(k)).map(([, tp]) => tp);
    this.assigned = next;
    this.emitRebalance('revoke', lost);
    this.emitRebalance('assign', gained);
  }

  private emitRebalance(type: RebalanceEvent['type'], partitions: TopicPartition[]): void {
    if (partitions.length === 0) return;
    try {
      this.events.emit('rebalance', { type, partitions });
    } catch {
      // a throwing listener must not break the consumer loop
    }
  }
}

/** kafkajs's batch payload as a {@link Batch}. */
function toBatch(p: EachBatchPayload): Batch {
  const b = p.batch;
  return {
    topic: b.topic,
    partition: b.partition,
    messages: b.messages.map(toConsumed),
    highWatermark: b.highWatermark,
    firstOffset: () => b.firstOffset(),
    lastOffset: () => b.lastOffset(),
    isStale: p.isStale,
    isRunning: p.isRunning,
    heartbeat: p.heartbeat,
    resolveOffset: p.resolveOffset,
  };
}

function toKafkaJsOffsets(offsets: readonly TopicPartitionOffset[]) {
  return offsets.map((o) => ({
    topic: o.topic,
    partition: o.partition,
    offset: String(o.offset),
    ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
  }));
}

const toTopicPartitions = (topics: readonly { topic: string; partitions?: number[] }[]) =>
  topics.map((t) => (t.partitions ? { topic: t.topic, partitions: t.partitions } : { topic: t.topic }));

async function fetchCommitted(admin: KafkaJsAdmin, groupId: string, topic: string) {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (res[0]?.partitions ?? [])
    .map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata ?? null }))
    .sort((a, b) => a.partition - b.partition);
}

export function createConsumer(client: KafkaJs, brokers: readonly string[], opts: ConsumerOptions): Consumer {
  if (typeof opts.groupId !== 'string' || opts.groupId === '') {
    throw new KafkaError('invalid consumer options: groupId must be a non-empty string', { kind: 'config' });
  }
  const consumer: KafkaJsConsumer = client.consumer(kafkaJsConsumerConfig(opts));
  const group = new Membership(consumer, opts.groupId);
  const events = group.events;
  let admin: KafkaJsAdmin | undefined;

  const wrap =
    <A extends unknown[], R>(doing: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await fn(...a);
      } catch (err) {
        throw wrapError(`consumer group '${opts.groupId}': ${doing}`, err);
      }
    };

  return {
    connect: wrap(`connecting to Kafka (${brokers.join(',')}) failed`, async () => {
      await registerCodecs();
      admin ??= await connectedAdmin(client);
      await consumer.connect();
    }),
    subscribe: wrap('subscribing failed', async (topics: string[]) => {
      await consumer.subscribe({ topics, fromBeginning: opts.fromBeginning ?? false });
    }),
    run: wrap('starting the consumer failed', async (run: RunOptions) => {
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: run.partitionsConsumedConcurrently ?? 1,
        eachBatch: async (p: EachBatchPayload) => {
          await run.eachBatch(toBatch(p));
        },
      });
    }),
    commitOffsets: wrap('committing offsets failed', async (offsets: readonly TopicPartitionOffset[]) => {
      if (offsets.length === 0) return;
      await consumer.commitOffsets(toKafkaJsOffsets(offsets));
    }),
    pause(topics) {
      consumer.pause(toTopicPartitions(topics));
    },
    resume(topics) {
      consumer.resume(toTopicPartitions(topics));
    },
    seek(to) {
      consumer.seek({ topic: to.topic, partition: to.partition, offset: String(to.offset) });
    },
    onRebalance(cb) {
      events.on('rebalance', cb);
      return () => events.off('rebalance', cb);
    },
    onError(cb) {
      events.on('error', cb);
      return () => events.off('error', cb);
    },
    assignment: () => group.assignment(),
    committedOffsets: wrap('reading committed offsets failed', async (topic: string) => {
      admin ??= await connectedAdmin(client);
      return fetchCommitted(admin, opts.groupId, topic);
    }),
    async disconnect() {
      const a = admin;
      admin = undefined;
      const results = await Promise.allSettled([consumer.disconnect(), a?.disconnect()]);
      group.revokeAll();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw wrapError(`consumer group '${opts.groupId}': disconnecting failed`, failed.reason);
    },
  };
}
