import { describe, expect, it } from 'vitest';
import { addToBalance, cycleCharge, settleCycleCharge } from '../../workflows/credit-balance.js';
import { oneOffOrderId, parseOneOffOrderId, parseOrderId } from '../../workflows/order-id.js';
import {
  currentPeriod,
  PRORATION_DATE_MAX_AGE_MS,
  type ProrationRefusal,
  previewPlanChange,
  prorateAmount,
} from '../../workflows/proration.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  calendarOf,
  initialState,
  openCharge,
  type SubscriptionState,
  startCalendar,
  transition,
} from '../../workflows/subscription-state.js';

const I = '0a1b2c3d';
const DAY = 86_400_000;
const customer = { kind: 'customer', id: 'cust-1' } as const;

const base: SubscriptionInput = {
  subscriptionId: 'sub_1',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 1000,
  currency: 'TWD',
  interval: 'P1M',
  timeZone: 'Asia/Taipei',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

/** Approved at `approvedAt` (cycle 0 paid), so the current period is [approvedAt, approvedAt + 1 interval). */
function activeAt(approvedAt: string, patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const at = Date.parse(approvedAt);
  const s = initialState(normalizeSubscriptionInput({ ...base, ...patch }), I, at - 60_000);
  startCalendar(s, at);
  transition(s, 'active', customer, 'approved', at);
  s.sealedRegKey = 'sealed';
  return s;
}

describe('prorateAmount', () => {
  it('is difference × remaining / period, rounded to the nearest unit, halves up', () => {
    expect(prorateAmount(100, 15, 30)).toBe(50);
    expect(prorateAmount(1, 1, 2)).toBe(1); // 0.5 → 1
    expect(prorateAmount(3, 1, 2)).toBe(2); // 1.5 → 2
    expect(prorateAmount(10, 1, 3)).toBe(3); // 3.33 → 3
    expect(prorateAmount(10, 2, 3)).toBe(7); // 6.67 → 7
    expect(prorateAmount(999, 0, 86_400)).toBe(0);
    expect(prorateAmount(999, 86_400, 86_400)).toBe(999);
  });

  it('clamps the remaining time to the period and stays exact for large amounts over a year of seconds', () => {
    expect(prorateAmount(100, 40, 30)).toBe(100);
    expect(prorateAmount(100, -5, 30)).toBe(0);
    const year = 366 * 86_400;
    // 4,999,999 × 1 s / 1 year = 0.158… → 0; × half a year + 1 s is just over half → rounds up.
    expect(prorateAmount(4_999_999, 1, year)).toBe(0);
    expect(prorateAmount(4_999_999, year / 2, year)).toBe(2_500_000); // 2,499,999.5 → up
  });

  it('refuses a negative or fractional difference and an empty period', () => {
    expect(() => prorateAmount(-1, 1, 2)).toThrow(/difference/);
    expect(() => prorateAmount(1.5, 1, 2)).toThrow(/difference/);
    expect(() => prorateAmount(1, 1, 0)).toThrow(/periodSeconds/);
  });
});

describe('currentPeriod', () => {
  it('follows month lengths in the subscription time zone (Jan 31 → Feb 29 → Mar 31)', () => {
    const s = activeAt('2028-01-31T02:00:00Z'); // 10:00 in Taipei
    const cal = calendarOf(s);
    const feb = currentPeriod(cal, 1);
    expect(new Date(feb.start).toISOString()).toBe('2028-01-31T02:00:00.000Z');
    expect(new Date(feb.end).toISOString()).toBe('2028-02-29T02:00:00.000Z');
    expect((feb.end - feb.start) / DAY).toBe(29);
    const mar = currentPeriod(cal, 2);
    // The anchor's 31st comes back in March: Feb 29 → Mar 31.
    expect((mar.end - mar.start) / DAY).toBe(31);
  });

  it('a month with a DST change is an hour short in New York and whole in Taipei', () => {
    const ny = activeAt('2027-03-01T05:00:00Z', { timeZone: 'America/New_York' }); // 00:00 local
    const p = currentPeriod(calendarOf(ny), 1);
    expect((p.end - p.start) / 1000).toBe(31 * 86_400 - 3600);
    const tp = activeAt('2027-02-28T16:00:00Z'); // 00:00 Mar 1 in Taipei
    const q = currentPeriod(calendarOf(tp), 1);
    expect((q.end - q.start) / 1000).toBe(31 * 86_400);
  });
});

describe('previewPlanChange', () => {
  const approved = '2028-03-01T02:00:00Z'; // period Mar 1 → Apr 1 10:00 Taipei: 31 days
  const periodSeconds = 31 * 86_400;

  it('an upgrade with now charges the difference over the seconds left, and the next cycle the new amount', () => {
    const s = activeAt(approved);
    const now = Date.parse(approved) + 10 * DAY + 1234;
    const p = previewPlanChange(s, { amount: 1100, prorate: 'now' }, s.cycle, now);
    const remaining = Math.floor((Date.parse('2028-04-01T02:00:00Z') - now) / 1000);
    expect(p).toMatchObject({
      direction: 'upgrade',
      periodSeconds,
      remainingSeconds: remaining,
      chargeNow: prorateAmount(100, remaining, periodSeconds),
      credit: 0,
      addedToNextCycle: 0,
      nextCycleAmount: 1100,
      needsConsent: false,
      periodStart: '2028-03-01T02:00:00.000Z',
      periodEnd: '2028-04-01T02:00:00.000Z',
    });
    // 21 days less 1.234 s left, floored to 1,814,398 s: 100 × 1,814,398 / 2,678,400 = 67.74 → 68.
    expect(p.chargeNow).toBe(68);
  });

  it('next_cycle adds the prorated difference to the next charge; a downgrade credits it', () => {
    const s = activeAt(approved);
    const now = Date.parse(approved) + 31 * DAY - 7.75 * DAY; // 7.75 days left
    const up = previewPlanChange(s, { amount: 1200, prorate: 'next_cycle' }, s.cycle, now);
    expect(up.addedToNextCycle).toBe(Math.round((200 * 7.75) / 31)); // 50
    expect(up.nextCycleAmount).toBe(1250);
    expect(up.chargeNow).toBe(0);
    const down = previewPlanChange(s, { amount: 400, prorate: 'now' }, s.cycle, now);
    expect(down).toMatchObject({
      direction: 'downgrade',
      credit: 150,
      creditBalanceAfter: 150,
      nextCycleAmount: 250,
    });
    const none = previewPlanChange(s, { amount: 400, prorate: 'none' }, s.cycle, now);
    expect(none).toMatchObject({ credit: 0, chargeNow: 0, nextCycleAmount: 400 });
  });

  it('a credit larger than the next cycle leaves the rest for the ones after', () => {
    const s = activeAt(approved);
    const now = Date.parse(approved) + DAY; // 30 of 31 days left
    const p = previewPlanChange(s, { amount: 300, prorate: 'next_cycle' }, s.cycle, now);
    expect(p.credit).toBe(677); // 700 × 30/31 = 677.4
    expect(p.nextCycleAmount).toBe(0);
    expect(p.creditBalanceAfter).toBe(677);
  });

  it('uses the prorationDate given, so a preview and the change agree to the unit', () => {
    const s = activeAt(approved);
    const previewAt = Date.parse(approved) + 3 * DAY + 17_000;
    const p = previewPlanChange(s, { amount: 1150, prorate: 'now' }, s.cycle, previewAt);
    const later = previewPlanChange(
      s,
      { amount: 1150, prorate: 'now', prorationDate: p.prorationDate },
      s.cycle,
      previewAt + 20 * 60_000,
    );
    expect(later.chargeNow).toBe(p.chargeNow);
    expect(() =>
      previewPlanChange(
        s,
        { amount: 1150, prorate: 'now', prorationDate: p.prorationDate },
        s.cycle,
        previewAt + PRORATION_DATE_MAX_AGE_MS + 1,
      ),
    ).toThrow(/prorationDate: must be at most 1 hour old/);
    expect(() =>
      previewPlanChange(
        s,
        { amount: 1150, prorate: 'now', prorationDate: new Date(previewAt + 1).toISOString() },
        s.cycle,
        previewAt,
      ),
    ).toThrow(/prorationDate: must not be in the future/);
  });

  it('refuses proration the rules do not allow, naming the field', () => {
    const s = activeAt(approved);
    const now = Date.parse(approved) + DAY;
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err as ProrationRefusal;
      }
      throw new Error('expected a refusal');
    };
    // Above the 20 % consent share the customer re-approves the new amount at the next cycle.
    const consent = refusal(() => previewPlanChange(s, { amount: 1300, prorate: 'now' }, s.cycle, now));
    expect(consent.field).toBe('prorate');
    expect(consent.message).toContain('re-approval');
    expect(previewPlanChange(s, { amount: 1300, prorate: 'none' }, s.cycle, now).needsConsent).toBe(true);
    expect(
      refusal(() => previewPlanChange(s, { amount: 1100, prorate: 'later' as never }, s.cycle, now)).field,
    ).toBe('prorate');
    openCharge(s, now);
    expect(refusal(() => previewPlanChange(s, { amount: 1100, prorate: 'now' }, s.cycle, now)).kind).toBe(
      'invalid_state',
    );
    const s2 = activeAt(approved);
    s2.pendingPlanChange = { amount: 1050, productName: 'x', effectiveCycle: 1 };
    expect(refusal(() => previewPlanChange(s2, { amount: 1100, prorate: 'now' }, 1, now)).message).toContain(
      'already pending',
    );
  });
});

describe('credit balance', () => {
  it('nets credit against carried proration and charges max(0, plan + due − credit)', () => {
    expect(cycleCharge(400, undefined)).toEqual({ amount: 400, creditApplied: 0, dueApplied: 0 });
    expect(cycleCharge(400, { credit: 150, due: 0 })).toEqual({
      amount: 250,
      creditApplied: 150,
      dueApplied: 0,
    });
    expect(cycleCharge(400, { credit: 677, due: 0 })).toEqual({
      amount: 0,
      creditApplied: 400,
      dueApplied: 0,
    });
    expect(cycleCharge(1100, { credit: 0, due: 50 })).toEqual({
      amount: 1150,
      creditApplied: 0,
      dueApplied: 50,
    });
    expect(addToBalance({ credit: 100, due: 0 }, 0, 30)).toEqual({ credit: 70, due: 0 });
    expect(addToBalance({ credit: 10, due: 0 }, 0, 30)).toEqual({ credit: 0, due: 20 });
    expect(settleCycleCharge({ credit: 677, due: 0 }, cycleCharge(400, { credit: 677, due: 0 }))).toEqual({
      credit: 277,
      due: 0,
    });
  });

  it('a cycle charge opened with credit nets it and keeps the balance until paid', () => {
    const s = activeAt('2028-03-01T02:00:00Z');
    s.balance = { credit: 150, due: 0 };
    const c = openCharge(s, Date.parse('2028-04-01T02:00:00Z'));
    expect(c).toMatchObject({ amount: 850, creditApplied: 150 });
    expect(s.balance).toEqual({ credit: 150, due: 0 });
  });
});

describe('oneOffOrderId', () => {
  it('is a pure function of the subscription instance and the request id, within LINE Pay’s limit', () => {
    const a = oneOffOrderId('sub_1', I, 'addon-1');
    expect(a).toBe(oneOffOrderId('sub_1', I, 'addon-1'));
    expect(a).toMatch(/^sub_1-0a1b2c3d-x[0-9a-f]{16}$/);
    expect(oneOffOrderId('sub_1', I, 'addon-2')).not.toBe(a);
    expect(oneOffOrderId('sub_1', 'ffffffff', 'addon-1')).not.toBe(a);
    const longest = oneOffOrderId('s'.repeat(64), I, 'r'.repeat(200));
    expect(longest.length).toBeLessThanOrEqual(96);
    expect(parseOneOffOrderId(a)).toMatchObject({ subscriptionId: 'sub_1', instanceId: I });
    // Never mistaken for a cycle's orderId.
    expect(parseOrderId(a)).toBeUndefined();
  });
});
