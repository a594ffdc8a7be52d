import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ACTIVITY_FAILURE_TYPES } from '../workflows/failure-types.js';
import type {
  PaymentRefundsInput,
  PaymentRefundsResult,
  RefundActivities,
  SendRefundInput,
  SendRefundResult,
} from '../workflows/refund-contract.js';
import {
  type CallOptions,
  type LinePayClient,
  LinePayError,
  paidAmount,
  RETURN_CODES,
} from './linepay/index.js';

/** Signature, channel or merchant refused: nothing was processed. */
const MERCHANT_AUTH_CODES: ReadonlySet<string> = new Set(['1104', '1105', '1106']);

/** How often a refund call in flight heartbeats (the workflow's heartbeat timeout is 10 s). */
const HEARTBEAT_INTERVAL_MS = 2_000;

/** The attempt's cancellation signal and deadline for every call, with heartbeats while it runs. */
async function call<T>(api: string, fn: (opts: CallOptions) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const info = ctx.info;
  const opts: CallOptions = { signal: ctx.cancellationSignal };
  if (info.startToCloseTimeoutMs > 0) opts.deadline = Date.now() + info.startToCloseTimeoutMs;
  const beat = () => ctx.heartbeat({ call: api });
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await fn(opts);
  } catch (err) {
    if (ctx.cancellationSignal.aborted)
      throw new CancelledFailure('activity cancelled while calling LINE Pay');
    throw err;
  } finally {
    clearInterval(timer);
  }
}

function failure(err: LinePayError): ApplicationFailure {
  const config = err.code === 'merchant_config';
  return ApplicationFailure.create({
    type: config ? ACTIVITY_FAILURE_TYPES.merchantConfig : ACTIVITY_FAILURE_TYPES.transient,
    message: config
      ? `LINE Pay merchant configuration problem, an operator must check the channel: ${err.message}`
      : err.message,
    nonRetryable: false,
    ...(config ? { nextRetryDelay: '5m' } : {}),
    details: [{ code: err.code, returnCode: err.returnCode ?? null, api: err.api }],
  });
}

/**
 * Refund activities over the LINE Pay client. Payment Details is the only way to tell whether a
 * Refund whose answer was lost went through, so every doubt ends in a lookup against the baseline.
 */
export function createRefundActivities(linePay: LinePayClient): RefundActivities {
  async function details(transactionId: string): Promise<PaymentRefundsResult> {
    const list = await call('details', (o) => linePay.getPaymentDetails({ transactionId }, o));
    const payment = list.find(
      (d) => d.transactionId === transactionId && (d.transactionType ?? 'PAYMENT') === 'PAYMENT',
    );
    const amount = payment ? paidAmount(payment) : undefined;
    if (!payment || amount === undefined || typeof payment.orderId !== 'string' || !payment.currency)
      return { found: false };
    return {
      found: true,
      orderId: payment.orderId,
      amount,
      currency: String(payment.currency),
      // The sign of refundAmount in Details is unconfirmed (reference §12): amounts are kept positive.
      refunds: (payment.refundList ?? []).map((r) => ({
        refundTransactionId: r.refundTransactionId,
        amount: Math.abs(r.refundAmount),
        ...(typeof r.refundTransactionDate === 'string' ? { refundedAt: r.refundTransactionDate } : {}),
      })),
    };
  }

  /** After a doubtful answer: a refund not in the baseline, of our amount, is ours. */
  async function resolve(
    input: SendRefundInput,
    why: string,
    returnCode?: string,
  ): Promise<SendRefundResult> {
    let found: PaymentRefundsResult;
    try {
      found = await details(input.transactionId);
    } catch (err) {
      if (!(err instanceof LinePayError)) throw err;
      return {
        outcome: 'unknown',
        reason: `${why}; the lookup failed: ${err.message}`,
        ...(returnCode ? { returnCode } : {}),
      };
    }
    if (found.found === true) {
      const seen = new Set(input.baseline);
      const ours = found.refunds.find((r) => !seen.has(r.refundTransactionId) && r.amount === input.amount);
      if (ours) {
        log.info('refund recovered by lookup', { transactionId: input.transactionId, after: why });
        return {
          outcome: 'refunded',
          refundTransactionId: ours.refundTransactionId,
          ...(ours.refundedAt ? { refundTransactionDate: ours.refundedAt } : {}),
          recovered: true,
        };
      }
    }
    return {
      outcome: 'unknown',
      reason: `${why}; no new refund listed`,
      ...(returnCode ? { returnCode } : {}),
    };
  }

  return {
    async lookupPaymentRefunds({ transactionId }: PaymentRefundsInput): Promise<PaymentRefundsResult> {
      try {
        return await details(transactionId);
      } catch (err) {
        if (err instanceof LinePayError) throw failure(err);
        throw err;
      }
    },

    async sendRefund(input: SendRefundInput): Promise<SendRefundResult> {
      // An earlier attempt may have refunded and died before answering; never resend blindly.
      if (Context.current().info.attempt > 1) return resolve(input, 'an earlier attempt may have refunded');
      try {
        const res = await call('refund', (o) =>
          linePay.refund(input.transactionId, { refundAmount: input.amount }, o),
        );
        log.info('refunded', { transactionId: input.transactionId });
        return {
          outcome: 'refunded',
          refundTransactionId: res.refundTransactionId,
          refundTransactionDate: res.refundTransactionDate,
          recovered: false,
        };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const message = err.returnMessage ?? err.message;
        const code = err.returnCode;
        const refused = (c: Extract<SendRefundResult, { outcome: 'refused' }>['code']): SendRefundResult => ({
          outcome: 'refused',
          code: c,
          message: `LINE Pay refused the refund (${code}): ${message}`,
          ...(code ? { returnCode: code } : {}),
        });
        if (code === '1164') return refused('refund_exceeds_remaining');
        if (code === '1163') return refused('refund_window_passed');
        if (code === '1150') return refused('charge_not_found');
        // 1165: fully refunded — perhaps by our own attempt whose answer was lost. Look before saying so.
        if (code === '1165') {
          const r = await resolve(input, 'LINE Pay answered 1165 (already refunded)', code);
          return r.outcome === 'unknown' ? refused('charge_already_refunded') : r;
        }
        // Never reached processing (documented retryable for refunds): the next attempt looks, then resends.
        if (err.code === 'not_sent' || err.code === 'transient' || MERCHANT_AUTH_CODES.has(code ?? ''))
          throw failure(err);
        // Timeouts, 9000/1199, codes we do not know: it may have refunded.
        if (err.code === 'unknown_outcome' || code === undefined || !(code in RETURN_CODES))
          return resolve(input, `no answer to the refund (${code ?? err.code})`, code);
        return refused('refund_not_allowed');
      }
    },
  };
}
