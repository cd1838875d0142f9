/** Kafka topic names of the v1 wire contract (the version is part of the name). */

/** HeaderBatch messages; key = the agent's direction-free flow hash of the batch's partition. */
export const TOPIC_HEADERS = 'rstwatch.headers.v1';
/** SensorStats heartbeats; key = sensor id (UTF-8). */
export const TOPIC_SENSORS = 'rstwatch.sensors.v1';
/** Undecodable HeaderBatch messages, copied as received, with the WireError in the headers. */
export const TOPIC_DLQ = 'rstwatch.headers.dlq.v1';
