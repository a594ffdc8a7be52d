import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Currency,
  LinePayClient,
  type LinePayClientOptions,
  LinePayError,
  type LinePayErrorCode,
} from '../../activities/linepay/index.js';
import { classifyReturnCode } from '../../activities/linepay/return-codes.js';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../../sandbox/index.js';

// The four faults issue 8 needs, driven through our real client: what the client is told, and what
// the sandbox's ledger and request log say really happened.

let sb: RunningSandbox;
let lp: LinePayClient;
let seq = 0;

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  lp = client(sb);
});

afterAll(async () => {
  await sb.close();
});

beforeEach(() => {
  sb.control.clearFaults();
});

function client(on: RunningSandbox, overrides: Partial<LinePayClientOptions> = {}): LinePayClient {
  return new LinePayClient({
    channelId: on.channelId,
    channelSecret: on.channelSecret,
    baseUrl: on.url,
    ...overrides,
  });
}

function uniqueOrderId(label: string): string {
  seq += 1;
  return `sf-${label}-${Date.now()}-${seq}`;
}

async function registerRegKey(on: RunningSandbox = sb, linePay: LinePayClient = lp): Promise<string> {
  const amount = 300;
  const reserved = await linePay.requestPayment({
    amount,
    currency: 'TWD',
    orderId: uniqueOrderId('approve'),
    packages: [{ id: 'p', amount, products: [{ name: 'Plan', quantity: 1, price: amount }] }],
    redirectUrls: { confirmUrl: 'https://merchant.example/ok', cancelUrl: 'https://merchant.example/no' },
    options: { payment: { payType: 'PREAPPROVED' } },
  });
  on.control.approve(reserved.transactionId);
  const confirmed = await linePay.confirm(reserved.transactionId, { amount, currency: 'TWD' });
  expect(confirmed.regKey).toMatch(/^RK/);
  return confirmed.regKey ?? '';
}

function charge(orderId: string, amount = 490) {
  return { productName: 'Monthly plan', amount, currency: 'TWD' as Currency, orderId };
}

function payments(orderId: string, on: RunningSandbox = sb) {
  return on.control.ledger().filter((e) => e.kind === 'payment' && e.orderId === orderId);
}

function requestsFor(orderId: string, on: RunningSandbox = sb) {
  return on.control.requests().filter((r) => r.orderId === orderId);
}

/** What our client calls a return code on preapprovedPay; an unknown code must not read as success. */
function clientCategory(code: string): LinePayErrorCode {
  const { category, known } = classifyReturnCode(code, 'preapprovedPay');
  expect(known).toBe(false);
  if (category === 'ok') throw new Error(`${code} classified as ok`);
  return category;
}

async function linePayError(promise: Promise<unknown>, code?: LinePayErrorCode): Promise<LinePayError> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected a LinePayError, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinePayError);
  if (code !== undefined) expect((err as LinePayError).code).toBe(code);
  return err as LinePayError;
}

describe('decline_then_drop: a committed decline whose answer is lost', () => {
  it('uses up the orderId, charges nothing, and the client only sees a lost connection', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('lost-decline');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'decline_then_drop' },
    });
    const err = await linePayError(lp.payPreapproved(regKey, charge(orderId)), 'unknown_outcome');
    expect(err.returnCode).toBeUndefined();
    expect(payments(orderId)).toEqual([]);
    expect(requestsFor(orderId)).toEqual([
      expect.objectContaining({
        returnCode: '1142',
        committed: '1142',
        httpStatus: 0,
        fault: 'decline_then_drop:1142',
      }),
    ]);

    // The resend meets the used-up orderId and the lookup finds no payment: issue 8 defect 1.
    const dup = await linePayError(lp.payPreapproved(regKey, charge(orderId)), 'duplicate_order');
    expect(dup.returnCode).toBe('1172');
    expect(await lp.payPreapprovedOnce(regKey, charge(orderId))).toEqual({
      status: 'not_found',
      reason: 'duplicate_order',
    });
    expect(await lp.findPaymentByOrderId(orderId)).toBeUndefined();
    expect(payments(orderId)).toEqual([]);

    // A decline does not kill the regKey: the next orderId charges.
    const next = uniqueOrderId('after-decline');
    expect(await lp.payPreapprovedOnce(regKey, charge(next))).toMatchObject({
      status: 'charged',
      recovered: false,
    });
    expect(payments(next)).toHaveLength(1);
  });

  it('uses up the orderId even where plain declines do not (declinedAttemptConsumesOrderId: false)', async () => {
    const own = await startSandbox({ behaviour: { declinedAttemptConsumesOrderId: false } });
    try {
      const ownClient = client(own);
      const regKey = await registerRegKey(own, ownClient);
      const orderId = uniqueOrderId('lost-1288');
      own.control.addFault({
        api: 'preapprovedPay',
        match: { amount: 777 },
        times: 1,
        action: { kind: 'decline_then_drop', code: '1288' },
      });
      await linePayError(ownClient.payPreapproved(regKey, charge(orderId, 777)), 'unknown_outcome');
      expect(requestsFor(orderId, own)[0]).toMatchObject({ returnCode: '1288', committed: '1288' });
      await linePayError(ownClient.payPreapproved(regKey, charge(orderId, 777)), 'duplicate_order');
      expect(payments(orderId, own)).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('is refused outside preapprovedPay and for codes that are not definite declines', () => {
    expect(() => sb.control.addFault({ api: '*', action: { kind: 'decline_then_drop' } })).toThrow(
      /preapprovedPay only/,
    );
    expect(() =>
      sb.control.addFault({ api: 'preapprovedPay', action: { kind: 'decline_then_drop', code: '9000' } }),
    ).toThrow(/not a definite decline/);
    expect(() =>
      sb.control.addFault({ api: 'preapprovedPay', action: { kind: 'decline_then_drop', code: '42' } }),
    ).toThrow(/4-digit/);
  });
});

describe('error_after_commit: the payment happened, the client is told an error', () => {
  it('HTTP 503 after commit: unknown_outcome for the client, one payment in the ledger, found by lookup', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('503-after');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'error_after_commit', status: 503 },
    });
    const err = await linePayError(lp.payPreapproved(regKey, charge(orderId)), 'unknown_outcome');
    expect(err.httpStatus).toBe(503);
    expect(err.returnCode).toBeUndefined();
    const ledger = payments(orderId);
    expect(ledger).toHaveLength(1);
    expect(requestsFor(orderId)).toEqual([
      expect.objectContaining({ returnCode: null, httpStatus: 503, committed: '0000' }),
    ]);
    expect((await lp.findPaymentByOrderId(orderId))?.transactionId).toBe(ledger[0]?.transactionId);
  });

  it('9000 after commit (the default): payPreapprovedOnce recovers the one payment', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('9000-after');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'error_after_commit' },
    });
    const result = await lp.payPreapprovedOnce(regKey, charge(orderId));
    const ledger = payments(orderId);
    expect(ledger).toHaveLength(1);
    expect(result).toEqual({
      status: 'charged',
      transactionId: ledger[0]?.transactionId,
      transactionDate: expect.any(String),
      recovered: true,
    });
    const [pay, lookup] = requestsFor(orderId);
    expect(pay).toMatchObject({
      returnCode: '9000',
      httpStatus: 200,
      committed: '0000',
      fault: 'error_after_commit:9000',
    });
    expect(lookup).toMatchObject({ method: 'GET', returnCode: '0000' });
  });

  it('on refund: the client is told 9000, the refund is in the ledger and in details', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('refund-after');
    const paid = await lp.payPreapproved(regKey, charge(orderId, 600));
    sb.control.addFault({
      api: 'refund',
      match: { transactionId: paid.transactionId },
      times: 1,
      action: { kind: 'error_after_commit', code: '9000', status: 500 },
    });
    const err = await linePayError(lp.refund(paid.transactionId, { refundAmount: 200 }), 'unknown_outcome');
    expect(err.httpStatus).toBe(500);
    const refunds = sb.control.ledger().filter((e) => e.kind === 'refund' && e.orderId === orderId);
    expect(refunds).toEqual([expect.objectContaining({ amount: 200, transactionId: paid.transactionId })]);
    const [detail] = await lp.getPaymentDetails({ transactionId: paid.transactionId });
    expect(detail?.refundList?.map((r) => r.refundTransactionId)).toEqual([refunds[0]?.refundTransactionId]);
  });

  it('refuses a status below 500 without a code, and 0000 as a code', () => {
    expect(() =>
      sb.control.addFault({ api: 'refund', action: { kind: 'error_after_commit', status: 404 } }),
    ).toThrow(/500\.\.599/);
    expect(() =>
      sb.control.addFault({ api: 'refund', action: { kind: 'error_after_commit', code: '0000' } }),
    ).toThrow(/other than 0000/);
  });
});

describe('unknown_return_code: a code in no LINE Pay list', () => {
  it('before commit (default 1297): nothing charged, the orderId stays free', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('unknown-before');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'unknown_return_code' },
    });
    const err = await linePayError(lp.payPreapproved(regKey, charge(orderId)), clientCategory('1297'));
    expect(err.returnCode).toBe('1297');
    expect(payments(orderId)).toEqual([]);
    expect(requestsFor(orderId)[0]).toMatchObject({ returnCode: '1297', httpStatus: 200 });
    expect(requestsFor(orderId)[0]).not.toHaveProperty('committed');
    // Not committed: the same orderId charges on the resend.
    const paid = await lp.payPreapproved(regKey, charge(orderId));
    expect(payments(orderId).map((e) => e.transactionId)).toEqual([paid.transactionId]);
  });

  it('takes any code, and can use up the orderId without a payment', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('unknown-custom');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'unknown_return_code', code: '19990', consumesOrderId: true },
    });
    const err = await linePayError(lp.payPreapproved(regKey, charge(orderId)), clientCategory('19990'));
    expect(err.returnCode).toBe('19990');
    await linePayError(lp.payPreapproved(regKey, charge(orderId)), 'duplicate_order');
    expect(await lp.findPaymentByOrderId(orderId)).toBeUndefined();
    expect(payments(orderId)).toEqual([]);
  });

  it('after commit: the client sees the unknown code, the ledger and details have the payment', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('unknown-after');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'unknown_return_code', afterCommit: true },
    });
    const err = await linePayError(lp.payPreapproved(regKey, charge(orderId, 520)));
    expect(err.returnCode).toBe('1297');
    expect(err.code).toBe(clientCategory('1297'));
    const ledger = payments(orderId);
    expect(ledger).toEqual([expect.objectContaining({ amount: 520 })]);
    expect(requestsFor(orderId)[0]).toMatchObject({
      returnCode: '1297',
      committed: '0000',
      fault: 'unknown_return_code:1297:after_commit',
    });
    const found = await lp.findPaymentByOrderId(orderId);
    expect(found?.transactionId).toBe(ledger[0]?.transactionId);
  });

  it('refuses documented codes, so a rule cannot test a known code by mistake', () => {
    for (const code of ['1142', '9000', '1999', '1290']) {
      expect(() =>
        sb.control.addFault({ api: 'preapprovedPay', action: { kind: 'unknown_return_code', code } }),
      ).toThrow(/documented/);
    }
    expect(() =>
      sb.control.addFault({
        api: 'preapprovedPay',
        action: { kind: 'unknown_return_code', afterCommit: true, consumesOrderId: true },
      }),
    ).toThrow(/before commit only/);
  });
});

describe('delayed_answer: an answer later than the client read timeout', () => {
  it('commit before the delay: the client times out on a charge that is already in the ledger', async () => {
    const regKey = await registerRegKey();
    const fast = client(sb, { timeouts: { preapprovedPay: 300 } });
    const orderId = uniqueOrderId('late-committed');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'delayed_answer', ms: 1_000, commit: 'before_delay' },
    });
    const err = await linePayError(fast.payPreapproved(regKey, charge(orderId)), 'unknown_outcome');
    expect(err.message).toContain('300 ms');
    // Still inside the delay: the payment is there already.
    expect(payments(orderId)).toHaveLength(1);
    expect(requestsFor(orderId)[0]).toMatchObject({ committed: '0000', returnCode: '0000' });
    expect(await fast.payPreapprovedOnce(regKey, charge(orderId))).toMatchObject({
      status: 'charged',
      recovered: true,
    });
    // Once the delay is over the log says the answer never reached the client.
    await vi.waitFor(() => expect(requestsFor(orderId)[0]?.httpStatus).toBe(0), { timeout: 3_000 });
    expect(payments(orderId)).toHaveLength(1);
  });

  it('commit after the delay: the lookup finds nothing, the regKey is busy, the payment lands later', async () => {
    const regKey = await registerRegKey();
    const fast = client(sb, { timeouts: { preapprovedPay: 300, details: 5_000 } });
    const orderId = uniqueOrderId('late-applied');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'delayed_answer', ms: 1_000, commit: 'after_delay' },
    });
    await linePayError(fast.payPreapproved(regKey, charge(orderId)), 'unknown_outcome');
    expect(payments(orderId)).toEqual([]);
    expect(await fast.findPaymentByOrderId(orderId)).toBeUndefined();
    const resend = await linePayError(fast.payPreapproved(regKey, charge(orderId)), 'unknown_outcome');
    expect(resend.returnCode).toBe('1197');

    await vi.waitFor(() => expect(payments(orderId)).toHaveLength(1), { timeout: 3_000 });
    const paid = requestsFor(orderId).find((r) => r.fault !== undefined);
    expect(paid).toMatchObject({
      committed: '0000',
      httpStatus: 0,
      fault: 'delayed_answer:1000:after_delay',
    });
    expect((await fast.findPaymentByOrderId(orderId))?.transactionId).toBe(
      payments(orderId)[0]?.transactionId,
    );
    await linePayError(fast.payPreapproved(regKey, charge(orderId)), 'duplicate_order');
  });

  it('a delay within the timeout is answered, with the committed result', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('late-ok');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'delayed_answer', ms: 100, commit: 'after_delay' },
    });
    const paid = await lp.payPreapproved(regKey, charge(orderId));
    expect(payments(orderId).map((e) => e.transactionId)).toEqual([paid.transactionId]);
    expect(requestsFor(orderId)[0]).toMatchObject({ httpStatus: 200, committed: '0000' });
  });

  it('needs an explicit commit point', () => {
    expect(() =>
      sb.control.addFault({
        api: 'preapprovedPay',
        action: { kind: 'delayed_answer', ms: 100 } as never,
      }),
    ).toThrow(/commit: 'before_delay' or 'after_delay'/);
  });
});

describe('the new faults through the /__sandbox control API', () => {
  async function control(method: 'POST' | 'DELETE', path: string, body?: unknown) {
    const res = await fetch(`${sb.url}/__sandbox${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as { ok?: boolean; error?: string } };
  }

  it('accepts each kind, refuses nonsense with 400 and a message, and the rules fire', async () => {
    const regKey = await registerRegKey();
    const orders = {
      decline: uniqueOrderId('ctl-decline'),
      error: uniqueOrderId('ctl-error'),
      unknown: uniqueOrderId('ctl-unknown'),
      delayed: uniqueOrderId('ctl-delayed'),
    };
    const set = await control('POST', '/faults', [
      { api: 'preapprovedPay', match: { orderId: orders.decline }, action: { kind: 'decline_then_drop' } },
      {
        api: 'preapprovedPay',
        match: { orderId: orders.error },
        action: { kind: 'error_after_commit', status: 502 },
      },
      {
        api: 'preapprovedPay',
        match: { orderId: orders.unknown },
        action: { kind: 'unknown_return_code', code: 'X1' },
      },
      {
        api: 'preapprovedPay',
        match: { orderId: orders.delayed },
        action: { kind: 'delayed_answer', ms: 20, commit: 'before_delay' },
      },
    ]);
    expect(set).toEqual({ status: 200, body: { ok: true } });
    expect(
      (await control('POST', '/faults/add', { api: 'details', action: { kind: 'decline_then_drop' } })).body,
    ).toEqual({ error: 'decline_then_drop applies to api preapprovedPay only' });
    expect(
      (await control('POST', '/faults/add', { api: 'details', action: { kind: 'delayed_answer', ms: -1 } }))
        .status,
    ).toBe(400);

    await linePayError(lp.payPreapproved(regKey, charge(orders.decline)), 'unknown_outcome');
    expect((await linePayError(lp.payPreapproved(regKey, charge(orders.error)))).httpStatus).toBe(502);
    expect((await linePayError(lp.payPreapproved(regKey, charge(orders.unknown)))).returnCode).toBe('X1');
    await lp.payPreapproved(regKey, charge(orders.delayed));

    const log = (await (await fetch(`${sb.url}/__sandbox/requests`)).json()) as { orderId?: string }[];
    const seen = Object.values(orders).map((id) => log.filter((r) => r.orderId === id));
    expect(seen.map((entries) => entries.map((e) => (e as { fault?: string }).fault))).toEqual([
      ['decline_then_drop:1142'],
      ['error_after_commit:http502'],
      ['unknown_return_code:X1'],
      ['delayed_answer:20:before_delay'],
    ]);
    expect(payments(orders.error)).toHaveLength(1);
    expect(payments(orders.delayed)).toHaveLength(1);
    expect(payments(orders.decline)).toEqual([]);
    expect(payments(orders.unknown)).toEqual([]);
  });

  it('probabilistic new faults are reproducible for a seed', async () => {
    async function run(seed: number) {
      const own = await startSandbox({ seed } satisfies SandboxOptions);
      try {
        const ownClient = client(own);
        const regKey = await registerRegKey(own, ownClient);
        own.control.addFault({
          api: 'preapprovedPay',
          probability: 0.5,
          action: { kind: 'error_after_commit' },
        });
        const seen: string[] = [];
        for (let i = 0; i < 12; i++) {
          const outcome = await ownClient.payPreapproved(regKey, charge(`seeded-${i}`)).then(
            () => 'ok',
            (e: unknown) => (e instanceof LinePayError ? (e.returnCode ?? e.code) : 'other'),
          );
          seen.push(outcome);
        }
        // Every call charged, whatever it was told.
        expect(own.control.ledger().filter((e) => e.orderId.startsWith('seeded-'))).toHaveLength(12);
        return seen;
      } finally {
        await own.close();
      }
    }
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(a).toContain('ok');
    expect(a).toContain('9000');
  });
});
