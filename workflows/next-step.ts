/**
 * The one decision the main loop makes, again after every step and every wake-up: what to do next,
 * given the state and the time. Pure, so the priorities are tested without Temporal: money first
 * (a refund owed), then requests in the order they were accepted (a cancel accepted before a confirm
 * wins), then the status's own work. Nothing new is charged once a cancel is accepted.
 */

import { approvalPollAt } from './approval-poll.js';
import { parseDuration } from './duration.js';
import { withOneOffs } from './one-off-charge.js';
import { withRefunds } from './refund.js';
import { regKeyCheckAt } from './regkey-health.js';
import type { Actor } from './subscription-input.js';
import {
  hasReachedMaxCycles,
  MAX_RESERVATIONS_PER_CYCLE,
  reservationFresh,
  type SubscriptionState,
} from './subscription-state.js';
import { verificationPending } from './trial.js';
import { trialNoticeDue } from './trial-outcome.js';

const SYSTEM: Actor = { kind: 'system' };

export type Step =
  /**
   * `idle`: nothing is expected soon (a due date, a dunning retry, a pause), so the workflow may
   * continue-as-new first and wake on a short history.
   */
  | { kind: 'wait'; until?: string | undefined; summary: string; idle?: boolean }
  | { kind: 'reserve'; reservation: 'approval' | 'reapproval' }
  | { kind: 'confirm' }
  | { kind: 'refundOrphan' }
  | { kind: 'checkApprovalCancel' }
  | { kind: 'retireRegKey'; summary: string }
  | { kind: 'lookupPriors' }
  | { kind: 'openCharge' }
  | { kind: 'sendCharge' }
  | { kind: 'lookupCharge'; mode: 'resolve' | 'cancel' }
  | { kind: 'finishCancel'; actor: Actor; reason: string; effectiveAt: number }
  | { kind: 'complete' }
  | { kind: 'expireApproval' }
  | { kind: 'expireReapproval' }
  | { kind: 'resume' }
  | { kind: 'consentReapproval' }
  | { kind: 'pollApproval' }
  | { kind: 'checkRegKey' }
  | { kind: 'settleTrialVerification' }
  | { kind: 'trialWillEnd' }
  | { kind: 'lookupRefund' }
  | { kind: 'sendRefund' }
  | { kind: 'sendOneOff' }
  | { kind: 'lookupOneOff'; mode: 'resolve' | 'final' }
  | { kind: 'abandonOneOffs' }
  | { kind: 'done' };

export function approvalDeadline(state: SubscriptionState): number {
  return Date.parse(state.createdAt) + parseDuration(state.input.approvalTimeout);
}

/** Steps that call LINE Pay, by the name a blocked step records. */
const LINE_PAY_STEPS: Partial<Record<Step['kind'], string>> = {
  reserve: 'reserve',
  refundOrphan: 'refund',
  checkApprovalCancel: 'checkRequestStatus',
  retireRegKey: 'expireRegKey',
  lookupPriors: 'lookupPriors',
  sendCharge: 'charge',
  lookupCharge: 'lookupCharge',
  settleTrialVerification: 'trialVerification',
  lookupRefund: 'refundCharge',
  sendRefund: 'refundCharge',
  sendOneOff: 'oneOffCharge',
  lookupOneOff: 'lookupOneOff',
};

/**
 * While a step is blocked, LINE Pay steps wait for its retry timer; a cancel interrupts the wait
 * for every step but the blocked one (the regKey is expired first, whatever else is stuck).
 */
export function nextStep(state: SubscriptionState, now: number): Step {
  const step = withOneOffs(state, now, withRefunds(state, now, candidateStep(state, now)));
  const b = state.blocked;
  const name = LINE_PAY_STEPS[step.kind];
  if (b && name !== undefined && now < Date.parse(b.retryAt)) {
    if (state.requests.cancelNow === undefined || name === b.step)
      return { kind: 'wait', until: b.retryAt, summary: `Blocked (${b.step}): retry at ${b.retryAt}` };
  }
  return step;
}

function candidateStep(state: SubscriptionState, now: number): Step {
  const { status, requests } = state;
  if (
    status === 'canceled' ||
    status === 'completed' ||
    status === 'approval_expired' ||
    status === 'approval_canceled'
  )
    return { kind: 'done' };
  if (state.refundDue) return { kind: 'refundOrphan' };

  const cancel = requests.cancelNow;
  const confirm = requests.confirm;
  if (cancel && (!confirm || cancel.seq < confirm.seq))
    return cancelStep(state, cancel.actor, cancel.reason, now);
  // Outside active, cancel at period end means no further attempts: checked before every dunning
  // retry and every Confirm (a charge already sent is settled first).
  if (
    state.cancelAt !== undefined &&
    !state.charge &&
    (status === 'past_due' || status === 'reapproval_required')
  )
    return periodEndCancel(state, now);
  if (confirm) return { kind: 'confirm' };
  if (requests.approvalCancel) return { kind: 'checkApprovalCancel' };

  if (state.retireRegKey && state.sealedRegKey !== undefined)
    return { kind: 'retireRegKey', summary: 'Expire the old regKey before re-approval' };
  // A trial's approval payment goes back to the customer before anything else is billed.
  if (verificationPending(state.trial)) return { kind: 'settleTrialVerification' };

  switch (status) {
    case 'pending_approval': {
      const deadline = approvalDeadline(state);
      if (now >= deadline) return { kind: 'expireApproval' };
      if (needsReservation(state, now)) return { kind: 'reserve', reservation: 'approval' };
      return awaitApproval(state, now, deadline, 'Wait for customer approval');
    }
    case 'reapproval_required': {
      const deadline = state.reapprovalDeadline!;
      if (now >= Date.parse(deadline)) return { kind: 'expireReapproval' };
      if (state.priorLookup) return { kind: 'lookupPriors' };
      if (needsReservation(state, now)) return { kind: 'reserve', reservation: 'reapproval' };
      return awaitApproval(state, now, Date.parse(deadline), 'Wait for customer re-approval');
    }
    case 'trialing':
    case 'active': {
      if (status === 'trialing' && !state.charge && state.trial && !state.trial.noticeSent) {
        if (trialNoticeDue(state, now)) return { kind: 'trialWillEnd' };
        return {
          kind: 'wait',
          until: state.trial.noticeAt,
          summary: `Trial: notice at ${state.trial.noticeAt}`,
          idle: true,
        };
      }
      if (state.charge) return chargeStep(state, now);
      if (hasReachedMaxCycles(state)) {
        return state.sealedRegKey !== undefined
          ? { kind: 'retireRegKey', summary: 'Expire regKey (fixed term complete)' }
          : { kind: 'complete' };
      }
      const due = state.nextChargeAt!;
      if (state.cancelAt !== undefined && Date.parse(state.cancelAt) <= Date.parse(due)) {
        if (now >= Date.parse(state.cancelAt)) return periodEndCancel(state, now);
        return {
          kind: 'wait',
          until: state.cancelAt,
          summary: `Cancel at period end (${state.cancelAt})`,
          idle: true,
        };
      }
      const checkAt = regKeyCheckAt(state);
      if (checkAt !== undefined) {
        if (now >= checkAt) return { kind: 'checkRegKey' };
        return {
          kind: 'wait',
          until: new Date(checkAt).toISOString(),
          summary: `Check the regKey before cycle ${state.cycle} (due ${due})`,
          idle: true,
        };
      }
      if (now >= Date.parse(due)) {
        const change = state.pendingPlanChange;
        if (change?.needsConsent && change.effectiveCycle <= state.cycle)
          return { kind: 'consentReapproval' };
        return { kind: 'openCharge' };
      }
      return { kind: 'wait', until: due, summary: `Sleep until cycle ${state.cycle} is due`, idle: true };
    }
    case 'past_due': {
      if (state.charge) return chargeStep(state, now);
      const retryAt = state.dunning?.nextRetryAt;
      if (requests.retryNow || (retryAt !== undefined && now >= Date.parse(retryAt)))
        return { kind: 'openCharge' };
      return {
        kind: 'wait',
        until: retryAt,
        summary: `Dunning retry ${state.dunning?.declines ?? 0} of cycle ${state.cycle}`,
        idle: true,
      };
    }
    case 'paused': {
      // A cancel at period end still happens on its date while paused.
      const cancelFirst =
        state.cancelAt !== undefined && (state.resumeAt === undefined || state.cancelAt <= state.resumeAt);
      const until = cancelFirst ? state.cancelAt : state.resumeAt;
      if (until !== undefined && now >= Date.parse(until))
        return cancelFirst ? periodEndCancel(state, now) : { kind: 'resume' };
      return {
        kind: 'wait',
        until,
        summary: cancelFirst ? 'Paused; cancel at period end' : 'Paused until resumed',
        idle: true,
      };
    }
  }
}

/** Waiting for the customer: ask LINE Pay when a poll is due, else sleep until the next poll or the deadline. */
function awaitApproval(state: SubscriptionState, now: number, deadline: number, summary: string): Step {
  const pollAt = approvalPollAt(state, now);
  if (pollAt !== undefined && now >= pollAt) return { kind: 'pollApproval' };
  if (pollAt !== undefined && pollAt < deadline)
    return {
      kind: 'wait',
      until: new Date(pollAt).toISOString(),
      summary: 'Ask LINE Pay whether the customer approved',
    };
  return { kind: 'wait', until: new Date(deadline).toISOString(), summary };
}

function needsReservation(state: SubscriptionState, now: number): boolean {
  if (state.reservationsForCycle >= MAX_RESERVATIONS_PER_CYCLE) return false;
  // The first link of the approval or re-approval, then only when asked for after the last lapsed.
  if (state.reservation === undefined)
    return state.reservationsForCycle === 0 || state.requests.reservationWanted === true;
  return state.requests.reservationWanted === true && !reservationFresh(state, now);
}

function chargeStep(state: SubscriptionState, now: number): Step {
  const c = state.charge!;
  if (state.priorLookup) return { kind: 'lookupPriors' };
  if (c.phase === 'sending') return { kind: 'sendCharge' };
  const at = c.nextLookupAt;
  if (at === undefined || now >= Date.parse(at)) return { kind: 'lookupCharge', mode: 'resolve' };
  return { kind: 'wait', until: at, summary: `Unknown outcome of ${c.orderId}: look it up` };
}

/** Cancel: expire the regKey first, then only look up a charge that may have been sent. */
function cancelStep(state: SubscriptionState, actor: Actor, reason: string, now: number): Step {
  if (state.sealedRegKey !== undefined)
    return { kind: 'retireRegKey', summary: 'Expire regKey (subscription canceled)' };
  if (verificationPending(state.trial)) return { kind: 'settleTrialVerification' };
  if (state.charge?.sent) return { kind: 'lookupCharge', mode: 'cancel' };
  return { kind: 'finishCancel', actor, reason, effectiveAt: now };
}

function periodEndCancel(state: SubscriptionState, now: number): Step {
  if (state.sealedRegKey !== undefined)
    return { kind: 'retireRegKey', summary: 'Expire regKey (canceled at period end)' };
  const req = state.cancelAtRequest ?? { actor: SYSTEM, reason: 'canceled at period end' };
  return {
    kind: 'finishCancel',
    actor: req.actor,
    reason: req.reason,
    effectiveAt: Math.min(now, Date.parse(state.cancelAt!)),
  };
}
