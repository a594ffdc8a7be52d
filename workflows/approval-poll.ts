/**
 * Approval without a returning browser: a customer who approves in the LINE app, or in an in-app
 * browser that never reaches confirmUrl, would lose the approval when the 20-minute reservation
 * lapses. While a reservation is fresh the workflow asks Check-payment-request-status on a backoff;
 * once LINE Pay says authenticated (0110) it records a confirm itself, the same one the confirmUrl
 * webhook would have made (same transactionId and orderId), so exactly one Confirm reaches LINE Pay
 * and a webhook that comes first, meanwhile or later gets that confirm's answer. Pure rules.
 */
import type { RequestStatusResult } from './activity-contract.js';
import { applyApprovalCancelChecked } from './charge-outcome.js';
import type { ConfirmInput, ConfirmResult } from './messages.js';
import {
  awaitingApproval,
  reservationFresh,
  type SubscriptionState,
  transition,
} from './subscription-state.js';

/** Poll times after the Request: gaps of 20 s, 40 s, 80 s, 160 s, then every 5 minutes, inside the 20 minutes. */
export const APPROVAL_POLL_OFFSETS_MS = [20, 60, 140, 300, 600, 900, 1_140].map((s) => s * 1_000);
const MAX_CONFIRMS_SEEN = 4;

/** Polls made for one reservation; `settled` once LINE Pay answered anything but "waiting". */
export interface ApprovalPoll {
  transactionId: string;
  polls: number;
  settled?: boolean | undefined;
}

/** A confirm accepted for a payment request, by the seq its answer is stored under. */
export interface ConfirmSeen {
  transactionId: string;
  orderId: string;
  seq: number;
}

/** When the current reservation is next polled, or `undefined` when no poll is owed. */
export function approvalPollAt(state: SubscriptionState, now: number): number | undefined {
  const r = state.reservation;
  if (!r || !awaitingApproval(state) || !reservationFresh(state, now)) return undefined;
  if (state.requests.confirm || state.requests.approvalCancel) return undefined;
  const poll = state.approvalPoll?.transactionId === r.transactionId ? state.approvalPoll : undefined;
  if (poll?.settled) return undefined;
  const offset = APPROVAL_POLL_OFFSETS_MS[poll?.polls ?? 0];
  if (offset === undefined) return undefined;
  const at = Date.parse(r.createdAt) + offset;
  return at < Date.parse(r.expiresAt) ? at : undefined;
}

/**
 * LINE Pay's answer to a poll. Authenticated: a confirm is recorded as if the webhook had come (the
 * main loop then confirms). Cancelled or failed: the reservation is dropped as a believed cancel link
 * drops it. Waiting: poll again later. A confirm or cancel accepted meanwhile wins.
 */
export function applyApprovalPolled(
  state: SubscriptionState,
  transactionId: string,
  check: RequestStatusResult,
  now: number,
): void {
  const r = state.reservation;
  const prior = state.approvalPoll?.transactionId === transactionId ? state.approvalPoll.polls : 0;
  state.approvalPoll = { transactionId, polls: prior + 1, settled: check.status !== 'waiting' };
  if (!r || r.transactionId !== transactionId || !awaitingApproval(state)) return;
  if (state.requests.confirm || state.requests.approvalCancel) return;
  switch (check.status) {
    case 'waiting':
      return;
    case 'authenticated':
      transition(
        state,
        state.status,
        { kind: 'customer' },
        'LINE Pay reports the payment request authenticated (0110); confirming without the browser',
        now,
      );
      recordConfirm(state, { transactionId: r.transactionId, orderId: r.orderId });
      return;
    case 'canceled_or_expired':
    case 'failed':
      applyApprovalCancelChecked(state, check, now);
      return;
    case 'completed':
      // Confirmed already (0123) without our knowing: only a confirm with a regKey helps; wait for it.
      return;
  }
}

/** Records a confirm of the current reservation; the handler waits for the answer under its seq. */
export function recordConfirm(state: SubscriptionState, input: ConfirmInput): number {
  state.requests.seq += 1;
  const seq = state.requests.seq;
  state.requests.confirm = {
    transactionId: input.transactionId,
    orderId: input.orderId,
    // The reservation the confirm was validated against, whatever happens to state.reservation next.
    reservation: { ...state.reservation!, paymentUrl: { ...state.reservation!.paymentUrl } },
    seq,
  };
  const seen = [
    ...(state.confirmsSeen ?? []),
    { transactionId: input.transactionId, orderId: input.orderId, seq },
  ];
  state.confirmsSeen = seen.slice(-MAX_CONFIRMS_SEEN);
  return seq;
}

/**
 * A confirm for the same payment request as one already accepted: the pending one (join it), or one
 * that activated the subscription (its answer again). A confirm that failed is not shared: the
 * customer may still approve and a new confirm try.
 */
export function sharedConfirm(
  state: SubscriptionState,
  input: ConfirmInput,
): { seq: number; answer?: ConfirmResult } | undefined {
  if (!input || typeof input.transactionId !== 'string' || typeof input.orderId !== 'string')
    return undefined;
  const seen = [...(state.confirmsSeen ?? [])]
    .reverse()
    .find((c) => c.transactionId === input.transactionId && c.orderId === input.orderId);
  if (!seen) return undefined;
  if (state.requests.confirm?.seq === seen.seq) return { seq: seen.seq };
  const answer = state.confirmResults.find((r) => r.seq === seen.seq)?.result;
  return answer?.charge !== undefined ? { seq: seen.seq, answer } : undefined;
}
