// Integration-test global set-up: starts shared servers (Kafka, ClickHouse) once per run when needed.
import type { TestProject } from 'vitest/node';
import { getKafka } from './kafka.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap brokers of the run's Kafka, comma-separated (`inject('kafkaBrokers')`). */
    kafkaBrokers: string;
    /** Where that Kafka came from: env, testcontainers or local. */
    kafkaSource: string;
  }
}

export default async function setup(project: TestProject): Promise<void | (() => Promise<void>)> {
  const t0 = performance.now();
  const kafka = await getKafka();
  const brokers = kafka.brokers.join(',');
  project.provide('kafkaBrokers', brokers);
  project.provide('kafkaSource', kafka.source);
  process.env.KAFKA_BROKERS = brokers; // for child processes (agent/processor under test)
  console.log(
    `[global-setup] Kafka (${kafka.source}) at ${brokers} in ${Math.round(performance.now() - t0)} ms`,
  );

  return async () => {
    await kafka.stop();
  };
}
