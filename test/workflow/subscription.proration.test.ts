/**
 * Proration of plan changes (issue 11, item 4) on the time-skipping server against the sandbox: a
 * `now` upgrade charges what the preview said, a prorated downgrade's credit pays later cycles (one of
 * them wholly, without calling LINE Pay), and `next_cycle` adds the difference to the next charge.
 */
import { describe, expect, it } from 'vitest';
import {
  changePlanUpdate,
  type PlanPreview,
  type PlanPreviewInput,
  planPreviewUpdate,
  REJECTION_TYPES,
} from '../../workflows/messages.js';
import { oneOffOrderId } from '../../workflows/order-id.js';
import { prorateAmount } from '../../workflows/proration.js';
import {
  type Harness,
  orderIdOf,
  rejectionOf,
  type SubscriptionHandle,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  untilState,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('proration');
const merchant = { kind: 'merchant' as const, id: 'backend' };

/** The preview rides on the validator's rejection: no history, a fresh clock. */
let previews = 0;
async function preview(
  handle: SubscriptionHandle,
  input: PlanPreviewInput,
  updateId = `preview-${++previews}`,
): Promise<PlanPreview> {
  try {
    await handle.executeUpdate(planPreviewUpdate, { args: [input], updateId });
  } catch (err) {
    const cause = (err as { cause?: { type?: string; message?: string; details?: unknown[] } }).cause;
    if (cause?.type !== REJECTION_TYPES.planPreview)
      throw new Error(`preview refused: ${cause?.type} ${cause?.message}`);
    return cause.details![0] as PlanPreview;
  }
  throw new Error('a preview is always answered by its validator');
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

function paymentsOfOrder(h: Harness, orderId: string) {
  return h.sandbox.control.ledger().filter((e) => e.kind === 'payment' && e.orderId === orderId);
}

describe('proration', () => {
  it('now: an upgrade charges the prorated difference at once, exactly as previewed', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 1000 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    await t.env.sleep('9 days');
    const p = await preview(handle, { amount: 1150, prorate: 'now' }, 'preview-up-1');
    // A preview changes nothing, not even history.
    expect(await inHistory(handle, 'preview-up-1')).toBe(false);
    expect((await state(handle)).pendingPlanChange).toBeUndefined();
    expect(p.direction).toBe('upgrade');
    expect(p.chargeNow).toBe(prorateAmount(150, p.remainingSeconds, p.periodSeconds));
    expect(p.chargeNow).toBeGreaterThan(0);
    expect(p.remainingSeconds).toBeLessThan(p.periodSeconds - 9 * 86_400 + 60);
    expect(p.nextCycleAmount).toBe(1150);

    const r = await handle.executeUpdate(changePlanUpdate, {
      args: [
        { actor: merchant, requestId: 'up-1', amount: 1150, prorate: 'now', prorationDate: p.prorationDate },
      ],
    });
    expect(r.proration).toEqual(p);
    const orderId = oneOffOrderId(input.subscriptionId, v0.instanceId, 'plan:up-1');
    expect(r.prorationCharge).toEqual({ requestId: 'plan:up-1', orderId, amount: p.chargeNow });
    const v = await untilState(
      handle,
      (s) => s.oneOffs?.some((c) => c.orderId === orderId && c.status !== 'pending') === true,
    );
    expect(v.oneOffs!.find((c) => c.orderId === orderId)).toMatchObject({
      status: 'succeeded',
      kind: 'proration',
    });
    // The preview equals the charge LINE Pay took.
    expect(paymentsOfOrder(t.h, orderId).map((e) => e.amount)).toEqual([p.chargeNow]);
    // A retried change (same request id) charges nothing more.
    await handle.executeUpdate(changePlanUpdate, {
      args: [
        { actor: merchant, requestId: 'up-1', amount: 1150, prorate: 'now', prorationDate: p.prorationDate },
      ],
    });
    const next = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 40);
    expect(next.charges.at(-1)).toMatchObject({ cycle: 1, amount: 1150, orderId: orderIdOf(v0, 1) });
    expect(paymentsOfOrder(t.h, orderId)).toHaveLength(1);
  });

  it('a prorated downgrade credits the difference; the credit pays the next cycle wholly and part of the one after', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 1000 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    await t.env.sleep('1 day');
    const p = await preview(handle, { amount: 400, prorate: 'next_cycle' });
    expect(p.direction).toBe('downgrade');
    expect(p.credit).toBe(prorateAmount(600, p.remainingSeconds, p.periodSeconds));
    // About 29-30 of 30-31 days left: more than one 400 cycle, less than two.
    expect(p.credit).toBeGreaterThan(400);
    expect(p.credit).toBeLessThan(800);
    expect(p.nextCycleAmount).toBe(0);
    await handle.executeUpdate(changePlanUpdate, {
      args: [
        {
          actor: merchant,
          requestId: 'down-1',
          amount: 400,
          prorate: 'next_cycle',
          prorationDate: p.prorationDate,
        },
      ],
    });
    expect((await state(handle)).creditBalance).toBe(p.credit);

    const v1 = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 40);
    const cycle1 = v1.charges.find((c) => c.cycle === 1)!;
    expect(cycle1).toMatchObject({ kind: 'credit', amount: 0, creditApplied: 400, transactionId: '' });
    // Paid by credit: LINE Pay was not called for cycle 1.
    expect(t.h.sandbox.control.requests().filter((r) => r.orderId === orderIdOf(v0, 1))).toHaveLength(0);
    expect(v1.creditBalance).toBe(p.credit - 400);

    const v2 = await skipUntil(t.h, handle, (s) => s.paidCycles >= 3, '1 day', 40);
    const cycle2 = v2.charges.find((c) => c.cycle === 2)!;
    const left = p.credit - 400;
    expect(cycle2).toMatchObject({ kind: 'recurring', amount: 800 - p.credit, creditApplied: left });
    expect(paymentsOfOrder(t.h, orderIdOf(v0, 2)).map((e) => e.amount)).toEqual([800 - p.credit]);
    expect(v2.creditBalance).toBeUndefined();
    const v3 = await skipUntil(t.h, handle, (s) => s.paidCycles >= 4, '1 day', 40);
    expect(v3.charges.find((c) => c.cycle === 3)!.amount).toBe(400);

    await untilState(
      handle,
      () =>
        t.h.recordedEvents.filter(
          (e) => e.subscriptionId === input.subscriptionId && e.type === 'subscription.credit_changed',
        ).length >= 3,
    );
    const credits = t.h.recordedEvents
      .filter((e) => e.subscriptionId === input.subscriptionId && e.type === 'subscription.credit_changed')
      .map((e) => [e.data.delta, e.data.creditBalance]);
    expect(credits).toEqual([
      [p.credit, p.credit],
      [-400, p.credit - 400],
      [-left, 0],
    ]);
    const creditCycle = t.h.recordedEvents.find(
      (e) => e.type === 'charge.succeeded' && e.data.orderId === orderIdOf(v0, 1),
    )!;
    expect(creditCycle.data).toMatchObject({
      kind: 'credit',
      transactionId: null,
      amount: 0,
      creditApplied: 400,
    });
  });

  it('next_cycle: an upgrade adds the prorated difference to the next charge; invalid proration is refused', async () => {
    const input = subscriptionInput({ interval: 'P1M', amount: 1000 });
    const handle = await startActiveSubscription(t.h, input);
    const v0 = await state(handle);
    await t.env.sleep('20 days');
    const tooMuch = await rejectionOf(
      handle.executeUpdate(changePlanUpdate, { args: [{ actor: merchant, amount: 1300, prorate: 'now' }] }),
    );
    expect(tooMuch.type).toBe(REJECTION_TYPES.invalidRequest);
    expect(tooMuch.message).toContain('prorate');
    expect(tooMuch.message).toContain('re-approval');
    const badMode = await rejectionOf(
      handle.executeUpdate(changePlanUpdate, {
        args: [{ actor: merchant, amount: 1100, prorate: 'later' as never }],
      }),
    );
    expect(badMode.message).toContain('prorate');

    const p = await preview(handle, { amount: 1100, prorate: 'next_cycle' });
    expect(p.addedToNextCycle).toBe(prorateAmount(100, p.remainingSeconds, p.periodSeconds));
    expect(p.nextCycleAmount).toBe(1100 + p.addedToNextCycle);
    await handle.executeUpdate(changePlanUpdate, {
      args: [
        {
          actor: merchant,
          requestId: 'up-next',
          amount: 1100,
          prorate: 'next_cycle',
          prorationDate: p.prorationDate,
        },
      ],
    });
    expect((await state(handle)).prorationDue).toBe(p.addedToNextCycle);
    const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 40);
    expect(v.charges.at(-1)).toMatchObject({ cycle: 1, amount: p.nextCycleAmount });
    expect(paymentsOfOrder(t.h, orderIdOf(v0, 1)).map((e) => e.amount)).toEqual([p.nextCycleAmount]);
    expect(v.prorationDue).toBeUndefined();
  });
});
