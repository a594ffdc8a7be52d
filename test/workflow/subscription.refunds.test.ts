import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RefundRefusedError } from '../../client/errors.js';
import { createApp } from '../../client/http/app.js';
import { createSubscriptionsClient } from '../../client/subscriptions-client.js';
import {
  cancelUpdate,
  type RefundChargeInput,
  type RefundChargeResult,
  refundChargeUpdate,
} from '../../workflows/messages.js';
import {
  type Harness,
  rejectionOf,
  type SubscriptionHandle,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('refunds');

type ErrorBody = { error: { code: string; details: Record<string, unknown> } };

const merchant = { kind: 'merchant' as const, id: 'backend' };
let seq = 0;

function refund(
  handle: SubscriptionHandle,
  transactionId: string,
  extra: Partial<RefundChargeInput> = {},
): Promise<RefundChargeResult> {
  seq += 1;
  const input: RefundChargeInput = {
    actor: merchant,
    requestId: `refund-${seq}`,
    transactionId,
    reason: 'customer asked',
    ...extra,
  };
  return handle.executeUpdate(refundChargeUpdate, { args: [input], updateId: `refund-${input.requestId}` });
}

/** Refund calls the sandbox saw for one payment. */
function refundCallsOf(h: Harness, transactionId: string) {
  return h.sandbox.control.requests().filter((r) => r.path.endsWith(`/payments/${transactionId}/refund`));
}

function refundsAtSandbox(h: Harness, transactionId: string) {
  return h.sandbox.control.ledger().filter((e) => e.kind === 'refund' && e.transactionId === transactionId);
}

async function activeWithCharge(overrides: Parameters<typeof subscriptionInput>[0] = {}) {
  const input = subscriptionInput({ interval: 'P1M', ...overrides });
  const handle = await startActiveSubscription(t.h, input);
  const v = await state(handle);
  const charge = v.charges[0]!;
  return { input, handle, charge };
}

function refundedEvents(subscriptionId: string) {
  const byId = new Map(
    t.h.recordedEvents
      .filter((e) => e.subscriptionId === subscriptionId && e.type === 'charge.refunded')
      .map((e) => [e.id, e]),
  );
  return [...byId.values()].sort((a, b) => a.sequence - b.sequence);
}

/** Refund requests the workflow accepted (its handler audits each): a validator's rejection leaves none. */
async function acceptedRefunds(handle: SubscriptionHandle): Promise<string[]> {
  return (await state(handle)).audit.filter((a) => / requested: /.test(a.reason)).map((a) => a.reason);
}

describe('refundCharge', () => {
  it('a full refund gives the whole charge back, shows in the charge record and raises charge.refunded', async () => {
    const { input, handle, charge } = await activeWithCharge();
    const r = await refund(handle, charge.transactionId, { requestId: 'full-1', reason: 'duplicate order' });
    expect(r).toMatchObject({
      transactionId: charge.transactionId,
      orderId: charge.orderId,
      cycle: 0,
      amount: 390,
      currency: 'TWD',
      remaining: 0,
      recovered: false,
    });
    expect(r.refundTransactionId).toMatch(/^\d{19}$/);

    const atSandbox = refundsAtSandbox(t.h, charge.transactionId);
    expect(atSandbox.map((e) => [e.refundTransactionId, e.amount])).toEqual([[r.refundTransactionId, 390]]);

    const v = await state(handle);
    expect(v.status).toBe('active');
    expect(v.totalRefunded).toBe(390);
    const record = v.charges.find((c) => c.transactionId === charge.transactionId)!;
    expect(record.refundedAmount).toBe(390);
    expect(record.refunds).toEqual([
      expect.objectContaining({
        requestId: 'full-1',
        refundTransactionId: r.refundTransactionId,
        amount: 390,
        reason: 'duplicate order',
        recovered: false,
      }),
    ]);
    expect(v.audit.some((a) => a.reason.includes(`refunded 390 TWD of charge ${charge.transactionId}`))).toBe(
      true,
    );

    await skipUntil(t.h, handle, () => refundedEvents(input.subscriptionId).length > 0, '1 second', 50);
    expect(refundedEvents(input.subscriptionId).map((e) => e.data)).toEqual([
      expect.objectContaining({
        cycle: 0,
        orderId: charge.orderId,
        transactionId: charge.transactionId,
        refundTransactionId: r.refundTransactionId,
        amount: 390,
        currency: 'TWD',
        remaining: 0,
        kind: 'refund',
        status: 'refunded',
      }),
    ]);

    // Nothing left: refused by the validator, with no trace in history.
    const again = await rejectionOf(refund(handle, charge.transactionId, { requestId: 'full-2' }));
    expect(again.type).toBe('RefundRefused');
    expect(again.message).toMatch(/nothing left to refund/);
    expect(await acceptedRefunds(handle)).toEqual([
      `full refund of charge ${charge.transactionId} requested: duplicate order`,
    ]);
    expect(refundCallsOf(t.h, charge.transactionId)).toHaveLength(1);
  });

  it('partial refunds up to the remainder; one more than what is left is refused before history', async () => {
    const { handle, charge } = await activeWithCharge();
    const a = await refund(handle, charge.transactionId, { amount: 100 });
    const b = await refund(handle, charge.transactionId, { amount: 200 });
    expect([a.remaining, b.remaining]).toEqual([290, 90]);

    const over = await rejectionOf(
      refund(handle, charge.transactionId, { amount: 91, requestId: 'over-91' }),
    );
    expect(over.type).toBe('RefundRefused');
    expect(over.message).toBe(
      `amount: 91 TWD exceeds the 90 TWD left to refund on charge ${charge.transactionId}`,
    );
    expect(await acceptedRefunds(handle)).toEqual([
      `refund of 100 of charge ${charge.transactionId} requested: customer asked`,
      `refund of 200 of charge ${charge.transactionId} requested: customer asked`,
    ]);

    const c = await refund(handle, charge.transactionId, { amount: 90 });
    expect(c.remaining).toBe(0);
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([100, 200, 90]);
    const record = (await state(handle)).charges.find((x) => x.transactionId === charge.transactionId)!;
    expect(record.refunds?.map((x) => x.amount)).toEqual([100, 200, 90]);
    expect(record.refundedAmount).toBe(390);
  });

  it('bad fields are refused by the validator, naming the field', async () => {
    const { handle, charge } = await activeWithCharge();
    const cases: [Partial<RefundChargeInput>, string][] = [
      [{ amount: 0 }, 'amount'],
      [{ amount: 1.5 }, 'amount'],
      [{ reason: '' }, 'reason'],
      [{ transactionId: 'abc' }, 'transactionId'],
      [{ requestId: '' }, 'requestId'],
    ];
    for (const [extra, field] of cases) {
      const r = await rejectionOf(refund(handle, charge.transactionId, extra));
      expect(r.type).toBe('InvalidRequest');
      expect(r.message.startsWith(`${field}:`)).toBe(true);
    }
    expect(refundCallsOf(t.h, charge.transactionId)).toHaveLength(0);
  });

  it('the same requestId twice refunds once, in sequence and at the same time', async () => {
    const { handle, charge } = await activeWithCharge();
    const first = await refund(handle, charge.transactionId, { requestId: 'same-key', amount: 50 });
    // A retry under a new update id (a new HTTP call, or after continue-as-new): the workflow's own answer.
    const again = await handle.executeUpdate(refundChargeUpdate, {
      args: [
        {
          actor: merchant,
          requestId: 'same-key',
          transactionId: charge.transactionId,
          amount: 50,
          reason: 'x',
        },
      ],
      updateId: 'same-key-retry',
    });
    expect(again).toEqual(first);
    // Sent at once under two update ids (as two HTTP services would): still one refund.
    const input: RefundChargeInput = {
      actor: merchant,
      requestId: 'together',
      transactionId: charge.transactionId,
      amount: 60,
      reason: 'twice',
    };
    const [x, y] = await Promise.all([
      handle.executeUpdate(refundChargeUpdate, { args: [input], updateId: 'together-a' }),
      handle.executeUpdate(refundChargeUpdate, { args: [input], updateId: 'together-b' }),
    ]);
    expect(x).toEqual(y);
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([50, 60]);
    expect(refundCallsOf(t.h, charge.transactionId)).toHaveLength(2);
    // The key belongs to that refund: reused for another charge (under another update id, so the
    // validator sees it rather than Temporal's update dedup) it is a conflict.
    const other = await rejectionOf(
      handle.executeUpdate(refundChargeUpdate, {
        args: [{ ...input, requestId: 'same-key', transactionId: '1234567890123456789' }],
        updateId: 'same-key-other-charge',
      }),
    );
    expect(other.type).toBe('SubscriptionConflict');
  });

  it('refund committed at LINE Pay but answered 9000: settled by the refundList lookup, never sent twice', async () => {
    const { handle, charge } = await activeWithCharge();
    t.h.sandbox.control.addFault({
      api: 'refund',
      match: { transactionId: charge.transactionId },
      times: 1,
      action: { kind: 'error_after_commit', code: '9000' },
    });
    const r = await refund(handle, charge.transactionId, { amount: 120 });
    expect(r).toMatchObject({ amount: 120, remaining: 270, recovered: true });
    const atSandbox = refundsAtSandbox(t.h, charge.transactionId);
    expect(atSandbox.map((e) => [e.refundTransactionId, e.amount])).toEqual([[r.refundTransactionId, 120]]);
    expect(refundCallsOf(t.h, charge.transactionId).map((c) => c.returnCode)).toEqual(['9000']);
  });

  it('refund whose connection drops after commit: recovered by lookup, one refund', async () => {
    const { handle, charge } = await activeWithCharge();
    t.h.sandbox.control.addFault({
      api: 'refund',
      match: { transactionId: charge.transactionId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    const r = await refund(handle, charge.transactionId);
    expect(r).toMatchObject({ amount: 390, remaining: 0, recovered: true });
    expect(refundsAtSandbox(t.h, charge.transactionId)).toHaveLength(1);
    expect(refundCallsOf(t.h, charge.transactionId)).toHaveLength(1);
  });

  it('an ambiguous answer that did not refund: the workflow waits, looks up, finds nothing new, sends once more', async () => {
    const { input, handle, charge } = await activeWithCharge();
    t.h.sandbox.control.addFault({
      api: 'refund',
      match: { transactionId: charge.transactionId },
      times: 1,
      action: { kind: 'return_code', code: '9000' },
    });
    const pending = refund(handle, charge.transactionId, { amount: 70 });
    // The workflow's lookup waits on a timer: let workflow time pass until the refund settles.
    const v = await skipUntil(t.h, handle, (s) => s.totalRefunded === 70, '10 seconds', 60);
    const r = await pending;
    expect(r).toMatchObject({ amount: 70, remaining: 320, recovered: false });
    expect(refundCallsOf(t.h, charge.transactionId).map((c) => c.returnCode)).toEqual(['9000', '0000']);
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([70]);
    expect(v.charges[0]!.refunds?.map((x) => x.refundTransactionId)).toEqual([r.refundTransactionId]);
    await skipUntil(t.h, handle, () => refundedEvents(input.subscriptionId).length > 0, '1 second', 50);
    expect(refundedEvents(input.subscriptionId)).toHaveLength(1);
  });

  it("another subscription's transactionId is not a charge of this one", async () => {
    const a = await activeWithCharge();
    const b = await activeWithCharge();
    const r = await rejectionOf(refund(a.handle, b.charge.transactionId));
    expect(r.type).toBe('RefundRefused');
    expect(r.message).toMatch(/not a charge of this subscription/);
    expect(refundCallsOf(t.h, b.charge.transactionId)).toHaveLength(0);
  });

  it('a charge older than the state keeps is refunded through Payment Details (and refused above what is left)', async () => {
    const { input, handle, charge } = await activeWithCharge({ interval: 'PT1H' });
    // The workflow keeps the last 24 charges: after 25 more, the approval charge is only at LINE Pay.
    const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 26, '1 hour', 60);
    expect(v.charges.some((c) => c.transactionId === charge.transactionId)).toBe(false);

    const over = handle.executeUpdate(refundChargeUpdate, {
      args: [
        {
          actor: merchant,
          requestId: 'old-over',
          transactionId: charge.transactionId,
          amount: 391,
          reason: 'x',
        },
      ],
    });
    const refused = await rejectionOf(over);
    expect(refused.type).toBe('RefundRefused');
    expect(refused.message).toMatch(/exceeds the 390 TWD left/);

    const r = await refund(handle, charge.transactionId, { amount: 90 });
    expect(r).toMatchObject({ orderId: charge.orderId, amount: 90, remaining: 300, recovered: false });
    expect(r.cycle).toBeUndefined();
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([90]);
    await skipUntil(t.h, handle, () => refundedEvents(input.subscriptionId).length > 0, '1 second', 50);
    expect(refundedEvents(input.subscriptionId)[0]!.data).toMatchObject({
      cycle: null,
      transactionId: charge.transactionId,
      refundTransactionId: r.refundTransactionId,
      remaining: 300,
    });
  });
});

describe('refunds through the client library and the HTTP API', () => {
  it('over-refund: RefundRefusedError in the library, 422 refund_exceeds_remaining over HTTP', async () => {
    const { input, charge } = await activeWithCharge();
    const subs = createSubscriptionsClient({
      client: t.h.client,
      taskQueue: t.h.taskQueue,
      publicBaseUrl: 'https://merchant.example',
    });
    const err = await subs
      .refundCharge(input.subscriptionId, {
        transactionId: charge.transactionId,
        amount: 391,
        reason: 'too much',
        requestId: 'lib-over',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefundRefusedError);
    expect(err).toMatchObject({ code: 'refund_exceeds_remaining', remaining: 390 });

    const app = createApp({ subscriptions: subs, apiToken: 'tok', callbackSigningKeys: [randomBytes(32)] });
    const post = (body: unknown, key?: string) =>
      app.request(`/subscriptions/${input.subscriptionId}/charges/${charge.transactionId}/refund`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer tok',
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify(body),
      });
    const res = await post({ amount: 391, reason: 'too much' }, 'http-over');
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      error: { code: 'refund_exceeds_remaining', details: { remaining: 390 } },
    });
    const noKey = await post({ amount: 10, reason: 'x' });
    expect(noKey.status).toBe(400);
    expect(((await noKey.json()) as ErrorBody).error.details.field).toBe('requestId');
    const badAmount = await post({ amount: -1, reason: 'x' }, 'bad');
    expect(badAmount.status).toBe(400);
    expect(((await badAmount.json()) as ErrorBody).error.details.field).toBe('amount');

    const ok = await post({ amount: 40, reason: 'partial' }, 'http-ok');
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body).toMatchObject({ transactionId: charge.transactionId, amount: 40, remaining: 350 });
    const repeat = await post({ amount: 40, reason: 'partial' }, 'http-ok');
    expect(await repeat.json()).toEqual(body);
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([40]);
  });
});

describe('cancel { refund }', () => {
  it('prorated: the unused share of the period, to the second, rounded down, refunded before the cancel ends', async () => {
    const { input, handle, charge } = await activeWithCharge({ timeZone: 'Asia/Taipei' });
    const v0 = await state(handle);
    await t.h.env.sleep('10 days');
    const result = await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: merchant, reason: 'moving away', refund: 'prorated', requestId: 'cancel-p' }],
    });
    expect(result.status).toBe('canceled');
    const v = await state(handle);
    const asked = v.audit.find((a) => a.reason.includes(' requested: unused share of the period'))!;
    // The period the approval paid: from the payment to cycle 1's due date.
    const start = Date.parse(charge.chargedAt);
    const end = Date.parse(v0.nextChargeAt!);
    const total = Math.floor((end - start) / 1000);
    const unused = Math.floor((end - Date.parse(asked.at)) / 1000);
    const expected = Math.floor((390 * unused) / total);
    expect(expected).toBeGreaterThan(200);
    expect(expected).toBeLessThan(300);
    expect(result.refund).toMatchObject({ transactionId: charge.transactionId, amount: expected });
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([expected]);
    await skipUntil(t.h, handle, () => refundedEvents(input.subscriptionId).length > 0, '1 second', 50);
    const types = [
      ...new Map(
        t.h.recordedEvents.filter((e) => e.subscriptionId === input.subscriptionId).map((e) => [e.id, e]),
      ).values(),
    ]
      .sort((a, b) => a.sequence - b.sequence)
      .map((e) => e.type);
    expect(types.indexOf('charge.refunded')).toBeLessThan(types.indexOf('subscription.canceled'));
  });

  it('last: the whole last charge; refund with a cancel at period end is refused by the validator', async () => {
    const { handle, charge } = await activeWithCharge();
    const refused = await rejectionOf(
      handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, atPeriodEnd: true, refund: 'last' }] }),
    );
    expect(refused.message).toMatch(/^refund: /);
    expect((await state(handle)).cancelAt).toBeUndefined();
    const result = await handle.executeUpdate(cancelUpdate, {
      args: [{ actor: merchant, refund: 'last', requestId: 'cancel-l' }],
    });
    expect(result.refund).toMatchObject({ amount: 390, remaining: 0 });
    expect(refundsAtSandbox(t.h, charge.transactionId).map((e) => e.amount)).toEqual([390]);
  });
});
