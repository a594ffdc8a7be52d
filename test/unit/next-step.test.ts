import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyApprovalCancelChecked,
  applyBlocked,
  applyChargeLookup,
  applyChargeOutcome,
  applyConfirmed,
  applyConfirmRejected,
  applyOrphanRefunded,
  applyPriorLookups,
  applyRegKeyRetired,
  applyReserved,
  enterConsentReapproval,
} from '../../workflows/charge-outcome.js';
import type { SubscriptionStatus } from '../../workflows/messages.js';
import { approvalDeadline, nextStep, type Step } from '../../workflows/next-step.js';
import { chargeOrderId, parseOrderId, reservationOrderId } from '../../workflows/order-id.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  acceptCancel,
  acceptCancelApproval,
  acceptConfirm,
  acceptPaymentLink,
  applyChangePlan,
  applyPause,
  applyRetryNow,
  paymentLinkSettled,
} from '../../workflows/subscription-requests.js';
import {
  dueAtIso,
  initialState,
  iso,
  MAX_RESERVATIONS_PER_CYCLE,
  openCharge,
  RESERVATION_LIFETIME_MS,
  type SubscriptionState,
} from '../../workflows/subscription-state.js';

// ---- states built the way the workflow builds them --------------------------------------------

const I = '0a1b2c3d';
const MIN = 60_000;
const DAY = 86_400_000;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const APPROVED = CREATED + 5 * MIN;
const merchant = { kind: 'merchant' } as const;
const operator = { kind: 'operator', id: 'ops-1' } as const;
let txn = 2028012000000000000n;
const nextTxn = () => (txn++).toString();

const base: SubscriptionInput = {
  subscriptionId: 'sub_n',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function pending(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  return initialState(normalizeSubscriptionInput({ ...base, ...patch }), I, CREATED);
}

function reserve(s: SubscriptionState, now: number): void {
  const kind = s.status === 'pending_approval' ? 'approval' : 'reapproval';
  const k = kind === 'approval' ? s.reservationsForCycle : s.reservationsForCycle + 1;
  applyReserved(
    s,
    kind,
    {
      orderId: reservationOrderId(s.input.subscriptionId, I, s.cycle, k),
      transactionId: nextTxn(),
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    s.plan.amount,
    now,
  );
}

function confirm(s: SubscriptionState, now: number): void {
  const r = s.reservation!;
  acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
  applyConfirmed(
    s,
    {
      outcome: 'confirmed',
      sealedRegKey: `sealed-${r.transactionId}`,
      regKeyMasked: 'RK…1234',
      transactionId: r.transactionId,
    },
    now,
  );
}

/** Approved at APPROVED: cycle 1 due one month later, regKey held. */
function active(patch: Partial<SubscriptionInput> = {}): SubscriptionState {
  const s = pending(patch);
  reserve(s, CREATED + MIN);
  confirm(s, APPROVED);
  return s;
}

const due = (s: SubscriptionState) => Date.parse(s.nextChargeAt!);

/** Active, cycle 1 opened at its due date and sent with no answer yet. */
function chargeInFlight(): SubscriptionState {
  const s = active();
  const t = due(s);
  openCharge(s, t);
  s.charge!.sent = true;
  applyChargeOutcome(s, { outcome: 'unknown', reason: 'read timeout' }, t + MIN);
  return s;
}

/** Past due after one soft decline of cycle 1. */
function pastDue(): SubscriptionState {
  const s = active();
  const t = due(s);
  openCharge(s, t);
  s.charge!.sent = true;
  applyChargeOutcome(
    s,
    { outcome: 'declined', category: 'declined_soft', returnCode: '1110', message: 'no' },
    t,
  );
  return s;
}

/** Re-approval after a hard decline of cycle 1, old key retired, earlier orders looked up. */
function reapproval(): SubscriptionState {
  const s = active();
  const t = due(s);
  openCharge(s, t);
  s.charge!.sent = true;
  applyChargeOutcome(
    s,
    { outcome: 'declined', category: 'declined_hard', returnCode: '1141', message: 'x' },
    t,
  );
  applyRegKeyRetired(s);
  applyPriorLookups(s, [{ orderId: s.priorLookup!.orderIds[0]!, result: { found: false } }], t);
  return s;
}

const SENDS: readonly Step['kind'][] = ['sendCharge', 'openCharge', 'reserve', 'consentReapproval'];

// ---- tests -------------------------------------------------------------------------------------

describe('nextStep: terminal statuses', () => {
  it.each(['canceled', 'completed', 'approval_expired', 'approval_canceled'] as const)('%s is done', (st) => {
    const s = chargeInFlight();
    s.status = st;
    s.requests.cancelNow = { actor: merchant, reason: 'x', seq: 9 };
    expect(nextStep(s, due(s) + DAY)).toEqual({ kind: 'done' });
  });
});

describe('nextStep: money owed first', () => {
  it('a refund owed comes before a cancel, a confirm and the status’s own work', () => {
    const s = pending();
    reserve(s, CREATED + MIN);
    const r = s.reservation!;
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    applyConfirmRejected(
      s,
      { outcome: 'rejected', category: 'no_regkey', message: 'no regKey' },
      CREATED + 2 * MIN,
    );
    acceptCancel(s, { actor: merchant }, CREATED + 2 * MIN);
    expect(s.requests.cancelNow!.seq).toBeGreaterThan(s.requests.confirm!.seq);
    expect(nextStep(s, CREATED + 2 * MIN)).toEqual({ kind: 'refundOrphan' });
    // Even past the approval deadline.
    expect(nextStep(s, approvalDeadline(s) + MIN)).toEqual({ kind: 'refundOrphan' });
    applyOrphanRefunded(s, { transactionId: r.transactionId }, CREATED + 3 * MIN);
    expect(nextStep(s, CREATED + 3 * MIN)).toEqual({ kind: 'done' });
  });

  it('a blocked refund waits for its timer', () => {
    const s = pending();
    reserve(s, CREATED);
    const r = s.reservation!;
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    applyConfirmRejected(s, { outcome: 'failed', message: 'timeout' }, CREATED + MIN);
    applyBlocked(s, 'refund', 'channel refused', CREATED + MIN);
    expect(nextStep(s, CREATED + 2 * MIN)).toMatchObject({ kind: 'wait', until: s.blocked!.retryAt });
    expect(nextStep(s, Date.parse(s.blocked!.retryAt))).toEqual({ kind: 'refundOrphan' });
  });
});

describe('nextStep: requests in the order they were accepted', () => {
  it('a cancel accepted before a confirm wins', () => {
    const s = pending();
    reserve(s, CREATED + MIN);
    const r = s.reservation!;
    acceptCancel(s, { actor: merchant, reason: 'changed mind' }, CREATED + 2 * MIN);
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    expect(nextStep(s, CREATED + 2 * MIN)).toEqual({
      kind: 'finishCancel',
      actor: merchant,
      reason: 'changed mind',
      effectiveAt: CREATED + 2 * MIN,
    });
  });

  it('a confirm accepted before a cancel is carried out first, then the cancel expires the new key', () => {
    const s = pending();
    reserve(s, CREATED + MIN);
    const r = s.reservation!;
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    acceptCancel(s, { actor: merchant }, CREATED + 2 * MIN);
    expect(nextStep(s, CREATED + 2 * MIN)).toEqual({ kind: 'confirm' });
    applyConfirmed(
      s,
      { outcome: 'confirmed', sealedRegKey: 'sealed', regKeyMasked: 'RK…', transactionId: r.transactionId },
      CREATED + 3 * MIN,
    );
    expect(nextStep(s, CREATED + 3 * MIN)).toMatchObject({ kind: 'retireRegKey' });
  });

  it('the same race during re-approval', () => {
    const a = reapproval();
    reserve(a, due(a) + MIN);
    const r = a.reservation!;
    acceptCancel(a, { actor: merchant }, due(a) + 2 * MIN);
    acceptConfirm(a, { transactionId: r.transactionId, orderId: r.orderId });
    expect(nextStep(a, due(a) + 2 * MIN)).toMatchObject({ kind: 'finishCancel' });

    const b = reapproval();
    reserve(b, due(b) + MIN);
    const rb = b.reservation!;
    acceptConfirm(b, { transactionId: rb.transactionId, orderId: rb.orderId });
    acceptCancel(b, { actor: merchant }, due(b) + 2 * MIN);
    expect(nextStep(b, due(b) + 2 * MIN)).toEqual({ kind: 'confirm' });
  });

  it('a confirm comes before a cancel link check and the approval deadline', () => {
    const s = pending();
    reserve(s, CREATED + MIN);
    const r = s.reservation!;
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    expect(nextStep(s, approvalDeadline(s) + 1)).toEqual({ kind: 'confirm' });
    s.requests.confirm = undefined;
    acceptCancelApproval(s);
    expect(nextStep(s, CREATED + 2 * MIN)).toEqual({ kind: 'checkApprovalCancel' });
  });
});

describe('nextStep: cancel', () => {
  it('expires the regKey before anything, then only looks the sent charge up, never sends', () => {
    const s = chargeInFlight();
    const t = Date.parse(s.charge!.since) + 10_000; // before the charge's own lookup time
    acceptCancel(s, { actor: merchant, reason: 'bye' }, t);
    expect(nextStep(s, t)).toEqual({
      kind: 'retireRegKey',
      summary: 'Expire regKey (subscription canceled)',
    });
    applyRegKeyRetired(s);
    expect(nextStep(s, t)).toEqual({ kind: 'lookupCharge', mode: 'cancel' });
    expect(applyChargeLookup(s, { found: false }, 'cancel', t)).toBe('cancel');
    expect(nextStep(s, t)).toEqual({ kind: 'finishCancel', actor: merchant, reason: 'bye', effectiveAt: t });
  });

  it('a charge opened but never sent is dropped, not sent', () => {
    const s = active();
    openCharge(s, due(s));
    acceptCancel(s, { actor: merchant }, due(s));
    expect(nextStep(s, due(s))).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(s);
    expect(nextStep(s, due(s))).toMatchObject({ kind: 'finishCancel' });
  });

  it('a charge sent again after a lookup (phase sending, sent) is looked up, not re-sent', () => {
    const s = chargeInFlight();
    const t = Date.parse(s.charge!.nextLookupAt!);
    applyChargeLookup(s, { found: false }, 'resolve', t);
    expect(nextStep(s, t)).toEqual({ kind: 'sendCharge' });
    acceptCancel(s, { actor: merchant }, t);
    applyRegKeyRetired(s);
    expect(nextStep(s, t)).toEqual({ kind: 'lookupCharge', mode: 'cancel' });
  });

  it('in past_due and re-approval it skips dunning, prior lookups and reservations', () => {
    const p = pastDue();
    const retryAt = Date.parse(p.dunning!.nextRetryAt!);
    acceptCancel(p, { actor: merchant }, retryAt);
    expect(nextStep(p, retryAt)).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(p);
    expect(nextStep(p, retryAt)).toMatchObject({ kind: 'finishCancel' });

    const r = active();
    openCharge(r, due(r));
    applyChargeOutcome(r, { outcome: 'declined', category: 'declined_hard', message: 'x' }, due(r));
    expect(r.priorLookup).toBeDefined();
    acceptCancel(r, { actor: merchant }, due(r));
    expect(nextStep(r, due(r))).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(r);
    expect(nextStep(r, due(r))).toMatchObject({ kind: 'finishCancel' });
  });

  it('at period end while past_due means no further attempts: canceled now', () => {
    const s = pastDue();
    const t = Date.parse(s.dunning!.nextRetryAt!) - MIN;
    expect(acceptCancel(s, { actor: merchant, atPeriodEnd: true, reason: 'stop' }, t)).toBeUndefined();
    expect(s.cancelAt).toBeUndefined();
    applyRegKeyRetired(s);
    expect(nextStep(s, t)).toEqual({
      kind: 'finishCancel',
      actor: merchant,
      reason: 'stop (at period end while past_due: no further attempts)',
      effectiveAt: t,
    });
  });

  it('property: once a cancel is accepted, nothing new is sent and the regKey goes first', () => {
    const statusArb = fc.constantFrom<SubscriptionStatus>(
      'pending_approval',
      'active',
      'past_due',
      'paused',
      'reapproval_required',
    );
    const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const offset = fc.integer({ min: -40 * DAY, max: 40 * DAY });
    const arb = fc.record({
      status: statusArb,
      regKey: fc.boolean(),
      retire: fc.boolean(),
      charge: opt(
        fc.record({
          phase: fc.constantFrom('sending' as const, 'unknown' as const, 'order_used' as const),
          sent: fc.boolean(),
          lookupAt: opt(offset),
        }),
      ),
      dunningAt: opt(offset),
      retryNow: fc.boolean(),
      reservationWanted: fc.boolean(),
      reservation: opt(offset),
      reservations: fc.integer({ min: 0, max: MAX_RESERVATIONS_PER_CYCLE }),
      cancelAt: opt(offset),
      resumeAt: opt(offset),
      consent: fc.boolean(),
      maxCyclesReached: fc.boolean(),
      blocked: opt(
        fc.record({
          step: fc.constantFrom(
            'charge',
            'lookupCharge',
            'expireRegKey',
            'reserve',
            'lookupPriors',
            'refund',
          ),
          retryAt: offset,
        }),
      ),
      priors: fc.boolean(),
      confirmFirst: opt(fc.boolean()),
      approvalCancel: fc.boolean(),
      now: offset,
    });
    const templates = { open: active(), fixedTerm: active({ maxCycles: 1 }) };
    fc.assert(
      fc.property(arb, (g) => {
        const s = structuredClone(g.maxCyclesReached ? templates.fixedTerm : templates.open);
        const t0 = due(s);
        const at = (o: number) => iso(t0 + o);
        s.status = g.status;
        if (!g.regKey) s.sealedRegKey = undefined;
        s.retireRegKey = g.retire && g.regKey;
        if (g.charge) {
          openCharge(s, t0);
          s.charge!.phase = g.charge.phase;
          s.charge!.sent = g.charge.sent;
          s.charge!.nextLookupAt = g.charge.lookupAt === undefined ? undefined : at(g.charge.lookupAt);
        }
        if (g.dunningAt !== undefined)
          s.dunning = { cycle: s.cycle, declines: 1, firstDeclineAt: at(-DAY), nextRetryAt: at(g.dunningAt) };
        s.requests.retryNow = g.retryNow || undefined;
        s.requests.reservationWanted = g.reservationWanted || undefined;
        if (g.reservation !== undefined) reserve(s, t0 + g.reservation - RESERVATION_LIFETIME_MS / 2);
        s.reservationsForCycle = g.reservations;
        s.reapprovalDeadline = at(7 * DAY);
        s.cancelAt = g.cancelAt === undefined ? undefined : at(g.cancelAt);
        s.resumeAt = g.resumeAt === undefined ? undefined : at(g.resumeAt);
        if (g.consent)
          s.pendingPlanChange = {
            amount: 9000,
            productName: 'Big',
            effectiveCycle: s.cycle,
            needsConsent: true,
          };
        if (g.blocked)
          s.blocked = {
            step: g.blocked.step,
            since: at(-DAY),
            retryAt: at(g.blocked.retryAt),
            attempts: 1,
            message: 'x',
          };
        if (g.priors)
          s.priorLookup = { cycle: s.cycle, orderIds: [chargeOrderId('sub_n', I, s.cycle, 0)], amount: 390 };
        if (g.approvalCancel) s.requests.approvalCancel = { transactionId: '1', seq: 50 };
        s.requests.seq = 100;
        s.requests.cancelNow = { actor: merchant, reason: 'stop', seq: 100 };
        if (g.confirmFirst !== undefined && s.reservation) {
          s.requests.confirm = {
            transactionId: s.reservation.transactionId,
            orderId: s.reservation.orderId,
            reservation: s.reservation,
            seq: g.confirmFirst ? 99 : 101,
          };
        }
        const now = t0 + g.now;
        const step = nextStep(s, now);
        expect(SENDS).not.toContain(step.kind);
        expect(step.kind).not.toBe('checkApprovalCancel');
        expect(step.kind).not.toBe('lookupPriors');
        if (step.kind === 'confirm') expect(g.confirmFirst).toBe(true);
        if (step.kind === 'lookupCharge') {
          expect(step.mode).toBe('cancel');
          expect(s.sealedRegKey).toBeUndefined();
        }
        if (step.kind === 'finishCancel') {
          expect(s.sealedRegKey).toBeUndefined();
          expect(s.charge?.sent ?? false).toBe(false);
        }
        if (s.sealedRegKey !== undefined && step.kind !== 'confirm' && step.kind !== 'wait')
          expect(step.kind).toBe('retireRegKey');
        if (step.kind === 'wait') {
          // Only the blocked expire (or a blocked lookup while canceling) holds a cancel back.
          expect(s.blocked).toBeDefined();
          expect(now).toBeLessThan(Date.parse(s.blocked!.retryAt));
          expect(['expireRegKey', 'lookupCharge']).toContain(s.blocked!.step);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('nextStep: blocked steps', () => {
  function blockedCharge(): SubscriptionState {
    const s = active();
    openCharge(s, due(s));
    applyChargeOutcome(
      s,
      { outcome: 'merchant_config', returnCode: '1106', message: 'header error' },
      due(s),
    );
    return s;
  }

  it('wait on their retry timer, then retry the same orderId', () => {
    const s = blockedCharge();
    const orderId = s.charge!.orderId;
    const retryAt = s.blocked!.retryAt;
    expect(nextStep(s, due(s) + MIN)).toEqual({
      kind: 'wait',
      until: retryAt,
      summary: `Blocked (charge): retry at ${retryAt}`,
    });
    expect(nextStep(s, Date.parse(retryAt))).toEqual({ kind: 'sendCharge' });
    expect(s.charge!.orderId).toBe(orderId);
  });

  it('a cancel interrupts a blocked charge', () => {
    const s = blockedCharge();
    acceptCancel(s, { actor: merchant }, due(s) + MIN);
    expect(nextStep(s, due(s) + MIN)).toMatchObject({ kind: 'retireRegKey' });
  });

  it('a cancel does not interrupt a blocked expire: the regKey must go first', () => {
    const s = chargeInFlight();
    acceptCancel(s, { actor: merchant }, due(s) + 2 * MIN);
    applyBlocked(s, 'expireRegKey', 'channel refused', due(s) + 2 * MIN);
    const retryAt = s.blocked!.retryAt;
    expect(nextStep(s, due(s) + 3 * MIN)).toMatchObject({ kind: 'wait', until: retryAt });
    expect(nextStep(s, Date.parse(retryAt))).toMatchObject({ kind: 'retireRegKey' });
  });

  it('steps that do not call LINE Pay go ahead while blocked', () => {
    const s = pending();
    applyBlocked(s, 'reserve', 'channel refused', CREATED);
    expect(nextStep(s, CREATED + MIN)).toMatchObject({ kind: 'wait', until: s.blocked!.retryAt });
    expect(nextStep(s, approvalDeadline(s))).toEqual({ kind: 'expireApproval' });
  });
});

describe('nextStep: cancel at period end', () => {
  it('while active waits until cancelAt instead of charging, then expires the key and cancels as of cancelAt', () => {
    const s = active();
    const t = due(s) - 10 * DAY;
    expect(acceptCancel(s, { actor: merchant, atPeriodEnd: true, reason: 'moving' }, t)).toBe(s.nextChargeAt);
    expect(nextStep(s, t)).toEqual({
      kind: 'wait',
      until: s.cancelAt,
      summary: `Cancel at period end (${s.cancelAt})`,
      idle: true,
    });
    expect(nextStep(s, due(s))).toEqual({
      kind: 'retireRegKey',
      summary: 'Expire regKey (canceled at period end)',
    });
    applyRegKeyRetired(s);
    expect(nextStep(s, due(s) + 5 * MIN)).toEqual({
      kind: 'finishCancel',
      actor: merchant,
      reason: 'moving',
      effectiveAt: due(s),
    });
  });

  it('while paused: the earlier of cancelAt and resumeAt comes first', () => {
    const s = active();
    const t = due(s) - 10 * DAY;
    applyPause(s, { actor: merchant, resumeAt: iso(due(s) + 5 * DAY) }, t);
    acceptCancel(s, { actor: merchant, atPeriodEnd: true }, t);
    expect(s.status).toBe('paused');
    expect(nextStep(s, t)).toMatchObject({ kind: 'wait', until: s.cancelAt });
    expect(nextStep(s, due(s))).toMatchObject({ kind: 'retireRegKey' });

    const r = active();
    applyPause(r, { actor: merchant, resumeAt: iso(due(r) - 2 * DAY) }, t);
    acceptCancel(r, { actor: merchant, atPeriodEnd: true }, t);
    expect(nextStep(r, t)).toMatchObject({ kind: 'wait', until: r.resumeAt });
    expect(nextStep(r, due(r) - 2 * DAY)).toEqual({ kind: 'resume' });

    const forever = active();
    applyPause(forever, { actor: merchant }, t);
    expect(nextStep(forever, t + 400 * DAY)).toEqual({
      kind: 'wait',
      until: undefined,
      summary: 'Paused until resumed',
      idle: true,
    });
  });

  // Was a bug: cancelAt became the open charge's own (past) due date. The period that ends is the one
  // that charge pays for, so the charge goes on and the cancel falls at the next due date.
  it('accepted while a charge is open but unsent: the period it pays for ends at the next due date', () => {
    const s = active();
    openCharge(s, due(s));
    applyChargeOutcome(s, { outcome: 'merchant_config', returnCode: '1106', message: 'x' }, due(s));
    acceptCancel(s, { actor: merchant, atPeriodEnd: true }, due(s) + MIN);
    expect(s.cancelAt).toBe(dueAtIso(s, s.cycle + 1));
    expect(nextStep(s, Date.parse(s.blocked!.retryAt)).kind).toBe('sendCharge');
  });

  // BUG (same root): the charge of cycle n is found paid, then the subscription cancels at once,
  // backdated to cycle n's due date: the customer paid for a period that is canceled as of its start.
  it('accepted while a charge is in flight: a paid cycle is not canceled as of its own start', () => {
    const s = chargeInFlight();
    const t = Date.parse(s.charge!.nextLookupAt!);
    acceptCancel(s, { actor: merchant, atPeriodEnd: true }, t - 10_000);
    expect(applyChargeLookup(s, { found: true, transactionId: nextTxn() }, 'resolve', t)).toBe('advance');
    expect(s.paidCycles).toBe(2);
    const step = nextStep(s, t);
    expect(step).toMatchObject({ kind: 'wait' });
  });

  // BUG (same root): the charge in flight is soft-declined; past_due ignores cancelAt, so dunning
  // retries charge the card after the cancel date (defect 3 of issue 8).
  it('accepted while a charge is in flight: a decline does not start dunning retries', () => {
    const s = chargeInFlight();
    acceptCancel(s, { actor: merchant, atPeriodEnd: true }, due(s) + 2 * MIN);
    const t = Date.parse(s.charge!.nextLookupAt!);
    s.charge!.phase = 'sending';
    applyChargeOutcome(s, { outcome: 'declined', category: 'declined_soft', message: 'no' }, t);
    expect(s.status).toBe('past_due');
    const step = nextStep(s, Date.parse(s.dunning!.nextRetryAt!));
    expect(step.kind).not.toBe('openCharge');
  });
});

describe('nextStep: past_due', () => {
  it('waits for the dunning offset; retryNow opens the next attempt at once, after the earlier orders', () => {
    const s = pastDue();
    const retryAt = s.dunning!.nextRetryAt!;
    const t = Date.parse(retryAt) - 12 * 60 * MIN;
    expect(nextStep(s, t)).toEqual({
      kind: 'wait',
      until: retryAt,
      summary: 'Dunning retry 1 of cycle 1',
      idle: true,
    });
    expect(nextStep(s, Date.parse(retryAt))).toEqual({ kind: 'openCharge' });
    applyRetryNow(s, { actor: operator }, t);
    expect(nextStep(s, t)).toEqual({ kind: 'openCharge' });
    const c = openCharge(s, t);
    expect(parseOrderId(c.orderId)).toMatchObject({ cycle: 1, kind: 'charge', n: 1 });
    expect(s.requests.retryNow).toBeUndefined();
    expect(nextStep(s, t)).toEqual({ kind: 'lookupPriors' });
    applyPriorLookups(s, [{ orderId: s.priorLookup!.orderIds[0]!, result: { found: false } }], t);
    expect(nextStep(s, t)).toEqual({ kind: 'sendCharge' });
  });

  it('an exhausted schedule cancels with payment_failed after expiring the key', () => {
    const s = active({ dunningSchedule: ['P1D'] });
    openCharge(s, due(s));
    applyChargeOutcome(s, { outcome: 'declined', category: 'declined_soft', message: 'no' }, due(s));
    const t = Date.parse(s.dunning!.nextRetryAt!);
    openCharge(s, t);
    applyPriorLookups(s, [], t);
    expect(applyChargeOutcome(s, { outcome: 'declined', category: 'declined_soft', message: 'no' }, t)).toBe(
      'cancel',
    );
    expect(nextStep(s, t)).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(s);
    expect(nextStep(s, t)).toEqual({
      kind: 'finishCancel',
      actor: { kind: 'system' },
      reason: 'payment_failed',
      effectiveAt: t,
    });
  });
});

describe('nextStep: active', () => {
  it('sleeps until the due date, then opens the charge, then sends it', () => {
    const s = active();
    expect(nextStep(s, APPROVED)).toEqual({
      kind: 'wait',
      until: s.nextChargeAt,
      summary: 'Sleep until cycle 1 is due',
      idle: true,
    });
    expect(nextStep(s, due(s))).toEqual({ kind: 'openCharge' });
    openCharge(s, due(s));
    expect(nextStep(s, due(s))).toEqual({ kind: 'sendCharge' });
  });

  it('an unknown outcome waits for its lookup time, then looks up', () => {
    const s = chargeInFlight();
    const at = s.charge!.nextLookupAt!;
    expect(nextStep(s, Date.parse(at) - 1)).toMatchObject({ kind: 'wait', until: at });
    expect(nextStep(s, Date.parse(at))).toEqual({ kind: 'lookupCharge', mode: 'resolve' });
  });

  it('maxCycles paid: expire the regKey, then complete', () => {
    const s = active({ maxCycles: 2 });
    openCharge(s, due(s));
    const t = due(s);
    applyChargeOutcome(s, { outcome: 'charged', transactionId: nextTxn(), recovered: false }, t);
    expect(s.paidCycles).toBe(2);
    expect(nextStep(s, t)).toEqual({ kind: 'retireRegKey', summary: 'Expire regKey (fixed term complete)' });
    applyRegKeyRetired(s);
    expect(nextStep(s, t)).toEqual({ kind: 'complete' });
  });

  it('a plan increase above the consent share goes to re-approval at its cycle, a small one is just charged', () => {
    const s = active();
    applyChangePlan(s, { actor: merchant, amount: 500 }, APPROVED + DAY); // +28%
    expect(s.pendingPlanChange).toMatchObject({ amount: 500, effectiveCycle: 1, needsConsent: true });
    expect(nextStep(s, APPROVED + DAY)).toMatchObject({ kind: 'wait', until: s.nextChargeAt });
    expect(nextStep(s, due(s))).toEqual({ kind: 'consentReapproval' });
    enterConsentReapproval(s, due(s));
    expect(s.status).toBe('reapproval_required');
    expect(s.plan.amount).toBe(500);
    expect(nextStep(s, due(s))).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(s);
    expect(nextStep(s, due(s))).toEqual({ kind: 'reserve', reservation: 'reapproval' });

    const small = active();
    applyChangePlan(small, { actor: merchant, amount: 468 }, APPROVED + DAY); // exactly +20%
    expect(small.pendingPlanChange?.needsConsent).toBeUndefined();
    expect(nextStep(small, due(small))).toEqual({ kind: 'openCharge' });
    expect(openCharge(small, due(small)).amount).toBe(468);
  });
});

describe('nextStep: approval', () => {
  it('reserves the first link, waits, and expires at the approval deadline', () => {
    const s = pending({ approvalTimeout: 'PT2H' });
    expect(nextStep(s, CREATED)).toEqual({ kind: 'reserve', reservation: 'approval' });
    reserve(s, CREATED);
    const deadline = approvalDeadline(s);
    expect(deadline).toBe(CREATED + 120 * MIN);
    // Check-payment-request-status polls while the link is fresh (approval-poll.ts), then the deadline.
    expect(nextStep(s, CREATED + 10_000)).toEqual({
      kind: 'wait',
      until: iso(CREATED + 20_000),
      summary: 'Ask LINE Pay whether the customer approved',
    });
    expect(nextStep(s, CREATED + MIN)).toEqual({ kind: 'pollApproval' });
    expect(nextStep(s, CREATED + RESERVATION_LIFETIME_MS)).toEqual({
      kind: 'wait',
      until: iso(deadline),
      summary: 'Wait for customer approval',
    });
    expect(nextStep(s, deadline)).toEqual({ kind: 'expireApproval' });
  });

  it('renews a lapsed link only when asked, and at most MAX_RESERVATIONS_PER_CYCLE times', () => {
    const s = pending({ approvalTimeout: 'PT6H' });
    reserve(s, CREATED);
    const lapsed = CREATED + RESERVATION_LIFETIME_MS + MIN;
    expect(nextStep(s, lapsed)).toMatchObject({ kind: 'wait' });
    acceptPaymentLink(s, lapsed);
    expect(s.requests.reservationWanted).toBe(true);
    expect(paymentLinkSettled(s, lapsed)).toBe(false);
    expect(nextStep(s, lapsed)).toEqual({ kind: 'reserve', reservation: 'approval' });
    reserve(s, lapsed);
    expect(paymentLinkSettled(s, lapsed)).toBe(true);
    // Asked while the link is still fresh: nothing to renew.
    acceptPaymentLink(s, lapsed + MIN);
    expect(s.requests.reservationWanted).toBeUndefined();
    expect(nextStep(s, lapsed + 10_000)).toMatchObject({ kind: 'wait' });

    let t = lapsed;
    while (s.reservationsForCycle < MAX_RESERVATIONS_PER_CYCLE) {
      t += RESERVATION_LIFETIME_MS + MIN;
      acceptPaymentLink(s, t);
      expect(nextStep(s, t)).toEqual({ kind: 'reserve', reservation: 'approval' });
      reserve(s, t);
    }
    t += RESERVATION_LIFETIME_MS + MIN;
    acceptPaymentLink(s, t);
    s.requests.reservationWanted = true;
    expect(nextStep(s, t)).toMatchObject({ kind: 'wait' });
    expect(s.reservationsForCycle).toBe(MAX_RESERVATIONS_PER_CYCLE);
  });

  it('re-approval: retire the old key, look up earlier orders, reserve, then wait for the deadline', () => {
    const s = active();
    openCharge(s, due(s));
    applyChargeOutcome(s, { outcome: 'declined', category: 'declined_hard', message: 'x' }, due(s));
    expect(nextStep(s, due(s))).toMatchObject({ kind: 'retireRegKey' });
    applyRegKeyRetired(s);
    expect(nextStep(s, due(s))).toEqual({ kind: 'lookupPriors' });
    applyPriorLookups(s, [], due(s));
    expect(nextStep(s, due(s))).toEqual({ kind: 'reserve', reservation: 'reapproval' });
    reserve(s, due(s));
    expect(parseOrderId(s.reservation!.orderId)).toMatchObject({ cycle: 1, kind: 'reservation', n: 1 });
    expect(nextStep(s, due(s) + MIN)).toEqual({ kind: 'pollApproval' });
    expect(nextStep(s, due(s) + RESERVATION_LIFETIME_MS)).toEqual({
      kind: 'wait',
      until: s.reapprovalDeadline,
      summary: 'Wait for customer re-approval',
    });
    expect(nextStep(s, Date.parse(s.reapprovalDeadline!))).toEqual({ kind: 'expireReapproval' });
  });

  it('re-approval: a confirmed cancel link does not reserve again by itself', () => {
    const s = reapproval();
    reserve(s, due(s));
    acceptCancelApproval(s);
    expect(nextStep(s, due(s) + MIN)).toEqual({ kind: 'checkApprovalCancel' });
    applyApprovalCancelChecked(s, { status: 'canceled_or_expired' }, due(s) + MIN);
    expect(s.status).toBe('reapproval_required');
    expect(s.reservation).toBeUndefined();
    expect(nextStep(s, due(s) + MIN)).toMatchObject({ kind: 'wait', until: s.reapprovalDeadline });
  });

  // BUG (subscription-requests.ts acceptPaymentLink): it asks for a reservation only when one exists
  // and lapsed. After a canceled re-approval link (or a failed re-approval Confirm) there is none and
  // reservationsForCycle > 0, so neither nextStep nor paymentLinkSettled ever moves: the paymentLink
  // update hangs until the re-approval deadline and the customer can never approve again.
  it('re-approval: the next paymentLink after a canceled link reserves again', () => {
    const s = reapproval();
    reserve(s, due(s));
    acceptCancelApproval(s);
    applyApprovalCancelChecked(s, { status: 'canceled_or_expired' }, due(s) + MIN);
    acceptPaymentLink(s, due(s) + 2 * MIN);
    expect(nextStep(s, due(s) + 2 * MIN)).toEqual({ kind: 'reserve', reservation: 'reapproval' });
  });

  // BUG (same): after a failed re-approval Confirm (refunded), the docs say "the customer can still
  // approve a new link", but the next paymentLink never gets one.
  it('re-approval: the next paymentLink after a failed Confirm reserves again', () => {
    const s = reapproval();
    reserve(s, due(s));
    const r = s.reservation!;
    acceptConfirm(s, { transactionId: r.transactionId, orderId: r.orderId });
    applyConfirmRejected(s, { outcome: 'rejected', category: 'no_regkey', message: 'x' }, due(s) + MIN);
    applyOrphanRefunded(s, { transactionId: r.transactionId }, due(s) + MIN);
    expect(s.status).toBe('reapproval_required');
    acceptPaymentLink(s, due(s) + 2 * MIN);
    const settled = paymentLinkSettled(s, due(s) + 2 * MIN);
    const step = nextStep(s, due(s) + 2 * MIN);
    expect(settled || step.kind === 'reserve').toBe(true);
    expect(step).toEqual({ kind: 'reserve', reservation: 'reapproval' });
  });
});

describe('idle waits (the workflow may continue-as-new during them)', () => {
  it('are the waits nothing is expected soon in; a blocked retry, an approval or an open charge is not', () => {
    const s = active();
    expect(nextStep(s, APPROVED)).toMatchObject({ kind: 'wait', idle: true });
    expect(nextStep(pastDue(), Date.parse(pastDue().dunning!.nextRetryAt!) - MIN)).toMatchObject({
      kind: 'wait',
      idle: true,
    });
    const blocked = active();
    openCharge(blocked, due(blocked));
    applyChargeOutcome(
      blocked,
      { outcome: 'merchant_config', returnCode: '1106', message: 'header error' },
      due(blocked),
    );
    expect(nextStep(blocked, due(blocked) + MIN)).toMatchObject({ kind: 'wait' });
    expect(nextStep(blocked, due(blocked) + MIN)).not.toHaveProperty('idle');
    const charging = active();
    openCharge(charging, due(charging));
    charging.charge!.phase = 'unknown';
    charging.charge!.sent = true;
    charging.charge!.nextLookupAt = iso(due(charging) + 10 * MIN);
    expect(nextStep(charging, due(charging) + MIN)).toMatchObject({ kind: 'wait' });
    expect(nextStep(charging, due(charging) + MIN)).not.toHaveProperty('idle');
  });
});
