import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { signedCallbackUrl } from '../../../activities/callback-link.js';
import {
  ConflictError,
  InternalError,
  NotFoundError,
  RejectedError,
  UnavailableError,
  ValidationError,
} from '../../../client/errors.js';
import { createApp } from '../../../client/http/app.js';
import type { SubscriptionsClient } from '../../../client/subscriptions-client.js';

const TOKEN = 'test-api-token-0123456789';
const KEY = randomBytes(32);
/** A callback URL as the reserve activity signs it, plus what LINE Pay appends. */
function signed(
  route: 'confirm' | 'cancel',
  subscriptionId: string,
  orderId: string,
  appended: Record<string, string> = {},
  key: Uint8Array = KEY,
): string {
  const url = signedCallbackUrl(`/linepay/${route}?subscriptionId=${subscriptionId}`, key, {
    subscriptionId,
    orderId,
  });
  const extra = new URLSearchParams(appended).toString();
  return extra ? `${url}&${extra}` : url;
}
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };
const validBody = {
  subscriptionId: 'sub-1',
  customerId: 'cust-1',
  productName: '月訂閱 Premium',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
};

function fakeClient(overrides: Partial<SubscriptionsClient> = {}): SubscriptionsClient {
  const fail = () => {
    throw new Error('not expected in this test');
  };
  return {
    createSubscription: vi.fn(fail),
    confirmApproval: vi.fn(fail),
    cancelApproval: vi.fn(fail),
    cancel: vi.fn(fail),
    pause: vi.fn(fail),
    resume: vi.fn(fail),
    changePlan: vi.fn(fail),
    retryNow: vi.fn(fail),
    getSubscription: vi.fn(fail),
    listSubscriptions: vi.fn(fail),
    ...overrides,
  } as SubscriptionsClient;
}

function appWith(
  overrides: Partial<SubscriptionsClient> = {},
  extra: Partial<Parameters<typeof createApp>[0]> = {},
) {
  const subscriptions = fakeClient(overrides);
  return {
    app: createApp({
      subscriptions,
      apiToken: TOKEN,
      callbackSigningKeys: [KEY],
      onError: () => {},
      log: () => {},
      ...extra,
    }),
    subscriptions,
  };
}

async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { code: string; message: string; details?: Record<string, unknown> };
  };
  return body.error;
}

describe('auth', () => {
  it.each([
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['wrong scheme', { authorization: `Basic ${TOKEN}` }],
  ])('rejects merchant routes with %s', async (_name, headers) => {
    const { app, subscriptions } = appWith();
    for (const [method, path] of [
      ['POST', '/subscriptions'],
      ['GET', '/subscriptions'],
      ['GET', '/subscriptions/sub-1'],
      ['POST', '/subscriptions/sub-1/cancel'],
      ['PATCH', '/subscriptions/sub-1/plan'],
    ] as const) {
      const res = await app.request(path, { method, headers });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
    expect(subscriptions.createSubscription).not.toHaveBeenCalled();
  });

  it('leaves health, openapi and LINE Pay callbacks open', async () => {
    const { app } = appWith();
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/openapi.json')).status).toBe(200);
    expect((await app.request('/linepay/confirm')).status).toBe(400); // open, but unsigned
  });
});

describe('POST /subscriptions', () => {
  it('returns 201 for a new subscription and 200 for a repeat, with the same body', async () => {
    const result = {
      subscriptionId: 'sub-1',
      status: 'pending_approval' as const,
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
      expiresAt: '2026-01-01T00:20:00.000Z',
    };
    const create = vi
      .fn()
      .mockResolvedValueOnce({ ...result, created: true })
      .mockResolvedValueOnce({ ...result, created: false });
    const { app } = appWith({ createSubscription: create });
    const first = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify(validBody),
    });
    const second = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify(validBody),
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(await first.json()).toEqual(result);
    expect(await second.json()).toEqual(result);
    expect(create).toHaveBeenCalledWith(validBody);
  });

  it.each([
    ['missing customerId', { ...validBody, customerId: undefined }, 'customerId'],
    ['amount as string', { ...validBody, amount: '390' }, 'amount'],
    ['fractional amount', { ...validBody, amount: 3.5 }, 'amount'],
    ['negative amount', { ...validBody, amount: -1 }, 'amount'],
    ['unknown currency', { ...validBody, currency: 'JPY' }, 'currency'],
    ['bad subscriptionId', { ...validBody, subscriptionId: 'a b' }, 'subscriptionId'],
    ['unknown field', { ...validBody, regKey: 'RK123' }, ''],
    ['bad billingAnchor', { ...validBody, billingAnchor: 'tomorrow' }, 'billingAnchor'],
  ])('400 for %s', async (_name, body, field) => {
    const { app, subscriptions } = appWith();
    const res = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('validation');
    expect(error.details?.field).toBe(field);
    expect(subscriptions.createSubscription).not.toHaveBeenCalled();
  });

  it('400 for malformed JSON and for a JSON array', async () => {
    const { app } = appWith();
    for (const body of ['{"amount":', '[1,2]', 'null', '"text"']) {
      const res = await app.request('/subscriptions', { method: 'POST', headers: json, body });
      expect(res.status, body).toBe(400);
      expect((await errorOf(res)).code).toBe('validation');
    }
  });

  it('415 for a non-JSON body, 413 for a huge one', async () => {
    const { app } = appWith();
    const form = await app.request('/subscriptions', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'customerId=1',
    });
    expect(form.status).toBe(415);
    const huge = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...validBody, productName: 'x'.repeat(100_000) }),
    });
    expect(huge.status).toBe(413);
    expect((await errorOf(huge)).code).toBe('payload_too_large');
  });

  it('maps client errors: validation 400, conflict 409, unavailable 503', async () => {
    const cases = [
      [new ValidationError('interval: unsupported', 'interval'), 400, 'validation'],
      [new ConflictError('subscription sub-1 exists with different terms', 'sub-1'), 409, 'conflict'],
      [new UnavailableError('Temporal is unavailable'), 503, 'unavailable'],
    ] as const;
    for (const [err, status, code] of cases) {
      const { app } = appWith({ createSubscription: vi.fn().mockRejectedValue(err) });
      const res = await app.request('/subscriptions', {
        method: 'POST',
        headers: json,
        body: JSON.stringify(validBody),
      });
      expect(res.status).toBe(status);
      expect((await errorOf(res)).code).toBe(code);
    }
  });

  it('hides unexpected errors behind a 500 without details', async () => {
    const onError = vi.fn();
    const { app } = appWith(
      { createSubscription: vi.fn().mockRejectedValue(new Error('secret internals')) },
      { onError },
    );
    const res = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify(validBody),
    });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toContain('secret internals');
    expect(onError).toHaveBeenCalled();
  });
});

describe('subscription routes', () => {
  it('GET /subscriptions/:id returns the view; unknown ids 404', async () => {
    const view = {
      subscriptionId: 'sub-1',
      status: 'active',
      charges: [{ transactionId: '2024010112345678901' }],
    };
    const get = vi.fn(async (id: string) => {
      if (id === 'sub-1') return view;
      throw new NotFoundError(id);
    });
    const { app } = appWith({ getSubscription: get as unknown as SubscriptionsClient['getSubscription'] });
    const ok = await app.request('/subscriptions/sub-1', { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('"transactionId":"2024010112345678901"');
    const missing = await app.request('/subscriptions/nope', { headers: auth });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    const bad = await app.request('/subscriptions/a%20b', { headers: auth });
    expect(bad.status).toBe(400);
  });

  it('actions pass the body and the merchant actor; empty bodies are fine', async () => {
    const cancel = vi.fn().mockResolvedValue({ status: 'canceled', effectiveAt: '2026-01-01T00:00:00Z' });
    const resume = vi.fn().mockResolvedValue({ status: 'active', skippedCycles: [] });
    const { app } = appWith({ cancel, resume });
    const res = await app.request('/subscriptions/sub-1/cancel', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ atPeriodEnd: true, reason: 'customer asked' }),
    });
    expect(res.status).toBe(200);
    expect(cancel).toHaveBeenCalledWith('sub-1', {
      actor: { kind: 'merchant' },
      atPeriodEnd: true,
      reason: 'customer asked',
    });
    expect((await app.request('/subscriptions/sub-1/resume', { method: 'POST', headers: auth })).status).toBe(
      200,
    );
  });

  it('rejected updates are 409 with the validator type', async () => {
    const pause = vi
      .fn()
      .mockRejectedValue(new RejectedError('subscription is canceled', 'InvalidState', 'sub-1'));
    const { app } = appWith({ pause });
    const res = await app.request('/subscriptions/sub-1/pause', {
      method: 'POST',
      headers: json,
      body: '{}',
    });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toEqual({
      code: 'rejected',
      message: 'subscription is canceled',
      details: { type: 'InvalidState', subscriptionId: 'sub-1' },
    });
  });

  it('validates pause, plan and list inputs', async () => {
    const { app } = appWith();
    const cases: [string, string, string | undefined][] = [
      ['POST', '/subscriptions/sub-1/pause', JSON.stringify({ resumeAt: 'soon' })],
      ['PATCH', '/subscriptions/sub-1/plan', JSON.stringify({})],
      ['PATCH', '/subscriptions/sub-1/plan', JSON.stringify({ amount: 0 })],
      ['POST', '/subscriptions/sub-1/cancel', JSON.stringify({ atPeriodEnd: 'yes' })],
      ['GET', '/subscriptions?status=bogus', undefined],
      ['GET', '/subscriptions?pageSize=0', undefined],
      ['GET', '/subscriptions?unknown=1', undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await app.request(path, { method, headers: json, ...(body !== undefined ? { body } : {}) });
      expect(res.status, `${method} ${path} ${body}`).toBe(400);
    }
  });

  it('lists with filters', async () => {
    const list = vi.fn().mockResolvedValue([]);
    const { app } = appWith({ listSubscriptions: list });
    const res = await app.request('/subscriptions?status=active&customerId=c%27x&pageSize=5', {
      headers: auth,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subscriptions: [] });
    expect(list).toHaveBeenCalledWith({ status: 'active', customerId: "c'x", pageSize: 5 });
  });

  it('unknown routes are JSON 404s', async () => {
    const { app } = appWith();
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
  });
});

describe('LINE Pay callbacks', () => {
  const TX = '2024010112345678901';
  const confirmPath = signed('confirm', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' });

  it('shows the active page after a successful confirm', async () => {
    const confirm = vi.fn().mockResolvedValue({
      status: 'active',
      charge: { amount: 390, currency: 'TWD', productName: '月訂閱 Premium' },
      nextChargeAt: '2026-02-01T00:00:00.000Z',
      message: 'ok',
    });
    const { app } = appWith({ confirmApproval: confirm });
    const res = await app.request(confirmPath);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('data-status="active"');
    expect(html).toContain('Your subscription is active');
    expect(html).toContain('390 TWD');
    expect(confirm).toHaveBeenCalledWith({ subscriptionId: 'sub-1', transactionId: TX, orderId: 'sub-1-c0' });
  });

  it('never echoes the workflow message (it may quote LINE Pay)', async () => {
    const confirm = vi
      .fn()
      .mockResolvedValue({ status: 'approval_expired', message: '<img src=x onerror=alert(1)> 1180' });
    const { app } = appWith({ confirmApproval: confirm });
    const res = await app.request(confirmPath);
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).not.toContain('img');
    expect(html).not.toContain('1180');
  });

  it('handles the cancel URL with and without the ids LINE Pay may append', async () => {
    const cancelApproval = vi.fn().mockResolvedValue({ status: 'approval_canceled' });
    const { app } = appWith({ cancelApproval });
    const res = await app.request(
      signed('cancel', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' }),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-status="approval_canceled"');
    expect(cancelApproval).toHaveBeenCalledWith({
      subscriptionId: 'sub-1',
      transactionId: TX,
      orderId: 'sub-1-c0',
    });
    expect((await app.request(signed('cancel', 'sub-1', 'sub-1-c0'))).status).toBe(200);
    expect(cancelApproval).toHaveBeenLastCalledWith({ subscriptionId: 'sub-1', orderId: 'sub-1-c0' });
  });

  // Everything a caller without the signed link (or with a stale one) can send.
  const forged: [string, string][] = [
    ['nothing', '/linepay/ROUTE'],
    ['no token', `/linepay/ROUTE?subscriptionId=sub-1&transactionId=${TX}&orderId=sub-1-c0`],
    [
      'no reservation',
      `/linepay/ROUTE?subscriptionId=sub-1&token=${'A'.repeat(22)}&transactionId=${TX}&orderId=o`,
    ],
    [
      'wrong token',
      signed('ROUTE' as 'confirm', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' }).replace(
        /token=[^&]+/,
        `token=${'A'.repeat(22)}`,
      ),
    ],
    [
      'token of another key',
      signed(
        'ROUTE' as 'confirm',
        'sub-1',
        'sub-1-c0',
        { transactionId: TX, orderId: 'sub-1-c0' },
        randomBytes(32),
      ),
    ],
    [
      'token for another subscription',
      signed('ROUTE' as 'confirm', 'sub-2', 'sub-2-c0', { transactionId: TX, orderId: 'sub-2-c0' }).replace(
        'subscriptionId=sub-2',
        'subscriptionId=sub-1',
      ),
    ],
    [
      'token for another reservation',
      signed('ROUTE' as 'confirm', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' }).replace(
        'reservation=sub-1-c0',
        'reservation=sub-1-r1',
      ),
    ],
    [
      'orderId other than the signed one',
      signed('ROUTE' as 'confirm', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-r1' }),
    ],
    [
      'malformed transactionId',
      signed('ROUTE' as 'confirm', 'sub-1', 'sub-1-c0', { transactionId: 'abc', orderId: 'sub-1-c0' }),
    ],
    [
      'a parameter twice',
      `${signed('ROUTE' as 'confirm', 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' })}&orderId=sub-1-c0`,
    ],
    ['script in the id', '/linepay/ROUTE?subscriptionId=<script>&transactionId=1&orderId=o'],
  ];

  it.each(['confirm', 'cancel'] as const)(
    'answers every forged %s identically without calling Temporal',
    async (route) => {
      const { app, subscriptions } = appWith();
      const bodies = new Set<string>();
      for (const [name, template] of forged) {
        const res = await app.request(template.replace('ROUTE', route));
        expect(res.status, name).toBe(400);
        bodies.add(await res.text());
      }
      expect(bodies.size).toBe(1);
      const [body] = [...bodies];
      expect(body).toContain('data-status="invalid_callback"');
      expect(body).not.toContain('sub-1');
      expect(subscriptions.confirmApproval).not.toHaveBeenCalled();
      expect(subscriptions.cancelApproval).not.toHaveBeenCalled();
    },
  );

  it('confirm needs the transactionId and orderId LINE Pay appends', async () => {
    const { app, subscriptions } = appWith();
    for (const appended of [{}, { transactionId: TX }, { orderId: 'sub-1-c0' }]) {
      expect((await app.request(signed('confirm', 'sub-1', 'sub-1-c0', appended))).status).toBe(400);
    }
    expect(subscriptions.confirmApproval).not.toHaveBeenCalled();
  });

  it('answers every refusal by the workflow with the same page as a forgery; the reason goes to the log', async () => {
    const log = vi.fn();
    const { app: forgedApp } = appWith({}, { log });
    const reference = await (await forgedApp.request('/linepay/confirm')).text();
    for (const err of [
      new RejectedError('mismatch', 'ApprovalMismatch', 'sub-1'),
      new RejectedError('subscription is past_due', 'InvalidState', 'sub-1'),
      new NotFoundError('sub-1'),
      new ConflictError('ended', 'sub-1'),
      new UnavailableError('down'),
      new Error('unexpected'),
    ]) {
      const { app } = appWith(
        { confirmApproval: vi.fn().mockRejectedValue(err), cancelApproval: vi.fn().mockRejectedValue(err) },
        { log },
      );
      for (const route of ['confirm', 'cancel'] as const) {
        const res = await app.request(
          signed(route, 'sub-1', 'sub-1-c0', { transactionId: TX, orderId: 'sub-1-c0' }),
        );
        expect(res.status, `${route} ${err.message}`).toBe(400);
        expect(await res.text()).toBe(reference);
      }
    }
    expect(log).toHaveBeenCalledWith(
      'callback_refused',
      expect.objectContaining({ reason: 'workflow_refused', message: 'subscription is past_due' }),
    );
    expect(log).toHaveBeenCalledWith(
      'callback_refused',
      expect.objectContaining({ reason: 'bad_subscription_id' }),
    );
  });

  it('rate-limits per client IP before anything else', async () => {
    const confirm = vi.fn().mockResolvedValue({ status: 'active', message: 'ok' });
    const { app } = appWith(
      { confirmApproval: confirm },
      {
        callbackRateLimit: { perIp: 3, perSubscription: 100 },
        clientIp: (c) => c.req.header('x-test-ip') ?? '?',
      },
    );
    const from = (ip: string) => app.request('/linepay/confirm', { headers: { 'x-test-ip': ip } });
    expect([
      (await from('1.1.1.1')).status,
      (await from('1.1.1.1')).status,
      (await from('1.1.1.1')).status,
    ]).toEqual([400, 400, 400]);
    const limited = await from('1.1.1.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect((await from('2.2.2.2')).status).toBe(400);
  });

  it('rate-limits per subscription once the token checked out, whatever the IP', async () => {
    const confirm = vi.fn().mockResolvedValue({ status: 'active', message: 'ok' });
    let n = 0;
    const { app } = appWith(
      { confirmApproval: confirm },
      { callbackRateLimit: { perIp: 100, perSubscription: 2 }, clientIp: () => `10.0.0.${n++}` },
    );
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.request(confirmPath)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(confirm).toHaveBeenCalledTimes(2);
    // Forgeries naming the subscription do not use up its quota.
    const other = signed('confirm', 'sub-9', 'sub-9-c0', { transactionId: TX, orderId: 'sub-9-c0' });
    for (let i = 0; i < 5; i++) await app.request(other.replace(/token=[^&]+/, `token=${'B'.repeat(22)}`));
    expect((await app.request(other)).status).toBe(200);
  });
});

describe('security headers', () => {
  it('every response forbids framing, sniffing, base and form targets; no HSTS over http', async () => {
    const { app } = appWith({}, { publicBaseUrl: 'http://127.0.0.1:3000' });
    for (const path of ['/linepay/confirm', '/healthz', '/subscriptions', '/nope']) {
      const res = await app.request(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).toContain("form-action 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('sends HSTS when PUBLIC_BASE_URL is https', async () => {
    const { app } = appWith({}, { publicBaseUrl: 'https://billing.example.com' });
    expect((await app.request('/healthz')).headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('the not-found answer does not echo a long path', async () => {
    const { app } = appWith();
    const res = await app.request(`/${'a'.repeat(500)}<script>`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text.length).toBeLessThan(200);
    expect(text).not.toContain('<script>');
  });

  it('accepts each of several API tokens (rotation)', async () => {
    const list = vi.fn().mockResolvedValue([]);
    const { app } = appWith(
      { listSubscriptions: list },
      { apiToken: ['old-token-0123456789', 'new-token-0123456789'] },
    );
    for (const token of ['old-token-0123456789', 'new-token-0123456789']) {
      expect(
        (await app.request('/subscriptions', { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
    }
    expect((await app.request('/subscriptions', { headers: auth })).status).toBe(401);
  });

  it('internal errors answer a fixed message and code; the cause goes to onError only', async () => {
    const onError = vi.fn();
    const cause = new Error('14 UNAVAILABLE: connect ECONNREFUSED 10.1.2.3:7233 namespace=secret-ns');
    const { app } = appWith(
      {
        getSubscription: vi
          .fn()
          .mockRejectedValue(
            new InternalError(
              'Temporal refused the request (temporal_permission_denied); see the service log',
              'temporal_permission_denied',
              { cause },
            ),
          ),
      },
      { onError },
    );
    const res = await app.request('/subscriptions/sub-1', { headers: auth });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret-ns');
    expect(JSON.parse(text).error).toMatchObject({
      code: 'internal',
      details: { reason: 'temporal_permission_denied' },
    });
    expect(onError).toHaveBeenCalledWith(cause, expect.anything());
  });
});

describe('readiness and OpenAPI', () => {
  it('/readyz reflects Temporal', async () => {
    expect((await appWith({}, { isReady: async () => true }).app.request('/readyz')).status).toBe(200);
    expect((await appWith({}, { isReady: async () => false }).app.request('/readyz')).status).toBe(503);
  });

  it('documents every route', async () => {
    const doc = (await (await appWith().app.request('/openapi.json')).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/subscriptions',
        '/subscriptions/{id}',
        '/subscriptions/{id}/cancel',
        '/subscriptions/{id}/pause',
        '/subscriptions/{id}/resume',
        '/subscriptions/{id}/retry',
        '/subscriptions/{id}/plan',
        '/linepay/confirm',
        '/linepay/cancel',
      ]),
    );
  });
});
