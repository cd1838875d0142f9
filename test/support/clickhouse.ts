// Finds ClickHouse for integration tests, in the order of the architecture doc ("Test environments"):
// CLICKHOUSE_URL, else a Docker engine via testcontainers (clickhouse/clickhouse-server), else the
// embedded engine (chdb) in a temp dir. chdb is one engine per process, so with the embedded engine
// every test file (vitest fork) gets its own; each call gets its own database either way.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse, type StoreClient } from '@rstwatch/store';
import { dockerReachable } from './kafka.js';

export type ClickHouseSource = 'env' | 'testcontainers' | 'embedded';

export interface ClickHouseHandle {
  /** Server URL without credentials, or `'embedded'`. */
  url: string;
  source: ClickHouseSource;
  /** Client on a fresh database (`client.database`), not yet migrated. */
  client: StoreClient;
  /** Drops the database, closes the client, stops a container this call started. */
  cleanup(): Promise<void>;
}

/** Image used when Docker is reachable. */
export const defaultClickHouseImage = process.env.CLICKHOUSE_IMAGE ?? 'clickhouse/clickhouse-server:25.8';

let embeddedDir: string | undefined;

export async function getClickHouse(opts: { database?: string } = {}): Promise<ClickHouseHandle> {
  const database = opts.database ?? `it_${randomBytes(6).toString('hex')}`;
  const envUrl = process.env.CLICKHOUSE_URL;
  if (envUrl) {
    const client = createClickHouse({
      url: envUrl,
      database,
      ...(process.env.CLICKHOUSE_USER ? { username: process.env.CLICKHOUSE_USER } : {}),
      ...(process.env.CLICKHOUSE_PASSWORD ? { password: process.env.CLICKHOUSE_PASSWORD } : {}),
    });
    await client.ping();
    return { url: client.url, source: 'env', client, cleanup: () => dropAndClose(client) };
  }
  if (await dockerReachable()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(defaultClickHouseImage)
      .withEnvironment({
        CLICKHOUSE_USER: 'rstwatch',
        CLICKHOUSE_PASSWORD: 'rstwatch',
        CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1',
      })
      .withExposedPorts(8123)
      .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
      .withStartupTimeout(120_000)
      .start();
    const client = createClickHouse({
      url: `http://${container.getHost()}:${container.getMappedPort(8123)}`,
      username: 'rstwatch',
      password: 'rstwatch',
      database,
    });
    await client.ping();
    return {
      url: client.url,
      source: 'testcontainers',
      client,
      cleanup: async () => {
        await client.close();
        await container.stop();
      },
    };
  }
  if (!embeddedDir) {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-it-chdb-'));
    embeddedDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const client = createClickHouse({ url: 'embedded', embeddedPath: embeddedDir, database });
  await client.ping();
  return { url: 'embedded', source: 'embedded', client, cleanup: () => dropAndClose(client) };
}

async function dropAndClose(client: StoreClient): Promise<void> {
  try {
    await client.command(`DROP DATABASE IF EXISTS \`${client.database}\` SYNC`);
  } finally {
    await client.close();
  }
}
