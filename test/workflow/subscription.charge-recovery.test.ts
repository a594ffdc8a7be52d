import { expect, it } from 'vitest';
import {
  orderIdOf,
  paymentsOf,
  recordHistory,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('charge-recovery');

it('LINE Pay commits the charge and drops the connection: one charge, recorded once, found by lookup', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const orderId = orderIdOf(v0, 1);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId },
    times: 1,
    action: { kind: 'drop_after_commit' },
  });

  const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2);
  expect(v.status).toBe('active');
  expect(v.cycle).toBe(2);
  const cycle1 = v.charges.filter((c) => c.cycle === 1);
  expect(cycle1).toHaveLength(1);
  expect(cycle1[0]!.orderId).toBe(orderId);
  expect(cycle1[0]!.recovered).toBe(true);

  const ledger = paymentsOf(t.h, input.subscriptionId).filter((e) => e.orderId === orderId);
  expect(ledger).toHaveLength(1);
  expect(ledger[0]!.transactionId).toBe(cycle1[0]!.transactionId);
  // Never a second orderId for the cycle.
  const sentOrderIds = t.h.sandbox.control
    .requests()
    .filter((r) => r.path.includes('/preapprovedPay/') && r.orderId?.startsWith(orderIdOf(v0, 1)))
    .map((r) => r.orderId);
  expect(new Set(sentOrderIds)).toEqual(new Set([orderId]));
});

it('a 5xx before commit is retried with the same orderId, and charges exactly once', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const orderId = orderIdOf(v0, 1);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId },
    times: 2,
    action: { kind: 'http_error', status: 503 },
  });

  const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2);
  const cycle1 = v.charges.filter((c) => c.cycle === 1);
  expect(cycle1).toHaveLength(1);
  expect(cycle1[0]!.orderId).toBe(orderId);
  expect(
    paymentsOf(t.h, input.subscriptionId).filter((e) => e.orderId.includes(`${v0.instanceId}-c1`)),
  ).toHaveLength(1);
  const attempts = t.h.sandbox.control
    .requests()
    .filter((r) => r.path.includes('/preapprovedPay/') && r.orderId === orderId);
  expect(attempts.length).toBe(3); // two 503s, then the charge
});

it('an unresolved outcome is visible in the state while LINE Pay keeps failing, then resolves to one charge', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const orderId = orderIdOf(v0, 1);
  // The charge commits but the answer is lost, and the lookups fail for a while too.
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId },
    times: 1,
    action: { kind: 'drop_after_commit' },
  });
  t.h.sandbox.control.addFault({
    api: 'details',
    match: { orderId },
    times: 2,
    action: { kind: 'http_error', status: 502 },
  });

  const unresolved = await skipUntil(t.h, handle, (s) => s.unresolvedCharge !== undefined, '6 hours');
  expect(unresolved.unresolvedCharge!.orderId).toBe(orderId);
  expect(unresolved.status).toBe('active');

  const v = await skipUntil(
    t.h,
    handle,
    (s) => s.paidCycles >= 2 && s.unresolvedCharge === undefined,
    '1 minute',
    200,
  );
  expect(v.charges.filter((c) => c.cycle === 1).map((c) => c.recovered)).toEqual([true]);
  // The workflow-level lookup loop (backoff timers, lookups, a resend) for the replay test.
  await recordHistory(handle, 'lookup-loop');
  expect(
    paymentsOf(t.h, input.subscriptionId).filter((e) => e.orderId.includes(`${v0.instanceId}-c1`)),
  ).toHaveLength(1);
});
