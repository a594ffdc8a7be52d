/**
 * Events a subscription emits, in a gap-free `sequence` per subscription instance assigned by the
 * workflow (so deterministic and replay-safe). The workflow hands them to the ledger activity, which
 * stores them once (keyed by `id`) and queues their webhooks; billing never waits on delivery.
 */
export const SUBSCRIPTION_EVENT_TYPES = [
  'subscription.activated',
  'charge.succeeded',
  'charge.failed',
  'subscription.past_due',
  'subscription.reapproval_required',
  'subscription.paused',
  'subscription.resumed',
  'subscription.plan_changed',
  'subscription.canceled',
  'subscription.completed',
  'subscription.needs_attention',
  'charge.refunded',
  /** Approved with a trial: the regKey is registered and nothing is charged until `trialEndsAt`. */
  'subscription.trial_started',
  /** `trialWillEndNotice` (default 3 days) before the trial's end, or at approval for a shorter trial. */
  'subscription.trial_will_end',
  /** The credit balance changed: a prorated downgrade credited, a cycle used it up, a proration carried (`delta`, `creditBalance`, `prorationDue`). */
  'subscription.credit_changed',
] as const;
export type SubscriptionEventType = (typeof SUBSCRIPTION_EVENT_TYPES)[number];

/** What charge events carry in `data`; `transactionId` is a 19-digit id kept as a string. */
export interface ChargeEventData {
  cycle: number | null;
  orderId: string;
  transactionId: string | null;
  amount: number;
  currency: string;
  /** approval | recurring | reapproval | refund | one_off | proration | credit (a cycle paid wholly by credit) */
  kind: string;
  /** succeeded | failed | refunded */
  status: string;
  returnCode: string | null;
  message?: string;
  /** For refunds: the charge's transactionId. */
  originalTransactionId?: string;
  /**
   * `charge.refunded` of a `refundCharge`: the refund's own id (`transactionId` is then the charge's),
   * and what is left to refund on the charge.
   */
  refundTransactionId?: string;
  remaining?: number;
}

export interface SubscriptionEvent {
  /** `evt_<instanceId>_<sequence>`: stable across retries, crashes and continue-as-new. */
  id: string;
  type: SubscriptionEventType;
  subscriptionId: string;
  /** Fixed at the subscription's first run; a reused subscriptionId gets a new one. */
  instanceId: string;
  /** 1, 2, 3, … with no gap per instance. */
  sequence: number;
  occurredAt: string;
  data: Record<string, unknown>;
}

export function eventId(instanceId: string, sequence: number): string {
  return `evt_${instanceId}_${sequence}`;
}

/**
 * The ledger's key of a subscription instance: `<subscriptionId>.<instanceId>`. The 8-hex instanceId
 * alone tells apart the instances of one subscriptionId (it is in their orderIds), not subscriptions.
 */
export function ledgerInstanceKey(subscriptionId: string, instanceId: string): string {
  return `${subscriptionId}.${instanceId}`;
}

export interface RecordEventsInput {
  events: SubscriptionEvent[];
}
