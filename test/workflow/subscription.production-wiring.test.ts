import { expect, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../client/temporal/payload-codec.js';
import { workflowIdFor } from '../../workflows/messages.js';
import { parseOrderId } from '../../workflows/order-id.js';
import {
  callsOf,
  chargeAttemptsOf,
  orderIdOf,
  paymentsOf,
  reservationIdOf,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

// The worker exactly as production builds it (codec data converter, default LINE Pay timeouts).
const t = useSubscriptionHarness('production-wiring', { production: true });

const DAY = 86_400_000;

it('runs on the production worker: payloads in history are encrypted, billing works', async () => {
  const input = subscriptionInput({ interval: 'P1M', productName: 'Secret Plan 秘密' });
  const handle = await startActiveSubscription(t.h, input);
  const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2);
  expect(v.charges.map((c) => c.cycle)).toEqual([0, 1]);
  expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(2);
  // Read history without the codec: every payload is ciphertext.
  const history = await t.env.client.workflow.getHandle(workflowIdFor(input.subscriptionId)).fetchHistory();
  const start = history.events![0]!.workflowExecutionStartedEventAttributes!;
  const payload = start.input!.payloads![0]!;
  expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
  expect(JSON.stringify(history)).not.toContain('Secret Plan');
});

it('1172 inside a run, the order was paid: the lost charge is found by lookup and recorded once', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 2101 });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const orderId = orderIdOf(v0, 1);
  // The charge commits and its answer is lost; the lookups right after fail too, so the resend meets 1172.
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId },
    times: 1,
    action: { kind: 'drop_after_commit' },
  });
  // Details lags behind the commit (LINE Pay lists no payment yet), so the resend meets 1172.
  t.h.sandbox.control.addFault({
    api: 'details',
    match: { orderId },
    times: 4,
    action: { kind: 'return_code', code: '1150' },
  });
  const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 hour', 24 * 40);
  expect(v.status).toBe('active');
  expect(v.dunning).toBeUndefined();
  const sent = chargeAttemptsOf(t.h, input.subscriptionId).filter(
    (r) => parseOrderId(r.orderId!)?.cycle === 1,
  );
  expect(sent.map((r) => r.returnCode)).toContain('1172');
  expect(new Set(sent.map((r) => r.orderId))).toEqual(new Set([orderId]));
  const ledger = paymentsOf(t.h, input.subscriptionId).filter((e) => parseOrderId(e.orderId)?.cycle === 1);
  expect(ledger).toHaveLength(1);
  const cycle1 = v.charges.filter((c) => c.cycle === 1);
  expect(cycle1.map((c) => [c.orderId, c.transactionId, c.recovered])).toEqual([
    [orderId, ledger[0]!.transactionId, true],
  ]);
});

it('1172 inside a run, nothing under the order: a declined attempt whose answer was lost moves on to -a1 and dunning', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 2102 });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const orderId = orderIdOf(v0, 1);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId },
    times: 1,
    action: { kind: 'decline_then_drop' },
  });
  const v = await skipUntil(
    t.h,
    handle,
    (s) => s.status === 'past_due' || s.paidCycles >= 2,
    '1 hour',
    24 * 40,
  );
  expect(v.needsAttention).toBeFalsy();
  const sent = chargeAttemptsOf(t.h, input.subscriptionId).filter(
    (r) => parseOrderId(r.orderId!)?.cycle === 1,
  );
  expect(sent.filter((r) => r.orderId === orderId).map((r) => r.returnCode)).toContain('1172');
  // Never paid under the used orderId; the next attempt is -a1 (now or at the first dunning retry).
  expect(paymentsOf(t.h, input.subscriptionId).filter((e) => e.orderId === orderId)).toEqual([]);
  const after = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '12 hours', 200);
  expect(after.charges.find((c) => c.cycle === 1)?.orderId).toBe(orderIdOf(v0, 1, 1));
  expect(after.audit.map((a) => a.to)).toContain('past_due');
  expect(
    paymentsOf(t.h, input.subscriptionId).filter((e) => parseOrderId(e.orderId)?.cycle === 1),
  ).toHaveLength(1);
});

it('continue-as-new while past_due: attempt count, schedule from the first decline and exhaustion carry over', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 2103 });
  // A low event cap makes every run continue as new while it waits in dunning.
  const handle = await startActiveSubscription(t.h, input, { continueAsNewAfterEvents: 40 });
  const v0 = await state(handle);
  const firstRun = (await handle.describe()).runId;
  const key = sandboxRegKey(t.h, v0.regKeyMasked);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { regKey: key.regKey },
    action: { kind: 'return_code', code: '1142' },
  });
  const pastDue = await skipUntil(t.h, handle, (s) => s.status === 'past_due', '12 hours');
  const firstDecline = Date.parse(pastDue.dunning!.firstDeclineAt);
  expect(pastDue.dunning).toMatchObject({ cycle: 1, declines: 1 });

  // The production client does not skip time by itself: drive it to the end.
  await skipUntil(t.h, handle, (s) => s.status === 'canceled', '1 day', 30);
  const final = await handle.result();
  expect((await handle.describe()).runId).not.toBe(firstRun);
  const runs = await countRuns(handle.workflowId, firstRun);
  console.log(`[production-wiring] ${runs} runs for one dunning cycle`);
  expect(runs).toBeGreaterThan(2);
  expect(final).toMatchObject({ status: 'canceled', cancelReason: 'payment_failed', paidCycles: 1 });
  // The same five attempts as without continue-as-new, each with its attempt count in the orderId.
  const attempts = chargeAttemptsOf(t.h, input.subscriptionId).filter(
    (r) => parseOrderId(r.orderId!)?.cycle === 1,
  );
  expect([...new Set(attempts.map((r) => r.orderId))]).toEqual(
    [0, 1, 2, 3, 4].map((k) => orderIdOf(v0, 1, k)),
  );
  // Retries at the schedule's offsets from the first decline (P1D, P3D, P5D), cancel at P7D.
  const declines = final.audit.filter((a) => a.to === 'past_due' && a.actor.kind === 'system');
  const offsets = declines.map((a) => Math.round((Date.parse(a.at) - firstDecline) / DAY));
  expect(offsets.filter((d, i) => offsets.indexOf(d) === i)).toEqual([0, 1, 3, 5]);
  const canceled = final.audit.at(-1)!;
  expect(canceled.to).toBe('canceled');
  expect(Math.round((Date.parse(canceled.at) - firstDecline) / DAY)).toBe(7);
});

it('continue-as-new while waiting for re-approval: the deadline and the overdue cycle carry over', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 2104, reapprovalTimeout: 'P3D' });
  const handle = await startActiveSubscription(t.h, input, { continueAsNewAfterEvents: 40 });
  const v0 = await state(handle);
  const firstRun = (await handle.describe()).runId;
  t.h.sandbox.control.expireRegKey(sandboxRegKey(t.h, v0.regKeyMasked).regKey);
  const re = await skipUntil(
    t.h,
    handle,
    (s) => s.status === 'reapproval_required' && s.reservation !== undefined,
    '12 hours',
  );
  const deadline = re.audit.at(-1)!.at;
  await skipUntil(t.h, handle, (s) => s.status === 'canceled', '12 hours', 30);
  const final = await handle.result();
  expect(await countRuns(handle.workflowId, firstRun)).toBeGreaterThan(1);
  expect(final).toMatchObject({ status: 'canceled', cancelReason: 'reapproval_expired', paidCycles: 1 });
  expect(Math.round((Date.parse(final.canceledAt!) - Date.parse(deadline)) / DAY)).toBe(3);
  // One re-approval reservation for the overdue cycle, across the runs.
  const reservations = callsOf(t.h, input.subscriptionId).filter((q) => q.path.endsWith('/payments/request'));
  expect(reservations.map((q) => q.orderId)).toEqual([v0.charges[0]!.orderId, reservationIdOf(v0, 1, 1)]);
});

/** Runs in the chain, walked from the first run through each continue-as-new. */
async function countRuns(workflowId: string, firstRunId: string): Promise<number> {
  let n = 0;
  let runId: string | undefined = firstRunId;
  while (runId !== undefined) {
    n += 1;
    const history = await t.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: NonNullable<typeof history.events> = history.events ?? [];
    const next: string | null | undefined =
      events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    runId = next ?? undefined;
  }
  return n;
}
