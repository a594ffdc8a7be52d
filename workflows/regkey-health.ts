/**
 * regKey health: LINE Pay gives no notice when a regKey dies (it ages out after a long idle time,
 * 180 days after the last payment per our notes, unconfirmed; the customer may revoke it). Where that
 * is likely, after a long pause and before every charge due 6 months or more after the last payment, the
 * key is checked a lead time before the due date, and a dead one starts re-approval then, so the
 * customer approves before the charge is due instead of after it fails. Pure rules over the state.
 */
import type { RegKeyCheckResult } from './activity-contract.js';
import { parseInterval } from './billing-calendar.js';
import { enterReapproval } from './charge-outcome.js';
import { parseDuration } from './duration.js';
import type { BillingLimits } from './subscription-input.js';
import { iso, type SubscriptionState, transition } from './subscription-state.js';

/** What our notes say about LINE Pay's idle expiry (one secondary source; LINE Pay documents none). */
export const REGKEY_IDLE_LIFETIME_DAYS = 180;
/** Default lead time of the check before the due date (`BillingLimits.regKeyCheckLeadTime`). */
export const DEFAULT_REGKEY_CHECK_LEAD_TIME = 'P7D';
/** Default pause after which the next charge is preceded by a check (`BillingLimits.regKeyCheckAfterPause`). */
export const DEFAULT_REGKEY_CHECK_AFTER_PAUSE = 'P30D';
/** Plans billed this many months apart or more have every charge preceded by a check. */
export const LONG_INTERVAL_MONTHS = 6;

const DAY_MS = 86_400_000;
const AVERAGE_MONTH_DAYS = 365.2425 / 12;

/** Carried in the state (optional: older runs have none). */
export interface RegKeyHealth {
  /** The cycle whose pre-charge check is done: no second check before that charge. */
  checkedCycle?: number | undefined;
  /** A long pause ended: the next charge is preceded by a check whatever the interval. */
  afterPause?: boolean | undefined;
  /** The latest check, for the read model and the audit trail. */
  last?: { at: string; cycle: number; health: RegKeyCheckResult['health']; returnCode?: string } | undefined;
}

export type RegKeyHealthSettings = Pick<BillingLimits, 'regKeyCheckLeadTime' | 'regKeyCheckAfterPause'>;

/** A valid positive fixed duration, or the fallback (limits are checked at create; this never throws). */
function durationMs(text: string | undefined, fallback: string): number {
  if (text !== undefined) {
    try {
      const ms = parseDuration(text);
      if (ms > 0) return ms;
    } catch {
      // fall through to the default
    }
  }
  return parseDuration(fallback);
}

export function regKeyCheckLeadMs(limits: RegKeyHealthSettings | undefined): number {
  return durationMs(limits?.regKeyCheckLeadTime, DEFAULT_REGKEY_CHECK_LEAD_TIME);
}

export function regKeyCheckAfterPauseMs(limits: RegKeyHealthSettings | undefined): number {
  return durationMs(limits?.regKeyCheckAfterPause, DEFAULT_REGKEY_CHECK_AFTER_PAUSE);
}

/** Roughly how many days an interval spans (months at their average length). */
export function intervalDays(interval: string): number {
  const i = parseInterval(interval);
  return i.months * AVERAGE_MONTH_DAYS + i.days + i.ms / DAY_MS;
}

/** Every charge of such a plan is preceded by a check. */
export function isLongInterval(interval: string): boolean {
  return intervalDays(interval) >= LONG_INTERVAL_MONTHS * AVERAGE_MONTH_DAYS - 1;
}

/**
 * When the regKey must be checked before the current cycle's charge: lead time before it is due
 * (at once when that has passed), or `undefined` when no check is owed.
 */
export function regKeyCheckAt(state: SubscriptionState): number | undefined {
  if (state.status !== 'active' || state.charge || state.sealedRegKey === undefined) return undefined;
  if (state.retireRegKey || state.nextChargeAt === undefined) return undefined;
  const health = state.regKeyHealth;
  if (health?.checkedCycle === state.cycle) return undefined;
  const due = Date.parse(state.nextChargeAt);
  if (!health?.afterPause && !isLongInterval(state.input.interval) && !longSinceLastPayment(state, due))
    return undefined;
  return due - regKeyCheckLeadMs(state.input.limits);
}

/** The due date falls 6 months or more after the last payment (a far `billingAnchor`, say). */
function longSinceLastPayment(state: SubscriptionState, due: number): boolean {
  const last = state.charges.at(-1)?.chargedAt;
  return (
    last !== undefined && due - Date.parse(last) >= (LONG_INTERVAL_MONTHS * AVERAGE_MONTH_DAYS - 1) * DAY_MS
  );
}

/** Called as a pause ends: a pause at least `regKeyCheckAfterPause` long owes a check before the next charge. */
export function notePauseEnded(state: SubscriptionState, now: number): void {
  if (state.pausedAt === undefined) return;
  if (now - Date.parse(state.pausedAt) < regKeyCheckAfterPauseMs(state.input.limits)) return;
  state.regKeyHealth = { ...state.regKeyHealth, afterPause: true, checkedCycle: undefined };
}

/**
 * The check's answer. Live or unknown: the charge goes ahead on its date (a dead key then shows as
 * the charge's regKey-dead code and takes the usual re-approval path). Dead: re-approval starts now,
 * ahead of the due date; its Confirm pays the cycle, so the calendar keeps its dates.
 */
export function applyRegKeyChecked(state: SubscriptionState, result: RegKeyCheckResult, now: number): void {
  const cycle = state.cycle;
  const code = result.returnCode === undefined ? '' : ` (${result.returnCode})`;
  state.regKeyHealth = {
    checkedCycle: cycle,
    afterPause: false,
    last: {
      at: iso(now),
      cycle,
      health: result.health,
      ...(result.returnCode === undefined ? {} : { returnCode: result.returnCode }),
    },
  };
  if (result.health === 'dead') {
    enterReapproval(
      state,
      `regKey check before cycle ${cycle} (due ${state.nextChargeAt}): LINE Pay reports the regKey dead${code}; customer must approve again before the due date`,
      false,
      now,
    );
    return;
  }
  transition(
    state,
    state.status,
    { kind: 'system' },
    result.health === 'live'
      ? `regKey checked before cycle ${cycle}: live`
      : `regKey check before cycle ${cycle} gave no verdict${code}; charging on the due date as usual`,
    now,
  );
}

/**
 * Warnings for the create answer: LINE Pay expires a regKey after a long idle time, which an
 * interval or a pause of that length would reach.
 */
export function regKeyIdleWarnings(input: { interval: string }): string[] {
  const lifetime = `LINE Pay expires a regKey about ${REGKEY_IDLE_LIFETIME_DAYS} days after its last payment (unconfirmed; LINE Pay documents no lifetime)`;
  const warnings: string[] = [];
  let days: number;
  try {
    days = intervalDays(input.interval);
  } catch {
    return warnings;
  }
  if (days >= REGKEY_IDLE_LIFETIME_DAYS - 1) {
    warnings.push(
      `${lifetime}, and this plan charges every ${input.interval}: the regKey is checked before each charge, and if it died the customer is asked to approve again ahead of the due date.`,
    );
  } else {
    warnings.push(
      `${lifetime}: a pause that long would let it die; the regKey is checked before the first charge after a long pause, and if it died the customer is asked to approve again.`,
    );
  }
  return warnings;
}
