import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type {
  ChargeInput,
  ChargeResult,
  ConfirmApprovalInput,
  ConfirmApprovalResult,
  LookupInput,
  LookupResult,
  RegKeyOwner,
  RequestStatusResult,
  ReserveInput,
  ReserveResult,
  SubscriptionActivities,
} from '../workflows/activity-contract.js';
import { ACTIVITY_FAILURE_TYPES } from '../workflows/failure-types.js';
import { truncateCodePoints } from '../workflows/subscription-input.js';
import { signedCallbackUrl } from './callback-link.js';
import {
  type CallOptions,
  type LinePayApi,
  type LinePayClient,
  LinePayError,
  maskRegKey,
  type PaymentDetail,
  paidAmount,
  paymentMatches,
} from './linepay/index.js';
import { createRefundActivities } from './refund-activities.js';
import { assertRegKeyOwner, type RegKeyVault, RegKeyVaultError } from './regkey-vault.js';

export interface ActivityDeps {
  linePay: LinePayClient;
  vault: RegKeyVault;
  /** Signs the confirm and cancel URLs (see callback-link.ts); the HTTP service verifies with it. */
  callbackSigningKey: Uint8Array;
}

/** The LINE Pay activities; `recordEvents` comes from the ledger's own factory. */
export type LinePayActivities = Omit<SubscriptionActivities, 'recordEvents'>;

/** Our credentials or channel are wrong: nothing cures it but an operator, so retry slowly. */
export const MERCHANT_CONFIG_RETRY_DELAY = '5m';
/** How often a LINE Pay call in flight heartbeats (the workflow's heartbeat timeout is a few times this). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** Signature, channel or merchant refused: the request never reached payment processing. */
const MERCHANT_AUTH_CODES: ReadonlySet<string> = new Set(['1104', '1105', '1106']);
/** A Request that no retry can make acceptable: currency, amount sums, PREAPPROVED not enabled. */
const REQUEST_REFUSED_CODES: ReadonlyMap<string, string> = new Map([
  ['1178', 'this channel does not support the currency'],
  ['2101', 'the amounts do not add up (parameter error)'],
  ['2102', 'the request body was refused (JSON format error)'],
  ['1194', 'this merchant is not allowed preapproved payments'],
]);

/**
 * One activity attempt's hold on LINE Pay: every call gets the attempt's cancellation signal and
 * deadline, and heartbeats while in flight. Heartbeats are also how the server's cancel and a
 * heartbeat timeout reach this worker, so every call heartbeats, with or without a heartbeat timeout.
 */
class Attempt {
  readonly #ctx: Context;
  readonly #opts: CallOptions;

  constructor() {
    this.#ctx = Context.current();
    const info = this.#ctx.info;
    // The attempt started at most a dispatch ago; the server's schedule timestamp would add queue
    // time and clock skew, so start-to-close counts from here (the client keeps a margin).
    let deadline = info.startToCloseTimeoutMs > 0 ? Date.now() + info.startToCloseTimeoutMs : Infinity;
    if (info.scheduleToCloseTimeoutMs > 0) {
      deadline = Math.min(deadline, info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs);
    }
    this.#opts = { signal: this.#ctx.cancellationSignal };
    if (Number.isFinite(deadline)) this.#opts.deadline = deadline;
  }

  get attempt(): number {
    return this.#ctx.info.attempt;
  }

  /** Runs one LINE Pay call; a cancel that aborted it surfaces as the activity's cancellation. */
  async call<T>(api: LinePayApi, fn: (opts: CallOptions) => Promise<T>): Promise<T> {
    const timer = this.#startHeartbeats(api);
    try {
      return await fn(this.#opts);
    } catch (err) {
      this.throwIfCancelled();
      throw err;
    } finally {
      clearInterval(timer);
    }
  }

  /** Heartbeats while a call is in flight; a local activity has none (its workflow task is its lease). */
  #startHeartbeats(api: LinePayApi): NodeJS.Timeout | undefined {
    if (this.#ctx.info.isLocal) return undefined;
    const beat = () => this.#ctx.heartbeat({ call: api });
    const timeoutMs = this.#ctx.info.heartbeatTimeoutMs;
    const every = timeoutMs
      ? Math.min(HEARTBEAT_INTERVAL_MS, Math.max(100, timeoutMs / 3))
      : HEARTBEAT_INTERVAL_MS;
    beat();
    return setInterval(beat, every);
  }

  throwIfCancelled(): void {
    const signal = this.#ctx.cancellationSignal;
    if (!signal.aborted) return;
    throw signal.reason instanceof CancelledFailure
      ? signal.reason
      : new CancelledFailure('activity cancelled while calling LINE Pay');
  }
}

function details(err: LinePayError) {
  return [{ code: err.code, returnCode: err.returnCode ?? null, api: err.api }];
}

/** Config errors wait long between attempts; everything else LINE Pay throws is worth retrying soon. */
function retryable(err: LinePayError): ApplicationFailure {
  if (err.code === 'merchant_config') return merchantConfig(err);
  return ApplicationFailure.create({
    type: ACTIVITY_FAILURE_TYPES.transient,
    message: err.message,
    nonRetryable: false,
    details: details(err),
  });
}

function merchantConfig(err: LinePayError): ApplicationFailure {
  return ApplicationFailure.create({
    type: ACTIVITY_FAILURE_TYPES.merchantConfig,
    message: `LINE Pay merchant configuration problem, an operator must check the channel: ${err.message}`,
    nonRetryable: false,
    nextRetryDelay: MERCHANT_CONFIG_RETRY_DELAY,
    details: details(err),
  });
}

function isMerchantConfig(err: LinePayError): boolean {
  return err.code === 'merchant_config';
}

/** Opens a sealed regKey for its owner; a token from anywhere else fails for good. */
function openRegKey(vault: RegKeyVault, sealed: string, owner: RegKeyOwner): string {
  return vaultStep(() => vault.open(sealed, owner));
}

function vaultStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RegKeyVaultError) {
      throw ApplicationFailure.create({
        type: ACTIVITY_FAILURE_TYPES.regKeyVault,
        message: err.message,
        nonRetryable: true,
        details: [{ code: err.code }],
      });
    }
    throw err;
  }
}

function lookupOutcome(found: PaymentDetail | undefined, input: LookupInput): LookupResult {
  if (!found) return { found: false };
  if (!paymentMatches(found, input.amount, input.currency)) {
    const result: LookupResult = { found: 'mismatch', transactionId: found.transactionId };
    const amount = paidAmount(found);
    if (amount !== undefined) result.amount = amount;
    if (typeof found.currency === 'string') result.currency = found.currency;
    return result;
  }
  return withDate({ found: true, transactionId: found.transactionId }, found.transactionDate);
}

function withDate<T extends object>(result: T, date: unknown): T {
  return typeof date === 'string' ? { ...result, transactionDate: date } : result;
}

function withCode<T extends object>(result: T, returnCode: string | undefined): T {
  return returnCode === undefined ? result : { ...result, returnCode };
}

/**
 * Activities over the LINE Pay client. Built from dependencies (not module globals) so the worker and
 * tests choose the client, sandbox and keys. No LINE Pay answer fails a workflow run: outcomes are
 * values, config errors retry slowly, and only a Request refused for good or a regKey that does not
 * belong to the caller fail non-retryably (the workflow turns both into a state).
 */
export function createActivities({ linePay, vault, callbackSigningKey }: ActivityDeps): LinePayActivities {
  /** Payment Details by orderId, matched on amount and currency. */
  async function lookup(attempt: Attempt, input: LookupInput): Promise<LookupResult> {
    const found = await attempt.call('details', (o) => linePay.findPaymentByOrderId(input.orderId, o));
    return lookupOutcome(found, input);
  }

  /**
   * After a charge whose answer did not settle it: look the orderId up. `ifNotFound` is the outcome
   * when LINE Pay lists nothing under it; a lookup that fails leaves the charge unknown.
   */
  async function settleByLookup(
    attempt: Attempt,
    input: ChargeInput,
    ifNotFound: ChargeResult,
    cause: LinePayError,
  ): Promise<ChargeResult> {
    let found: LookupResult;
    try {
      found = await lookup(attempt, input);
    } catch (err) {
      if (!(err instanceof LinePayError)) throw err;
      log.warn('charge lookup failed; outcome stays unknown', { orderId: input.orderId, code: err.code });
      if (isMerchantConfig(err) && isMerchantConfig(cause)) {
        return withCode({ outcome: 'merchant_config', message: cause.message }, cause.returnCode);
      }
      return withCode(
        { outcome: 'unknown', reason: `${cause.code} and the lookup failed: ${err.message}` },
        cause.returnCode,
      );
    }
    if (found.found === true) {
      log.info('charge recovered by lookup', { orderId: input.orderId, after: cause.code });
      return withDate(
        { outcome: 'charged', transactionId: found.transactionId, recovered: true },
        found.transactionDate,
      );
    }
    if (found.found === 'mismatch') {
      log.warn('orderId holds a payment for another amount or currency', {
        orderId: input.orderId,
        transactionId: found.transactionId,
      });
      return {
        outcome: 'order_used',
        reason: `a payment for another amount or currency (transaction ${found.transactionId}) is listed under this orderId`,
      };
    }
    return ifNotFound;
  }

  return {
    ...createRefundActivities(linePay),
    async reservePreapproved(input: ReserveInput): Promise<ReserveResult> {
      const attempt = new Attempt();
      const orderId = attempt.attempt === 1 ? input.orderId : `${input.orderId}-t${attempt.attempt}`;
      const callbackSubject = { subscriptionId: input.subscriptionId, orderId };
      try {
        const res = await attempt.call('request', (o) =>
          linePay.requestPayment(
            {
              amount: input.amount,
              currency: input.currency,
              orderId,
              packages: [
                {
                  id: 'subscription',
                  amount: input.amount,
                  name: truncateCodePoints(input.productName, 100),
                  products: [{ name: input.productName, quantity: 1, price: input.amount }],
                },
              ],
              redirectUrls: {
                confirmUrl: signedCallbackUrl(input.confirmUrl, callbackSigningKey, callbackSubject),
                cancelUrl: signedCallbackUrl(input.cancelUrl, callbackSigningKey, callbackSubject),
              },
              options: { payment: { payType: 'PREAPPROVED', capture: input.capture ?? true } },
            },
            o,
          ),
        );
        log.info('reserved preapproved payment', { orderId, subscriptionId: input.subscriptionId });
        return { orderId, transactionId: res.transactionId, paymentUrl: res.paymentUrl };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const why =
          err.returnCode === undefined
            ? undefined
            : input.capture === false && err.returnCode === '2103'
              ? 'this channel does not allow capture=false for PREAPPROVED (use trialVerification refund_minimum)'
              : REQUEST_REFUSED_CODES.get(err.returnCode);
        if (why !== undefined) {
          throw ApplicationFailure.create({
            type: ACTIVITY_FAILURE_TYPES.requestRejected,
            message: `LINE Pay refused the payment request for good: ${why} (${err.returnCode})`,
            nonRetryable: true,
            details: details(err),
          });
        }
        // 1172 included: the next attempt reserves under `-t<attempt>`.
        throw retryable(err);
      }
    },

    async voidAuthorization({ transactionId }) {
      const attempt = new Attempt();
      let cause: LinePayError;
      try {
        await attempt.call('void', (o) => linePay.void(transactionId, o));
        log.info('voided authorization', { transactionId });
        return { outcome: 'voided' };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        cause = err;
      }
      // 1165 (already voided), 1180 (expired) or no answer at all: Details says what became of it.
      let detail: PaymentDetail | undefined;
      try {
        [detail] = await attempt.call('details', (o) => linePay.getPaymentDetails({ transactionId }, o));
      } catch (err) {
        if (err instanceof LinePayError) throw retryable(cause);
        throw err;
      }
      log.info('void failed; authorization looked up', {
        transactionId,
        code: cause.code,
        payStatus: detail?.payStatus,
      });
      if (detail?.payStatus === 'VOIDED_AUTHORIZATION') return { outcome: 'voided' };
      if (detail?.payStatus === 'EXPIRED_AUTHORIZATION') return { outcome: 'expired' };
      if (detail?.payStatus === 'CAPTURE') return { outcome: 'captured' };
      throw retryable(cause);
    },

    async confirmPreapproved(input: ConfirmApprovalInput): Promise<ConfirmApprovalResult> {
      const attempt = new Attempt();
      // Before any money moves: a regKey we could not seal for this owner would be lost.
      vaultStep(() => assertRegKeyOwner(input.owner));
      let info: Awaited<ReturnType<LinePayClient['confirm']>>;
      try {
        info = await attempt.call('confirm', (o) =>
          linePay.confirm(input.transactionId, { amount: input.amount, currency: input.currency }, o),
        );
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const message = err.returnMessage ?? err.message;
        // 1169: the customer has not finished on the payment page yet.
        if (err.code === 'transient') {
          return withCode({ outcome: 'not_approved', message }, err.returnCode);
        }
        // No answer: a confirm cannot be settled by lookup (Details has no regKey), so repeat it.
        if (err.code === 'not_sent' || err.code === 'unknown_outcome') throw retryable(err);
        if (isMerchantConfig(err) && MERCHANT_AUTH_CODES.has(err.returnCode ?? '')) throw merchantConfig(err);
        if (err.returnCode === '1180') {
          // "Expired" also comes back for a request the customer has not reached yet: ask its status.
          let status: Awaited<ReturnType<LinePayClient['checkRequestStatus']>>;
          try {
            status = await attempt.call('checkStatus', (o) =>
              linePay.checkRequestStatus(input.transactionId, o),
            );
          } catch (statusErr) {
            if (statusErr instanceof LinePayError) throw retryable(statusErr);
            throw statusErr;
          }
          if (status === 'waiting') {
            return withCode(
              { outcome: 'not_approved', message: `${message} (request still waiting for the customer)` },
              err.returnCode,
            );
          }
        }
        // 1152, 1172, declines, unknown codes: the approval is over; the workflow refunds what was paid.
        return withCode({ outcome: 'rejected', category: err.code, message }, err.returnCode);
      }
      if (!info.regKey) {
        log.warn('confirm answered without a regKey', { orderId: input.orderId });
        return {
          outcome: 'rejected',
          category: 'no_regkey',
          message: 'LINE Pay confirmed without a regKey (not a PREAPPROVED request?)',
        };
      }
      log.info('confirmed preapproved payment', { orderId: input.orderId });
      return withDate(
        {
          outcome: 'confirmed',
          sealedRegKey: vault.seal(info.regKey, input.owner),
          regKeyMasked: maskRegKey(info.regKey),
          transactionId: info.transactionId,
        },
        info.transactionDate,
      );
    },

    async chargePreapproved(input: ChargeInput): Promise<ChargeResult> {
      const attempt = new Attempt();
      const regKey = openRegKey(vault, input.sealedRegKey, input.owner);
      const body = {
        productName: input.productName,
        amount: input.amount,
        currency: input.currency,
        orderId: input.orderId,
      };
      // An earlier attempt may have charged and died before answering: ask before sending again.
      if (attempt.attempt > 1) {
        let prior: LookupResult;
        try {
          prior = await lookup(attempt, input);
        } catch (err) {
          if (!(err instanceof LinePayError)) throw err;
          if (isMerchantConfig(err)) {
            return withCode({ outcome: 'merchant_config', message: err.message }, err.returnCode);
          }
          throw retryable(err);
        }
        if (prior.found === true) {
          log.info('charge found before resending', { orderId: input.orderId, attempt: attempt.attempt });
          return withDate(
            { outcome: 'charged', transactionId: prior.transactionId, recovered: true },
            prior.transactionDate,
          );
        }
        if (prior.found === 'mismatch') {
          return {
            outcome: 'order_used',
            reason: `a payment for another amount or currency (transaction ${prior.transactionId}) is listed under this orderId`,
          };
        }
      }
      try {
        const paid = await attempt.call('preapprovedPay', (o) => linePay.payPreapproved(regKey, body, o));
        log.info('charged', { orderId: input.orderId });
        return withDate(
          { outcome: 'charged', transactionId: paid.transactionId, recovered: false },
          paid.transactionDate,
        );
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const message = err.returnMessage ?? err.message;
        switch (err.code) {
          case 'declined_soft':
          case 'declined_hard':
            return withCode({ outcome: 'declined', category: err.code, message }, err.returnCode);
          case 'regkey_dead':
            return withCode({ outcome: 'regkey_dead', message }, err.returnCode);
          case 'not_sent':
          case 'transient':
            // Nothing reached LINE Pay (or it refused before processing): the next attempt sends again.
            throw retryable(err);
          case 'duplicate_order':
            return settleByLookup(
              attempt,
              input,
              {
                outcome: 'order_used',
                reason: 'LINE Pay answered 1172 and lists no payment under the orderId',
              },
              err,
            );
          case 'unknown_outcome':
            log.warn('charge outcome unknown; looking the orderId up', {
              orderId: input.orderId,
              returnCode: err.returnCode,
            });
            return settleByLookup(
              attempt,
              input,
              withCode({ outcome: 'unknown', reason: `no payment listed after ${message}` }, err.returnCode),
              err,
            );
          default:
            // Config errors and codes we do not know: one might have charged, so look before saying so.
            return settleByLookup(
              attempt,
              input,
              withCode({ outcome: 'merchant_config', message }, err.returnCode),
              err,
            );
        }
      }
    },

    async lookupCharge(input: LookupInput): Promise<LookupResult> {
      const attempt = new Attempt();
      try {
        return await lookup(attempt, input);
      } catch (err) {
        if (err instanceof LinePayError) throw retryable(err);
        throw err;
      }
    },

    async checkRequestStatus({ transactionId }: { transactionId: string }): Promise<RequestStatusResult> {
      const attempt = new Attempt();
      try {
        return {
          status: await attempt.call('checkStatus', (o) => linePay.checkRequestStatus(transactionId, o)),
        };
      } catch (err) {
        if (err instanceof LinePayError) throw retryable(err);
        throw err;
      }
    },

    async refundPayment({ transactionId, amount }: { transactionId: string; amount?: number }) {
      const attempt = new Attempt();
      try {
        const res = await attempt.call('refund', (o) =>
          linePay.refund(transactionId, amount === undefined ? {} : { refundAmount: amount }, o),
        );
        log.warn('refunded a payment', { transactionId, partial: amount !== undefined });
        return { refundTransactionId: res.refundTransactionId, alreadyRefunded: false };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        if (err.code === 'already_processed') return { alreadyRefunded: true };
        // 1163 (refund window passed) and 1164 (too much) cannot be retried away either: an operator acts.
        if (err.code === 'declined_hard') throw merchantConfig(err);
        throw retryable(err);
      }
    },

    async expireRegKey({
      owner,
      sealedRegKey,
    }: {
      owner: RegKeyOwner;
      sealedRegKey: string;
    }): Promise<{ alreadyExpired: boolean }> {
      const attempt = new Attempt();
      const regKey = openRegKey(vault, sealedRegKey, owner);
      try {
        return await attempt.call('expireRegKey', (o) => linePay.expireRegKey(regKey, o));
      } catch (err) {
        if (err instanceof LinePayError) throw retryable(err);
        throw err;
      }
    },

    async checkRegKey({ owner, sealedRegKey }: { owner: RegKeyOwner; sealedRegKey: string }) {
      const attempt = new Attempt();
      const regKey = openRegKey(vault, sealedRegKey, owner);
      try {
        await attempt.call('checkRegKey', (o) => linePay.checkRegKey(regKey, o));
        return { health: 'live' as const, returnCode: '0000' };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const returnCode = err.returnCode === undefined ? {} : { returnCode: err.returnCode };
        if (err.code === 'regkey_dead') return { health: 'dead' as const, ...returnCode };
        // 9000, a timeout, our channel refused: no verdict. The charge goes ahead and tells.
        log.warn('regKey check gave no verdict', { code: err.code, returnCode: err.returnCode });
        return { health: 'unknown' as const, ...returnCode };
      }
    },
  };
}
