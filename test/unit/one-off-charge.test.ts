import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { REJECTION_TYPES } from '../../workflows/failure-types.js';
import { nextStep } from '../../workflows/next-step.js';
import {
  abandonOneOffs,
  acceptOneOffCharge,
  applyOneOffLookup,
  applyOneOffOutcome,
  markOneOffSent,
  validateOneOffCharge,
} from '../../workflows/one-off-charge.js';
import { oneOffOrderId } from '../../workflows/order-id.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  initialState,
  openCharge,
  type SubscriptionState,
  startCalendar,
  transition,
} from '../../workflows/subscription-state.js';

const I = '0a1b2c3d';
const APPROVED = Date.parse('2028-03-01T02:00:00Z');
const merchant = { kind: 'merchant' } as const;
const base: SubscriptionInput = {
  subscriptionId: 'sub_1',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 1000,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function active(): SubscriptionState {
  const s = initialState(normalizeSubscriptionInput(base), I, APPROVED - 60_000);
  startCalendar(s, APPROVED);
  transition(s, 'active', { kind: 'customer' }, 'approved', APPROVED);
  s.sealedRegKey = 'sealed';
  return s;
}

function rejection(fn: () => void): { type?: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return { type: err.type ?? undefined, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

const addOn = (requestId = 'addon-1', amount = 150) => ({
  actor: merchant,
  requestId,
  amount,
  productName: 'Add-on',
});

describe('one-off charges in the main loop', () => {
  it('is sent before new cycle work, but never while the cycle charge is on the wire', () => {
    const s = active();
    const due = Date.parse(s.nextChargeAt!);
    acceptOneOffCharge(s, addOn(), 'one_off', due - 1000);
    expect(nextStep(s, due - 1000).kind).toBe('sendOneOff');
    expect(nextStep(s, due).kind).toBe('sendOneOff'); // before openCharge
    const s2 = active();
    openCharge(s2, due);
    acceptOneOffCharge(s2, addOn(), 'one_off', due);
    expect(nextStep(s2, due).kind).toBe('sendCharge');
  });

  it('an unknown one-off waits for its lookup and lets the cycle go on meanwhile', () => {
    const s = active();
    const due = Date.parse(s.nextChargeAt!);
    const now = due - 10_000;
    acceptOneOffCharge(s, addOn(), 'one_off', now);
    markOneOffSent(s);
    applyOneOffOutcome(s, { outcome: 'unknown', reason: 'timeout' }, now);
    // Its lookup is due in 30 s, the cycle in 10 s: the loop wakes for the cycle and charges it.
    expect(nextStep(s, now)).toMatchObject({ kind: 'wait', until: new Date(due).toISOString() });
    expect(nextStep(s, due).kind).toBe('openCharge');
    expect(nextStep(s, now + 30_000).kind).toBe('lookupOneOff');
    const s2 = active();
    acceptOneOffCharge(s2, addOn(), 'one_off', due - 60_000);
    markOneOffSent(s2);
    applyOneOffOutcome(s2, { outcome: 'unknown', reason: 'timeout' }, due - 60_000);
    expect(nextStep(s2, due - 60_000)).toMatchObject({
      kind: 'wait',
      until: new Date(due - 30_000).toISOString(),
    });
    // Looked up and not listed: sent again under the same orderId, never a new one.
    applyOneOffLookup(s, { found: false }, 'resolve', now + 30_000);
    expect(nextStep(s, now + 30_000).kind).toBe('sendOneOff');
    expect(s.oneOffs!.pending[0]!.charge.orderId).toBe(oneOffOrderId('sub_1', I, 'addon-1'));
  });

  it('a decline settles it as failed with its event, and starts no dunning', () => {
    const s = active();
    acceptOneOffCharge(s, addOn(), 'one_off', APPROVED);
    markOneOffSent(s);
    const c = applyOneOffOutcome(
      s,
      { outcome: 'declined', category: 'declined_soft', returnCode: '1142', message: 'declined' },
      APPROVED,
    );
    expect(c).toMatchObject({ status: 'failed', returnCode: '1142' });
    expect(s.status).toBe('active');
    expect(s.dunning).toBeUndefined();
    expect(s.events.outbox.at(-1)).toMatchObject({
      type: 'charge.failed',
      data: { kind: 'one_off', cycle: null, returnCode: '1142' },
    });
  });

  it('1172 with nothing listed counts failed after three lookups', () => {
    const s = active();
    acceptOneOffCharge(s, addOn(), 'one_off', APPROVED);
    markOneOffSent(s);
    applyOneOffOutcome(s, { outcome: 'order_used', reason: '1172' }, APPROVED);
    expect(applyOneOffLookup(s, { found: false }, 'resolve', APPROVED + 60_000)).toBeUndefined();
    expect(applyOneOffLookup(s, { found: false }, 'resolve', APPROVED + 240_000)).toBeUndefined();
    expect(applyOneOffLookup(s, { found: false }, 'resolve', APPROVED + 840_000)).toMatchObject({
      status: 'failed',
      returnCode: '1172',
    });
  });

  it('once a cancel is accepted, queued one-offs fail after the regKey is expired; a sent one is looked up once', () => {
    const s = active();
    acceptOneOffCharge(s, addOn('a'), 'one_off', APPROVED);
    acceptOneOffCharge(s, addOn('b'), 'one_off', APPROVED);
    markOneOffSent(s);
    applyOneOffOutcome(s, { outcome: 'unknown', reason: 'timeout' }, APPROVED);
    s.requests.seq += 1;
    s.requests.cancelNow = { actor: merchant, reason: 'stop', seq: s.requests.seq };
    expect(nextStep(s, APPROVED).kind).toBe('retireRegKey');
    s.sealedRegKey = undefined;
    expect(nextStep(s, APPROVED)).toEqual({ kind: 'lookupOneOff', mode: 'final' });
    expect(applyOneOffLookup(s, { found: false }, 'final', APPROVED)).toMatchObject({ status: 'failed' });
    expect(nextStep(s, APPROVED).kind).toBe('abandonOneOffs');
    abandonOneOffs(s, APPROVED);
    expect(s.oneOffs!.pending).toHaveLength(0);
    expect(nextStep(s, APPROVED).kind).toBe('finishCancel');
  });
});

describe('validateOneOffCharge', () => {
  it('refuses without a live regKey, for bad amounts, and a request id reused for other terms', () => {
    const pending = initialState(normalizeSubscriptionInput(base), I, APPROVED);
    expect(rejection(() => validateOneOffCharge(pending, addOn()))).toMatchObject({
      type: REJECTION_TYPES.invalidState,
      message: expect.stringContaining('not approved yet'),
    });
    const s = active();
    expect(rejection(() => validateOneOffCharge(s, addOn('x', 0))).message).toContain('amount');
    expect(rejection(() => validateOneOffCharge(s, addOn('x', 5_000_000_000))).message).toContain('amount');
    expect(rejection(() => validateOneOffCharge(s, { ...addOn(), requestId: '' })).message).toContain(
      'requestId',
    );
    acceptOneOffCharge(s, addOn(), 'one_off', APPROVED);
    expect(() => validateOneOffCharge(s, addOn())).not.toThrow();
    expect(rejection(() => validateOneOffCharge(s, addOn('addon-1', 151))).type).toBe(
      REJECTION_TYPES.conflict,
    );
    s.retireRegKey = true;
    expect(rejection(() => validateOneOffCharge(s, addOn('y'))).message).toContain('no live regKey');
  });
});
