// @rstwatch/kafka: the one module that talks to Kafka. kafkajs stays behind these types so it can be swapped.
export type { Admin, GroupDescription, PartitionOffsets, TopicSpec } from './admin.js';
export { availableCompressions, type Compression } from './codecs.js';
export type {
  KafkaConnectionConfig,
  KafkaLogger,
  KafkaLogLevel,
  RetryOptions,
  SaslOptions,
  TlsOptions,
} from './config.js';
export type {
  Batch,
  ConsumedMessage,
  Consumer,
  ConsumerOptions,
  RebalanceEvent,
  RunOptions,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer.js';
export { KafkaError, type KafkaErrorKind, producerStateLost } from './errors.js';
export { kafkaConnectionFrom } from './from-config.js';
export { createKafka, type Kafka } from './kafka.js';
export type { Producer, ProducerEvents, ProducerMessage, ProducerOptions } from './producer.js';
