/**
 * The refund activities as the workflow sees them (activities/refund-activities.ts implements them).
 * LINE Pay's Refund API has no idempotency key, so a refund's identity is what Payment Details lists:
 * the refundTransactionIds seen before it was sent (`baseline`). A new one of our amount is ours.
 */
import type { RefundRefusalCode } from './messages.js';

export interface PaymentRefundsInput {
  transactionId: string;
}

/** A payment as Payment Details lists it by transactionId: what was paid and what was refunded. */
export type PaymentRefundsResult =
  | { found: false }
  | {
      found: true;
      orderId: string;
      /** Paid, in the currency's unit. */
      amount: number;
      currency: string;
      refunds: { refundTransactionId: string; amount: number; refundedAt?: string }[];
    };

export interface SendRefundInput {
  transactionId: string;
  amount: number;
  /** refundTransactionIds listed before this refund was first sent. */
  baseline: string[];
}

export type SendRefundResult =
  | { outcome: 'refunded'; refundTransactionId: string; refundTransactionDate?: string; recovered: boolean }
  /** Sent (maybe), and neither LINE Pay's answer nor a lookup tells whether it refunded: look up again. */
  | { outcome: 'unknown'; reason: string; returnCode?: string }
  | { outcome: 'refused'; code: RefundRefusalCode; returnCode?: string; message: string };

export interface RefundActivities {
  /** Payment Details by transactionId, with its refundList; read-only, safe to retry. */
  lookupPaymentRefunds(input: PaymentRefundsInput): Promise<PaymentRefundsResult>;
  /**
   * Refund API, once per activity execution: a retried attempt never resends, it looks the payment up
   * against `baseline` and answers `unknown` when nothing new is listed, so the workflow decides.
   */
  sendRefund(input: SendRefundInput): Promise<SendRefundResult>;
}
