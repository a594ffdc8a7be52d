import { expect, it } from 'vitest';
import { retryNowUpdate } from '../../workflows/messages.js';
import {
  orderIdOf,
  paymentsOf,
  recordHistory,
  rejectionOf,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  untilState,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('dunning');

const DAY = 86_400_000;

it('soft declines put the subscription past due; a later retry recovers it on its original calendar', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 1001 });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const due1 = (await state(handle)).nextChargeAt!;
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { amount: 1001 },
    times: 2,
    action: { kind: 'return_code', code: '1142' },
  });

  const pastDue = await skipUntil(t.h, handle, (s) => s.status === 'past_due', '12 hours');
  expect(pastDue.dunning).toMatchObject({ cycle: 1, declines: 1, lastReturnCode: '1142' });
  expect(Date.parse(pastDue.dunning!.nextRetryAt!) - Date.parse(pastDue.dunning!.firstDeclineAt)).toBe(
    1 * DAY,
  );

  const recovered = await skipUntil(
    t.h,
    handle,
    (s) => s.status === 'active' && s.paidCycles === 2,
    '12 hours',
  );
  const charge = recovered.charges.find((c) => c.cycle === 1)!;
  // Two definite declines moved the attempt number twice: -c1, -c1-a1 declined; -c1-a2 paid.
  expect(charge.orderId).toBe(orderIdOf(v0, 1, 2));
  expect(Date.parse(charge.chargedAt) - Date.parse(due1)).toBeGreaterThanOrEqual(3 * DAY);
  const anchor = Date.parse(recovered.anchor!);
  const expectedNext = new Date(anchor);
  expectedNext.setUTCMonth(expectedNext.getUTCMonth() + 2);
  expect(recovered.nextChargeAt).toBe(expectedNext.toISOString());
  expect(recovered.dunning).toBeUndefined();
  expect(recovered.audit.map((a) => a.to)).toEqual([
    'pending_approval',
    'active',
    'past_due',
    'past_due',
    'active',
  ]);
  expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(2);
});

it('dunning exhausted: canceled with payment_failed and the regKey expired', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 1002 });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { amount: 1002 },
    action: { kind: 'return_code', code: '1288' },
  });

  const final = await handle.result();
  expect(final.status).toBe('canceled');
  expect(final.cancelReason).toBe('payment_failed');
  expect(final.paidCycles).toBe(1);
  const attempts = t.h.sandbox.control
    .requests()
    .filter(
      (r) =>
        r.path.includes('/preapprovedPay/') &&
        r.path.endsWith('/payment') &&
        r.orderId?.startsWith(orderIdOf(v0, 1)),
    );
  expect(attempts.map((r) => r.orderId)).toEqual([0, 1, 2, 3, 4].map((k) => orderIdOf(v0, 1, k)));
  // This subscription's own key (not any expire in the file) was expired, after the last attempt.
  const key = sandboxRegKey(t.h, v0.regKeyMasked);
  const expires = key.calls('/expire');
  expect(expires.map((r) => r.returnCode)).toContain('0000');
  const log = t.h.sandbox.control.requests();
  const lastAttempt = log.findIndex(
    (r) => r.orderId === attempts.at(-1)!.orderId && r.path.endsWith('/payment'),
  );
  expect(log.findIndex((r) => r.path.endsWith(`/preapprovedPay/${key.masked}/expire`))).toBeGreaterThan(
    lastAttempt,
  );
  expect(key.status).toBe('EXPIRED');
  await recordHistory(handle, 'dunning-exhausted');
});

it('retryNow during dunning charges immediately; it is rejected outside dunning', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 1003 });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const early = await rejectionOf(
    handle.executeUpdate(retryNowUpdate, { args: [{ actor: { kind: 'operator', id: 'ops-1' } }] }),
  );
  expect(early).toEqual({
    type: 'InvalidState',
    message: 'retryNow is for subscriptions in dunning (it is active)',
  });
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { amount: 1003 },
    times: 1,
    action: { kind: 'return_code', code: '1142' },
  });
  const pastDue = await skipUntil(t.h, handle, (s) => s.status === 'past_due', '12 hours');
  const scheduledRetry = Date.parse(pastDue.dunning!.nextRetryAt!);
  const r = await handle.executeUpdate(retryNowUpdate, {
    args: [{ actor: { kind: 'operator', id: 'ops-1' }, reason: 'customer topped up' }],
  });
  expect(r.cycle).toBe(1);
  // No time skipping from here: the retry must run on its own, long before the scheduled one.
  const v = await untilState(handle, (s) => s.status === 'active' && s.paidCycles === 2);
  expect(v.charges.find((c) => c.cycle === 1)!.orderId).toBe(orderIdOf(v0, 1, 1));
  expect(v.audit.some((a) => a.actor.kind === 'operator' && a.reason.includes('customer topped up'))).toBe(
    true,
  );
  // "Immediately" in workflow time: the charge is within a minute of the retryNow entry, not at the schedule.
  const asked = v.audit.find((a) => a.actor.kind === 'operator' && a.reason.includes('customer topped up'))!;
  const chargedAt = Date.parse(v.charges.find((c) => c.cycle === 1)!.chargedAt);
  expect(chargedAt - Date.parse(asked.at)).toBeLessThan(60_000);
  expect(chargedAt).toBeLessThan(scheduledRetry);
});
