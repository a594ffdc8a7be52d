import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { sharedConfirm } from '../../workflows/approval-poll.js';
import { applyChargeOutcome, applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import { REJECTION_TYPES, SUBSCRIPTION_STATUSES, type SubscriptionStatus } from '../../workflows/messages.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import {
  type Actor,
  normalizeSubscriptionInput,
  type SubscriptionInput,
} from '../../workflows/subscription-input.js';
import {
  acceptCancel,
  acceptCancelApproval,
  acceptConfirm,
  acceptPaymentLink,
  applyChangePlan,
  applyPause,
  applyResume,
  applyRetryNow,
  paymentLinkSettled,
  validateCancel,
  validateCancelApproval,
  validateChangePlan,
  validateConfirm,
  validatePause,
  validatePaymentLink,
  validateResume,
  validateRetryNow,
  validateSettleCharge,
} from '../../workflows/subscription-requests.js';
import {
  initialState,
  iso,
  MAX_RESERVATIONS_PER_CYCLE,
  openCharge,
  RESERVATION_LIFETIME_MS,
  rememberApplied,
  type SubscriptionState,
} from '../../workflows/subscription-state.js';

const I = '0a1b2c3d';
const MIN = 60_000;
const DAY = 86_400_000;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const APPROVED = CREATED + 5 * MIN;
const merchant: Actor = { kind: 'merchant' };
const customer: Actor = { kind: 'customer', id: 'cust-1' };
const operator: Actor = { kind: 'operator', id: 'ops-1' };
const badActor = 'actor.kind must be customer, merchant, operator or system';
const TXN = '2028012000000000001';

const base: SubscriptionInput = {
  subscriptionId: 'sub_r',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
  requestFingerprint: 'fp-1',
};

function pending(): SubscriptionState {
  return initialState(normalizeSubscriptionInput(base), I, CREATED);
}

function reserved(): SubscriptionState {
  const s = pending();
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId('sub_r', I, 0, 0),
      transactionId: TXN,
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    390,
    CREATED + MIN,
  );
  return s;
}

function active(): SubscriptionState {
  const s = reserved();
  acceptConfirm(s, { transactionId: TXN, orderId: s.reservation!.orderId });
  applyConfirmed(
    s,
    { outcome: 'confirmed', sealedRegKey: 'sealed', regKeyMasked: 'RK…', transactionId: TXN },
    APPROVED,
  );
  return s;
}

function withStatus(status: SubscriptionStatus): SubscriptionState {
  const s = active();
  s.status = status;
  return s;
}

const due = (s: SubscriptionState) => Date.parse(s.nextChargeAt!);

function rejection(fn: () => void): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected an ApplicationFailure');
}

function expectRejected(fn: () => void, type: string, message: string): void {
  const err = rejection(fn);
  expect(err.type).toBe(type);
  expect(err.message).toBe(message);
  expect(err.nonRetryable).toBe(true);
}

describe('validatePaymentLink / acceptPaymentLink', () => {
  it('answers while awaiting approval; a different create request is a conflict', () => {
    expect(() => validatePaymentLink(pending(), {})).not.toThrow();
    expect(() => validatePaymentLink(pending(), { requestFingerprint: 'fp-1' })).not.toThrow();
    expect(() => validatePaymentLink(withStatus('reapproval_required'), {})).not.toThrow();
    expectRejected(
      () => validatePaymentLink(pending(), { requestFingerprint: 'fp-2' }),
      REJECTION_TYPES.conflict,
      'subscription sub_r exists with different terms',
    );
    // The conflict is checked before the status.
    expectRejected(
      () => validatePaymentLink(withStatus('canceled'), { requestFingerprint: 'fp-2' }),
      REJECTION_TYPES.conflict,
      'subscription sub_r exists with different terms',
    );
  });

  it.each(SUBSCRIPTION_STATUSES.filter((s) => s !== 'pending_approval' && s !== 'reapproval_required'))(
    'is rejected (NotAwaitingApproval) while %s: nothing reaches history',
    (status) => {
      expectRejected(
        () => validatePaymentLink(withStatus(status), { requestFingerprint: 'fp-1' }),
        REJECTION_TYPES.notAwaitingApproval,
        `subscription is ${status}`,
      );
    },
  );

  it('only the request that created the subscription is `created`', () => {
    const s = pending();
    expect(acceptPaymentLink(s, CREATED)).toBe(true);
    expect(acceptPaymentLink(s, CREATED)).toBe(false);
    const t = reserved();
    expect(acceptPaymentLink(t, CREATED + 2 * MIN)).toBe(false);
  });

  it('asks for a new link only when the current one lapsed, below the cap', () => {
    const s = reserved();
    acceptPaymentLink(s, CREATED + 2 * MIN);
    expect(s.requests.reservationWanted).toBeUndefined();
    expect(paymentLinkSettled(s, CREATED + 2 * MIN)).toBe(true);
    const lapsed = CREATED + MIN + RESERVATION_LIFETIME_MS;
    acceptPaymentLink(s, lapsed);
    expect(s.requests.reservationWanted).toBe(true);
    expect(paymentLinkSettled(s, lapsed)).toBe(false);
    s.requests.reservationWanted = undefined;
    s.reservationsForCycle = MAX_RESERVATIONS_PER_CYCLE;
    acceptPaymentLink(s, lapsed);
    expect(s.requests.reservationWanted).toBeUndefined();
    expect(paymentLinkSettled(s, lapsed)).toBe(true);
  });
});

describe('validateConfirm', () => {
  const orderId = reservationOrderId('sub_r', I, 0, 0);
  const input = { transactionId: TXN, orderId };
  const mismatch = 'transactionId and orderId do not match this subscription’s payment request';

  it('accepts the reservation’s own ids while awaiting approval', () => {
    expect(() => validateConfirm(reserved(), input)).not.toThrow();
    const s = reserved();
    s.status = 'reapproval_required';
    expect(() => validateConfirm(s, input)).not.toThrow();
  });

  it('requires both ids', () => {
    for (const bad of [undefined, { orderId }, { transactionId: TXN }, { transactionId: 1, orderId }]) {
      expectRejected(
        () => validateConfirm(reserved(), bad as never),
        REJECTION_TYPES.invalidRequest,
        'transactionId and orderId are required',
      );
    }
  });

  it('checks the ids before the status, so a caller without them learns nothing about the state', () => {
    const wrong = [
      { ...input, transactionId: '2028012000000000002' },
      { ...input, orderId: reservationOrderId('sub_r', I, 1, 0) },
    ];
    for (const status of SUBSCRIPTION_STATUSES) {
      const s = reserved();
      s.status = status;
      for (const w of wrong) expectRejected(() => validateConfirm(s, w), REJECTION_TYPES.mismatch, mismatch);
    }
    // Without a reservation (every status after approval) the answer is the same, unless the ids are
    // those of the approval that activated it: a late webhook gets that confirm's answer again.
    for (const status of SUBSCRIPTION_STATUSES) {
      const s = withStatus(status);
      expect(() => validateConfirm(s, input)).not.toThrow();
      s.confirmsSeen = undefined;
      expectRejected(() => validateConfirm(s, input), REJECTION_TYPES.mismatch, mismatch);
    }
  });

  it('right ids in a status without approval: invalid state; a second confirm of the same approval joins the first', () => {
    const s = reserved();
    s.status = 'active';
    expectRejected(() => validateConfirm(s, input), REJECTION_TYPES.invalidState, 'subscription is active');
    const t = reserved();
    acceptConfirm(t, input);
    // A late webhook while the poller's (or an earlier webhook's) confirm runs: it waits for that answer.
    expect(() => validateConfirm(t, input)).not.toThrow();
    expect(sharedConfirm(t, input)).toEqual({ seq: t.requests.confirm!.seq });
  });

  it('acceptConfirm keeps a copy of the reservation it was validated against, in acceptance order', () => {
    const s = reserved();
    acceptCancel(s, { actor: merchant }, CREATED + 2 * MIN);
    acceptConfirm(s, input);
    const kept = s.requests.confirm!;
    expect(kept.seq).toBeGreaterThan(s.requests.cancelNow!.seq);
    expect(kept.reservation).toEqual(s.reservation);
    s.reservation!.paymentUrl.web = 'changed';
    expect(kept.reservation.paymentUrl.web).toBe('https://pay.example/web');
  });
});

describe('validateCancelApproval', () => {
  it('ids first, then status, then a confirm in progress', () => {
    const s = reserved();
    expect(() => validateCancelApproval(s, {})).not.toThrow();
    expect(() =>
      validateCancelApproval(s, { transactionId: TXN, orderId: s.reservation!.orderId }),
    ).not.toThrow();
    expectRejected(
      () => validateCancelApproval(s, { transactionId: '9' }),
      REJECTION_TYPES.mismatch,
      'transactionId does not match this subscription’s payment request',
    );
    expectRejected(
      () => validateCancelApproval(s, { orderId: 'other' }),
      REJECTION_TYPES.mismatch,
      'orderId does not match this subscription’s payment request',
    );
    for (const status of SUBSCRIPTION_STATUSES) {
      expectRejected(
        () => validateCancelApproval(withStatus(status), { transactionId: TXN }),
        REJECTION_TYPES.mismatch,
        'no payment request to cancel',
      );
    }
    const a = reserved();
    a.status = 'active';
    expectRejected(
      () => validateCancelApproval(a, {}),
      REJECTION_TYPES.invalidState,
      'subscription is active',
    );
    const c = reserved();
    acceptConfirm(c, { transactionId: TXN, orderId: c.reservation!.orderId });
    expectRejected(
      () => validateCancelApproval(c, {}),
      REJECTION_TYPES.invalidState,
      'approval is being confirmed',
    );
    const ok = reserved();
    acceptCancelApproval(ok);
    expect(ok.requests.approvalCancel).toEqual({ transactionId: TXN, seq: 1 });
  });
});

describe('validateCancel / acceptCancel', () => {
  it('validates the actor, the status and period-end rules', () => {
    const s = active();
    expect(() => validateCancel(s, { actor: customer })).not.toThrow();
    expect(() => validateCancel(s, { actor: merchant, atPeriodEnd: true })).not.toThrow();
    expect(() => validateCancel(pending(), { actor: merchant })).not.toThrow();
    for (const input of [undefined, {}, { actor: { kind: 'hacker' } }, { actor: 'merchant' }]) {
      expectRejected(() => validateCancel(s, input as never), REJECTION_TYPES.invalidRequest, badActor);
    }
    for (const status of ['canceled', 'approval_expired', 'approval_canceled', 'completed'] as const) {
      expectRejected(
        () => validateCancel(withStatus(status), { actor: merchant }),
        REJECTION_TYPES.invalidState,
        `subscription is ${status}`,
      );
    }
    expectRejected(
      () => validateCancel(pending(), { actor: merchant, atPeriodEnd: true }),
      REJECTION_TYPES.invalidState,
      'a subscription awaiting approval has no period to end; cancel it now',
    );
    const scheduled = active();
    acceptCancel(scheduled, { actor: merchant, atPeriodEnd: true }, APPROVED + DAY);
    expectRejected(
      () => validateCancel(scheduled, { actor: merchant, atPeriodEnd: true }),
      REJECTION_TYPES.invalidState,
      `already canceling at ${scheduled.cancelAt}`,
    );
    // An immediate cancel still works while a period-end cancel is pending.
    expect(() => validateCancel(scheduled, { actor: merchant })).not.toThrow();
  });

  it('at period end schedules while active or paused; elsewhere it cancels now, never backdated', () => {
    const s = active();
    expect(acceptCancel(s, { actor: merchant, atPeriodEnd: true, reason: 'moving' }, APPROVED + DAY)).toBe(
      s.nextChargeAt,
    );
    expect(s.cancelAt).toBe(s.nextChargeAt);
    expect(s.cancelAtRequest).toEqual({ actor: merchant, reason: 'moving' });
    expect(s.requests.cancelNow).toBeUndefined();

    for (const status of ['past_due', 'reapproval_required'] as const) {
      const t = withStatus(status);
      expect(
        acceptCancel(t, { actor: merchant, atPeriodEnd: true, reason: 'stop' }, APPROVED + DAY),
      ).toBeUndefined();
      expect(t.cancelAt).toBeUndefined();
      expect(t.requests.cancelNow).toMatchObject({
        actor: merchant,
        reason: `stop (at period end while ${status}: no further attempts)`,
      });
    }
  });

  it('a second cancel now keeps the first one’s place in line', () => {
    const s = active();
    acceptCancel(s, { actor: merchant, reason: 'first' }, APPROVED);
    acceptCancel(s, { actor: operator, reason: 'second' }, APPROVED);
    expect(s.requests.cancelNow).toMatchObject({ reason: 'first', seq: 2 });
  });
});

describe('validatePause', () => {
  const now = APPROVED + 10 * DAY;

  it('validates actor, status and resumeAt', () => {
    const s = active();
    expect(() => validatePause(s, { actor: customer }, now)).not.toThrow();
    expect(() => validatePause(s, { actor: customer, resumeAt: iso(now + DAY) }, now)).not.toThrow();
    expectRejected(
      () => validatePause(s, { actor: { kind: '' } } as never, now),
      REJECTION_TYPES.invalidRequest,
      badActor,
    );
    for (const status of ['paused', 'past_due', 'pending_approval', 'canceled'] as const) {
      expectRejected(
        () => validatePause(withStatus(status), { actor: customer }, now),
        REJECTION_TYPES.invalidState,
        `only an active subscription can pause (it is ${status})`,
      );
    }
    for (const resumeAt of ['next week', 12_345]) {
      expectRejected(
        () => validatePause(s, { actor: customer, resumeAt } as never, now),
        REJECTION_TYPES.invalidRequest,
        'resumeAt must be an ISO-8601 instant',
      );
    }
    for (const resumeAt of [iso(now), '2028-01-01T00:00:00Z']) {
      expectRejected(
        () => validatePause(s, { actor: customer, resumeAt }, now),
        REJECTION_TYPES.invalidRequest,
        'resumeAt must be in the future',
      );
    }
  });

  it('is rejected while a charge is in progress, while the key is being retired, or while canceling', () => {
    const s = active();
    openCharge(s, due(s));
    expectRejected(
      () => validatePause(s, { actor: merchant }, due(s)),
      REJECTION_TYPES.invalidState,
      'a charge is in progress; pause once it settles',
    );
    s.charge!.sent = true;
    applyChargeOutcome(s, { outcome: 'unknown', reason: 'x' }, due(s));
    expectRejected(
      () => validatePause(s, { actor: merchant }, due(s)),
      REJECTION_TYPES.invalidState,
      'a charge is in progress; pause once it settles',
    );
    const r = active();
    r.retireRegKey = true;
    expectRejected(
      () => validatePause(r, { actor: merchant }, now),
      REJECTION_TYPES.invalidState,
      'a charge is in progress; pause once it settles',
    );
    const c = active();
    acceptCancel(c, { actor: merchant }, now);
    expectRejected(
      () => validatePause(c, { actor: merchant }, now),
      REJECTION_TYPES.invalidState,
      'subscription is being canceled',
    );
  });
});

describe('validateResume / validateChangePlan / validateRetryNow', () => {
  it('validateResume', () => {
    expect(() => validateResume(withStatus('paused'), { actor: customer })).not.toThrow();
    expectRejected(
      () => validateResume(withStatus('paused'), {} as never),
      REJECTION_TYPES.invalidRequest,
      badActor,
    );
    for (const status of ['active', 'past_due', 'canceled'] as const) {
      expectRejected(
        () => validateResume(withStatus(status), { actor: customer }),
        REJECTION_TYPES.invalidState,
        `only a paused subscription can resume (it is ${status})`,
      );
    }
  });

  it('validateChangePlan', () => {
    for (const status of ['active', 'past_due', 'paused', 'reapproval_required'] as const) {
      expect(() => validateChangePlan(withStatus(status), { actor: merchant, amount: 590 })).not.toThrow();
    }
    const s = active();
    expect(() => validateChangePlan(s, { actor: merchant, productName: 'Plus' })).not.toThrow();
    // The subscription's per-currency limit (TWD 500,000 by default) holds for plan changes too.
    expect(() =>
      validateChangePlan(s, { actor: merchant, amount: 500_000, productName: 'p'.repeat(4000) }),
    ).not.toThrow();
    expectRejected(
      () => validateChangePlan(s, { actor: merchant, amount: 500_001 }),
      REJECTION_TYPES.invalidRequest,
      'amount: must be at most 500000 TWD',
    );
    expectRejected(
      () => validateChangePlan(s, { amount: 1 } as never),
      REJECTION_TYPES.invalidRequest,
      badActor,
    );
    expectRejected(
      () => validateChangePlan(withStatus('completed'), { actor: merchant, amount: 1 }),
      REJECTION_TYPES.invalidState,
      'subscription is completed',
    );
    expectRejected(
      () => validateChangePlan(pending(), { actor: merchant, amount: 1 }),
      REJECTION_TYPES.invalidState,
      'the plan of a subscription awaiting approval cannot change; create a new one',
    );
    expectRejected(
      () => validateChangePlan(s, { actor: merchant }),
      REJECTION_TYPES.invalidRequest,
      'give amount, productName or both',
    );
    for (const amount of [0, -5, 1.5, Number.NaN, '590']) {
      expectRejected(
        () => validateChangePlan(s, { actor: merchant, amount } as never),
        REJECTION_TYPES.invalidRequest,
        "amount: must be a positive integer in the currency's unit",
      );
    }
    for (const productName of ['', '   ', 'p'.repeat(4001), 42]) {
      expectRejected(
        () => validateChangePlan(s, { actor: merchant, productName } as never),
        REJECTION_TYPES.invalidRequest,
        'productName must be 1-4000 characters',
      );
    }
  });

  it('validateRetryNow', () => {
    expect(() => validateRetryNow(withStatus('past_due'), { actor: operator })).not.toThrow();
    expectRejected(
      () => validateRetryNow(withStatus('past_due'), {} as never),
      REJECTION_TYPES.invalidRequest,
      badActor,
    );
    for (const status of ['active', 'paused', 'reapproval_required', 'canceled'] as const) {
      expectRejected(
        () => validateRetryNow(withStatus(status), { actor: merchant }),
        REJECTION_TYPES.invalidState,
        `retryNow is for subscriptions in dunning (it is ${status})`,
      );
    }
    const asked = withStatus('past_due');
    applyRetryNow(asked, { actor: operator }, APPROVED);
    expectRejected(
      () => validateRetryNow(asked, { actor: operator }),
      REJECTION_TYPES.invalidState,
      'a retry is already requested',
    );
    const busy = active();
    openCharge(busy, due(busy));
    busy.status = 'past_due';
    expectRejected(
      () => validateRetryNow(busy, { actor: operator }),
      REJECTION_TYPES.invalidState,
      'a charge attempt is already in progress',
    );
  });
});

describe('requestId: a repeat passes and gets the first answer', () => {
  it('rejects a malformed requestId', () => {
    for (const requestId of ['', 'x'.repeat(201), 42]) {
      expectRejected(
        () => validatePause(active(), { actor: merchant, requestId } as never, APPROVED),
        REJECTION_TYPES.invalidRequest,
        'requestId must be a string of 1-200 characters',
      );
    }
  });

  it('pause, resume, changePlan, retryNow: the repeat passes validation and changes nothing', () => {
    const s = active();
    const t = APPROVED + DAY;
    const pause = { actor: merchant, requestId: 'p-1', resumeAt: iso(t + 40 * DAY) };
    validatePause(s, pause, t);
    const first = applyPause(s, pause, t);
    expect(s.status).toBe('paused');
    let copy = structuredClone(s);
    expect(() => validatePause(s, pause, t + MIN)).not.toThrow();
    expect(applyPause(s, pause, t + MIN)).toEqual(first);
    expect(s).toEqual(copy);
    // A new pause request without the id is refused: the subscription is paused.
    expect(() => validatePause(s, { actor: merchant }, t)).toThrow(ApplicationFailure);

    const resume = { actor: merchant, requestId: 'r-1' };
    validateResume(s, resume);
    const resumed = applyResume(s, merchant, 'back', t + 2 * DAY, 'r-1');
    copy = structuredClone(s);
    expect(() => validateResume(s, resume)).not.toThrow();
    expect(applyResume(s, merchant, 'back', t + 3 * DAY, 'r-1')).toEqual(resumed);
    expect(s).toEqual(copy);

    const change = { actor: merchant, requestId: 'c-1', amount: 420 };
    const changed = applyChangePlan(s, change, t + 3 * DAY);
    copy = structuredClone(s);
    expect(() => validateChangePlan(s, change)).not.toThrow();
    expect(applyChangePlan(s, { ...change, amount: 999 }, t + 4 * DAY)).toEqual(changed);
    expect(s).toEqual(copy);

    const p = withStatus('past_due');
    const retry = { actor: operator, requestId: 'n-1' };
    const retried = applyRetryNow(p, retry, t);
    copy = structuredClone(p);
    expect(() => validateRetryNow(p, retry)).not.toThrow();
    expect(applyRetryNow(p, retry, t + MIN)).toEqual(retried);
    expect(p).toEqual(copy);
    expect(() => validateRetryNow(p, { actor: operator, requestId: 'n-2' })).toThrow(ApplicationFailure);
  });

  it('cancel: a repeat passes even once the subscription is canceled or the period end scheduled', () => {
    const s = withStatus('canceled');
    rememberApplied(s, 'x-1', { status: 'canceled', effectiveAt: iso(APPROVED) });
    expect(() => validateCancel(s, { actor: merchant, requestId: 'x-1' })).not.toThrow();
    expect(() => validateCancel(s, { actor: merchant, requestId: 'x-2' })).toThrow(ApplicationFailure);
    const a = active();
    const at = acceptCancel(a, { actor: merchant, atPeriodEnd: true, requestId: 'e-1' }, APPROVED);
    rememberApplied(a, 'e-1', { status: 'active', effectiveAt: at });
    expect(() => validateCancel(a, { actor: merchant, atPeriodEnd: true, requestId: 'e-1' })).not.toThrow();
  });
});

describe('validateSettleCharge', () => {
  function unresolved(): SubscriptionState {
    const s = active();
    openCharge(s, due(s));
    s.charge!.sent = true;
    applyChargeOutcome(s, { outcome: 'unknown', reason: 'x' }, due(s));
    return s;
  }
  const paid = {
    actor: operator,
    reason: 'found it',
    outcome: 'paid' as const,
    transactionId: '2028022000000000007',
  };

  it('accepts an operator with a reason, and a transactionId for paid', () => {
    expect(() => validateSettleCharge(unresolved(), paid)).not.toThrow();
    expect(() =>
      validateSettleCharge(unresolved(), { actor: operator, reason: 'not there', outcome: 'failed' }),
    ).not.toThrow();
  });

  it('refuses anyone but an operator, a missing reason or outcome, and paid without a digit transactionId', () => {
    const s = unresolved();
    for (const actor of [merchant, customer, { kind: 'system' } as const]) {
      expectRejected(
        () => validateSettleCharge(s, { ...paid, actor }),
        REJECTION_TYPES.invalidRequest,
        'only an operator settles a charge',
      );
    }
    expectRejected(
      () => validateSettleCharge(s, { ...paid, actor: { kind: 'root' } } as never),
      REJECTION_TYPES.invalidRequest,
      badActor,
    );
    for (const reason of ['', '  ', undefined]) {
      expectRejected(
        () => validateSettleCharge(s, { ...paid, reason } as never),
        REJECTION_TYPES.invalidRequest,
        'reason is required',
      );
    }
    expectRejected(
      () => validateSettleCharge(s, { ...paid, outcome: 'refunded' } as never),
      REJECTION_TYPES.invalidRequest,
      'outcome must be paid or failed',
    );
    for (const transactionId of [undefined, '', 'abc', '12.5', 20280220, '1'.repeat(33)]) {
      expectRejected(
        () => validateSettleCharge(s, { ...paid, transactionId } as never),
        REJECTION_TYPES.invalidRequest,
        'transactionId (digits) is required for paid',
      );
    }
  });

  it('refuses when no sent charge waits for an outcome', () => {
    const none = active();
    const unsent = active();
    openCharge(unsent, due(unsent));
    const resend = unresolved();
    resend.charge!.phase = 'sending';
    for (const s of [none, unsent, resend]) {
      expectRejected(
        () => validateSettleCharge(s, paid),
        REJECTION_TYPES.invalidState,
        'no charge is waiting to be settled',
      );
    }
  });
});
