/**
 * The one-off charge steps of the main loop: send the queue's head on the regKey, or look it up by
 * orderId, then apply the answer with one pure function from one-off-charge.ts. A cancel accepted
 * while the payment is on the wire cancels the activity, as for cycle charges; the attempt that may
 * have left is then only looked up. Activity failures never fail the run.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { SubscriptionActivities } from './activity-contract.js';
import { applyBlocked, clearBlocked } from './charge-outcome.js';
import {
  abandonOneOffs,
  applyOneOffLookup,
  applyOneOffOutcome,
  applyOneOffUnreachable,
  markOneOffSent,
} from './one-off-charge.js';
import { failureMessage, RETRY_THEN_BLOCK } from './step-failures.js';
import type { SubscriptionState } from './subscription-state.js';

const billing = proxyActivities<SubscriptionActivities>({
  // 40 s preapprovedPay read timeout + a 20 s lookup, with margin; heartbeats notice a dead worker in seconds.
  startToCloseTimeout: '90s',
  heartbeatTimeout: '10s',
  retry: RETRY_THEN_BLOCK,
});

export async function performOneOffStep(
  state: SubscriptionState,
  now: () => number,
  step:
    | { kind: 'sendOneOff' }
    | { kind: 'lookupOneOff'; mode: 'resolve' | 'final' }
    | { kind: 'abandonOneOffs' },
): Promise<void> {
  if (step.kind === 'abandonOneOffs') {
    abandonOneOffs(state, now());
    return;
  }
  const owner = { subscriptionId: state.input.subscriptionId, instanceId: state.instanceId };
  if (step.kind === 'lookupOneOff') {
    const c = state.oneOffs!.pending[0]!.charge;
    try {
      const found = await billing.lookupCharge.executeWithOptions(
        { startToCloseTimeout: '30s', heartbeatTimeout: '10s', summary: `Look up one-off ${c.orderId}` },
        [{ orderId: c.orderId, amount: c.amount, currency: c.currency }],
      );
      if (state.blocked?.step === 'lookupOneOff') clearBlocked(state);
      applyOneOffLookup(state, found, step.mode, now());
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      applyBlocked(state, 'lookupOneOff', failureMessage(err), now());
    }
    return;
  }
  const p = markOneOffSent(state);
  const again = p.lookups > 0;
  const c = p.charge;
  const scope = new CancellationScope();
  let settled = false;
  void condition(() => settled || state.requests.cancelNow !== undefined).then(() => {
    if (!settled) scope.cancel();
  });
  try {
    const result = await scope.run(() =>
      billing.chargePreapproved.executeWithOptions(
        {
          startToCloseTimeout: '90s',
          heartbeatTimeout: '10s',
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          summary: again
            ? `One-off again, same orderId (${c.orderId})`
            : `One-off: ${c.amount} ${c.currency} "${c.productName}" (${c.orderId})`,
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
    applyOneOffOutcome(state, result, now());
  } catch (err) {
    if (isCancellation(err)) {
      applyOneOffUnreachable(state, 'canceled while sending', now());
      return;
    }
    if (!(err instanceof ActivityFailure)) throw err;
    applyOneOffUnreachable(state, failureMessage(err), now());
  } finally {
    settled = true;
  }
}
