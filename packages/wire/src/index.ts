/**
 * The Kafka wire contract (proto/rstwatch/v1): topic names, the columnar HeaderBatch codec over
 * HeaderColumns and the SensorStats heartbeat codec. See docs/wire.md.
 */
export { MAX_BATCH_HEADERS, WireError, type WireErrorReason } from './errors.js';
export { type BatchMeta, decodeHeaderBatch, encodeHeaderBatch } from './headers.js';
export { decodeSensorStats, encodeSensorStats, type SensorStats } from './sensors.js';
export { DLQ_HEADERS, TOPIC_DLQ, TOPIC_HEADERS, TOPIC_SENSORS } from './topics.js';
