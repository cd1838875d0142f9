/** Kafka topic names of the v1 wire contract (the version is part of the name). */

/** HeaderBatch messages; key = the agent's direction-free flow hash of the batch's partition. */
export const TOPIC_HEADERS = 'rstwatch.headers.v1';
/** SensorStats heartbeats; key = sensor id (UTF-8). */
export const TOPIC_SENSORS = 'rstwatch.sensors.v1';
/** Undecodable HeaderBatch messages, copied as received, with the WireError in {@link DLQ_HEADERS}. */
export const TOPIC_DLQ = 'rstwatch.headers.dlq.v1';

/**
 * Kafka record headers on a message in {@link TOPIC_DLQ}: the value is the original message as received,
 * these say why and where it came from (UTF-8 strings).
 */
export const DLQ_HEADERS = {
  /** WireErrorReason code, e.g. `bad_column_length`. */
  reason: 'rstwatch-reason',
  /** Human-readable error message. */
  message: 'rstwatch-error',
  /** Source topic, partition (decimal) and offset (decimal) of the original message. */
  topic: 'rstwatch-topic',
  partition: 'rstwatch-partition',
  offset: 'rstwatch-offset',
} as const;
