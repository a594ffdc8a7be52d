import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import type { RefundChargeInput } from '../../workflows/messages.js';
import { nextStep } from '../../workflows/next-step.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import {
  acceptRefund,
  applyRefundLookup,
  applySendRefund,
  refundAnswerOf,
  refundableAmount,
  refundOutcomeUnknown,
  refundReply,
  validateRefund,
} from '../../workflows/refund.js';
import type { PaymentRefundsResult } from '../../workflows/refund-contract.js';
import { normalizeSubscriptionInput } from '../../workflows/subscription-input.js';
import { acceptConfirm } from '../../workflows/subscription-requests.js';
import { initialState, type SubscriptionState } from '../../workflows/subscription-state.js';

const I = '0a1b2c3d';
const T0 = Date.parse('2028-01-20T03:00:00Z');
const CHARGE_TX = '2028012000000000001';
const merchant = { kind: 'merchant' } as const;

function active(): SubscriptionState {
  const s = initialState(
    normalizeSubscriptionInput({
      subscriptionId: 'sub_r',
      customerId: 'c',
      productName: 'Coffee',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
      redirectUrls: { confirmUrl: 'https://shop.example/c', cancelUrl: 'https://shop.example/x' },
    }),
    I,
    T0,
  );
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId('sub_r', I, 0, 0),
      transactionId: CHARGE_TX,
      paymentUrl: { web: 'https://pay.example', app: 'line://pay' },
    },
    390,
    T0,
  );
  acceptConfirm(s, { transactionId: CHARGE_TX, orderId: s.reservation!.orderId });
  applyConfirmed(
    s,
    { outcome: 'confirmed', sealedRegKey: 'sealed', regKeyMasked: 'RK…1', transactionId: CHARGE_TX },
    T0,
  );
  return s;
}

function req(patch: Partial<RefundChargeInput> = {}): RefundChargeInput {
  return { actor: merchant, requestId: 'r1', transactionId: CHARGE_TX, reason: 'asked', ...patch };
}

function details(refunds: { id: string; amount: number }[] = [], orderId = 'sub_r-0a1b2c3d-c0') {
  return {
    found: true,
    orderId,
    amount: 390,
    currency: 'TWD',
    refunds: refunds.map((r) => ({ refundTransactionId: r.id, amount: r.amount })),
  } satisfies PaymentRefundsResult;
}

function rejection(fn: () => void): { type: string | undefined; message: string; details: unknown[] } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure)
      return { type: err.type ?? undefined, message: err.message, details: err.details ?? [] };
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('validateRefund', () => {
  it('counts refunds already waiting against what is left', () => {
    const s = active();
    acceptRefund(s, req({ requestId: 'a', amount: 300 }), T0);
    const charge = s.charges[0]!;
    expect(refundableAmount(s, charge)).toBe(90);
    const r = rejection(() => validateRefund(s, req({ requestId: 'b', amount: 91 })));
    expect(r).toMatchObject({
      type: 'RefundRefused',
      details: [{ code: 'refund_exceeds_remaining', remaining: 90 }],
    });
    expect(() => validateRefund(s, req({ requestId: 'b', amount: 90 }))).not.toThrow();
    // A full refund waiting leaves nothing.
    acceptRefund(s, req({ requestId: 'c' }), T0);
    expect(refundableAmount(s, charge)).toBe(0);
    expect(rejection(() => validateRefund(s, req({ requestId: 'd', amount: 1 }))).details).toEqual([
      { code: 'charge_already_refunded', remaining: 0 },
    ]);
  });

  it('passes a repeat of a waiting request id, and refuses the id for another charge', () => {
    const s = active();
    acceptRefund(s, req({ requestId: 'a', amount: 390 }), T0);
    expect(() => validateRefund(s, req({ requestId: 'a', amount: 390 }))).not.toThrow();
    expect(rejection(() => validateRefund(s, req({ requestId: 'a', transactionId: '1' }))).type).toBe(
      'SubscriptionConflict',
    );
  });

  it('refuses a subscription still awaiting approval, without looking further', () => {
    const s = active();
    s.status = 'pending_approval';
    expect(rejection(() => validateRefund(s, req())).type).toBe('InvalidState');
  });
});

describe('the refund identity across an unknown outcome', () => {
  function sentOnce(): SubscriptionState {
    const s = active();
    acceptRefund(s, req({ amount: 100 }), T0);
    expect(nextStep(s, T0).kind).toBe('lookupRefund');
    applyRefundLookup(s, details([{ id: 'old', amount: 50 }]), T0);
    expect(s.refunds!.pending[0]).toMatchObject({ phase: 'sending', sendAmount: 100, baseline: ['old'] });
    expect(nextStep(s, T0).kind).toBe('sendRefund');
    applySendRefund(s, { outcome: 'unknown', reason: '9000' }, T0);
    return s;
  }

  it('waits on a backoff, and other work goes on meanwhile', () => {
    const s = sentOnce();
    const at = Date.parse(s.refunds!.pending[0]!.nextLookupAt!);
    expect(at).toBeGreaterThan(T0);
    const step = nextStep(s, T0 + 1);
    expect(step).toMatchObject({ kind: 'wait' });
    expect(nextStep(s, at).kind).toBe('lookupRefund');
  });

  it('a new refundTransactionId of our amount is ours: recovered, not sent again', () => {
    const s = sentOnce();
    applyRefundLookup(
      s,
      details([
        { id: 'old', amount: 50 },
        { id: 'ours', amount: -100 },
      ]),
      T0 + 60_000,
    );
    expect(s.refunds!.pending).toHaveLength(0);
    const answer = refundAnswerOf(s, 'r1');
    expect(answer).toMatchObject({
      ok: true,
      result: { refundTransactionId: 'ours', recovered: true, remaining: 240 },
    });
    expect(s.charges[0]!.refunds?.map((r) => r.refundTransactionId)).toEqual(['ours']);
    expect(s.events.outbox.filter((e) => e.type === 'charge.refunded').map((e) => e.data)).toEqual([
      expect.objectContaining({
        transactionId: CHARGE_TX,
        refundTransactionId: 'ours',
        amount: 100,
        remaining: 240,
      }),
    ]);
  });

  it('nothing new listed: sent again for the same amount, against the new baseline', () => {
    const s = sentOnce();
    applyRefundLookup(s, details([{ id: 'old', amount: 50 }]), T0 + 60_000);
    expect(s.refunds!.pending[0]).toMatchObject({ phase: 'sending', sendAmount: 100, baseline: ['old'] });
    applySendRefund(s, { outcome: 'refunded', refundTransactionId: 'new', recovered: false }, T0 + 61_000);
    expect(refundReply(refundAnswerOf(s, 'r1'), s.status)).toMatchObject({ amount: 100, remaining: 240 });
  });

  it("a payment of another subscription is refused as not this subscription's charge", () => {
    const s = active();
    acceptRefund(s, req({ transactionId: '99' }), T0);
    applyRefundLookup(s, details([], 'other-0a1b2c3d-c0'), T0);
    expect(rejection(() => refundReply(refundAnswerOf(s, 'r1'), s.status)).details).toEqual([
      { code: 'charge_not_found' },
    ]);
  });

  it('the run does not end with a refund waiting for its lookup', () => {
    const s = sentOnce();
    s.requests.seq += 1;
    s.requests.cancelNow = { actor: merchant, reason: 'bye', seq: s.requests.seq };
    s.sealedRegKey = undefined;
    const step = nextStep(s, T0 + 1);
    expect(step.kind).toBe('wait');
    refundOutcomeUnknown(s, 'again', T0 + 2);
    expect(nextStep(s, Date.parse(s.refunds!.pending[0]!.nextLookupAt!)).kind).toBe('lookupRefund');
  });
});
