/**
 * The steps that talk to LINE Pay: each calls its activities, then applies the answer with one pure
 * function from charge-outcome.ts. A step never leaves the state half-changed: status changes happen
 * only in those functions, synchronously, so a handler running between two awaits sees a whole state.
 * Activity failures (LINE Pay unreachable or refusing our channel for long) become a blocked step
 * that waits on a timer; they never fail the run.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
} from '@temporalio/workflow';
import type { LookupResult, SubscriptionActivities } from './activity-contract.js';
import { performApprovalPoll } from './approval-poll-steps.js';
import {
  applyApprovalCancelChecked,
  applyApprovalExpired,
  applyBlocked,
  applyCanceled,
  applyCharged,
  applyChargeLookup,
  applyChargeOutcome,
  applyCompleted,
  applyConfirmed,
  applyConfirmNotApproved,
  applyConfirmRejected,
  applyOrphanRefunded,
  applyPriorLookups,
  applyReapprovalExpired,
  applyRegKeyRetired,
  applyReserved,
  applyReserveRefused,
  clearBlocked,
  enterConsentReapproval,
} from './charge-outcome.js';
import { ACTIVITY_FAILURE_TYPES } from './failure-types.js';
import type { Step } from './next-step.js';
import { performOneOffStep } from './one-off-steps.js';
import { reservationOrderId } from './order-id.js';
import { performRefundStep } from './refund-steps.js';
import { performRegKeyCheck } from './regkey-health-steps.js';
import { failureMessage, failureType, RETRY_THEN_BLOCK } from './step-failures.js';
import { applyResume } from './subscription-requests.js';
import { openCharge, type SubscriptionState } from './subscription-state.js';
import { trialReservation, trialTermsOf } from './trial.js';
import { performTrialStep } from './trial-steps.js';

const lineApi = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '30s',
  heartbeatTimeout: '10s',
  retry: RETRY_THEN_BLOCK,
});
const billing = proxyActivities<SubscriptionActivities>({
  // 40 s preapprovedPay read timeout + a 20 s lookup, with margin; heartbeats notice a dead worker in seconds.
  startToCloseTimeout: '90s',
  heartbeatTimeout: '10s',
  retry: RETRY_THEN_BLOCK,
});
/**
 * The cycle charge runs as a local activity, inside the workflow task the due timer woke: one task per
 * billed cycle instead of two, and no sticky-cache dependence between them (bench/burst/README.md).
 * A dead worker is noticed by the workflow task timeout; the next one replays and sends the same
 * orderId again, which LINE Pay answers 1172 and the activity settles by lookup.
 */
const billingLocal = proxyLocalActivities<SubscriptionActivities>({
  startToCloseTimeout: '90s',
  // Longer backoffs become workflow timers, which a cancel interrupts like any other wait.
  localRetryThreshold: '10s',
  retry: RETRY_THEN_BLOCK,
});

/** Runs one LINE Pay step; on a failure retries could not cure, blocks it instead of failing the run. */
async function guarded(
  state: SubscriptionState,
  step: string,
  now: () => number,
  run: () => Promise<void>,
): Promise<boolean> {
  try {
    await run();
    if (state.blocked?.step === step) clearBlocked(state);
    return true;
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    applyBlocked(state, step, failureMessage(err), now());
    return false;
  }
}

export interface StepContext {
  state: SubscriptionState;
  now: () => number;
}

/** Carries out one step of `nextStep`. */
export async function performStep(ctx: StepContext, step: Step): Promise<void> {
  const { state, now } = ctx;
  const owner = { subscriptionId: state.input.subscriptionId, instanceId: state.instanceId };
  switch (step.kind) {
    case 'reserve': {
      const kind = step.reservation;
      const k = kind === 'approval' ? state.reservationsForCycle : state.reservationsForCycle + 1;
      const orderId = reservationOrderId(state.input.subscriptionId, state.instanceId, state.cycle, k);
      // A trial's approval moves only the smallest amount, given back right after Confirm (trial.ts).
      const terms = kind === 'approval' ? trialTermsOf(state.input) : undefined;
      const { amount, capture } = terms
        ? trialReservation(terms, state.plan.currency)
        : { amount: state.plan.amount, capture: true };
      try {
        const res = await lineApi.reservePreapproved.executeWithOptions(
          {
            startToCloseTimeout: '30s',
            heartbeatTimeout: '10s',
            summary: `Reserve ${kind}: ${amount} ${state.plan.currency} (${orderId})`,
          },
          [
            {
              subscriptionId: state.input.subscriptionId,
              instanceId: state.instanceId,
              orderId,
              productName: state.plan.productName,
              amount,
              currency: state.plan.currency,
              confirmUrl: state.input.redirectUrls.confirmUrl,
              cancelUrl: state.input.redirectUrls.cancelUrl,
              ...(capture ? {} : { capture }),
            },
          ],
        );
        applyReserved(state, kind, res, amount, now());
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        if (failureType(err) === ACTIVITY_FAILURE_TYPES.requestRejected)
          applyReserveRefused(state, failureMessage(err), now());
        else applyBlocked(state, 'reserve', failureMessage(err), now());
      }
      return;
    }
    case 'confirm': {
      const req = state.requests.confirm!;
      const r = req.reservation;
      try {
        const result = await billing.confirmPreapproved.executeWithOptions(
          {
            startToCloseTimeout: '60s',
            heartbeatTimeout: '10s',
            scheduleToCloseTimeout: '15m',
            summary: `Confirm ${r.kind}: ${r.amount} ${r.currency} (${r.orderId})`,
          },
          [
            {
              owner,
              transactionId: req.transactionId,
              orderId: r.orderId,
              amount: r.amount,
              currency: r.currency,
            },
          ],
        );
        if (result.outcome === 'confirmed') applyConfirmed(state, result, now());
        else if (result.outcome === 'not_approved') applyConfirmNotApproved(state, result, now());
        else applyConfirmRejected(state, result, now());
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // No usable answer within the window: whatever it took is looked up and refunded.
        applyConfirmRejected(state, { outcome: 'failed', message: failureMessage(err) }, now());
      }
      return;
    }
    case 'refundOrphan': {
      const due = state.refundDue!;
      await guarded(state, 'refund', now, async () => {
        const found = await billing.lookupCharge.executeWithOptions(
          {
            startToCloseTimeout: '30s',
            heartbeatTimeout: '10s',
            summary: `Look up order ${due.orderId} after a failed Confirm`,
          },
          [{ orderId: due.orderId, amount: due.amount, currency: due.currency }],
        );
        if (found.found !== true) {
          applyOrphanRefunded(state, undefined, now());
          return;
        }
        const refund = await lineApi.refundPayment.executeWithOptions(
          {
            startToCloseTimeout: '30s',
            heartbeatTimeout: '10s',
            summary: `Refund ${found.transactionId} (no regKey came back)`,
          },
          [{ transactionId: found.transactionId }],
        );
        clearBlocked(state);
        applyOrphanRefunded(
          state,
          { transactionId: found.transactionId, refundTransactionId: refund.refundTransactionId },
          now(),
        );
      });
      return;
    }
    case 'checkApprovalCancel': {
      const req = state.requests.approvalCancel!;
      await guarded(state, 'checkRequestStatus', now, async () => {
        const check = await lineApi.checkRequestStatus.executeWithOptions(
          { startToCloseTimeout: '30s', summary: 'Check the payment request before believing a cancel link' },
          [{ transactionId: req.transactionId }],
        );
        applyApprovalCancelChecked(state, check, now());
      });
      if (state.blocked?.step === 'checkRequestStatus') state.requests.approvalCancel = undefined;
      return;
    }
    case 'retireRegKey': {
      const sealedRegKey = state.sealedRegKey!;
      await guarded(state, 'expireRegKey', now, async () => {
        await lineApi.expireRegKey.executeWithOptions({ startToCloseTimeout: '30s', summary: step.summary }, [
          { owner, sealedRegKey },
        ]);
        applyRegKeyRetired(state);
      });
      return;
    }
    case 'lookupPriors': {
      const prior = state.priorLookup!;
      await guarded(state, 'lookupPriors', now, async () => {
        const results: { orderId: string; result: LookupResult }[] = [];
        for (const orderId of prior.orderIds) {
          const result = await billing.lookupCharge.executeWithOptions(
            {
              startToCloseTimeout: '30s',
              heartbeatTimeout: '10s',
              summary: `Look up earlier order ${orderId}`,
            },
            [{ orderId, amount: prior.amount, currency: state.plan.currency }],
          );
          results.push({ orderId, result });
          if (result.found === true) break;
        }
        applyPriorLookups(state, results, now());
      });
      return;
    }
    case 'openCharge':
      // A cycle wholly covered by credit is paid without calling LINE Pay.
      if (openCharge(state, now()).amount === 0)
        applyCharged(state, { transactionId: '', recovered: false }, now());
      return;
    case 'sendCharge': {
      const c = state.charge!;
      const again = c.sent;
      c.sent = true;
      // A cancel accepted while the charge activity runs or waits to retry stops it: nothing new is
      // sent after a cancel. The attempt that may have left is then only looked up.
      const scope = new CancellationScope();
      let settled = false;
      void condition(() => settled || state.requests.cancelNow !== undefined).then(() => {
        if (!settled) scope.cancel();
      });
      try {
        const result = await scope.run(() =>
          billingLocal.chargePreapproved.executeWithOptions(
            {
              cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
              summary: again
                ? `Charge cycle ${c.cycle} again, same orderId (${c.orderId})`
                : `Charge cycle ${c.cycle}: ${c.amount} ${c.currency} (${c.orderId})`,
            },
            [
              {
                owner,
                sealedRegKey: state.sealedRegKey!,
                orderId: c.orderId,
                productName: c.productName,
                amount: c.amount,
                currency: c.currency,
              },
            ],
          ),
        );
        applyChargeOutcome(state, result, now());
      } catch (err) {
        if (isCancellation(err)) {
          c.phase = 'unknown';
          c.nextLookupAt = undefined;
          return;
        }
        // A local activity's failure arrives as the failure itself, not wrapped in an ActivityFailure.
        if (!(err instanceof TemporalFailure)) throw err;
        // The request may have left: from here on only a lookup or the same orderId settles it.
        c.phase = 'unknown';
        c.nextLookupAt = undefined;
        applyBlocked(state, 'charge', failureMessage(err), now());
      } finally {
        settled = true;
      }
      return;
    }
    case 'lookupCharge': {
      const c = state.charge!;
      await guarded(state, 'lookupCharge', now, async () => {
        const found = await billing.lookupCharge.executeWithOptions(
          { startToCloseTimeout: '30s', heartbeatTimeout: '10s', summary: `Look up order ${c.orderId}` },
          [{ orderId: c.orderId, amount: c.amount, currency: c.currency }],
        );
        clearBlocked(state);
        applyChargeLookup(state, found, step.mode, now());
      });
      return;
    }
    case 'finishCancel':
      applyCanceled(state, step.actor, step.reason, step.effectiveAt, now());
      return;
    case 'complete':
      applyCompleted(state, now());
      return;
    case 'expireApproval':
      applyApprovalExpired(state, now());
      return;
    case 'expireReapproval':
      applyReapprovalExpired(state, now());
      return;
    case 'resume':
      applyResume(state, { kind: 'system' }, 'resumed on schedule', now());
      return;
    case 'consentReapproval':
      enterConsentReapproval(state, now());
      return;
    case 'pollApproval':
      await performApprovalPoll(state, now);
      return;
    case 'checkRegKey':
      await performRegKeyCheck(state, now);
      return;
    case 'lookupRefund':
    case 'sendRefund':
      await performRefundStep(state, now, step.kind);
      return;
    case 'settleTrialVerification':
    case 'trialWillEnd':
      await performTrialStep(state, now, step.kind);
      return;
    case 'sendOneOff':
    case 'lookupOneOff':
    case 'abandonOneOffs':
      await performOneOffStep(state, now, step);
      return;
    case 'wait':
    case 'done':
      return;
  }
}
