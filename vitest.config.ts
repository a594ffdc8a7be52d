import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` needs no server (pure rules, the LINE Pay client against the in-process
 * sandbox, replay of committed histories); `temporal` runs against real Temporal servers that
 * `test/helpers/global-setup.ts` starts once for the whole run.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/replay/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'ledger',
          include: ['test/ledger/**/*.test.ts'],
          environment: 'node',
          // One throw-away PostgreSQL for the project; every file runs on it and on PGlite.
          globalSetup: ['test/ledger/helpers/global-setup.ts'],
          setupFiles: ['test/helpers/quiet-runtime.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'temporal',
          include: ['test/workflow/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          setupFiles: ['test/helpers/quiet-runtime.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Each file owns a time-skipping server; two cores run two files at once.
          maxWorkers: 2,
          fileParallelism: true,
          // Projects with different worker settings must run in separate groups: unit first.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
