import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { defineConfig } from 'vitest/config';
import ProjectOrderSequencer from './test/helpers/project-order-sequencer.js';

/**
 * Three projects: `unit` needs no server (pure rules, the LINE Pay client against the in-process
 * sandbox, replay of committed histories); `ledger` runs on PGlite and a throw-away PostgreSQL;
 * `temporal` runs against real Temporal servers that `test/helpers/global-setup.ts` starts once for the
 * whole run, with the workflow code bundled once.
 *
 * All three share one pool of WORKERS files at a time. More workers than the 2 cores: many temporal
 * files spend most of their time waiting in real time (10-second billing intervals on the dev server,
 * activity retry back-offs), and a third file uses the CPU they leave idle.
 */
const WORKERS = Number(process.env.TEST_WORKERS ?? 3);

/**
 * Test processes start as the production worker does (`npm run start:worker`): with the preload that
 * turns off the SDK's workflow stack-trace tracking, passed as `--import` so that it also runs in the
 * SDK's workflow threads (`WORKER_WORKFLOW_STACK_TRACES=on` keeps the tracking, as in production).
 * Bundled to plain JavaScript here, so those threads need no TypeScript loader.
 */
function workerPreload(): string[] {
  const outfile = path.join(
    ROOT,
    'node_modules',
    '.cache',
    'linepay-subscriptions',
    'workflow-stack-traces.mjs',
  );
  buildSync({
    entryPoints: [path.join(ROOT, 'worker', 'workflow-stack-traces.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return ['--import', pathToFileURL(outfile).href];
}
const ROOT = path.dirname(fileURLToPath(import.meta.url));
const WORKER_PRELOAD = workerPreload();

export default defineConfig({
  test: {
    sequence: { sequencer: ProjectOrderSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/replay/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          // The replay test replays against the run's one workflow bundle.
          globalSetup: ['test/helpers/bundle-setup.ts'],
          maxWorkers: WORKERS,
          // Same group as the others: unit files fill the cores the server tests leave idle.
          sequence: { groupOrder: 1 },
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
          execArgv: WORKER_PRELOAD,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: WORKERS,
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
          execArgv: WORKER_PRELOAD,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Each file owns a time-skipping server.
          maxWorkers: WORKERS,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
