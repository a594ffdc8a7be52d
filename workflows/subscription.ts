/**
 * One workflow per subscription (`subscription-<id>`), alive for as long as the customer pays.
 * Wiring only: handlers record requests in the state (subscription-requests.ts), and the main loop
 * asks `nextStep` what to do and performs it (subscription-steps.ts), until the status is terminal.
 * Everything it knows is in `state`, so continue-as-new can happen between any two steps.
 */

import type { SearchAttributePair } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SubscriptionActivities } from './activity-contract.js';
import { sharedConfirm } from './approval-poll.js';
import { cancelRefundRequest, validateCancelRefund } from './cancel-refund.js';
import { applySettleCharge } from './charge-outcome.js';
import { ACTIVITY_FAILURE_TYPES, REJECTION_TYPES } from './failure-types.js';
import {
  type CancelResult,
  type ConfirmResult,
  cancelApprovalUpdate,
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  oneOffChargeUpdate,
  type PaymentLinkResult,
  pauseUpdate,
  paymentLinkUpdate,
  planPreviewUpdate,
  refundChargeUpdate,
  resumeUpdate,
  retryNowUpdate,
  type SubscriptionView,
  settleChargeUpdate,
  stateQuery,
} from './messages.js';
import { nextStep } from './next-step.js';
import { acceptOneOffCharge, findOneOff, oneOffAnswered, validateOneOffCharge } from './one-off-charge.js';
import { instanceIdFrom } from './order-id.js';
import { validatePlanPreview } from './plan-proration.js';
import { acceptRefund, refundAnswerOf, refundPending, refundReply, validateRefund } from './refund.js';
import { restDeadline, restWakes } from './rest-timing.js';
import {
  BillingCycleKey,
  CustomerIdKey,
  NeedsAttentionKey,
  NextChargeAtKey,
  SubscriptionStatusKey,
} from './search-attributes.js';
import {
  normalizeSubscriptionInput,
  type SubscriptionInput,
  SubscriptionInputError,
} from './subscription-input.js';
import {
  acceptCancel,
  acceptCancelApproval,
  acceptConfirm,
  acceptPaymentLink,
  applyChangePlan,
  applyPause,
  applyResume,
  applyRetryNow,
  paymentLinkSettled,
  validateCancel,
  validateCancelApproval,
  validateChangePlan,
  validateConfirm,
  validatePause,
  validatePaymentLink,
  validateResume,
  validateRetryNow,
  validateSettleCharge,
} from './subscription-requests.js';
import {
  appliedResult,
  DEFAULT_LIMITS,
  flagAttention,
  initialState,
  iso,
  isTerminal,
  rememberApplied,
  reservationFresh,
  type SubscriptionLimits,
  type SubscriptionState,
  toView,
} from './subscription-state.js';
import { performStep } from './subscription-steps.js';

/**
 * The ledger write never blocks billing: it runs beside the main loop and retries for as long as it
 * takes. A local activity, so writing a charge's events costs no task round trip of its own: it runs
 * inside the workflow task that applied the charge (bench/burst/README.md has the figures).
 */
const ledger = proxyLocalActivities<SubscriptionActivities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  // A few quick attempts, then the pump sleeps a minute and tries again: forever, never failing the run.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '4s', maximumAttempts: 4 },
});

/** Continue-as-new past this many events even if the server has not suggested it. */
const HISTORY_EVENTS_CAP = 4_000;
/** Steps in a row without a wait; past it the loop sleeps, so a bug cannot flood history. */
const MAX_STEPS_WITHOUT_WAIT = 60;
/** Waits in a row that return with nothing changed and no time passed; past it the loop sleeps. */
const MAX_WAITS_WITHOUT_PROGRESS = 20;
const EVENTS_PER_WRITE = 25;
const REST_BEFORE_WAIT_MS = 30_000;
const REST_DELAY_MS = 10 * 60_000;
const REST_JITTER_MS = 20 * 60_000;
/**
 * A run this short has done nothing worth leaving behind: a fresh run is 3 events in at its first task
 * (so it never rests before anything happened); one woken by its due timer is 8 in and may rest after
 * that task's charge.
 */
const REST_MIN_HISTORY = 5;

/** Tuning knobs for tests and operators; never part of the merchant-facing API. */
export interface SubscriptionTuning {
  /** Continue-as-new after this many billed cycles in one run (default 12). */
  continueAsNewEveryCycles?: number;
  /** Continue-as-new once the run's history passes this many events (default 4,000). */
  continueAsNewAfterEvents?: number;
  /**
   * Continue-as-new before an idle wait (a due date, a dunning retry, a pause) longer than this (ms,
   * default 30 s), once the run has done anything: a subscription woken after weeks then replays a
   * few events, not its whole run, so a small worker cache costs the month-start burst little.
   * A negative value turns it off.
   */
  restBeforeIdleWaitMs?: number;
  /**
   * How long after going idle the run rests (ms, default 10 minutes plus up to 20 minutes per
   * subscription, at most half the wait): the month-start burst charges first and compacts its
   * histories after, spread out, instead of doing both at once.
   */
  restDelayMs?: number;
}

export interface SubscriptionWorkflowOptions {
  /** State carried from the previous run by continue-as-new; refused on any other start. */
  carried?: SubscriptionState;
  /** The search attributes the previous run left (continue-as-new copies them): not upserted again. */
  syncedSearchKey?: string;
  tuning?: SubscriptionTuning;
  limits?: Partial<SubscriptionLimits>;
}

function invalidInput(message: string, field?: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: REJECTION_TYPES.invalidInput,
    message,
    nonRetryable: true,
    details: field === undefined ? [] : [field],
  });
}

function now(): number {
  return Date.now(); // deterministic inside the workflow sandbox
}

/** Carried state comes only from this workflow's own continue-as-new, never from a caller. */
function checkCarried(carried: SubscriptionState, subscriptionId: string): void {
  const info = workflowInfo();
  if (info.continuedFromExecutionRunId === undefined)
    throw invalidInput('carried state is accepted only on continue-as-new', 'carried');
  if (
    carried.input.subscriptionId !== subscriptionId ||
    carried.instanceId !== instanceIdFrom(info.firstExecutionRunId)
  )
    throw invalidInput('carried state belongs to another subscription instance', 'carried');
}

export async function subscriptionWorkflow(
  rawInput: SubscriptionInput,
  options: SubscriptionWorkflowOptions = {},
): Promise<SubscriptionView> {
  let input: ReturnType<typeof normalizeSubscriptionInput>;
  try {
    input = normalizeSubscriptionInput(rawInput);
  } catch (err) {
    if (err instanceof SubscriptionInputError) throw invalidInput(err.message, err.field);
    throw err;
  }
  if (options.carried) checkCarried(options.carried, input.subscriptionId);
  const state =
    options.carried ??
    initialState(input, instanceIdFrom(workflowInfo().firstExecutionRunId), now(), {
      ...DEFAULT_LIMITS,
      planIncreaseConsentShare: input.limits.planIncreaseReapprovalShare,
      ...options.limits,
    });
  const canEvery = options.tuning?.continueAsNewEveryCycles ?? 12;
  const eventsCap = options.tuning?.continueAsNewAfterEvents ?? HISTORY_EVENTS_CAP;
  const restBeforeWaitMs = options.tuning?.restBeforeIdleWaitMs ?? REST_BEFORE_WAIT_MS;
  // A fixed share of the jitter per subscription instance (its id is random hex).
  const restDelayMs =
    options.tuning?.restDelayMs ??
    REST_DELAY_MS + (Number.parseInt(state.instanceId, 16) / 2 ** 32) * REST_JITTER_MS;
  /** When the current idle wait rests; cleared by every step. */
  let restAt: number | undefined;
  const paidAtStart = state.paidCycles;
  let version = 0;
  const poke = () => {
    version += 1;
  };

  // ---- read model and messages: each handler is validate, record, wait for its answer ----------
  setHandler(stateQuery, () => toView(state));

  setHandler(
    paymentLinkUpdate,
    async (): Promise<PaymentLinkResult> => {
      const created = acceptPaymentLink(state, now());
      poke();
      await condition(() => paymentLinkSettled(state, now()));
      const result: PaymentLinkResult = {
        subscriptionId: input.subscriptionId,
        created,
        status: state.status,
      };
      if (state.reservation && reservationFresh(state, now()) && !isTerminal(state.status)) {
        result.paymentUrl = state.reservation.paymentUrl;
        result.expiresAt = state.reservation.expiresAt;
      }
      return result;
    },
    { validator: (req) => validatePaymentLink(state, req) },
  );

  setHandler(
    confirmUpdate,
    async (req): Promise<ConfirmResult> => {
      // The same approval confirmed by the poller or an earlier webhook: wait for (or repeat) its answer.
      const shared = sharedConfirm(state, req);
      if (!shared) acceptConfirm(state, req);
      const seq = shared?.seq ?? state.requests.confirm!.seq;
      poke();
      await condition(() => isTerminal(state.status) || state.confirmResults.some((r) => r.seq === seq));
      return (
        state.confirmResults.find((r) => r.seq === seq)?.result ?? {
          status: state.status,
          message: `subscription is ${state.status}`,
        }
      );
    },
    { validator: (req) => validateConfirm(state, req) },
  );

  setHandler(
    cancelApprovalUpdate,
    async () => {
      acceptCancelApproval(state);
      const seq = state.requests.approvalCancel!.seq;
      poke();
      await condition(() => isTerminal(state.status) || state.requests.approvalCancel?.seq !== seq);
      return { status: state.status };
    },
    { validator: (req) => validateCancelApproval(state, req) },
  );

  setHandler(
    cancelUpdate,
    async (req): Promise<CancelResult> => {
      const prior = appliedResult(state, req.requestId);
      if (prior) return prior.result as CancelResult;
      const refund = state.requests.cancelNow ? undefined : cancelRefundRequest(state, req, now());
      if (refund && !refundAnswerOf(state, refund.requestId) && !refundPending(state, refund.requestId))
        acceptRefund(state, refund, now());
      const scheduled = acceptCancel(state, req, now());
      poke();
      if (scheduled === undefined) await condition(() => isTerminal(state.status));
      const refunded = refund ? refundAnswerOf(state, refund.requestId) : undefined;
      const result: CancelResult = {
        status: state.status,
        effectiveAt: scheduled ?? state.canceledAt ?? iso(now()),
        ...(refunded?.ok ? { refund: refunded.result } : {}),
      };
      rememberApplied(state, req.requestId, result);
      return result;
    },
    {
      validator: (req) => {
        validateCancel(state, req);
        validateCancelRefund(req);
      },
    },
  );

  setHandler(pauseUpdate, async (req) => wake(applyPause(state, req, now())), {
    validator: (req) => validatePause(state, req, now()),
  });
  setHandler(
    resumeUpdate,
    async (req) => wake(applyResume(state, req.actor, req.reason ?? 'resumed', now(), req.requestId)),
    { validator: (req) => validateResume(state, req) },
  );
  setHandler(changePlanUpdate, async (req) => wake(applyChangePlan(state, req, now())), {
    validator: (req) => validateChangePlan(state, req, now()),
  });
  setHandler(
    planPreviewUpdate,
    async () => {
      throw ApplicationFailure.create({
        type: REJECTION_TYPES.invalidState,
        message: 'a preview is answered by its validator',
      });
    },
    {
      validator: (req) => validatePlanPreview(state, req, (r) => validateChangePlan(state, r, now()), now()),
    },
  );
  setHandler(
    oneOffChargeUpdate,
    async (req) => {
      wake(acceptOneOffCharge(state, req, 'one_off', now()));
      await condition(() => oneOffAnswered(state, req.requestId));
      return findOneOff(state, req.requestId)!;
    },
    { validator: (req) => validateOneOffCharge(state, req) },
  );
  setHandler(retryNowUpdate, async (req) => wake(applyRetryNow(state, req, now())), {
    validator: (req) => validateRetryNow(state, req),
  });
  setHandler(settleChargeUpdate, async (req) => wake(applySettleCharge(state, req, now())), {
    validator: (req) => validateSettleCharge(state, req),
  });
  setHandler(
    refundChargeUpdate,
    async (req) => {
      if (!refundAnswerOf(state, req.requestId) && !refundPending(state, req.requestId))
        wake(acceptRefund(state, req, now()));
      // Served even once terminal: the run does not end with a refund pending (refund.ts).
      await condition(() => !refundPending(state, req.requestId));
      return refundReply(refundAnswerOf(state, req.requestId), state.status);
    },
    { validator: (req) => validateRefund(state, req) },
  );

  function wake<T>(result: T): T {
    poke();
    return result;
  }

  // ---- the Web UI and search --------------------------------------------------------------------
  let lastSynced = '';
  let lastUpserted = options.syncedSearchKey ?? '';
  function searchView() {
    const next =
      state.nextChargeAt && !isTerminal(state.status) && state.status !== 'paused'
        ? state.nextChargeAt
        : null;
    const attention = state.attention !== undefined;
    return { next, attention, key: `${state.status}|${next}|${state.cycle}|${attention}` };
  }
  function searchPairs(next: string | null, attention: boolean) {
    return [
      { key: SubscriptionStatusKey, value: state.status },
      { key: CustomerIdKey, value: input.customerId },
      { key: BillingCycleKey, value: state.cycle },
      { key: NextChargeAtKey, value: next === null ? null : new Date(next) },
      { key: NeedsAttentionKey, value: attention },
    ] as const;
  }
  function syncSearchAttributes(): void {
    const { next, attention, key } = searchView();
    if (key === lastSynced) return;
    lastSynced = key;
    setCurrentDetails(
      `**${state.status}** · cycle ${state.cycle} · ${state.plan.amount} ${state.plan.currency} every ${input.interval}` +
        (next === null ? '' : ` · next charge ${next}`) +
        (state.attention ? ` · ⚠ needs attention: ${state.attention.reason}` : ''),
    );
    if (key === lastUpserted) return;
    lastUpserted = key;
    upsertSearchAttributes([...searchPairs(next, attention)]);
  }

  // ---- events: written to the ledger beside billing, in sequence order --------------------------
  let pumpIdle = true;
  /** The last write failed: the ledger is down or refusing; billing waits on its own timers. */
  let pumpFailing = false;
  async function pumpEvents(): Promise<void> {
    for (;;) {
      await condition(() => state.events.outbox.length > 0 && !continueAsNewWanted());
      pumpIdle = false;
      const batch = state.events.outbox.slice(0, EVENTS_PER_WRITE);
      try {
        await ledger.recordEvents.executeWithOptions(
          {
            startToCloseTimeout: '30s',
            summary: `Record events ${batch[0]!.sequence}–${batch.at(-1)!.sequence}`,
          },
          [{ events: batch }],
        );
        // Only these: more may have been appended meanwhile.
        state.events.outbox.splice(0, batch.length);
        pumpFailing = false;
      } catch (err) {
        // A local activity's failure arrives as the failure itself (ApplicationFailure, TimeoutFailure),
        // not wrapped in an ActivityFailure.
        if (!(err instanceof TemporalFailure)) throw err;
        pumpIdle = true;
        pumpFailing = true;
        const cause = err instanceof ActivityFailure ? err.cause : err;
        // The ledger refusing an event is a bug for an operator; the events stay in the outbox.
        const refused =
          cause instanceof ApplicationFailure && cause.type === ACTIVITY_FAILURE_TYPES.ledgerInvalidEvent;
        if (refused) flagAttention(state, 'blocked', `the ledger refused events: ${cause.message}`, now());
        await sleep(refused ? '1h' : '1m');
      }
      pumpIdle = true;
    }
  }
  void pumpEvents();

  // ---- continue-as-new: any time between steps, once no handler is mid-answer and no ledger ------
  // write is in flight (its result would land on a closed run). Once due, no new write starts: the
  // outbox is carried to the next run.
  function continueAsNewWanted(): boolean {
    const info = workflowInfo();
    return (
      state.paidCycles - paidAtStart >= canEvery ||
      info.continueAsNewSuggested ||
      info.historyLength > eventsCap
    );
  }
  function continueAsNewDue(): boolean {
    return continueAsNewWanted() && pumpIdle && allHandlersFinished();
  }

  /**
   * Rest during a long wait: continue-as-new once the ledger has every event and no handler is
   * mid-answer. While the ledger is down the outbox is not empty, so the run waits as usual.
   */
  function restReady(step: { until?: string | undefined; idle?: boolean }): boolean {
    return restWorthIt(step) && state.events.outbox.length === 0 && pumpIdle;
  }

  /** An idle wait long enough, in a run that has done anything, with no handler mid-answer. */
  function restWorthIt(step: { until?: string | undefined; idle?: boolean }): boolean {
    if (!step.idle || restBeforeWaitMs < 0) return false;
    if (step.until !== undefined && Date.parse(step.until) - now() <= restBeforeWaitMs) return false;
    return workflowInfo().historyLength > REST_MIN_HISTORY && allHandlersFinished();
  }

  /** The new run starts with the current search attributes, so they cost no upsert of their own. */
  async function continueAsNewNow(): Promise<never> {
    const { next, attention, key } = searchView();
    return makeContinueAsNewFunc<typeof subscriptionWorkflow>({
      typedSearchAttributes: searchPairs(next, attention).filter(
        (p) => p.value !== null,
      ) as SearchAttributePair[],
    })(rawInput, {
      carried: state,
      syncedSearchKey: key,
      ...(options.tuning ? { tuning: options.tuning } : {}),
    });
  }

  /**
   * An idle wait whose rest waits only for the ledger write in flight: wait for that write without a
   * timer (it takes milliseconds; a failing write ends the wait and the run waits as usual).
   */
  function restAwaitsLedger(step: { until?: string | undefined; idle?: boolean }): boolean {
    if (pumpFailing || continueAsNewWanted()) return false;
    return restWorthIt(step) && state.events.outbox.length > 0;
  }

  async function waitFor(step: {
    until?: string | undefined;
    summary: string;
    idle?: boolean;
  }): Promise<void> {
    const { until, summary } = step;
    const seen = version;
    // A rest that becomes possible mid-wait (the last handler answered, the ledger caught up) wakes the
    // loop: to set its timer, or to rest at once when its time has come.
    const woken = () =>
      version !== seen ||
      continueAsNewDue() ||
      (step.idle === true && restWakes(restReady(step), restAt, now()));
    if (until === undefined) {
      await condition(woken);
      return;
    }
    const ms = Date.parse(until) - now();
    if (ms > 0) await condition(woken, ms, { summary });
  }

  // ---- main loop ------------------------------------------------------------------------------
  let stepsWithoutWait = 0;
  let waitsWithoutProgress = 0;
  for (;;) {
    if (continueAsNewDue()) await continueAsNewNow();
    const step = nextStep(state, now());
    if (step.kind === 'done') break;
    if (step.kind === 'wait' && restReady(step)) {
      if (restAt === undefined) {
        const left = step.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(step.until) - now();
        restAt = now() + Math.min(restDelayMs, left / 2);
      }
      if (now() >= restAt) await continueAsNewNow();
    } else if (step.kind !== 'wait' || !step.idle) restAt = undefined;
    syncSearchAttributes();
    if (step.kind === 'wait') {
      stepsWithoutWait = 0;
      if (restAwaitsLedger(step)) {
        const seen = version;
        await condition(
          () =>
            version !== seen ||
            pumpFailing ||
            (state.events.outbox.length === 0 && pumpIdle) ||
            continueAsNewDue(),
        );
        continue;
      }
      // A rest whose time has come but which cannot happen yet (a handler mid-answer, the ledger failing)
      // waits as the step does: a timer in the past would return at once and spin this loop.
      const restUntil = restDeadline(
        restAt,
        now(),
        step.until === undefined ? undefined : Date.parse(step.until),
      );
      const waitStartedAt = now();
      const seenVersion = version;
      await waitFor(
        restUntil !== undefined
          ? { until: new Date(restUntil).toISOString(), summary: `Rest, then: ${step.summary}` }
          : step,
      );
      // Guard: a wait that returns without time passing or anything changing, again and again, is a bug;
      // sleep rather than spin the workflow task until the SDK's deadlock timeout kills the worker thread.
      if (now() === waitStartedAt && version === seenVersion) {
        waitsWithoutProgress += 1;
        if (waitsWithoutProgress > MAX_WAITS_WITHOUT_PROGRESS) {
          waitsWithoutProgress = 0;
          log.warn('wait loop made no progress; sleeping', { step: step.summary });
          // A request (a cancel above all) still ends the pause at once.
          await condition(() => version !== seenVersion, '10s');
        }
      } else waitsWithoutProgress = 0;
      continue;
    }
    stepsWithoutWait += 1;
    if (stepsWithoutWait > MAX_STEPS_WITHOUT_WAIT) {
      stepsWithoutWait = 0;
      // A request (a cancel above all) ends the pause at once.
      const seen = version;
      await condition(() => version !== seen, '1m');
    }
    restAt = undefined;
    await performStep({ state, now }, step);
  }
  syncSearchAttributes();
  // The last events must reach the ledger before the run ends.
  await condition(() => state.events.outbox.length === 0 && pumpIdle);
  await condition(allHandlersFinished);
  return toView(state);
}
