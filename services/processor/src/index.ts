// Processor: Kafka to Piscina workers (flow state + classification) to ClickHouse.
export {};
