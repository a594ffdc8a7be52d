/**
 * Trials on the time-skipping server against the sandbox, whose clock follows the test server's:
 * the approval registers the regKey without charging a period (both verification modes), the first
 * charge falls at the trial's end and the calendar anchors there, a cancel during the trial charges
 * nothing and expires the regKey, `trial_will_end` goes out on time, and an authorization outlives
 * neither a failed Void nor a trial longer than its 7 days.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LinePayClient } from '../../activities/linepay/index.js';
import { addIntervals, parseInterval } from '../../workflows/billing-calendar.js';
import {
  cancelUpdate,
  confirmUpdate,
  paymentLinkUpdate,
  type SubscriptionView,
} from '../../workflows/messages.js';
import type { SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  approveOnLinePay,
  chargeAttemptsOf,
  type Harness,
  paymentsOf,
  reservationIdOf,
  type SubscriptionHandle,
  sandboxRegKey,
  skipUntil,
  startSubscription,
  state,
  subscriptionInput,
  untilState,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('trial');
const DAY = 86_400_000;
const MINUTE = 60_000;

afterEach(() => {
  t.h.sandbox.control.setBehaviour({ preapprovedAuthorization: false });
  t.h.sandbox.control.clearFaults();
});

function linePay(h: Harness): LinePayClient {
  return new LinePayClient({
    channelId: h.sandbox.channelId,
    channelSecret: h.sandbox.channelSecret,
    baseUrl: h.sandbox.url,
  });
}

/** LINE Pay's own view of a payment, by transactionId, at the test server's time. */
async function payStatus(h: Harness, transactionId: string): Promise<string | undefined> {
  await h.sandbox.control.readClock();
  const [detail] = await linePay(h).getPaymentDetails({ transactionId });
  return detail?.payStatus;
}

function eventsOf(h: Harness, subscriptionId: string) {
  const seen = new Set<string>();
  return h.recordedEvents.filter((e) => {
    if (e.subscriptionId !== subscriptionId || seen.has(e.id)) return false;
    seen.add(e.id);
    return true;
  });
}

/** Start a trial, approve it on the sandbox's page and confirm through the webhook's update. */
async function startTrial(
  input: SubscriptionInput,
): Promise<{ handle: SubscriptionHandle; transactionId: string; confirmedAt: number }> {
  const handle = await startSubscription(t.h, input);
  const ids = await approveOnLinePay(t.h, handle);
  const result = await handle.executeUpdate(confirmUpdate, {
    args: [ids],
    updateId: `confirm-${ids.transactionId}`,
  });
  expect(result.status).toBe('trialing');
  expect(result.charge).toBeUndefined();
  return { handle, transactionId: ids.transactionId, confirmedAt: await t.h.env.currentTimeMs() };
}

const settled = (v: SubscriptionView) => v.trial?.verification.outcome !== undefined;

describe('trial approval charges nothing for the period', () => {
  it('refund_minimum: 1 TWD captured and refunded at once; first charge at the trial end, calendar anchored there', async () => {
    const input = subscriptionInput({ trial: 'P14D', interval: 'P1M', trialVerification: 'refund_minimum' });
    const { handle, transactionId, confirmedAt } = await startTrial(input);
    const v = await untilState(handle, settled);
    expect(v.status).toBe('trialing');
    expect(v.paidCycles).toBe(0);
    expect(v.totalCharged).toBe(0);
    expect(v.charges).toEqual([]);
    expect(v.trial!.verification).toMatchObject({ mode: 'refund_minimum', amount: 1, outcome: 'refunded' });
    expect(v.regKeyMasked).toBeDefined();

    // The Request asked for 1 TWD, captured; the sandbox's ledger has it and its refund: net zero.
    const request = t.h.sandbox.control
      .requests()
      .find((r) => r.path.endsWith('/payments/request') && r.orderId === reservationIdOf(v, 0));
    expect(request).toBeDefined();
    const moves = t.h.sandbox.control.ledger().filter((e) => e.transactionId === transactionId);
    expect(moves.map((e) => [e.kind, e.amount])).toEqual([
      ['payment', 1],
      ['refund', 1],
    ]);
    expect(await payStatus(t.h, transactionId)).toBe('CAPTURE');
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);

    // The trial ends 14 days after approval; that is the calendar's anchor and cycle 1's due date.
    const endsAt = Date.parse(v.trial!.endsAt);
    expect(Math.abs(endsAt - (confirmedAt + 14 * DAY))).toBeLessThan(MINUTE);
    expect(v.nextChargeAt).toBe(v.trial!.endsAt);
    expect(v.anchor).toBe(v.trial!.endsAt);

    const first = await skipUntil(t.h, handle, (s) => s.paidCycles >= 1);
    expect(first.status).toBe('active');
    expect(first.charges.map((c) => [c.cycle, c.amount, c.kind])).toEqual([[1, 390, 'recurring']]);
    expect(first.charges[0]!.dueAt).toBe(v.trial!.endsAt);
    const attempts = chargeAttemptsOf(t.h, input.subscriptionId);
    expect(attempts).toHaveLength(1);
    expect(Date.parse(attempts[0]!.at)).toBeGreaterThanOrEqual(endsAt);
    expect(Date.parse(attempts[0]!.at) - endsAt).toBeLessThan(MINUTE);
    const cycle2 = addIntervals(endsAt, parseInterval('P1M'), 1, 'Asia/Taipei');
    expect(first.nextChargeAt).toBe(new Date(cycle2).toISOString());

    const second = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2);
    expect(second.charges.map((c) => c.dueAt)).toEqual([v.trial!.endsAt, new Date(cycle2).toISOString()]);
    expect(paymentsOf(t.h, input.subscriptionId).map((p) => p.amount)).toEqual([1, 390, 390]);

    const types = eventsOf(t.h, input.subscriptionId).map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['subscription.trial_started', 'charge.succeeded', 'charge.refunded']);
    expect(types).toContain('subscription.trial_will_end');
    expect(types.indexOf('subscription.trial_will_end')).toBeLessThan(types.lastIndexOf('charge.succeeded'));
    expect(types).toContain('subscription.activated');
    await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
  });

  it('void_authorization: capture=false at Request, the authorization voided at once; it outlives nothing (14-day trial, 7-day authorization)', async () => {
    t.h.sandbox.control.setBehaviour({ preapprovedAuthorization: true });
    const input = subscriptionInput({ trial: 'P14D', trialVerification: 'void_authorization' });
    const { handle, transactionId } = await startTrial(input);
    const v = await untilState(handle, settled);
    expect(v.trial!.verification).toMatchObject({ mode: 'void_authorization', amount: 1, outcome: 'voided' });
    expect(await payStatus(t.h, transactionId)).toBe('VOIDED_AUTHORIZATION');
    expect(t.h.sandbox.control.ledger().filter((e) => e.transactionId === transactionId)).toEqual([]);
    expect(
      t.h.sandbox.control.requests().filter((r) => r.path.endsWith(`/authorizations/${transactionId}/void`)),
    ).toHaveLength(1);

    // Past the authorization's 7 days: still voided, never expired; the first charge goes through.
    const first = await skipUntil(t.h, handle, (s) => s.paidCycles >= 1);
    expect(await payStatus(t.h, transactionId)).toBe('VOIDED_AUTHORIZATION');
    expect(first.status).toBe('active');
    expect(first.charges[0]).toMatchObject({ cycle: 1, amount: 390, dueAt: v.trial!.endsAt });
    expect(paymentsOf(t.h, input.subscriptionId).map((p) => p.amount)).toEqual([390]);
    const types = eventsOf(t.h, input.subscriptionId).map((e) => e.type);
    expect(types).not.toContain('charge.refunded');
    await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
  });

  it('void_authorization on a channel without capture separation: LINE Pay refuses the Request (2103), the approval ends clearly', async () => {
    const input = subscriptionInput({ trial: 'P14D', trialVerification: 'void_authorization' });
    const handle = await startSubscription(t.h, input);
    const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    expect(link.paymentUrl).toBeUndefined();
    const final = await handle.result();
    expect(final.status).toBe('approval_expired');
    expect(final.audit.at(-1)!.reason).toMatch(/capture=false.*2103/);
    expect(paymentsOf(t.h, input.subscriptionId)).toEqual([]);
  });
});

describe('trialEnd', () => {
  it('the first charge falls at the given instant, and the calendar anchors there', async () => {
    const end = new Date((await t.h.env.currentTimeMs()) + 10 * DAY).toISOString();
    const input = subscriptionInput({ trialEnd: end, interval: 'P1W' });
    const { handle } = await startTrial(input);
    const v = await untilState(handle, settled);
    expect(v.trial!.endsAt).toBe(end);
    expect(v.nextChargeAt).toBe(end);
    const first = await skipUntil(t.h, handle, (s) => s.paidCycles >= 1);
    expect(first.charges[0]).toMatchObject({ cycle: 1, amount: 390, dueAt: end });
    expect(first.nextChargeAt).toBe(new Date(Date.parse(end) + 7 * DAY).toISOString());
    await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
  });
});

describe('trial cancel', () => {
  it('charges nothing and expires the regKey', async () => {
    const input = subscriptionInput({ trial: 'P30D' });
    const { handle, transactionId } = await startTrial(input);
    const v = await untilState(handle, settled);
    const key = sandboxRegKey(t.h, v.regKeyMasked);
    expect(key.status).toBe('ACTIVE');
    await t.h.env.sleep('5 days');
    const result = await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: { kind: 'merchant' }, reason: 'changed my mind', requestId: 'trial-cancel-1' }],
    });
    expect(result.status).toBe('canceled');
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(final.paidCycles).toBe(0);
    expect(final.totalCharged).toBe(0);
    expect(final.nextChargeAt).toBeUndefined();
    expect(sandboxRegKey(t.h, v.regKeyMasked).status).toBe('EXPIRED');
    expect(key.calls('/expire')).toHaveLength(1);
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);
    // The only money that moved is the approval's minimum, and it went back.
    expect(
      t.h.sandbox.control
        .ledger()
        .filter((e) => e.transactionId === transactionId)
        .map((e) => e.kind),
    ).toEqual(['payment', 'refund']);
    expect(paymentsOf(t.h, input.subscriptionId).map((p) => p.amount)).toEqual([1]);
    // Time passing after the cancel charges nothing.
    await t.h.env.sleep('40 days');
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);
    const types = eventsOf(t.h, input.subscriptionId).map((e) => e.type);
    expect(types).toContain('subscription.canceled');
    expect(types).not.toContain('subscription.trial_will_end');
  });

  it('at period end: the trial runs out, nothing is charged, the regKey is expired at the trial end', async () => {
    const input = subscriptionInput({ trial: 'P7D' });
    const { handle } = await startTrial(input);
    const v = await untilState(handle, settled);
    const cancel = await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: { kind: 'merchant' }, atPeriodEnd: true }],
    });
    expect(cancel.effectiveAt).toBe(v.trial!.endsAt);
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(final.canceledAt).toBe(v.trial!.endsAt);
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);
    expect(sandboxRegKey(t.h, v.regKeyMasked).status).toBe('EXPIRED');
  });
});

describe('subscription.trial_will_end', () => {
  it('goes out the configured time before the end, once, carrying the first charge', async () => {
    const input = subscriptionInput({ trial: 'P10D', trialWillEndNotice: 'P2D' });
    const { handle } = await startTrial(input);
    const v = await untilState(handle, settled);
    const endsAt = Date.parse(v.trial!.endsAt);
    expect(v.trial!.noticeAt).toBe(new Date(endsAt - 2 * DAY).toISOString());
    await skipUntil(t.h, handle, (s) => s.trial?.noticeSent === true, '6 hours');
    const notices = eventsOf(t.h, input.subscriptionId).filter(
      (e) => e.type === 'subscription.trial_will_end',
    );
    expect(notices).toHaveLength(1);
    const at = Date.parse(notices[0]!.occurredAt);
    expect(at).toBeGreaterThanOrEqual(endsAt - 2 * DAY);
    expect(at - (endsAt - 2 * DAY)).toBeLessThan(MINUTE);
    expect(notices[0]!.data).toMatchObject({
      trialEndsAt: v.trial!.endsAt,
      nextChargeAt: v.trial!.endsAt,
      amount: 390,
      currency: 'TWD',
    });
    expect(chargeAttemptsOf(t.h, input.subscriptionId)).toHaveLength(0);
    await skipUntil(t.h, handle, (s) => s.paidCycles >= 1);
    expect(
      eventsOf(t.h, input.subscriptionId).filter((e) => e.type === 'subscription.trial_will_end'),
    ).toHaveLength(1);
    await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
  });
});

describe('a Void that fails, then an authorization that expires', () => {
  it('the step waits blocked, then finds the authorization expired: nothing was taken; the trial goes on', async () => {
    t.h.sandbox.control.setBehaviour({ preapprovedAuthorization: true });
    const input = subscriptionInput({ trial: 'P14D', trialVerification: 'void_authorization' });
    const handle = await startSubscription(t.h, input);
    await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
    const reserved = await state(handle);
    // Every Void of this authorization fails, at any time.
    t.h.sandbox.control.addFault({
      api: 'void',
      match: { orderId: reservationIdOf(reserved, 0) },
      action: { kind: 'return_code', code: '9000' },
    });
    const ids = await approveOnLinePay(t.h, handle);
    const confirmed = await handle.executeUpdate(confirmUpdate, { args: [ids] });
    expect(confirmed.status).toBe('trialing');
    const confirmedAt = await t.h.env.currentTimeMs();
    // The activity's own retries (2 s … 32 s) run on server timers: let time skip through them.
    const blocked = await skipUntil(
      t.h,
      handle,
      (s) => s.blocked?.step === 'trialVerification',
      '10 seconds',
      60,
    );
    expect(blocked.status).toBe('trialing');
    expect(blocked.needsAttention?.kind).toBe('blocked');
    expect(blocked.trial!.verification.outcome).toBeUndefined();
    expect(await payStatus(t.h, blocked.trial!.verification.transactionId!)).toBe('AUTHORIZATION');

    // Past the authorization's 7 days, a retry finds it expired unused.
    const done = await skipUntil(t.h, handle, settled, '6 hours');
    expect(done.trial!.verification.outcome).toBe('expired');
    // Not before the authorization's 7 days had passed.
    expect(Date.parse(done.trial!.verification.settledAt!)).toBeGreaterThan(confirmedAt + 7 * DAY);
    expect(await payStatus(t.h, done.trial!.verification.transactionId!)).toBe('EXPIRED_AUTHORIZATION');
    expect(done.blocked).toBeUndefined();
    expect(done.needsAttention).toBeUndefined();
    expect(t.h.sandbox.control.ledger().filter((e) => e.orderId === reservationIdOf(reserved, 0))).toEqual(
      [],
    );

    const first = await skipUntil(t.h, handle, (s) => s.paidCycles >= 1);
    expect(first.status).toBe('active');
    expect(first.charges[0]).toMatchObject({ cycle: 1, amount: 390, dueAt: done.trial!.endsAt });
    await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
  });
});
