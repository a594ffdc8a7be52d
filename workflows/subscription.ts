/**
 * One workflow per subscription (`subscription-<id>`), alive for as long as the customer pays.
 * A thin script over the pure rules in `subscription-state.ts`: reserve, wait for approval, confirm,
 * then sleep to each due date and charge with a deterministic orderId, resolving unknown outcomes by
 * lookup, dunning soft declines and asking for re-approval when the regKey dies.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ChargeResult, ConfirmApprovalResult, SubscriptionActivities } from './activity-contract.js';
import { parseDuration } from './duration.js';
import {
  type ApprovalCancelInput,
  type CancelInput,
  type ChangePlanInput,
  type ConfirmInput,
  type ConfirmResult,
  cancelApprovalUpdate,
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  type PauseInput,
  type PaymentLinkInput,
  type PaymentLinkResult,
  pauseUpdate,
  paymentLinkUpdate,
  REJECTION_TYPES,
  type ResumeInput,
  type RetryNowInput,
  resumeUpdate,
  retryNowUpdate,
  type SubscriptionView,
  stateQuery,
} from './messages.js';
import { chargeOrderId, reservationOrderId } from './order-id.js';
import {
  BillingCycleKey,
  CustomerIdKey,
  NextChargeAtKey,
  SubscriptionStatusKey,
} from './search-attributes.js';
import {
  type Actor,
  normalizeSubscriptionInput,
  type SubscriptionInput,
  SubscriptionInputError,
} from './subscription-input.js';
import {
  advanceCycle,
  applyDuePlanChange,
  declinedAttempts,
  dueAtIso,
  hasReachedMaxCycles,
  initialState,
  iso,
  isTerminal,
  planChangeEffectiveCycle,
  recordCharge,
  recordSoftDecline,
  resumeCalendar,
  type SubscriptionState,
  startCalendar,
  toView,
  transition,
  validateCancel,
  validateCancelApproval,
  validateChangePlan,
  validateConfirm,
  validatePause,
  validatePaymentLink,
  validateResume,
  validateRetryNow,
} from './subscription-state.js';

const SYSTEM: Actor = { kind: 'system' };
/** A LINE Pay payment URL lives 20 minutes; a re-approval reservation is renewed on demand after that. */
const RESERVATION_LIFETIME_MS = 20 * 60_000;
/** Backoff while an unknown charge outcome is being resolved by lookup. */
const RESOLVE_BACKOFF_MS = [30_000, 60_000, 2 * 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];

const lineApi = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    nonRetryableErrorTypes: ['LinePayMerchantConfig'],
  },
});
const billing = proxyActivities<SubscriptionActivities>({
  // 40 s preapprovedPay read timeout + a 20 s lookup, with margin.
  startToCloseTimeout: '90s',
  // Only calls that were never sent (or a misconfigured merchant) throw; those retry with the same orderId.
  retry: { initialInterval: '30s', backoffCoefficient: 2, maximumInterval: '30m' },
});

/** Tuning knobs for tests and operators; never part of the merchant-facing API. */
export interface SubscriptionTuning {
  /** Continue-as-new after this many billed cycles in one run (default 12). */
  continueAsNewEveryCycles?: number;
}

export interface SubscriptionWorkflowOptions {
  /** State carried from the previous run by continue-as-new. */
  carried?: SubscriptionState;
  tuning?: SubscriptionTuning;
}

export async function subscriptionWorkflow(
  rawInput: SubscriptionInput,
  options: SubscriptionWorkflowOptions = {},
): Promise<SubscriptionView> {
  let input: ReturnType<typeof normalizeSubscriptionInput>;
  try {
    input = normalizeSubscriptionInput(rawInput);
  } catch (err) {
    if (err instanceof SubscriptionInputError) {
      throw ApplicationFailure.create({
        type: REJECTION_TYPES.invalidInput,
        message: err.message,
        nonRetryable: true,
        details: [err.field],
      });
    }
    throw err;
  }
  const state = options.carried ?? initialState(input, now());
  const canEvery = options.tuning?.continueAsNewEveryCycles ?? 12;
  let cyclesThisRun = 0;
  let wake = 0;
  let chargeInFlight = false;
  let confirming = false;
  let pendingConfirm: ConfirmInput | undefined;
  const confirmResults = new Map<string, ConfirmResult>();
  let approvalCancel: { actor: Actor; reason: string } | undefined;
  let cancelNow: CancelInput | undefined;
  let retryNowAsked = false;
  let reservationWanted = false;
  const poke = () => {
    wake += 1;
  };

  // ---- read model and messages ----------------------------------------------------------------
  setHandler(stateQuery, () => toView(state));

  setHandler(
    paymentLinkUpdate,
    async (): Promise<PaymentLinkResult> => {
      if (state.status === 'reapproval_required' && !reservationFresh()) {
        reservationWanted = true;
        poke();
      }
      await condition(
        () =>
          (state.status !== 'pending_approval' && state.status !== 'reapproval_required') ||
          (state.reservation !== undefined && reservationFresh()),
      );
      const result: PaymentLinkResult = { subscriptionId: input.subscriptionId, status: state.status };
      if (
        state.reservation &&
        (state.status === 'pending_approval' || state.status === 'reapproval_required')
      ) {
        result.paymentUrl = state.reservation.paymentUrl;
        result.expiresAt = state.reservation.expiresAt;
      }
      return result;
    },
    { validator: (req: PaymentLinkInput) => validatePaymentLink(state, req) },
  );

  setHandler(
    confirmUpdate,
    async (req: ConfirmInput): Promise<ConfirmResult> => {
      confirming = true;
      pendingConfirm = { transactionId: req.transactionId, orderId: req.orderId };
      poke();
      await condition(() => confirmResults.has(req.transactionId));
      confirming = false;
      return confirmResults.get(req.transactionId)!;
    },
    { validator: (req: ConfirmInput) => validateConfirm(state, req, confirming) },
  );

  setHandler(
    cancelApprovalUpdate,
    async () => {
      approvalCancel = { actor: { kind: 'customer' }, reason: 'customer canceled on the LINE Pay page' };
      poke();
      await condition(
        () =>
          (state.status !== 'pending_approval' && state.status !== 'reapproval_required') ||
          approvalCancel === undefined,
      );
      return { status: state.status };
    },
    { validator: (req: ApprovalCancelInput) => validateCancelApproval(state, req, confirming) },
  );

  setHandler(
    cancelUpdate,
    async (req: CancelInput) => {
      const reason = req.reason ?? 'canceled by request';
      if (req.atPeriodEnd) {
        await condition(() => !chargeInFlight);
        if (isTerminal(state.status))
          return { status: state.status, effectiveAt: state.canceledAt ?? iso(now()) };
        state.cancelAt = state.nextChargeAt ?? iso(now());
        state.cancelAtRequest = { actor: req.actor, reason };
        transition(
          state,
          state.status,
          req.actor,
          `cancel at period end (${state.cancelAt}): ${reason}`,
          now(),
        );
        poke();
        return { status: state.status, effectiveAt: state.cancelAt };
      }
      cancelNow = { ...req, reason };
      poke();
      await condition(() => isTerminal(state.status));
      return { status: state.status, effectiveAt: state.canceledAt ?? iso(now()) };
    },
    { validator: (req: CancelInput) => validateCancel(state, req) },
  );

  setHandler(
    pauseUpdate,
    async (req: PauseInput) => {
      await condition(() => !chargeInFlight);
      validatePause(state, req, now());
      state.pausedAt = iso(now());
      if (req.resumeAt !== undefined) state.resumeAt = iso(Date.parse(req.resumeAt));
      transition(state, 'paused', req.actor, req.reason ?? 'paused', now());
      poke();
      return state.resumeAt === undefined
        ? { pausedAt: state.pausedAt }
        : { pausedAt: state.pausedAt, resumeAt: state.resumeAt };
    },
    { validator: (req: PauseInput) => validatePause(state, req, now()) },
  );

  setHandler(
    resumeUpdate,
    async (req: ResumeInput) => {
      validateResume(state, req);
      const skipped = resume(req.actor, req.reason ?? 'resumed');
      return state.nextChargeAt === undefined
        ? { status: state.status, skippedCycles: skipped }
        : { status: state.status, nextChargeAt: state.nextChargeAt, skippedCycles: skipped };
    },
    { validator: (req: ResumeInput) => validateResume(state, req) },
  );

  setHandler(
    changePlanUpdate,
    async (req: ChangePlanInput) => {
      validateChangePlan(state, req);
      const effectiveCycle = planChangeEffectiveCycle(state, chargeInFlight);
      const base = state.pendingPlanChange ?? state.plan;
      state.pendingPlanChange = {
        amount: req.amount ?? base.amount,
        productName: req.productName ?? base.productName,
        effectiveCycle,
      };
      const effectiveAt = state.calendar ? dueAtIso(state, effectiveCycle) : undefined;
      transition(
        state,
        state.status,
        req.actor,
        `plan change to ${state.pendingPlanChange.amount} ${state.plan.currency} "${state.pendingPlanChange.productName}" from cycle ${effectiveCycle}${req.reason ? `: ${req.reason}` : ''}`,
        now(),
      );
      poke();
      const plan = {
        amount: state.pendingPlanChange.amount,
        productName: state.pendingPlanChange.productName,
      };
      return effectiveAt === undefined ? { effectiveCycle, plan } : { effectiveCycle, effectiveAt, plan };
    },
    { validator: (req: ChangePlanInput) => validateChangePlan(state, req) },
  );

  setHandler(
    retryNowUpdate,
    async (req: RetryNowInput) => {
      validateRetryNow(state, req);
      retryNowAsked = true;
      transition(
        state,
        state.status,
        req.actor,
        `retry now requested${req.reason ? `: ${req.reason}` : ''}`,
        now(),
      );
      poke();
      return { cycle: state.cycle, attemptAt: iso(now()) };
    },
    { validator: (req: RetryNowInput) => validateRetryNow(state, req) },
  );

  // ---- helpers ---------------------------------------------------------------------------------
  function now(): number {
    return Date.now(); // deterministic inside the workflow sandbox
  }

  function reservationFresh(): boolean {
    return state.reservation !== undefined && Date.parse(state.reservation.expiresAt) > now();
  }

  /** Sleeps until `until` (ISO) or until a message changes something. Returns true if woken early. */
  async function waitUntil(until: string | undefined, summary: string): Promise<boolean> {
    const seen = wake;
    if (until === undefined) {
      await condition(() => wake !== seen);
      return true;
    }
    const ms = Date.parse(until) - now();
    if (ms <= 0) return wake !== seen;
    return condition(() => wake !== seen, ms, { summary });
  }

  let lastSynced = '';
  function syncSearchAttributes(): void {
    const next =
      state.nextChargeAt && !isTerminal(state.status) && state.status !== 'paused'
        ? state.nextChargeAt
        : null;
    const key = `${state.status}|${next}|${state.cycle}`;
    if (key === lastSynced) return;
    lastSynced = key;
    // Shown on the workflow's page in the Web UI.
    setCurrentDetails(
      `**${state.status}** · cycle ${state.cycle} · ${state.plan.amount} ${state.plan.currency} every ${input.interval}` +
        (next === null ? '' : ` · next charge ${next}`),
    );
    upsertSearchAttributes([
      { key: SubscriptionStatusKey, value: state.status },
      { key: CustomerIdKey, value: input.customerId },
      { key: BillingCycleKey, value: state.cycle },
      { key: NextChargeAtKey, value: next === null ? null : new Date(next) },
    ]);
  }

  function resume(actor: Actor, reason: string): number[] {
    const skipped = resumeCalendar(state, now());
    const note = skipped.length > 0 ? ` (skipped cycles ${skipped.join(', ')})` : '';
    transition(state, 'active', actor, `${reason}${note}`, now());
    poke();
    return skipped;
  }

  /** Expires the held regKey at LINE Pay (if any) so it can never be charged again, and forgets it. */
  async function retireRegKey(summary: string): Promise<void> {
    if (state.sealedRegKey !== undefined) {
      await lineApi.expireRegKey.executeWithOptions({ startToCloseTimeout: '30s', summary }, [
        { sealedRegKey: state.sealedRegKey },
      ]);
    }
    state.sealedRegKey = undefined;
  }

  async function finishCancel(actor: Actor, reason: string, effectiveAt = now()): Promise<void> {
    await retireRegKey('Expire regKey (subscription canceled)');
    state.canceledAt = iso(effectiveAt);
    state.cancelReason = reason;
    state.reservation = undefined;
    transition(state, 'canceled', actor, reason, now());
  }

  async function reserve(kind: 'approval' | 'reapproval'): Promise<void> {
    const orderId = reservationOrderId(input.subscriptionId, state.cycle, state.reservationsForCycle);
    const createdAt = now();
    const amount = state.plan.amount;
    const res = await lineApi.reservePreapproved.executeWithOptions(
      {
        startToCloseTimeout: '30s',
        summary: `Reserve ${kind}: ${amount} ${state.plan.currency} (${orderId})`,
      },
      [
        {
          subscriptionId: input.subscriptionId,
          orderId,
          productName: state.plan.productName,
          amount,
          currency: state.plan.currency,
          confirmUrl: input.redirectUrls.confirmUrl,
          cancelUrl: input.redirectUrls.cancelUrl,
        },
      ],
    );
    state.reservationsForCycle += 1;
    state.reservation = {
      kind,
      cycle: state.cycle,
      orderId: res.orderId,
      transactionId: res.transactionId,
      amount,
      currency: state.plan.currency,
      paymentUrl: res.paymentUrl,
      createdAt: iso(createdAt),
      expiresAt: iso(createdAt + RESERVATION_LIFETIME_MS),
    };
  }

  /**
   * A Confirm whose answer was lost may have charged the customer without handing us a regKey (a repeat
   * gets 1152 and no key). Such a payment buys nothing: find it by orderId and refund it.
   */
  async function refundOrphanedPayment(orderId: string): Promise<string> {
    const found = await billing.lookupCharge.executeWithOptions(
      { startToCloseTimeout: '30s', summary: `Look up order ${orderId} after a lost Confirm` },
      [{ orderId }],
    );
    if (!found.found) return '; nothing was charged';
    const refund = await lineApi.refundPayment.executeWithOptions(
      { startToCloseTimeout: '30s', summary: `Refund ${found.transactionId} (no regKey came back)` },
      [{ transactionId: found.transactionId }],
    );
    return `; payment ${found.transactionId} was refunded${refund.refundTransactionId ? ` (${refund.refundTransactionId})` : ''}`;
  }

  /** Runs the Confirm API for the approval the webhook passed on; settles the waiting update. */
  async function confirmPending(): Promise<void> {
    const req = pendingConfirm!;
    const r = state.reservation!;
    pendingConfirm = undefined;
    let result: ConfirmApprovalResult;
    try {
      result = await lineApi.confirmPreapproved.executeWithOptions(
        {
          startToCloseTimeout: '60s',
          scheduleToCloseTimeout: '1h',
          summary: `Confirm ${r.kind}: ${r.amount} ${r.currency} (${r.orderId})`,
        },
        [{ transactionId: req.transactionId, orderId: req.orderId, amount: r.amount, currency: r.currency }],
      );
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // LINE Pay never gave a usable answer to Confirm within the hour; the approval window is long gone.
      result = {
        outcome: 'rejected',
        category: 'confirm_failed',
        message: err.cause?.message ?? err.message,
      };
    }
    if (result.outcome === 'rejected') {
      const to = r.kind === 'approval' ? 'approval_expired' : 'canceled';
      let reason = `LINE Pay refused the confirmation (${result.returnCode ?? result.category}): ${result.message}`;
      if (result.category === 'already_processed' || result.category === 'confirm_failed') {
        reason += await refundOrphanedPayment(r.orderId);
      }
      if (to === 'canceled') {
        state.canceledAt = iso(now());
        state.cancelReason = 'reapproval_failed';
      }
      state.reservation = undefined;
      transition(state, to, { kind: 'customer' }, reason, now());
      confirmResults.set(req.transactionId, { status: state.status, message: reason });
      return;
    }
    state.sealedRegKey = result.sealedRegKey;
    state.regKeyMasked = result.regKeyMasked;
    const charge = {
      cycle: state.cycle,
      orderId: r.orderId,
      transactionId: result.transactionId,
      amount: r.amount,
      currency: r.currency,
      productName: state.plan.productName,
      kind: r.kind,
      chargedAt: iso(now()),
      recovered: false,
      ...(result.transactionDate === undefined ? {} : { transactionDate: result.transactionDate }),
    };
    recordCharge(state, charge);
    state.reservation = undefined;
    state.reservationsForCycle = 0;
    state.reapprovalDeadline = undefined;
    if (r.kind === 'approval') startCalendar(state, now());
    else advanceCycle(state);
    const message =
      r.kind === 'approval' ? 'approved; first period paid' : `re-approved; cycle ${charge.cycle} paid`;
    transition(state, 'active', { kind: 'customer' }, message, now());
    confirmResults.set(req.transactionId, {
      status: state.status,
      charge,
      nextChargeAt: state.nextChargeAt!,
      message,
    });
  }

  /** Pending approval: reserve, then wait for the confirm webhook, the cancel URL, a cancel or the timeout. */
  async function approvalPhase(): Promise<void> {
    if (!state.reservation) await reserve('approval');
    syncSearchAttributes();
    const deadline = Date.parse(state.createdAt) + parseDuration(input.approvalTimeout);
    while (state.status === 'pending_approval') {
      if (pendingConfirm) {
        await confirmPending();
      } else if (approvalCancel) {
        transition(state, 'approval_canceled', approvalCancel.actor, approvalCancel.reason, now());
        state.reservation = undefined;
        approvalCancel = undefined;
      } else if (cancelNow) {
        await finishCancel(cancelNow.actor, cancelNow.reason ?? 'canceled');
      } else if (now() >= deadline) {
        transition(state, 'approval_expired', SYSTEM, `not approved within ${input.approvalTimeout}`, now());
        state.reservation = undefined;
      } else {
        await waitUntil(iso(deadline), 'Wait for customer approval');
      }
    }
  }

  /** Re-approval: a fresh PREAPPROVED Request for the overdue cycle; cancel if nobody approves in time. */
  async function reapprovalStep(): Promise<void> {
    if (pendingConfirm) return confirmPending();
    if (approvalCancel) {
      approvalCancel = undefined;
      state.reservation = undefined;
      return; // the customer may still approve a fresh link until the deadline
    }
    const deadline = state.reapprovalDeadline!;
    if (now() >= Date.parse(deadline)) {
      state.reservation = undefined;
      state.canceledAt = iso(now());
      state.cancelReason = 'reapproval_expired';
      return transition(
        state,
        'canceled',
        SYSTEM,
        `not re-approved within ${input.reapprovalTimeout}`,
        now(),
      );
    }
    if (!reservationFresh() && (state.reservation === undefined || reservationWanted)) {
      reservationWanted = false;
      return reserve('reapproval');
    }
    await waitUntil(deadline, 'Wait for customer re-approval');
  }

  async function enterReapproval(reason: string, keyMayLive: boolean): Promise<void> {
    // A hard decline can leave the old key valid at LINE Pay; retire it before asking for a new one.
    if (keyMayLive) await retireRegKey('Expire the declined regKey before re-approval');
    state.sealedRegKey = undefined;
    state.regKeyMasked = undefined;
    state.reservationsForCycle = Math.max(state.reservationsForCycle, 1);
    state.reapprovalDeadline = iso(now() + parseDuration(input.reapprovalTimeout));
    transition(state, 'reapproval_required', SYSTEM, reason, now());
    await reserve('reapproval');
  }

  /** Charges the current cycle once, with the orderId its decline count gives it. */
  async function chargeCurrentCycle(): Promise<void> {
    const cycle = state.cycle;
    const dueAt = state.nextChargeAt!;
    if (applyDuePlanChange(state, cycle)) {
      transition(state, state.status, SYSTEM, `plan change effective from cycle ${cycle}`, now());
    }
    const orderId = chargeOrderId(input.subscriptionId, cycle, declinedAttempts(state));
    const charge = {
      sealedRegKey: state.sealedRegKey!,
      orderId,
      productName: state.plan.productName,
      amount: state.plan.amount,
      currency: state.plan.currency,
    };
    chargeInFlight = true;
    let result: ChargeResult;
    try {
      result = await billing.chargePreapproved.executeWithOptions(
        {
          startToCloseTimeout: '90s',
          summary: `Charge cycle ${cycle}: ${charge.amount} ${charge.currency} (${orderId})`,
        },
        [charge],
      );
      let lookups = 0;
      while (result.outcome === 'unknown') {
        const delay = RESOLVE_BACKOFF_MS[Math.min(lookups, RESOLVE_BACKOFF_MS.length - 1)]!;
        state.unresolved = {
          cycle,
          orderId,
          since: state.unresolved?.since ?? iso(now()),
          lookups,
          nextLookupAt: iso(now() + delay),
          lastError: result.reason,
        };
        await sleep(delay, { summary: `Unknown outcome of ${orderId}: look it up` });
        lookups += 1;
        const found = await billing.lookupCharge.executeWithOptions(
          { startToCloseTimeout: '30s', summary: `Look up order ${orderId}` },
          [{ orderId }],
        );
        result = found.found
          ? {
              outcome: 'charged',
              transactionId: found.transactionId,
              recovered: true,
              ...(found.transactionDate ? { transactionDate: found.transactionDate } : {}),
            }
          : await billing.chargePreapproved.executeWithOptions(
              {
                startToCloseTimeout: '90s',
                summary: `Charge cycle ${cycle} again, same orderId (${orderId})`,
              },
              [charge],
            );
      }
    } finally {
      chargeInFlight = false;
    }
    state.unresolved = undefined;

    switch (result.outcome) {
      case 'charged': {
        recordCharge(state, {
          cycle,
          orderId,
          transactionId: result.transactionId,
          amount: charge.amount,
          currency: charge.currency,
          productName: charge.productName,
          kind: 'recurring',
          dueAt,
          chargedAt: iso(now()),
          recovered: result.recovered,
          ...(result.transactionDate === undefined ? {} : { transactionDate: result.transactionDate }),
        });
        const wasPastDue = state.status === 'past_due';
        advanceCycle(state);
        cyclesThisRun += 1;
        if (wasPastDue) transition(state, 'active', SYSTEM, `cycle ${cycle} paid after dunning`, now());
        return;
      }
      case 'declined': {
        if (result.category === 'declined_hard') {
          return enterReapproval(
            `hard decline (${result.returnCode ?? '?'}): ${result.message}; customer must approve again`,
            true,
          );
        }
        const retryAt = recordSoftDecline(state, now(), result.returnCode, result.message);
        if (retryAt === undefined) {
          return finishCancel(SYSTEM, 'payment_failed');
        }
        if (state.status !== 'past_due') {
          transition(
            state,
            'past_due',
            SYSTEM,
            `declined (${result.returnCode ?? '?'}): ${result.message}; retry at ${retryAt}`,
            now(),
          );
        } else {
          transition(
            state,
            'past_due',
            SYSTEM,
            `retry declined (${result.returnCode ?? '?'}); next at ${retryAt}`,
            now(),
          );
        }
        return;
      }
      case 'regkey_dead':
        return enterReapproval(
          `regKey no longer usable (${result.returnCode ?? '?'}): ${result.message}`,
          false,
        );
    }
  }

  async function maybeContinueAsNew(): Promise<void> {
    if (cyclesThisRun < canEvery && !workflowInfo().continueAsNewSuggested) return;
    // Handlers that wait on this loop would never finish if the loop waited on them, and requests held
    // only in this run (retryNow) would be lost.
    if (confirming || pendingConfirm || cancelNow || approvalCancel || reservationWanted || retryNowAsked)
      return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof subscriptionWorkflow>(rawInput, {
      carried: state,
      ...(options.tuning ? { tuning: options.tuning } : {}),
    });
  }

  // ---- main loop -------------------------------------------------------------------------------
  if (state.status === 'pending_approval') await approvalPhase();
  while (!isTerminal(state.status)) {
    syncSearchAttributes();
    await maybeContinueAsNew();
    if (cancelNow) {
      await finishCancel(cancelNow.actor, cancelNow.reason ?? 'canceled');
      break;
    }
    switch (state.status) {
      case 'active': {
        if (hasReachedMaxCycles(state)) {
          await finishFixedTerm();
          break;
        }
        if (state.cancelAt !== undefined && Date.parse(state.cancelAt) <= Date.parse(state.nextChargeAt!)) {
          if (await waitUntil(state.cancelAt, `Cancel at period end (${state.cancelAt})`)) break;
          const req = state.cancelAtRequest ?? { actor: SYSTEM, reason: 'canceled at period end' };
          await finishCancel(req.actor, req.reason, Date.parse(state.cancelAt));
          break;
        }
        if (await waitUntil(state.nextChargeAt, `Sleep until cycle ${state.cycle} is due`)) break;
        if (state.status === 'active') await chargeCurrentCycle();
        break;
      }
      case 'past_due': {
        if (
          !retryNowAsked &&
          (await waitUntil(
            state.dunning?.nextRetryAt,
            `Dunning retry ${state.dunning?.declines ?? 0} of cycle ${state.cycle}`,
          ))
        )
          break;
        retryNowAsked = false;
        if (state.status === 'past_due') await chargeCurrentCycle();
        break;
      }
      case 'paused': {
        // A cancel at period end still happens on its date while paused.
        const cancelFirst =
          state.cancelAt !== undefined && (state.resumeAt === undefined || state.cancelAt <= state.resumeAt);
        const until = cancelFirst ? state.cancelAt : state.resumeAt;
        if (await waitUntil(until, cancelFirst ? 'Paused; cancel at period end' : 'Paused until resumed'))
          break;
        if (state.status !== 'paused') break;
        if (cancelFirst) {
          const req = state.cancelAtRequest ?? { actor: SYSTEM, reason: 'canceled at period end' };
          await finishCancel(req.actor, req.reason, Date.parse(state.cancelAt!));
        } else {
          resume(SYSTEM, 'resumed on schedule');
        }
        break;
      }
      case 'reapproval_required':
        await reapprovalStep();
        break;
      default:
        throw new Error(`unexpected status ${state.status}`);
    }
  }
  syncSearchAttributes();
  await condition(allHandlersFinished);
  return toView(state);

  async function finishFixedTerm(): Promise<void> {
    await retireRegKey('Expire regKey (fixed term complete)');
    transition(state, 'completed', SYSTEM, `all ${input.maxCycles} cycles paid`, now());
  }
}
