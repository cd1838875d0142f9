// The one module that talks to Kafka (kafkajs behind our own interface).
export {};
