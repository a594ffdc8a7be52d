import { describe, expect, it } from 'vitest';
import {
  cancelApprovalUpdate,
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  pauseUpdate,
  paymentLinkUpdate,
  resumeUpdate,
} from '../../workflows/messages.js';
import {
  approveOnLinePay,
  callsOf,
  chargeAttemptsOf,
  paymentsOf,
  rejectionOf,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  startSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('lifecycle');

const merchant = { kind: 'merchant' as const, id: 'backend' };

describe('approval', () => {
  it('rejects a forged confirm (wrong transactionId or orderId) without touching billing', async () => {
    const handle = await startSubscription(t.h, subscriptionInput());
    const ids = await approveOnLinePay(t.h, handle);
    const wrongTx = await rejectionOf(
      handle.executeUpdate(confirmUpdate, {
        args: [{ transactionId: '2026112699999999999', orderId: ids.orderId }],
      }),
    );
    expect(wrongTx.type).toBe('ApprovalMismatch');
    const wrongOrder = await rejectionOf(
      handle.executeUpdate(confirmUpdate, { args: [{ ...ids, orderId: 'other-c0' }] }),
    );
    expect(wrongOrder.type).toBe('ApprovalMismatch');
    const v = await state(handle);
    expect(v.status).toBe('pending_approval');
    expect(
      t.h.sandbox.control.requests().filter((r) => r.path.endsWith('/confirm') && r.orderId === ids.orderId),
    ).toHaveLength(0);
    // The genuine callback still works, and a replay of it is idempotent.
    const ok = await handle.executeUpdate(confirmUpdate, {
      args: [ids],
      updateId: `confirm-${ids.transactionId}`,
    });
    expect(ok.status).toBe('active');
    const again = await handle.executeUpdate(confirmUpdate, {
      args: [ids],
      updateId: `confirm-${ids.transactionId}`,
    });
    expect(again).toEqual(ok);
    // A replay under another update id (a late webhook after the poll confirmed: approval-poll.ts)
    // gets the same answer; LINE Pay saw one Confirm.
    const replayed = await handle.executeUpdate(confirmUpdate, { args: [ids] });
    expect(replayed).toEqual(ok);
    expect(
      t.h.sandbox.control.requests().filter((r) => r.path.endsWith('/confirm') && r.orderId === ids.orderId),
    ).toHaveLength(1);
  });

  it('expires when the customer does not approve within the approval timeout', async () => {
    const handle = await startSubscription(t.h, subscriptionInput());
    const final = await handle.result();
    expect(final.status).toBe('approval_expired');
    expect(final.audit.at(-1)).toMatchObject({ to: 'approval_expired', actor: { kind: 'system' } });
    expect(Date.parse(final.audit.at(-1)!.at) - Date.parse(final.createdAt)).toBeGreaterThanOrEqual(
      20 * 60_000,
    );
  });

  it('the cancel URL ends it as approval_canceled: no Confirm is sent and no money moves', async () => {
    const input = subscriptionInput();
    const handle = await startSubscription(t.h, input);
    const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    expect(link.paymentUrl?.web).toMatch(/^http/);
    const { transactionId, orderId } = (await state(handle)).reservation!;
    // The customer presses Cancel on LINE Pay's page; LINE Pay sends the browser to our cancelUrl.
    const { redirectUrl } = t.h.sandbox.control.cancel(transactionId);
    const back = new URL(redirectUrl);
    expect(back.searchParams.get('transactionId')).toBe(transactionId);
    const r = await handle.executeUpdate(cancelApprovalUpdate, {
      args: [{ transactionId, orderId: back.searchParams.get('orderId') ?? orderId }],
    });
    expect(r.status).toBe('approval_canceled');
    const final = await handle.result();
    expect(final.status).toBe('approval_canceled');
    expect(final.charges).toEqual([]);
    expect(final.regKeyMasked).toBeUndefined();
    expect(
      t.h.sandbox.control.requests().filter((q) => q.path.includes(`/${transactionId}/confirm`)),
    ).toEqual([]);
    // Only the reservation and read-only lookups (status, details) went to LINE Pay for this subscription.
    const calls = callsOf(t.h, input.subscriptionId).map((q) => `${q.method} ${q.path}`);
    expect(calls[0]).toBe('POST /v3/payments/request');
    for (const call of calls.slice(1)) expect(call).toMatch(/^GET /);
    expect(t.h.sandbox.control.ledger().filter((e) => e.transactionId === transactionId)).toEqual([]);
    expect(paymentsOf(t.h, input.subscriptionId)).toEqual([]);
  });

  it('refuses invalid input with a clear, non-retryable failure', async () => {
    const handle = await startSubscription(t.h, subscriptionInput({ amount: 12.5 }));
    await expect(handle.result()).rejects.toMatchObject({
      cause: {
        type: 'InvalidSubscriptionInput',
        message: "amount: must be a positive integer in the currency's unit",
      },
    });
  });
});

describe('after approval', () => {
  it('cancel now expires the regKey and stops billing', async () => {
    const input = subscriptionInput({ interval: 'P1M' });
    const handle = await startActiveSubscription(t.h, input);
    const active = await state(handle);
    const key = sandboxRegKey(t.h, active.regKeyMasked);
    expect(key.status).toBe('ACTIVE');
    expect(key.calls('/expire')).toEqual([]);
    const r = await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: merchant, reason: 'customer asked' }],
    });
    expect(r.status).toBe('canceled');
    const final = await handle.result();
    expect(final).toMatchObject({ status: 'canceled', cancelReason: 'customer asked', paidCycles: 1 });
    expect(final.audit.at(-1)).toMatchObject({ to: 'canceled', actor: merchant });
    // The key is dead at LINE Pay: one expire call for it, answered 0000, and the sandbox says EXPIRED.
    expect(key.calls('/expire').map((q) => q.returnCode)).toEqual(['0000']);
    expect(sandboxRegKey(t.h, active.regKeyMasked).status).toBe('EXPIRED');
    // Three billing dates pass after the cancel: nothing is attempted, nothing is paid.
    await t.env.sleep('100 days');
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toEqual([]);
    expect(key.calls('/payment')).toEqual([]);
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(1);
    // The workflow is closed: nothing can reach it any more.
    await expect(handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant }] })).rejects.toThrow();
  });

  it('cancel at period end keeps the paid period, then cancels instead of charging', async () => {
    const input = subscriptionInput();
    const handle = await startActiveSubscription(t.h, input);
    const due = (await state(handle)).nextChargeAt!;
    const r = await handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, atPeriodEnd: true }] });
    expect(r).toEqual({ status: 'active', effectiveAt: due });
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(final.canceledAt).toBe(due);
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(1);
  });

  it('pause skips the cycles due while paused; resume bills on the original calendar', async () => {
    const input = subscriptionInput({ interval: 'P1W' });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    const anchor = Date.parse(v0.anchor!);
    const week = 7 * 86_400_000;
    const paused = await handle.executeUpdate(pauseUpdate, {
      args: [{ actor: merchant, reason: 'travelling' }],
    });
    expect(paused.resumeAt).toBeUndefined();
    await t.env.sleep('17 days'); // cycles 1 and 2 fall due while paused
    const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ actor: merchant }] });
    expect(resumed.status).toBe('active');
    expect(resumed.skippedCycles).toEqual([1, 2]);
    expect(resumed.nextChargeAt).toBe(new Date(anchor + 3 * week).toISOString());
    const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day');
    expect(v.charges.map((c) => c.cycle)).toEqual([0, 3]);
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(2);
    const notPaused = await rejectionOf(handle.executeUpdate(resumeUpdate, { args: [{ actor: merchant }] }));
    expect(notPaused.type).toBe('InvalidState');
  });

  it('pause with a resume date resumes by itself', async () => {
    const input = subscriptionInput({ interval: 'P1M' });
    const handle = await startActiveSubscription(t.h, input);
    const resumeAt = new Date(
      Date.parse((await state(handle)).nextChargeAt!) + 10 * 86_400_000,
    ).toISOString();
    const p = await handle.executeUpdate(pauseUpdate, { args: [{ actor: merchant, resumeAt }] });
    expect(p.resumeAt).toBe(resumeAt);
    const v = await skipUntil(t.h, handle, (s) => s.status === 'active', '1 day');
    expect(v.skippedCycles).toEqual([1]);
    expect(v.cycle).toBe(2);
  });

  it('a plan change applies from the next cycle', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 390 });
    const handle = await startActiveSubscription(t.h, input);
    const bad = await rejectionOf(
      handle.executeUpdate(changePlanUpdate, { args: [{ actor: merchant, amount: -5 }] }),
    );
    expect(bad.type).toBe('InvalidRequest');
    const r = await handle.executeUpdate(changePlanUpdate, {
      // +15%: under the 20% share that needs the customer's re-approval.
      args: [{ actor: merchant, amount: 449, productName: 'Premium Plus' }],
    });
    expect(r.effectiveCycle).toBe(1);
    expect(r.effectiveAt).toBe((await state(handle)).nextChargeAt);
    const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day');
    expect(v.charges.map((c) => [c.cycle, c.amount, c.productName])).toEqual([
      [0, 390, '月訂閱 Premium'],
      [1, 449, 'Premium Plus'],
    ]);
    expect(v.plan.amount).toBe(449);
    const ledger = paymentsOf(t.h, input.subscriptionId);
    expect(ledger.map((e) => e.amount)).toEqual([390, 449]);
  });
});

describe('combinations', () => {
  it('cancel at period end still happens while paused', async () => {
    const input = subscriptionInput({ interval: 'P1M' });
    const handle = await startActiveSubscription(t.h, input);
    const due = (await state(handle)).nextChargeAt!;
    await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: merchant, atPeriodEnd: true, reason: 'moving away' }],
    });
    await handle.executeUpdate(pauseUpdate, { args: [{ actor: merchant }] });
    const final = await handle.result();
    expect(final).toMatchObject({
      status: 'canceled',
      canceledAt: due,
      cancelReason: 'moving away',
      paidCycles: 1,
    });
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(1);
  });
});

describe('lost Confirm answer', () => {
  it('refunds an approval payment whose regKey never came back, and says so', async () => {
    const handle = await startSubscription(t.h, subscriptionInput());
    const ids = await approveOnLinePay(t.h, handle);
    // LINE Pay confirms, then the answer is lost; the repeat gets 1152 without the regKey.
    t.h.sandbox.control.addFault({
      api: 'confirm',
      match: { transactionId: ids.transactionId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    const result = await handle.executeUpdate(confirmUpdate, { args: [ids] });
    expect(result.status).toBe('approval_expired');
    expect(result.message).toMatch(/1152.*refunded/);
    const ledger = t.h.sandbox.control.ledger().filter((e) => e.orderId === ids.orderId);
    expect(ledger.map((e) => e.kind)).toEqual(['payment', 'refund']);
    expect(ledger[1]!.amount).toBe(ledger[0]!.amount);
  });
});
