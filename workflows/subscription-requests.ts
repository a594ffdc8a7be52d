/**
 * What each update does to the state, as pure functions: a validator that rejects without touching
 * history, and an `accept…` that records the request (or applies it, when nothing needs LINE Pay).
 * Handlers in subscription.ts are one line over these; the main loop carries out what they record.
 */
import { ApplicationFailure } from '@temporalio/common';
import { recordConfirm, sharedConfirm } from './approval-poll.js';
import { REJECTION_TYPES } from './failure-types.js';
import type {
  ApprovalCancelInput,
  CancelInput,
  ChangePlanInput,
  ChangePlanResult,
  ConfirmInput,
  PauseInput,
  PauseResult,
  PaymentLinkInput,
  ResumeInput,
  ResumeResult,
  RetryNowInput,
  RetryNowResult,
  SettleChargeInput,
} from './messages.js';
import { applyProration, prorationOf } from './plan-proration.js';
import { notePauseEnded } from './regkey-health.js';
import { type Actor, checkAmount, SubscriptionInputError } from './subscription-input.js';
import {
  appliedResult,
  awaitingApproval,
  chargeAtIso,
  emit,
  iso,
  isTerminal,
  MAX_RESERVATIONS_PER_CYCLE,
  planChangeEffectiveCycle,
  rememberApplied,
  reservationFresh,
  resumeCalendar,
  type SubscriptionState,
  transition,
} from './subscription-state.js';

function reject(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

function checkActor(actor: unknown): void {
  const a = actor as Actor | undefined;
  if (!a || typeof a !== 'object' || !['customer', 'merchant', 'operator', 'system'].includes(a.kind)) {
    reject(REJECTION_TYPES.invalidRequest, 'actor.kind must be customer, merchant, operator or system');
  }
}

function checkRequestId(requestId: unknown): void {
  if (
    requestId !== undefined &&
    (typeof requestId !== 'string' || requestId.length < 1 || requestId.length > 200)
  )
    reject(REJECTION_TYPES.invalidRequest, 'requestId must be a string of 1-200 characters');
}

function checkNotTerminal(state: SubscriptionState): void {
  if (isTerminal(state.status)) reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
}

/** A repeat of an applied request passes every validator: its handler returns the first answer. */
function isRepeat(state: SubscriptionState, input: { requestId?: string | undefined } | undefined): boolean {
  checkRequestId(input?.requestId);
  return appliedResult(state, input?.requestId) !== undefined;
}

// ---- approval -----------------------------------------------------------------------------------

export function validatePaymentLink(state: SubscriptionState, input: PaymentLinkInput): void {
  if (
    input?.requestFingerprint !== undefined &&
    input.requestFingerprint !== state.input.requestFingerprint
  ) {
    reject(
      REJECTION_TYPES.conflict,
      `subscription ${state.input.subscriptionId} exists with different terms`,
    );
  }
  // Outside approval there is no link to give; rejected updates write nothing to history.
  if (!awaitingApproval(state))
    reject(REJECTION_TYPES.notAwaitingApproval, `subscription is ${state.status}`);
}

/** Asks for a fresh payment link when the current one lapsed; returns whether this request created the subscription. */
export function acceptPaymentLink(state: SubscriptionState, now: number): boolean {
  const created =
    state.linksIssued === 0 && state.status === 'pending_approval' && state.reservation === undefined;
  state.linksIssued += 1;
  // A link that lapsed, or one dropped by a cancel link or a failed confirm, is made again on request.
  const lapsed =
    state.reservation === undefined ? state.reservationsForCycle > 0 : !reservationFresh(state, now);
  if (lapsed && state.reservationsForCycle < MAX_RESERVATIONS_PER_CYCLE) {
    state.requests.reservationWanted = true;
  }
  return created;
}

/** Whether a paymentLink handler has its answer: a fresh link, the cap, or a status without links. */
export function paymentLinkSettled(state: SubscriptionState, now: number): boolean {
  if (!awaitingApproval(state)) return true;
  if (state.blocked !== undefined) return true;
  if (state.reservation === undefined)
    return (
      state.reservationsForCycle >= MAX_RESERVATIONS_PER_CYCLE ||
      (state.reservationsForCycle > 0 && !state.requests.reservationWanted)
    );
  return reservationFresh(state, now) || !state.requests.reservationWanted;
}

export function validateConfirm(state: SubscriptionState, input: ConfirmInput): void {
  if (!input || typeof input.transactionId !== 'string' || typeof input.orderId !== 'string') {
    reject(REJECTION_TYPES.invalidRequest, 'transactionId and orderId are required');
  }
  // A late or repeated confirm of an approval already being (or already) confirmed: its answer.
  if (sharedConfirm(state, input)) return;
  const r = state.reservation;
  // Ids first: the answer must not tell a caller without them what state the subscription is in.
  if (!r || r.transactionId !== input.transactionId || r.orderId !== input.orderId) {
    reject(
      REJECTION_TYPES.mismatch,
      'transactionId and orderId do not match this subscription’s payment request',
    );
  }
  if (!awaitingApproval(state)) reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
  if (state.requests.confirm?.transactionId === input.transactionId) {
    reject(REJECTION_TYPES.invalidState, 'this approval is already being confirmed');
  }
}

export function acceptConfirm(state: SubscriptionState, input: ConfirmInput): void {
  recordConfirm(state, input);
}

export function validateCancelApproval(state: SubscriptionState, input: ApprovalCancelInput): void {
  const r = state.reservation;
  if (!r) reject(REJECTION_TYPES.mismatch, 'no payment request to cancel');
  if (input?.transactionId !== undefined && input.transactionId !== r.transactionId)
    reject(REJECTION_TYPES.mismatch, 'transactionId does not match this subscription’s payment request');
  if (input?.orderId !== undefined && input.orderId !== r.orderId)
    reject(REJECTION_TYPES.mismatch, 'orderId does not match this subscription’s payment request');
  if (!awaitingApproval(state)) reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
  if (state.requests.confirm !== undefined)
    reject(REJECTION_TYPES.invalidState, 'approval is being confirmed');
}

export function acceptCancelApproval(state: SubscriptionState): void {
  state.requests.seq += 1;
  state.requests.approvalCancel = {
    transactionId: state.reservation!.transactionId,
    seq: state.requests.seq,
  };
}

// ---- lifecycle ----------------------------------------------------------------------------------

export function validateCancel(state: SubscriptionState, input: CancelInput): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  checkNotTerminal(state);
  if (input.atPeriodEnd) {
    if (state.status === 'pending_approval') {
      reject(
        REJECTION_TYPES.invalidState,
        'a subscription awaiting approval has no period to end; cancel it now',
      );
    }
    if (state.cancelAt !== undefined)
      reject(REJECTION_TYPES.invalidState, `already canceling at ${state.cancelAt}`);
  }
}

/**
 * Cancel now is carried out by the main loop (the regKey is expired first). At period end it only
 * schedules, while active or paused; outside those the unpaid period has already ended, so it means
 * "no further attempts" and cancels now, never backdated.
 * Returns the effective instant when the cancel is only scheduled.
 */
export function acceptCancel(state: SubscriptionState, input: CancelInput, now: number): string | undefined {
  const reason = input.reason ?? 'canceled by request';
  // A trial's period ends at the trial's end: nothing is charged, the regKey is expired then.
  if (
    input.atPeriodEnd &&
    (state.status === 'active' || state.status === 'paused' || state.status === 'trialing')
  ) {
    // With the current cycle's charge under way, the period that ends is the one it pays for.
    state.cancelAt =
      state.charge !== undefined && state.calendar
        ? chargeAtIso(state, state.cycle + 1)
        : (state.nextChargeAt ?? iso(now));
    state.cancelAtRequest = { actor: input.actor, reason };
    transition(state, state.status, input.actor, `cancel at period end (${state.cancelAt}): ${reason}`, now);
    return state.cancelAt;
  }
  if (state.requests.cancelNow === undefined) {
    state.requests.seq += 1;
    state.requests.cancelNow = {
      actor: input.actor,
      reason: input.atPeriodEnd
        ? `${reason} (at period end while ${state.status}: no further attempts)`
        : reason,
      seq: state.requests.seq,
      requestId: input.requestId,
    };
  }
  return undefined;
}

export function validatePause(state: SubscriptionState, input: PauseInput, now: number): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  if (state.status !== 'active')
    reject(REJECTION_TYPES.invalidState, `only an active subscription can pause (it is ${state.status})`);
  if (state.charge !== undefined || state.retireRegKey)
    reject(REJECTION_TYPES.invalidState, 'a charge is in progress; pause once it settles');
  if (state.requests.cancelNow !== undefined)
    reject(REJECTION_TYPES.invalidState, 'subscription is being canceled');
  if (input.resumeAt !== undefined) {
    const t = Date.parse(input.resumeAt);
    if (typeof input.resumeAt !== 'string' || Number.isNaN(t))
      reject(REJECTION_TYPES.invalidRequest, 'resumeAt must be an ISO-8601 instant');
    if (t <= now) reject(REJECTION_TYPES.invalidRequest, 'resumeAt must be in the future');
  }
}

export function applyPause(state: SubscriptionState, input: PauseInput, now: number): PauseResult {
  const prior = appliedResult(state, input.requestId);
  if (prior) return prior.result as PauseResult;
  state.pausedAt = iso(now);
  if (input.resumeAt !== undefined) state.resumeAt = iso(Date.parse(input.resumeAt));
  transition(state, 'paused', input.actor, input.reason ?? 'paused', now);
  const result: PauseResult =
    state.resumeAt === undefined
      ? { pausedAt: state.pausedAt }
      : { pausedAt: state.pausedAt, resumeAt: state.resumeAt };
  rememberApplied(state, input.requestId, result);
  return result;
}

export function validateResume(state: SubscriptionState, input: ResumeInput): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  if (state.status !== 'paused')
    reject(REJECTION_TYPES.invalidState, `only a paused subscription can resume (it is ${state.status})`);
}

export function applyResume(
  state: SubscriptionState,
  actor: Actor,
  reason: string,
  now: number,
  requestId?: string,
): ResumeResult {
  const prior = appliedResult(state, requestId);
  if (prior) return prior.result as ResumeResult;
  notePauseEnded(state, now);
  const skipped = resumeCalendar(state, now);
  const note = skipped.length > 0 ? ` (skipped cycles ${skipped.join(', ')})` : '';
  transition(state, 'active', actor, `${reason}${note}`, now);
  const result: ResumeResult =
    state.nextChargeAt === undefined
      ? { status: state.status, skippedCycles: skipped }
      : { status: state.status, nextChargeAt: state.nextChargeAt, skippedCycles: skipped };
  rememberApplied(state, requestId, result);
  return result;
}

export function validateChangePlan(
  state: SubscriptionState,
  input: ChangePlanInput,
  now: number = Date.now(),
): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  checkNotTerminal(state);
  if (state.status === 'pending_approval') {
    reject(
      REJECTION_TYPES.invalidState,
      'the plan of a subscription awaiting approval cannot change; create a new one',
    );
  }
  if (input.amount === undefined && input.productName === undefined) {
    reject(REJECTION_TYPES.invalidRequest, 'give amount, productName or both');
  }
  if (input.amount !== undefined) {
    try {
      checkAmount(input.amount, state.plan.currency, state.input.limits);
    } catch (err) {
      if (err instanceof SubscriptionInputError) reject(REJECTION_TYPES.invalidRequest, err.message);
      throw err;
    }
  }
  if (
    input.productName !== undefined &&
    (typeof input.productName !== 'string' ||
      !input.productName.trim() ||
      [...input.productName].length > 4000)
  ) {
    reject(REJECTION_TYPES.invalidRequest, 'productName must be 1-4000 characters');
  }
  if (input.prorate !== undefined || input.prorationDate !== undefined) prorationOf(state, input, now);
}

/**
 * A plan change takes effect from the next cycle not yet started. An increase above the consent
 * share goes through re-approval at that cycle: the customer approves the new amount in LINE.
 */
export function applyChangePlan(
  state: SubscriptionState,
  input: ChangePlanInput,
  now: number,
): ChangePlanResult {
  const prior = appliedResult(state, input.requestId);
  if (prior) return prior.result as ChangePlanResult;
  const proration = input.prorate && input.prorate !== 'none' ? prorationOf(state, input, now) : undefined;
  const effectiveCycle = planChangeEffectiveCycle(state);
  const base = state.pendingPlanChange ?? state.plan;
  const amount = input.amount ?? base.amount;
  const needsConsent = amount > state.plan.amount * (1 + state.limits.planIncreaseConsentShare);
  state.pendingPlanChange = {
    amount,
    productName: input.productName ?? base.productName,
    effectiveCycle,
    ...(needsConsent ? { needsConsent: true } : {}),
  };
  const effectiveAt = state.calendar ? chargeAtIso(state, effectiveCycle) : undefined;
  const consent = needsConsent ? '; needs the customer’s re-approval' : '';
  transition(
    state,
    state.status,
    input.actor,
    `plan change to ${amount} ${state.plan.currency} "${state.pendingPlanChange.productName}" from cycle ${effectiveCycle}${consent}${input.reason ? `: ${input.reason}` : ''}`,
    now,
  );
  emit(
    state,
    'subscription.plan_changed',
    {
      amount,
      currency: state.plan.currency,
      productName: state.pendingPlanChange.productName,
      effectiveCycle,
      ...(effectiveAt ? { effectiveAt } : {}),
      needsConsent,
    },
    now,
  );
  const plan = { amount, productName: state.pendingPlanChange.productName };
  const result: ChangePlanResult =
    effectiveAt === undefined ? { effectiveCycle, plan } : { effectiveCycle, effectiveAt, plan };
  if (proration) Object.assign(result, applyProration(state, input, proration, now));
  rememberApplied(state, input.requestId, result);
  return result;
}

export function validateRetryNow(state: SubscriptionState, input: RetryNowInput): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  if (state.status !== 'past_due')
    reject(REJECTION_TYPES.invalidState, `retryNow is for subscriptions in dunning (it is ${state.status})`);
  if (state.charge !== undefined)
    reject(REJECTION_TYPES.invalidState, 'a charge attempt is already in progress');
  if (state.requests.retryNow) reject(REJECTION_TYPES.invalidState, 'a retry is already requested');
}

export function applyRetryNow(state: SubscriptionState, input: RetryNowInput, now: number): RetryNowResult {
  const prior = appliedResult(state, input.requestId);
  if (prior) return prior.result as RetryNowResult;
  state.requests.retryNow = true;
  transition(
    state,
    state.status,
    input.actor,
    `retry now requested${input.reason ? `: ${input.reason}` : ''}`,
    now,
  );
  const result: RetryNowResult = { cycle: state.cycle, attemptAt: iso(now) };
  rememberApplied(state, input.requestId, result);
  return result;
}

export function validateSettleCharge(state: SubscriptionState, input: SettleChargeInput): void {
  checkActor(input?.actor);
  if (isRepeat(state, input)) return;
  if (input.actor.kind !== 'operator')
    reject(REJECTION_TYPES.invalidRequest, 'only an operator settles a charge');
  if (typeof input.reason !== 'string' || !input.reason.trim())
    reject(REJECTION_TYPES.invalidRequest, 'reason is required');
  if (input.outcome !== 'paid' && input.outcome !== 'failed')
    reject(REJECTION_TYPES.invalidRequest, 'outcome must be paid or failed');
  if (
    input.outcome === 'paid' &&
    (typeof input.transactionId !== 'string' || !/^\d{1,32}$/.test(input.transactionId))
  )
    reject(REJECTION_TYPES.invalidRequest, 'transactionId (digits) is required for paid');
  if (!state.charge?.sent || state.charge.phase === 'sending')
    reject(REJECTION_TYPES.invalidState, 'no charge is waiting to be settled');
}
