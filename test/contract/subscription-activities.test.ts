/**
 * The LINE Pay activities against the real sandbox, run by the SDK's own `MockActivityEnvironment`
 * (activity context with heartbeats, cancellation and timeouts; no Temporal server involved).
 */
import { randomBytes } from 'node:crypto';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LinePayClient } from '../../activities/linepay/index.js';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import {
  createActivities,
  HEARTBEAT_INTERVAL_MS,
  type LinePayActivities,
  MERCHANT_CONFIG_RETRY_DELAY,
} from '../../activities/subscription-activities.js';
import { type FaultRule, type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import type { ChargeInput, RegKeyOwner } from '../../workflows/activity-contract.js';
import { ACTIVITY_FAILURE_TYPES } from '../../workflows/failure-types.js';

const PAY_TIMEOUT_MS = 5_000;
let sb: RunningSandbox;
let acts: LinePayActivities;
let vault: RegKeyVault;
let seq = 0;
/** Activity log lines (recoveries, refunds) are expected here; keep errors only. */
const quiet = new DefaultLogger('ERROR');

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  vault = new RegKeyVault(randomBytes(32));
  const linePay = new LinePayClient({
    channelId: sb.channelId,
    channelSecret: sb.channelSecret,
    baseUrl: sb.url,
    timeouts: { preapprovedPay: PAY_TIMEOUT_MS, confirm: PAY_TIMEOUT_MS, details: 3_000, checkStatus: 3_000 },
  });
  acts = createActivities({ linePay, vault, callbackSigningKey: randomBytes(32) });
});

afterAll(async () => {
  await sb.close();
});

beforeEach(() => {
  sb.control.clearFaults();
});

function unique(label: string): string {
  seq += 1;
  return `act-${label}-${Date.now().toString(36)}-${seq}`;
}

function owner(): RegKeyOwner {
  return { subscriptionId: unique('sub'), instanceId: randomBytes(4).toString('hex') };
}

/** An activity environment with a live attempt: started now, 60 s to close unless overridden. */
function env(info: Partial<Info> = {}): MockActivityEnvironment & { heartbeats: unknown[] } {
  const now = Date.now();
  const e = new MockActivityEnvironment(
    {
      startToCloseTimeoutMs: 60_000,
      scheduleToCloseTimeoutMs: 0,
      scheduledTimestampMs: now,
      currentAttemptScheduledTimestampMs: now,
      ...info,
    },
    { logger: quiet },
  ) as MockActivityEnvironment & { heartbeats: unknown[] };
  e.heartbeats = [];
  e.on('heartbeat', (d: unknown) => e.heartbeats.push(d));
  return e;
}

function run<K extends keyof LinePayActivities>(
  name: K,
  input: Parameters<LinePayActivities[K]>[0],
  info: Partial<Info> = {},
): ReturnType<LinePayActivities[K]> {
  const fn = acts[name] as (i: typeof input) => ReturnType<LinePayActivities[K]>;
  return env(info).run(fn, input) as ReturnType<LinePayActivities[K]>;
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** Reserve → the customer approves → confirm, through the activities; returns the sealed regKey. */
async function approved(who = owner(), amount = 390) {
  const reserved = await run('reservePreapproved', {
    subscriptionId: who.subscriptionId,
    instanceId: who.instanceId,
    orderId: unique('r'),
    productName: '月訂閱 Premium',
    amount,
    currency: 'TWD',
    confirmUrl: 'https://merchant.example/linepay/confirm',
    cancelUrl: 'https://merchant.example/linepay/cancel',
  });
  sb.control.approve(reserved.transactionId);
  const confirmed = await run('confirmPreapproved', {
    owner: who,
    transactionId: reserved.transactionId,
    orderId: reserved.orderId,
    amount,
    currency: 'TWD',
  });
  if (confirmed.outcome !== 'confirmed') throw new Error(`confirm: ${JSON.stringify(confirmed)}`);
  return { owner: who, reserved, confirmed, sealedRegKey: confirmed.sealedRegKey };
}

async function chargeInput(amount = 490): Promise<ChargeInput> {
  const { owner: who, sealedRegKey } = await approved();
  return {
    owner: who,
    sealedRegKey,
    orderId: unique('c'),
    productName: '月訂閱 Premium',
    amount,
    currency: 'TWD',
  };
}

/** The LINE Pay calls the sandbox saw for an orderId, in order. */
function callsFor(orderId: string): string[] {
  return sb.control
    .requests()
    .filter((r) => r.orderId === orderId)
    .map((r) =>
      r.path.includes('/preapprovedPay/')
        ? 'pay'
        : r.path.startsWith('/v3/payments?') || r.path === '/v3/payments'
          ? 'details'
          : r.path,
    );
}

function payments(orderId: string) {
  return sb.control.ledger().filter((e) => e.kind === 'payment' && e.orderId === orderId);
}

function fault(rule: FaultRule): void {
  sb.control.addFault(rule);
}

describe('chargePreapproved', () => {
  it('charges once and lookupCharge finds it for the same amount and currency', async () => {
    const input = await chargeInput();
    const res = await run('chargePreapproved', input);
    expect(res).toMatchObject({ outcome: 'charged', recovered: false });
    expect(payments(input.orderId)).toHaveLength(1);
    const found = await run('lookupCharge', { orderId: input.orderId, amount: 490, currency: 'TWD' });
    expect(found).toEqual({
      found: true,
      transactionId: (res as { transactionId: string }).transactionId,
      transactionDate: expect.any(String),
    });
  });

  it('a decline whose answer was lost: unknown, then order_used on the next attempt (1172, nothing listed)', async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'decline_then_drop' },
    });
    const first = await run('chargePreapproved', input);
    expect(first).toMatchObject({ outcome: 'unknown' });
    const second = await run('chargePreapproved', input, { attempt: 2 });
    expect(second).toEqual({
      outcome: 'order_used',
      reason: 'LINE Pay answered 1172 and lists no payment under the orderId',
    });
    // First: pay (lost) + lookup. Second: lookup first, then pay (1172), then lookup again.
    expect(callsFor(input.orderId)).toEqual(['pay', 'details', 'details', 'pay', 'details']);
    expect(payments(input.orderId)).toHaveLength(0);
  });

  it('an orderId already charged for another amount: order_used, never "charged"; lookupCharge says mismatch', async () => {
    const input = await chargeInput(300);
    expect(await run('chargePreapproved', input)).toMatchObject({ outcome: 'charged' });
    const other = { ...input, amount: 390 };
    const res = await run('chargePreapproved', other);
    expect(res).toMatchObject({ outcome: 'order_used' });
    expect((res as { reason: string }).reason).toContain('another amount or currency');
    // The same check at a retry's lookup-first.
    expect(await run('chargePreapproved', other, { attempt: 3 })).toMatchObject({ outcome: 'order_used' });
    const [paid] = payments(input.orderId);
    expect(await run('lookupCharge', { orderId: input.orderId, amount: 390, currency: 'TWD' })).toEqual({
      found: 'mismatch',
      transactionId: paid!.transactionId,
      amount: 300,
      currency: 'TWD',
    });
    expect(await run('lookupCharge', { orderId: input.orderId, amount: 300, currency: 'USD' })).toMatchObject(
      {
        found: 'mismatch',
        currency: 'TWD',
      },
    );
    expect(await run('lookupCharge', { orderId: input.orderId, amount: 300, currency: 'TWD' })).toMatchObject(
      {
        found: true,
        transactionId: paid!.transactionId,
      },
    );
    expect(await run('lookupCharge', { orderId: unique('none'), amount: 300, currency: 'TWD' })).toEqual({
      found: false,
    });
    expect(payments(input.orderId)).toHaveLength(1);
  });

  it('an unknown return code after the charge committed is looked up first: charged, recovered', async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'unknown_return_code', afterCommit: true },
    });
    const res = await run('chargePreapproved', input);
    expect(res).toMatchObject({ outcome: 'charged', recovered: true });
    expect(callsFor(input.orderId)).toEqual(['pay', 'details']);
    expect(payments(input.orderId)).toHaveLength(1);
  });

  it.each([
    ['an unknown return code', { kind: 'unknown_return_code' } as const, '1297'],
    ['1106 (header/signature)', { kind: 'return_code', code: '1106' } as const, '1106'],
  ])(
    '%s with nothing listed under the orderId: merchant_config as a value, after a lookup',
    async (_c, action, code) => {
      const input = await chargeInput();
      fault({ api: 'preapprovedPay', times: 1, match: { orderId: input.orderId }, action });
      const res = await run('chargePreapproved', input);
      expect(res).toMatchObject({ outcome: 'merchant_config', returnCode: code });
      expect(callsFor(input.orderId)).toEqual(['pay', 'details']);
      expect(payments(input.orderId)).toHaveLength(0);
    },
  );

  it("the client's own recovery (payPreapprovedOnce) never counts a payment for another amount as charged", async () => {
    const input = await chargeInput(300);
    const regKey = vault.open(input.sealedRegKey, input.owner);
    const linePay = new LinePayClient({
      channelId: sb.channelId,
      channelSecret: sb.channelSecret,
      baseUrl: sb.url,
    });
    const body = { productName: 'plan', amount: 300, currency: 'TWD' as const, orderId: input.orderId };
    const paid = await linePay.payPreapprovedOnce(regKey, body);
    expect(paid).toMatchObject({ status: 'charged', recovered: false });
    expect(await linePay.payPreapprovedOnce(regKey, body)).toMatchObject({
      status: 'charged',
      recovered: true,
    });
    expect(await linePay.payPreapprovedOnce(regKey, { ...body, amount: 390 })).toEqual({
      status: 'mismatch',
      transactionId: (paid as { transactionId: string }).transactionId,
      amount: 300,
      currency: 'TWD',
    });
    expect(await linePay.payPreapprovedOnce(regKey, { ...body, currency: 'USD' })).toMatchObject({
      status: 'mismatch',
    });
  });

  it('a 5xx after commit is recovered by lookup; 9000 before commit stays unknown', async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'error_after_commit', status: 503 },
    });
    expect(await run('chargePreapproved', input)).toMatchObject({ outcome: 'charged', recovered: true });
    const again = { ...input, orderId: unique('c') };
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: again.orderId },
      action: { kind: 'return_code', code: '9000' },
    });
    expect(await run('chargePreapproved', again)).toMatchObject({ outcome: 'unknown', returnCode: '9000' });
    expect(payments(again.orderId)).toHaveLength(0);
  });

  it('a retry looks up before sending: a charge an earlier attempt made is not sent again', async () => {
    const input = await chargeInput();
    const first = await run('chargePreapproved', input);
    const retry = await run('chargePreapproved', input, { attempt: 2 });
    expect(retry).toEqual({
      outcome: 'charged',
      transactionId: (first as { transactionId: string }).transactionId,
      transactionDate: expect.any(String),
      recovered: true,
    });
    expect(callsFor(input.orderId)).toEqual(['pay', 'details']);
  });

  it('declines and dead regKeys are values', async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'return_code', code: '1142' },
    });
    expect(await run('chargePreapproved', input)).toMatchObject({
      outcome: 'declined',
      category: 'declined_soft',
      returnCode: '1142',
    });
    const regKey = vault.open(input.sealedRegKey, input.owner);
    sb.control.expireRegKey(regKey);
    expect(await run('chargePreapproved', { ...input, orderId: unique('c') })).toMatchObject({
      outcome: 'regkey_dead',
      returnCode: '1193',
    });
  });

  it('a regKey sealed for another subscription instance fails for good and sends nothing', async () => {
    const input = await chargeInput();
    for (const other of [
      { ...input.owner, instanceId: 'ffffffff' },
      { ...input.owner, subscriptionId: `${input.owner.subscriptionId}x` },
    ]) {
      const err = await failure(run('chargePreapproved', { ...input, owner: other }));
      expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.regKeyVault);
      expect(err.nonRetryable).toBe(true);
      const expired = await failure(run('expireRegKey', { owner: other, sealedRegKey: input.sealedRegKey }));
      expect(expired.type).toBe(ACTIVITY_FAILURE_TYPES.regKeyVault);
    }
    expect(callsFor(input.orderId)).toEqual([]);
    expect(
      sb.control.regKeys().find((k) => k.regKey === vault.open(input.sealedRegKey, input.owner))?.status,
    ).toBe('ACTIVE');
  });
});

describe('cancellation, deadline and heartbeats', () => {
  it('a cancel aborts a hung charge at once and reports the cancellation, with no lookup after it', async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'hang_after_commit' },
    });
    const e = env();
    const fn = acts.chargePreapproved;
    const started = e.run(fn, input);
    const outcome = started.then(
      (v) => ({ value: v }),
      (err: unknown) => ({ err }),
    );
    await new Promise((r) => setTimeout(r, 300));
    e.cancel();
    // Settled by the cancel itself, not by the 5 s read timeout running out.
    const settled = await Promise.race([
      outcome,
      new Promise<{ stillRunning: true }>((r) =>
        setTimeout(() => r({ stillRunning: true }), PAY_TIMEOUT_MS / 2),
      ),
    ]);
    expect(settled).not.toHaveProperty('stillRunning');
    expect('err' in settled && settled.err).toBeInstanceOf(CancelledFailure);
    expect(callsFor(input.orderId)).toEqual(['pay']);
  });

  it('never sends a charge whose read timeout cannot finish before the attempt deadline', async () => {
    const input = await chargeInput();
    // 3 s left, the pay call needs its 5 s: not sent, and the attempt fails retryably.
    const err = await failure(run('chargePreapproved', input, { startToCloseTimeoutMs: 3_000 }));
    expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.transient);
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('before the deadline');
    // Schedule-to-close counts too.
    const late = await failure(
      run('chargePreapproved', input, {
        scheduledTimestampMs: Date.now() - 58_000,
        scheduleToCloseTimeoutMs: 60_000,
      }),
    );
    expect(late.message).toContain('before the deadline');
    expect(callsFor(input.orderId)).toEqual([]);
  });

  it('cuts a lookup read timeout to the time left in the attempt', async () => {
    const orderId = unique('slow');
    fault({ api: 'details', times: 1, match: { orderId }, action: { kind: 'latency', ms: 4_000 } });
    const err = await failure(
      run('lookupCharge', { orderId, amount: 1, currency: 'TWD' }, { startToCloseTimeoutMs: 2_500 }),
    );
    expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.transient);
    const ms = Number(/no answer within (\d+) ms/.exec(err.message)?.[1]);
    // The client's details timeout is 3 s; 2.5 s minus the 1 s margin is what was left.
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(1_500);
  });

  it(`heartbeats while a LINE Pay call is in flight (every ${HEARTBEAT_INTERVAL_MS} ms, or a third of the heartbeat timeout)`, async () => {
    const input = await chargeInput();
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: input.orderId },
      action: { kind: 'latency', ms: 2_300 },
    });
    const e = env();
    await e.run(acts.chargePreapproved, input);
    // One at the start and one at 2 s.
    expect(e.heartbeats).toEqual([{ call: 'preapprovedPay' }, { call: 'preapprovedPay' }]);

    const quick = { ...input, orderId: unique('c') };
    fault({
      api: 'preapprovedPay',
      times: 1,
      match: { orderId: quick.orderId },
      action: { kind: 'latency', ms: 1_000 },
    });
    const short = env({ heartbeatTimeoutMs: 600 });
    await short.run(acts.chargePreapproved, quick);
    expect(short.heartbeats.length).toBeGreaterThanOrEqual(4);
  });
});

describe('confirmPreapproved', () => {
  async function reserved(who: RegKeyOwner, payType: 'PREAPPROVED' | 'NORMAL' = 'PREAPPROVED') {
    if (payType === 'PREAPPROVED') {
      return run('reservePreapproved', {
        subscriptionId: who.subscriptionId,
        instanceId: who.instanceId,
        orderId: unique('r'),
        productName: 'plan',
        amount: 390,
        currency: 'TWD',
        confirmUrl: 'https://merchant.example/c',
        cancelUrl: 'https://merchant.example/x',
      });
    }
    const linePay = new LinePayClient({
      channelId: sb.channelId,
      channelSecret: sb.channelSecret,
      baseUrl: sb.url,
    });
    const orderId = unique('n');
    const res = await linePay.requestPayment({
      amount: 390,
      currency: 'TWD',
      orderId,
      packages: [{ id: 'p', amount: 390, products: [{ name: 'plan', quantity: 1, price: 390 }] }],
      redirectUrls: { confirmUrl: 'https://merchant.example/c', cancelUrl: 'https://merchant.example/x' },
    });
    return { orderId, transactionId: res.transactionId };
  }

  function confirm(who: RegKeyOwner, r: { orderId: string; transactionId: string }) {
    return run('confirmPreapproved', {
      owner: who,
      transactionId: r.transactionId,
      orderId: r.orderId,
      amount: 390,
      currency: 'TWD',
    });
  }

  it('seals the regKey for its owner only', async () => {
    const { owner: who, confirmed } = await approved();
    if (confirmed.outcome !== 'confirmed') throw new Error('not confirmed');
    expect(confirmed.regKeyMasked).toMatch(/^RK…[0-9A-Z]{4}$/);
    expect(vault.open(confirmed.sealedRegKey, who)).toMatch(/^RK/);
    expect(() => vault.open(confirmed.sealedRegKey, { ...who, instanceId: '00000000' })).toThrow(
      'failed authentication',
    );
  });

  it('before the customer approved (1169), and 1180 while the request still waits: not_approved', async () => {
    const who = owner();
    const r = await reserved(who);
    expect(await confirm(who, r)).toMatchObject({ outcome: 'not_approved', returnCode: '1169' });
    fault({
      api: 'confirm',
      times: 1,
      match: { transactionId: r.transactionId },
      action: { kind: 'return_code', code: '1180' },
    });
    expect(await confirm(who, r)).toMatchObject({ outcome: 'not_approved', returnCode: '1180' });
    expect(await run('checkRequestStatus', { transactionId: r.transactionId })).toEqual({
      status: 'waiting',
    });
  });

  it('1180 after the customer canceled: rejected', async () => {
    const who = owner();
    const r = await reserved(who);
    sb.control.cancel(r.transactionId);
    expect(await run('checkRequestStatus', { transactionId: r.transactionId })).toEqual({
      status: 'canceled_or_expired',
    });
    expect(await confirm(who, r)).toMatchObject({ outcome: 'rejected', returnCode: '1180' });
  });

  it('success without a regKey, a repeat (1152), 1172 and unknown codes: rejected', async () => {
    const who = owner();
    const normal = await reserved(who, 'NORMAL');
    sb.control.approve(normal.transactionId);
    expect(await confirm(who, normal)).toMatchObject({ outcome: 'rejected', category: 'no_regkey' });
    expect(await confirm(who, normal)).toMatchObject({ outcome: 'rejected', returnCode: '1152' });

    for (const action of [{ kind: 'return_code', code: '1172' }, { kind: 'unknown_return_code' }] as const) {
      const r = await reserved(who);
      sb.control.approve(r.transactionId);
      fault({ api: 'confirm', times: 1, match: { transactionId: r.transactionId }, action });
      expect(await confirm(who, r)).toMatchObject({ outcome: 'rejected' });
    }
  });

  it('status goes waiting → authenticated → completed', async () => {
    const who = owner();
    const r = await reserved(who);
    sb.control.approve(r.transactionId);
    expect(await run('checkRequestStatus', { transactionId: r.transactionId })).toEqual({
      status: 'authenticated',
    });
    expect(await confirm(who, r)).toMatchObject({ outcome: 'confirmed' });
    expect(await run('checkRequestStatus', { transactionId: r.transactionId })).toEqual({
      status: 'completed',
    });
  });
});

describe('merchant-config errors never fail for good; only a Request refused for good does', () => {
  it.each([['1104'], ['1105'], ['1106'], ['1297']])(
    '%s on lookup, status, refund and expire: retryable, with a long delay',
    async (code) => {
      const { owner: who, sealedRegKey, confirmed } = await approved();
      const txId = (confirmed as { transactionId: string }).transactionId;
      const action =
        code === '1297'
          ? ({ kind: 'unknown_return_code' } as const)
          : ({ kind: 'return_code', code } as const);
      sb.control.setFaults([
        { api: 'details', action },
        { api: 'checkStatus', action },
        { api: 'refund', action },
        { api: 'expireRegKey', action },
      ]);
      for (const promise of [
        run('lookupCharge', { orderId: unique('x'), amount: 1, currency: 'TWD' }),
        run('checkRequestStatus', { transactionId: txId }),
        run('refundPayment', { transactionId: txId }),
        run('expireRegKey', { owner: who, sealedRegKey }),
      ]) {
        const err = await failure(promise);
        expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.merchantConfig);
        expect(err.nonRetryable).toBe(false);
        expect(err.nextRetryDelay).toBe(MERCHANT_CONFIG_RETRY_DELAY);
      }
    },
  );

  it('1104–1106 on confirm: retryable with a long delay (the approval is not thrown away)', async () => {
    const who = owner();
    const r = await run('reservePreapproved', {
      subscriptionId: who.subscriptionId,
      instanceId: who.instanceId,
      orderId: unique('r'),
      productName: 'plan',
      amount: 390,
      currency: 'TWD',
      confirmUrl: 'https://merchant.example/c',
      cancelUrl: 'https://merchant.example/x',
    });
    sb.control.approve(r.transactionId);
    fault({ api: 'confirm', times: 1, action: { kind: 'return_code', code: '1106' } });
    const input = {
      owner: who,
      transactionId: r.transactionId,
      orderId: r.orderId,
      amount: 390,
      currency: 'TWD' as const,
    };
    const err = await failure(run('confirmPreapproved', input));
    expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.merchantConfig);
    expect(err.nonRetryable).toBe(false);
    expect(await run('confirmPreapproved', input)).toMatchObject({ outcome: 'confirmed' });
  });

  function reserveInput(currency: 'TWD' | 'USD' = 'TWD') {
    const who = owner();
    return {
      subscriptionId: who.subscriptionId,
      instanceId: who.instanceId,
      orderId: unique('r'),
      productName: 'plan',
      amount: 390,
      currency,
      confirmUrl: 'https://merchant.example/c',
      cancelUrl: 'https://merchant.example/x',
    };
  }

  it.each([
    ['1178', 'currency'],
    ['2101', 'amounts do not add up'],
    ['2102', 'JSON format'],
    ['1194', 'not allowed preapproved'],
  ])('Request %s: non-retryable requestRejected with a clear message', async (code, words) => {
    fault({ api: 'request', times: 1, action: { kind: 'return_code', code } });
    const err = await failure(run('reservePreapproved', reserveInput()));
    expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.requestRejected);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(words);
    expect(err.message).toContain(code);
  });

  it.each([['1104'], ['1106'], ['1297']])('Request %s: retryable merchantConfig', async (code) => {
    const action =
      code === '1297' ? ({ kind: 'unknown_return_code' } as const) : ({ kind: 'return_code', code } as const);
    fault({ api: 'request', times: 1, action });
    const err = await failure(run('reservePreapproved', reserveInput()));
    expect(err.type).toBe(ACTIVITY_FAILURE_TYPES.merchantConfig);
    expect(err.nonRetryable).toBe(false);
    expect(err.nextRetryDelay).toBe(MERCHANT_CONFIG_RETRY_DELAY);
  });
});

describe('refundPayment', () => {
  it('refunds part, then the rest, then counts a repeat as done', async () => {
    const input = await chargeInput(490);
    const res = await run('chargePreapproved', input);
    const transactionId = (res as { transactionId: string }).transactionId;
    expect(await run('refundPayment', { transactionId, amount: 90 })).toMatchObject({
      alreadyRefunded: false,
      refundTransactionId: expect.stringMatching(/^\d+$/),
    });
    expect(await run('refundPayment', { transactionId })).toMatchObject({ alreadyRefunded: false });
    expect(await run('refundPayment', { transactionId })).toEqual({ alreadyRefunded: true });
    const refunds = sb.control
      .ledger()
      .filter((e) => e.kind === 'refund' && e.transactionId === transactionId);
    expect(refunds.map((r) => r.amount)).toEqual([90, 400]);
  });
});
