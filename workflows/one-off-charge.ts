/**
 * One-off charges on the regKey (add-ons, fees, prorated upgrades), as pure rules over the state.
 * The update handler only queues the charge; the main loop sends it, one at a time and never while a
 * cycle charge is on the wire, because LINE Pay answers 1197 to concurrent payments on one regKey.
 * Each has its own orderId derived from the caller's request id, and the same recovery as cycle
 * charges: an unknown outcome is looked up by orderId and re-sent under it only when nothing is listed;
 * 1172 with nothing listed is looked up until Details catches up, then counts as failed. A decline is
 * a failed one-off, answered and recorded; it never starts dunning.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ChargeResult, LookupResult } from './activity-contract.js';
import { LOOKUP_BACKOFF_MS, ORDER_USED_LOOKUP_MS, RESOLUTION_BOUND_MS } from './charge-outcome.js';
import { addToBalance } from './credit-balance.js';
import { REJECTION_TYPES } from './failure-types.js';
import type { OneOffCharge, OneOffChargeInput } from './messages.js';
import type { Step } from './next-step.js';
import { oneOffOrderId } from './order-id.js';
import { type Actor, checkAmount, SubscriptionInputError } from './subscription-input.js';
import { emit, flagAttention, iso, isTerminal, type SubscriptionState } from './subscription-state.js';

/** One-offs waiting or under way at once; more are refused until these settle. */
export const MAX_PENDING_ONE_OFFS = 10;
/** Settled one-offs the state keeps (the ledger keeps all); their request ids still dedupe. */
export const MAX_SETTLED_ONE_OFFS = 24;

/** A queued or unresolved one-off, as carried in the state. */
export interface PendingOneOff {
  charge: OneOffCharge;
  actor: Actor;
  /** `sending`: the next step sends (or re-sends, same orderId); `unknown`/`order_used`: look it up. */
  phase: 'sending' | 'unknown' | 'order_used';
  sent: boolean;
  since: string;
  lookups: number;
  nextLookupAt?: string | undefined;
  lastError?: string | undefined;
}

export interface OneOffState {
  pending: PendingOneOff[];
  settled: OneOffCharge[];
}

function reject(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

function oneOffsOf(state: SubscriptionState): OneOffState {
  state.oneOffs ??= { pending: [], settled: [] };
  return state.oneOffs;
}

/** A one-off already known under this request id, pending or settled. */
export function findOneOff(state: SubscriptionState, requestId: string): OneOffCharge | undefined {
  const o = state.oneOffs;
  if (!o) return undefined;
  return (
    o.pending.find((p) => p.charge.requestId === requestId)?.charge ??
    o.settled.find((c) => c.requestId === requestId)
  );
}

/** The regKey can be charged: approved, not being retired, not canceling. */
export function regKeyLive(state: SubscriptionState): boolean {
  return (
    (state.status === 'active' ||
      state.status === 'trialing' ||
      state.status === 'past_due' ||
      state.status === 'paused') &&
    state.sealedRegKey !== undefined &&
    !state.retireRegKey &&
    state.requests.cancelNow === undefined
  );
}

function checkProductName(productName: unknown): void {
  if (typeof productName !== 'string' || !productName.trim() || [...productName].length > 4000)
    reject(REJECTION_TYPES.invalidRequest, 'productName must be 1-4000 characters');
}

export function validateOneOffCharge(state: SubscriptionState, input: OneOffChargeInput): void {
  const a = input?.actor as Actor | undefined;
  if (!a || typeof a !== 'object' || !['customer', 'merchant', 'operator', 'system'].includes(a.kind))
    reject(REJECTION_TYPES.invalidRequest, 'actor.kind must be customer, merchant, operator or system');
  if (typeof input.requestId !== 'string' || input.requestId.length < 1 || input.requestId.length > 200)
    reject(REJECTION_TYPES.invalidRequest, 'requestId must be a string of 1-200 characters');
  try {
    checkAmount(input.amount, state.plan.currency, state.input.limits);
  } catch (err) {
    if (err instanceof SubscriptionInputError) reject(REJECTION_TYPES.invalidRequest, err.message);
    throw err;
  }
  checkProductName(input.productName);
  const known = findOneOff(state, input.requestId);
  if (known) {
    // A repeat is answered with the first charge; the same id for different terms is a caller bug.
    if (known.amount !== input.amount || known.productName !== input.productName)
      reject(
        REJECTION_TYPES.conflict,
        `requestId ${input.requestId} was used for a one-off of ${known.amount} ${known.currency} "${known.productName}"`,
      );
    return;
  }
  if (isTerminal(state.status)) reject(REJECTION_TYPES.invalidState, `subscription is ${state.status}`);
  if (!regKeyLive(state)) {
    const why =
      state.requests.cancelNow !== undefined
        ? 'the subscription is being canceled'
        : state.status === 'pending_approval'
          ? 'the customer has not approved yet'
          : state.status === 'reapproval_required'
            ? 'the customer must approve again first (reapproval_required)'
            : `the subscription is ${state.status}`;
    reject(REJECTION_TYPES.invalidState, `no live regKey to charge: ${why}`);
  }
  if ((state.oneOffs?.pending.length ?? 0) >= MAX_PENDING_ONE_OFFS)
    reject(
      REJECTION_TYPES.limit,
      `${MAX_PENDING_ONE_OFFS} one-off charges are pending; retry once they settle`,
    );
  const orderId = oneOffOrderId(state.input.subscriptionId, state.instanceId, input.requestId);
  // Two request ids hashing alike would share an orderId: refused rather than answered 1172.
  if (
    state.oneOffs &&
    [...state.oneOffs.pending.map((p) => p.charge), ...state.oneOffs.settled].some(
      (c) => c.orderId === orderId,
    )
  )
    reject(
      REJECTION_TYPES.conflict,
      `requestId ${input.requestId} maps to an orderId already used; use another requestId`,
    );
}

/** Queues the charge for the main loop; a repeat returns the known one. */
export function acceptOneOffCharge(
  state: SubscriptionState,
  input: OneOffChargeInput,
  kind: OneOffCharge['kind'],
  now: number,
): OneOffCharge {
  const known = findOneOff(state, input.requestId);
  if (known) return known;
  const charge: OneOffCharge = {
    requestId: input.requestId,
    orderId: oneOffOrderId(state.input.subscriptionId, state.instanceId, input.requestId),
    kind,
    amount: input.amount,
    currency: state.plan.currency,
    productName: input.productName,
    status: 'pending',
    requestedAt: iso(now),
  };
  oneOffsOf(state).pending.push({
    charge,
    actor: input.actor,
    phase: 'sending',
    sent: false,
    since: iso(now),
    lookups: 0,
  });
  return charge;
}

/** The update's answer is ready: settled, or sent with an outcome that only lookups will tell. */
export function oneOffAnswered(state: SubscriptionState, requestId: string): boolean {
  const p = state.oneOffs?.pending.find((x) => x.charge.requestId === requestId);
  return p === undefined || (p.sent && p.phase !== 'sending') || isTerminal(state.status);
}

// ---- the main loop's step --------------------------------------------------------------------------

/** Steps of the cycle charge that must finish before a one-off is sent on the same regKey. */
const CYCLE_CHARGE_STEPS: readonly Step['kind'][] = ['sendCharge', 'lookupCharge', 'lookupPriors'];
/** Steps that come before any one-off work: money owed back, the customer's own actions, the key's retirement. */
const FIRST_STEPS: readonly Step['kind'][] = [
  'done',
  'refundOrphan',
  'confirm',
  'checkApprovalCancel',
  'retireRegKey',
];

/**
 * Merges one-off work into the step the status asks for. While the regKey is live, the head of the
 * queue goes before new cycle work; a one-off waiting on a lookup lets the cycle proceed. Once the
 * key is gone (cancel, re-approval), queued one-offs fail and a sent one is looked up once.
 */
export function withOneOffs(state: SubscriptionState, now: number, own: Step): Step {
  const head = state.oneOffs?.pending[0];
  if (!head || FIRST_STEPS.includes(own.kind)) return own;
  if (!regKeyLive(state)) {
    if (!head.sent) return { kind: 'abandonOneOffs' };
    // The regKey is expired by now (retireRegKey comes first): not found means never charged.
    if (state.sealedRegKey === undefined || state.status === 'reapproval_required')
      return { kind: 'lookupOneOff', mode: 'final' };
    return own;
  }
  if (CYCLE_CHARGE_STEPS.includes(own.kind)) return own;
  if (head.phase === 'sending') return { kind: 'sendOneOff' };
  if (head.nextLookupAt === undefined || now >= Date.parse(head.nextLookupAt))
    return { kind: 'lookupOneOff', mode: 'resolve' };
  if (own.kind !== 'wait') return own;
  const until = own.until === undefined || head.nextLookupAt < own.until ? head.nextLookupAt : own.until;
  return {
    kind: 'wait',
    until,
    summary:
      until === head.nextLookupAt
        ? `Unknown outcome of one-off ${head.charge.orderId}: look it up`
        : own.summary,
  };
}

// ---- outcomes ---------------------------------------------------------------------------------------

function settle(
  state: SubscriptionState,
  p: PendingOneOff,
  outcome:
    | { status: 'succeeded'; transactionId: string; transactionDate?: string | undefined; recovered: boolean }
    | { status: 'failed'; returnCode?: string | undefined; message: string },
  now: number,
): OneOffCharge {
  const o = oneOffsOf(state);
  o.pending = o.pending.filter((x) => x !== p);
  const c: OneOffCharge = { ...p.charge, status: outcome.status, settledAt: iso(now) };
  if (outcome.status === 'succeeded') {
    c.transactionId = outcome.transactionId;
    if (outcome.transactionDate !== undefined) c.transactionDate = outcome.transactionDate;
    c.recovered = outcome.recovered;
    c.returnCode = '0000';
  } else {
    if (outcome.returnCode !== undefined) c.returnCode = outcome.returnCode;
    c.message = outcome.message;
  }
  o.settled.push(c);
  if (o.settled.length > MAX_SETTLED_ONE_OFFS) o.settled.splice(0, o.settled.length - MAX_SETTLED_ONE_OFFS);
  emit(
    state,
    outcome.status === 'succeeded' ? 'charge.succeeded' : 'charge.failed',
    {
      cycle: null,
      orderId: c.orderId,
      transactionId: c.transactionId ?? null,
      amount: c.amount,
      currency: c.currency,
      kind: c.kind,
      status: c.status,
      returnCode: c.returnCode ?? null,
      requestId: c.requestId,
      productName: c.productName,
      ...(c.message === undefined ? {} : { message: c.message }),
      ...(outcome.status === 'succeeded' ? { recovered: outcome.recovered } : {}),
    },
    now,
  );
  // A prorated upgrade that could not be charged is carried to the next cycle's charge instead.
  if (c.status === 'failed' && c.kind === 'proration' && !isTerminal(state.status)) {
    state.balance = addToBalance(state.balance, 0, c.amount);
    emit(
      state,
      'subscription.credit_changed',
      {
        delta: -c.amount,
        creditBalance: state.balance.credit,
        prorationDue: state.balance.due,
        currency: c.currency,
        reason: `prorated charge ${c.orderId} failed; carried to the next cycle`,
        cycle: state.cycle,
        orderId: c.orderId,
      },
      now,
    );
  }
  return c;
}

function head(state: SubscriptionState): PendingOneOff {
  const p = state.oneOffs?.pending[0];
  if (!p) throw new Error('no one-off charge is pending');
  return p;
}

function scheduleLookup(state: SubscriptionState, p: PendingOneOff, now: number): void {
  const table = p.phase === 'order_used' ? ORDER_USED_LOOKUP_MS : LOOKUP_BACKOFF_MS;
  p.nextLookupAt = iso(now + table[Math.min(p.lookups, table.length - 1)]!);
  if (now - Date.parse(p.since) >= RESOLUTION_BOUND_MS)
    flagAttention(state, 'charge', `outcome of one-off ${p.charge.orderId} unresolved since ${p.since}`, now);
}

/** Marks the head as possibly sent; call before the activity so a crash mid-call only looks it up. */
export function markOneOffSent(state: SubscriptionState): PendingOneOff {
  const p = head(state);
  p.sent = true;
  return p;
}

/** What LINE Pay answered to the one-off's payment. */
export function applyOneOffOutcome(
  state: SubscriptionState,
  result: ChargeResult,
  now: number,
): OneOffCharge | undefined {
  const p = head(state);
  switch (result.outcome) {
    case 'charged':
      return settle(state, p, { status: 'succeeded', ...result }, now);
    case 'declined':
    case 'regkey_dead':
      return settle(
        state,
        p,
        { status: 'failed', returnCode: result.returnCode, message: result.message },
        now,
      );
    case 'unknown':
    case 'order_used':
      p.phase = result.outcome;
      p.lastError = result.reason;
      scheduleLookup(state, p, now);
      return undefined;
    case 'merchant_config':
      // Not charged (the activity looked it up); the caller sees the refusal, the merchant fixes the channel.
      return settle(
        state,
        p,
        {
          status: 'failed',
          returnCode: result.returnCode,
          message: `LINE Pay refused our channel: ${result.message}`,
        },
        now,
      );
  }
}

/** The activity could not reach LINE Pay for long: the request may have left, so only a lookup settles it. */
export function applyOneOffUnreachable(state: SubscriptionState, message: string, now: number): void {
  const p = head(state);
  p.phase = 'unknown';
  p.lastError = message;
  scheduleLookup(state, p, now);
}

/** A lookup of the head's orderId. `final`: the regKey is gone, so a payment not listed never happened. */
export function applyOneOffLookup(
  state: SubscriptionState,
  found: LookupResult,
  mode: 'resolve' | 'final',
  now: number,
): OneOffCharge | undefined {
  const p = head(state);
  p.lookups += 1;
  if (found.found === true)
    return settle(
      state,
      p,
      {
        status: 'succeeded',
        transactionId: found.transactionId,
        transactionDate: found.transactionDate,
        recovered: true,
      },
      now,
    );
  if (found.found === 'mismatch') {
    flagAttention(
      state,
      'mismatch',
      `order ${p.charge.orderId} holds payment ${found.transactionId} of another amount or currency`,
      now,
    );
    if (mode === 'final')
      return settle(
        state,
        p,
        { status: 'failed', message: 'orderId holds a payment of another amount' },
        now,
      );
    p.nextLookupAt = iso(now + LOOKUP_BACKOFF_MS[LOOKUP_BACKOFF_MS.length - 1]!);
    return undefined;
  }
  if (mode === 'final')
    return settle(
      state,
      p,
      { status: 'failed', message: 'not charged: the regKey was retired before LINE Pay listed a payment' },
      now,
    );
  if (p.phase === 'order_used') {
    if (p.lookups >= ORDER_USED_LOOKUP_MS.length)
      return settle(
        state,
        p,
        {
          status: 'failed',
          returnCode: '1172',
          message: `order ${p.charge.orderId} used without a payment (lost decline)`,
        },
        now,
      );
    scheduleLookup(state, p, now);
    return undefined;
  }
  // Nothing listed under the orderId: send the same orderId again (a repeat is refused with 1172 if used).
  p.phase = 'sending';
  p.nextLookupAt = undefined;
  return undefined;
}

/** The regKey is no longer live: one-offs not yet sent fail, answered and recorded. */
export function abandonOneOffs(state: SubscriptionState, now: number): void {
  const o = state.oneOffs;
  if (!o) return;
  const why =
    state.requests.cancelNow !== undefined || isTerminal(state.status)
      ? 'subscription canceled before the charge was sent'
      : `no live regKey (${state.status}); not charged`;
  for (const p of o.pending.filter((x) => !x.sent)) settle(state, p, { status: 'failed', message: why }, now);
}
