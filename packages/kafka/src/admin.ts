// Admin: topics, offsets and group state. Connects lazily on first use.
import type { Kafka as KafkaJs, Admin as KafkaJsAdmin } from 'kafkajs';
import { wrapError } from './errors.js';
import { connectedAdmin } from './probe.js';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ 'retention.ms': '3600000' }`. */
  configs?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: string;
  /** High watermark (offset of the next message to be written). */
  high: string;
}

export interface GroupDescription {
  groupId: string;
  /** Classic group state: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  state: string;
  protocol: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
}

export interface Admin {
  connect(): Promise<void>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. Returns those created. */
  createTopics(topics: readonly TopicSpec[]): Promise<string[]>;
  listTopics(): Promise<string[]>;
  /** Partition counts and offsets of one topic, sorted by partition. */
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Committed offsets of `groupId` on `topic`, sorted by partition; '-1' means none committed. */
  fetchOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Deletes topics; missing ones are ignored. */
  deleteTopics(topics: readonly string[]): Promise<void>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  disconnect(): Promise<void>;
}

/** One kafkajs admin client, connected on first use; a failed connection is retried by the next use. */
class LazyAdmin {
  private admin: KafkaJsAdmin | undefined;
  private connecting: Promise<KafkaJsAdmin> | undefined;

  constructor(private readonly client: KafkaJs) {}

  get(): Promise<KafkaJsAdmin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    this.connecting ??= connectedAdmin(this.client).then(
      (a) => {
        this.admin = a;
        return a;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    const a = this.admin ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.admin = undefined;
    this.connecting = undefined;
    await a?.disconnect();
  }
}

async function createMissingTopics(a: KafkaJsAdmin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await a.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  await a.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.topic,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor ?? -1,
      configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
  });
  return missing.map((t) => t.topic);
}

async function topicOffsets(a: KafkaJsAdmin, topic: string): Promise<PartitionOffsets[]> {
  return (await a.fetchTopicOffsets(topic))
    .map((p) => ({ partition: p.partition, low: p.low, high: p.high }))
    .sort((x, y) => x.partition - y.partition);
}

async function groupOffsets(a: KafkaJsAdmin, groupId: string, topic: string) {
  const res = await a.fetchOffsets({ groupId, topics: [topic] });
  return (res[0]?.partitions ?? [])
    .map((p) => ({ partition: p.partition, offset: p.offset }))
    .sort((x, y) => x.partition - y.partition);
}

async function deleteExistingTopics(a: KafkaJsAdmin, topics: readonly string[]): Promise<void> {
  const existing = new Set(await a.listTopics());
  const present = topics.filter((t) => existing.has(t));
  if (present.length > 0) await a.deleteTopics({ topics: present });
}

/** A group that the broker does not know is reported as Dead with no members. */
async function describeOneGroup(a: KafkaJsAdmin, groupId: string): Promise<GroupDescription> {
  const { groups } = await a.describeGroups([groupId]);
  const g = groups[0];
  if (g === undefined) return { groupId, state: 'Dead', protocol: '', members: [] };
  return {
    groupId: g.groupId,
    state: g.state,
    protocol: g.protocol,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
    })),
  };
}

export function createAdmin(client: KafkaJs, brokers: readonly string[]): Admin {
  const lazy = new LazyAdmin(client);
  const op =
    <A extends unknown[], R>(doing: (...a: A) => string, fn: (a: KafkaJsAdmin, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(await lazy.get(), ...args);
      } catch (err) {
        throw wrapError(`admin: ${doing(...args)}`, err);
      }
    };

  return {
    connect: op(
      () => `connecting to Kafka (${brokers.join(',')}) failed`,
      async () => {},
    ),
    createTopics: op(
      (topics: readonly TopicSpec[]) => `creating topic(s) ${topics.map((t) => t.topic).join(', ')} failed`,
      createMissingTopics,
    ),
    listTopics: op(
      () => 'listing topics failed',
      async (a) => (await a.listTopics()).sort(),
    ),
    fetchTopicOffsets: op((topic: string) => `reading offsets of topic '${topic}' failed`, topicOffsets),
    fetchOffsets: op(
      (groupId: string, topic: string) => `reading offsets of group '${groupId}' on topic '${topic}' failed`,
      groupOffsets,
    ),
    deleteTopics: op(
      (topics: readonly string[]) => `deleting topic(s) ${topics.join(', ')} failed`,
      deleteExistingTopics,
    ),
    describeGroup: op((groupId: string) => `describing group '${groupId}' failed`, describeOneGroup),
    disconnect: () => lazy.disconnect(),
  };
}
