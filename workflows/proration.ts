/**
 * Proration of a plan change, as one pure function that both `planPreview` and `changePlan` run, so
 * a preview at an instant is exactly what the change at that instant charges or credits.
 *
 * The difference between the new and the current amount is prorated over the current period, the one
 * the last paid cycle covers: [due(cycle − 1), due(cycle)) on the subscription's billing calendar, in
 * its IANA time zone (so month lengths and DST follow the local calendar), to the whole second:
 * `difference × remainingSeconds / periodSeconds`, rounded to the nearest whole unit of the currency
 * (TWD, THB and USD amounts are integers in their unit), halves up. Integer arithmetic, no floats.
 */
import { type BillingCalendar, dueAt, parseInterval } from './billing-calendar.js';
import { addToBalance, cycleCharge, settleCycleCharge } from './credit-balance.js';
import type { ChangePlanInput, PlanPreview, PlanPreviewInput, ProrateMode } from './messages.js';
import { PRORATE_MODES } from './messages.js';
import { type ChargeAttempt, emit, type SubscriptionState } from './subscription-state.js';

/** A prorationDate may be this old: long enough to preview, confirm and submit. */
export const PRORATION_DATE_MAX_AGE_MS = 60 * 60_000;

/** Why a prorated change is refused; the validator turns it into a rejection naming `field`. */
export class ProrationRefusal extends Error {
  override name = 'ProrationRefusal' as const;
  constructor(
    readonly field: string,
    message: string,
    readonly kind: 'invalid_request' | 'invalid_state' = 'invalid_request',
  ) {
    super(`${field}: ${message}`);
  }
}

/** `difference × remaining / period`, rounded half up to a whole unit; exact for amounts below 2^53 / period. */
export function prorateAmount(difference: number, remainingSeconds: number, periodSeconds: number): number {
  if (!Number.isSafeInteger(difference) || difference < 0)
    throw new Error('difference must be a whole amount ≥ 0');
  if (periodSeconds <= 0) throw new Error('periodSeconds must be positive');
  const remaining = Math.min(Math.max(0, remainingSeconds), periodSeconds);
  return Math.floor((2 * difference * remaining + periodSeconds) / (2 * periodSeconds));
}

/** The current period's bounds: what the last paid cycle covers. */
export function currentPeriod(calendar: BillingCalendar, cycle: number): { start: number; end: number } {
  return { start: dueAt(calendar, cycle - 1), end: dueAt(calendar, cycle) };
}

function calendarOfState(state: SubscriptionState): BillingCalendar | undefined {
  if (!state.calendar) return undefined;
  return {
    anchor: Date.parse(state.calendar.anchor),
    firstCycle: state.calendar.firstCycle,
    interval: parseInterval(state.input.interval),
    timeZone: state.input.timeZone,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * What a plan change to `input` does at `now` (or at `input.prorationDate`), without changing
 * anything. Throws `ProrationRefusal` when the proration asked for cannot apply; checks of the amount
 * itself stay in the changePlan validator.
 */
export function previewPlanChange(
  state: SubscriptionState,
  input: PlanPreviewInput | ChangePlanInput,
  effectiveCycle: number,
  now: number,
): PlanPreview {
  const prorate: ProrateMode = input.prorate ?? 'none';
  if (!PRORATE_MODES.includes(prorate))
    throw new ProrationRefusal('prorate', 'must be none, now or next_cycle');
  const currentAmount = state.plan.amount;
  const newAmount = input.amount ?? state.pendingPlanChange?.amount ?? currentAmount;
  const direction = newAmount > currentAmount ? 'upgrade' : newAmount < currentAmount ? 'downgrade' : 'same';
  const needsConsent = newAmount > currentAmount * (1 + state.limits.planIncreaseConsentShare);
  const calendar = calendarOfState(state);
  const at = prorationInstant(input.prorationDate, now);
  const preview: PlanPreview = {
    direction,
    prorate,
    currency: state.plan.currency,
    currentAmount,
    newAmount,
    effectiveCycle,
    prorationDate: iso(at),
    remainingSeconds: 0,
    periodSeconds: 0,
    chargeNow: 0,
    addedToNextCycle: 0,
    credit: 0,
    creditBalanceAfter: state.balance?.credit ?? 0,
    nextCycleAmount: cycleCharge(newAmount, state.balance).amount,
    needsConsent,
  };
  if (calendar) preview.effectiveAt = iso(dueAt(calendar, effectiveCycle));
  if (prorate === 'none') return preview;

  if (state.status !== 'active')
    throw new ProrationRefusal(
      'prorate',
      `needs an active subscription (it is ${state.status})`,
      'invalid_state',
    );
  if (state.charge !== undefined || state.dunning !== undefined || !calendar)
    throw new ProrationRefusal(
      'prorate',
      `cycle ${state.cycle}'s charge is under way; prorate once it settles, or use prorate "none"`,
      'invalid_state',
    );
  if (state.pendingPlanChange !== undefined)
    throw new ProrationRefusal(
      'prorate',
      `a plan change is already pending for cycle ${state.pendingPlanChange.effectiveCycle}; only one prorated change per period`,
      'invalid_state',
    );
  if (needsConsent)
    throw new ProrationRefusal(
      'prorate',
      `an increase above ${Math.round(state.limits.planIncreaseConsentShare * 100)} % needs the customer's re-approval at the next cycle, which charges the new amount; use prorate "none"`,
    );
  const period = currentPeriod(calendar, state.cycle);
  if (at < period.start || at >= period.end)
    throw new ProrationRefusal(
      'prorationDate',
      `must fall in the current period (${iso(period.start)} to ${iso(period.end)})`,
    );
  const periodSeconds = Math.round((period.end - period.start) / 1000);
  const remainingSeconds = Math.floor((period.end - at) / 1000);
  const amount = prorateAmount(Math.abs(newAmount - currentAmount), remainingSeconds, periodSeconds);
  preview.periodStart = iso(period.start);
  preview.periodEnd = iso(period.end);
  preview.periodSeconds = periodSeconds;
  preview.remainingSeconds = remainingSeconds;
  let credit = 0;
  let due = 0;
  if (direction === 'upgrade' && prorate === 'now') preview.chargeNow = amount;
  else if (direction === 'upgrade') due = amount;
  else if (direction === 'downgrade') credit = amount;
  preview.addedToNextCycle = due;
  preview.credit = credit;
  const after = addToBalance(state.balance, credit, due);
  preview.creditBalanceAfter = after.credit;
  preview.nextCycleAmount = cycleCharge(newAmount, after).amount;
  return preview;
}

function prorationInstant(prorationDate: string | undefined, now: number): number {
  if (prorationDate === undefined) return now;
  const at = typeof prorationDate === 'string' ? Date.parse(prorationDate) : Number.NaN;
  if (Number.isNaN(at)) throw new ProrationRefusal('prorationDate', 'must be an ISO-8601 instant');
  if (at > now) throw new ProrationRefusal('prorationDate', 'must not be in the future');
  if (now - at > PRORATION_DATE_MAX_AGE_MS)
    throw new ProrationRefusal('prorationDate', 'must be at most 1 hour old; preview again');
  return at;
}

/** A paid cycle charge used up the credit or carried proration it netted. */
export function settleBalance(state: SubscriptionState, charge: ChargeAttempt, now: number): void {
  const creditApplied = charge.creditApplied ?? 0;
  const dueApplied = charge.dueApplied ?? 0;
  if (creditApplied === 0 && dueApplied === 0) return;
  state.balance = settleCycleCharge(state.balance, { amount: charge.amount, creditApplied, dueApplied });
  emit(
    state,
    'subscription.credit_changed',
    {
      delta: -creditApplied + dueApplied,
      creditBalance: state.balance.credit,
      prorationDue: state.balance.due,
      currency: charge.currency,
      reason:
        charge.amount === 0
          ? `cycle ${charge.cycle} paid wholly by credit`
          : `cycle ${charge.cycle} charge ${charge.orderId} used ${creditApplied} credit${dueApplied ? ` and settled ${dueApplied} carried proration` : ''}`,
      cycle: charge.cycle,
      orderId: charge.orderId,
    },
    now,
  );
}

/** A prorated downgrade or a `next_cycle` upgrade moves the balance; recorded in the ledger as an event. */
export function applyProrationToBalance(state: SubscriptionState, preview: PlanPreview, now: number): void {
  if (preview.credit === 0 && preview.addedToNextCycle === 0) return;
  state.balance = addToBalance(state.balance, preview.credit, preview.addedToNextCycle);
  emit(
    state,
    'subscription.credit_changed',
    {
      delta: preview.credit - preview.addedToNextCycle,
      creditBalance: state.balance.credit,
      prorationDue: state.balance.due,
      currency: preview.currency,
      reason:
        preview.credit > 0
          ? `prorated downgrade ${preview.currentAmount} → ${preview.newAmount}: ${preview.remainingSeconds} of ${preview.periodSeconds} s left`
          : `prorated upgrade ${preview.currentAmount} → ${preview.newAmount} added to cycle ${preview.effectiveCycle}`,
      cycle: state.cycle,
    },
    now,
  );
}
