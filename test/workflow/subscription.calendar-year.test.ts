import { expect, it } from 'vitest';
import {
  orderIdOf,
  paymentsOf,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

// The first charge falls 14 months after the approval (billingAnchor 2028-01-31): LINE Pay would have
// expired the idle regKey after about 180 days, as the sandbox on the test clock does (the regKey check
// then starts re-approval a week ahead). This test is about the calendar, so idle keys live longer here.
const t = useSubscriptionHarness('calendar-year', {
  sandbox: { regKeyIdleLifetimeMs: 3 * 365 * 86_400_000 },
});

it('bills a year of months anchored on Jan 31 of a leap year: 12 charges on the right Taipei instants', async () => {
  const input = subscriptionInput({
    interval: 'P1M',
    billingAnchor: '2028-01-31T10:00:00+08:00',
    maxCycles: 13, // the approval payment plus twelve monthly charges
  });
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const afterApproval = await state(handle);
  expect(afterApproval.status).toBe('active');
  expect(afterApproval.nextChargeAt).toBe('2028-01-31T02:00:00.000Z');

  const final = await handle.result(); // time skips while we wait
  expect(final.status).toBe('completed');
  expect(final.paidCycles).toBe(13);

  const recurring = final.charges.filter((c) => c.kind === 'recurring');
  const expectedTaipeiDates = [
    '2028-01-31',
    '2028-02-29',
    '2028-03-31',
    '2028-04-30',
    '2028-05-31',
    '2028-06-30',
    '2028-07-31',
    '2028-08-31',
    '2028-09-30',
    '2028-10-31',
    '2028-11-30',
    '2028-12-31',
  ];
  expect(recurring.map((c) => c.dueAt)).toEqual(expectedTaipeiDates.map((d) => `${d}T02:00:00.000Z`));
  for (const c of recurring) {
    const lateMs = Date.parse(c.chargedAt) - Date.parse(c.dueAt!);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(60_000);
  }
  expect(recurring.map((c) => c.cycle)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

  const orderIds = final.charges.map((c) => c.orderId);
  expect(new Set(orderIds).size).toBe(13);
  expect(orderIds[1]).toBe(orderIdOf(v0, 1));

  const ledger = paymentsOf(t.h, input.subscriptionId);
  expect(ledger).toHaveLength(13);
  expect(ledger.map((e) => e.orderId).sort()).toEqual([...orderIds].sort());
  expect(ledger.map((e) => e.transactionId).sort()).toEqual(final.charges.map((c) => c.transactionId).sort());
  // The fixed term ends by expiring the regKey so it cannot be charged again.
  expect(t.h.sandbox.control.regKeys().every((k) => k.status === 'EXPIRED')).toBe(true);
});
