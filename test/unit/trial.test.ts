import { describe, expect, it } from 'vitest';
import { applyChargeOutcome, applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import { nextStep } from '../../workflows/next-step.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import {
  normalizeSubscriptionInput,
  type SubscriptionInput,
  SubscriptionInputError,
} from '../../workflows/subscription-input.js';
import { acceptCancel, acceptConfirm, validatePause } from '../../workflows/subscription-requests.js';
import { initialState, openCharge, type SubscriptionState } from '../../workflows/subscription-state.js';
import {
  checkTrialRequest,
  DEFAULT_TRIAL_VERIFICATION,
  trialEndsAt,
  trialReservation,
  trialTermsOf,
} from '../../workflows/trial.js';
import { applyTrialWillEnd, applyVerificationSettled } from '../../workflows/trial-outcome.js';

const I = '0a1b2c3d';
const MIN = 60_000;
const DAY = 86_400_000;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const APPROVED = CREATED + 5 * MIN;

const base: SubscriptionInput = {
  subscriptionId: 'sub_t',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  timeZone: 'Asia/Taipei',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function fieldOf(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof SubscriptionInputError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected a SubscriptionInputError');
}

/** A trial subscription approved at APPROVED, as the workflow's steps leave it. */
function trialing(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const s = initialState(normalizeSubscriptionInput({ ...base, trial: 'P14D', ...patch }), I, CREATED);
  const terms = trialTermsOf(s.input)!;
  const { amount } = trialReservation(terms, s.plan.currency);
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId(s.input.subscriptionId, I, 0, 0),
      transactionId: '2028012000000000001',
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    amount,
    CREATED + MIN,
  );
  acceptConfirm(s, { transactionId: '2028012000000000001', orderId: s.reservation!.orderId });
  applyConfirmed(
    s,
    {
      outcome: 'confirmed',
      sealedRegKey: 'sealed',
      regKeyMasked: 'RK…1234',
      transactionId: '2028012000000000001',
    },
    APPROVED,
  );
  return s;
}

describe('trial input', () => {
  it('fills the defaults and keeps the fields flat, so the normalized input round-trips', () => {
    const n = normalizeSubscriptionInput({ ...base, trial: 'P14D' });
    expect(n).toMatchObject({
      trial: 'P14D',
      trialWillEndNotice: 'P3D',
      trialVerification: 'refund_minimum',
    });
    expect(normalizeSubscriptionInput(n)).toEqual(n);
    expect(normalizeSubscriptionInput(base)).not.toHaveProperty('trial');
    expect(DEFAULT_TRIAL_VERIFICATION).toBe('refund_minimum');
  });

  it.each([
    [{ trial: 'P14D', trialEnd: '2028-02-01T00:00:00Z' }, 'trialEnd', 'not both'],
    [{ trial: '14 days' }, 'trial', 'ISO-8601'],
    [{ trial: 'P2Y' }, 'trial', 'at most one year'],
    [{ trialEnd: '2028-02-01' }, 'trialEnd', 'UTC offset'],
    [{ trial: 'P14D', billingAnchor: '2028-03-01T00:00:00Z' }, 'billingAnchor', "trial's end"],
    [{ trialWillEndNotice: 'P3D' }, 'trialWillEndNotice', 'needs trial'],
    [{ trialVerification: 'void_authorization' as const }, 'trialVerification', 'needs trial'],
    [{ trial: 'P14D', trialWillEndNotice: 'P1M' }, 'trialWillEndNotice', 'months'],
    [{ trial: 'P14D', trialVerification: 'free' as never }, 'trialVerification', 'refund_minimum'],
  ])('refuses %o naming %s', (patch, field, words) => {
    const e = fieldOf(() => normalizeSubscriptionInput({ ...base, ...patch }));
    expect(e.field).toBe(field);
    expect(e.message).toContain(`${field}: `);
    expect(e.message).toContain(words);
  });

  it('a trial of one month ends on the same local day; a past trialEnd ends at approval', () => {
    const terms = checkTrialRequest({ trial: 'P1M' }, undefined)!;
    expect(
      new Date(trialEndsAt(terms, Date.parse('2028-01-31T16:30:00Z'), 'Asia/Taipei')).toISOString(),
    ).toBe(
      '2028-02-29T16:30:00.000Z', // Feb 1 00:30 Taipei + 1 month → Mar 1 00:30 Taipei
    );
    const past = checkTrialRequest({ trialEnd: '2028-01-01T00:00:00+08:00' }, undefined)!;
    expect(trialEndsAt(past, APPROVED, 'Asia/Taipei')).toBe(APPROVED);
  });

  it('asks LINE Pay for the minimum: captured to refund, or only authorized to void', () => {
    expect(trialReservation(checkTrialRequest({ trial: 'P7D' }, undefined)!, 'TWD')).toEqual({
      amount: 1,
      capture: true,
    });
    expect(
      trialReservation(
        checkTrialRequest({ trial: 'P7D', trialVerification: 'void_authorization' }, undefined)!,
        'THB',
      ),
    ).toEqual({ amount: 1, capture: false });
  });
});

describe('a trial in the state machine', () => {
  it('approval starts the trial: no paid cycle, cycle 1 due at the trial end, the payment given back first', () => {
    const s = trialing();
    const end = APPROVED + 14 * DAY; // Taipei has no DST
    expect(s.status).toBe('trialing');
    expect(s.paidCycles).toBe(0);
    expect(s.totalCharged).toBe(0);
    expect(s.charges).toEqual([]);
    expect(s.cycle).toBe(1);
    expect(s.calendar).toEqual({ anchor: new Date(end).toISOString(), firstCycle: 1 });
    expect(s.nextChargeAt).toBe(new Date(end).toISOString());
    expect(s.trial).toMatchObject({
      endsAt: new Date(end).toISOString(),
      noticeAt: new Date(end - 3 * DAY).toISOString(),
      noticeSent: false,
      verification: { mode: 'refund_minimum', amount: 1, transactionId: '2028012000000000001' },
    });
    const types = s.events.outbox.map((e) => e.type);
    expect(types).toEqual(['subscription.trial_started', 'charge.succeeded']);
    expect(s.events.outbox[0]!.data).toMatchObject({ trialEndsAt: new Date(end).toISOString() });
    expect(s.events.outbox[1]!.data).toMatchObject({ kind: 'trial_verification', amount: 1, cycle: null });
    expect(nextStep(s, APPROVED)).toEqual({ kind: 'settleTrialVerification' });
  });

  it('then waits for the notice, sends it once, then sleeps until the trial end', () => {
    const s = trialing();
    applyVerificationSettled(
      s,
      { outcome: 'refunded', refundTransactionId: '2028012000000000002' },
      APPROVED,
    );
    expect(s.events.outbox.at(-1)).toMatchObject({
      type: 'charge.refunded',
      data: { originalTransactionId: '2028012000000000001', transactionId: '2028012000000000002', amount: 1 },
    });
    expect(nextStep(s, APPROVED + MIN)).toMatchObject({
      kind: 'wait',
      until: s.trial!.noticeAt,
      summary: `Trial: notice at ${s.trial!.noticeAt}`,
    });
    const noticeAt = Date.parse(s.trial!.noticeAt);
    expect(nextStep(s, noticeAt)).toEqual({ kind: 'trialWillEnd' });
    applyTrialWillEnd(s, noticeAt);
    expect(s.events.outbox.at(-1)).toMatchObject({
      type: 'subscription.trial_will_end',
      data: { trialEndsAt: s.trial!.endsAt, amount: 390, currency: 'TWD' },
    });
    expect(nextStep(s, noticeAt)).toMatchObject({ kind: 'wait', until: s.nextChargeAt });
    expect(nextStep(s, Date.parse(s.nextChargeAt!))).toEqual({ kind: 'openCharge' });
  });

  it('a trial shorter than the notice sends it at approval', () => {
    const s = trialing({ trial: 'P1D' });
    expect(s.trial!.noticeAt).toBe(new Date(APPROVED).toISOString());
  });

  it('the first charge ends the trial: active, cycle 1 paid, next due one interval after the trial end', () => {
    const s = trialing();
    applyVerificationSettled(s, { outcome: 'refunded' }, APPROVED);
    applyTrialWillEnd(s, Date.parse(s.trial!.noticeAt));
    const end = Date.parse(s.nextChargeAt!);
    openCharge(s, end);
    expect(s.charge!.orderId).toBe(`sub_t-${I}-c1`);
    expect(s.charge!.amount).toBe(390);
    applyChargeOutcome(
      s,
      { outcome: 'charged', transactionId: '2028020300000000003', recovered: false },
      end,
    );
    expect(s.status).toBe('active');
    expect(s.paidCycles).toBe(1);
    expect(s.nextChargeAt).toBe('2028-03-03T03:05:00.000Z');
    expect(s.events.outbox.map((e) => e.type).slice(-2)).toEqual([
      'charge.succeeded',
      'subscription.activated',
    ]);
  });

  it('a soft decline of the first charge is dunning from trialing', () => {
    const s = trialing();
    applyVerificationSettled(s, { outcome: 'refunded' }, APPROVED);
    const end = Date.parse(s.nextChargeAt!);
    s.trial!.noticeSent = true;
    openCharge(s, end);
    applyChargeOutcome(
      s,
      { outcome: 'declined', category: 'declined_soft', message: 'no', returnCode: '1142' },
      end,
    );
    expect(s.status).toBe('past_due');
  });

  it('cancel during the trial expires the regKey first, then gives the payment back, then cancels', () => {
    const s = trialing({ trialVerification: 'void_authorization' });
    acceptCancel(s, { actor: { kind: 'merchant' } }, APPROVED);
    expect(nextStep(s, APPROVED)).toMatchObject({ kind: 'retireRegKey' });
    s.sealedRegKey = undefined;
    expect(nextStep(s, APPROVED)).toEqual({ kind: 'settleTrialVerification' });
    applyVerificationSettled(s, { outcome: 'voided' }, APPROVED);
    expect(s.events.outbox.map((e) => e.type)).not.toContain('charge.refunded');
    expect(nextStep(s, APPROVED)).toMatchObject({ kind: 'finishCancel' });
  });

  it('cancel at period end during the trial falls at the trial end; pause is refused', () => {
    const s = trialing();
    expect(acceptCancel(s, { actor: { kind: 'merchant' }, atPeriodEnd: true }, APPROVED)).toBe(
      s.trial!.endsAt,
    );
    expect(() => validatePause(s, { actor: { kind: 'merchant' } }, APPROVED)).toThrow(/trialing/);
  });
});
