/**
 * `cancel { refund }`: what a cancel now gives back. `last` refunds what is left of the charge that paid
 * the current period; `prorated` its unused share, to the second, over that period on the
 * subscription's calendar (its IANA time zone, so month lengths and DST are local), rounded down to a
 * whole unit of the currency (TWD, THB and USD amounts are integers in their unit). The refund is
 * queued as an ordinary `refundCharge` (request id `cancel:<cancel's request id>`), which the main
 * loop serves before the cancel finishes.
 */
import { ApplicationFailure } from '@temporalio/common';
import { dueAt } from './billing-calendar.js';
import { REJECTION_TYPES } from './failure-types.js';
import type { CancelInput, ChargeRecord, RefundChargeInput } from './messages.js';
import { refundableAmount } from './refund.js';
import { calendarOf, type SubscriptionState } from './subscription-state.js';

export const CANCEL_REFUNDS = ['none', 'last', 'prorated'] as const;
export type CancelRefund = (typeof CANCEL_REFUNDS)[number];

/** The charge that paid the period now running: the latest of a period, not a one-off. */
export function periodCharge(state: SubscriptionState): ChargeRecord | undefined {
  for (let i = state.charges.length - 1; i >= 0; i -= 1) {
    const c = state.charges[i]!;
    if (c.kind === 'approval' || c.kind === 'recurring' || c.kind === 'reapproval') return c;
  }
  return undefined;
}

/** The period a charge pays: from its cycle's due date (the approval: when it was paid) to the next due date. */
export function periodOf(state: SubscriptionState, charge: ChargeRecord): { start: number; end: number } {
  const calendar = calendarOf(state);
  const start =
    charge.cycle >= calendar.firstCycle && charge.kind !== 'approval'
      ? dueAt(calendar, charge.cycle)
      : Date.parse(charge.chargedAt);
  const end = dueAt(calendar, Math.max(charge.cycle + 1, calendar.firstCycle));
  return { start, end };
}

/** `amount × unused seconds / period seconds`, rounded down; whole seconds, integer arithmetic. */
export function proratedRefund(amount: number, period: { start: number; end: number }, now: number): number {
  const total = Math.floor((period.end - period.start) / 1000);
  if (total <= 0) return 0;
  const unused = Math.min(total, Math.max(0, Math.floor((period.end - now) / 1000)));
  return Math.floor((amount * unused) / total);
}

/** The refund a cancel now asks for, if any (0 left to give back asks for none). */
export function cancelRefundRequest(
  state: SubscriptionState,
  input: CancelInput & { refund?: CancelRefund },
  now: number,
): RefundChargeInput | undefined {
  const mode = input.refund ?? 'none';
  if (mode === 'none' || input.atPeriodEnd) return undefined;
  const charge = periodCharge(state);
  if (!charge || !state.calendar) return undefined;
  const left = refundableAmount(state, charge);
  const amount =
    mode === 'last'
      ? left
      : state.status === 'active' || state.status === 'paused'
        ? Math.min(left, proratedRefund(charge.amount, periodOf(state, charge), now))
        : 0; // past due or re-approval: the paid period is already over
  if (amount <= 0) return undefined;
  return {
    actor: input.actor,
    requestId: `cancel:${input.requestId ?? `seq-${state.requests.seq + 1}`}`,
    transactionId: charge.transactionId,
    amount,
    reason: `${mode === 'last' ? 'last charge' : 'unused share of the period'} refunded at cancel${input.reason ? `: ${input.reason}` : ''}`,
  };
}

/** `refund` must be one of the modes, and only with a cancel now (a period that ends is used up). */
export function validateCancelRefund(input: CancelInput & { refund?: unknown }): void {
  const r = input?.refund;
  if (r === undefined) return;
  if (typeof r !== 'string' || !(CANCEL_REFUNDS as readonly string[]).includes(r))
    throw ApplicationFailure.create({
      type: REJECTION_TYPES.invalidRequest,
      message: `refund: must be one of ${CANCEL_REFUNDS.join(', ')}`,
      nonRetryable: true,
      details: [{ field: 'refund' }],
    });
  if (input.atPeriodEnd && r !== 'none')
    throw ApplicationFailure.create({
      type: REJECTION_TYPES.invalidRequest,
      message: 'refund: a cancel at period end uses the period up; refund only with a cancel now',
      nonRetryable: true,
      details: [{ field: 'refund' }],
    });
}
