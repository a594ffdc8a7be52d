/**
 * What a trial does to the subscription's state, as pure functions the steps call (the rules of the
 * trial itself are in trial.ts): the approval's Confirm starts the trial, the approval payment is given
 * back, and the `trial_will_end` notice goes out. Unit-tested without Temporal.
 */
import type { ConfirmApprovalResult } from './activity-contract.js';
import type { ConfirmResult } from './messages.js';
import type { Actor } from './subscription-input.js';
import {
  chargeAtIso,
  emit,
  iso,
  rememberConfirmResult,
  type SubscriptionState,
  transition,
} from './subscription-state.js';
import { startTrialState, trialTermsOf } from './trial.js';

const SYSTEM: Actor = { kind: 'system' };
const CUSTOMER: Actor = { kind: 'customer' };

/** True when this confirm is a trial's first approval (a re-approval always pays its cycle). */
export function isTrialApproval(state: SubscriptionState): boolean {
  const r = state.requests.confirm?.reservation;
  return r?.kind === 'approval' && trialTermsOf(state.input) !== undefined;
}

/**
 * The approval of a trial: the regKey is held, the calendar anchors at the trial's end (cycle 1 falls
 * due there), and nothing counts as paid. The approval payment is recorded to be given back next.
 */
export function applyTrialConfirmed(
  state: SubscriptionState,
  result: Extract<ConfirmApprovalResult, { outcome: 'confirmed' }>,
  now: number,
): ConfirmResult {
  const req = state.requests.confirm!;
  const r = req.reservation;
  const terms = trialTermsOf(state.input)!;
  state.requests.confirm = undefined;
  state.sealedRegKey = result.sealedRegKey;
  state.regKeyMasked = result.regKeyMasked;
  state.reservation = undefined;
  state.reapprovalDeadline = undefined;
  state.reservationsForCycle = 0;
  state.trial = startTrialState(terms, now, state.input.timeZone, {
    mode: terms.trialVerification,
    orderId: r.orderId,
    amount: r.amount,
    currency: r.currency,
    transactionId: result.transactionId,
  });
  state.calendar = { anchor: state.trial.endsAt, firstCycle: 1 };
  state.cycle = 1;
  state.nextChargeAt = chargeAtIso(state, 1);
  const message = `approved; free trial until ${state.trial.endsAt}, first charge at ${state.nextChargeAt}`;
  transition(state, 'trialing', CUSTOMER, message, now);
  if (terms.trialVerification === 'refund_minimum') {
    // Real money moved (the smallest amount), so the ledger records it and, next, its refund.
    emit(
      state,
      'charge.succeeded',
      {
        cycle: null,
        orderId: r.orderId,
        transactionId: result.transactionId,
        amount: r.amount,
        currency: r.currency,
        kind: 'trial_verification',
        status: 'succeeded',
        returnCode: '0000',
        recovered: false,
      },
      now,
    );
  }
  const answer: ConfirmResult = { status: state.status, nextChargeAt: state.nextChargeAt, message };
  rememberConfirmResult(state, req.seq, answer);
  return answer;
}

/** The approval payment is back with the customer: voided, refunded, or its authorization lapsed. */
export function applyVerificationSettled(
  state: SubscriptionState,
  settled: { outcome: 'voided' | 'refunded' | 'expired'; refundTransactionId?: string | undefined },
  now: number,
): void {
  const v = state.trial!.verification;
  v.outcome = settled.outcome;
  v.settledAt = iso(now);
  if (settled.refundTransactionId !== undefined) v.refundTransactionId = settled.refundTransactionId;
  if (settled.outcome === 'refunded') {
    emit(
      state,
      'charge.refunded',
      {
        cycle: null,
        orderId: v.orderId,
        transactionId: settled.refundTransactionId ?? null,
        originalTransactionId: v.transactionId,
        amount: v.amount,
        currency: v.currency,
        kind: 'refund',
        status: 'refunded',
        returnCode: null,
        message: "trial's approval payment given back",
      },
      now,
    );
  }
  const how =
    settled.outcome === 'expired'
      ? 'its authorization expired unused'
      : settled.outcome === 'voided'
        ? 'authorization voided'
        : `refunded${settled.refundTransactionId ? ` (${settled.refundTransactionId})` : ''}`;
  transition(
    state,
    state.status,
    SYSTEM,
    `trial approval payment ${v.amount} ${v.currency} (${v.transactionId}): ${how}`,
    now,
  );
}

/** `subscription.trial_will_end` is due: trialing, not yet sent, and its time has come. */
export function trialNoticeDue(state: SubscriptionState, now: number): boolean {
  const t = state.trial;
  return state.status === 'trialing' && t !== undefined && !t.noticeSent && now >= Date.parse(t.noticeAt);
}

/** What the first charge will be: the plan, or a plan change already due by then. */
function firstCharge(state: SubscriptionState): { amount: number; productName: string } {
  const change = state.pendingPlanChange;
  if (change && change.effectiveCycle <= state.cycle)
    return { amount: change.amount, productName: change.productName };
  return { amount: state.plan.amount, productName: state.plan.productName };
}

export function applyTrialWillEnd(state: SubscriptionState, now: number): void {
  const t = state.trial!;
  t.noticeSent = true;
  const first = firstCharge(state);
  emit(
    state,
    'subscription.trial_will_end',
    {
      trialEndsAt: t.endsAt,
      nextChargeAt: state.nextChargeAt ?? t.endsAt,
      amount: first.amount,
      currency: state.plan.currency,
      productName: first.productName,
      ...(state.cancelAt !== undefined ? { cancelAt: state.cancelAt } : {}),
    },
    now,
  );
  transition(state, 'trialing', SYSTEM, `trial ends ${t.endsAt}: trial_will_end sent`, now);
}
