/**
 * Model-based test of the subscription workflow: seeded random sequences of LINE Pay outcomes,
 * lifecycle requests, worker restarts and time passing on the time-skipping server, then the billing
 * invariants checked against the sandbox's own ledger and request log and the workflow's histories.
 *
 * A seed fixes the sequence of choices; what the workflow answers (and so some later choices) can
 * still vary with real-time races, which is the point of racing a cancel against a charge.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';
import {
  type CancelResult,
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  pauseUpdate,
  paymentLinkUpdate,
  REJECTION_TYPES,
  resumeUpdate,
  retryNowUpdate,
  type SubscriptionView,
  stateQuery,
  TERMINAL_STATUSES,
  workflowIdFor,
} from '../../workflows/messages.js';
import { chargeOrderId, parseOrderId } from '../../workflows/order-id.js';
import type { SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  type Harness,
  restartWorker,
  type SubscriptionHandle,
  sandboxRegKey,
  startActiveSubscription,
  subscriptionInput,
} from './subscription-harness.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Every sequence bills daily in UTC, so cycle n falls due at anchor + n days exactly. */
const INTERVAL = 'P1D';
const DUNNING = ['PT2H', 'PT6H'];
const REAPPROVAL_TIMEOUT = 'PT12H';
/**
 * A due cycle must be settled (charged, failed through dunning, skipped, canceled) or flagged
 * `needsAttention` within this: the workflow's 24 h resolution bound + the last dunning offset +
 * the re-approval window + 6 h of margin for lookups and the blocked-step backoff.
 */
export const SETTLE_BOUND_MS = 24 * HOUR + 6 * HOUR + 12 * HOUR + 6 * HOUR;
/** No run of the chain may grow past this many events (the workflow continues-as-new at 4,000). */
export const MAX_RUN_EVENTS = 4_200;
/** Request-log times are wall-clock at the sandbox; the client saw "accepted" a little after the workflow. */
const ACCEPT_SLACK_MS = 50;
/** Real time one update may take before it counts as unfinished (time is skipped meanwhile). */
const UPDATE_PATIENCE_MS = 20_000;
const REJECTION_TYPE_NAMES: ReadonlySet<string> = new Set(Object.values(REJECTION_TYPES));

export interface ModelSettings {
  sequences: number;
  eventsPerSequence: number;
  seed: number;
}

/** MODEL_SEQUENCES, MODEL_EVENTS, MODEL_SEED (a number, or `random`). */
export function modelSettings(
  defaults: { sequences: number; eventsPerSequence: number; seed: number },
  env: NodeJS.ProcessEnv = process.env,
): ModelSettings {
  const int = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
    return n;
  };
  const seed =
    env.MODEL_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : int('MODEL_SEED', defaults.seed);
  return {
    sequences: int('MODEL_SEQUENCES', defaults.sequences),
    eventsPerSequence: int('MODEL_EVENTS', defaults.eventsPerSequence),
    seed,
  };
}

/** mulberry32: small, seedable, good enough to pick actions. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  weighted<T extends string>(weights: Partial<Record<T, number>>): T {
    const entries = Object.entries(weights) as [T, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries.at(-1)![0];
  }
}

export interface Violation {
  invariant:
    | 'one-charge-per-cycle'
    | 'no-charge-after-cancel'
    | 'cycle-settles'
    | 'run-never-fails'
    | 'handlers-finish'
    | 'history-bounded'
    | 'ledger-matches-view'
    | 'amount-of-plan'
    | 'no-live-regkey';
  detail: string;
}

export interface SequenceResult {
  seed: number;
  subscriptionId: string;
  /** Model events run (charge outcomes, requests, restarts, time steps), the drain excluded. */
  events: number;
  log: string[];
  violations: Violation[];
  runs: number;
  maxRunEvents: number;
  finalStatus: string;
  wallMs: number;
}

type Outcome =
  | 'success'
  | 'soft'
  | 'hard'
  | 'dead'
  | 'drop_after_commit'
  | 'error_after_commit'
  | 'http_5xx'
  | 'decline_then_drop'
  | 'unknown_return_code';

type Action =
  | 'outcome'
  | 'sleep'
  | 'sleepToDue'
  | 'cancelNow'
  | 'cancelAtPeriodEnd'
  | 'cancelAtDue'
  | 'pause'
  | 'resume'
  | 'changePlanSmall'
  | 'changePlanBig'
  | 'retryNow'
  | 'reapprove'
  | 'confirmCancelRace'
  | 'restartWorker';

const WEIGHTS: Record<string, Partial<Record<Action, number>>> = {
  active: {
    outcome: 28,
    sleep: 14,
    sleepToDue: 12,
    cancelAtDue: 3,
    cancelNow: 1,
    cancelAtPeriodEnd: 3,
    pause: 7,
    changePlanSmall: 5,
    changePlanBig: 4,
    restartWorker: 5,
    retryNow: 1,
    resume: 1,
  },
  past_due: {
    outcome: 16,
    sleep: 18,
    sleepToDue: 4,
    retryNow: 14,
    cancelNow: 2,
    cancelAtPeriodEnd: 2,
    changePlanSmall: 3,
    changePlanBig: 2,
    restartWorker: 4,
    pause: 1,
  },
  paused: {
    sleep: 20,
    resume: 20,
    cancelNow: 2,
    cancelAtPeriodEnd: 4,
    changePlanSmall: 3,
    changePlanBig: 3,
    restartWorker: 3,
  },
  reapproval_required: {
    reapprove: 24,
    confirmCancelRace: 8,
    sleep: 10,
    cancelNow: 2,
    changePlanSmall: 2,
    restartWorker: 3,
  },
};

const OUTCOMES: Record<Outcome, number> = {
  success: 20,
  soft: 14,
  hard: 6,
  dead: 6,
  drop_after_commit: 8,
  error_after_commit: 8,
  http_5xx: 8,
  decline_then_drop: 7,
  unknown_return_code: 7,
};

interface CancelRecord {
  updateId: string;
  atPeriodEnd: boolean;
  /** Wall-clock time at which the client saw the update accepted. */
  acceptedAt?: number;
  result?: CancelResult;
}

interface SentUpdate {
  updateId: string;
  name: string;
  promise: Promise<unknown>;
  /** `rejected`: by a validator; `failed`: any other error; `closed`: the run had ended. */
  state: 'pending' | 'done' | 'rejected' | 'failed' | 'closed';
  error?: string;
}

interface PlanChangeRecord {
  effectiveCycle: number;
  amount: number;
}

function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; type?: string } };
  return `${e?.message ?? String(err)}${e?.cause?.message ? ` (${e.cause.type ?? ''}: ${e.cause.message})` : ''}`;
}

async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { timedOut: true }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  try {
    return await Promise.race([p.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One seeded sequence against `h`: start, random events, drain, cancel, then every invariant. */
export async function runSequence(h: Harness, seed: number, eventCount: number): Promise<SequenceResult> {
  const seq = new Sequence(h, seed);
  return seq.run(eventCount);
}

class Sequence {
  readonly rng: Rng;
  readonly log: string[] = [];
  readonly violations: Violation[] = [];
  readonly updates: SentUpdate[] = [];
  readonly cancels: CancelRecord[] = [];
  readonly planChanges: PlanChangeRecord[] = [];
  readonly regKeysSeen = new Set<string>();
  input!: SubscriptionInput;
  handle!: SubscriptionHandle;
  instanceId = '';
  anchor = 0;
  startedAt = 0;
  updateCounter = 0;
  events = 0;
  view!: SubscriptionView;

  constructor(
    readonly h: Harness,
    readonly seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  async run(eventCount: number): Promise<SequenceResult> {
    const wallStart = Date.now();
    const rng = this.rng;
    const maxCycles = rng.chance(0.2) ? rng.int(3, 8) : undefined;
    // MODEL_CAN=1 also continues-as-new every few cycles; on the time-skipping server the run after a
    // continue-as-new can stall (its first completion is refused as "already completed").
    const canChoice = rng.pick([undefined, 2, 3, 5]);
    const canEvery = process.env.MODEL_CAN === '1' ? canChoice : undefined;
    this.input = subscriptionInput({
      subscriptionId: `model-${this.seed.toString(36)}-${Date.now().toString(36)}`,
      amount: rng.int(10, 200) * 10,
      interval: INTERVAL,
      timeZone: 'UTC',
      dunningSchedule: DUNNING,
      reapprovalTimeout: REAPPROVAL_TIMEOUT,
      ...(maxCycles === undefined ? {} : { maxCycles }),
    });
    this.startedAt = await this.h.env.currentTimeMs();
    this.handle = await startActiveSubscription(
      this.h,
      this.input,
      canEvery === undefined ? undefined : { continueAsNewEveryCycles: canEvery },
    );
    await this.observe();
    this.instanceId = this.view.instanceId;
    this.anchor = Date.parse(this.view.anchor!);
    await this.note(
      `start ${this.input.subscriptionId} amount ${this.input.amount}` +
        `${maxCycles ? ` maxCycles ${maxCycles}` : ''}${canEvery ? ` continueAsNewEvery ${canEvery}` : ''}`,
    );

    for (let i = 0; i < eventCount; i += 1) {
      if (isTerminal(this.view.status)) break;
      const action = rng.weighted(WEIGHTS[this.view.status] ?? { sleep: 1 });
      this.events += 1;
      const actionStart = Date.now();
      await this.perform(action);
      await this.observe();
      if (process.env.MODEL_VERBOSE === '1' && Date.now() - actionStart > 5_000) {
        const d = await this.handle.describe();
        console.log(
          `slow ${action}: ${Date.now() - actionStart} ms`,
          JSON.stringify(d.raw.pendingActivities),
        );
      }
    }
    await this.drain();
    await this.finish();
    await this.checkAll();
    return {
      seed: this.seed,
      subscriptionId: this.input.subscriptionId,
      events: this.events,
      log: this.log,
      violations: this.violations,
      runs: this.runCount,
      maxRunEvents: this.maxRunEvents,
      finalStatus: this.view.status,
      wallMs: Date.now() - wallStart,
    };
  }

  // ---- observation --------------------------------------------------------------------------------

  async now(): Promise<number> {
    return this.h.env.currentTimeMs();
  }

  async note(text: string): Promise<void> {
    const at = (await this.now()) - this.startedAt;
    const v = this.view;
    const where = v ? ` [${v.status} c${v.cycle}${v.needsAttention ? ' ⚠' : ''}]` : '';
    const line = `+${(at / HOUR).toFixed(2)}h ${text}${where}`;
    this.log.push(line);
    if (process.env.MODEL_VERBOSE === '1')
      console.log(`[${this.seed} ${new Date().toISOString().slice(11, 23)}] ${line}`);
  }

  /** After time moved: lets the workflow act on its fired timers before the view is read. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i += 1) {
      const d = await this.handle.describe();
      if (d.status.name !== 'RUNNING') return;
      if (!d.raw.pendingWorkflowTask && (d.raw.pendingActivities ?? []).length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async sleep(duration: string | number): Promise<void> {
    await this.h.env.sleep(duration);
    await this.settle();
  }

  async observe(): Promise<void> {
    let r = await within(this.handle.query(stateQuery), 5_000);
    for (let i = 0; i < 5 && 'timedOut' in r; i += 1) {
      r = await within(this.handle.query(stateQuery), 5_000);
    }
    if ('timedOut' in r) {
      this.violate('run-never-fails', 'the state query did not answer within 30 s (workflow task stuck?)');
      return;
    }
    this.view = r.value;
    if (this.view.regKeyMasked) this.regKeysSeen.add(this.view.regKeyMasked);
    await this.checkBound();
  }

  /** A cycle due longer than the bound is settled or flagged. */
  async checkBound(): Promise<void> {
    const v = this.view;
    if (!['active', 'past_due', 'reapproval_required'].includes(v.status)) return;
    if (v.nextChargeAt === undefined || v.needsAttention !== undefined) return;
    const now = await this.now();
    const due = Date.parse(v.nextChargeAt);
    if (now - due > SETTLE_BOUND_MS) {
      this.violate(
        'cycle-settles',
        `cycle ${v.cycle} due ${v.nextChargeAt} is still ${v.status} at ${new Date(now).toISOString()} ` +
          `(${((now - due) / HOUR).toFixed(1)} h) without needsAttention`,
      );
    }
  }

  violate(invariant: Violation['invariant'], detail: string): void {
    if (this.violations.some((v) => v.invariant === invariant && v.detail === detail)) return;
    this.violations.push({ invariant, detail });
    this.log.push(`  !! ${invariant}: ${detail}`);
  }

  dueAt(cycle: number): number {
    return this.anchor + cycle * DAY;
  }

  /** The orderId the next charge attempt of the current cycle uses. */
  nextOrderId(): string {
    const v = this.view;
    const declines = v.dunning && v.dunning.cycle === v.cycle ? v.dunning.declines : 0;
    return chargeOrderId(v.subscriptionId, v.instanceId, v.cycle, declines);
  }

  // ---- updates ------------------------------------------------------------------------------------

  nextUpdateId(name: string): string {
    this.updateCounter += 1;
    return `model-${this.seed}-${this.updateCounter}-${name}`;
  }

  /** Sends an update and waits (skipping time if it takes long); records how it ended. */
  async send<T>(name: string, start: (updateId: string) => Promise<T>): Promise<T | undefined> {
    const updateId = this.nextUpdateId(name);
    const sent: SentUpdate = { updateId, name, promise: Promise.resolve(), state: 'pending' };
    const promise = start(updateId).then(
      (value) => {
        sent.state = 'done';
        return value;
      },
      (err: unknown) => {
        sent.error = errorText(err);
        sent.state = classifyError(err);
        return undefined;
      },
    );
    sent.promise = promise;
    this.updates.push(sent);
    const r = await within(promise, UPDATE_PATIENCE_MS);
    if ('timedOut' in r) {
      await this.note(`${name}: no answer yet, left pending`);
      return undefined;
    }
    if (sent.state !== 'done') await this.note(`${name}: ${sent.state} — ${sent.error}`);
    return r.value;
  }

  async cancel(atPeriodEnd: boolean, reason: string): Promise<void> {
    const record: CancelRecord = { updateId: '', atPeriodEnd };
    this.cancels.push(record);
    const result = await this.send('cancel', async (updateId) => {
      record.updateId = updateId;
      const upd = await this.handle.startUpdate(cancelUpdate, {
        args: [{ actor: { kind: 'merchant' }, reason, requestId: updateId, atPeriodEnd }],
        updateId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      record.acceptedAt = await this.h.env.currentTimeMs(); // the sandbox logs calls on the test server's clock
      return upd.result();
    });
    if (result) record.result = result;
    await this.note(
      `cancel${atPeriodEnd ? ' at period end' : ''} → ${result ? `${result.status} effective ${result.effectiveAt}` : 'no result'}`,
    );
  }

  // ---- actions ------------------------------------------------------------------------------------

  async perform(action: Action): Promise<void> {
    const rng = this.rng;
    const h = this.h;
    const actor = { kind: 'merchant' as const };
    switch (action) {
      case 'outcome':
        return this.setOutcome(rng.weighted(OUTCOMES));
      case 'sleep': {
        const step = rng.pick(['30 minutes', '2 hours', '7 hours', '1 day', '1 day', '2 days']);
        await this.sleep(step);
        return this.note(`sleep ${step}`);
      }
      case 'sleepToDue': {
        const due = this.view.nextChargeAt ? Date.parse(this.view.nextChargeAt) : undefined;
        const now = await this.now();
        const ms = due !== undefined && due > now ? due - now + 1_000 : HOUR;
        await this.sleep(ms);
        return this.note(`sleep ${(ms / HOUR).toFixed(2)}h (to the due date)`);
      }
      case 'cancelNow':
        return this.cancel(false, 'model: cancel now');
      case 'cancelAtPeriodEnd':
        return this.cancel(true, 'model: cancel at period end');
      case 'cancelAtDue': {
        // The charge may be in flight (or between its retries) when the cancel lands.
        if (rng.chance(0.6)) await this.setOutcome('http_5xx');
        const due = this.view.nextChargeAt ? Date.parse(this.view.nextChargeAt) : undefined;
        const now = await this.now();
        if (due !== undefined && due > now) await h.env.sleep(due - now + 10);
        await this.note('at the due date');
        await new Promise((r) => setTimeout(r, rng.int(0, 300)));
        return this.cancel(false, 'model: cancel as the cycle falls due');
      }
      case 'pause': {
        const withResume = rng.chance(0.5);
        const resumeAt = withResume
          ? new Date((await this.now()) + rng.int(6, 72) * HOUR).toISOString()
          : undefined;
        const r = await this.send('pause', (updateId) =>
          this.handle.executeUpdate(pauseUpdate, {
            args: [{ actor, requestId: updateId, ...(resumeAt ? { resumeAt } : {}) }],
            updateId,
          }),
        );
        return this.note(`pause${resumeAt ? ` until ${resumeAt}` : ''} → ${r ? 'paused' : 'not paused'}`);
      }
      case 'resume': {
        const r = await this.send('resume', (updateId) =>
          this.handle.executeUpdate(resumeUpdate, { args: [{ actor, requestId: updateId }], updateId }),
        );
        return this.note(
          `resume → ${r ? `${r.status} next ${r.nextChargeAt} skipped [${r.skippedCycles.join(',')}]` : 'no'}`,
        );
      }
      case 'changePlanSmall':
      case 'changePlanBig': {
        const base = this.view.plan.amount;
        const factor = action === 'changePlanSmall' ? 0.8 + rng.next() * 0.4 : 1.3 + rng.next() * 0.7;
        const amount = Math.max(1, Math.round(base * factor));
        const r = await this.send('changePlan', (updateId) =>
          this.handle.executeUpdate(changePlanUpdate, {
            args: [{ actor, requestId: updateId, amount, productName: `plan ${amount}` }],
            updateId,
          }),
        );
        if (r) this.planChanges.push({ effectiveCycle: r.effectiveCycle, amount: r.plan.amount });
        return this.note(
          `changePlan ${base} → ${amount}${r ? ` from cycle ${r.effectiveCycle}` : ' rejected'}`,
        );
      }
      case 'retryNow': {
        const r = await this.send('retryNow', (updateId) =>
          this.handle.executeUpdate(retryNowUpdate, { args: [{ actor, requestId: updateId }], updateId }),
        );
        return this.note(`retryNow → ${r ? `cycle ${r.cycle}` : 'rejected'}`);
      }
      case 'reapprove':
        return this.reapprove(false);
      case 'confirmCancelRace':
        return this.reapprove(true);
      case 'restartWorker':
        // Off by default: the time-skipping server strands a restarted worker's sticky tasks.
        if (process.env.MODEL_RESTARTS !== '1') return this.note('worker restart (skipped)');
        await restartWorker(h);
        return this.note('worker restarted');
    }
  }

  /** Sets up how LINE Pay answers the next charge attempt of the current cycle. */
  async setOutcome(outcome: Outcome): Promise<void> {
    const control = this.h.sandbox.control;
    const orderId = this.nextOrderId();
    const rng = this.rng;
    const on = (action: Parameters<typeof control.addFault>[0]['action'], times = 1) =>
      control.addFault({ api: 'preapprovedPay', match: { orderId }, times, action });
    let what: string = outcome;
    switch (outcome) {
      case 'success':
        break;
      case 'soft': {
        const code = rng.pick(['1142', '1288']);
        on({ kind: 'return_code', code });
        what = `soft decline ${code}`;
        break;
      }
      case 'hard':
        on({ kind: 'return_code', code: '1110' });
        what = 'hard decline 1110';
        break;
      case 'dead': {
        // A faked RK code does not kill the key at the sandbox: expire it there as well.
        if (this.view.regKeyMasked) {
          try {
            control.expireRegKey(sandboxRegKey(this.h, this.view.regKeyMasked).regKey);
          } catch {
            // The key was already replaced; the fault alone answers.
          }
        }
        const code = rng.pick(['1190', '1193', 'expired']);
        if (code !== 'expired') on({ kind: 'return_code', code });
        what = `dead regKey (${code})`;
        break;
      }
      case 'drop_after_commit':
        on({ kind: 'drop_after_commit' });
        break;
      case 'error_after_commit': {
        const status = rng.chance(0.5) ? 503 : undefined;
        on(status === undefined ? { kind: 'error_after_commit' } : { kind: 'error_after_commit', status });
        what = `error_after_commit ${status ?? '9000'}`;
        break;
      }
      case 'http_5xx': {
        const times = rng.int(1, 2);
        on({ kind: 'http_error', status: 503 }, times);
        what = `503 before commit ×${times}`;
        break;
      }
      case 'decline_then_drop':
        on({ kind: 'decline_then_drop', code: '1142' });
        what = 'decline_then_drop 1142';
        break;
      case 'unknown_return_code': {
        const afterCommit = rng.chance(0.5);
        on({ kind: 'unknown_return_code', afterCommit });
        what = `unknown_return_code 1297${afterCommit ? ' after commit' : ''}`;
        break;
      }
    }
    await this.note(`next charge ${orderId}: ${what}`);
  }

  /** Re-approval on LINE Pay and the confirm webhook; with `race`, a cancel sent alongside the confirm. */
  async reapprove(race: boolean): Promise<void> {
    const link = await this.send('paymentLink', (updateId) =>
      this.handle.executeUpdate(paymentLinkUpdate, { args: [{}], updateId }),
    );
    if (!link?.paymentUrl) return this.note('paymentLink: no link');
    const view = await this.handle.query(stateQuery);
    const r = view.reservation;
    if (!r) return this.note('paymentLink: no reservation');
    let redirectUrl: string;
    try {
      redirectUrl = this.h.sandbox.control.approve(r.transactionId).redirectUrl;
    } catch (err) {
      return this.note(`approve on LINE Pay failed: ${errorText(err)}`);
    }
    const url = new URL(redirectUrl);
    const ids = {
      transactionId: url.searchParams.get('transactionId')!,
      orderId: url.searchParams.get('orderId')!,
    };
    const confirm = this.send('confirm', (updateId) =>
      this.handle.executeUpdate(confirmUpdate, { args: [ids], updateId }),
    );
    if (!race) {
      const c = await confirm;
      return this.note(`re-approved ${ids.orderId} → ${c ? `${c.status}: ${c.message}` : 'no answer'}`);
    }
    const cancel = this.cancel(false, 'model: cancel racing the confirm');
    const [c] = await Promise.all([confirm, cancel]);
    return this.note(`confirm raced by cancel → ${c ? `${c.status}: ${c.message}` : 'no answer'}`);
  }

  // ---- the end of a sequence ----------------------------------------------------------------------

  /** No more faults: let the bound pass so every cycle due before it must have settled. */
  async drain(): Promise<void> {
    this.h.sandbox.control.clearFaults();
    const until = (await this.now()) + SETTLE_BOUND_MS + 6 * HOUR;
    await this.note('drain: faults cleared');
    while ((await this.now()) < until && !isTerminal(this.view.status)) {
      if (this.view.status === 'paused') await this.perform('resume');
      else if (this.view.status === 'reapproval_required' && this.rng.chance(0.7))
        await this.reapprove(false);
      await this.sleep('12 hours');
      await this.observe();
    }
  }

  async finish(): Promise<void> {
    if (!isTerminal(this.view.status)) await this.cancel(false, 'model: end of sequence');
    // Every update sent must have finished by now; give the stragglers time (skipping it too).
    for (let i = 0; i < 20 && this.updates.some((u) => u.state === 'pending'); i += 1) {
      await this.sleep('1 hour');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const u of this.updates.filter((x) => x.state === 'pending')) {
      this.violate('handlers-finish', `update ${u.name} (${u.updateId}) never finished`);
    }
    // Not `handle.result()`: on the time-skipping client it unlocks time, which then runs on for years.
    let closed = false;
    for (let i = 0; i < 100 && !closed; i += 1) {
      const d = await this.handle.describe();
      closed = d.status.name !== 'RUNNING';
      if (!closed) await new Promise((r) => setTimeout(r, 200));
    }
    if (!closed) this.violate('run-never-fails', 'the run is still RUNNING 20 s after the final cancel');
    await this.observe();
    await this.note(`end: ${this.view.status} (${this.view.cancelReason ?? ''})`);
  }

  runCount = 0;
  maxRunEvents = 0;

  /** Every run of the chain, oldest first. */
  async chain(): Promise<{ runId: string; events: HistoryEvent[]; status: string }[]> {
    const workflowId = workflowIdFor(this.input.subscriptionId);
    const runs: { runId: string; events: HistoryEvent[]; status: string }[] = [];
    let runId: string | undefined = (await this.h.client.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const handle: SubscriptionHandle = this.h.client.workflow.getHandle(workflowId, runId);
      const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      const events: HistoryEvent[] = history.events ?? [];
      runs.unshift({ runId, events, status: description.status.name });
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    }
    return runs;
  }

  async checkAll(): Promise<void> {
    const runs = await this.chain();
    this.runCount = runs.length;
    this.maxRunEvents = Math.max(...runs.map((r) => r.events.length));
    const accepted = new Map<string, { name: string; order: number }>();
    const completed = new Map<string, boolean>();
    let order = 0;
    const chargeScheduledAfterCancel: string[] = [];
    let cancelNowAccepted: string | undefined;
    let confirmOpen = false;

    for (const [i, run] of runs.entries()) {
      // run never fails
      const last = i === runs.length - 1;
      if (!['CONTINUED_AS_NEW', 'COMPLETED'].includes(run.status))
        this.violate('run-never-fails', `run ${run.runId} ended ${run.status}`);
      if (last && run.status !== 'COMPLETED')
        this.violate('run-never-fails', `the last run is ${run.status}, not COMPLETED`);
      if (run.events.length > MAX_RUN_EVENTS)
        this.violate('history-bounded', `run ${run.runId} has ${run.events.length} events`);
      for (const e of run.events) {
        const wtf = e.workflowTaskFailedEventAttributes;
        if (wtf && !BENIGN_TASK_FAILURES.has(Number(wtf.cause ?? 0))) {
          this.violate(
            'run-never-fails',
            `workflow task failed (cause ${wtf.cause}): ${wtf.failure?.message ?? '?'}`.slice(0, 400),
          );
        }
        if (e.workflowExecutionFailedEventAttributes)
          this.violate(
            'run-never-fails',
            `run failed: ${e.workflowExecutionFailedEventAttributes.failure?.message}`,
          );
        const acc = e.workflowExecutionUpdateAcceptedEventAttributes;
        if (acc) {
          const updateId = acc.acceptedRequest?.meta?.updateId ?? '?';
          const name = acc.acceptedRequest?.input?.name ?? '?';
          accepted.set(updateId, { name, order: order++ });
          if (name === 'confirm' && cancelNowAccepted === undefined) confirmOpen = true;
          if (name === 'cancel' && cancelNowAccepted === undefined && this.isCancelNow(acc)) {
            cancelNowAccepted = updateId;
          }
        }
        const done = e.workflowExecutionUpdateCompletedEventAttributes;
        if (done) {
          const updateId = done.meta?.updateId ?? '?';
          completed.set(updateId, true);
          if (accepted.get(updateId)?.name === 'confirm') confirmOpen = false;
          if (done.outcome?.failure) {
            this.violate(
              'handlers-finish',
              `update ${updateId} failed after acceptance: ${done.outcome.failure.message}`,
            );
          }
        }
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (cancelNowAccepted !== undefined && type === 'chargePreapproved')
          chargeScheduledAfterCancel.push(`chargePreapproved (event ${e.eventId})`);
        if (cancelNowAccepted !== undefined && type === 'confirmPreapproved' && !confirmOpen)
          chargeScheduledAfterCancel.push(`confirmPreapproved (event ${e.eventId})`);
      }
    }
    for (const c of chargeScheduledAfterCancel)
      this.violate('no-charge-after-cancel', `${c} scheduled after cancel ${cancelNowAccepted} was accepted`);
    for (const [updateId, a] of accepted) {
      if (!completed.has(updateId))
        this.violate('handlers-finish', `update ${a.name} ${updateId} accepted but never completed`);
    }
    for (const u of this.updates) {
      if (u.state === 'rejected' && accepted.has(u.updateId))
        this.violate(
          'handlers-finish',
          `update ${u.name} ${u.updateId} was accepted, then failed: ${u.error}`,
        );
      if (u.state === 'failed') this.violate('handlers-finish', `update ${u.name} failed: ${u.error}`);
    }

    this.checkLedger();
    this.checkCancelRequests();
    this.checkCycles();
    this.checkRegKeys();
  }

  isCancelNow(acc: proto.temporal.api.history.v1.IWorkflowExecutionUpdateAcceptedEventAttributes): boolean {
    const updateId = acc.acceptedRequest?.meta?.updateId;
    const record = this.cancels.find((c) => c.updateId === updateId);
    if (record)
      return !record.atPeriodEnd || (record.result !== undefined && isTerminal(record.result.status));
    const payload = acc.acceptedRequest?.input?.args?.payloads?.[0];
    const arg = payload ? (defaultPayloadConverter.fromPayload(payload) as { atPeriodEnd?: boolean }) : {};
    return arg.atPeriodEnd !== true;
  }

  /** Successful LINE Pay charges of this instance (refunded ones excluded), by cycle. */
  netPayments() {
    const ledger = this.h.sandbox.control.ledger();
    const refunded = new Set(ledger.filter((e) => e.kind === 'refund').map((e) => e.transactionId));
    return ledger
      .filter((e) => e.kind === 'payment' && !refunded.has(e.transactionId))
      .map((e) => ({ ...e, parsed: parseOrderId(e.orderId) }))
      .filter(
        (e) =>
          e.parsed?.subscriptionId === this.input.subscriptionId && e.parsed.instanceId === this.instanceId,
      );
  }

  expectedAmount(cycle: number): number {
    let amount = this.input.amount;
    for (const c of this.planChanges) if (c.effectiveCycle <= cycle) amount = c.amount;
    return amount;
  }

  checkLedger(): void {
    const payments = this.netPayments();
    const byCycle = new Map<number, typeof payments>();
    for (const p of payments) {
      const list = byCycle.get(p.parsed!.cycle) ?? [];
      list.push(p);
      byCycle.set(p.parsed!.cycle, list);
    }
    for (const [cycle, list] of byCycle) {
      if (list.length > 1)
        this.violate(
          'one-charge-per-cycle',
          `cycle ${cycle} was charged ${list.length} times: ${list.map((p) => `${p.orderId} ${p.amount}`).join(', ')}`,
        );
      for (const p of list) {
        const expected = this.expectedAmount(cycle);
        if (p.amount !== expected)
          this.violate(
            'amount-of-plan',
            `cycle ${cycle} charged ${p.amount} (${p.orderId}), plan says ${expected}`,
          );
      }
    }
    const v = this.view;
    if (v.paidCycles !== payments.length)
      this.violate(
        'ledger-matches-view',
        `LINE Pay holds ${payments.length} payments of this instance, the workflow counts ${v.paidCycles} paid cycles`,
      );
    const known = new Set(v.charges.map((c) => c.transactionId));
    const recent = payments.slice(-v.charges.length || undefined);
    for (const p of recent) {
      if (!known.has(p.transactionId))
        this.violate(
          'ledger-matches-view',
          `payment ${p.transactionId} (${p.orderId}) at LINE Pay is not among the workflow's charges`,
        );
    }
  }

  checkCancelRequests(): void {
    const sent = this.h.sandbox.control.requests().filter((r) => {
      const parsed = r.orderId ? parseOrderId(r.orderId) : undefined;
      if (parsed?.subscriptionId !== this.input.subscriptionId || parsed.instanceId !== this.instanceId)
        return false;
      return /\/preapprovedPay\/[^/]+\/payment$/.test(r.path) || /\/payments\/[^/]+\/confirm$/.test(r.path);
    });
    for (const c of this.cancels) {
      if (c.acceptedAt === undefined) continue;
      const cancelNow = !c.atPeriodEnd || (c.result !== undefined && isTerminal(c.result.status));
      const effective = c.result && !cancelNow ? Date.parse(c.result.effectiveAt) : undefined;
      if (!cancelNow && effective === undefined) continue;
      for (const r of sent) {
        const at = Date.parse(r.at);
        if (at <= c.acceptedAt + ACCEPT_SLACK_MS) continue;
        const cycle = parseOrderId(r.orderId!)!.cycle;
        const isConfirm = r.path.endsWith('/confirm');
        // A confirm accepted before the cancel is served first; the history check covers that order.
        if (isConfirm && cancelNow) continue;
        if (effective !== undefined && this.dueAt(cycle) < effective) continue;
        this.violate(
          'no-charge-after-cancel',
          `${r.method} ${r.path.replace(/preapprovedPay\/[^/]+/, 'preapprovedPay/…')} ${r.orderId} ` +
            `(→ ${r.returnCode ?? r.httpStatus}${r.committed ? `, committed ${r.committed}` : ''}) at ${r.at}, ` +
            `${at - c.acceptedAt} ms after cancel${c.atPeriodEnd ? ' at period end' : ''} ${c.updateId} was accepted`,
        );
      }
    }
  }

  /** Every cycle due before the end settled; the bound itself is checked at every observation. */
  checkCycles(): void {
    const v = this.view;
    const paid = new Set(this.netPayments().map((p) => p.parsed!.cycle));
    const skipped = new Set(v.skippedCycles);
    for (let c = 1; c < v.cycle; c += 1) {
      if (!paid.has(c) && !skipped.has(c))
        this.violate('cycle-settles', `cycle ${c} was passed over: neither charged nor skipped by a pause`);
      if (paid.has(c) && skipped.has(c))
        this.violate('cycle-settles', `cycle ${c} was charged and also recorded as skipped`);
    }
    if (isTerminal(v.status) && v.status !== 'completed' && paid.has(v.cycle))
      this.violate(
        'ledger-matches-view',
        `the final cycle ${v.cycle} was charged but the workflow did not advance`,
      );
  }

  /** A canceled or completed subscription leaves no live regKey at LINE Pay. */
  checkRegKeys(): void {
    if (!isTerminal(this.view.status)) return;
    for (const masked of this.regKeysSeen) {
      try {
        const key = sandboxRegKey(this.h, masked);
        if (key.status === 'ACTIVE')
          this.violate(
            'no-live-regkey',
            `regKey ${masked} is still ACTIVE after the subscription ${this.view.status}`,
          );
      } catch {
        // Masks can collide across subscriptions; such a key is not checked.
      }
    }
  }
}

/** Task failures a worker restart or an update arriving mid-task causes; everything else is a bug. */
const BENIGN_TASK_FAILURES = new Set([1 /* UNHANDLED_COMMAND */, 13 /* RESET_STICKY_TASK_QUEUE */]);

function classifyError(err: unknown): SentUpdate['state'] {
  if (err instanceof WorkflowUpdateFailedError) {
    const type = (err.cause as { type?: string } | undefined)?.type;
    return type !== undefined && REJECTION_TYPE_NAMES.has(type) ? 'rejected' : 'failed';
  }
  const text = errorText(err);
  if (/already completed|not found|closed/i.test(text)) return 'closed';
  return 'failed';
}

/** The lines to print for a failing sequence, with the command that replays it. */
export function describeFailure(r: SequenceResult): string {
  return [
    `sequence seed ${r.seed} (${r.subscriptionId}) broke ${r.violations.length} invariant(s):`,
    ...r.violations.map((v) => `  - ${v.invariant}: ${v.detail}`),
    `replay: MODEL_SEED=${r.seed} MODEL_SEQUENCES=1 npx vitest run test/workflow/subscription.model.test.ts`,
    'events:',
    ...r.log.map((l) => `  ${l}`),
  ].join('\n');
}
