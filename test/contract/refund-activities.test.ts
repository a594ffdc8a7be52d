/**
 * The refund activities against the real sandbox, in the SDK's `MockActivityEnvironment`: how each
 * LINE Pay answer to Refund becomes an outcome, and that a retried attempt never sends again.
 */
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LinePayClient } from '../../activities/linepay/index.js';
import { createRefundActivities } from '../../activities/refund-activities.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import type { RefundActivities } from '../../workflows/refund-contract.js';

let sb: RunningSandbox;
let lp: LinePayClient;
let acts: RefundActivities;
let seq = 0;
const quiet = new DefaultLogger('ERROR');

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  lp = new LinePayClient({
    channelId: sb.channelId,
    channelSecret: sb.channelSecret,
    baseUrl: sb.url,
    timeouts: { refund: 3_000, details: 3_000 },
  });
  acts = createRefundActivities(lp);
});
afterAll(async () => {
  await sb.close();
});
beforeEach(() => {
  sb.control.clearFaults();
});

function run<K extends keyof RefundActivities>(
  name: K,
  input: Parameters<RefundActivities[K]>[0],
  info: Partial<Info> = {},
): ReturnType<RefundActivities[K]> {
  const now = Date.now();
  const e = new MockActivityEnvironment(
    {
      startToCloseTimeoutMs: 60_000,
      scheduledTimestampMs: now,
      currentAttemptScheduledTimestampMs: now,
      ...info,
    },
    { logger: quiet },
  );
  const fn = acts[name] as (i: typeof input) => ReturnType<RefundActivities[K]>;
  return e.run(fn, input) as ReturnType<RefundActivities[K]>;
}

/** A captured payment of `amount` TWD, paid through Request → approve → Confirm. */
async function paid(amount = 1000): Promise<{ transactionId: string; orderId: string }> {
  seq += 1;
  const orderId = `sub_ra-0a1b2c3d-c${seq}`;
  const reserved = await lp.requestPayment({
    amount,
    currency: 'TWD',
    orderId,
    packages: [{ id: 'p', amount, products: [{ name: 'Coffee', quantity: 1, price: amount }] }],
    redirectUrls: { confirmUrl: 'https://shop.example/c', cancelUrl: 'https://shop.example/x' },
  });
  sb.control.approve(reserved.transactionId);
  await lp.confirm(reserved.transactionId, { amount, currency: 'TWD' });
  return { transactionId: reserved.transactionId, orderId };
}

function refundCalls(transactionId: string) {
  return sb.control.requests().filter((r) => r.path.endsWith(`/payments/${transactionId}/refund`));
}

describe('refund activities', () => {
  it('lookupPaymentRefunds: paid amount, orderId and refunds (positive amounts, whatever the sign in Details)', async () => {
    const p = await paid(1000);
    expect(await run('lookupPaymentRefunds', { transactionId: p.transactionId })).toEqual({
      found: true,
      orderId: p.orderId,
      amount: 1000,
      currency: 'TWD',
      refunds: [],
    });
    const r = await lp.refund(p.transactionId, { refundAmount: 300 });
    const after = await run('lookupPaymentRefunds', { transactionId: p.transactionId });
    expect(after).toMatchObject({ refunds: [{ refundTransactionId: r.refundTransactionId, amount: 300 }] });
    expect(await run('lookupPaymentRefunds', { transactionId: '2099010100000000000' })).toEqual({
      found: false,
    });
  });

  it('sendRefund maps LINE Pay refusals: 1164 exceeds, 1165 already refunded (after a lookup), 1163 window', async () => {
    const p = await paid(500);
    const over = await run('sendRefund', { transactionId: p.transactionId, amount: 501, baseline: [] });
    expect(over).toMatchObject({ outcome: 'refused', code: 'refund_exceeds_remaining', returnCode: '1164' });
    const all = await run('sendRefund', { transactionId: p.transactionId, amount: 500, baseline: [] });
    expect(all).toMatchObject({ outcome: 'refunded', recovered: false });
    const done = all.outcome === 'refunded' ? all.refundTransactionId : '';
    // 1165 after our own refund whose answer was lost: the lookup finds it against the baseline.
    const mine = await run('sendRefund', { transactionId: p.transactionId, amount: 500, baseline: [] });
    expect(mine).toEqual(
      expect.objectContaining({ outcome: 'refunded', refundTransactionId: done, recovered: true }),
    );
    // … and with it in the baseline, 1165 is a refusal.
    const again = await run('sendRefund', { transactionId: p.transactionId, amount: 500, baseline: [done] });
    expect(again).toMatchObject({ outcome: 'refused', code: 'charge_already_refunded' });

    const q = await paid(500);
    sb.control.addFault({
      api: 'refund',
      match: { transactionId: q.transactionId },
      times: 1,
      action: { kind: 'return_code', code: '1163' },
    });
    expect(
      await run('sendRefund', { transactionId: q.transactionId, amount: 10, baseline: [] }),
    ).toMatchObject({
      outcome: 'refused',
      code: 'refund_window_passed',
    });
  });

  it('a retried attempt never sends: it looks up, and answers unknown when nothing new is listed', async () => {
    const p = await paid(800);
    const retry = await run(
      'sendRefund',
      { transactionId: p.transactionId, amount: 100, baseline: [] },
      { attempt: 2 },
    );
    expect(retry).toMatchObject({ outcome: 'unknown' });
    expect(refundCalls(p.transactionId)).toHaveLength(0);

    const r = await lp.refund(p.transactionId, { refundAmount: 100 });
    const found = await run(
      'sendRefund',
      { transactionId: p.transactionId, amount: 100, baseline: [] },
      { attempt: 3 },
    );
    expect(found).toEqual({
      outcome: 'refunded',
      refundTransactionId: r.refundTransactionId,
      refundTransactionDate: expect.any(String),
      recovered: true,
    });
    expect(refundCalls(p.transactionId)).toHaveLength(1);
  });

  it('9000 that did not refund: unknown after the lookup (the workflow decides to resend)', async () => {
    const p = await paid(800);
    sb.control.addFault({
      api: 'refund',
      match: { transactionId: p.transactionId },
      times: 1,
      action: { kind: 'return_code', code: '9000' },
    });
    const r = await run('sendRefund', { transactionId: p.transactionId, amount: 100, baseline: [] });
    expect(r).toMatchObject({ outcome: 'unknown', returnCode: '9000' });
    expect(
      sb.control.ledger().filter((e) => e.kind === 'refund' && e.transactionId === p.transactionId),
    ).toHaveLength(0);
  });
});
