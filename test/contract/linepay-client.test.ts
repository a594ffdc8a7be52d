import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Currency,
  LinePayClient,
  type LinePayClientOptions,
  LinePayError,
  type LinePayErrorCode,
  type PaymentRequestBody,
} from '../../activities/linepay/index.js';
import { startSandbox } from '../../sandbox/index.js';
import { verifySignature } from '../../sandbox/signature.js';

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

let sb: Sandbox;
let lp: LinePayClient;
let seq = 0;

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  lp = client();
});

afterAll(async () => {
  await sb.close();
});

beforeEach(() => {
  sb.control.clearFaults();
});

function client(overrides: Partial<LinePayClientOptions> = {}): LinePayClient {
  return new LinePayClient({
    channelId: sb.channelId,
    channelSecret: sb.channelSecret,
    baseUrl: sb.url,
    ...overrides,
  });
}

function uniqueOrderId(label: string): string {
  seq += 1;
  return `ct-${label}-${Date.now()}-${seq}`;
}

function requestBody(
  orderId: string,
  opts: {
    preapproved?: boolean;
    capture?: boolean;
    amount?: number;
    currency?: Currency;
    name?: string;
  } = {},
): PaymentRequestBody {
  const amount = opts.amount ?? 300;
  return {
    amount,
    currency: opts.currency ?? 'TWD',
    orderId,
    packages: [
      {
        id: 'pkg-1',
        amount,
        name: '月費方案',
        products: [{ name: opts.name ?? '訂閱 Premium แพ็กเกจรายเดือน', quantity: 1, price: amount }],
      },
    ],
    redirectUrls: {
      confirmUrl: 'https://merchant.example/confirm',
      cancelUrl: 'https://merchant.example/cancel',
    },
    options: {
      payment: {
        ...(opts.preapproved ? { payType: 'PREAPPROVED' as const } : {}),
        ...(opts.capture === undefined ? {} : { capture: opts.capture }),
      },
    },
  };
}

/** request → user approves → confirm; returns the confirm info. */
async function payByUser(opts: Parameters<typeof requestBody>[1] = {}) {
  const body = requestBody(uniqueOrderId('user'), opts);
  const reserved = await lp.requestPayment(body);
  sb.control.approve(reserved.transactionId);
  const confirmed = await lp.confirm(reserved.transactionId, {
    amount: body.amount,
    currency: body.currency,
  });
  return { body, reserved, confirmed };
}

async function registerRegKey(): Promise<string> {
  const { confirmed } = await payByUser({ preapproved: true });
  expect(confirmed.regKey).toMatch(/^RK[0-9A-Z]{13}$/);
  return confirmed.regKey ?? '';
}

function charge(orderId: string, amount = 490) {
  return { productName: '月費 訂閱 สมาชิกรายเดือน', amount, currency: 'TWD' as const, orderId };
}

function ledgerPayments(orderId: string) {
  return sb.control.ledger().filter((e) => e.kind === 'payment' && e.orderId === orderId);
}

/** Awaits a rejection, checks it is a LinePayError of `code`, and that nothing secret leaks from it. */
async function expectLinePayError(
  promise: Promise<unknown>,
  code: LinePayErrorCode,
  secrets: string[] = [],
): Promise<LinePayError> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected ${code}, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinePayError);
  const lpe = err as LinePayError;
  expect(lpe.code).toBe(code);
  expect(lpe.name).toBe('LinePayError');
  const texts = [String(lpe), JSON.stringify(lpe), lpe.message, lpe.path, String(lpe.cause ?? '')];
  for (const text of texts) {
    for (const secret of [sb.channelSecret, ...secrets]) expect(text).not.toContain(secret);
  }
  return lpe;
}

describe('LinePayClient against the sandbox', () => {
  it('keeps a transactionId above 2^53 exact through request → approve → confirm → details', async () => {
    const body = requestBody(uniqueOrderId('bigid'));
    const reserved = await lp.requestPayment(body);
    expect(reserved.transactionId).toMatch(/^\d{19}$/);
    expect(BigInt(reserved.transactionId) > 2n ** 53n).toBe(true);
    expect(String(Number(reserved.transactionId))).not.toBe(reserved.transactionId);
    expect(reserved.paymentAccessToken).toMatch(/^\d{12}$/);
    expect(reserved.paymentUrl.web).toContain('transactionReserveId=');

    expect(await lp.checkRequestStatus(reserved.transactionId)).toBe('waiting');
    sb.control.approve(reserved.transactionId);
    expect(await lp.checkRequestStatus(reserved.transactionId)).toBe('authenticated');

    const confirmed = await lp.confirm(reserved.transactionId, { amount: 300, currency: 'TWD' });
    expect(confirmed.transactionId).toBe(reserved.transactionId);
    expect(confirmed.orderId).toBe(body.orderId);
    expect(confirmed.regKey).toBeUndefined();
    expect(await lp.checkRequestStatus(reserved.transactionId)).toBe('completed');

    const ledger = sb.control.ledger().filter((e) => e.orderId === body.orderId);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]?.transactionId).toBe(reserved.transactionId);

    const [detail, ...rest] = await lp.getPaymentDetails({ transactionId: reserved.transactionId });
    expect(rest).toEqual([]);
    expect(detail?.transactionId).toBe(ledger[0]?.transactionId);
    expect(detail).toMatchObject({ transactionType: 'PAYMENT', payStatus: 'CAPTURE' });
  });

  it('works under the /v4 prefix too', async () => {
    const v4 = client({ apiVersion: 'v4' });
    const reserved = await v4.requestPayment(requestBody(uniqueOrderId('v4')));
    expect(await v4.checkRequestStatus(reserved.transactionId)).toBe('waiting');
  });

  it('confirm: 1169 before approval is transient, a repeat is already_processed, unknown id is merchant_config', async () => {
    const body = requestBody(uniqueOrderId('confirm'));
    const reserved = await lp.requestPayment(body);
    await expectLinePayError(
      lp.confirm(reserved.transactionId, { amount: 300, currency: 'TWD' }),
      'transient',
    );
    sb.control.approve(reserved.transactionId);
    await expectLinePayError(
      lp.confirm(reserved.transactionId, { amount: 301, currency: 'TWD' }),
      'merchant_config',
    );
    await lp.confirm(reserved.transactionId, { amount: 300, currency: 'TWD' });
    const again = await expectLinePayError(
      lp.confirm(reserved.transactionId, { amount: 300, currency: 'TWD' }),
      'already_processed',
    );
    expect(again.returnCode).toBe('1152');
    const unknown = await expectLinePayError(
      lp.confirm('2026112699999999999', { amount: 300, currency: 'TWD' }),
      'merchant_config',
    );
    expect(unknown.returnCode).toBe('1150');
  });

  it('request: a reused orderId is duplicate_order (1172); a sum mismatch is merchant_config', async () => {
    const body = requestBody(uniqueOrderId('dupreq'));
    await lp.requestPayment(body);
    await expectLinePayError(lp.requestPayment(body), 'duplicate_order');
    const bad = requestBody(uniqueOrderId('sum'));
    await expectLinePayError(lp.requestPayment({ ...bad, amount: bad.amount + 1 }), 'merchant_config');
  });

  it('PREAPPROVED: confirm returns a regKey that checks out and can be charged', async () => {
    const regKey = await registerRegKey();
    await lp.checkRegKey(regKey);
    const orderId = uniqueOrderId('charge');
    const paid = await lp.payPreapproved(regKey, charge(orderId));
    expect(paid.transactionId).toMatch(/^\d{19}$/);
    expect(paid.transactionDate).toMatch(/^\d{4}-\d\d-\d\dT/);
    const ledger = ledgerPayments(orderId);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]?.transactionId).toBe(paid.transactionId);

    const found = await lp.findPaymentByOrderId(orderId);
    expect(found?.transactionId).toBe(paid.transactionId);
    expect(await lp.findPaymentByOrderId(uniqueOrderId('nothing'))).toBeUndefined();
    expect(await lp.getPaymentDetails({ orderId: uniqueOrderId('nothing') })).toEqual([]);

    const once = await lp.payPreapprovedOnce(regKey, charge(uniqueOrderId('once')));
    expect(once).toMatchObject({ status: 'charged', recovered: false });
  });

  it('drop_after_commit → payPreapprovedOnce recovers the charge by lookup, one ledger payment', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('drop');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    const result = await lp.payPreapprovedOnce(regKey, charge(orderId));
    const ledger = ledgerPayments(orderId);
    expect(ledger).toHaveLength(1);
    expect(result).toEqual({
      status: 'charged',
      transactionId: ledger[0]?.transactionId,
      transactionDate: expect.any(String),
      recovered: true,
    });
  });

  it('drop_after_commit on the bare call → unknown_outcome with a masked regKey', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('drop-bare');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    const err = await expectLinePayError(lp.payPreapproved(regKey, charge(orderId)), 'unknown_outcome', [
      regKey,
    ]);
    expect(err.retryable).toBe(true);
    expect(err.path).toBe(`/v3/payments/preapprovedPay/RK…${regKey.slice(-4)}/payment`);
    expect(ledgerPayments(orderId)).toHaveLength(1);
  });

  it('HTTP 503 before commit → not_found; the same orderId then charges exactly once', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('503');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'http_error', status: 503 },
    });
    expect(await lp.payPreapprovedOnce(regKey, charge(orderId))).toEqual({
      status: 'not_found',
      reason: 'unknown_outcome',
    });
    expect(ledgerPayments(orderId)).toHaveLength(0);
    const second = await lp.payPreapprovedOnce(regKey, charge(orderId));
    expect(second).toMatchObject({ status: 'charged', recovered: false });
    const ledger = ledgerPayments(orderId);
    expect(ledger).toHaveLength(1);
    expect(second.status === 'charged' && second.transactionId).toBe(ledger[0]?.transactionId);
  });

  it('1172 on a retry of a charged orderId resolves by lookup to the same transaction', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('1172');
    const first = await lp.payPreapproved(regKey, charge(orderId));
    const dup = await expectLinePayError(lp.payPreapproved(regKey, charge(orderId)), 'duplicate_order', [
      regKey,
    ]);
    expect(dup.returnCode).toBe('1172');
    expect(dup.retryable).toBe(false);
    expect(await lp.payPreapprovedOnce(regKey, charge(orderId))).toEqual({
      status: 'charged',
      transactionId: first.transactionId,
      transactionDate: expect.any(String),
      recovered: true,
    });
    expect(ledgerPayments(orderId)).toHaveLength(1);
  });

  it('read timeout after commit → unknown_outcome, then recovery by lookup', async () => {
    const regKey = await registerRegKey();
    const fast = client({ timeouts: { preapprovedPay: 300 } });
    const orderId = uniqueOrderId('hang');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'hang_after_commit', ms: 2_000 },
    });
    const err = await expectLinePayError(fast.payPreapproved(regKey, charge(orderId)), 'unknown_outcome', [
      regKey,
    ]);
    expect(err.message).toContain('300 ms');
    const recovered = await fast.payPreapprovedOnce(regKey, charge(orderId));
    expect(recovered).toMatchObject({ status: 'charged', recovered: true });
    expect(ledgerPayments(orderId)).toHaveLength(1);

    const orderId2 = uniqueOrderId('hang-once');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: orderId2 },
      times: 1,
      action: { kind: 'hang_after_commit', ms: 2_000 },
    });
    expect(await fast.payPreapprovedOnce(regKey, charge(orderId2))).toMatchObject({
      status: 'charged',
      recovered: true,
    });
    expect(ledgerPayments(orderId2)).toHaveLength(1);
  });

  it.each([
    ['1142', 'declined_soft'],
    ['1288', 'declined_soft'],
    ['1110', 'declined_hard'],
    ['1296', 'declined_hard'],
    ['1281', 'regkey_dead'],
    ['1291', 'regkey_dead'],
    ['1124', 'merchant_config'],
    ['1197', 'unknown_outcome'],
    ['9000', 'unknown_outcome'],
  ] as const)('preapprovedPay return code %s → %s', async (code, category) => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId(`rc${code}`);
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'return_code', code },
    });
    const err = await expectLinePayError(lp.payPreapproved(regKey, charge(orderId)), category, [regKey]);
    expect(err.returnCode).toBe(code);
    expect(ledgerPayments(orderId)).toHaveLength(0);
  });

  it.each([
    ['1142', 'declined_soft'],
    ['1287', 'regkey_dead'],
    ['2101', 'merchant_config'],
  ] as const)('payPreapprovedOnce throws definite outcomes: %s → %s', async (code, category) => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId(`once${code}`);
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'return_code', code },
    });
    const before = sb.control.requests().length;
    await expectLinePayError(lp.payPreapprovedOnce(regKey, charge(orderId)), category, [regKey]);
    // A definite answer needs no lookup.
    expect(
      sb.control
        .requests()
        .slice(before)
        .map((r) => r.method),
    ).toEqual(['POST']);
  });

  it('ambiguous return code 1197 through payPreapprovedOnce → not_found (nothing was charged)', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('1197');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'return_code', code: '1197' },
    });
    expect(await lp.payPreapprovedOnce(regKey, charge(orderId))).toEqual({
      status: 'not_found',
      reason: 'unknown_outcome',
    });
  });

  it('an expired regKey is regkey_dead on charge and check; expire is idempotent', async () => {
    const regKey = await registerRegKey();
    sb.control.expireRegKey(regKey);
    const err = await expectLinePayError(
      lp.payPreapprovedOnce(regKey, charge(uniqueOrderId('dead'))),
      'regkey_dead',
      [regKey],
    );
    expect(err.returnCode).toBe('1193');
    expect(err.retryable).toBe(false);
    await expectLinePayError(lp.checkRegKey(regKey), 'regkey_dead', [regKey]);
    expect(await lp.expireRegKey(regKey)).toEqual({ alreadyExpired: true });

    const live = await registerRegKey();
    expect(await lp.expireRegKey(live)).toEqual({ alreadyExpired: false });
    expect(await lp.expireRegKey(live)).toEqual({ alreadyExpired: true });
    await expectLinePayError(lp.checkRegKey(live, { creditCardAuth: false }), 'regkey_dead', [live]);
    await expectLinePayError(lp.checkRegKey('RK0000000000000'), 'regkey_dead', ['RK0000000000000']);
  });

  it('refund: full and partial, ids exact, repeat is already_processed', async () => {
    const { reserved } = await payByUser({ amount: 1000 });
    const partial = await lp.refund(reserved.transactionId, { refundAmount: 400 });
    expect(partial.refundTransactionId).toMatch(/^\d{19}$/);
    const rest = await lp.refund(reserved.transactionId);
    expect(rest.refundTransactionId).not.toBe(partial.refundTransactionId);
    await expectLinePayError(lp.refund(reserved.transactionId), 'already_processed');

    const refunds = sb.control
      .ledger()
      .filter((e) => e.kind === 'refund' && e.transactionId === reserved.transactionId);
    expect(refunds.map((r) => r.refundTransactionId)).toEqual([
      partial.refundTransactionId,
      rest.refundTransactionId,
    ]);

    const [detail] = await lp.getPaymentDetails({ transactionId: reserved.transactionId });
    expect(detail?.refundList?.map((r) => r.refundTransactionId).sort()).toEqual(
      [partial.refundTransactionId, rest.refundTransactionId].sort(),
    );
  });

  it('capture=false: capture and void, repeat void is already_processed', async () => {
    const captured = await payByUser({ capture: false, amount: 500 });
    expect(captured.confirmed.authorizationExpireDate).toBeTypeOf('string');
    const cap = await lp.capture(captured.reserved.transactionId, { amount: 500, currency: 'TWD' });
    expect(cap.transactionId).toBe(captured.reserved.transactionId);
    expect(cap.orderId).toBe(captured.body.orderId);
    const [detail] = await lp.getPaymentDetails({ transactionId: captured.reserved.transactionId });
    expect(detail?.payStatus).toBe('CAPTURE');

    const voided = await payByUser({ capture: false, amount: 500 });
    await lp.void(voided.reserved.transactionId);
    await expectLinePayError(lp.void(voided.reserved.transactionId), 'already_processed');
    await expectLinePayError(
      lp.capture(voided.reserved.transactionId, { amount: 500, currency: 'TWD' }),
      'already_processed',
    );
    expect(sb.control.ledger().filter((e) => e.orderId === voided.body.orderId)).toHaveLength(0);
  });

  it('details: several ids at once; a 9000 fault is unknown_outcome', async () => {
    const a = await payByUser();
    const b = await payByUser();
    const details = await lp.getPaymentDetails({
      transactionId: [a.reserved.transactionId, b.reserved.transactionId],
    });
    expect(details.map((d) => d.transactionId).sort()).toEqual(
      [a.reserved.transactionId, b.reserved.transactionId].sort(),
    );
    sb.control.addFault({ api: 'details', times: 1, action: { kind: 'return_code', code: '9000' } });
    await expectLinePayError(lp.getPaymentDetails({ orderId: a.body.orderId }), 'unknown_outcome');
  });

  it('a lookup failing after an ambiguous charge is thrown, not reported as not_found', async () => {
    const regKey = await registerRegKey();
    const orderId = uniqueOrderId('lookup-fail');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    sb.control.addFault({ api: 'details', times: 1, action: { kind: 'http_error', status: 503 } });
    await expectLinePayError(lp.payPreapprovedOnce(regKey, charge(orderId)), 'unknown_outcome', [regKey]);
    expect(await lp.payPreapprovedOnce(regKey, charge(orderId))).toMatchObject({
      status: 'charged',
      recovered: true,
    });
    expect(ledgerPayments(orderId)).toHaveLength(1);
  });

  it('a wrong channel secret → merchant_config (1106), and the secret never leaks', async () => {
    const wrongSecret = 'definitely-not-the-secret-0042';
    const bad = client({ channelSecret: wrongSecret });
    const err = await expectLinePayError(
      bad.requestPayment(requestBody(uniqueOrderId('badsig'))),
      'merchant_config',
      [wrongSecret],
    );
    expect(err.returnCode).toBe('1106');
    const regKey = await registerRegKey();
    await expectLinePayError(bad.payPreapproved(regKey, charge(uniqueOrderId('badsig'))), 'merchant_config', [
      wrongSecret,
      regKey,
    ]);
  });

  it('connection refused → not_sent', async () => {
    const port = await closedPort();
    const dead = client({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await expectLinePayError(dead.payPreapproved('RK5C38F19XTF425', charge('x')), 'not_sent', [
      'RK5C38F19XTF425',
    ]);
    expect(err.retryable).toBe(true);
    await expectLinePayError(dead.payPreapprovedOnce('RK5C38F19XTF425', charge('x')), 'not_sent');
  });

  it('what our client puts on the wire is signed correctly, and its logs and errors never carry a regKey', async () => {
    // Record the wire (exact bytes and headers) and the client's logger, not the sandbox's own masked log.
    const wire: { method: string; url: URL; body: Buffer; headers: Headers }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const req = new Request(input, init);
      wire.push({
        method: req.method,
        url: new URL(req.url),
        body: Buffer.from(await req.clone().arrayBuffer()),
        headers: req.headers,
      });
      return fetch(req);
    };
    const logged: unknown[] = [];
    const logger = {
      debug: (message: string, meta?: object) => logged.push({ message, meta }),
      warn: (message: string, meta?: object) => logged.push({ message, meta }),
    };
    const wired = client({ fetch: recordingFetch, logger });
    const regKey = await registerRegKey();
    const errors: unknown[] = [];
    await wired.checkRegKey(regKey);
    await wired.payPreapproved(regKey, charge(uniqueOrderId('wire')));
    const lost = uniqueOrderId('wire-lost');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId: lost },
      times: 1,
      action: { kind: 'drop_after_commit' },
    });
    errors.push(await wired.payPreapproved(regKey, charge(lost)).catch((e: unknown) => e));
    errors.push(await wired.payPreapproved(regKey, charge(lost)).catch((e: unknown) => e)); // 1172
    await wired.findPaymentByOrderId(lost);
    await wired.expireRegKey(regKey);
    errors.push(
      await wired.payPreapproved(regKey, charge(uniqueOrderId('wire-dead'))).catch((e: unknown) => e),
    );

    const apis = wire.map((w) => `${w.method} ${w.url.pathname.replace(regKey, '{regKey}')}`);
    expect(apis).toEqual([
      'GET /v3/payments/preapprovedPay/{regKey}/check',
      'POST /v3/payments/preapprovedPay/{regKey}/payment',
      'POST /v3/payments/preapprovedPay/{regKey}/payment',
      'POST /v3/payments/preapprovedPay/{regKey}/payment',
      'GET /v3/payments',
      'POST /v3/payments/preapprovedPay/{regKey}/expire',
      'POST /v3/payments/preapprovedPay/{regKey}/payment',
    ]);
    const nonces = new Set<string>();
    for (const w of wire) {
      // Checked with the sandbox's own HMAC code (not the client's): path + exact body or raw query + nonce.
      const nonce = w.headers.get('x-line-authorization-nonce') ?? '';
      const signature = w.headers.get('x-line-authorization') ?? '';
      const payload = w.method === 'GET' ? Buffer.from(w.url.search.replace(/^\?/, ''), 'utf8') : w.body;
      expect(w.headers.get('x-line-channelid')).toBe(sb.channelId);
      expect(verifySignature(sb.channelSecret, w.url.pathname, payload, nonce, signature)).toBe(true);
      nonces.add(nonce);
      expect(w.body.toString('utf8')).not.toContain(sb.channelSecret);
    }
    expect(nonces.size).toBe(wire.length);
    expect(errors.map((e) => (e as LinePayError).code)).toEqual([
      'unknown_outcome',
      'duplicate_order',
      'regkey_dead',
    ]);

    // The client's own output: every log line and error names the key only masked.
    expect(logged.length).toBeGreaterThanOrEqual(wire.length);
    const text = JSON.stringify([
      logged,
      errors.map((e) => [String(e), JSON.stringify(e), (e as Error).stack]),
    ]);
    expect(text).not.toContain(regKey);
    expect(text).not.toContain(encodeURIComponent(regKey));
    expect(text).not.toContain(sb.channelSecret);
    expect(text).toContain(`RK…${regKey.slice(-4)}`);
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}
