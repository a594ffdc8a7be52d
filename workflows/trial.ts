/**
 * Free trials: the customer approves in LINE Pay (registering the regKey) without paying a period;
 * the first charge falls at the trial's end and the calendar anchors there. LINE Pay has no zero-amount
 * PREAPPROVED request, so the approval moves the smallest amount and gives it back at once, one of two
 * ways (`trialVerification`, see docs/sandbox-fidelity.md § Trials):
 * - `refund_minimum` (default): capture 1 unit, refund it right after Confirm. Works on every channel.
 * - `void_authorization`: `capture: false` at Request, then Void the authorization. Needs capture
 *   separation enabled on the channel by LINE Pay (otherwise the Request is refused).
 * Pure rules over the carried state; unit-tested without Temporal.
 */
import { addIntervals, parseInterval } from './billing-calendar.js';
import { parseDuration } from './duration.js';
import type { Currency } from './subscription-input.js';

export const TRIAL_VERIFICATIONS = ['refund_minimum', 'void_authorization'] as const;
export type TrialVerification = (typeof TRIAL_VERIFICATIONS)[number];
/** Works on every channel: capture=false for PREAPPROVED needs LINE Pay to enable it per merchant. */
export const DEFAULT_TRIAL_VERIFICATION: TrialVerification = 'refund_minimum';
/** `subscription.trial_will_end` goes out this long before the trial ends (Stripe's default too). */
export const DEFAULT_TRIAL_WILL_END_NOTICE = 'P3D';
/** The smallest amount our integer amounts can express, per currency (LINE Pay: 1 TWD, 1 THB, 0.01 USD). */
export const TRIAL_VERIFICATION_AMOUNT: Readonly<Record<Currency, number>> = { TWD: 1, THB: 1, USD: 1 };
/** Longest trial: past LINE Pay's (unconfirmed) 180-day idle expiry the regKey may die anyway. */
const MAX_TRIAL_MONTHS = 12;
const MAX_TRIAL_DAYS = 366;

/** The trial fields of a create request, as the merchant sends them. */
export interface TrialRequest {
  /** ISO-8601 duration from approval, e.g. `P14D`, `P1M`. */
  trial?: string;
  /** ISO-8601 instant at which the trial ends (and the first charge falls). */
  trialEnd?: string;
  /** How long before the end `subscription.trial_will_end` goes out; default `P3D`. */
  trialWillEndNotice?: string;
  /** How the approval registers the regKey without charging; default `refund_minimum`. */
  trialVerification?: TrialVerification;
}

/** The checked trial of a subscription input; absent when there is no trial. */
export interface TrialTerms {
  trial?: string;
  trialEnd?: string;
  trialWillEndNotice: string;
  trialVerification: TrialVerification;
}

export class TrialInputError extends Error {
  override readonly name = 'TrialInputError' as const;
  readonly code = 'invalid_trial' as const;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks the trial fields (pure: "in the future" is the client's check, the workflow clamps to approval). */
export function checkTrialRequest(raw: TrialRequest, billingAnchor: unknown): TrialTerms | undefined {
  const { trial, trialEnd, trialWillEndNotice, trialVerification } = raw;
  if (trial === undefined && trialEnd === undefined) {
    if (trialWillEndNotice !== undefined)
      throw new TrialInputError('trialWillEndNotice', 'needs trial or trialEnd');
    if (trialVerification !== undefined)
      throw new TrialInputError('trialVerification', 'needs trial or trialEnd');
    return undefined;
  }
  if (trial !== undefined && trialEnd !== undefined)
    throw new TrialInputError('trialEnd', 'give trial or trialEnd, not both');
  if (billingAnchor !== undefined)
    throw new TrialInputError(
      'billingAnchor',
      "cannot be combined with a trial: the calendar anchors at the trial's end",
    );
  const terms: TrialTerms = {
    trialWillEndNotice: trialWillEndNotice ?? DEFAULT_TRIAL_WILL_END_NOTICE,
    trialVerification: trialVerification ?? DEFAULT_TRIAL_VERIFICATION,
  };
  if (trial !== undefined) {
    if (typeof trial !== 'string')
      throw new TrialInputError('trial', 'must be an ISO-8601 duration such as P14D');
    let parsed: ReturnType<typeof parseInterval>;
    try {
      parsed = parseInterval(trial);
    } catch (err) {
      throw new TrialInputError('trial', (err as Error).message);
    }
    if (
      parsed.months > MAX_TRIAL_MONTHS ||
      parsed.days > MAX_TRIAL_DAYS ||
      parsed.ms > MAX_TRIAL_DAYS * 86_400_000
    )
      throw new TrialInputError('trial', 'must be at most one year');
    terms.trial = trial;
  } else {
    if (typeof trialEnd !== 'string' || !INSTANT.test(trialEnd) || Number.isNaN(Date.parse(trialEnd)))
      throw new TrialInputError(
        'trialEnd',
        'must be an ISO-8601 instant with a UTC offset or Z, e.g. 2028-01-31T10:00:00+08:00',
      );
    terms.trialEnd = new Date(trialEnd).toISOString();
  }
  if (typeof terms.trialWillEndNotice !== 'string')
    throw new TrialInputError('trialWillEndNotice', 'must be an ISO-8601 duration such as P3D');
  let notice: number;
  try {
    notice = parseDuration(terms.trialWillEndNotice);
  } catch (err) {
    throw new TrialInputError('trialWillEndNotice', (err as Error).message);
  }
  if (notice <= 0) throw new TrialInputError('trialWillEndNotice', 'must be positive');
  if (!TRIAL_VERIFICATIONS.includes(terms.trialVerification))
    throw new TrialInputError('trialVerification', `must be one of ${TRIAL_VERIFICATIONS.join(', ')}`);
  return terms;
}

/** The approval payment that stands in for a zero-amount approval, and its money to give back. */
export interface TrialVerificationState {
  mode: TrialVerification;
  orderId: string;
  amount: number;
  currency: Currency;
  transactionId?: string | undefined;
  /** How the money came back: `expired` when the authorization lapsed before a Void took. */
  outcome?: 'voided' | 'refunded' | 'expired' | undefined;
  refundTransactionId?: string | undefined;
  settledAt?: string | undefined;
}

/** A trial from approval on; carried in the state and shown in the view. */
export interface TrialState {
  /** When the trial ends: the first charge and the calendar's anchor. */
  endsAt: string;
  /** When `subscription.trial_will_end` goes out. */
  noticeAt: string;
  noticeSent: boolean;
  verification: TrialVerificationState;
}

/** When a trial approved at `approvedAt` ends: `trial` in the subscription's time zone, or `trialEnd`. */
export function trialEndsAt(terms: TrialTerms, approvedAt: number, timeZone: string): number {
  if (terms.trial !== undefined) return addIntervals(approvedAt, parseInterval(terms.trial), 1, timeZone);
  // A trialEnd already past at approval: no trial left; the first charge is due at once.
  return Math.max(Date.parse(terms.trialEnd!), approvedAt);
}

/** What the approval Request asks LINE Pay for: the minimum, captured or only authorized. */
export function trialReservation(
  terms: TrialTerms,
  currency: Currency,
): { amount: number; capture: boolean } {
  return {
    amount: TRIAL_VERIFICATION_AMOUNT[currency],
    capture: terms.trialVerification !== 'void_authorization',
  };
}

/** The trial's state at approval: the notice falls `trialWillEndNotice` before the end, never before approval. */
export function startTrialState(
  terms: TrialTerms,
  approvedAt: number,
  timeZone: string,
  verification: TrialVerificationState,
): TrialState {
  const end = trialEndsAt(terms, approvedAt, timeZone);
  const noticeAt = Math.max(approvedAt, end - parseDuration(terms.trialWillEndNotice));
  return {
    endsAt: new Date(end).toISOString(),
    noticeAt: new Date(noticeAt).toISOString(),
    noticeSent: false,
    verification,
  };
}

/** The approval payment has yet to be voided or refunded. */
export function verificationPending(trial: TrialState | undefined): boolean {
  return (
    trial !== undefined &&
    trial.verification.outcome === undefined &&
    trial.verification.transactionId !== undefined
  );
}

/** The trial terms of a normalized input (defaults filled in at normalization), if it has a trial. */
export function trialTermsOf(input: TrialRequest): TrialTerms | undefined {
  if (input.trial === undefined && input.trialEnd === undefined) return undefined;
  return {
    ...(input.trial !== undefined ? { trial: input.trial } : {}),
    ...(input.trialEnd !== undefined ? { trialEnd: input.trialEnd } : {}),
    trialWillEndNotice: input.trialWillEndNotice ?? DEFAULT_TRIAL_WILL_END_NOTICE,
    trialVerification: input.trialVerification ?? DEFAULT_TRIAL_VERIFICATION,
  };
}
