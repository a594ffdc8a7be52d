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
  const events = history.events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
  expect(scheduled).toHaveLength(1);
  const scheduledAttrs = scheduled[0]!.activityTaskScheduledEventAttributes!;
  expect(scheduledAttrs.activityType?.name).toBe('shout');
  expect(scheduledAttrs.taskQueue?.name).toBe('smoke-dev-server');
  const scheduledId = Number(scheduled[0]!.eventId);
  const started = events.filter((e) => e.activityTaskStartedEventAttributes);
  const completed = events.filter((e) => e.activityTaskCompletedEventAttributes);
  expect(started).toHaveLength(1);
  expect(completed).toHaveLength(1);
  // The triple belongs together: started and completed point back at the scheduled event, in order.
  expect(Number(started[0]!.activityTaskStartedEventAttributes!.scheduledEventId)).toBe(scheduledId);
  expect(Number(started[0]!.activityTaskStartedEventAttributes!.attempt)).toBe(1);
  const completedAttrs = completed[0]!.activityTaskCompletedEventAttributes!;
  expect(Number(completedAttrs.scheduledEventId)).toBe(scheduledId);
  expect(Number(completedAttrs.startedEventId)).toBe(Number(started[0]!.eventId));
  expect(Number(started[0]!.eventId)).toBeGreaterThan(scheduledId);
  expect(Number(completed[0]!.eventId)).toBeGreaterThan(Number(started[0]!.eventId));
  expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
});
