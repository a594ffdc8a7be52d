/**
 * The regKey check of regkey-health.ts, ahead of a due date. A check that fails after its retries
 * gives no verdict: the charge goes ahead on its date, as it would without the check.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { SubscriptionActivities } from './activity-contract.js';
import { applyRegKeyChecked } from './regkey-health.js';
import type { SubscriptionState } from './subscription-state.js';

const checker = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export async function performRegKeyCheck(state: SubscriptionState, now: () => number): Promise<void> {
  const owner = { subscriptionId: state.input.subscriptionId, instanceId: state.instanceId };
  try {
    const result = await checker.checkRegKey.executeWithOptions(
      {
        startToCloseTimeout: '30s',
        summary: `Check the regKey before cycle ${state.cycle} (due ${state.nextChargeAt})`,
      },
      [{ owner, sealedRegKey: state.sealedRegKey! }],
    );
    applyRegKeyChecked(state, result, now());
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    applyRegKeyChecked(state, { health: 'unknown' }, now());
  }
}
