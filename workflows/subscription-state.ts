/**
 * The subscription's state and the pure rules over it: transitions along the declared table with
 * their audit trail and events, calendar and dunning arithmetic, and the read model. Everything the
 * workflow must remember lives here, requests included, so continue-as-new carries it whole.
 * Unit-testable without Temporal.
 */
import type { ApprovalPoll, ConfirmSeen } from './approval-poll.js';
import { type BillingCalendar, dueAt, firstCycleDueAtOrAfter, parseInterval } from './billing-calendar.js';
import { billingWindowInstant } from './billing-window.js';
import { type Balance, cycleCharge } from './credit-balance.js';
import { parseDuration } from './duration.js';
import type {
  AuditEntry,
  BlockedStep,
  ChargeRecord,
  ConfirmResult,
  DunningState,
  NeedsAttention,
  PlanChange,
  Reservation,
  SubscriptionStatus,
  SubscriptionView,
  UnresolvedCharge,
} from './messages.js';
import { TERMINAL_STATUSES } from './messages.js';
import type { OneOffState } from './one-off-charge.js';
import { chargeOrderId, earlierChargeOrderIds } from './order-id.js';
import type { RefundBook } from './refund.js';
import type { RegKeyHealth } from './regkey-health.js';
import {
  eventId,
  ledgerInstanceKey,
  type SubscriptionEvent,
  type SubscriptionEventType,
} from './subscription-event.js';
import type { Actor, Currency, NormalizedSubscriptionInput } from './subscription-input.js';
import { canTransition, IllegalTransitionError } from './subscription-machine.js';
import type { TrialState } from './trial.js';

const MAX_CHARGES_KEPT = 24;
const MAX_AUDIT_KEPT = 60;
const MAX_SKIPPED_KEPT = 24;
const MAX_APPLIED_KEPT = 32;
const MAX_CONFIRM_RESULTS_KEPT = 4;

/** A LINE Pay payment URL lives 20 minutes. */
export const RESERVATION_LIFETIME_MS = 20 * 60_000;
/** Payment links per cycle: each is a LINE Pay Request, spent from the channel's rate limit. */
export const MAX_RESERVATIONS_PER_CYCLE = 10;

/** Limits the workflow enforces whatever the caller sends; carried in state. */
export interface SubscriptionLimits {
  /** A plan increase above this share of the current amount needs the customer's re-approval. */
  planIncreaseConsentShare: number;
}
export const DEFAULT_LIMITS: SubscriptionLimits = { planIncreaseConsentShare: 0.2 };

/** A charge of one cycle, from creation to settlement: it survives continue-as-new. */
export interface ChargeAttempt {
  cycle: number;
  /** Definite failed attempts before this one: the `-a<k>` of the orderId. */
  attempt: number;
  orderId: string;
  amount: number;
  currency: Currency;
  productName: string;
  dueAt: string;
  /** Credit balance and carried proration this charge settles when paid (`amount` already nets them). */
  creditApplied?: number | undefined;
  dueApplied?: number | undefined;
  /**
   * `sending`: the next step sends (or re-sends, same orderId); `unknown`: sent, no answer, look up;
   * `order_used`: 1172 and no payment listed, look up until Details catches up, then count it failed.
   */
  phase: 'sending' | 'unknown' | 'order_used';
  /** True once a request may have reached LINE Pay: from then on only a lookup may settle it. */
  sent: boolean;
  /** Earlier orderIds of this cycle were looked up and none was paid (attempt > 0 only). */
  priorsChecked: boolean;
  since: string;
  lookups: number;
  nextLookupAt?: string | undefined;
  lastError?: string | undefined;
}

/** Requests accepted by a handler and not yet carried out by the main loop. */
export interface PendingRequests {
  /** Orders the requests: the one accepted first is served first. */
  seq: number;
  confirm?: { transactionId: string; orderId: string; reservation: Reservation; seq: number } | undefined;
  approvalCancel?: { transactionId: string; seq: number } | undefined;
  cancelNow?: { actor: Actor; reason: string; seq: number; requestId?: string | undefined } | undefined;
  retryNow?: boolean | undefined;
  reservationWanted?: boolean | undefined;
}

/** Everything the workflow knows; carried whole across continue-as-new. */
export interface SubscriptionState {
  input: NormalizedSubscriptionInput;
  instanceId: string;
  limits: SubscriptionLimits;
  status: SubscriptionStatus;
  plan: { productName: string; amount: number; currency: Currency };
  pendingPlanChange?: (PlanChange & { needsConsent?: boolean }) | undefined;
  /** Set at approval: where every due date is computed from. */
  calendar?: { anchor: string; firstCycle: number } | undefined;
  /** The cycle being billed, or next to bill. */
  cycle: number;
  paidCycles: number;
  nextChargeAt?: string | undefined;
  reservation?: Reservation | undefined;
  /** Reservations made for the current cycle (their orderIds end in -r1, -r2, …). */
  reservationsForCycle: number;
  reapprovalDeadline?: string | undefined;
  sealedRegKey?: string | undefined;
  regKeyMasked?: string | undefined;
  /** Pre-charge regKey checks (regkey-health.ts). */
  regKeyHealth?: RegKeyHealth | undefined;
  /** Check-status polls of the current reservation, for an approval whose browser never returns. */
  approvalPoll?: ApprovalPoll | undefined;
  /** Confirms accepted, by payment request: a late or repeated one for the same ids shares the answer. */
  confirmsSeen?: ConfirmSeen[] | undefined;
  /** Set at a trial's approval (trial.ts); stays for the record once the trial is over. */
  trial?: TrialState | undefined;
  /** The held regKey must be expired at LINE Pay before anything else happens. */
  retireRegKey: boolean;
  dunning?: DunningState | undefined;
  charge?: ChargeAttempt | undefined;
  /** A payment that bought nothing (a Confirm without a usable regKey) to look up and refund. */
  refundDue?: { orderId: string; amount: number; currency: Currency } | undefined;
  /** Why the pending confirm failed; its answer goes out once `refundDue` is settled. */
  confirmFailure?: string | undefined;
  /** Earlier orderIds of a cycle to look up before a new attempt or a re-approval. */
  priorLookup?: { cycle: number; orderIds: string[]; amount: number } | undefined;
  blocked?: BlockedStep | undefined;
  attention?: NeedsAttention | undefined;
  pausedAt?: string | undefined;
  resumeAt?: string | undefined;
  /** Cancel at period end: billing stops at this instant instead of charging. */
  cancelAt?: string | undefined;
  cancelAtRequest?: { actor: Actor; reason: string } | undefined;
  canceledAt?: string | undefined;
  cancelReason?: string | undefined;
  requests: PendingRequests;
  /** Answers of confirms, by the request's seq, for the handlers waiting on them. */
  confirmResults: { seq: number; result: ConfirmResult }[];
  /** Lifecycle updates already applied, by request id: a repeat gets the first answer. */
  applied: { requestId: string; result: unknown }[];
  /** paymentLink requests answered; the first one created the subscription. */
  linksIssued: number;
  events: { nextSequence: number; outbox: SubscriptionEvent[] };
  skippedCycles: number[];
  charges: ChargeRecord[];
  totalCharged: number;
  /** Refund requests waiting and answered (refund.ts); absent until the first. */
  refunds?: RefundBook | undefined;
  /** One-off charges queued, under way and recently settled (one-off-charge.ts); absent until the first. */
  oneOffs?: OneOffState | undefined;
  /** Credit and carried proration from plan changes (credit-balance.ts); absent means none. */
  balance?: Balance | undefined;
  audit: AuditEntry[];
  createdAt: string;
}

export function initialState(
  input: NormalizedSubscriptionInput,
  instanceId: string,
  now: number,
  limits: SubscriptionLimits = DEFAULT_LIMITS,
): SubscriptionState {
  const state: SubscriptionState = {
    input,
    instanceId,
    limits,
    status: 'pending_approval',
    plan: { productName: input.productName, amount: input.amount, currency: input.currency },
    cycle: 0,
    paidCycles: 0,
    reservationsForCycle: 0,
    retireRegKey: false,
    requests: { seq: 0 },
    confirmResults: [],
    applied: [],
    linksIssued: 0,
    events: { nextSequence: 1, outbox: [] },
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

export function awaitingApproval(state: SubscriptionState): boolean {
  return state.status === 'pending_approval' || state.status === 'reapproval_required';
}

/** Appends an event with the next sequence number; the ledger activity stores it. */
export function emit(
  state: SubscriptionState,
  type: SubscriptionEventType,
  data: Record<string, unknown>,
  now: number,
): SubscriptionEvent {
  const sequence = state.events.nextSequence;
  state.events.nextSequence += 1;
  const instance = ledgerInstanceKey(state.input.subscriptionId, state.instanceId);
  const event: SubscriptionEvent = {
    id: eventId(instance, sequence),
    type,
    subscriptionId: state.input.subscriptionId,
    instanceId: instance,
    sequence,
    occurredAt: iso(now),
    data,
  };
  state.events.outbox.push(event);
  return event;
}

/** The event entering a status raises, if any. */
function statusEvent(from: SubscriptionStatus, to: SubscriptionStatus): SubscriptionEventType | undefined {
  if (from === to) return undefined;
  switch (to) {
    case 'trialing':
      return 'subscription.trial_started';
    case 'active':
      return from === 'paused'
        ? 'subscription.resumed'
        : from === 'past_due'
          ? undefined
          : 'subscription.activated';
    case 'past_due':
      return 'subscription.past_due';
    case 'reapproval_required':
      return 'subscription.reapproval_required';
    case 'paused':
      return 'subscription.paused';
    case 'canceled':
      return 'subscription.canceled';
    case 'completed':
      return 'subscription.completed';
    default:
      return undefined;
  }
}

/**
 * Moves to `to` along the declared table, records who and why, and raises the status's event.
 * A same-status entry records a change that keeps the status (a plan change, a retry).
 */
export function transition(
  state: SubscriptionState,
  to: SubscriptionStatus,
  actor: Actor,
  reason: string,
  now: number,
): void {
  const from = state.status;
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  const entry: AuditEntry = { at: iso(now), from, to, actor, reason };
  if (from !== 'pending_approval') entry.cycle = state.cycle;
  state.audit.push(entry);
  if (state.audit.length > MAX_AUDIT_KEPT) state.audit.splice(0, state.audit.length - MAX_AUDIT_KEPT);
  state.status = to;
  const type = statusEvent(from, to);
  if (type !== undefined) {
    emit(
      state,
      type,
      {
        from,
        to,
        reason,
        actor: actor.kind,
        cycle: state.cycle,
        ...(to === 'canceled' && state.cancelReason ? { cancelReason: state.cancelReason } : {}),
        ...(to === 'trialing' && state.trial ? { trialEndsAt: state.trial.endsAt } : {}),
      },
      now,
    );
  }
}

/** Audits a request that keeps the status whatever it is (a refund), without the transition table. */
export function recordAudit(state: SubscriptionState, actor: Actor, reason: string, now: number): void {
  const entry: AuditEntry = { at: iso(now), from: state.status, to: state.status, actor, reason };
  if (state.status !== 'pending_approval') entry.cycle = state.cycle;
  state.audit.push(entry);
  if (state.audit.length > MAX_AUDIT_KEPT) state.audit.splice(0, state.audit.length - MAX_AUDIT_KEPT);
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

/** When a cycle is charged: its due instant, moved into the subscription's slot of its billing window. */
export function chargeAtIso(state: SubscriptionState, cycle: number): string {
  const due = dueAt(calendarOf(state), cycle);
  const w = state.input.billingWindow;
  if (w === undefined) return iso(due);
  return iso(
    billingWindowInstant(due, state.input.timeZone, w, `${state.input.subscriptionId}:${state.instanceId}`),
  );
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
  state.nextChargeAt = chargeAtIso(state, state.cycle);
}

export function recordCharge(state: SubscriptionState, charge: ChargeRecord, now: number): void {
  state.charges.push(charge);
  if (state.charges.length > MAX_CHARGES_KEPT)
    state.charges.splice(0, state.charges.length - MAX_CHARGES_KEPT);
  state.totalCharged += charge.amount;
  state.paidCycles += 1;
  emit(
    state,
    'charge.succeeded',
    {
      cycle: charge.cycle,
      orderId: charge.orderId,
      // Empty only for a cycle paid wholly by credit: no LINE Pay payment exists.
      transactionId: charge.transactionId || null,
      amount: charge.amount,
      currency: charge.currency,
      kind: charge.kind,
      status: 'succeeded',
      returnCode: charge.transactionId ? '0000' : null,
      recovered: charge.recovered,
      ...(charge.creditApplied ? { creditApplied: charge.creditApplied } : {}),
    },
    now,
  );
}

/** Advances to the next cycle after `state.cycle` was paid. */
export function advanceCycle(state: SubscriptionState): void {
  state.cycle += 1;
  state.dunning = undefined;
  state.reservationsForCycle = 0;
  state.requests.retryNow = undefined;
  state.nextChargeAt = chargeAtIso(state, state.cycle);
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

/** Records a definite failed attempt; returns when to retry, or `undefined` when dunning is exhausted. */
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

/** Definite failed attempts of the current cycle so far: the attempt number in the orderId. */
export function declinedAttempts(state: SubscriptionState): number {
  return state.dunning && state.dunning.cycle === state.cycle ? state.dunning.declines : 0;
}

/** Opens the charge of the current cycle (plan changes due by now apply first). */
export function openCharge(state: SubscriptionState, now: number): ChargeAttempt {
  const cycle = state.cycle;
  if (applyDuePlanChange(state, cycle)) {
    transition(state, state.status, { kind: 'system' }, `plan change effective from cycle ${cycle}`, now);
  }
  const attempt = declinedAttempts(state);
  const net = cycleCharge(state.plan.amount, state.balance);
  const charge: ChargeAttempt = {
    cycle,
    attempt,
    orderId: chargeOrderId(state.input.subscriptionId, state.instanceId, cycle, attempt),
    amount: net.amount,
    ...(net.creditApplied > 0 ? { creditApplied: net.creditApplied } : {}),
    ...(net.dueApplied > 0 ? { dueApplied: net.dueApplied } : {}),
    currency: state.plan.currency,
    productName: state.plan.productName,
    dueAt: state.nextChargeAt ?? iso(now),
    phase: 'sending',
    sent: false,
    priorsChecked: attempt === 0,
    since: iso(now),
    lookups: 0,
  };
  state.charge = charge;
  state.requests.retryNow = undefined;
  if (attempt > 0) {
    state.priorLookup = {
      cycle,
      orderIds: earlierChargeOrderIds(state.input.subscriptionId, state.instanceId, cycle, attempt),
      amount: charge.amount,
    };
  }
  return charge;
}

/** The first cycle a plan change can touch: never one whose charge has started. */
export function planChangeEffectiveCycle(state: SubscriptionState): number {
  const busy =
    state.charge !== undefined || state.dunning !== undefined || state.status === 'reapproval_required';
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
  state.nextChargeAt = chargeAtIso(state, next);
  state.pausedAt = undefined;
  state.resumeAt = undefined;
  return skipped;
}

/** Flags something only an operator can settle (once; the first reason stays). */
export function flagAttention(
  state: SubscriptionState,
  kind: NeedsAttention['kind'],
  reason: string,
  now: number,
): void {
  if (state.attention?.kind === kind) return;
  state.attention = { since: iso(now), reason, kind };
  emit(state, 'subscription.needs_attention', { kind, reason, cycle: state.cycle }, now);
}

export function clearAttention(state: SubscriptionState, kind: NeedsAttention['kind']): void {
  if (state.attention?.kind === kind) state.attention = undefined;
}

export function rememberApplied(
  state: SubscriptionState,
  requestId: string | undefined,
  result: unknown,
): void {
  if (requestId === undefined) return;
  state.applied.push({ requestId, result });
  if (state.applied.length > MAX_APPLIED_KEPT)
    state.applied.splice(0, state.applied.length - MAX_APPLIED_KEPT);
}

export function appliedResult(
  state: SubscriptionState,
  requestId: string | undefined,
): { result: unknown } | undefined {
  if (requestId === undefined) return undefined;
  return state.applied.find((a) => a.requestId === requestId);
}

export function rememberConfirmResult(state: SubscriptionState, seq: number, result: ConfirmResult): void {
  state.confirmResults.push({ seq, result });
  if (state.confirmResults.length > MAX_CONFIRM_RESULTS_KEPT)
    state.confirmResults.splice(0, state.confirmResults.length - MAX_CONFIRM_RESULTS_KEPT);
}

export function reservationFresh(state: SubscriptionState, now: number): boolean {
  return state.reservation !== undefined && Date.parse(state.reservation.expiresAt) > now;
}

function unresolvedView(charge: ChargeAttempt | undefined): UnresolvedCharge | undefined {
  if (!charge || charge.phase === 'sending' || !charge.sent) return undefined;
  const u: UnresolvedCharge = {
    cycle: charge.cycle,
    orderId: charge.orderId,
    phase: charge.phase,
    since: charge.since,
    lookups: charge.lookups,
  };
  if (charge.nextLookupAt !== undefined) u.nextLookupAt = charge.nextLookupAt;
  if (charge.lastError !== undefined) u.lastError = charge.lastError;
  return u;
}

export function toView(state: SubscriptionState): SubscriptionView {
  const v: SubscriptionView = {
    subscriptionId: state.input.subscriptionId,
    customerId: state.input.customerId,
    instanceId: state.instanceId,
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
  const pending = state.pendingPlanChange
    ? {
        amount: state.pendingPlanChange.amount,
        productName: state.pendingPlanChange.productName,
        effectiveCycle: state.pendingPlanChange.effectiveCycle,
      }
    : undefined;
  const optional = {
    maxCycles: state.input.maxCycles,
    anchor: state.calendar?.anchor,
    nextChargeAt: isTerminal(state.status) ? undefined : state.nextChargeAt,
    pendingPlanChange: pending,
    reservation: state.reservation,
    regKeyMasked: state.regKeyMasked,
    trial: state.trial ? { ...state.trial, verification: { ...state.trial.verification } } : undefined,
    dunning: state.dunning,
    unresolvedCharge: unresolvedView(state.charge),
    needsAttention: state.attention,
    blocked: state.blocked,
    regKeyCheck: state.regKeyHealth?.last,
    pausedAt: state.pausedAt,
    resumeAt: state.resumeAt,
    cancelAt: state.cancelAt,
    canceledAt: state.canceledAt,
    cancelReason: state.cancelReason,
    totalRefunded: state.refunds?.totalRefunded,
    oneOffs:
      state.oneOffs?.settled.length || state.oneOffs?.pending.length
        ? [
            ...state.oneOffs.settled.map((c) => ({ ...c })),
            ...state.oneOffs.pending.map((p) => ({ ...p.charge })),
          ]
        : undefined,
    creditBalance: state.balance?.credit || undefined,
    prorationDue: state.balance?.due || undefined,
  };
  for (const [k, value] of Object.entries(optional)) {
    if (value !== undefined) (v as unknown as Record<string, unknown>)[k] = value;
  }
  return v;
}
