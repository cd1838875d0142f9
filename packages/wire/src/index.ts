// The Kafka wire contract: protobuf HeaderBatch and SensorStats codecs over HeaderColumns.
export {};
