/**
 * Regression tests for the billing-core defects of issue 8, one per defect, on the time-skipping
 * server against the sandbox. Each failed on the old closure-style workflow.
 */
import { describe, expect, it } from 'vitest';
import {
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  paymentLinkUpdate,
  retryNowUpdate,
  settleChargeUpdate,
} from '../../workflows/messages.js';
import { parseOrderId } from '../../workflows/order-id.js';
import {
  callsOf,
  chargeAttemptsOf,
  orderIdOf,
  paymentsOf,
  rejectionOf,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  startSubscription,
  state,
  subscriptionInput,
  untilState,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('defects');
const merchant = { kind: 'merchant' as const, id: 'backend' };
const operator = { kind: 'operator' as const, id: 'ops' };

describe('issue 8 defects', () => {
  it('1: a decline whose answer is lost ends as a failed attempt and dunning, not a stuck cycle', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 801 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 1) },
      times: 1,
      action: { kind: 'decline_then_drop', code: '1142' },
    });
    const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 hour', 2000);
    const cycle1 = v.charges.find((c) => c.cycle === 1)!;
    // -c1 was used without payment; the next attempt went out under -a1 after the dunning wait.
    expect(cycle1.orderId).toBe(orderIdOf(v0, 1, 1));
    expect(paymentsOf(t.h, input.subscriptionId).map((p) => p.orderId)).toEqual([
      v.charges[0]!.orderId,
      orderIdOf(v0, 1, 1),
    ]);
    expect(v.audit.some((a) => a.to === 'past_due' && a.reason.includes('lost decline'))).toBe(true);
    const sent = chargeAttemptsOf(t.h, input.subscriptionId).map((r) => r.orderId);
    // Bounded: the original, a resend that got 1172, then the new attempt.
    expect(sent.filter((o) => o === orderIdOf(v0, 1)).length).toBeLessThanOrEqual(3);
  });

  it('2: an unknown return code on a charge is looked up, blocks on a timer, and a cancel interrupts it', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 802 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 1) },
      action: { kind: 'unknown_return_code', code: '1297' },
    });
    const blocked = await skipUntil(t.h, handle, (s) => s.blocked !== undefined, '1 day', 60);
    expect(blocked.needsAttention?.kind).toBe('blocked');
    expect(blocked.status).toBe('active');
    // Never resent to the card forever: each attempt waits on the blocked timer.
    const attemptsBefore = chargeAttemptsOf(t.h, input.subscriptionId).length;
    await t.env.sleep('2 minutes');
    expect(chargeAttemptsOf(t.h, input.subscriptionId).length).toBe(attemptsBefore);
    const key = sandboxRegKey(t.h, v0.regKeyMasked);
    const r = await handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, reason: 'rotating' }] });
    expect(r.status).toBe('canceled');
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(sandboxRegKey(t.h, v0.regKeyMasked).status).toBe('EXPIRED');
    expect(key.calls('/expire').length).toBeGreaterThan(0);
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(1);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('3: cancel at period end while past_due stops attempts now and is not backdated', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 803 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { amount: 803 },
      action: { kind: 'return_code', code: '1142' },
    });
    const pastDue = await skipUntil(t.h, handle, (s) => s.status === 'past_due');
    expect(pastDue.charges).toHaveLength(1);
    const attempts = chargeAttemptsOf(t.h, input.subscriptionId).length;
    const before = await t.env.currentTimeMs();
    const r = await handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, atPeriodEnd: true }] });
    expect(r.status).toBe('canceled');
    const final = await handle.result();
    expect(final.cancelReason).toContain('no further attempts');
    expect(Date.parse(final.canceledAt!)).toBeGreaterThanOrEqual(before);
    expect(chargeAttemptsOf(t.h, input.subscriptionId).length).toBe(attempts);
    expect(sandboxRegKey(t.h, v0.regKeyMasked).status).toBe('EXPIRED');
  });

  it('4: a Confirm that answers an unknown code is looked up and any payment refunded, in the result', async () => {
    const input = subscriptionInput({ amount: 804 });
    const handle = await startSubscription(t.h, input);
    await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    const res = (await state(handle)).reservation!;
    t.h.sandbox.control.addFault({
      api: 'confirm',
      match: { transactionId: res.transactionId },
      times: 1,
      action: { kind: 'unknown_return_code', code: '1297', afterCommit: true },
    });
    const { redirectUrl } = t.h.sandbox.control.approve(res.transactionId);
    const url = new URL(redirectUrl);
    const result = await handle.executeUpdate(confirmUpdate, {
      args: [
        { transactionId: url.searchParams.get('transactionId')!, orderId: url.searchParams.get('orderId')! },
      ],
    });
    expect(result.status).toBe('approval_expired');
    expect(result.refund?.transactionId).toBe(res.transactionId);
    const refunds = t.h.sandbox.control.ledger().filter((e) => e.kind === 'refund');
    expect(refunds.filter((e) => e.transactionId === res.transactionId)).toHaveLength(1);
    // The run ends only once its events reached the ledger.
    expect((await handle.result()).status).toBe('approval_expired');
    expect(
      t.h.recordedEvents.filter(
        (e) => e.type === 'charge.refunded' && e.subscriptionId === input.subscriptionId,
      ),
    ).toHaveLength(1);
  });

  it('5: once a cancel is accepted nothing new is sent; the regKey is expired before the in-flight charge is looked up', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 805 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    // The charge's answer is lost and lookups fail: the charge is unresolved when the cancel comes.
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 1) },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    t.h.sandbox.control.addFault({
      api: 'details',
      match: { orderId: orderIdOf(v0, 1) },
      times: 6,
      action: { kind: 'http_error', status: 502 },
    });
    await skipUntil(t.h, handle, (s) => s.unresolvedCharge !== undefined, '6 hours');
    const sentBefore = chargeAttemptsOf(t.h, input.subscriptionId).length;
    const cancelAt = t.h.sandbox.control.requests().length;
    const r = await handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, reason: 'stop' }] });
    expect(r.status).toBe('canceled');
    const final = await handle.result();
    const after = t.h.sandbox.control.requests().slice(cancelAt);
    expect(chargeAttemptsOf(t.h, input.subscriptionId).length).toBe(sentBefore);
    const firstExpire = after.findIndex((q) => q.path.endsWith('/expire'));
    const firstLookup = after.findIndex(
      (q) => q.path.includes('/payments') && q.method === 'GET' && q.orderId === orderIdOf(v0, 1),
    );
    expect(firstExpire).toBeGreaterThanOrEqual(0);
    if (firstLookup >= 0) expect(firstExpire).toBeLessThan(firstLookup);
    // The committed charge was found and recorded once; no second payment exists.
    expect(paymentsOf(t.h, input.subscriptionId).filter((p) => p.orderId === orderIdOf(v0, 1))).toHaveLength(
      1,
    );
    expect(final.charges.filter((c) => c.cycle === 1)).toHaveLength(1);
  });

  it('6: cancel racing a re-approval Confirm settles both handlers and closes the run', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 806 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.expireRegKey(sandboxRegKey(t.h, v0.regKeyMasked).regKey);
    const re = await skipUntil(
      t.h,
      handle,
      (s) => s.status === 'reapproval_required' && s.reservation !== undefined,
    );
    const { redirectUrl } = t.h.sandbox.control.approve(re.reservation!.transactionId);
    const url = new URL(redirectUrl);
    const ids = {
      transactionId: url.searchParams.get('transactionId')!,
      orderId: url.searchParams.get('orderId')!,
    };
    const cancel = handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, reason: 'race' }] });
    const confirm = handle.executeUpdate(confirmUpdate, { args: [ids] }).catch((e: unknown) => e);
    const [c, f] = await Promise.all([cancel, confirm]);
    expect(c.status).toBe('canceled');
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    const confirms = callsOf(t.h, input.subscriptionId).filter(
      (q) => q.path.endsWith('/confirm') && q.orderId === ids.orderId,
    );
    // Served in the order accepted: a confirm accepted first pays the overdue cycle, then the cancel
    // expires the new key; a confirm accepted after the cancel is answered with the terminal status
    // (or refused by its validator) and never reaches LINE Pay.
    const answered = f instanceof Error ? undefined : (f as { status: string }).status;
    if (answered === 'active') {
      expect(confirms).toHaveLength(1);
      expect(final.charges.some((ch) => ch.kind === 'reapproval')).toBe(true);
    } else {
      expect(confirms).toHaveLength(0);
      if (answered !== undefined) expect(answered).toBe('canceled');
    }
  });

  it('7: retryNow does not outlive its charge: the next decline still waits its first dunning offset', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 807 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 1) },
      times: 1,
      action: { kind: 'return_code', code: '1142' },
    });
    await skipUntil(t.h, handle, (s) => s.status === 'past_due');
    await handle.executeUpdate(retryNowUpdate, { args: [{ actor: merchant, requestId: 'retry-1' }] });
    // The same request id again (a client retry after a deadline) is not a second retry.
    const again = await handle.executeUpdate(retryNowUpdate, {
      args: [{ actor: merchant, requestId: 'retry-1' }],
    });
    expect(again.cycle).toBe(1);
    await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 hour');
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 2) },
      times: 1,
      action: { kind: 'return_code', code: '1142' },
    });
    const pd = await skipUntil(t.h, handle, (s) => s.status === 'past_due' && s.cycle === 2, '1 day');
    expect(pd.dunning!.nextRetryAt).toBe(
      new Date(Date.parse(pd.dunning!.firstDeclineAt) + 24 * 3600_000).toISOString(),
    );
    expect(
      chargeAttemptsOf(t.h, input.subscriptionId).filter((q) => parseOrderId(q.orderId!)?.cycle === 2),
    ).toHaveLength(1);
    expect(
      chargeAttemptsOf(t.h, input.subscriptionId).filter((q) => q.orderId === orderIdOf(v0, 1, 1)),
    ).toHaveLength(1);
  });

  it('8: paymentLink outside approval is rejected and writes nothing to history', async () => {
    const input = subscriptionInput({ interval: 'P1M' });
    const handle = await startActiveSubscription(t.h, input);
    const updates = async () =>
      (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)
        .length;
    const before = await updates();
    for (let i = 0; i < 5; i += 1) {
      const r = await rejectionOf(handle.executeUpdate(paymentLinkUpdate, { args: [{}] }));
      expect(r.type).toBe('NotAwaitingApproval');
    }
    expect(await updates()).toBe(before);
  });

  it('9: a reused subscriptionId is a new instance: new orderIds, never the old payment "recovered"', async () => {
    const input = subscriptionInput({ interval: 'P1M', maxCycles: 2 });
    const first = await startActiveSubscription(t.h, input);
    const v1 = await state(first);
    const done = await first.result();
    expect(done.status).toBe('completed');
    const second = await startActiveSubscription(t.h, { ...input });
    const v2 = await state(second);
    expect(v2.instanceId).not.toBe(v1.instanceId);
    const final = await second.result();
    expect(final.charges.map((c) => c.orderId)).toEqual([orderIdOf(v2, 0), orderIdOf(v2, 1)]);
    expect(final.charges.every((c) => !c.recovered)).toBe(true);
    expect(paymentsOf(t.h, input.subscriptionId)).toHaveLength(4);
  });

  it('12: an approval window longer than the payment URL renews the reservation on request', async () => {
    const input = subscriptionInput({ approvalTimeout: 'PT2H' });
    const handle = await startSubscription(t.h, input);
    const first = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    expect(first.created).toBe(true);
    await t.env.sleep('25 minutes');
    const renewed = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    expect(renewed.created).toBe(false);
    expect(renewed.paymentUrl?.web).toBeDefined();
    expect(renewed.paymentUrl?.web).not.toBe(first.paymentUrl?.web);
    const v = await state(handle);
    expect(v.reservation!.orderId.endsWith('-c0-r1')).toBe(true);
    expect(Date.parse(v.reservation!.expiresAt)).toBeGreaterThan(await t.env.currentTimeMs());
  });

  it('1 (bound): an outcome that stays unknown is flagged needsAttention and an operator settles it', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 812 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderIdOf(v0, 1) },
      action: { kind: 'http_error', status: 503 },
    });
    t.h.sandbox.control.addFault({
      api: 'details',
      match: { orderId: orderIdOf(v0, 1) },
      action: { kind: 'http_error', status: 502 },
    });
    const flagged = await skipUntil(t.h, handle, (s) => s.needsAttention?.kind === 'charge', '6 hours', 400);
    expect(flagged.unresolvedCharge?.orderId).toBe(orderIdOf(v0, 1));
    const bad = await rejectionOf(
      handle.executeUpdate(settleChargeUpdate, {
        args: [{ actor: merchant, reason: 'x', outcome: 'failed' }],
      }),
    );
    expect(bad.type).toBe('InvalidRequest');
    await handle.executeUpdate(settleChargeUpdate, {
      args: [
        { actor: operator, reason: 'checked with LINE Pay: not charged', outcome: 'failed', requestId: 's1' },
      ],
    });
    const v = await untilState(handle, (s) => s.status === 'past_due');
    expect(v.needsAttention).toBeUndefined();
    expect(v.dunning?.declines).toBe(1);
  });
});

describe('issue 12, workflow side', () => {
  it('carried state is refused on a start that is not a continue-as-new', async () => {
    const input = subscriptionInput({ interval: 'P1M' });
    const live = await startActiveSubscription(t.h, input);
    const copied = await t.env.client.workflow
      .execute('subscriptionWorkflow', {
        taskQueue: t.h.taskQueue,
        workflowId: `copy-${input.subscriptionId}`,
        // Someone with namespace write access replays a live subscription's state under a new workflow.
        args: [
          { ...input, subscriptionId: `copy-${input.subscriptionId}`.slice(0, 64) },
          { carried: await carriedOf(live) },
        ],
      })
      .catch((e: unknown) => e as Error);
    expect(copied).toBeInstanceOf(Error);
    expect(String((copied as { cause?: { message?: string } }).cause?.message)).toMatch(/carried state/);
    expect(chargeAttemptsOf(t.h, `copy-${input.subscriptionId}`.slice(0, 64))).toHaveLength(0);
  });

  it('a plan increase above the consent share goes through re-approval at its cycle', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 1000 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    await handle.executeUpdate(changePlanUpdate, { args: [{ actor: merchant, amount: 1500 }] });
    const re = await skipUntil(
      t.h,
      handle,
      (s) => s.status === 'reapproval_required' && s.reservation !== undefined,
    );
    expect(re.reservation!.amount).toBe(1500);
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);
    // The old regKey is gone before the customer is asked for the new amount.
    expect(sandboxRegKey(t.h, v0.regKeyMasked).status).toBe('EXPIRED');
    const { redirectUrl } = t.h.sandbox.control.approve(re.reservation!.transactionId);
    const url = new URL(redirectUrl);
    const ok = await handle.executeUpdate(confirmUpdate, {
      args: [
        { transactionId: url.searchParams.get('transactionId')!, orderId: url.searchParams.get('orderId')! },
      ],
    });
    expect(ok.status).toBe('active');
    expect(ok.charge).toMatchObject({ cycle: 1, amount: 1500 });
  });

  it('a Request LINE Pay refuses for good ends the approval with a clear status, not a failed run', async () => {
    const input = subscriptionInput({ amount: 1178 });
    t.h.sandbox.control.addFault({
      api: 'request',
      match: { amount: 1178 },
      action: { kind: 'return_code', code: '1178' },
    });
    const handle = await startSubscription(t.h, input);
    const final = await handle.result();
    expect(final.status).toBe('approval_expired');
    expect(final.audit.at(-1)!.reason).toMatch(/refused the payment request/);
  });
});

/** What an attacker with namespace write access and the payload key could copy: a live state's parts. */
async function carriedOf(handle: Awaited<ReturnType<typeof startActiveSubscription>>) {
  const v = await state(handle);
  return { ...v, input: { subscriptionId: v.subscriptionId }, instanceId: v.instanceId } as never;
}
