/**
 * The subscription's state and the pure rules over it: transitions with their audit trail, the
 * validators behind every update, dunning and plan-change arithmetic. The workflow is a thin script
 * on top; everything here is unit-testable without Temporal.
 */
import { ApplicationFailure } from '@temporalio/common';
import { type BillingCalendar, dueAt, firstCycleDueAtOrAfter, parseInterval } from './billing-calendar.js';
import { parseDuration } from './duration.js';
import {
  type ApprovalCancelInput,
  type AuditEntry,
  type CancelInput,
  type ChangePlanInput,
  type ChargeRecord,
  type ConfirmInput,
  type DunningState,
  type PauseInput,
  type PaymentLinkInput,
  type PlanChange,
  REJECTION_TYPES,
  type Reservation,
  type ResumeInput,
  type RetryNowInput,
  type SubscriptionStatus,
  type SubscriptionView,
  TERMINAL_STATUSES,
  type UnresolvedCharge,
} from './messages.js';
import type { Actor, Currency, NormalizedSubscriptionInput } from './subscription-input.js';

const MAX_CHARGES_KEPT = 24;
const MAX_AUDIT_KEPT = 60;
const MAX_SKIPPED_KEPT = 24;
const MAX_AMOUNT = 100_000_000;

/** Everything the workflow knows; carried whole across continue-as-new. */
export interface SubscriptionState {
  input: NormalizedSubscriptionInput;
  status: SubscriptionStatus;
  plan: { productName: string; amount: number; currency: Currency };
  pendingPlanChange?: PlanChange | undefined;
  /** Set at approval: where every due date is computed from. */
  calendar?: { anchor: string; firstCycle: number } | undefined;
  /** The cycle being billed, or next to bill. */
  cycle: number;
  paidCycles: number;
  nextChargeAt?: string | undefined;
  reservation?: Reservation | undefined;
  /** Re-approval reservations made for the current cycle (their orderIds end in -r1, -r2, …). */
  reservationsForCycle: number;
  reapprovalDeadline?: string | undefined;
  sealedRegKey?: string | undefined;
  regKeyMasked?: string | undefined;
  dunning?: DunningState | undefined;
  unresolved?: UnresolvedCharge | undefined;
  pausedAt?: string | undefined;
  resumeAt?: string | undefined;
  /** Cancel at period end: billing stops at this instant instead of charging. */
  cancelAt?: string | undefined;
  cancelAtRequest?: { actor: Actor; reason: string } | undefined;
  canceledAt?: string | undefined;
  cancelReason?: string | undefined;
  skippedCycles: number[];
  charges: ChargeRecord[];
  totalCharged: number;
  audit: AuditEntry[];
  createdAt: string;
}

export function initialState(input: NormalizedSubscriptionInput, now: number): SubscriptionState {
  const state: SubscriptionState = {
    input,
    status: 'pending_approval',
    plan: { productName: input.productName, amount: input.amount, currency: input.currency },
    cycle: 0,
    paidCycles: 0,
    reservationsForCycle: 0,
    skippedCycles: [],
    charges: [],
    totalCharged: 0,
    audit: [],
    createdAt: iso(now),
  };
  state.audit.push({
    at: iso(now),
    from: null,
    to: 'pending_approval',
    actor: input.actor,
    reason: 'subscription created',
  });
  return state;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isTerminal(status: SubscriptionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Moves to `to` and records who and why. A same-status entry records a non-status change (plan). */
export function transition(
  state: SubscriptionState,
  to: SubscriptionStatus,
  actor: Actor,
  reason: string,
  now: number,
): void {
  const entry: AuditEntry = { at: iso(now), from: state.status, to, actor, reason };
  if (state.status !== 'pending_approval') entry.cycle = state.cycle;
  state.audit.push(entry);
  if (state.audit.length > MAX_AUDIT_KEPT) state.audit.splice(0, state.audit.length - MAX_AUDIT_KEPT);
  state.status = to;
}

export function calendarOf(state: SubscriptionState): BillingCalendar {
  if (!state.calendar) throw new Error('the billing calendar starts at approval');
  return {
    anchor: Date.parse(state.calendar.anchor),
    firstCycle: state.calendar.firstCycle,
    interval: parseInterval(state.input.interval),
    timeZone: state.input.timeZone,
  };
}

export function dueAtIso(state: SubscriptionState, cycle: number): string {
  return iso(dueAt(calendarOf(state), cycle));
}

/**
 * Starts the calendar at approval. Without a billing anchor, cycle 0 is the approval payment and
 * cycle n falls due at approval + n × interval. With one, cycle 1 falls due at the anchor; cycles whose
 * dates already passed when the customer approved are covered by the approval payment.
 */
export function startCalendar(state: SubscriptionState, approvedAt: number): void {
  if (state.input.billingAnchor === undefined) {
    state.calendar = { anchor: iso(approvedAt), firstCycle: 0 };
    state.cycle = 1;
  } else {
    state.calendar = { anchor: state.input.billingAnchor, firstCycle: 1 };
    state.cycle = firstCycleDueAtOrAfter(calendarOf(state), approvedAt + 1, 1);
  }
  state.nextChargeAt = dueAtIso(state, state.cycle);
}

export function recordCharge(state: SubscriptionState, charge: ChargeRecord): void {
  state.charges.push(charge);
  if (state.charges.length > MAX_CHARGES_KEPT)
    state.charges.splice(0, state.charges.length - MAX_CHARGES_KEPT);
  state.totalCharged += charge.amount;
  state.paidCycles += 1;
}

/** Advances to the next cycle after `state.cycle` was paid. */
export function advanceCycle(state: SubscriptionState): void {
  state.cycle += 1;
  state.dunning = undefined;
  state.nextChargeAt = dueAtIso(state, state.cycle);
}

export function hasReachedMaxCycles(state: SubscriptionState): boolean {
  return state.input.maxCycles !== undefined && state.paidCycles >= state.input.maxCycles;
}

/** The plan a cycle is charged at: a pending change applies from its effective cycle on. */
export function applyDuePlanChange(state: SubscriptionState, cycle: number): boolean {
  const change = state.pendingPlanChange;
  if (!change || change.effectiveCycle > cycle) return false;
  state.plan = { ...state.plan, amount: change.amount, productName: change.productName };
  state.pendingPlanChange = undefined;
  return true;
}

/** Records a definite soft decline; returns when to retry, or `undefined` when dunning is exhausted. */
export function recordSoftDecline(
  state: SubscriptionState,
  now: number,
  returnCode: string | undefined,
  message: string,
): string | undefined {
  const d: DunningState =
    state.dunning && state.dunning.cycle === state.cycle
      ? state.dunning
      : { cycle: state.cycle, declines: 0, firstDeclineAt: iso(now) };
  d.declines += 1;
  d.lastMessage = message;
  if (returnCode !== undefined) d.lastReturnCode = returnCode;
  state.dunning = d;
  const offset = state.input.dunningSchedule[d.declines - 1];
  if (offset === undefined) {
    d.nextRetryAt = undefined;
    return undefined;
  }
  const retryAt = Math.max(now, Date.parse(d.firstDeclineAt) + parseDuration(offset));
  d.nextRetryAt = iso(retryAt);
  return d.nextRetryAt;
}

/** Definite declines of the current cycle so far: the attempt number in the orderId. */
export function declinedAttempts(state: SubscriptionState): number {
  return state.dunning && state.dunning.cycle === state.cycle ? state.dunning.declines : 0;
}

// ---- validators: throw an ApplicationFailure to reject an update without touching history ----

function reject(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

function checkActor(actor: unknown): void {
  const a = actor as Actor | undefined;
  if (!a || typeof a !== 'object' || !['customer', 'merchant', 'operator', 'system'].includes(a.kind)) {
    reject(REJECTION_TYPES.invalidRequest, 'actor.kind must be customer, merchant, operator or system');
  }
}

function checkNotTerminal(state: SubscriptionState): void {
  if (isTerminal(state.status)) reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
}

export function validateConfirm(state: SubscriptionState, input: ConfirmInput, confirming: boolean): void {
  if (!input || typeof input.transactionId !== 'string' || typeof input.orderId !== 'string') {
    reject(REJECTION_TYPES.invalidRequest, 'transactionId and orderId are required');
  }
  if (state.status !== 'pending_approval' && state.status !== 'reapproval_required') {
    reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}, not awaiting approval`);
  }
  const r = state.reservation;
  if (!r || r.transactionId !== input.transactionId || r.orderId !== input.orderId) {
    reject(
      REJECTION_TYPES.mismatch,
      'transactionId and orderId do not match this subscription’s payment request',
    );
  }
  if (confirming) reject(REJECTION_TYPES.invalidState, 'this approval is already being confirmed');
}

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
}

export function validateCancelApproval(
  state: SubscriptionState,
  input: ApprovalCancelInput,
  confirming: boolean,
): void {
  if (state.status !== 'pending_approval' && state.status !== 'reapproval_required') {
    reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
  }
  const r = state.reservation;
  if (input?.transactionId !== undefined && r && input.transactionId !== r.transactionId) {
    reject(REJECTION_TYPES.mismatch, 'transactionId does not match this subscription');
  }
  if (confirming) reject(REJECTION_TYPES.invalidState, 'approval is being confirmed');
}

export function validateCancel(state: SubscriptionState, input: CancelInput): void {
  checkActor(input?.actor);
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

export function validatePause(state: SubscriptionState, input: PauseInput, now: number): void {
  checkActor(input?.actor);
  if (state.status !== 'active')
    reject(REJECTION_TYPES.invalidState, `only an active subscription can pause (it is ${state.status})`);
  if (input.resumeAt !== undefined) {
    const t = Date.parse(input.resumeAt);
    if (typeof input.resumeAt !== 'string' || Number.isNaN(t))
      reject(REJECTION_TYPES.invalidRequest, 'resumeAt must be an ISO-8601 instant');
    if (t <= now) reject(REJECTION_TYPES.invalidRequest, 'resumeAt must be in the future');
  }
}

export function validateResume(state: SubscriptionState, input: ResumeInput): void {
  checkActor(input?.actor);
  if (state.status !== 'paused')
    reject(REJECTION_TYPES.invalidState, `only a paused subscription can resume (it is ${state.status})`);
}

export function validateChangePlan(state: SubscriptionState, input: ChangePlanInput): void {
  checkActor(input?.actor);
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
  if (
    input.amount !== undefined &&
    (!Number.isSafeInteger(input.amount) || input.amount <= 0 || input.amount > MAX_AMOUNT)
  ) {
    reject(REJECTION_TYPES.invalidRequest, "amount must be a positive integer in the currency's unit");
  }
  if (
    input.productName !== undefined &&
    (typeof input.productName !== 'string' || !input.productName.trim() || input.productName.length > 4000)
  ) {
    reject(REJECTION_TYPES.invalidRequest, 'productName must be 1-4000 characters');
  }
}

export function validateRetryNow(state: SubscriptionState, input: RetryNowInput): void {
  checkActor(input?.actor);
  if (state.status !== 'past_due')
    reject(REJECTION_TYPES.invalidState, `retryNow is for subscriptions in dunning (it is ${state.status})`);
}

/** The first cycle a plan change can touch: never one whose charge has started. */
export function planChangeEffectiveCycle(state: SubscriptionState, chargeInFlight: boolean): number {
  const busy =
    chargeInFlight ||
    state.dunning !== undefined ||
    state.unresolved !== undefined ||
    state.status === 'reapproval_required';
  return busy ? state.cycle + 1 : state.cycle;
}

/** Skips cycles that fell due while paused; returns the skipped cycle numbers. */
export function resumeCalendar(state: SubscriptionState, now: number): number[] {
  const next = firstCycleDueAtOrAfter(calendarOf(state), now, state.cycle);
  const skipped: number[] = [];
  for (let c = state.cycle; c < next; c += 1) skipped.push(c);
  state.skippedCycles.push(...skipped);
  if (state.skippedCycles.length > MAX_SKIPPED_KEPT)
    state.skippedCycles.splice(0, state.skippedCycles.length - MAX_SKIPPED_KEPT);
  state.cycle = next;
  state.nextChargeAt = dueAtIso(state, next);
  state.pausedAt = undefined;
  state.resumeAt = undefined;
  return skipped;
}

export function toView(state: SubscriptionState): SubscriptionView {
  const v: SubscriptionView = {
    subscriptionId: state.input.subscriptionId,
    customerId: state.input.customerId,
    status: state.status,
    plan: { ...state.plan, interval: state.input.interval, timeZone: state.input.timeZone },
    cycle: state.cycle,
    paidCycles: state.paidCycles,
    skippedCycles: [...state.skippedCycles],
    charges: state.charges.map((c) => ({ ...c })),
    totalCharged: state.totalCharged,
    audit: state.audit.map((a) => ({ ...a })),
    createdAt: state.createdAt,
    requestFingerprint: state.input.requestFingerprint,
  };
  const optional = {
    maxCycles: state.input.maxCycles,
    anchor: state.calendar?.anchor,
    nextChargeAt: isTerminal(state.status) ? undefined : state.nextChargeAt,
    pendingPlanChange: state.pendingPlanChange,
    reservation: state.reservation,
    regKeyMasked: state.regKeyMasked,
    dunning: state.dunning,
    unresolvedCharge: state.unresolved,
    pausedAt: state.pausedAt,
    resumeAt: state.resumeAt,
    cancelAt: state.cancelAt,
    canceledAt: state.canceledAt,
    cancelReason: state.cancelReason,
  };
  for (const [k, value] of Object.entries(optional)) {
    if (value !== undefined) (v as unknown as Record<string, unknown>)[k] = value;
  }
  return v;
}
