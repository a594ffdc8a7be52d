import { activityInfo, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  ChargeInput,
  ChargeResult,
  ConfirmApprovalInput,
  ConfirmApprovalResult,
  LookupResult,
  ReserveInput,
  ReserveResult,
  SubscriptionActivities,
} from '../workflows/activity-contract.js';
import { type LinePayClient, LinePayError, maskRegKey } from './linepay/index.js';
import type { RegKeyVault } from './regkey-vault.js';

export interface ActivityDeps {
  linePay: LinePayClient;
  vault: RegKeyVault;
}

/** Return codes that mean our credentials or channel are wrong: wait for an operator, don't give up. */
const MERCHANT_AUTH_CODES = new Set(['1104', '1105', '1106']);

/**
 * Turns a LINE Pay error that must not end the billing step into an activity failure. Messages from
 * the client are already free of secrets and full regKeys.
 */
function retryLater(err: LinePayError, delay?: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.code === 'merchant_config' ? 'LinePayMerchantConfig' : `LinePay_${err.code}`,
    message: err.message,
    nonRetryable: false,
    ...(delay === undefined ? {} : { nextRetryDelay: delay }),
    details: [{ code: err.code, returnCode: err.returnCode ?? null, api: err.api }],
  });
}

/**
 * Activities over the LINE Pay client. Built from dependencies (not module globals) so the worker and
 * tests choose the client, sandbox and keys.
 */
export function createActivities({ linePay, vault }: ActivityDeps): SubscriptionActivities {
  return {
    async reservePreapproved(input: ReserveInput): Promise<ReserveResult> {
      const attempt = activityInfo().attempt;
      const orderId = attempt === 1 ? input.orderId : `${input.orderId}-t${attempt}`;
      try {
        const res = await linePay.requestPayment({
          amount: input.amount,
          currency: input.currency,
          orderId,
          packages: [
            {
              id: 'subscription',
              amount: input.amount,
              name: input.productName.slice(0, 100),
              products: [{ name: input.productName, quantity: 1, price: input.amount }],
            },
          ],
          redirectUrls: { confirmUrl: input.confirmUrl, cancelUrl: input.cancelUrl },
          options: { payment: { payType: 'PREAPPROVED', capture: true } },
        });
        log.info('reserved preapproved payment', { orderId, subscriptionId: input.subscriptionId });
        return { orderId, transactionId: res.transactionId, paymentUrl: res.paymentUrl };
      } catch (err) {
        if (
          err instanceof LinePayError &&
          err.code === 'merchant_config' &&
          !MERCHANT_AUTH_CODES.has(err.returnCode ?? '')
        ) {
          throw ApplicationFailure.create({
            type: 'LinePayMerchantConfig',
            message: err.message,
            nonRetryable: true,
          });
        }
        if (err instanceof LinePayError) throw retryLater(err);
        throw err;
      }
    },

    async confirmPreapproved(input: ConfirmApprovalInput): Promise<ConfirmApprovalResult> {
      try {
        const info = await linePay.confirm(input.transactionId, {
          amount: input.amount,
          currency: input.currency,
        });
        if (!info.regKey) {
          return {
            outcome: 'rejected',
            category: 'no_regkey',
            message: 'LINE Pay confirmed without a regKey (not a PREAPPROVED request?)',
          };
        }
        log.info('confirmed preapproved payment', { orderId: input.orderId });
        return {
          outcome: 'confirmed',
          sealedRegKey: vault.seal(info.regKey),
          regKeyMasked: maskRegKey(info.regKey),
          transactionId: info.transactionId,
        };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        if (err.retryable || MERCHANT_AUTH_CODES.has(err.returnCode ?? '')) throw retryLater(err);
        const result: ConfirmApprovalResult = {
          outcome: 'rejected',
          category: err.code,
          message: err.returnMessage ?? err.message,
        };
        if (err.returnCode !== undefined) result.returnCode = err.returnCode;
        return result;
      }
    },

    async chargePreapproved(input: ChargeInput): Promise<ChargeResult> {
      const regKey = vault.open(input.sealedRegKey);
      try {
        const res = await linePay.payPreapprovedOnce(regKey, {
          productName: input.productName,
          amount: input.amount,
          currency: input.currency,
          orderId: input.orderId,
        });
        if (res.status === 'charged') {
          log.info('charged', { orderId: input.orderId, recovered: res.recovered });
          return {
            outcome: 'charged',
            transactionId: res.transactionId,
            transactionDate: res.transactionDate,
            recovered: res.recovered,
          };
        }
        log.warn('charge outcome not established; LINE Pay has no such order yet', {
          orderId: input.orderId,
          reason: res.reason,
        });
        return { outcome: 'unknown', reason: `no payment found for the order after ${res.reason}` };
      } catch (err) {
        if (!(err instanceof LinePayError)) throw err;
        const message = err.returnMessage ?? err.message;
        switch (err.code) {
          case 'unknown_outcome':
            log.warn('charge outcome unknown', { orderId: input.orderId, returnCode: err.returnCode });
            return { outcome: 'unknown', reason: message };
          case 'declined_soft':
          case 'declined_hard':
            return withCode<ChargeResult>(
              { outcome: 'declined', category: err.code, message },
              err.returnCode,
            );
          case 'regkey_dead':
            return withCode<ChargeResult>({ outcome: 'regkey_dead', message }, err.returnCode);
          case 'merchant_config':
            throw retryLater(err, '5m');
          default:
            throw retryLater(err);
        }
      }
    },

    async lookupCharge({ orderId }: { orderId: string }): Promise<LookupResult> {
      try {
        const found = await linePay.findPaymentByOrderId(orderId);
        return found
          ? { found: true, transactionId: found.transactionId, transactionDate: found.transactionDate }
          : { found: false };
      } catch (err) {
        if (err instanceof LinePayError) throw retryLater(err);
        throw err;
      }
    },

    async refundPayment({ transactionId }: { transactionId: string }) {
      try {
        const res = await linePay.refund(transactionId);
        log.warn('refunded a payment that left no usable regKey', { transactionId });
        return { refundTransactionId: res.refundTransactionId, alreadyRefunded: false };
      } catch (err) {
        if (err instanceof LinePayError && err.code === 'already_processed') return { alreadyRefunded: true };
        if (err instanceof LinePayError) throw retryLater(err);
        throw err;
      }
    },

    async expireRegKey({ sealedRegKey }: { sealedRegKey: string }): Promise<{ alreadyExpired: boolean }> {
      try {
        return await linePay.expireRegKey(vault.open(sealedRegKey));
      } catch (err) {
        if (err instanceof LinePayError) throw retryLater(err);
        throw err;
      }
    },
  };
}

function withCode<T extends object>(result: T, returnCode: string | undefined): T {
  return returnCode === undefined ? result : { ...result, returnCode };
}
