import { describe, expect, it } from 'vitest';
import { applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import { nextStep } from '../../workflows/next-step.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import {
  applyRegKeyChecked,
  isLongInterval,
  regKeyCheckAt,
  regKeyIdleWarnings,
} from '../../workflows/regkey-health.js';
import {
  DEFAULT_BILLING_LIMITS,
  normalizeSubscriptionInput,
  type SubscriptionInput,
} from '../../workflows/subscription-input.js';
import { acceptConfirm, applyPause, applyResume } from '../../workflows/subscription-requests.js';
import { initialState, type SubscriptionState } from '../../workflows/subscription-state.js';

// regKey health (issue 11 item 6): when a check is owed, when it runs, and what its verdict does.

const I = '0a1b2c3d';
const MIN = 60_000;
const DAY = 86_400_000;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const APPROVED = CREATED + 5 * MIN;
const merchant = { kind: 'merchant' } as const;

const base: SubscriptionInput = {
  subscriptionId: 'sub_h',
  customerId: 'cust-1',
  productName: 'Annual club',
  amount: 3900,
  currency: 'TWD',
  interval: 'P1Y',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function active(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const s = initialState(normalizeSubscriptionInput({ ...base, ...patch }), I, CREATED);
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId('sub_h', I, 0, 0),
      transactionId: '2028012000000000001',
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    s.plan.amount,
    CREATED + MIN,
  );
  const r = s.reservation!;
  acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
  applyConfirmed(
    s,
    { outcome: 'confirmed', sealedRegKey: 'sealed', regKeyMasked: 'RK…1234', transactionId: r.transactionId },
    APPROVED,
  );
  return s;
}

const due = (s: SubscriptionState) => Date.parse(s.nextChargeAt!);

describe('when a check is owed', () => {
  it('intervals of 6 months or more; shorter ones only after a long pause', () => {
    expect(['P6M', 'P1Y', 'P183D', 'P2Y'].map(isLongInterval)).toEqual([true, true, true, true]);
    expect(['P1M', 'P5M', 'P150D', 'PT30S'].map(isLongInterval)).toEqual([false, false, false, false]);
    expect(regKeyCheckAt(active({ interval: 'P1M' }))).toBeUndefined();
  });

  it('a monthly plan whose first charge falls 6 months or more after the approval (a far billingAnchor)', () => {
    const far = active({ interval: 'P1M', billingAnchor: '2028-09-01T00:00:00Z' });
    expect(far.cycle).toBe(1);
    expect(regKeyCheckAt(far)).toBe(due(far) - 7 * DAY);
    const near = active({ interval: 'P1M', billingAnchor: '2028-03-01T00:00:00Z' });
    expect(regKeyCheckAt(near)).toBeUndefined();
  });

  it('an annual plan: 7 days (the default lead time) before each due date; the lead time is a setting', () => {
    const s = active();
    expect(regKeyCheckAt(s)).toBe(due(s) - 7 * DAY);
    expect(nextStep(s, due(s) - 8 * DAY)).toMatchObject({
      kind: 'wait',
      until: new Date(due(s) - 7 * DAY).toISOString(),
    });
    expect(nextStep(s, due(s) - 7 * DAY).kind).toBe('checkRegKey');
    const t = active({ limits: { ...DEFAULT_BILLING_LIMITS, regKeyCheckLeadTime: 'P14D' } });
    expect(regKeyCheckAt(t)).toBe(due(t) - 14 * DAY);
  });

  it('a live key: checked once per cycle, then the charge on its due date', () => {
    const s = active();
    const at = due(s) - 7 * DAY;
    applyRegKeyChecked(s, { health: 'live', returnCode: '0000' }, at);
    expect(s.status).toBe('active');
    expect(regKeyCheckAt(s)).toBeUndefined();
    expect(nextStep(s, at)).toMatchObject({ kind: 'wait', until: s.nextChargeAt });
    expect(nextStep(s, due(s)).kind).toBe('openCharge');
    expect(s.audit.at(-1)!.reason).toBe('regKey checked before cycle 1: live');
  });

  it('no verdict (9000): the charge goes ahead as without a check', () => {
    const s = active();
    applyRegKeyChecked(s, { health: 'unknown', returnCode: '9000' }, due(s) - 7 * DAY);
    expect(s.status).toBe('active');
    expect(s.sealedRegKey).toBe('sealed');
    expect(nextStep(s, due(s)).kind).toBe('openCharge');
  });

  it('a dead key: re-approval starts at once, ahead of the due date, without expiring the dead key', () => {
    const s = active();
    const at = due(s) - 7 * DAY;
    const nextChargeAt = s.nextChargeAt;
    applyRegKeyChecked(s, { health: 'dead', returnCode: '1193' }, at);
    expect(s.status).toBe('reapproval_required');
    expect(s.sealedRegKey).toBeUndefined();
    expect(s.retireRegKey).toBe(false);
    expect(s.nextChargeAt).toBe(nextChargeAt);
    expect(s.audit.at(-1)!.reason).toMatch(/reports the regKey dead \(1193\)/);
    expect(s.events.outbox.at(-1)!.type).toBe('subscription.reapproval_required');
    expect(nextStep(s, at)).toEqual({ kind: 'reserve', reservation: 'reapproval' });
  });

  it('a monthly plan after a pause of 30 days or more (a setting), not after a shorter one', () => {
    const s = active({ interval: 'P1M' });
    applyPause(s, { actor: merchant }, APPROVED + DAY);
    applyResume(s, merchant, 'back', APPROVED + 20 * DAY);
    expect(regKeyCheckAt(s)).toBeUndefined();
    applyPause(s, { actor: merchant }, APPROVED + 21 * DAY);
    applyResume(s, merchant, 'back', APPROVED + 60 * DAY);
    expect(regKeyCheckAt(s)).toBe(due(s) - 7 * DAY);
    applyRegKeyChecked(s, { health: 'live' }, APPROVED + 60 * DAY);
    expect(regKeyCheckAt(s)).toBeUndefined();
    expect(s.regKeyHealth?.afterPause).toBe(false);

    const t = active({
      interval: 'P1M',
      limits: { ...DEFAULT_BILLING_LIMITS, regKeyCheckAfterPause: 'P90D' },
    });
    applyPause(t, { actor: merchant }, APPROVED + DAY);
    applyResume(t, merchant, 'back', APPROVED + 60 * DAY);
    expect(regKeyCheckAt(t)).toBeUndefined();
  });
});

describe('create warnings', () => {
  it('name the 180-day idle expiry, and say more for intervals that reach it', () => {
    const [monthly] = regKeyIdleWarnings({ interval: 'P1M' });
    expect(monthly).toMatch(/about 180 days after its last payment \(unconfirmed/);
    expect(monthly).toMatch(/pause/);
    const [annual] = regKeyIdleWarnings({ interval: 'P1Y' });
    expect(annual).toMatch(/charges every P1Y: the regKey is checked before each charge/);
  });
});
