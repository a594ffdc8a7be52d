/**
 * The activities the subscription workflow calls, as the workflow sees them. Owned here so workflow
 * code never imports activity code; `activities/` implements this interface.
 * A regKey crosses this boundary only sealed (`SealedRegKey`): even a history read without the payload
 * codec holds no usable key.
 */
import type { PaymentUrl } from './messages.js';
import type { Currency } from './subscription-input.js';

/** AES-GCM-sealed regKey, opaque to the workflow. */
export type SealedRegKey = string;

export interface ReserveInput {
  subscriptionId: string;
  orderId: string;
  productName: string;
  amount: number;
  currency: Currency;
  confirmUrl: string;
  cancelUrl: string;
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
  /** LINE Pay refused: the approval is over (expired, declined, already used, …). */
  | { outcome: 'rejected'; category: string; returnCode?: string; message: string };

export interface ChargeInput {
  sealedRegKey: SealedRegKey;
  orderId: string;
  productName: string;
  amount: number;
  currency: Currency;
}
export type ChargeResult =
  | { outcome: 'charged'; transactionId: string; transactionDate?: string; recovered: boolean }
  /** Sent, and LINE Pay has not said whether it charged: resolve by lookup with the same orderId. */
  | { outcome: 'unknown'; reason: string }
  | { outcome: 'declined'; category: 'declined_soft' | 'declined_hard'; returnCode?: string; message: string }
  | { outcome: 'regkey_dead'; returnCode?: string; message: string };

export type LookupResult =
  | { found: true; transactionId: string; transactionDate?: string }
  | { found: false };

export interface SubscriptionActivities {
  /** Request API with payType PREAPPROVED. */
  reservePreapproved(input: ReserveInput): Promise<ReserveResult>;
  /** Confirm API: pays the reserved amount and returns the (sealed) regKey. */
  confirmPreapproved(input: ConfirmApprovalInput): Promise<ConfirmApprovalResult>;
  /** Preapproved payment with one deterministic orderId; never retried under another orderId. */
  chargePreapproved(input: ChargeInput): Promise<ChargeResult>;
  /** Payment details by orderId: did LINE Pay charge this order? */
  lookupCharge(input: { orderId: string }): Promise<LookupResult>;
  /** Refund API, full amount; an already refunded payment counts as done. */
  refundPayment(input: {
    transactionId: string;
  }): Promise<{ refundTransactionId?: string; alreadyRefunded: boolean }>;
  /** Expire API; an already dead key counts as done. */
  expireRegKey(input: { sealedRegKey: SealedRegKey }): Promise<{ alreadyExpired: boolean }>;
}
