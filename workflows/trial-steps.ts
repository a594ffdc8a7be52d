/**
 * The trial's steps of the main loop: give the approval payment back (Void the authorization, or
 * refund the minimum), and send `trial_will_end`. An activity that gives up blocks the step on a
 * timer (a Void or refund is keyed by its transactionId, so repeating it is safe); it never fails the run.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { SubscriptionActivities } from './activity-contract.js';
import { applyBlocked, clearBlocked } from './charge-outcome.js';
import { RETRY_THEN_BLOCK } from './step-failures.js';
import type { SubscriptionState } from './subscription-state.js';
import { applyTrialWillEnd, applyVerificationSettled } from './trial-outcome.js';

const STEP = 'trialVerification';

const lineApi = proxyActivities<SubscriptionActivities>({
  // Void or refund read timeout 20 s + a 20 s Details lookup, with margin.
  startToCloseTimeout: '60s',
  heartbeatTimeout: '10s',
  retry: RETRY_THEN_BLOCK,
});

export async function performTrialStep(
  state: SubscriptionState,
  now: () => number,
  kind: 'settleTrialVerification' | 'trialWillEnd',
): Promise<void> {
  if (kind === 'trialWillEnd') {
    applyTrialWillEnd(state, now());
    return;
  }
  const v = state.trial!.verification;
  const transactionId = v.transactionId!;
  try {
    if (v.mode === 'void_authorization') {
      const voided = await lineApi.voidAuthorization.executeWithOptions(
        { summary: `Void the trial's approval authorization ${transactionId} (${v.amount} ${v.currency})` },
        [{ transactionId }],
      );
      if (voided.outcome !== 'captured') {
        if (state.blocked?.step === STEP) clearBlocked(state);
        applyVerificationSettled(state, { outcome: voided.outcome }, now());
        return;
      }
      // Captured after all (by hand at LINE Pay?): the money goes back as a refund.
    }
    const refund = await lineApi.refundPayment.executeWithOptions(
      { summary: `Refund the trial's approval payment ${transactionId} (${v.amount} ${v.currency})` },
      [{ transactionId }],
    );
    if (state.blocked?.step === STEP) clearBlocked(state);
    applyVerificationSettled(
      state,
      { outcome: 'refunded', refundTransactionId: refund.refundTransactionId },
      now(),
    );
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    applyBlocked(state, STEP, err.cause?.message ?? err.message, now());
  }
}
