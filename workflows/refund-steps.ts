/**
 * The refund steps of the main loop: call one refund activity, then apply its answer with one pure
 * function from refund.ts. An activity that gives up leaves the refund to a lookup (it may have been
 * sent) and blocks the step on a timer; it never fails the run.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import { applyBlocked, clearBlocked } from './charge-outcome.js';
import { applyRefundLookup, applySendRefund, refundOutcomeUnknown } from './refund.js';
import type { RefundActivities } from './refund-contract.js';
import { failureMessage, RETRY_THEN_BLOCK } from './step-failures.js';
import type { SubscriptionState } from './subscription-state.js';

const STEP = 'refundCharge';

const refunds = proxyActivities<RefundActivities>({
  // Refund read timeout 20 s + a 20 s Details lookup, with margin.
  startToCloseTimeout: '60s',
  heartbeatTimeout: '10s',
  retry: RETRY_THEN_BLOCK,
});

export async function performRefundStep(
  state: SubscriptionState,
  now: () => number,
  kind: 'lookupRefund' | 'sendRefund',
): Promise<void> {
  const r = state.refunds!.pending[0]!;
  if (kind === 'lookupRefund') {
    try {
      const found = await refunds.lookupPaymentRefunds.executeWithOptions(
        {
          startToCloseTimeout: '30s',
          heartbeatTimeout: '10s',
          summary:
            r.baseline === undefined
              ? `Look up payment ${r.transactionId} before refunding`
              : `Look up payment ${r.transactionId}: did the refund go through?`,
        },
        [{ transactionId: r.transactionId }],
      );
      if (state.blocked?.step === STEP) clearBlocked(state);
      applyRefundLookup(state, found, now());
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      applyBlocked(state, STEP, failureMessage(err), now());
    }
    return;
  }
  const amount = r.sendAmount!;
  const baseline = r.baseline ?? [];
  try {
    const result = await refunds.sendRefund.executeWithOptions(
      {
        startToCloseTimeout: '60s',
        heartbeatTimeout: '10s',
        summary: `Refund ${amount} ${r.payment?.currency ?? ''} of ${r.transactionId} (${r.requestId})`,
      },
      [{ transactionId: r.transactionId, amount, baseline }],
    );
    if (state.blocked?.step === STEP) clearBlocked(state);
    applySendRefund(state, result, now());
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // The Refund may have reached LINE Pay: from here only a lookup settles it.
    refundOutcomeUnknown(state, failureMessage(err), now());
    applyBlocked(state, STEP, failureMessage(err), now());
  }
}
