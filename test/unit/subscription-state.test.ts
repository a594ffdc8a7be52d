import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import { dueAt } from '../../workflows/billing-calendar.js';
import { chargeOrderId } from '../../workflows/order-id.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import { IllegalTransitionError } from '../../workflows/subscription-machine.js';
import {
  advanceCycle,
  appliedResult,
  applyDuePlanChange,
  calendarOf,
  declinedAttempts,
  emit,
  flagAttention,
  initialState,
  openCharge,
  planChangeEffectiveCycle,
  recordSoftDecline,
  rememberApplied,
  resumeCalendar,
  type SubscriptionState,
  startCalendar,
  toView,
  transition,
} from '../../workflows/subscription-state.js';

const I = '0a1b2c3d';
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
  return initialState(normalizeSubscriptionInput({ ...base, ...patch }), I, CREATED);
}

/** An approved, active state on a monthly Asia/Taipei calendar starting 2028-01-31 10:00 local. */
function activeState(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const s = makeState(patch);
  startCalendar(s, Date.parse('2028-01-31T02:00:00Z'));
  transition(s, 'active', customer, 'approved', Date.parse('2028-01-31T02:00:00Z'));
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
    expect(s.instanceId).toBe(I);
    expect(s.requests).toEqual({ seq: 0 });
    expect(s.events).toEqual({ nextSequence: 1, outbox: [] });
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

  it('throws on an edge the table does not have, changing nothing', () => {
    const s = activeState();
    const audit = s.audit.length;
    expect(() => transition(s, 'approval_expired', merchant, 'x', CREATED)).toThrow(IllegalTransitionError);
    expect(s.status).toBe('active');
    expect(s.audit).toHaveLength(audit);
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
    s.nextChargeAt = '2028-05-31T02:00:00.000Z';
    expect(planChangeEffectiveCycle(s)).toBe(4);
    s.dunning = { cycle: 4, declines: 1, firstDeclineAt: 'x' };
    expect(planChangeEffectiveCycle(s)).toBe(5);
    s.dunning = undefined;
    openCharge(s, Date.parse(s.nextChargeAt));
    expect(planChangeEffectiveCycle(s)).toBe(5);
    s.charge = undefined;
    s.status = 'reapproval_required';
    expect(planChangeEffectiveCycle(s)).toBe(5);
  });
});

describe('openCharge / advanceCycle', () => {
  it('opens the current cycle at the plan due by now, with the attempt number of definite declines', () => {
    const s = activeState();
    s.pendingPlanChange = { amount: 450, productName: 'Coffee club+', effectiveCycle: 1 };
    const due = Date.parse(s.nextChargeAt!);
    const c = openCharge(s, due);
    expect(c).toEqual({
      cycle: 1,
      attempt: 0,
      orderId: chargeOrderId('sub_1', I, 1, 0),
      amount: 450,
      currency: 'TWD',
      productName: 'Coffee club+',
      dueAt: s.nextChargeAt,
      phase: 'sending',
      sent: false,
      priorsChecked: true,
      since: new Date(due).toISOString(),
      lookups: 0,
    });
    expect(s.audit.at(-1)).toMatchObject({
      from: 'active',
      to: 'active',
      reason: 'plan change effective from cycle 1',
    });
    expect(s.priorLookup).toBeUndefined();
    recordSoftDecline(s, due, '1110', 'x');
    recordSoftDecline(s, due + DAY, '1110', 'x');
    s.requests.retryNow = true;
    const again = openCharge(s, due + 3 * DAY);
    expect(again).toMatchObject({
      attempt: 2,
      orderId: chargeOrderId('sub_1', I, 1, 2),
      priorsChecked: false,
    });
    expect(s.requests.retryNow).toBeUndefined();
    expect(s.priorLookup).toEqual({
      cycle: 1,
      orderIds: [chargeOrderId('sub_1', I, 1, 0), chargeOrderId('sub_1', I, 1, 1)],
      amount: 450,
    });
  });

  it('advanceCycle moves to the next due date and forgets the cycle’s dunning, reservations and retryNow', () => {
    const s = activeState();
    recordSoftDecline(s, CREATED, '1110', 'x');
    s.reservationsForCycle = 3;
    s.requests.retryNow = true;
    advanceCycle(s);
    expect(s.cycle).toBe(2);
    expect(s.nextChargeAt).toBe('2028-03-31T02:00:00.000Z');
    expect(s.dunning).toBeUndefined();
    expect(s.reservationsForCycle).toBe(0);
    expect(s.requests.retryNow).toBeUndefined();
  });
});

describe('emit / flagAttention / rememberApplied', () => {
  it('numbers events without a gap, with ids stable per instance', () => {
    const s = makeState();
    const a = emit(s, 'subscription.plan_changed', { n: 1 }, CREATED);
    const b = emit(s, 'charge.failed', { n: 2 }, CREATED + 1);
    expect([a.sequence, b.sequence]).toEqual([1, 2]);
    // The ledger's instance key names the subscription too: two subscriptions may share the 8-hex instanceId.
    expect(a).toEqual({
      id: `evt_sub_1.${I}_1`,
      type: 'subscription.plan_changed',
      subscriptionId: 'sub_1',
      instanceId: `sub_1.${I}`,
      sequence: 1,
      occurredAt: '2028-01-20T03:00:00.000Z',
      data: { n: 1 },
    });
    expect(s.events.nextSequence).toBe(3);
    s.events.outbox.splice(0); // written to the ledger: numbering goes on
    expect(emit(s, 'charge.failed', {}, CREATED).sequence).toBe(3);
  });

  it('flags attention once per kind; the first reason stays', () => {
    const s = activeState();
    const before = s.events.outbox.length;
    flagAttention(s, 'blocked', 'first', CREATED);
    flagAttention(s, 'blocked', 'second', CREATED + 1);
    expect(s.attention).toEqual({ since: '2028-01-20T03:00:00.000Z', reason: 'first', kind: 'blocked' });
    expect(s.events.outbox.slice(before).map((e) => e.type)).toEqual(['subscription.needs_attention']);
  });

  it('remembers the newest 32 applied request ids', () => {
    const s = activeState();
    rememberApplied(s, undefined, 'ignored');
    expect(s.applied).toEqual([]);
    for (let i = 0; i < 40; i += 1) rememberApplied(s, `r${i}`, i);
    expect(s.applied).toHaveLength(32);
    expect(appliedResult(s, 'r7')).toBeUndefined();
    expect(appliedResult(s, 'r8')).toEqual({ requestId: 'r8', result: 8 });
    expect(appliedResult(s, undefined)).toBeUndefined();
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

describe('toView', () => {
  const REG_KEY = 'RK5C38F19XTF425';

  function stateWithRegKey(): SubscriptionState {
    const s = activeState({ maxCycles: 12, requestFingerprint: 'fp-1' });
    s.sealedRegKey = new RegKeyVault(randomBytes(32)).seal(REG_KEY, {
      subscriptionId: 'sub-1',
      instanceId: '0badcafe',
    });
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
      instanceId: I,
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
