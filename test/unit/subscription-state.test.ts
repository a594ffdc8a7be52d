import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import { dueAt } from '../../workflows/billing-calendar.js';
import { REJECTION_TYPES, type Reservation, type SubscriptionStatus } from '../../workflows/messages.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  applyDuePlanChange,
  calendarOf,
  declinedAttempts,
  initialState,
  planChangeEffectiveCycle,
  recordSoftDecline,
  resumeCalendar,
  type SubscriptionState,
  startCalendar,
  toView,
  transition,
  validateCancel,
  validateChangePlan,
  validateConfirm,
  validatePause,
  validateResume,
  validateRetryNow,
} from '../../workflows/subscription-state.js';

const DAY = 86_400_000;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const merchant = { kind: 'merchant' } as const;
const customer = { kind: 'customer', id: 'cust-1' } as const;

const base: SubscriptionInput = {
  subscriptionId: 'sub_1',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function makeState(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  return initialState(normalizeSubscriptionInput({ ...base, ...patch }), CREATED);
}

/** An approved, active state on a monthly Asia/Taipei calendar starting 2028-01-31 10:00 local. */
function activeState(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const s = makeState(patch);
  startCalendar(s, Date.parse('2028-01-31T02:00:00Z'));
  transition(s, 'active', customer, 'approved', Date.parse('2028-01-31T02:00:00Z'));
  return s;
}

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

function withStatus(status: SubscriptionStatus): SubscriptionState {
  const s = activeState();
  s.status = status;
  return s;
}

describe('initialState', () => {
  it('starts pending approval with one audit entry', () => {
    const s = makeState();
    expect(s).toMatchObject({
      status: 'pending_approval',
      plan: { productName: 'Coffee club', amount: 390, currency: 'TWD' },
      cycle: 0,
      paidCycles: 0,
      reservationsForCycle: 0,
      skippedCycles: [],
      charges: [],
      totalCharged: 0,
      createdAt: '2028-01-20T03:00:00.000Z',
    });
    expect(s.calendar).toBeUndefined();
    expect(s.audit).toEqual([
      {
        at: '2028-01-20T03:00:00.000Z',
        from: null,
        to: 'pending_approval',
        actor: merchant,
        reason: 'subscription created',
      },
    ]);
  });
});

describe('transition', () => {
  it('records from, to, actor, reason and time; cycle only once past approval', () => {
    const s = makeState();
    transition(s, 'approval_expired', { kind: 'system' }, 'payment URL lapsed', CREATED + 1_200_000);
    expect(s.status).toBe('approval_expired');
    expect(s.audit[1]).toEqual({
      at: '2028-01-20T03:20:00.000Z',
      from: 'pending_approval',
      to: 'approval_expired',
      actor: { kind: 'system' },
      reason: 'payment URL lapsed',
    });

    const a = activeState();
    transition(
      a,
      'paused',
      { kind: 'operator', id: 'ops' },
      'customer asked',
      Date.parse('2028-02-01T00:00:00Z'),
    );
    expect(a.audit.at(-1)).toEqual({
      at: '2028-02-01T00:00:00.000Z',
      from: 'active',
      to: 'paused',
      actor: { kind: 'operator', id: 'ops' },
      reason: 'customer asked',
      cycle: 1,
    });
  });

  it('keeps only the newest 60 audit entries', () => {
    const s = activeState(); // 2 entries: created, approved
    for (let i = 1; i <= 100; i += 1) transition(s, 'active', merchant, `r${i}`, CREATED + i);
    expect(s.audit).toHaveLength(60);
    expect(s.audit[0]!.reason).toBe('r41');
    expect(s.audit.at(-1)!.reason).toBe('r100');
  });
});

describe('startCalendar', () => {
  it('without a billing anchor: cycle 0 is the approval, cycle 1 is due one interval later', () => {
    const s = makeState();
    const approvedAt = Date.parse('2028-01-31T02:00:00Z'); // 10:00 Taipei
    startCalendar(s, approvedAt);
    expect(s.calendar).toEqual({ anchor: '2028-01-31T02:00:00.000Z', firstCycle: 0 });
    expect(s.cycle).toBe(1);
    expect(s.nextChargeAt).toBe('2028-02-29T02:00:00.000Z');
  });

  it('with a future billing anchor: cycle 1 is due at the anchor', () => {
    const s = makeState({ billingAnchor: '2028-03-01T09:00:00+08:00' });
    startCalendar(s, Date.parse('2028-02-10T00:00:00Z'));
    expect(s.calendar).toEqual({ anchor: '2028-03-01T01:00:00.000Z', firstCycle: 1 });
    expect(s.cycle).toBe(1);
    expect(s.nextChargeAt).toBe('2028-03-01T01:00:00.000Z');
  });

  it('with an anchor already past at approval: the first cycle due after approval', () => {
    const s = makeState({ billingAnchor: '2028-01-15T09:00:00+08:00' });
    startCalendar(s, Date.parse('2028-03-20T00:00:00Z')); // Jan 15, Feb 15, Mar 15 passed
    expect(s.calendar).toEqual({ anchor: '2028-01-15T01:00:00.000Z', firstCycle: 1 });
    expect(s.cycle).toBe(4);
    expect(s.nextChargeAt).toBe('2028-04-15T01:00:00.000Z');
  });

  it('a cycle due at the very instant of approval counts as covered by the approval payment', () => {
    const s = makeState({ billingAnchor: '2028-01-15T09:00:00+08:00' });
    startCalendar(s, Date.parse('2028-01-15T01:00:00Z'));
    expect(s.cycle).toBe(2);
    expect(s.nextChargeAt).toBe('2028-02-15T01:00:00.000Z');
  });

  it('calendarOf throws before approval', () => {
    expect(() => calendarOf(makeState())).toThrow('the billing calendar starts at approval');
  });
});

describe('recordSoftDecline / declinedAttempts', () => {
  it('schedules retries at the offsets from the first decline, then reports exhaustion', () => {
    const s = activeState();
    s.cycle = 3;
    const t0 = Date.parse('2028-04-30T02:00:00Z');
    expect(declinedAttempts(s)).toBe(0);
    expect(recordSoftDecline(s, t0, '1110', 'card declined')).toBe('2028-05-01T02:00:00.000Z');
    expect(s.dunning).toEqual({
      cycle: 3,
      declines: 1,
      firstDeclineAt: '2028-04-30T02:00:00.000Z',
      lastReturnCode: '1110',
      lastMessage: 'card declined',
      nextRetryAt: '2028-05-01T02:00:00.000Z',
    });
    expect(declinedAttempts(s)).toBe(1);
    // The retry ran 5 minutes late: the next offset is still measured from the first decline.
    expect(recordSoftDecline(s, t0 + DAY + 300_000, '1110', 'again')).toBe('2028-05-03T02:00:00.000Z');
    expect(recordSoftDecline(s, t0 + 3 * DAY + 60_000, undefined, 'no code')).toBe(
      '2028-05-05T02:00:00.000Z',
    );
    expect(s.dunning!.lastReturnCode).toBe('1110');
    expect(s.dunning!.lastMessage).toBe('no code');
    expect(recordSoftDecline(s, t0 + 5 * DAY, '1111', 'x')).toBe('2028-05-07T02:00:00.000Z');
    expect(declinedAttempts(s)).toBe(4);
    expect(recordSoftDecline(s, t0 + 7 * DAY, '1111', 'last')).toBeUndefined();
    expect(s.dunning!.declines).toBe(5);
    expect(s.dunning!.nextRetryAt).toBeUndefined();
    expect(s.dunning!.firstDeclineAt).toBe('2028-04-30T02:00:00.000Z');
    expect(declinedAttempts(s)).toBe(5);
  });

  it('never schedules a retry in the past', () => {
    const s = activeState();
    const t0 = Date.parse('2028-04-30T02:00:00Z');
    recordSoftDecline(s, t0, '1110', 'a');
    const late = t0 + 4 * DAY; // past the P3D offset already
    expect(recordSoftDecline(s, late, '1110', 'b')).toBe(new Date(late).toISOString());
  });

  it('an empty schedule is exhausted at the first decline', () => {
    const s = activeState({ dunningSchedule: [] });
    expect(recordSoftDecline(s, CREATED, '1110', 'x')).toBeUndefined();
    expect(s.dunning!.declines).toBe(1);
  });

  it('starts afresh for a new cycle; attempts count only the current cycle', () => {
    const s = activeState();
    s.cycle = 3;
    const t0 = Date.parse('2028-04-30T02:00:00Z');
    recordSoftDecline(s, t0, '1110', 'a');
    recordSoftDecline(s, t0 + DAY, '1110', 'b');
    s.cycle = 4;
    expect(declinedAttempts(s)).toBe(0);
    const t1 = t0 + 31 * DAY;
    expect(recordSoftDecline(s, t1, '1110', 'c')).toBe(new Date(t1 + DAY).toISOString());
    expect(s.dunning).toMatchObject({ cycle: 4, declines: 1, firstDeclineAt: new Date(t1).toISOString() });
  });
});

describe('applyDuePlanChange / planChangeEffectiveCycle', () => {
  it('applies a pending change from its effective cycle on, once', () => {
    const s = activeState();
    s.pendingPlanChange = { amount: 590, productName: 'Coffee club plus', effectiveCycle: 5 };
    expect(applyDuePlanChange(s, 4)).toBe(false);
    expect(s.plan).toEqual({ productName: 'Coffee club', amount: 390, currency: 'TWD' });
    expect(applyDuePlanChange(s, 5)).toBe(true);
    expect(s.plan).toEqual({ productName: 'Coffee club plus', amount: 590, currency: 'TWD' });
    expect(s.pendingPlanChange).toBeUndefined();
    expect(applyDuePlanChange(s, 6)).toBe(false);
  });

  it('applies when the cycle is already past the effective cycle', () => {
    const s = activeState();
    s.pendingPlanChange = { amount: 100, productName: 'Lite', effectiveCycle: 2 };
    expect(applyDuePlanChange(s, 7)).toBe(true);
    expect(s.plan.amount).toBe(100);
  });

  it('does nothing without a pending change', () => {
    const s = activeState();
    expect(applyDuePlanChange(s, 1)).toBe(false);
    expect(s.plan.amount).toBe(390);
  });

  it('never touches a cycle whose charge has started', () => {
    const s = activeState();
    s.cycle = 4;
    expect(planChangeEffectiveCycle(s, false)).toBe(4);
    expect(planChangeEffectiveCycle(s, true)).toBe(5);
    s.dunning = { cycle: 4, declines: 1, firstDeclineAt: 'x' };
    expect(planChangeEffectiveCycle(s, false)).toBe(5);
    s.dunning = undefined;
    s.unresolved = { cycle: 4, orderId: 'sub_1-c4', since: 'x', lookups: 0 };
    expect(planChangeEffectiveCycle(s, false)).toBe(5);
    s.unresolved = undefined;
    s.status = 'reapproval_required';
    expect(planChangeEffectiveCycle(s, false)).toBe(5);
  });
});

describe('resumeCalendar', () => {
  function paused(): SubscriptionState {
    const s = activeState(); // cycle 1 due 2028-02-29T02:00Z, cycle 2 2028-03-31, cycle 3 2028-04-30
    transition(s, 'paused', merchant, 'pause', Date.parse('2028-02-10T00:00:00Z'));
    s.pausedAt = '2028-02-10T00:00:00.000Z';
    s.resumeAt = '2028-04-15T00:00:00.000Z';
    return s;
  }

  it('skips cycles that fell due while paused', () => {
    const s = paused();
    expect(resumeCalendar(s, Date.parse('2028-04-15T00:00:00Z'))).toEqual([1, 2]);
    expect(s.cycle).toBe(3);
    expect(s.nextChargeAt).toBe('2028-04-30T02:00:00.000Z');
    expect(s.skippedCycles).toEqual([1, 2]);
    expect(s.pausedAt).toBeUndefined();
    expect(s.resumeAt).toBeUndefined();
  });

  it('skips nothing when resumed before the next due date', () => {
    const s = paused();
    expect(resumeCalendar(s, Date.parse('2028-02-20T00:00:00Z'))).toEqual([]);
    expect(s.cycle).toBe(1);
    expect(s.nextChargeAt).toBe('2028-02-29T02:00:00.000Z');
  });

  it('a cycle due exactly at the resume instant is billed, not skipped', () => {
    const s = paused();
    const due2 = dueAt(calendarOf(s), 2);
    expect(resumeCalendar(s, due2)).toEqual([1]);
    expect(s.cycle).toBe(2);
  });

  it('keeps only the newest 24 skipped cycles', () => {
    const s = paused();
    s.skippedCycles = Array.from({ length: 20 }, (_, i) => 100 + i);
    expect(resumeCalendar(s, Date.parse('2028-08-15T00:00:00Z'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.skippedCycles).toHaveLength(24);
    expect(s.skippedCycles.slice(-6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.skippedCycles[0]).toBe(102);
  });
});

describe('validators', () => {
  const badActor = 'actor.kind must be customer, merchant, operator or system';
  const reservation: Reservation = {
    kind: 'approval',
    cycle: 0,
    orderId: 'sub_1-c0',
    transactionId: '2025010100000000001',
    amount: 390,
    currency: 'TWD',
    paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    createdAt: '2028-01-20T03:00:00.000Z',
    expiresAt: '2028-01-20T03:20:00.000Z',
  };
  const confirm = { transactionId: reservation.transactionId, orderId: reservation.orderId };

  it('validateConfirm', () => {
    const s = makeState();
    s.reservation = { ...reservation };
    expect(() => validateConfirm(s, confirm, false)).not.toThrow();
    expectRejected(
      () => validateConfirm(s, { orderId: 'sub_1-c0' } as never, false),
      REJECTION_TYPES.invalidRequest,
      'transactionId and orderId are required',
    );
    expectRejected(
      () => validateConfirm(s, undefined as never, false),
      REJECTION_TYPES.invalidRequest,
      'transactionId and orderId are required',
    );
    const mismatch = 'transactionId and orderId do not match this subscription’s payment request';
    expectRejected(
      () => validateConfirm(s, { ...confirm, transactionId: '2025010100000000002' }, false),
      REJECTION_TYPES.mismatch,
      mismatch,
    );
    expectRejected(
      () => validateConfirm(s, { ...confirm, orderId: 'sub_1-c1' }, false),
      REJECTION_TYPES.mismatch,
      mismatch,
    );
    expectRejected(
      () => validateConfirm({ ...s, reservation: undefined }, confirm, false),
      REJECTION_TYPES.mismatch,
      mismatch,
    );
    expectRejected(
      () => validateConfirm(s, confirm, true),
      REJECTION_TYPES.invalidState,
      'this approval is already being confirmed',
    );
    expectRejected(
      () => validateConfirm({ ...s, status: 'active' }, confirm, false),
      REJECTION_TYPES.invalidState,
      'subscription is active, not awaiting approval',
    );
    expect(() => validateConfirm({ ...s, status: 'reapproval_required' }, confirm, false)).not.toThrow();
  });

  it('validateCancel', () => {
    const s = activeState();
    expect(() => validateCancel(s, { actor: customer })).not.toThrow();
    expect(() => validateCancel(s, { actor: merchant, atPeriodEnd: true })).not.toThrow();
    expect(() => validateCancel(makeState(), { actor: merchant })).not.toThrow();
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
      () => validateCancel(makeState(), { actor: merchant, atPeriodEnd: true }),
      REJECTION_TYPES.invalidState,
      'a subscription awaiting approval has no period to end; cancel it now',
    );
    expectRejected(
      () =>
        validateCancel(
          { ...s, cancelAt: '2028-02-29T02:00:00.000Z' },
          { actor: merchant, atPeriodEnd: true },
        ),
      REJECTION_TYPES.invalidState,
      'already canceling at 2028-02-29T02:00:00.000Z',
    );
    // An immediate cancel still works while a period-end cancel is pending.
    expect(() =>
      validateCancel({ ...s, cancelAt: '2028-02-29T02:00:00.000Z' }, { actor: merchant }),
    ).not.toThrow();
  });

  it('validatePause', () => {
    const now = Date.parse('2028-02-10T00:00:00Z');
    const s = activeState();
    expect(() => validatePause(s, { actor: customer }, now)).not.toThrow();
    expect(() => validatePause(s, { actor: customer, resumeAt: '2028-03-01T00:00:00Z' }, now)).not.toThrow();
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
    for (const resumeAt of ['2028-02-10T00:00:00Z', '2028-01-01T00:00:00Z']) {
      expectRejected(
        () => validatePause(s, { actor: customer, resumeAt }, now),
        REJECTION_TYPES.invalidRequest,
        'resumeAt must be in the future',
      );
    }
  });

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
    const s = activeState();
    expect(() => validateChangePlan(s, { actor: merchant, productName: 'Plus' })).not.toThrow();
    expect(() =>
      validateChangePlan(s, { actor: merchant, amount: 100_000_000, productName: 'p'.repeat(4000) }),
    ).not.toThrow();
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
      () => validateChangePlan(makeState(), { actor: merchant, amount: 1 }),
      REJECTION_TYPES.invalidState,
      'the plan of a subscription awaiting approval cannot change; create a new one',
    );
    expectRejected(
      () => validateChangePlan(s, { actor: merchant }),
      REJECTION_TYPES.invalidRequest,
      'give amount, productName or both',
    );
    for (const amount of [0, -5, 1.5, 100_000_001, Number.NaN, '590']) {
      expectRejected(
        () => validateChangePlan(s, { actor: merchant, amount } as never),
        REJECTION_TYPES.invalidRequest,
        "amount must be a positive integer in the currency's unit",
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
    expect(() => validateRetryNow(withStatus('past_due'), { actor: operatorActor() })).not.toThrow();
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
  });

  function operatorActor() {
    return { kind: 'operator' as const, id: 'ops-1' };
  }
});

describe('toView', () => {
  const REG_KEY = 'RK5C38F19XTF425';

  function stateWithRegKey(): SubscriptionState {
    const s = activeState({ maxCycles: 12, requestFingerprint: 'fp-1' });
    s.sealedRegKey = new RegKeyVault(randomBytes(32)).seal(REG_KEY, { subscriptionId: 'sub-1', instanceId: '0badcafe' });
    s.regKeyMasked = 'RK…F425';
    return s;
  }

  it('has no sealedRegKey field and no regKey anywhere', () => {
    const s = stateWithRegKey();
    const view = toView(s);
    expect('sealedRegKey' in view).toBe(false);
    const json = JSON.stringify(view);
    expect(json).not.toContain(REG_KEY);
    expect(json).not.toContain(s.sealedRegKey!);
    expect(json).not.toContain(s.sealedRegKey!.split('.')[2]!);
    expect(json).not.toContain('rk1.');
    expect(view.regKeyMasked).toBe('RK…F425');
  });

  it('shows the read model exactly', () => {
    const s = stateWithRegKey();
    expect(toView(s)).toEqual({
      subscriptionId: 'sub_1',
      customerId: 'cust-1',
      status: 'active',
      plan: {
        productName: 'Coffee club',
        amount: 390,
        currency: 'TWD',
        interval: 'P1M',
        timeZone: 'Asia/Taipei',
      },
      maxCycles: 12,
      cycle: 1,
      paidCycles: 0,
      anchor: '2028-01-31T02:00:00.000Z',
      nextChargeAt: '2028-02-29T02:00:00.000Z',
      regKeyMasked: 'RK…F425',
      skippedCycles: [],
      charges: [],
      totalCharged: 0,
      audit: s.audit,
      createdAt: '2028-01-20T03:00:00.000Z',
      requestFingerprint: 'fp-1',
    });
  });

  it('hides nextChargeAt once terminal and copies arrays', () => {
    const s = stateWithRegKey();
    transition(s, 'canceled', merchant, 'bye', Date.parse('2028-02-01T00:00:00Z'));
    const view = toView(s);
    expect('nextChargeAt' in view).toBe(false);
    view.audit.pop();
    view.skippedCycles.push(9);
    expect(s.audit.at(-1)!.to).toBe('canceled');
    expect(s.skippedCycles).toEqual([]);
  });
});
