// Sensor agent: capture (live or file) to Kafka as columnar protobuf batches.
export {
  Agent,
  type AgentCodec,
  type AgentConfig,
  type AgentDeps,
  type AgentLogger,
  type AgentProducer,
  type AgentTelemetry,
  type HeartbeatSnapshot,
} from './agent.js';
export {
  type BatcherOptions,
  type FlushFn,
  type FlushReason,
  HEADER_FIXED_BYTES,
  keyBytes,
  PartitionBatcher,
  partitionOf,
} from './batcher.js';
export { AGENT_DEFAULTS, agentRunConfig, RUN_AGENT_DEFAULTS, SENDER_DEFAULTS } from './config.js';
export { type AgentRunConfig, type RunAgentOptions, runAgent } from './main.js';
export { registerAgentMetrics } from './metrics.js';
export {
  BufferedSender,
  type OutMessage,
  type PendingBatch,
  type ProducerPort,
  type SenderConfig,
  type SenderDeps,
  type SenderTelemetry,
} from './sender.js';
export {
  type AgentStats,
  BATCH_DROP_REASONS,
  type BatchDropReason,
  createAgentStats,
  PRODUCER_REPLACE_REASONS,
  type ProducerReplaceReason,
  totalBatchesDropped,
  totalHeadersDropped,
} from './stats.js';
export { AGENT_VERSION } from './version.js';
export { toSensorStats, wireCodec } from './wire.js';
