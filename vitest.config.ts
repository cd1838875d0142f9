import { defineConfig } from 'vitest/config';

// Two projects: `unit` (tests beside the code, fast, parallel) and `integration` (test/: real Kafka,
// real ClickHouse engine, network namespaces; run one file at a time because they share servers).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // test/architecture: docs/architecture.md against the imports (reads files only, no servers).
          include: [
            'packages/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'test/architecture/*.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/architecture/**', '**/node_modules/**'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
