/**
 * The subscription's state machine, declared once. `transition()` in subscription-state.ts moves only
 * along these edges and throws on any other, and docs/architecture.md's table is checked against
 * `TRANSITION_TABLE` by a unit test. Same-status edges record a change that keeps the status (a plan
 * change, a dunning retry, a renewed payment link).
 */
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from './messages.js';

export interface TransitionRule {
  from: SubscriptionStatus;
  to: SubscriptionStatus;
  event: string;
  actor: string;
}

/** Every allowed edge with the event that takes it: the table the docs show. */
export const TRANSITION_TABLE: readonly TransitionRule[] = [
  {
    from: 'pending_approval',
    to: 'pending_approval',
    event: 'payment link renewed, forged or early confirm, unconfirmed cancel link, approval seen by a poll',
    actor: 'customer/system',
  },
  {
    from: 'pending_approval',
    to: 'active',
    event: 'confirm webhook or a poll seeing 0110, Confirm API ok (first period paid)',
    actor: 'customer',
  },
  {
    from: 'pending_approval',
    to: 'approval_expired',
    event: 'approval timeout, or Confirm refused (any money taken is refunded)',
    actor: 'system',
  },
  {
    from: 'pending_approval',
    to: 'approval_canceled',
    event: 'cancel link confirmed by Check-payment-request-status, or a poll seeing 0121/0122',
    actor: 'customer',
  },
  { from: 'pending_approval', to: 'canceled', event: '`cancel`', actor: 'merchant/operator' },
  {
    from: 'pending_approval',
    to: 'trialing',
    event: 'confirm webhook with a trial: regKey registered, the approval payment given back',
    actor: 'customer',
  },
  {
    from: 'trialing',
    to: 'trialing',
    event:
      'approval payment voided or refunded, `trial_will_end` notice, plan change, cancel at period end scheduled',
    actor: 'system/merchant',
  },
  { from: 'trialing', to: 'active', event: "first charge ok at the trial's end", actor: 'system' },
  { from: 'trialing', to: 'past_due', event: 'first charge soft-declined', actor: 'system' },
  {
    from: 'trialing',
    to: 'reapproval_required',
    event: 'first charge hard-declined or regKey dead',
    actor: 'system',
  },
  {
    from: 'trialing',
    to: 'canceled',
    event: "`cancel` (nothing charged, regKey expired), or the trial's end after `cancel {atPeriodEnd}`",
    actor: 'merchant/operator',
  },
  {
    from: 'active',
    to: 'active',
    event: 'charge ok, plan change, cancel at period end scheduled, regKey checked live',
    actor: 'system/merchant',
  },
  {
    from: 'active',
    to: 'past_due',
    event: 'soft decline, or an orderId used without payment',
    actor: 'system',
  },
  {
    from: 'active',
    to: 'reapproval_required',
    event:
      'hard decline or dead regKey (also Check regKey ahead of a due date), or a plan increase above the consent share',
    actor: 'system',
  },
  { from: 'active', to: 'paused', event: '`pause`', actor: 'merchant/operator' },
  { from: 'active', to: 'completed', event: '`maxCycles` paid (regKey expired)', actor: 'system' },
  {
    from: 'active',
    to: 'canceled',
    event: '`cancel` now, or period end after `cancel {atPeriodEnd}` (regKey expired)',
    actor: 'merchant/operator',
  },
  {
    from: 'past_due',
    to: 'past_due',
    event: 'retry declined (next offset), `retryNow`',
    actor: 'system/operator',
  },
  {
    from: 'past_due',
    to: 'active',
    event: 'retry ok (original calendar), operator settles as paid',
    actor: 'system/operator',
  },
  { from: 'past_due', to: 'reapproval_required', event: 'hard decline or dead regKey', actor: 'system' },
  {
    from: 'past_due',
    to: 'canceled',
    event: 'schedule exhausted (`payment_failed`), `cancel` (any form: no further attempts)',
    actor: 'system/merchant',
  },
  { from: 'paused', to: 'paused', event: 'cancel at period end scheduled', actor: 'merchant/operator' },
  {
    from: 'paused',
    to: 'active',
    event: '`resume` or `resumeAt` reached (skipped cycles recorded)',
    actor: 'merchant/system',
  },
  { from: 'paused', to: 'canceled', event: '`cancel`, or its period end', actor: 'merchant/operator' },
  {
    from: 'reapproval_required',
    to: 'reapproval_required',
    event: 'payment link renewed, unconfirmed or confirmed cancel link, failed confirm',
    actor: 'customer/system',
  },
  {
    from: 'reapproval_required',
    to: 'active',
    event: 'confirm of the new reservation (overdue cycle paid, new regKey)',
    actor: 'customer',
  },
  {
    from: 'reapproval_required',
    to: 'canceled',
    event: 'no approval within `reapprovalTimeout` (`reapproval_expired`), `cancel`',
    actor: 'system/merchant',
  },
];

/** `status → allowed next statuses`, derived from the table. */
export const TRANSITIONS: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> =
  Object.fromEntries(
    SUBSCRIPTION_STATUSES.map((from) => [
      from,
      TRANSITION_TABLE.filter((r) => r.from === from).map((r) => r.to),
    ]),
  ) as unknown as Record<SubscriptionStatus, readonly SubscriptionStatus[]>;

export function canTransition(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Thrown on an edge the table does not have: a bug in the workflow, never a user error. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError' as const;
  readonly code = 'illegal_transition' as const;
  constructor(
    readonly from: SubscriptionStatus,
    readonly to: SubscriptionStatus,
  ) {
    super(`illegal transition ${from} → ${to}`);
  }
}

/** The table as Markdown, for docs/architecture.md (a unit test keeps the two equal). */
export function transitionTableMarkdown(): string {
  const rows = TRANSITION_TABLE.map((r) => `| \`${r.from}\` | ${r.event} | \`${r.to}\` | ${r.actor} |`);
  return ['| from | event | to | actor |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
