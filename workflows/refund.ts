/**
 * Refunds of a subscription's charges, as pure rules over the state. A `refundCharge` request is
 * validated (against the charge's record when the state still keeps it), queued, and served one at a
 * time by the main loop: look the payment up (what was paid, what LINE Pay already refunded), send,
 * and settle. LINE Pay's Refund has no idempotency key, so the identity of a refund is its request id
 * plus the refundTransactionIds listed before it was sent: after an unknown outcome a new entry of our
 * amount is ours, and only when none appears is it sent again. Serving one at a time keeps that exact.
 */
import { ApplicationFailure } from '@temporalio/common';
import { LOOKUP_BACKOFF_MS } from './charge-outcome.js';
import { REJECTION_TYPES } from './failure-types.js';
import type {
  ChargeRecord,
  ChargeRefund,
  RefundChargeInput,
  RefundChargeResult,
  RefundRefusalCode,
} from './messages.js';
import type { Step } from './next-step.js';
import type { PaymentRefundsResult, SendRefundResult } from './refund-contract.js';
import type { Actor, Currency } from './subscription-input.js';
import { emit, iso, isTerminal, recordAudit, type SubscriptionState } from './subscription-state.js';

/** Answers kept for repeats; older repeats are answered from the charge's record. */
const MAX_REFUND_RESULTS_KEPT = 32;
/** Refund requests waiting at once: each is a LINE Pay call, served in order. */
export const MAX_PENDING_REFUNDS = 20;

/** A refund accepted and not yet settled. */
export interface PendingRefund {
  requestId: string;
  transactionId: string;
  /** Absent: everything left to refund when it is sent. */
  amount?: number | undefined;
  reason: string;
  actor: Actor;
  acceptedAt: string;
  /** `prepare`: look the payment up (and, once sent, whether it refunded); `sending`: send it. */
  phase: 'prepare' | 'sending';
  /** The payment, from Payment Details. */
  payment?: { orderId: string; amount: number; currency: Currency } | undefined;
  /** What is sent: fixed at the first send, so a resend after a lost answer asks the same. */
  sendAmount?: number | undefined;
  /** refundTransactionIds listed before the first send; set once sent may have happened. */
  baseline?: string[] | undefined;
  /** Left to refund at LINE Pay when it was (last) sent. */
  leftBefore?: number | undefined;
  lookups: number;
  nextLookupAt?: string | undefined;
  lastError?: string | undefined;
}

export type RefundAnswer =
  | { ok: true; result: RefundChargeResult }
  | { ok: false; code: RefundRefusalCode; message: string };

/** Carried across continue-as-new with the rest of the state. */
export interface RefundBook {
  pending: PendingRefund[];
  answers: { requestId: string; transactionId: string; answer: RefundAnswer }[];
  /** Every refund this subscription instance made, in the currency's unit. */
  totalRefunded: number;
}

function book(state: SubscriptionState): RefundBook {
  state.refunds ??= { pending: [], answers: [], totalRefunded: 0 };
  return state.refunds;
}

function reject(message: string, type: string = REJECTION_TYPES.invalidRequest, field?: string): never {
  throw ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: field === undefined ? [] : [{ field }],
  });
}

function invalid(field: string, message: string): never {
  return reject(`${field}: ${message}`, REJECTION_TYPES.invalidRequest, field);
}

function refused(code: RefundRefusalCode, message: string, remaining?: number): never {
  throw ApplicationFailure.create({
    type: REJECTION_TYPES.refundRefused,
    message,
    nonRetryable: true,
    details: [remaining === undefined ? { code } : { code, remaining }],
  });
}

function chargeOf(state: SubscriptionState, transactionId: string): ChargeRecord | undefined {
  return state.charges.find((c) => c.transactionId === transactionId);
}

/** What is left to refund on a charge the state keeps, net of refunds already waiting to be sent. */
export function refundableAmount(state: SubscriptionState, charge: ChargeRecord): number {
  let left = charge.amount - (charge.refundedAmount ?? 0);
  for (const p of state.refunds?.pending ?? []) {
    if (p.transactionId !== charge.transactionId) continue;
    left -= p.amount ?? left;
  }
  return Math.max(0, left);
}

/** The first answer to a request id: kept, or rebuilt from the charge's record. */
export function refundAnswerOf(state: SubscriptionState, requestId: string): RefundAnswer | undefined {
  const kept = state.refunds?.answers.find((a) => a.requestId === requestId);
  if (kept) return kept.answer;
  for (const c of state.charges) {
    const r = c.refunds?.find((x) => x.requestId === requestId);
    if (r) return { ok: true, result: resultOf(c, r) };
  }
  return undefined;
}

export function refundPending(state: SubscriptionState, requestId: string): boolean {
  return state.refunds?.pending.some((p) => p.requestId === requestId) ?? false;
}

function resultOf(c: ChargeRecord, r: ChargeRefund): RefundChargeResult {
  const before = (c.refunds ?? []).slice(0, (c.refunds ?? []).indexOf(r) + 1);
  return {
    transactionId: c.transactionId,
    refundTransactionId: r.refundTransactionId,
    orderId: c.orderId,
    cycle: c.cycle,
    amount: r.amount,
    currency: c.currency,
    remaining: c.amount - before.reduce((s, x) => s + x.amount, 0),
    refundedAt: r.refundedAt,
    recovered: r.recovered,
  };
}

/**
 * Rejects without touching history: bad fields (each message names its field), a subscription with
 * no charges to refund, and, for a charge the state keeps, more than what is left. A repeat of a
 * request id passes, to get its first answer; the same id for another charge is a conflict.
 */
export function validateRefund(state: SubscriptionState, input: RefundChargeInput): void {
  const a = input?.actor as Actor | undefined;
  if (!a || typeof a !== 'object' || !['customer', 'merchant', 'operator', 'system'].includes(a.kind))
    invalid('actor.kind', 'must be customer, merchant, operator or system');
  if (typeof input.requestId !== 'string' || input.requestId.length < 1 || input.requestId.length > 200)
    invalid('requestId', 'is required: a string of 1-200 characters');
  if (typeof input.transactionId !== 'string' || !/^\d{1,32}$/.test(input.transactionId))
    invalid('transactionId', 'must be the charge’s LINE Pay transactionId (digits)');
  const prior =
    state.refunds?.answers.find((x) => x.requestId === input.requestId)?.transactionId ??
    state.refunds?.pending.find((x) => x.requestId === input.requestId)?.transactionId ??
    state.charges.find((c) => c.refunds?.some((r) => r.requestId === input.requestId))?.transactionId;
  if (prior !== undefined) {
    if (prior !== input.transactionId)
      reject(
        `requestId ${input.requestId} was used for a refund of another charge`,
        REJECTION_TYPES.conflict,
      );
    return;
  }
  if (input.amount !== undefined && (!Number.isSafeInteger(input.amount) || input.amount < 1))
    invalid('amount', "must be a positive integer in the currency's unit");
  if (typeof input.reason !== 'string' || !input.reason.trim() || input.reason.length > 500)
    invalid('reason', 'is required: 1-500 characters');
  if (isTerminal(state.status)) reject(`subscription is ${state.status}`, REJECTION_TYPES.invalidState);
  if (state.status === 'pending_approval')
    reject('a subscription awaiting approval has no charge to refund', REJECTION_TYPES.invalidState);
  if ((state.refunds?.pending.length ?? 0) >= MAX_PENDING_REFUNDS)
    reject(
      `${MAX_PENDING_REFUNDS} refunds are already waiting; retry once they settle`,
      REJECTION_TYPES.limit,
    );
  const charge = chargeOf(state, input.transactionId);
  if (!charge) return; // older than the state keeps: Payment Details decides
  const left = refundableAmount(state, charge);
  if (left === 0)
    refused(
      'charge_already_refunded',
      `amount: charge ${charge.transactionId} has nothing left to refund`,
      0,
    );
  if (input.amount !== undefined && input.amount > left)
    refused(
      'refund_exceeds_remaining',
      `amount: ${input.amount} ${charge.currency} exceeds the ${left} ${charge.currency} left to refund on charge ${charge.transactionId}`,
      left,
    );
}

/** Queues a validated request and audits it. */
export function acceptRefund(state: SubscriptionState, input: RefundChargeInput, now: number): void {
  const b = book(state);
  b.pending.push({
    requestId: input.requestId,
    transactionId: input.transactionId,
    ...(input.amount === undefined ? {} : { amount: input.amount }),
    reason: input.reason,
    actor: input.actor,
    acceptedAt: iso(now),
    phase: 'prepare',
    lookups: 0,
  });
  const what = input.amount === undefined ? 'full refund' : `refund of ${input.amount}`;
  recordAudit(state, input.actor, `${what} of charge ${input.transactionId} requested: ${input.reason}`, now);
}

/** The update's reply: the refund, or the refusal as a typed failure. */
export function refundReply(answer: RefundAnswer | undefined, status: string): RefundChargeResult {
  if (!answer) reject(`subscription is ${status}; the refund was not made`, REJECTION_TYPES.invalidState);
  if (answer.ok) return answer.result;
  return refused(answer.code, answer.message);
}

// ---- the main loop's side -------------------------------------------------------------------------

const ENDS_RUN: ReadonlySet<Step['kind']> = new Set([
  'finishCancel',
  'complete',
  'expireApproval',
  'expireReapproval',
  'done',
]);

/**
 * Refunds go first (money owed back). While one waits to be looked up again, the rest of the
 * subscription goes on, but nothing ends the run before it settles.
 */
export function withRefunds(state: SubscriptionState, now: number, step: Step): Step {
  const r = state.refunds?.pending[0];
  if (!r) return step;
  if (r.phase === 'sending') return { kind: 'sendRefund' };
  const at = r.nextLookupAt;
  if (at === undefined || now >= Date.parse(at)) return { kind: 'lookupRefund' };
  const summary = `Refund ${r.transactionId}: look it up at ${at}`;
  if (step.kind === 'wait')
    return step.until !== undefined && Date.parse(step.until) < Date.parse(at)
      ? step
      : { kind: 'wait', until: at, summary };
  if (ENDS_RUN.has(step.kind)) return { kind: 'wait', until: at, summary };
  return step;
}

function head(state: SubscriptionState): PendingRefund {
  const r = state.refunds?.pending[0];
  if (!r) throw new Error('no refund is pending');
  return r;
}

function settle(state: SubscriptionState, r: PendingRefund, answer: RefundAnswer, now: number): void {
  const b = book(state);
  b.pending.shift();
  b.answers.push({ requestId: r.requestId, transactionId: r.transactionId, answer });
  if (b.answers.length > MAX_REFUND_RESULTS_KEPT)
    b.answers.splice(0, b.answers.length - MAX_REFUND_RESULTS_KEPT);
  const note = answer.ok
    ? `refunded ${answer.result.amount} ${answer.result.currency} of charge ${r.transactionId} (${answer.result.refundTransactionId}); ${answer.result.remaining} left`
    : `refund of charge ${r.transactionId} refused (${answer.code}): ${answer.message}`;
  recordAudit(state, r.actor, note, now);
}

function refuse(
  state: SubscriptionState,
  r: PendingRefund,
  code: RefundRefusalCode,
  message: string,
  now: number,
) {
  settle(state, r, { ok: false, code, message }, now);
}

function succeed(
  state: SubscriptionState,
  r: PendingRefund,
  refund: { refundTransactionId: string; refundedAt: string; recovered: boolean },
  remainingAtLinePay: number,
  now: number,
): void {
  const p = r.payment!;
  const amount = r.sendAmount!;
  const charge = chargeOf(state, r.transactionId);
  let remaining = remainingAtLinePay;
  if (charge) {
    const entry: ChargeRefund = {
      requestId: r.requestId,
      refundTransactionId: refund.refundTransactionId,
      amount,
      refundedAt: refund.refundedAt,
      reason: r.reason,
      recovered: refund.recovered,
    };
    charge.refunds = [...(charge.refunds ?? []), entry];
    charge.refundedAmount = (charge.refundedAmount ?? 0) + amount;
    remaining = Math.min(remaining, charge.amount - charge.refundedAmount);
  }
  book(state).totalRefunded += amount;
  const result: RefundChargeResult = {
    transactionId: r.transactionId,
    refundTransactionId: refund.refundTransactionId,
    orderId: p.orderId,
    ...(charge ? { cycle: charge.cycle } : {}),
    amount,
    currency: p.currency,
    remaining,
    refundedAt: refund.refundedAt,
    recovered: refund.recovered,
  };
  emit(
    state,
    'charge.refunded',
    {
      cycle: charge?.cycle ?? null,
      orderId: p.orderId,
      transactionId: r.transactionId,
      refundTransactionId: refund.refundTransactionId,
      amount,
      currency: p.currency,
      remaining,
      kind: 'refund',
      status: 'refunded',
      returnCode: null,
      message: r.reason.slice(0, 500),
      recovered: refund.recovered,
    },
    now,
  );
  settle(state, r, { ok: true, result }, now);
}

function isCurrency(c: string): c is Currency {
  return c === 'TWD' || c === 'THB' || c === 'USD';
}

/**
 * Payment Details of the head refund's charge. Before the first send it fixes the amount and the
 * baseline; after a send whose outcome was lost, a refundTransactionId not in the baseline for our
 * amount settles it as refunded, and none means it never happened: send again (same amount).
 */
export function applyRefundLookup(state: SubscriptionState, found: PaymentRefundsResult, now: number): void {
  const r = head(state);
  r.lookups += 1;
  const own = `${state.input.subscriptionId}-${state.instanceId}-`;
  if (found.found !== true || !found.orderId.startsWith(own) || !isCurrency(found.currency)) {
    refuse(
      state,
      r,
      'charge_not_found',
      `transactionId ${r.transactionId} is not a charge of this subscription`,
      now,
    );
    return;
  }
  r.payment = { orderId: found.orderId, amount: found.amount, currency: found.currency };
  const refunded = found.refunds.reduce((s, x) => s + Math.abs(x.amount), 0);
  const left = Math.max(0, found.amount - refunded);
  if (r.baseline !== undefined) {
    const seen = new Set(r.baseline);
    const ours = found.refunds.find(
      (x) => !seen.has(x.refundTransactionId) && Math.abs(x.amount) === r.sendAmount,
    );
    if (ours) {
      succeed(
        state,
        r,
        {
          refundTransactionId: ours.refundTransactionId,
          refundedAt: ours.refundedAt ?? iso(now),
          recovered: true,
        },
        left,
        now,
      );
      return;
    }
  }
  const amount = r.sendAmount ?? r.amount ?? left;
  if (left === 0) {
    refuse(state, r, 'charge_already_refunded', `charge ${r.transactionId} has nothing left to refund`, now);
    return;
  }
  if (amount > left) {
    refuse(
      state,
      r,
      'refund_exceeds_remaining',
      `amount: ${amount} ${found.currency} exceeds the ${left} ${found.currency} left to refund on charge ${r.transactionId}`,
      now,
    );
    return;
  }
  r.sendAmount = amount;
  r.baseline = found.refunds.map((x) => x.refundTransactionId);
  r.leftBefore = left;
  r.phase = 'sending';
  r.nextLookupAt = undefined;
}

/** LINE Pay's answer to the Refund: settled, refused, or unknown (looked up again on a backoff). */
export function applySendRefund(state: SubscriptionState, result: SendRefundResult, now: number): void {
  const r = head(state);
  switch (result.outcome) {
    case 'refunded': {
      succeed(
        state,
        r,
        {
          refundTransactionId: result.refundTransactionId,
          refundedAt: result.refundTransactionDate ?? iso(now),
          recovered: result.recovered,
        },
        (r.leftBefore ?? 0) - (r.sendAmount ?? 0),
        now,
      );
      return;
    }
    case 'refused':
      refuse(state, r, result.code, result.message, now);
      return;
    case 'unknown':
      refundOutcomeUnknown(state, result.reason, now);
      return;
  }
}

/** No answer (or the activity gave up): only a lookup may settle it now. */
export function refundOutcomeUnknown(state: SubscriptionState, reason: string, now: number): void {
  const r = head(state);
  r.phase = 'prepare';
  r.lastError = reason;
  r.nextLookupAt = iso(now + LOOKUP_BACKOFF_MS[Math.min(r.lookups, LOOKUP_BACKOFF_MS.length - 1)]!);
}
