/**
 * The subscription workflow's public surface: updates, queries and the shapes they carry. Imported by
 * the workflow, the client library and the HTTP service alike, so the two sides cannot drift.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor, Currency } from './subscription-input.js';
import type { TrialState } from './trial.js';

export { REJECTION_TYPES } from './failure-types.js';

export const SUBSCRIPTION_STATUSES = [
  'pending_approval',
  /** Approved, regKey held, no period paid yet: the first charge falls at the trial's end. */
  'trialing',
  'active',
  'past_due',
  'paused',
  'reapproval_required',
  'canceled',
  'approval_expired',
  'approval_canceled',
  'completed',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const TERMINAL_STATUSES: readonly SubscriptionStatus[] = [
  'canceled',
  'approval_expired',
  'approval_canceled',
  'completed',
];

export function workflowIdFor(subscriptionId: string): string {
  return `subscription-${subscriptionId}`;
}

export interface PaymentUrl {
  web: string;
  app: string;
}

/** A PREAPPROVED Request waiting for the customer: the first approval or a re-approval. */
export interface Reservation {
  kind: 'approval' | 'reapproval';
  cycle: number;
  orderId: string;
  transactionId: string;
  amount: number;
  currency: Currency;
  paymentUrl: PaymentUrl;
  createdAt: string;
  /** When LINE Pay stops accepting this payment URL (20 minutes after the Request). */
  expiresAt: string;
}

export interface ChargeRecord {
  cycle: number;
  orderId: string;
  /** 19-digit LINE Pay id, kept as a string end to end. */
  transactionId: string;
  amount: number;
  currency: Currency;
  productName: string;
  /** `credit`: a cycle paid wholly from the credit balance; no LINE Pay payment, `transactionId` is empty. */
  kind: 'approval' | 'recurring' | 'reapproval' | 'credit';
  /** Credit balance used by this cycle: the plan amount less `amount` (plus any carried proration). */
  creditApplied?: number;
  /** When the cycle fell due (recurring charges). */
  dueAt?: string;
  /** Workflow time at which we learned of the charge. */
  chargedAt: string;
  /** LINE Pay's own transactionDate. */
  transactionDate?: string;
  /** Found by looking the order up after an unknown outcome or 1172. */
  recovered: boolean;
  /** Refunds of this charge, oldest first (refund.ts). */
  refunds?: ChargeRefund[];
  /** Sum of `refunds`; what is left to refund is `amount - refundedAmount`. */
  refundedAmount?: number;
}

/** One refund of a charge, as the charge's record shows it. */
export interface ChargeRefund {
  requestId: string;
  refundTransactionId: string;
  amount: number;
  refundedAt: string;
  reason: string;
  /** Found in Payment Details' refundList after an unknown outcome. */
  recovered: boolean;
}

export interface AuditEntry {
  at: string;
  from: SubscriptionStatus | null;
  to: SubscriptionStatus;
  actor: Actor;
  reason: string;
  cycle?: number;
}

export interface DunningState {
  cycle: number;
  /** Definite soft declines of this cycle so far. */
  declines: number;
  firstDeclineAt: string;
  lastReturnCode?: string;
  lastMessage?: string;
  nextRetryAt?: string | undefined;
}

/** A charge sent whose outcome LINE Pay has not told us yet; billing waits on it, never on a new orderId. */
export interface UnresolvedCharge {
  cycle: number;
  orderId: string;
  /** `unknown`: no answer; `order_used`: 1172 with no payment listed under the orderId. */
  phase: 'unknown' | 'order_used';
  since: string;
  lookups: number;
  nextLookupAt?: string;
  lastError?: string;
}

/** Something only an operator can settle; searchable as `NeedsAttention = true`. */
export interface NeedsAttention {
  since: string;
  reason: string;
  /** `charge`: an outcome unresolved past its bound (settle with `settleCharge`); `blocked`: LINE Pay refuses our channel. */
  kind: 'charge' | 'blocked' | 'mismatch';
}

/** A step LINE Pay keeps refusing for configuration reasons; retried on a timer that a cancel interrupts. */
export interface BlockedStep {
  step: string;
  since: string;
  retryAt: string;
  attempts: number;
  message: string;
}

export interface PlanChange {
  amount: number;
  productName: string;
  effectiveCycle: number;
}

/** Read model of a subscription; contains no secrets (the regKey appears only masked). */
export interface SubscriptionView {
  subscriptionId: string;
  customerId: string;
  status: SubscriptionStatus;
  plan: { productName: string; amount: number; currency: Currency; interval: string; timeZone: string };
  maxCycles?: number;
  /** Cycle currently being billed or next to bill. */
  cycle: number;
  paidCycles: number;
  anchor?: string;
  nextChargeAt?: string;
  pendingPlanChange?: PlanChange;
  reservation?: Reservation;
  regKeyMasked?: string;
  /** A free trial: when it ends (the first charge) and how the approval payment was given back. */
  trial?: TrialState;
  dunning?: DunningState;
  unresolvedCharge?: UnresolvedCharge;
  needsAttention?: NeedsAttention;
  blocked?: BlockedStep;
  /** The latest Check regKey before a charge (plans every 6 months or more, after a long pause). */
  regKeyCheck?: { at: string; cycle: number; health: 'live' | 'dead' | 'unknown'; returnCode?: string };
  pausedAt?: string;
  resumeAt?: string;
  cancelAt?: string;
  canceledAt?: string;
  cancelReason?: string;
  skippedCycles: number[];
  charges: ChargeRecord[];
  totalCharged: number;
  /** Refunded so far by this subscription instance (absent before the first refund). */
  totalRefunded?: number;
  audit: AuditEntry[];
  createdAt: string;
  requestFingerprint: string;
  /** Fixed at the first run; part of every orderId, so a reused subscriptionId never meets old orders. */
  instanceId: string;
  /** One-off charges: those pending, then the most recent settled ones. */
  oneOffs?: OneOffCharge[];
  /** Credit from prorated downgrades, used up by later cycle charges. */
  creditBalance?: number;
  /** Prorated upgrade amounts carried to the next cycle's charge. */
  prorationDue?: number;
}

// ---- updates -------------------------------------------------------------------------------

export interface PaymentLinkInput {
  /** Fingerprint of the create request; a different request under the same subscriptionId is a conflict. */
  requestFingerprint?: string;
}
export interface PaymentLinkResult {
  subscriptionId: string;
  /** True only for the request that started the subscription; a repeat create sees false. */
  created: boolean;
  status: SubscriptionStatus;
  paymentUrl?: PaymentUrl;
  expiresAt?: string;
}

/** What LINE Pay appends to our confirmUrl after the customer approves. */
export interface ConfirmInput {
  transactionId: string;
  orderId: string;
}
export interface ConfirmResult {
  status: SubscriptionStatus;
  /** Set when the approval payment went through. */
  charge?: ChargeRecord;
  nextChargeAt?: string;
  message: string;
  /** A payment the Confirm took without leaving a usable regKey, refunded. */
  refund?: { transactionId: string; refundTransactionId?: string };
}

export interface ApprovalCancelInput {
  transactionId?: string;
  orderId?: string;
}

export interface CancelInput {
  actor: Actor;
  reason?: string;
  /** Idempotency key: a repeat with the same id returns the first answer and changes nothing. */
  requestId?: string;
  /** Keep billing until the current period ends, then cancel instead of charging. */
  atPeriodEnd?: boolean;
  /** With a cancel now: refund the last period's charge, its unused share (cancel-refund.ts), or nothing. */
  refund?: 'none' | 'last' | 'prorated';
}
export interface CancelResult {
  status: SubscriptionStatus;
  effectiveAt: string;
  /** The refund `refund: last | prorated` made, if any was due. */
  refund?: RefundChargeResult;
}

export interface PauseInput {
  actor: Actor;
  reason?: string;
  /** Idempotency key: a repeat with the same id returns the first answer and changes nothing. */
  requestId?: string;
  /** ISO-8601 instant; without it the subscription stays paused until `resume`. */
  resumeAt?: string;
}
export interface PauseResult {
  pausedAt: string;
  resumeAt?: string;
}

export interface ResumeInput {
  actor: Actor;
  reason?: string;
  /** Idempotency key: a repeat with the same id returns the first answer and changes nothing. */
  requestId?: string;
}
export interface ResumeResult {
  status: SubscriptionStatus;
  nextChargeAt?: string;
  skippedCycles: number[];
}

export interface ChangePlanInput {
  actor: Actor;
  reason?: string;
  /** Idempotency key: a repeat with the same id returns the first answer and changes nothing. */
  requestId?: string;
  amount?: number;
  productName?: string;
  /** Default `none`; see `ProrateMode`. */
  prorate?: ProrateMode;
  /** The instant a `planPreview` used: the change then prorates exactly as previewed. */
  prorationDate?: string;
}
export interface ChangePlanResult {
  effectiveCycle: number;
  effectiveAt?: string;
  plan: { amount: number; productName: string };
  /** With `prorate` other than `none`: the amounts, as `planPreview` gave them. */
  proration?: PlanPreview;
  /** The prorated upgrade charge queued as a one-off (`prorate: "now"`). */
  prorationCharge?: { requestId: string; orderId: string; amount: number };
}

export interface RetryNowInput {
  actor: Actor;
  reason?: string;
  /** Idempotency key: a repeat with the same id returns the first answer and changes nothing. */
  requestId?: string;
}
export interface RetryNowResult {
  cycle: number;
  attemptAt: string;
}

/** Used with update-with-start by `createSubscription`: returns the payment URL once reserved. */
export const paymentLinkUpdate = defineUpdate<PaymentLinkResult, [PaymentLinkInput]>('paymentLink');
/** The confirmUrl webhook: both ids must match the workflow's own reservation. */
export const confirmUpdate = defineUpdate<ConfirmResult, [ConfirmInput]>('confirm');
/** The cancelUrl webhook: the customer backed out on LINE Pay's page. */
export const cancelApprovalUpdate = defineUpdate<{ status: SubscriptionStatus }, [ApprovalCancelInput]>(
  'cancelApproval',
);
export const cancelUpdate = defineUpdate<CancelResult, [CancelInput]>('cancel');
export const pauseUpdate = defineUpdate<PauseResult, [PauseInput]>('pause');
export const resumeUpdate = defineUpdate<ResumeResult, [ResumeInput]>('resume');
export const changePlanUpdate = defineUpdate<ChangePlanResult, [ChangePlanInput]>('changePlan');
export const retryNowUpdate = defineUpdate<RetryNowResult, [RetryNowInput]>('retryNow');

export interface SettleChargeInput {
  actor: Actor;
  reason: string;
  requestId?: string;
  /** What the operator established at LINE Pay for the unresolved charge. */
  outcome: 'paid' | 'failed';
  /** Required for `paid`: the LINE Pay transactionId of the payment. */
  transactionId?: string;
}
export interface SettleChargeResult {
  status: SubscriptionStatus;
  cycle: number;
}
/** Operator: settles a charge whose outcome LINE Pay never established (the `needsAttention` flag). */
export const settleChargeUpdate = defineUpdate<SettleChargeResult, [SettleChargeInput]>('settleCharge');

export const stateQuery = defineQuery<SubscriptionView>('state');

// ---- refunds (workflows/refund.ts) -------------------------------------------------------------

export interface RefundChargeInput {
  actor: Actor;
  /** Required idempotency key: the same id never refunds twice, whatever happens in between. */
  requestId: string;
  /** The charge's LINE Pay transactionId (digits, as a string). */
  transactionId: string;
  /** In the currency's unit; absent: everything left to refund. */
  amount?: number;
  reason: string;
}
/** Why LINE Pay or the workflow would not refund; the client's typed error carries it as `code`. */
export type RefundRefusalCode =
  | 'refund_exceeds_remaining'
  | 'charge_already_refunded'
  | 'charge_not_found'
  | 'refund_window_passed'
  /** Any other definite refusal by LINE Pay (state cannot be processed, member cannot transact, …). */
  | 'refund_not_allowed';
export interface RefundChargeResult {
  transactionId: string;
  refundTransactionId: string;
  orderId: string;
  cycle?: number;
  amount: number;
  currency: Currency;
  /** Left to refund on the charge after this refund. */
  remaining: number;
  refundedAt: string;
  /** Found by lookup after LINE Pay's answer was lost. */
  recovered: boolean;
}
/** Full or partial refund of a charge of this subscription, known by its transactionId. */
export const refundChargeUpdate = defineUpdate<RefundChargeResult, [RefundChargeInput]>('refundCharge');

// ---- one-off charges and proration (workflows/one-off-charge.ts, workflows/proration.ts) ---------

export interface OneOffChargeInput {
  actor: Actor;
  /** Required: the charge's identity. Its orderId is derived from it, so a repeat never charges twice. */
  requestId: string;
  /** In the currency's unit, within the plan's per-currency limit. */
  amount: number;
  productName: string;
  reason?: string;
}
/** A charge on the regKey outside the billing calendar: an add-on, a fee, or a prorated upgrade. */
export interface OneOffCharge {
  requestId: string;
  /** `<subscription>-<instance>-x<hash of requestId>`. */
  orderId: string;
  kind: 'one_off' | 'proration';
  amount: number;
  currency: Currency;
  productName: string;
  /** `pending`: queued, or sent with its outcome being looked up. */
  status: 'pending' | 'succeeded' | 'failed';
  requestedAt: string;
  settledAt?: string;
  transactionId?: string;
  transactionDate?: string;
  returnCode?: string;
  message?: string;
  /** Found by looking the order up after an unknown outcome or 1172. */
  recovered?: boolean;
}
export const oneOffChargeUpdate = defineUpdate<OneOffCharge, [OneOffChargeInput]>('oneOffCharge');

/**
 * `none`: the new amount from the next cycle, nothing prorated. `now`: an upgrade's prorated
 * difference is charged at once as a one-off. `next_cycle`: it is added to the next cycle's charge.
 * A downgrade with `now` or `next_cycle` credits its prorated difference to the balance.
 */
export type ProrateMode = 'none' | 'now' | 'next_cycle';
export const PRORATE_MODES: readonly ProrateMode[] = ['none', 'now', 'next_cycle'];

export interface PlanPreviewInput {
  amount?: number;
  productName?: string;
  prorate?: ProrateMode;
  /** The instant the proration is computed at (default: now); pass it to changePlan to be charged exactly this. */
  prorationDate?: string;
}
/** What a plan change would do, from the same pure function the change itself runs. */
export interface PlanPreview {
  direction: 'upgrade' | 'downgrade' | 'same';
  prorate: ProrateMode;
  currency: Currency;
  currentAmount: number;
  newAmount: number;
  effectiveCycle: number;
  effectiveAt?: string;
  /** The period the difference is prorated over, in the subscription's time zone, and the instant used. */
  prorationDate: string;
  periodStart?: string;
  periodEnd?: string;
  remainingSeconds: number;
  periodSeconds: number;
  /** Charged at once as a one-off (upgrade with `now`). */
  chargeNow: number;
  /** Added to the next cycle's charge (upgrade with `next_cycle`). */
  addedToNextCycle: number;
  /** Credited to the balance (downgrade with `now` or `next_cycle`). */
  credit: number;
  creditBalanceAfter: number;
  /** The next cycle's charge: new amount + carried proration − credit, never below 0. */
  nextCycleAmount: number;
  /** An increase above the consent share: the customer re-approves at the effective cycle. */
  needsConsent: boolean;
}
/**
 * Validator-only: the validator computes the preview and answers it as a rejection of type
 * `REJECTION_TYPES.planPreview` with the `PlanPreview` as `details[0]`, so nothing reaches history and
 * the preview runs on a fresh workflow clock (a query would see the time of the last workflow task).
 * Any other rejection is why the change itself would be refused.
 */
export const planPreviewUpdate = defineUpdate<PlanPreview, [PlanPreviewInput]>('planPreview');
