/**
 * What each LINE Pay answer does to the state, as pure functions over the activity results:
 * the step module calls an activity, then exactly one of these. Unit tests reach every branch
 * without Temporal.
 */
import type {
  ChargeResult,
  ConfirmApprovalResult,
  LookupResult,
  RequestStatusResult,
  ReserveResult,
} from './activity-contract.js';
import { parseDuration } from './duration.js';
import type { ChargeRecord, ConfirmResult, SettleChargeInput, SettleChargeResult } from './messages.js';
import { earlierChargeOrderIds } from './order-id.js';
import { settleBalance } from './proration.js';
import type { Actor } from './subscription-input.js';
import {
  advanceCycle,
  appliedResult,
  clearAttention,
  emit,
  flagAttention,
  iso,
  RESERVATION_LIFETIME_MS,
  recordCharge,
  recordSoftDecline,
  rememberApplied,
  rememberConfirmResult,
  type SubscriptionState,
  startCalendar,
  transition,
} from './subscription-state.js';
import { applyTrialConfirmed, isTrialApproval } from './trial-outcome.js';

const SYSTEM: Actor = { kind: 'system' };
const CUSTOMER: Actor = { kind: 'customer' };

/** Backoff while an unknown charge outcome is being resolved by lookup. */
export const LOOKUP_BACKOFF_MS = [30_000, 60_000, 2 * 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];
/** How long Details may lag behind a used orderId before the attempt counts as failed without payment. */
export const ORDER_USED_LOOKUP_MS = [60_000, 3 * 60_000, 10 * 60_000];
/** Past this, an unresolved charge is flagged for an operator (lookups go on). */
export const RESOLUTION_BOUND_MS = 24 * 60 * 60_000;
/** Retry of a step LINE Pay keeps refusing for configuration reasons. */
export const BLOCKED_BACKOFF_MS = [5 * 60_000, 15 * 60_000, 60 * 60_000, 6 * 60 * 60_000];

export type ChargeDecision = 'advance' | 'dunning' | 'reapproval' | 'cancel' | 'lookup' | 'blocked';

// ---- approval -----------------------------------------------------------------------------------

export function applyReserved(
  state: SubscriptionState,
  kind: 'approval' | 'reapproval',
  res: ReserveResult,
  amount: number,
  now: number,
): void {
  state.reservationsForCycle += 1;
  state.requests.reservationWanted = undefined;
  state.blocked = undefined;
  clearAttention(state, 'blocked');
  state.reservation = {
    kind,
    cycle: state.cycle,
    orderId: res.orderId,
    transactionId: res.transactionId,
    amount,
    currency: state.plan.currency,
    paymentUrl: res.paymentUrl,
    createdAt: iso(now),
    expiresAt: iso(now + RESERVATION_LIFETIME_MS),
  };
}

/** LINE Pay refused the Request for good: end with a clear status, never a failed run. */
export function applyReserveRefused(state: SubscriptionState, message: string, now: number): void {
  state.reservation = undefined;
  state.requests.reservationWanted = undefined;
  const reason = `LINE Pay refused the payment request: ${message}`;
  if (state.status === 'pending_approval') {
    transition(state, 'approval_expired', SYSTEM, reason, now);
  } else {
    state.canceledAt = iso(now);
    state.cancelReason = 'reapproval_failed';
    transition(state, 'canceled', SYSTEM, reason, now);
  }
}

/** The Confirm API paid the reservation and gave a regKey. */
export function applyConfirmed(
  state: SubscriptionState,
  result: Extract<ConfirmApprovalResult, { outcome: 'confirmed' }>,
  now: number,
): ConfirmResult {
  if (isTrialApproval(state)) return applyTrialConfirmed(state, result, now);
  const req = state.requests.confirm!;
  const r = req.reservation;
  state.requests.confirm = undefined;
  state.sealedRegKey = result.sealedRegKey;
  state.regKeyMasked = result.regKeyMasked;
  const charge: ChargeRecord = {
    cycle: r.cycle,
    orderId: r.orderId,
    transactionId: result.transactionId,
    amount: r.amount,
    currency: r.currency,
    productName: state.plan.productName,
    kind: r.kind,
    chargedAt: iso(now),
    recovered: false,
    ...(result.transactionDate === undefined ? {} : { transactionDate: result.transactionDate }),
  };
  state.reservation = undefined;
  state.reapprovalDeadline = undefined;
  if (r.kind === 'approval') startCalendar(state, now);
  const message =
    r.kind === 'approval' ? 'approved; first period paid' : `re-approved; cycle ${charge.cycle} paid`;
  transition(state, 'active', CUSTOMER, message, now);
  recordCharge(state, charge, now);
  if (r.kind === 'reapproval') advanceCycle(state);
  state.reservationsForCycle = 0;
  const answer: ConfirmResult = { status: state.status, charge, nextChargeAt: state.nextChargeAt!, message };
  rememberConfirmResult(state, req.seq, answer);
  return answer;
}

/** The customer has not approved yet (a forged or early confirm): nothing changes, keep waiting. */
export function applyConfirmNotApproved(
  state: SubscriptionState,
  result: Extract<ConfirmApprovalResult, { outcome: 'not_approved' }>,
  now: number,
): ConfirmResult {
  const req = state.requests.confirm!;
  state.requests.confirm = undefined;
  const message = `not approved yet (${result.returnCode ?? '?'}); still waiting for the customer`;
  transition(state, state.status, CUSTOMER, `confirm refused: ${message}`, now);
  const answer: ConfirmResult = { status: state.status, message };
  rememberConfirmResult(state, req.seq, answer);
  return answer;
}

/**
 * Confirm ended without a usable regKey. Whatever it took must be found and refunded before the
 * answer goes out, so the outcome is held in `refundDue` until the refund step settles it.
 */
export function applyConfirmRejected(
  state: SubscriptionState,
  result: Extract<ConfirmApprovalResult, { outcome: 'rejected' }> | { outcome: 'failed'; message: string },
  _now: number,
): void {
  // The confirm request stays pending: its answer goes out with the refund.
  const r = state.requests.confirm!.reservation;
  const code = result.outcome === 'rejected' ? (result.returnCode ?? result.category) : 'no answer';
  state.refundDue = { orderId: r.orderId, amount: r.amount, currency: r.currency };
  state.confirmFailure = `LINE Pay refused the confirmation (${code}): ${result.message}`;
}

/** After the refund step: the confirm's answer, and where the subscription goes. */
export function applyOrphanRefunded(
  state: SubscriptionState,
  refund: { transactionId: string; refundTransactionId?: string | undefined } | undefined,
  now: number,
): ConfirmResult | undefined {
  const req = state.requests.confirm;
  const failure = state.confirmFailure ?? 'LINE Pay refused the confirmation';
  state.refundDue = undefined;
  state.confirmFailure = undefined;
  state.requests.confirm = undefined;
  const note = refund
    ? `; payment ${refund.transactionId} was refunded${refund.refundTransactionId ? ` (${refund.refundTransactionId})` : ''}`
    : '; nothing was charged';
  const reason = failure + note;
  if (refund) {
    emit(
      state,
      'charge.refunded',
      {
        cycle: req?.reservation.cycle ?? state.cycle,
        orderId: req?.reservation.orderId ?? '',
        transactionId: refund.refundTransactionId ?? null,
        originalTransactionId: refund.transactionId,
        amount: req?.reservation.amount ?? 0,
        currency: state.plan.currency,
        kind: 'refund',
        status: 'refunded',
        returnCode: null,
        message: 'Confirm left no usable regKey',
      },
      now,
    );
  }
  if (state.status === 'pending_approval') {
    state.reservation = undefined;
    transition(state, 'approval_expired', CUSTOMER, reason, now);
  } else if (state.status === 'reapproval_required') {
    // A failed re-approval confirm goes back to waiting: the customer can still approve a new link.
    state.reservation = undefined;
    transition(state, 'reapproval_required', CUSTOMER, reason, now);
  }
  if (!req) return undefined;
  const answer: ConfirmResult = {
    status: state.status,
    message: reason,
    ...(refund
      ? {
          refund: {
            transactionId: refund.transactionId,
            ...(refund.refundTransactionId ? { refundTransactionId: refund.refundTransactionId } : {}),
          },
        }
      : {}),
  };
  rememberConfirmResult(state, req.seq, answer);
  return answer;
}

/** The cancel link is believed only when LINE Pay says the request was not approved. */
export function applyApprovalCancelChecked(
  state: SubscriptionState,
  check: RequestStatusResult,
  now: number,
): void {
  state.requests.approvalCancel = undefined;
  const believed = check.status === 'canceled_or_expired' || check.status === 'failed';
  if (!believed) {
    transition(
      state,
      state.status,
      CUSTOMER,
      `cancel link ignored: LINE Pay reports the request ${check.status}`,
      now,
    );
    return;
  }
  state.reservation = undefined;
  if (state.status === 'pending_approval') {
    transition(state, 'approval_canceled', CUSTOMER, 'customer canceled on the LINE Pay page', now);
  } else {
    // In re-approval the next paymentLink reserves again; a cancel never does.
    transition(state, 'reapproval_required', CUSTOMER, 'customer canceled the re-approval link', now);
  }
}

export function applyApprovalExpired(state: SubscriptionState, now: number): void {
  state.reservation = undefined;
  state.requests.reservationWanted = undefined;
  transition(state, 'approval_expired', SYSTEM, `not approved within ${state.input.approvalTimeout}`, now);
}

export function applyReapprovalExpired(state: SubscriptionState, now: number): void {
  state.reservation = undefined;
  state.canceledAt = iso(now);
  state.cancelReason = 'reapproval_expired';
  transition(state, 'canceled', SYSTEM, `not re-approved within ${state.input.reapprovalTimeout}`, now);
}

/** Re-approval: the regKey is retired first, then a fresh Request is made for the overdue cycle. */
export function enterReapproval(
  state: SubscriptionState,
  reason: string,
  keyMayLive: boolean,
  now: number,
): void {
  const attempts = state.charge ? state.charge.attempt + 1 : 0;
  state.charge = undefined;
  state.retireRegKey = keyMayLive && state.sealedRegKey !== undefined;
  if (!state.retireRegKey) {
    state.sealedRegKey = undefined;
  }
  state.regKeyMasked = undefined;
  state.reservation = undefined;
  state.reservationsForCycle = 0;
  state.requests.retryNow = undefined;
  state.reapprovalDeadline = iso(now + parseDuration(state.input.reapprovalTimeout));
  state.priorLookup =
    attempts > 0
      ? {
          cycle: state.cycle,
          orderIds: earlierChargeOrderIds(
            state.input.subscriptionId,
            state.instanceId,
            state.cycle,
            attempts,
          ),
          amount: state.plan.amount,
        }
      : undefined;
  transition(state, 'reapproval_required', SYSTEM, reason, now);
}

// ---- charges ------------------------------------------------------------------------------------

function chargeFailedEvent(
  state: SubscriptionState,
  returnCode: string | undefined,
  message: string,
  now: number,
): void {
  const c = state.charge!;
  emit(
    state,
    'charge.failed',
    {
      cycle: c.cycle,
      orderId: c.orderId,
      transactionId: null,
      amount: c.amount,
      currency: c.currency,
      kind: 'recurring',
      status: 'failed',
      returnCode: returnCode ?? null,
      message,
    },
    now,
  );
}

/** Records the paid cycle and moves the calendar on. */
export function applyCharged(
  state: SubscriptionState,
  paid: { transactionId: string; transactionDate?: string | undefined; recovered: boolean },
  now: number,
): ChargeDecision {
  const c = state.charge!;
  state.charge = undefined;
  clearAttention(state, 'charge');
  clearBlocked(state);
  const record: ChargeRecord = {
    cycle: c.cycle,
    orderId: c.orderId,
    transactionId: paid.transactionId,
    amount: c.amount,
    currency: c.currency,
    productName: c.productName,
    kind: paid.transactionId === '' ? 'credit' : 'recurring',
    dueAt: c.dueAt,
    chargedAt: iso(now),
    recovered: paid.recovered,
    ...(paid.transactionDate === undefined ? {} : { transactionDate: paid.transactionDate }),
    ...(c.creditApplied ? { creditApplied: c.creditApplied } : {}),
  };
  recordCharge(state, record, now);
  settleBalance(state, c, now);
  const wasPastDue = state.status === 'past_due';
  const wasTrialing = state.status === 'trialing';
  advanceCycle(state);
  if (wasPastDue) transition(state, 'active', SYSTEM, `cycle ${c.cycle} paid after dunning`, now);
  if (wasTrialing) transition(state, 'active', SYSTEM, `trial over; cycle ${c.cycle} paid`, now);
  return 'advance';
}

/** A definite failed attempt: dunning, or cancel when the schedule is exhausted. */
function applyFailedAttempt(
  state: SubscriptionState,
  returnCode: string | undefined,
  message: string,
  now: number,
): ChargeDecision {
  chargeFailedEvent(state, returnCode, message, now);
  state.charge = undefined;
  clearAttention(state, 'charge');
  clearBlocked(state);
  state.requests.retryNow = undefined;
  const retryAt = recordSoftDecline(state, now, returnCode, message);
  if (retryAt === undefined) {
    state.requests.seq += 1;
    state.requests.cancelNow = {
      actor: SYSTEM,
      reason: 'payment_failed',
      seq: state.requests.seq,
    };
    return 'cancel';
  }
  const what = state.status === 'past_due' ? 'retry declined' : 'declined';
  transition(
    state,
    'past_due',
    SYSTEM,
    `${what} (${returnCode ?? '?'}): ${message}; retry at ${retryAt}`,
    now,
  );
  return 'dunning';
}

/** What a charge answer does: advance, dunning, re-approval, cancel, look it up, or wait blocked. */
export function applyChargeOutcome(
  state: SubscriptionState,
  result: ChargeResult,
  now: number,
): ChargeDecision {
  const c = state.charge!;
  switch (result.outcome) {
    case 'charged':
      state.blocked = undefined;
      clearAttention(state, 'blocked');
      return applyCharged(state, result, now);
    case 'declined':
      state.blocked = undefined;
      clearAttention(state, 'blocked');
      if (result.category === 'declined_hard') {
        chargeFailedEvent(state, result.returnCode, result.message, now);
        enterReapproval(
          state,
          `hard decline (${result.returnCode ?? '?'}): ${result.message}; customer must approve again`,
          true,
          now,
        );
        return 'reapproval';
      }
      return applyFailedAttempt(state, result.returnCode, result.message, now);
    case 'regkey_dead':
      state.blocked = undefined;
      clearAttention(state, 'blocked');
      chargeFailedEvent(state, result.returnCode, result.message, now);
      enterReapproval(
        state,
        `regKey no longer usable (${result.returnCode ?? '?'}): ${result.message}`,
        false,
        now,
      );
      return 'reapproval';
    case 'unknown':
    case 'order_used': {
      state.blocked = undefined;
      c.phase = result.outcome;
      c.lastError = result.reason;
      scheduleLookup(state, now);
      return 'lookup';
    }
    case 'merchant_config':
      // Not charged (the activity looked the order up): send the same orderId again once unblocked.
      c.phase = 'sending';
      applyBlocked(
        state,
        'charge',
        `LINE Pay refused our channel (${result.returnCode ?? '?'}): ${result.message}`,
        now,
      );
      return 'blocked';
  }
}

/** A charge sent and unresolved past the bound is for an operator to settle (lookups go on). */
function checkResolutionBound(state: SubscriptionState, now: number): void {
  const c = state.charge;
  if (!c?.sent || now - Date.parse(c.since) < RESOLUTION_BOUND_MS) return;
  flagAttention(
    state,
    'charge',
    `outcome of ${c.orderId} unresolved since ${c.since}; settle it with settleCharge`,
    now,
  );
}

function scheduleLookup(state: SubscriptionState, now: number): void {
  const c = state.charge!;
  const table = c.phase === 'order_used' ? ORDER_USED_LOOKUP_MS : LOOKUP_BACKOFF_MS;
  const delay = table[Math.min(c.lookups, table.length - 1)]!;
  c.nextLookupAt = iso(now + delay);
  checkResolutionBound(state, now);
}

/**
 * A lookup of the charge's own orderId. While canceling, nothing is sent again: a charge not found
 * after the regKey was expired was never made.
 */
export function applyChargeLookup(
  state: SubscriptionState,
  found: LookupResult,
  mode: 'resolve' | 'cancel',
  now: number,
): ChargeDecision {
  const c = state.charge!;
  c.lookups += 1;
  if (found.found === true) return applyCharged(state, { ...found, recovered: true }, now);
  if (found.found === 'mismatch') {
    flagAttention(
      state,
      'mismatch',
      `order ${c.orderId} holds payment ${found.transactionId} of another amount or currency`,
      now,
    );
    if (mode === 'cancel') {
      state.charge = undefined;
      return 'cancel';
    }
    c.nextLookupAt = iso(now + LOOKUP_BACKOFF_MS[LOOKUP_BACKOFF_MS.length - 1]!);
    return 'lookup';
  }
  if (mode === 'cancel') {
    state.charge = undefined;
    return 'cancel';
  }
  if (c.phase === 'order_used') {
    if (c.lookups >= ORDER_USED_LOOKUP_MS.length) {
      // LINE Pay used the orderId and lists no payment under it: a decline whose answer was lost.
      return applyFailedAttempt(
        state,
        '1172',
        `order ${c.orderId} used without a payment (lost decline)`,
        now,
      );
    }
    scheduleLookup(state, now);
    return 'lookup';
  }
  // No payment under the orderId: send the same orderId again (a repeat gets 1172 if it was used).
  c.phase = 'sending';
  c.nextLookupAt = undefined;
  checkResolutionBound(state, now);
  return 'lookup';
}

/** Earlier orderIds of the cycle, looked up before a new attempt or a re-approval: any paid one settles it. */
export function applyPriorLookups(
  state: SubscriptionState,
  found: { orderId: string; result: LookupResult }[],
  now: number,
): ChargeDecision | undefined {
  const paid = found.find((f) => f.result.found === true);
  const odd = found.find((f) => f.result.found === 'mismatch');
  if (odd)
    flagAttention(
      state,
      'mismatch',
      `order ${odd.orderId} holds a payment of another amount or currency`,
      now,
    );
  const prior = state.priorLookup;
  state.priorLookup = undefined;
  if (state.charge) state.charge.priorsChecked = true;
  if (paid?.result.found !== true) return undefined;
  const record: ChargeRecord = {
    cycle: prior?.cycle ?? state.cycle,
    orderId: paid.orderId,
    transactionId: paid.result.transactionId,
    amount: prior?.amount ?? state.plan.amount,
    currency: state.plan.currency,
    productName: state.plan.productName,
    kind: 'recurring',
    ...(state.nextChargeAt ? { dueAt: state.nextChargeAt } : {}),
    chargedAt: iso(now),
    recovered: true,
    ...(paid.result.transactionDate === undefined ? {} : { transactionDate: paid.result.transactionDate }),
  };
  state.charge = undefined;
  recordCharge(state, record, now);
  advanceCycle(state);
  if (state.status === 'past_due')
    transition(state, 'active', SYSTEM, `cycle ${record.cycle} found paid (${paid.orderId})`, now);
  return 'advance';
}

/** Operator settlement of a charge LINE Pay never resolved. */
export function applySettleCharge(
  state: SubscriptionState,
  input: SettleChargeInput,
  now: number,
): SettleChargeResult {
  const prior = appliedResult(state, input.requestId);
  if (prior) return prior.result as SettleChargeResult;
  const c = state.charge!;
  transition(
    state,
    state.status,
    input.actor,
    `charge ${c.orderId} settled as ${input.outcome}: ${input.reason}`,
    now,
  );
  if (input.outcome === 'paid')
    applyCharged(state, { transactionId: input.transactionId!, recovered: true }, now);
  else applyFailedAttempt(state, undefined, `settled as failed by an operator: ${input.reason}`, now);
  const result: SettleChargeResult = { status: state.status, cycle: state.cycle };
  rememberApplied(state, input.requestId, result);
  return result;
}

/** A step LINE Pay keeps refusing: wait on a timer that a cancel interrupts, flagged for operators. */
export function applyBlocked(state: SubscriptionState, step: string, message: string, now: number): void {
  const attempts = state.blocked?.step === step ? state.blocked.attempts + 1 : 1;
  const delay = BLOCKED_BACKOFF_MS[Math.min(attempts - 1, BLOCKED_BACKOFF_MS.length - 1)]!;
  state.blocked = {
    step,
    since: state.blocked?.since ?? iso(now),
    retryAt: iso(now + delay),
    attempts,
    message,
  };
  // An unresolved charge outranks a blocked step: it is what the operator must settle.
  if (state.attention?.kind !== 'charge') flagAttention(state, 'blocked', `${step} blocked: ${message}`, now);
  checkResolutionBound(state, now);
}

export function clearBlocked(state: SubscriptionState): void {
  if (state.blocked === undefined) return;
  state.blocked = undefined;
  clearAttention(state, 'blocked');
}

/** The held regKey was expired at LINE Pay (or was already dead). */
export function applyRegKeyRetired(state: SubscriptionState): void {
  state.sealedRegKey = undefined;
  state.regKeyMasked = undefined;
  state.retireRegKey = false;
  clearBlocked(state);
}

/** The last step of every cancel: the regKey is gone and no charge is in flight. */
export function applyCanceled(
  state: SubscriptionState,
  actor: Actor,
  reason: string,
  effectiveAt: number,
  now: number,
): void {
  state.requests.cancelNow = undefined;
  state.requests.approvalCancel = undefined;
  state.requests.reservationWanted = undefined;
  state.requests.retryNow = undefined;
  state.charge = undefined;
  state.canceledAt = iso(effectiveAt);
  state.cancelReason = reason;
  state.reservation = undefined;
  state.blocked = undefined;
  transition(state, 'canceled', actor, reason, now);
}

export function applyCompleted(state: SubscriptionState, now: number): void {
  transition(state, 'completed', SYSTEM, `all ${state.input.maxCycles} cycles paid`, now);
}

/** A plan increase beyond the consent share reaches its cycle: ask the customer in LINE. */
export function enterConsentReapproval(state: SubscriptionState, now: number): void {
  const change = state.pendingPlanChange!;
  state.plan = { ...state.plan, amount: change.amount, productName: change.productName };
  state.pendingPlanChange = undefined;
  enterReapproval(
    state,
    `plan increase to ${change.amount} ${state.plan.currency} needs the customer’s approval`,
    true,
    now,
  );
}
