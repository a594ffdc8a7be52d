import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleepThirtyDaysWorkflow } from '../fixtures/workflows/smoke.js';
import { createTimeSkippingEnv } from '../helpers/time-skipping.js';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

it('a workflow that sleeps 30 days finishes in seconds on the time-skipping server', async () => {
  expect(env.supportsTimeSkipping).toBe(true);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'smoke-time-skipping',
    workflowsPath: fileURLToPath(new URL('../fixtures/workflows/smoke.ts', import.meta.url)),
  });
  const wallStart = Date.now();
  const elapsed = await worker.runUntil(
    env.client.workflow.execute(sleepThirtyDaysWorkflow, {
      taskQueue: 'smoke-time-skipping',
      workflowId: 'smoke-sleep-30d',
    }),
  );
  expect(elapsed).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000);
  expect(Date.now() - wallStart).toBeLessThan(60_000);
});
