import { createHmac, randomUUID } from 'node:crypto';
import { parse } from 'lossless-json';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../../sandbox/index.js';

// Written independently of sandbox/signature.ts: the test signs the way a merchant would.
function sign(secret: string, path: string, payload: string, nonce: string): string {
  return createHmac('sha256', secret)
    .update(secret + path + payload + nonce)
    .digest('base64');
}

interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test access to arbitrary envelope fields
  body: any;
}

interface CallOptions {
  nonce?: string;
  secret?: string;
  channelId?: string;
  /** Sign these bytes instead of the ones sent. */
  signedPayload?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Big integers become strings so assertions compare exact digits. */
function parseReply(text: string): unknown {
  return parse(text, null, (digits) => (/^-?\d{16,}$/.test(digits) ? digits : Number(digits)));
}

async function call(
  sb: RunningSandbox,
  method: 'GET' | 'POST',
  pathAndQuery: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<Reply> {
  const [path = '', query = ''] = pathAndQuery.split('?');
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const nonce = opts.nonce ?? randomUUID();
  const secret = opts.secret ?? sb.channelSecret;
  const payload = opts.signedPayload ?? (method === 'GET' ? query : text);
  const res = await fetch(sb.url + pathAndQuery, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-line-channelid': opts.channelId ?? sb.channelId,
      'x-line-authorization-nonce': nonce,
      'x-line-authorization': sign(secret, path, payload, nonce),
      ...opts.headers,
    },
    ...(method === 'POST' ? { body: text } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const raw = await res.text();
  let parsed: unknown;
  try {
    parsed = parseReply(raw);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text: raw, body: parsed };
}

let seq = 0;
const newOrderId = (prefix = 'order') => `${prefix}-${++seq}-${randomUUID().slice(0, 8)}`;

function requestBody(
  overrides: Record<string, unknown> = {},
  payType: 'NORMAL' | 'PREAPPROVED' = 'PREAPPROVED',
) {
  return {
    amount: 300,
    currency: 'TWD',
    orderId: newOrderId('req'),
    packages: [
      {
        id: 'pkg-1',
        amount: 300,
        name: 'Monthly plan',
        products: [{ name: 'Premium subscription', quantity: 1, price: 300 }],
      },
    ],
    redirectUrls: {
      confirmUrl: 'https://merchant.example/confirm',
      cancelUrl: 'https://merchant.example/cancel',
    },
    options: { payment: { payType, capture: true } },
    ...overrides,
  };
}

const RAW_TX_ID = /"transactionId":(\d{19})[,}]/;

async function reserve(
  sb: RunningSandbox,
  overrides: Record<string, unknown> = {},
  payType: 'NORMAL' | 'PREAPPROVED' = 'PREAPPROVED',
) {
  const body = requestBody(overrides, payType);
  const res = await call(sb, 'POST', '/v3/payments/request', body);
  expect(res.body.returnCode).toBe('0000');
  return { body, transactionId: res.body.info.transactionId as string, res };
}

/** request → approve → confirm; returns the regKey for PREAPPROVED. */
async function register(sb: RunningSandbox, overrides: Record<string, unknown> = {}) {
  const r = await reserve(sb, overrides);
  sb.control.approve(r.transactionId);
  const confirm = await call(sb, 'POST', `/v3/payments/${r.transactionId}/confirm`, {
    amount: r.body.amount,
    currency: r.body.currency,
  });
  expect(confirm.body.returnCode).toBe('0000');
  return { ...r, confirm, regKey: confirm.body.info.regKey as string };
}

function pay(
  sb: RunningSandbox,
  regKey: string,
  fields: Record<string, unknown> = {},
  opts: CallOptions = {},
) {
  return call(
    sb,
    'POST',
    `/v3/payments/preapprovedPay/${regKey}/payment`,
    {
      productName: 'Premium subscription',
      amount: 300,
      currency: 'TWD',
      orderId: newOrderId('pay'),
      ...fields,
    },
    opts,
  );
}

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ port: 0, merchantName: 'Acme Subscriptions' });
});
afterAll(async () => {
  await sb.close();
});
afterEach(() => {
  sb.control.clearFaults();
});

describe('authentication', () => {
  it('accepts a correct signature over the raw UTF-8 body', async () => {
    const body = requestBody({
      packages: [{ id: 'p', amount: 300, products: [{ name: '訂閱 สมาชิก', quantity: 1, price: 300 }] }],
    });
    const res = await call(sb, 'POST', '/v3/payments/request', body);
    expect(res.status).toBe(200);
    expect(res.body.returnCode).toBe('0000');
  });

  it('rejects a bad signature with HTTP 200 + 1106 and processes nothing', async () => {
    const body = requestBody();
    const bad = await call(sb, 'POST', '/v3/payments/request', body, { secret: 'wrong-secret' });
    expect(bad.status).toBe(200);
    expect(bad.body).toEqual({ returnCode: '1106', returnMessage: 'Header information error.' });
    // the orderId was not consumed
    const good = await call(sb, 'POST', '/v3/payments/request', body);
    expect(good.body.returnCode).toBe('0000');
  });

  it('verifies the bytes as received, not a re-serialization', async () => {
    const sent = '{ "amount": 300, "currency": "TWD" }';
    const res = await call(sb, 'POST', '/v3/payments/request', sent, {
      signedPayload: JSON.stringify(JSON.parse(sent)),
    });
    expect(res.body.returnCode).toBe('1106');
  });

  it('rejects an unknown channel and missing headers', async () => {
    const wrongChannel = await call(sb, 'POST', '/v3/payments/request', requestBody(), { channelId: '999' });
    expect(wrongChannel.body.returnCode).toBe('1106');
    const res = await fetch(`${sb.url}/v3/payments/request`, {
      method: 'POST',
      body: JSON.stringify(requestBody()),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { returnCode: string }).returnCode).toBe('1106');
  });

  it('rejects a reused nonce', async () => {
    const nonce = randomUUID();
    const first = await call(sb, 'GET', '/v3/payments/requests/2026112600000000001/check', undefined, {
      nonce,
    });
    expect(first.body.returnCode).toBe('1150');
    const second = await call(sb, 'GET', '/v3/payments/requests/2026112600000000001/check', undefined, {
      nonce,
    });
    expect(second.body.returnCode).toBe('1106');
  });

  it('signs GET requests over the raw query string', async () => {
    const q = 'orderId=nope-1&orderId=nope-2';
    const good = await call(sb, 'GET', `/v3/payments?${q}`);
    expect(good.body.returnCode).toBe('1150');
    const bad = await call(sb, 'GET', `/v3/payments?${q}`, undefined, { signedPayload: '' });
    expect(bad.body.returnCode).toBe('1106');
  });

  it('accepts /v4 as an alias, signed with the /v4 path', async () => {
    const res = await call(sb, 'POST', '/v4/payments/request', requestBody());
    expect(res.body.returnCode).toBe('0000');
  });

  it('can answer a bad signature with another code when configured', async () => {
    const other = await startSandbox({ behaviour: { badSignatureReturnCode: '1104' } });
    try {
      const res = await call(other, 'POST', '/v3/payments/request', requestBody(), { secret: 'x' });
      expect(res.body.returnCode).toBe('1104');
    } finally {
      await other.close();
    }
  });
});

describe('request validation', () => {
  it('enforces package amount = Σ quantity × price (2101 naming the field)', async () => {
    const res = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({
        packages: [{ id: 'p', amount: 300, products: [{ name: 'x', quantity: 2, price: 100 }] }],
      }),
    );
    expect(res.body.returnCode).toBe('2101');
    expect(res.body.returnMessage).toContain('packages[0].amount');
  });

  it('enforces amount = Σ package amounts + userFee', async () => {
    const mismatch = await call(sb, 'POST', '/v3/payments/request', requestBody({ amount: 301 }));
    expect(mismatch.body.returnCode).toBe('2101');
    const withFee = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({
        amount: 310,
        packages: [{ id: 'p', amount: 300, userFee: 10, products: [{ name: 'x', quantity: 3, price: 100 }] }],
      }),
    );
    expect(withFee.body.returnCode).toBe('0000');
  });

  it('rejects unsupported currency (1178) and bad scale (1124)', async () => {
    const jpy = await call(sb, 'POST', '/v3/payments/request', requestBody({ currency: 'JPY' }));
    expect(jpy.body.returnCode).toBe('1178');
    const decimals = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({
        amount: 10.5,
        packages: [{ id: 'p', amount: 10.5, products: [{ name: 'x', quantity: 1, price: 10.5 }] }],
      }),
    );
    expect(decimals.body.returnCode).toBe('1124');
    const usd = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({
        currency: 'USD',
        amount: 10.5,
        packages: [{ id: 'p', amount: 10.5, products: [{ name: 'x', quantity: 3, price: 3.5 }] }],
      }),
    );
    expect(usd.body.returnCode).toBe('0000');
  });

  it('requires orderId ≤ 100 chars, unique per channel (1172)', async () => {
    const long = await call(sb, 'POST', '/v3/payments/request', requestBody({ orderId: 'x'.repeat(101) }));
    expect(long.body.returnCode).toBe('2101');
    expect(long.body.returnMessage).toContain('orderId');
    const missing = await call(sb, 'POST', '/v3/payments/request', requestBody({ orderId: undefined }));
    expect(missing.body.returnCode).toBe('2101');
    const ok = await call(sb, 'POST', '/v3/payments/request', requestBody({ orderId: 'x'.repeat(100) }));
    expect(ok.body.returnCode).toBe('0000');
    const again = await call(sb, 'POST', '/v3/payments/request', requestBody({ orderId: 'x'.repeat(100) }));
    expect(again.body.returnCode).toBe('1172');
  });

  it('requires redirect URLs unless confirmUrlType is NONE, and packages', async () => {
    const noConfirm = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({ redirectUrls: { cancelUrl: 'https://m.example/c' } }),
    );
    expect(noConfirm.body.returnCode).toBe('2101');
    expect(noConfirm.body.returnMessage).toContain('confirmUrl');
    const none = await call(
      sb,
      'POST',
      '/v3/payments/request',
      requestBody({ redirectUrls: { cancelUrl: 'https://m.example/c', confirmUrlType: 'NONE' } }),
    );
    expect(none.body.returnCode).toBe('0000');
    const noPackages = await call(sb, 'POST', '/v3/payments/request', requestBody({ packages: [] }));
    expect(noPackages.body.returnCode).toBe('2101');
  });

  it('answers malformed JSON with 2102', async () => {
    const res = await call(sb, 'POST', '/v3/payments/request', '{"amount": 3');
    expect(res.body.returnCode).toBe('2102');
  });
});

describe('identifiers', () => {
  it('emits 19-digit transactionIds as unquoted JSON numbers beyond 2^53', async () => {
    const { res } = await reserve(sb);
    const m = RAW_TX_ID.exec(res.text);
    expect(m).not.toBeNull();
    const digits = m?.[1] ?? '';
    expect(digits).toHaveLength(19);
    expect(BigInt(digits) > 2n ** 53n).toBe(true);
    expect(String(Number(digits))).not.toBe(digits);
    expect(BigInt(Math.round(Number(digits)))).not.toBe(BigInt(digits));
    expect(res.body.info.paymentAccessToken).toMatch(/^\d{12}$/);
    expect(res.body.info.paymentUrl.web).toMatch(
      new RegExp(`^${sb.url}/web/payment/wait\\?transactionReserveId=`),
    );
    expect(res.body.info.paymentUrl.app).toMatch(/^line:\/\/pay\/payment\/.+/);
  });

  it('produces the same ids for the same seed', async () => {
    const a = await startSandbox({ seed: 42 });
    const b = await startSandbox({ seed: 42 });
    try {
      const ra = await call(a, 'POST', '/v3/payments/request', requestBody({ orderId: 'same' }));
      const rb = await call(b, 'POST', '/v3/payments/request', requestBody({ orderId: 'same' }));
      expect(ra.body.info.transactionId).toBe(rb.body.info.transactionId);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('user approval and request status', () => {
  it('appends transactionId to a confirmUrl with a query string, keeping an existing orderId', async () => {
    const { transactionId, body } = await reserve(sb, {
      redirectUrls: {
        confirmUrl: 'https://merchant.example/cb?sub=42&orderId=already',
        cancelUrl: 'https://merchant.example/cancel',
      },
    });
    const { redirectUrl } = sb.control.approve(transactionId);
    const url = new URL(redirectUrl);
    expect(url.origin + url.pathname).toBe('https://merchant.example/cb');
    expect(url.searchParams.get('sub')).toBe('42');
    expect(url.searchParams.getAll('orderId')).toEqual(['already']);
    expect(url.searchParams.get('transactionId')).toBe(transactionId);
    expect(redirectUrl.startsWith('https://merchant.example/cb?sub=42&orderId=already&transactionId=')).toBe(
      true,
    );
    expect(body.orderId).not.toBe('already');
  });

  it('reports 0000 → 0110 → 0123 and 0121 after cancel', async () => {
    const { transactionId, body } = await reserve(sb);
    const status = async (id: string) =>
      (await call(sb, 'GET', `/v3/payments/requests/${id}/check`)).body.returnCode as string;
    expect(await status(transactionId)).toBe('0000');
    sb.control.approve(transactionId);
    expect(await status(transactionId)).toBe('0110');
    await call(sb, 'POST', `/v3/payments/${transactionId}/confirm`, { amount: 300, currency: 'TWD' });
    expect(await status(transactionId)).toBe('0123');

    const other = await reserve(sb);
    const { redirectUrl } = sb.control.cancel(other.transactionId);
    expect(new URL(redirectUrl).searchParams.get('transactionId')).toBe(other.transactionId);
    expect(new URL(redirectUrl).searchParams.get('orderId')).toBe(other.body.orderId);
    expect(await status(other.transactionId)).toBe('0121');
    expect(body.orderId).toBeDefined();
  });

  it('exposes approve/cancel over HTTP control routes', async () => {
    const { transactionId } = await reserve(sb);
    const res = await fetch(`${sb.url}/__sandbox/transactions/${transactionId}/approve`, { method: 'POST' });
    expect(res.status).toBe(200);
    const { redirectUrl } = (await res.json()) as { redirectUrl: string };
    expect(new URL(redirectUrl).searchParams.get('transactionId')).toBe(transactionId);
    const unknown = await fetch(`${sb.url}/__sandbox/transactions/123/approve`, { method: 'POST' });
    expect(unknown.status).toBe(409);
  });
});

describe('confirm', () => {
  it('walks 1150 → 1169 → 1153 → 0000 → 1152', async () => {
    const unknown = await call(sb, 'POST', '/v3/payments/2026112699999999999/confirm', {
      amount: 300,
      currency: 'TWD',
    });
    expect(unknown.body.returnCode).toBe('1150');
    const { transactionId, body } = await reserve(sb, {}, 'NORMAL');
    const path = `/v3/payments/${transactionId}/confirm`;
    expect((await call(sb, 'POST', path, { amount: 300, currency: 'TWD' })).body.returnCode).toBe('1169');
    sb.control.approve(transactionId);
    expect((await call(sb, 'POST', path, { amount: 299, currency: 'TWD' })).body.returnCode).toBe('1153');
    expect((await call(sb, 'POST', path, { amount: 300, currency: 'USD' })).body.returnCode).toBe('1153');
    const ok = await call(sb, 'POST', path, { amount: 300, currency: 'TWD' });
    expect(ok.body.returnCode).toBe('0000');
    expect(RAW_TX_ID.exec(ok.text)?.[1]).toBe(transactionId);
    expect(ok.body.info.orderId).toBe(body.orderId);
    expect(ok.body.info.payInfo[0]).toMatchObject({ method: 'CREDIT_CARD', amount: 300 });
    expect(ok.body.info.packages[0]).toMatchObject({ id: 'pkg-1', amount: 300 });
    expect(ok.body.info.regKey).toBeUndefined();
    expect((await call(sb, 'POST', path, { amount: 300, currency: 'TWD' })).body.returnCode).toBe('1152');
    const ledger = sb.control.ledger().filter((e) => e.orderId === body.orderId);
    expect(ledger).toEqual([
      expect.objectContaining({
        kind: 'payment',
        transactionId,
        amount: 300,
        currency: 'TWD',
        payType: 'NORMAL',
        source: 'confirm',
      }),
    ]);
  });

  it('issues a 15-char regKey only for PREAPPROVED', async () => {
    const { regKey, transactionId, body } = await register(sb);
    expect(regKey).toMatch(/^RK[0-9A-Z]{13}$/);
    expect(sb.control.regKeys()).toContainEqual(expect.objectContaining({ regKey, status: 'ACTIVE' }));
    const entry = sb.control.ledger().find((e) => e.transactionId === transactionId);
    expect(entry).toMatchObject({
      payType: 'PREAPPROVED',
      orderId: body.orderId,
      regKey: `RK…${regKey.slice(-4)}`,
    });
  });

  it('answers 1180 once the reservation or the approval window expired, or after cancel', async () => {
    let now = Date.parse('2026-11-26T00:00:00Z');
    const timed = await startSandbox({ now: () => now, reservationTtlMs: 60_000 });
    try {
      const a = await reserve(timed);
      now += 61_000;
      const expired = await call(timed, 'POST', `/v3/payments/${a.transactionId}/confirm`, {
        amount: 300,
        currency: 'TWD',
      });
      expect(expired.body.returnCode).toBe('1180');
      expect(
        (await call(timed, 'GET', `/v3/payments/requests/${a.transactionId}/check`)).body.returnCode,
      ).toBe('0121');
      expect(() => timed.control.approve(a.transactionId)).toThrow(/expired/);

      const b = await reserve(timed);
      timed.control.approve(b.transactionId);
      now += 21 * 60_000;
      const late = await call(timed, 'POST', `/v3/payments/${b.transactionId}/confirm`, {
        amount: 300,
        currency: 'TWD',
      });
      expect(late.body.returnCode).toBe('1180');

      const c = await reserve(timed);
      timed.control.cancel(c.transactionId);
      const cancelled = await call(timed, 'POST', `/v3/payments/${c.transactionId}/confirm`, {
        amount: 300,
        currency: 'TWD',
      });
      expect(cancelled.body.returnCode).toBe('1180');
    } finally {
      await timed.close();
    }
  });
});

describe('preapproved payments', () => {
  it('charges a regKey: unquoted transactionId, orderId, ledger with masked regKey', async () => {
    const { regKey } = await register(sb);
    const orderId = newOrderId('cycle');
    const res = await pay(sb, regKey, { orderId, amount: 450 });
    expect(res.body.returnCode).toBe('0000');
    const id = RAW_TX_ID.exec(res.text)?.[1];
    expect(id).toBe(res.body.info.transactionId);
    expect(res.body.info.orderId).toBe(orderId);
    expect(res.body.info.transactionDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(sb.control.ledger().filter((e) => e.orderId === orderId)).toEqual([
      expect.objectContaining({
        kind: 'payment',
        transactionId: id,
        amount: 450,
        source: 'preapproved',
        payType: 'PREAPPROVED',
        regKey: `RK…${regKey.slice(-4)}`,
      }),
    ]);
  });

  it('rejects a reused orderId (1172), also one used by a request', async () => {
    const { regKey, body } = await register(sb);
    const orderId = newOrderId('dup');
    expect((await pay(sb, regKey, { orderId })).body.returnCode).toBe('0000');
    expect((await pay(sb, regKey, { orderId })).body.returnCode).toBe('1172');
    expect((await pay(sb, regKey, { orderId: body.orderId })).body.returnCode).toBe('1172');
    expect(sb.control.ledger().filter((e) => e.orderId === orderId)).toHaveLength(1);
  });

  it('validates amount (1183, 1124) and required fields (2101)', async () => {
    const { regKey } = await register(sb);
    expect((await pay(sb, regKey, { amount: 0 })).body.returnCode).toBe('1183');
    expect((await pay(sb, regKey, { amount: -5 })).body.returnCode).toBe('1183');
    expect((await pay(sb, regKey, { amount: 10.5 })).body.returnCode).toBe('1124');
    const noName = await pay(sb, regKey, { productName: undefined });
    expect(noName.body.returnCode).toBe('2101');
    expect(noName.body.returnMessage).toContain('productName');
    expect((await pay(sb, regKey, { currency: undefined })).body.returnCode).toBe('2101');
  });

  it('answers 1190 for an unknown regKey and 1193 after expiry (API, control, idle)', async () => {
    expect((await pay(sb, 'RKNOSUCHKEY0000')).body.returnCode).toBe('1190');
    expect(
      (await call(sb, 'GET', '/v3/payments/preapprovedPay/RKNOSUCHKEY0000/check?creditCardAuth=false')).body
        .returnCode,
    ).toBe('1190');
    expect(
      (await call(sb, 'POST', '/v3/payments/preapprovedPay/RKNOSUCHKEY0000/expire', {})).body.returnCode,
    ).toBe('1190');

    const { regKey } = await register(sb);
    const check = () => call(sb, 'GET', `/v3/payments/preapprovedPay/${regKey}/check?creditCardAuth=false`);
    expect((await check()).body.returnCode).toBe('0000');
    expect((await call(sb, 'POST', `/v3/payments/preapprovedPay/${regKey}/expire`, {})).body.returnCode).toBe(
      '0000',
    );
    expect((await check()).body.returnCode).toBe('1193');
    expect((await pay(sb, regKey)).body.returnCode).toBe('1193');
    expect((await call(sb, 'POST', `/v3/payments/preapprovedPay/${regKey}/expire`)).body.returnCode).toBe(
      '1193',
    );

    const second = await register(sb);
    sb.control.expireRegKey(second.regKey);
    expect((await pay(sb, second.regKey)).body.returnCode).toBe('1193');
    expect(sb.control.regKeys()).toContainEqual(
      expect.objectContaining({ regKey: second.regKey, status: 'EXPIRED' }),
    );

    let now = Date.parse('2026-01-01T00:00:00Z');
    const idle = await startSandbox({ now: () => now, regKeyIdleLifetimeMs: 86_400_000 });
    try {
      const k = await register(idle);
      now += 86_000_000;
      expect((await pay(idle, k.regKey)).body.returnCode).toBe('0000');
      now += 86_000_000; // idle time counts from the last payment
      expect((await pay(idle, k.regKey)).body.returnCode).toBe('0000');
      now += 86_400_001;
      expect((await pay(idle, k.regKey)).body.returnCode).toBe('1193');
    } finally {
      await idle.close();
    }
  });

  it('answers 1197 to a second payment while one is in flight on the same regKey', async () => {
    const { regKey } = await register(sb);
    const other = await register(sb);
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { regKey },
      times: 1,
      action: { kind: 'latency', ms: 400 },
    });
    const first = pay(sb, regKey, { orderId: newOrderId('slow') });
    await new Promise((r) => setTimeout(r, 100));
    const second = await pay(sb, regKey);
    const otherKey = await pay(sb, other.regKey);
    expect(second.body.returnCode).toBe('1197');
    expect(otherKey.body.returnCode).toBe('0000');
    expect((await first).body.returnCode).toBe('0000');
    expect((await pay(sb, regKey)).body.returnCode).toBe('0000');
  });

  it('supports capture=false authorizations with capture and void', async () => {
    const { regKey } = await register(sb);
    const auth = await pay(sb, regKey, { orderId: newOrderId('auth'), capture: false, amount: 500 });
    expect(auth.body.returnCode).toBe('0000');
    expect(auth.body.info.authorizationExpireDate).toBeDefined();
    const id = auth.body.info.transactionId as string;
    expect(sb.control.ledger().filter((e) => e.transactionId === id)).toHaveLength(0);
    const details = await call(sb, 'GET', `/v3/payments?transactionId=${id}`);
    expect(details.body.info[0].payStatus).toBe('AUTHORIZATION');
    const over = await call(sb, 'POST', `/v3/payments/authorizations/${id}/capture`, {
      amount: 501,
      currency: 'TWD',
    });
    expect(over.body.returnCode).toBe('1184');
    const cap = await call(sb, 'POST', `/v3/payments/authorizations/${id}/capture`, {
      amount: 400,
      currency: 'TWD',
    });
    expect(cap.body.returnCode).toBe('0000');
    expect(sb.control.ledger().filter((e) => e.transactionId === id)).toEqual([
      expect.objectContaining({ kind: 'payment', amount: 400 }),
    ]);
    expect((await call(sb, 'POST', `/v3/payments/authorizations/${id}/void`)).body.returnCode).toBe('1179');

    const auth2 = await pay(sb, regKey, { orderId: newOrderId('auth'), capture: false });
    const id2 = auth2.body.info.transactionId as string;
    expect((await call(sb, 'POST', `/v3/payments/authorizations/${id2}/void`, {})).body.returnCode).toBe(
      '0000',
    );
    expect((await call(sb, 'POST', `/v3/payments/authorizations/${id2}/void`, {})).body.returnCode).toBe(
      '1165',
    );
    expect(sb.control.ledger().filter((e) => e.transactionId === id2)).toHaveLength(0);
  });
});

describe('payment details', () => {
  it('lists confirmed payments only, by transactionId or orderId (repeated or comma-separated)', async () => {
    const { regKey, transactionId: firstId, body } = await register(sb);
    const a = await pay(sb, regKey);
    const b = await pay(sb, regKey);
    const aId = a.body.info.transactionId as string;
    const bOrder = b.body.info.orderId as string;

    const repeated = await call(sb, 'GET', `/v3/payments?transactionId=${aId}&transactionId=${firstId}`);
    expect(repeated.body.returnCode).toBe('0000');
    expect(repeated.body.info.map((e: { transactionId: string }) => e.transactionId).sort()).toEqual(
      [aId, firstId].sort(),
    );
    expect(repeated.text).toContain(`"transactionId":${aId}`);

    const comma = await call(sb, 'GET', `/v3/payments?orderId=${bOrder},${body.orderId}`);
    expect(comma.body.info).toHaveLength(2);
    const entry = comma.body.info.find((e: { orderId: string }) => e.orderId === bOrder);
    expect(entry).toMatchObject({
      transactionType: 'PAYMENT',
      payStatus: 'CAPTURE',
      productName: 'Premium subscription',
      merchantName: 'Acme Subscriptions',
      currency: 'TWD',
      payInfo: [{ method: 'CREDIT_CARD', amount: 300 }],
    });
    expect(entry.regKey).toBeUndefined();
  });

  it('answers 1150 for reserved-only and declined attempts, 2101 without ids, 1177 over 100', async () => {
    const reserved = await reserve(sb);
    expect(
      (await call(sb, 'GET', `/v3/payments?transactionId=${reserved.transactionId}`)).body.returnCode,
    ).toBe('1150');
    expect((await call(sb, 'GET', `/v3/payments?orderId=${reserved.body.orderId}`)).body.returnCode).toBe(
      '1150',
    );

    const { regKey } = await register(sb);
    const orderId = newOrderId('declined');
    sb.control.addFault({
      api: 'preapprovedPay',
      match: { orderId },
      action: { kind: 'return_code', code: '1288' },
    });
    expect((await pay(sb, regKey, { orderId })).body.returnCode).toBe('1288');
    expect((await call(sb, 'GET', `/v3/payments?orderId=${orderId}`)).body.returnCode).toBe('1150');

    expect((await call(sb, 'GET', '/v3/payments')).body.returnCode).toBe('2101');
    const many = Array.from({ length: 101 }, (_, i) => `o${i}`).join(',');
    expect((await call(sb, 'GET', `/v3/payments?orderId=${many}`)).body.returnCode).toBe('1177');
  });
});

describe('refund', () => {
  it('refunds partially, rejects over-refund (1164), refunds the rest, then 1165', async () => {
    const { regKey } = await register(sb);
    const paid = await pay(sb, regKey, { amount: 1000 });
    const id = paid.body.info.transactionId as string;
    const path = `/v3/payments/${id}/refund`;

    const partial = await call(sb, 'POST', path, { refundAmount: 300 });
    expect(partial.body.returnCode).toBe('0000');
    const refundId = /"refundTransactionId":(\d{19})[,}]/.exec(partial.text)?.[1];
    expect(refundId).toBe(partial.body.info.refundTransactionId);
    expect(refundId).not.toBe(id);

    expect((await call(sb, 'POST', path, { refundAmount: 701 })).body.returnCode).toBe('1164');
    expect((await call(sb, 'POST', path, {})).body.returnCode).toBe('0000');
    expect((await call(sb, 'POST', path, {})).body.returnCode).toBe('1165');
    expect((await call(sb, 'POST', '/v3/payments/2026112600000000077/refund', {})).body.returnCode).toBe(
      '1150',
    );

    const refunds = sb.control.ledger().filter((e) => e.transactionId === id && e.kind === 'refund');
    expect(refunds.map((e) => e.amount)).toEqual([300, 700]);

    const details = await call(sb, 'GET', `/v3/payments?transactionId=${id}`);
    expect(details.body.info[0].refundList).toEqual([
      expect.objectContaining({
        refundTransactionId: refundId,
        transactionType: 'PARTIAL_REFUND',
        refundAmount: -300,
      }),
      expect.objectContaining({ transactionType: 'PARTIAL_REFUND', refundAmount: -700 }),
    ]);
  });

  it('marks a one-shot full refund as PAYMENT_REFUND', async () => {
    const { regKey } = await register(sb);
    const paid = await pay(sb, regKey, { amount: 200 });
    const id = paid.body.info.transactionId as string;
    expect((await call(sb, 'POST', `/v3/payments/${id}/refund`, {})).body.returnCode).toBe('0000');
    const details = await call(sb, 'GET', `/v3/payments?transactionId=${id}`);
    expect(details.body.info[0].refundList).toEqual([
      expect.objectContaining({ transactionType: 'PAYMENT_REFUND', refundAmount: -200 }),
    ]);
  });
});

describe('faults', () => {
  it('latency delays, then processes normally', async () => {
    sb.control.addFault({ api: 'checkStatus', times: 1, action: { kind: 'latency', ms: 300 } });
    const started = Date.now();
    const res = await call(sb, 'GET', '/v3/payments/requests/2026112600000000001/check');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.body.returnCode).toBe('1150');
    const fast = Date.now();
    await call(sb, 'GET', '/v3/payments/requests/2026112600000000001/check');
    expect(Date.now() - fast).toBeLessThan(250);
  });

  it('http_error answers the status and commits nothing', async () => {
    const { regKey } = await register(sb);
    const orderId = newOrderId('503');
    sb.control.addFault({ api: 'preapprovedPay', times: 1, action: { kind: 'http_error', status: 503 } });
    const res = await pay(sb, regKey, { orderId });
    expect(res.status).toBe(503);
    expect(sb.control.ledger().filter((e) => e.orderId === orderId)).toHaveLength(0);
    expect((await pay(sb, regKey, { orderId })).body.returnCode).toBe('0000');
    expect(
      sb.control
        .requests()
        .filter((r) => r.orderId === orderId)
        .map((r) => [r.httpStatus, r.returnCode]),
    ).toEqual([
      [503, null],
      [200, '0000'],
    ]);
  });

  it('a declined attempt consumes its orderId by default; ambiguous codes do not', async () => {
    const { regKey } = await register(sb);
    const declined = newOrderId('decl');
    sb.control.addFault({ api: 'preapprovedPay', times: 1, action: { kind: 'return_code', code: '1142' } });
    expect((await pay(sb, regKey, { orderId: declined })).body.returnCode).toBe('1142');
    expect((await pay(sb, regKey, { orderId: declined })).body.returnCode).toBe('1172');
    expect(sb.control.ledger().filter((e) => e.orderId === declined)).toHaveLength(0);

    const ambiguous = newOrderId('amb');
    sb.control.addFault({ api: 'preapprovedPay', times: 1, action: { kind: 'return_code', code: '9000' } });
    expect((await pay(sb, regKey, { orderId: ambiguous })).body.returnCode).toBe('9000');
    expect((await pay(sb, regKey, { orderId: ambiguous })).body.returnCode).toBe('0000');
  });

  it('declinedAttemptConsumesOrderId: false lets the same orderId be retried', async () => {
    const other = await startSandbox({ behaviour: { declinedAttemptConsumesOrderId: false } });
    try {
      const { regKey } = await register(other);
      other.control.addFault({
        api: 'preapprovedPay',
        times: 1,
        action: { kind: 'return_code', code: '1288' },
      });
      expect((await pay(other, regKey, { orderId: 'retry-me' })).body.returnCode).toBe('1288');
      expect((await pay(other, regKey, { orderId: 'retry-me' })).body.returnCode).toBe('0000');
    } finally {
      await other.close();
    }
  });

  it('drop_after_commit charges, then closes the socket without a reply', async () => {
    const { regKey } = await register(sb);
    const orderId = newOrderId('drop');
    sb.control.addFault({ api: 'preapprovedPay', match: { orderId }, action: { kind: 'drop_after_commit' } });
    await expect(pay(sb, regKey, { orderId })).rejects.toThrow();
    const charged = sb.control.ledger().filter((e) => e.orderId === orderId);
    expect(charged).toEqual([expect.objectContaining({ kind: 'payment', amount: 300 })]);
    const lookup = await call(sb, 'GET', `/v3/payments?orderId=${orderId}`);
    expect(lookup.body.returnCode).toBe('0000');
    expect(lookup.body.info[0].transactionId).toBe(charged[0]?.transactionId);
    expect(sb.control.requests().find((r) => r.orderId === orderId)).toMatchObject({
      fault: 'drop_after_commit',
      returnCode: '0000',
      httpStatus: 0,
    });
  });

  it('hang_after_commit charges and never answers; close() still returns', async () => {
    const own = await startSandbox();
    const { regKey } = await register(own);
    own.control.addFault({ api: 'preapprovedPay', action: { kind: 'hang_after_commit' } });
    const orderId = newOrderId('hang');
    await expect(pay(own, regKey, { orderId }, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(own.control.ledger().filter((e) => e.orderId === orderId)).toHaveLength(1);
    const pending = pay(own, regKey).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('hang_after_commit with ms answers late', async () => {
    const { regKey } = await register(sb);
    sb.control.addFault({ api: 'preapprovedPay', times: 1, action: { kind: 'hang_after_commit', ms: 300 } });
    const started = Date.now();
    const res = await pay(sb, regKey);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.body.returnCode).toBe('0000');
  });

  it('honours match, times, probability and the * api', async () => {
    const { regKey } = await register(sb);
    sb.control.setFaults([
      { api: 'preapprovedPay', match: { amount: 999 }, action: { kind: 'return_code', code: '1298' } },
      { api: 'preapprovedPay', probability: 0, action: { kind: 'return_code', code: '9000' } },
    ]);
    expect((await pay(sb, regKey, { amount: 999 })).body.returnCode).toBe('1298');
    expect((await pay(sb, regKey, { amount: 998 })).body.returnCode).toBe('0000');
    sb.control.setFaults([
      { api: '*', times: 2, action: { kind: 'return_code', code: '9000', message: 'boom' } },
    ]);
    const first = await call(sb, 'GET', '/v3/payments?orderId=x');
    expect(first.body).toEqual({ returnCode: '9000', returnMessage: 'boom' });
    expect((await pay(sb, regKey)).body.returnCode).toBe('9000');
    expect((await pay(sb, regKey)).body.returnCode).toBe('0000');
  });

  it('probabilistic faults are reproducible for a seed', async () => {
    const outcomes: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const own = await startSandbox({ seed: 7 });
      try {
        own.control.addFault({
          api: 'checkStatus',
          probability: 0.5,
          action: { kind: 'return_code', code: '9000' },
        });
        const codes: string[] = [];
        for (let i = 0; i < 12; i++)
          codes.push((await call(own, 'GET', '/v3/payments/requests/1/check')).body.returnCode as string);
        outcomes.push(codes);
      } finally {
        await own.close();
      }
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]).toContain('9000');
    expect(outcomes[0]).toContain('1150');
  });

  it('is configurable over HTTP control routes', async () => {
    const post = (path: string, body?: unknown) =>
      fetch(`${sb.url}/__sandbox${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect(
      (await post('/faults', [{ api: 'checkRegKey', action: { kind: 'return_code', code: '1193' } }])).status,
    ).toBe(200);
    const { regKey } = await register(sb);
    expect((await call(sb, 'GET', `/v3/payments/preapprovedPay/${regKey}/check`)).body.returnCode).toBe(
      '1193',
    );
    expect((await fetch(`${sb.url}/__sandbox/faults`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(sb, 'GET', `/v3/payments/preapprovedPay/${regKey}/check`)).body.returnCode).toBe(
      '0000',
    );
    expect((await post('/faults/add', { api: 'nope', action: { kind: 'latency', ms: 1 } })).status).toBe(400);
    expect((await post(`/regkeys/${regKey}/expire`)).status).toBe(200);
    const keys = (await (await fetch(`${sb.url}/__sandbox/regkeys`)).json()) as {
      regKey: string;
      status: string;
    }[];
    expect(keys).toContainEqual(expect.objectContaining({ regKey, status: 'EXPIRED' }));
    const ledger = (await (await fetch(`${sb.url}/__sandbox/ledger`)).json()) as unknown[];
    expect(ledger.length).toBe(sb.control.ledger().length);
    expect((await fetch(`${sb.url}/__sandbox/health`)).status).toBe(200);
  });
});

describe('payment page', () => {
  it('shows merchant, products, amount and the preapproved notice; Approve redirects to confirmUrl', async () => {
    const { res, transactionId, body } = await reserve(sb, {
      redirectUrls: {
        confirmUrl: 'https://merchant.example/done?plan=gold',
        cancelUrl: 'https://merchant.example/x',
      },
    });
    const pageUrl = res.body.info.paymentUrl.web as string;
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Acme Subscriptions');
    expect(html).toContain('Premium subscription');
    expect(html).toContain('300 TWD');
    expect(html).toContain('automatic payment (preapproved)');
    expect(html).toContain('id="approve"');
    expect(html).toContain('id="cancel"');

    const reserveId = new URL(pageUrl).searchParams.get('transactionReserveId') ?? '';
    const approve = await fetch(`${sb.url}/web/payment/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ transactionReserveId: reserveId }).toString(),
      redirect: 'manual',
    });
    expect(approve.status).toBe(303);
    const location = new URL(approve.headers.get('location') ?? '');
    expect(location.origin + location.pathname).toBe('https://merchant.example/done');
    expect(location.searchParams.get('plan')).toBe('gold');
    expect(location.searchParams.get('transactionId')).toBe(transactionId);
    expect(location.searchParams.get('orderId')).toBe(body.orderId);
    expect((await call(sb, 'GET', `/v3/payments/requests/${transactionId}/check`)).body.returnCode).toBe(
      '0110',
    );
  });

  it('Cancel redirects to cancelUrl; unknown or finished reservations show an error page', async () => {
    const { res, transactionId } = await reserve(sb, {}, 'NORMAL');
    const pageUrl = res.body.info.paymentUrl.web as string;
    expect(await (await fetch(pageUrl)).text()).not.toContain('automatic payment');
    const reserveId = new URL(pageUrl).searchParams.get('transactionReserveId') ?? '';
    const cancel = await fetch(`${sb.url}/web/payment/cancel`, {
      method: 'POST',
      body: new URLSearchParams({ transactionReserveId: reserveId }),
      redirect: 'manual',
    });
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get('location')).toBe(
      `https://merchant.example/cancel?transactionId=${transactionId}&orderId=${encodeURIComponent(
        new URL(cancel.headers.get('location') ?? '').searchParams.get('orderId') ?? '',
      )}`,
    );
    const after = await fetch(pageUrl);
    expect(after.status).toBe(410);
    expect(await after.text()).toContain('cancelled');
    expect((await fetch(`${sb.url}/web/payment/wait?transactionReserveId=nope`)).status).toBe(404);
  });
});

describe('secrecy', () => {
  it('never logs the channel secret or a full regKey', async () => {
    const { regKey } = await register(sb);
    await pay(sb, regKey);
    await call(sb, 'GET', `/v3/payments/preapprovedPay/${regKey}/check`);
    const log = JSON.stringify(sb.control.requests()) + JSON.stringify(sb.control.ledger());
    expect(log).not.toContain(sb.channelSecret);
    for (const rec of sb.control.regKeys()) expect(log).not.toContain(rec.regKey);
    expect(log).toContain(`/v3/payments/preapprovedPay/RK…${regKey.slice(-4)}/payment`);
  });
});

describe('reset', () => {
  it('empties the store and re-seeds ids', async () => {
    const own = await startSandbox({ seed: 3 } satisfies SandboxOptions);
    try {
      const before = await call(own, 'POST', '/v3/payments/request', requestBody({ orderId: 'r-1' }));
      own.control.reset();
      expect(own.control.requests()).toHaveLength(0);
      const after = await call(own, 'POST', '/v3/payments/request', requestBody({ orderId: 'r-1' }));
      expect(after.body.returnCode).toBe('0000');
      expect(after.body.info.transactionId).toBe(before.body.info.transactionId);
    } finally {
      await own.close();
    }
  });
});

describe('confirmUrlType', () => {
  it('SERVER: approval makes the sandbox itself GET the confirmUrl', async () => {
    const { createServer } = await import('node:http');
    const hits: string[] = [];
    const merchant = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
    const address = merchant.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const { res, transactionId } = await reserve(sb, {
        redirectUrls: {
          confirmUrl: `http://127.0.0.1:${port}/linepay/confirm?sub=9`,
          cancelUrl: 'https://merchant.example/cancel',
          confirmUrlType: 'SERVER',
        },
      });
      const reserveId = new URL(res.body.info.paymentUrl.web).searchParams.get('transactionReserveId') ?? '';
      const approve = await fetch(`${sb.url}/web/payment/approve`, {
        method: 'POST',
        body: new URLSearchParams({ transactionReserveId: reserveId }),
        redirect: 'manual',
      });
      expect(approve.status).toBe(200);
      for (let i = 0; i < 50 && hits.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatch(
        new RegExp(`^/linepay/confirm\\?sub=9&transactionId=${transactionId}&orderId=`),
      );
    } finally {
      merchant.close();
    }
  });
});
