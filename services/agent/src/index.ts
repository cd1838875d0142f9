// Sensor agent: capture (live or file) to Kafka as columnar protobuf batches.
export {};
