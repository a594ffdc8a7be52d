import { expect, it } from 'vitest';
import { cancelUpdate, confirmUpdate, paymentLinkUpdate } from '../../workflows/messages.js';
import {
  orderIdOf,
  paymentsOf,
  recordHistory,
  reservationIdOf,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('reapproval');

function activeKeys(): string[] {
  return t.h.sandbox.control
    .regKeys()
    .filter((k) => k.status === 'ACTIVE')
    .map((k) => k.regKey);
}

it('regKey dies mid-life: re-approval for the overdue cycle, then billing continues on the new regKey', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const before = new Set(activeKeys());
  const handle = await startActiveSubscription(t.h, input);
  const v0 = await state(handle);
  const firstKey = activeKeys().find((k) => !before.has(k))!;
  t.h.sandbox.control.expireRegKey(firstKey); // the customer revoked it in LINE Pay settings

  const v = await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '12 hours');
  expect(v.regKeyMasked).toBeUndefined();
  expect(v.reservation).toMatchObject({
    kind: 'reapproval',
    cycle: 1,
    orderId: reservationIdOf(v0, 1, 1),
    amount: 390,
  });
  expect(v.reservation!.paymentUrl.web).toContain('/web/payment/wait');
  const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  expect(link.paymentUrl).toEqual(v.reservation!.paymentUrl);

  // The customer approves again; LINE Pay redirects to our confirmUrl.
  const redirect = new URL(t.h.sandbox.control.approve(v.reservation!.transactionId).redirectUrl);
  const result = await handle.executeUpdate(confirmUpdate, {
    args: [
      {
        transactionId: redirect.searchParams.get('transactionId')!,
        orderId: redirect.searchParams.get('orderId')!,
      },
    ],
  });
  expect(result.status).toBe('active');
  expect(result.charge).toMatchObject({ cycle: 1, kind: 'reapproval', amount: 390 });

  const after = await skipUntil(t.h, handle, (s) => s.paidCycles >= 3, '1 day');
  const newKey = activeKeys().find((k) => !before.has(k) && k !== firstKey)!;
  expect(newKey).toBeDefined();
  expect(after.charges.map((c) => [c.cycle, c.kind])).toEqual([
    [0, 'approval'],
    [1, 'reapproval'],
    [2, 'recurring'],
  ]);
  const cycle2 = paymentsOf(t.h, input.subscriptionId).find((e) => e.orderId === orderIdOf(v0, 2))!;
  expect(cycle2.regKey).toBe(`${newKey.slice(0, 2)}…${newKey.slice(-4)}`);
  expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(3);
  await handle.executeUpdate(cancelUpdate, {
    args: [{ actor: { kind: 'merchant' }, reason: 'end of test' }],
  });
  await recordHistory(handle, 'reapproval');
});

it('nobody re-approves within the window: canceled', async () => {
  const input = subscriptionInput({ interval: 'P1M', reapprovalTimeout: 'P3D' });
  const before = new Set(activeKeys());
  const handle = await startActiveSubscription(t.h, input);
  t.h.sandbox.control.expireRegKey(activeKeys().find((k) => !before.has(k))!);
  const final = await handle.result();
  expect(final.status).toBe('canceled');
  expect(final.cancelReason).toBe('reapproval_expired');
  expect(final.paidCycles).toBe(1);
});

it('a hard decline retires the old regKey and asks the customer to approve again', async () => {
  const input = subscriptionInput({ interval: 'P1M', amount: 1110 });
  const before = new Set(activeKeys());
  const handle = await startActiveSubscription(t.h, input);
  const oldKey = activeKeys().find((k) => !before.has(k))!;
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { amount: 1110 },
    times: 1,
    action: { kind: 'return_code', code: '1110' },
  });
  const v = await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '12 hours');
  expect(v.audit.at(-1)!.reason).toContain('hard decline (1110)');
  expect(v.reservation).toMatchObject({ kind: 'reapproval', cycle: 1 });
  expect(t.h.sandbox.control.regKeys().find((k) => k.regKey === oldKey)!.status).toBe('EXPIRED');
  expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(1);
});
