// ClickHouse schema, migrations and batched writer over @clickhouse/client (server or embedded chdb).
export {};
