/**
 * The Check-payment-request-status poll of approval-poll.ts: one cheap activity per poll, few
 * retries (the next poll is minutes away), and a failure that only counts as "still waiting".
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { SubscriptionActivities } from './activity-contract.js';
import { applyApprovalPolled } from './approval-poll.js';
import type { SubscriptionState } from './subscription-state.js';

const poller = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function performApprovalPoll(state: SubscriptionState, now: () => number): Promise<void> {
  const r = state.reservation!;
  try {
    const check = await poller.checkRequestStatus.executeWithOptions(
      {
        startToCloseTimeout: '30s',
        retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3 },
        summary: `Has the customer approved ${r.orderId}? (Check payment request status)`,
      },
      [{ transactionId: r.transactionId }],
    );
    applyApprovalPolled(state, r.transactionId, check, now());
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // No answer: as good as "waiting"; the confirmUrl webhook or the next poll settles it.
    applyApprovalPolled(state, r.transactionId, { status: 'waiting' }, now());
  }
}
