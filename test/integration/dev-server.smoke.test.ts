import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { greetWorkflow } from '../fixtures/workflows/smoke.js';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await env?.teardown();
});

it('runs a workflow end to end on the real dev server (worker and client over gRPC)', async () => {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'smoke-dev-server',
    workflowsPath: fileURLToPath(new URL('../fixtures/workflows/smoke.ts', import.meta.url)),
    activities: { shout: async (text: string) => text.toUpperCase() },
  });
  const workflowId = `smoke-greet-${Date.now()}`;
  const result = await worker.runUntil(
    env.client.workflow.execute(greetWorkflow, {
      taskQueue: 'smoke-dev-server',
      workflowId,
      args: ['temporal'],
    }),
  );
  expect(result).toBe('hello, TEMPORAL');
  const described = await env.client.workflow.getHandle(workflowId).describe();
  expect(described.status.name).toBe('COMPLETED');
  // The dev server keeps real history: the activity ran as a scheduled/started/completed triple.
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const types = (history.events ?? []).map((e) => e.eventType);
  expect(types.length).toBeGreaterThanOrEqual(11);
});
