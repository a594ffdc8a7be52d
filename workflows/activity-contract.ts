/**
 * The activities the subscription workflow calls, as the workflow sees them. Owned here so workflow
 * code never imports activity code; `activities/` implements this interface.
 * A regKey crosses this boundary only sealed (`SealedRegKey`), bound to its subscription instance:
 * even a history read without the payload codec holds no usable key, and a copied one opens nowhere else.
 */
import type { PaymentUrl } from './messages.js';
import type { RefundActivities } from './refund-contract.js';
import type { RecordEventsInput } from './subscription-event.js';
import type { Currency } from './subscription-input.js';

/** AES-GCM-sealed regKey, opaque to the workflow. */
export type SealedRegKey = string;

/** Whose regKey it is: the vault's associated data, checked on every open. */
export interface RegKeyOwner {
  subscriptionId: string;
  instanceId: string;
}

export interface ReserveInput {
  subscriptionId: string;
  instanceId: string;
  orderId: string;
  productName: string;
  amount: number;
  currency: Currency;
  confirmUrl: string;
  cancelUrl: string;
  /** `false` only for a trial's approval with `void_authorization`: Confirm then only authorizes. */
  capture?: boolean;
}
export interface ReserveResult {
  /**
   * The orderId the reservation was made under. A retried Request whose first try may have reserved
   * gets a `-t<attempt>` suffix: a reservation moves no money, and LINE Pay would refuse the reused id.
   */
  orderId: string;
  transactionId: string;
  paymentUrl: PaymentUrl;
}

export interface ConfirmApprovalInput {
  owner: RegKeyOwner;
  transactionId: string;
  orderId: string;
  amount: number;
  currency: Currency;
}
export type ConfirmApprovalResult =
  | {
      outcome: 'confirmed';
      sealedRegKey: SealedRegKey;
      regKeyMasked: string;
      transactionId: string;
      transactionDate?: string;
    }
  /** The customer has not finished approving (1169, 1180 before the window): keep waiting. */
  | { outcome: 'not_approved'; returnCode?: string; message: string }
  /** LINE Pay refused or gave no usable regKey: the approval is over; money it took must be refunded. */
  | { outcome: 'rejected'; category: string; returnCode?: string; message: string };

export interface ChargeInput {
  owner: RegKeyOwner;
  sealedRegKey: SealedRegKey;
  orderId: string;
  productName: string;
  amount: number;
  currency: Currency;
}
export type ChargeResult =
  | { outcome: 'charged'; transactionId: string; transactionDate?: string; recovered: boolean }
  /** Sent, and LINE Pay has not said whether it charged: resolve by lookup with the same orderId. */
  | { outcome: 'unknown'; reason: string; returnCode?: string }
  /** LINE Pay says the orderId is used (1172) but lists no payment under it: a lost decline, or Details lagging. */
  | { outcome: 'order_used'; reason: string }
  | { outcome: 'declined'; category: 'declined_soft' | 'declined_hard'; returnCode?: string; message: string }
  | { outcome: 'regkey_dead'; returnCode?: string; message: string }
  /** Our channel is misconfigured (1104–1106, unknown codes after a lookup found nothing). */
  | { outcome: 'merchant_config'; returnCode?: string; message: string };

export interface LookupInput {
  orderId: string;
  /** A payment found under the orderId counts only when amount and currency match. */
  amount: number;
  currency: Currency;
}
export type LookupResult =
  | { found: true; transactionId: string; transactionDate?: string }
  | { found: false }
  /** A payment exists under the orderId but for another amount or currency: never ours to record. */
  | { found: 'mismatch'; transactionId: string; amount?: number; currency?: string };

export type RequestStatusResult = {
  status: 'waiting' | 'authenticated' | 'canceled_or_expired' | 'failed' | 'completed';
};

/**
 * Check-regKey's verdict, without the key: `dead` when LINE Pay says it is gone (1190, 1193 and the
 * other regKey-killing codes), `unknown` when the check gave no usable answer (9000, unreachable).
 */
export interface RegKeyCheckResult {
  health: 'live' | 'dead' | 'unknown';
  returnCode?: string;
}

export interface SubscriptionActivities extends RefundActivities {
  /** Request API with payType PREAPPROVED; the callback URLs it sends carry a signed token. */
  reservePreapproved(input: ReserveInput): Promise<ReserveResult>;
  /** Confirm API: pays the reserved amount and returns the (sealed) regKey. */
  confirmPreapproved(input: ConfirmApprovalInput): Promise<ConfirmApprovalResult>;
  /** Preapproved payment with one deterministic orderId; never retried under another orderId. */
  chargePreapproved(input: ChargeInput): Promise<ChargeResult>;
  /** Payment details by orderId: did LINE Pay charge this order, for this amount? */
  lookupCharge(input: LookupInput): Promise<LookupResult>;
  /** Check-payment-request-status: has the customer approved this reservation? */
  checkRequestStatus(input: { transactionId: string }): Promise<RequestStatusResult>;
  /** Refund API, full amount unless `amount`; an already refunded payment counts as done. */
  refundPayment(input: {
    transactionId: string;
    amount?: number;
  }): Promise<{ refundTransactionId?: string; alreadyRefunded: boolean }>;
  /**
   * Void API on an authorization (capture=false). Whatever Void answers, Payment Details then says
   * where the authorization is: voided, expired unused, or captured (then it must be refunded).
   */
  voidAuthorization(input: {
    transactionId: string;
  }): Promise<{ outcome: 'voided' | 'expired' | 'captured' }>;
  /** Expire API; an already dead key counts as done. */
  expireRegKey(input: {
    owner: RegKeyOwner;
    sealedRegKey: SealedRegKey;
  }): Promise<{ alreadyExpired: boolean }>;
  /** Check-regKey API (`creditCardAuth=false`): is the held regKey still usable? Never throws on an answer. */
  checkRegKey(input: { owner: RegKeyOwner; sealedRegKey: SealedRegKey }): Promise<RegKeyCheckResult>;
  /** Ledger: stores each event once by id and queues its webhooks. Idempotent. */
  recordEvents(input: RecordEventsInput): Promise<{ stored: number }>;
}
