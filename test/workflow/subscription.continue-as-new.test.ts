import { expect, it } from 'vitest';
import {
  orderIdOf,
  paymentsOf,
  recordHistory,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

// The first charge falls 14 months after the approval (billingAnchor 2028-01-31): real LINE Pay would
// have expired the idle regKey after about 180 days, and so does the sandbox on the test clock. This
// test is about continue-as-new and the month-end calendar, so its sandbox keeps idle keys longer.
const t = useSubscriptionHarness('continue-as-new', {
  sandbox: { regKeyIdleLifetimeMs: 3 * 365 * 86_400_000 },
});

it('continue-as-new carries the state and the calendar; orderIds stay per cycle', async () => {
  const input = subscriptionInput({
    interval: 'P1M',
    billingAnchor: '2028-01-31T10:00:00+08:00',
    maxCycles: 8,
  });
  const handle = await startActiveSubscription(t.h, input, { continueAsNewEveryCycles: 2 });
  const v0 = await state(handle);
  const firstRun = (await handle.describe()).runId;
  const final = await handle.result();
  expect(final.status).toBe('completed');
  expect(final.paidCycles).toBe(8);
  expect(final.charges.filter((c) => c.kind === 'recurring').map((c) => c.dueAt)).toEqual(
    ['01-31', '02-29', '03-31', '04-30', '05-31', '06-30', '07-31'].map((d) => `2028-${d}T02:00:00.000Z`),
  );
  expect(final.audit[0]).toMatchObject({ to: 'pending_approval' });
  // The first run ended by continuing as new, and the last run is another one.
  expect((await handle.describe()).runId).not.toBe(firstRun);
  const firstHistory = await t.env.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
  const lastEvent = firstHistory.events!.at(-1)!;
  expect(lastEvent.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  // Both ends of a continue-as-new for the replay test: the run that hands over, and one that received.
  await recordHistory(
    t.env.client.workflow.getHandle(handle.workflowId, firstRun),
    'continue-as-new-first-run',
  );
  await recordHistory(handle, 'continue-as-new-last-run');
  expect(paymentsOf(t.h, input.subscriptionId).map((e) => e.orderId)).toEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((c) => orderIdOf(v0, c)),
  );
});
