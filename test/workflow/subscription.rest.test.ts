import { expect, it } from 'vitest';
import {
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('rest');

/** Runs of a workflow, newest first, by following continuedExecutionRunId back from the latest. */
async function runsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  let runId: string | undefined;
  for (;;) {
    const handle = t.env.client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runs.push(runId ?? (await handle.describe()).runId);
    runId = started?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

it('rests (continues as new) during the idle wait after approval and after each charge, and bills on', async () => {
  const input = subscriptionInput({ interval: 'P1M', maxCycles: 3 });
  const handle = await startActiveSubscription(t.h, input);
  const final = await handle.result();
  expect(final.status).toBe('completed');
  expect(final.paidCycles).toBe(3);
  // Approval and cycles 1 and 2 each go idle for a month, then rest; the last cycle completes.
  const runs = await runsOf(handle.workflowId);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  // The run that woke for the last cycle replayed a short history, not the subscription's life.
  const last = await t.env.client.workflow.getHandle(handle.workflowId).fetchHistory();
  expect(last.events!.length).toBeLessThan(60);
  expect((await state(handle)).paidCycles).toBe(3);
});
