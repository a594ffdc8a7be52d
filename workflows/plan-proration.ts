/**
 * What `changePlan` does with `prorate`: the validator's check and the change's effect, both over
 * `previewPlanChange`, so the amounts a `planPreview` shows are the amounts the change applies.
 */
import { ApplicationFailure } from '@temporalio/common';
import { REJECTION_TYPES } from './failure-types.js';
import type { ChangePlanInput, ChangePlanResult, PlanPreview, PlanPreviewInput } from './messages.js';
import { acceptOneOffCharge } from './one-off-charge.js';
import { applyProrationToBalance, ProrationRefusal, previewPlanChange } from './proration.js';
import { chargeAtIso, planChangeEffectiveCycle, type SubscriptionState } from './subscription-state.js';

/** The proration of a plan change at `now`, refused as validators refuse (type and a message naming the field). */
export function prorationOf(
  state: SubscriptionState,
  input: PlanPreviewInput | ChangePlanInput,
  now: number,
): PlanPreview {
  try {
    const preview = previewPlanChange(state, input, planChangeEffectiveCycle(state), now);
    // The instant the new amount is first charged, as changePlan reports it (billing window included).
    if (state.calendar) preview.effectiveAt = chargeAtIso(state, preview.effectiveCycle);
    return preview;
  } catch (err) {
    if (!(err instanceof ProrationRefusal)) throw err;
    throw ApplicationFailure.create({
      type: err.kind === 'invalid_state' ? REJECTION_TYPES.invalidState : REJECTION_TYPES.invalidRequest,
      message: err.message,
      nonRetryable: true,
      details: [{ field: err.field }],
    });
  }
}

/**
 * The `planPreview` validator: runs the change's own validator, then answers the preview as a
 * rejection (see `planPreviewUpdate`), so a preview never writes history.
 */
export function validatePlanPreview(
  state: SubscriptionState,
  input: PlanPreviewInput,
  validate: (input: ChangePlanInput) => void,
  now: number,
): never {
  validate({ ...input, actor: { kind: 'merchant' } });
  const preview = prorationOf(state, input, now);
  throw ApplicationFailure.create({
    type: REJECTION_TYPES.planPreview,
    message: 'plan change preview',
    nonRetryable: true,
    details: [preview],
  });
}

/**
 * Applies a prorated change's amounts: a `now` upgrade queues its charge as a one-off (its request id
 * derived from the change's, so a retried change queues nothing twice); credit and carried amounts
 * move the balance.
 */
export function applyProration(
  state: SubscriptionState,
  input: ChangePlanInput,
  preview: PlanPreview,
  now: number,
): Pick<ChangePlanResult, 'proration' | 'prorationCharge'> {
  applyProrationToBalance(state, preview, now);
  if (preview.chargeNow <= 0) return { proration: preview };
  const requestId = `plan:${input.requestId ?? `evt${state.events.nextSequence}`}`;
  const charge = acceptOneOffCharge(
    state,
    {
      actor: input.actor,
      requestId,
      amount: preview.chargeNow,
      productName: `${input.productName ?? state.plan.productName} (prorated upgrade)`,
    },
    'proration',
    now,
  );
  return {
    proration: preview,
    prorationCharge: { requestId, orderId: charge.orderId, amount: charge.amount },
  };
}
