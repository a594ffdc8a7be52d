/**
 * One-off charges on the regKey (issue 11, item 2) on the time-skipping server against the sandbox:
 * success, decline, an unknown outcome resolved by lookup, a repeated request id, and refusal without
 * a live regKey.
 */
import { describe, expect, it } from 'vitest';
import { type OneOffChargeInput, oneOffChargeUpdate, REJECTION_TYPES } from '../../workflows/messages.js';
import { oneOffOrderId } from '../../workflows/order-id.js';
import {
  type Harness,
  orderIdOf,
  rejectionOf,
  type SubscriptionHandle,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  startSubscription,
  state,
  subscriptionInput,
  untilState,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('one-off');
const merchant = { kind: 'merchant' as const, id: 'backend' };

function oneOff(requestId: string, amount: number, productName = '加購 Add-on'): OneOffChargeInput {
  return { actor: merchant, requestId, amount, productName };
}

function paymentsUnder(h: Harness, orderId: string) {
  return h.sandbox.control.ledger().filter((e) => e.kind === 'payment' && e.orderId === orderId);
}

function paysUnder(h: Harness, orderId: string) {
  return h.sandbox.control
    .requests()
    .filter(
      (r) => r.orderId === orderId && r.path.includes('/preapprovedPay/') && r.path.endsWith('/payment'),
    );
}

/** Whether an update with this id reached the workflow's history (a rejected one never does). */
async function inHistory(handle: SubscriptionHandle, updateId: string): Promise<boolean> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.some(
    (e) =>
      e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === updateId ||
      e.workflowExecutionUpdateAdmittedEventAttributes?.request?.meta?.updateId === updateId,
  );
}

describe('one-off charges', () => {
  it('charges the regKey once under an orderId derived from the request id, however often it is asked', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 901 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    const orderId = oneOffOrderId(input.subscriptionId, v0.instanceId, 'addon-1');

    const first = await handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('addon-1', 150)] });
    expect(first).toMatchObject({
      status: 'succeeded',
      orderId,
      amount: 150,
      currency: 'TWD',
      kind: 'one_off',
    });
    expect(first.transactionId).toMatch(/^\d{19}$/);
    // A retry (another update id, as after a client timeout) answers the same charge and sends nothing.
    const again = await handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('addon-1', 150)] });
    expect(again.transactionId).toBe(first.transactionId);
    expect(paymentsUnder(t.h, orderId)).toHaveLength(1);
    expect(paysUnder(t.h, orderId)).toHaveLength(1);
    expect(paymentsUnder(t.h, orderId)[0]!.amount).toBe(150);

    // The same request id for other terms is a caller bug, refused without touching history.
    const conflict = await rejectionOf(
      handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('addon-1', 151)], updateId: 'conflict-1' }),
    );
    expect(conflict.type).toBe(REJECTION_TYPES.conflict);
    expect(conflict.message).toContain('requestId addon-1');
    expect(await inHistory(handle, 'conflict-1')).toBe(false);

    const v = await state(handle);
    expect(v.oneOffs?.map((c) => [c.requestId, c.status])).toEqual([['addon-1', 'succeeded']]);
    expect(v.status).toBe('active');
    expect(v.paidCycles).toBe(1);
    // The calendar is untouched: cycle 1 is charged on its date, at the plan amount.
    const later = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 40);
    expect(later.charges.at(-1)).toMatchObject({ cycle: 1, orderId: orderIdOf(v0, 1), amount: 901 });
    const events = t.h.recordedEvents.filter(
      (e) => e.subscriptionId === input.subscriptionId && e.data.orderId === orderId,
    );
    expect(events.map((e) => [e.type, e.data.kind, e.data.cycle, e.data.transactionId])).toEqual([
      ['charge.succeeded', 'one_off', null, first.transactionId],
    ]);
  });

  it('a declined one-off is answered and recorded as failed; the subscription is not dunned', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 902 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    const orderId = oneOffOrderId(input.subscriptionId, v0.instanceId, 'fee-1');
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      action: { kind: 'return_code', code: '1142' },
    });
    const r = await handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('fee-1', 300, 'Setup fee')] });
    expect(r).toMatchObject({ status: 'failed', returnCode: '1142', orderId });
    expect(r.transactionId).toBeUndefined();
    const v = await state(handle);
    expect(v.status).toBe('active');
    expect(v.dunning).toBeUndefined();
    expect(paymentsUnder(t.h, orderId)).toHaveLength(0);
    // A repeat gets the recorded failure, not a second attempt.
    const again = await handle.executeUpdate(oneOffChargeUpdate, {
      args: [oneOff('fee-1', 300, 'Setup fee')],
    });
    expect(again.status).toBe('failed');
    expect(paysUnder(t.h, orderId)).toHaveLength(1);
    const later = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 40);
    expect(later.status).toBe('active');
    await untilState(handle, () =>
      t.h.recordedEvents.some((e) => e.type === 'charge.failed' && e.data.orderId === orderId),
    );
    const failed = t.h.recordedEvents.filter((e) => e.data.orderId === orderId);
    expect(failed.map((e) => [e.type, e.data.kind, e.data.returnCode])).toEqual([
      ['charge.failed', 'one_off', '1142'],
    ]);
    expect(
      t.h.recordedEvents.some(
        (e) => e.subscriptionId === input.subscriptionId && e.type === 'subscription.past_due',
      ),
    ).toBe(false);
  });

  it('an unknown outcome is answered pending and resolved by looking the orderId up, never charged twice', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 903 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    const orderId = oneOffOrderId(input.subscriptionId, v0.instanceId, 'addon-lost');
    // The payment commits and its answer is lost; Details fails for a while, so the activity's own
    // lookup cannot settle it and the workflow's lookups on the backoff must.
    t.h.sandbox.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    t.h.sandbox.control.addFault({
      api: 'details',
      match: { orderId },
      times: 8,
      action: { kind: 'http_error', status: 502 },
    });
    const r = await handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('addon-lost', 250)] });
    expect(r).toMatchObject({ status: 'pending', orderId });
    const v = await skipUntil(
      t.h,
      handle,
      (s) => s.oneOffs?.some((c) => c.requestId === 'addon-lost' && c.status !== 'pending') === true,
      '10 minutes',
      60,
    );
    const settled = v.oneOffs!.find((c) => c.requestId === 'addon-lost')!;
    expect(settled).toMatchObject({ status: 'succeeded', recovered: true, amount: 250 });
    expect(paymentsUnder(t.h, orderId)).toHaveLength(1);
    expect(settled.transactionId).toBe(paymentsUnder(t.h, orderId)[0]!.transactionId);
    // The only pay call was the first: nothing was re-sent while the outcome was unknown.
    expect(paysUnder(t.h, orderId)).toHaveLength(1);
    const repeat = await handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('addon-lost', 250)] });
    expect(repeat.transactionId).toBe(settled.transactionId);
  });

  it('is refused without a live regKey, and for an amount the currency does not allow, without touching history', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 904 });
    const pending = await startSubscription(t.h, input);
    await untilState(pending, (s) => s.reservation !== undefined);
    const notApproved = await rejectionOf(
      pending.executeUpdate(oneOffChargeUpdate, { args: [oneOff('early', 100)], updateId: 'early-1' }),
    );
    expect(notApproved.type).toBe(REJECTION_TYPES.invalidState);
    expect(notApproved.message).toContain('no live regKey');
    expect(await inHistory(pending, 'early-1')).toBe(false);

    const input2 = subscriptionInput({ interval: 'P1M', amount: 905 });
    const handle = await startActiveSubscription(t.h, input2);
    const badAmount = await rejectionOf(
      handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('zero', 0)] }),
    );
    expect(badAmount.type).toBe(REJECTION_TYPES.invalidRequest);
    expect(badAmount.message).toContain('amount');
    const fraction = await rejectionOf(
      handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('frac', 10.5)] }),
    );
    expect(fraction.message).toContain('amount');
    const noName = await rejectionOf(
      handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('noname', 10, ' ')] }),
    );
    expect(noName.message).toContain('productName');

    // The regKey dies: in reapproval_required there is nothing to charge.
    const v0 = await state(handle);
    t.h.sandbox.control.expireRegKey(sandboxRegKey(t.h, v0.regKeyMasked).regKey);
    await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '1 day', 40);
    const dead = await rejectionOf(
      handle.executeUpdate(oneOffChargeUpdate, { args: [oneOff('late', 100)], updateId: 'late-1' }),
    );
    expect(dead.type).toBe(REJECTION_TYPES.invalidState);
    expect(dead.message).toContain('reapproval_required');
    expect(await inHistory(handle, 'late-1')).toBe(false);
    expect(
      t.h.sandbox.control
        .requests()
        .filter((r) => r.orderId === oneOffOrderId(input2.subscriptionId, v0.instanceId, 'late')),
    ).toHaveLength(0);
  });
});
