import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it, vi } from 'vitest';
import {
  ConflictError,
  NotFoundError,
  RejectedError,
  UnavailableError,
  ValidationError,
} from '../../../client/errors.js';
import { createApp } from '../../../client/http/app.js';
import type { SubscriptionsClient } from '../../../client/subscriptions-client.js';
import { EncryptionCodec } from '../../../client/temporal/payload-codec.js';

const TOKEN = 'test-api-token-0123456789';
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
  return { app: createApp({ subscriptions, apiToken: TOKEN, onError: () => {}, ...extra }), subscriptions };
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
    expect((await app.request('/linepay/confirm')).status).toBe(400); // open, but the query is missing
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
  const confirmPath =
    '/linepay/confirm?subscriptionId=sub-1&transactionId=2024010112345678901&orderId=sub-1-c1';

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
    expect(confirm).toHaveBeenCalledWith({
      subscriptionId: 'sub-1',
      transactionId: '2024010112345678901',
      orderId: 'sub-1-c1',
    });
  });

  it.each([
    ['forged ids', new RejectedError('mismatch', 'ApprovalMismatch', 'sub-1'), 400, 'ApprovalMismatch'],
    ['replayed/expired', new RejectedError('not pending', 'InvalidState', 'sub-1'), 409, 'InvalidState'],
    ['unknown subscription', new NotFoundError('sub-1'), 404, 'not_found'],
    ['Temporal down', new UnavailableError('down'), 503, 'unavailable'],
  ])('shows an error page for %s', async (_name, err, status, marker) => {
    const { app } = appWith({ confirmApproval: vi.fn().mockRejectedValue(err) });
    const res = await app.request(confirmPath);
    expect(res.status).toBe(status);
    const html = await res.text();
    expect(html).toContain(`data-status="${marker}"`);
    expect(html).toContain('data-tone="error"');
  });

  it('rejects malformed callbacks without calling Temporal', async () => {
    const { app, subscriptions } = appWith();
    for (const path of [
      '/linepay/confirm?subscriptionId=sub-1',
      '/linepay/confirm?subscriptionId=sub-1&transactionId=abc&orderId=o',
      '/linepay/confirm?subscriptionId=<script>&transactionId=1&orderId=o',
      '/linepay/cancel',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(400);
      expect(await res.text()).not.toContain('<script>');
    }
    expect(subscriptions.confirmApproval).not.toHaveBeenCalled();
  });

  it('escapes workflow messages in pages', async () => {
    const confirm = vi
      .fn()
      .mockResolvedValue({ status: 'approval_expired', message: '<img src=x onerror=alert(1)>' });
    const { app } = appWith({ confirmApproval: confirm });
    const res = await app.request(confirmPath);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('&#60;img');
  });

  it('handles the cancel URL', async () => {
    const cancelApproval = vi.fn().mockResolvedValue({ status: 'approval_canceled' });
    const { app } = appWith({ cancelApproval });
    const res = await app.request(
      '/linepay/cancel?subscriptionId=sub-1&transactionId=2024010112345678901&orderId=o1',
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-status="approval_canceled"');
    expect(cancelApproval).toHaveBeenCalledWith({
      subscriptionId: 'sub-1',
      transactionId: '2024010112345678901',
      orderId: 'o1',
    });
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

describe('codec server', () => {
  const codec = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
  const origin = 'http://127.0.0.1:8233';
  const codecApp = (authToken?: string) =>
    appWith(
      {},
      { codec: { codec, corsOrigins: [origin], namespace: 'default', ...(authToken ? { authToken } : {}) } },
    ).app;
  const toJson = (p: { metadata?: Record<string, Uint8Array | null> | null; data?: Uint8Array | null }) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
    ),
    data: Buffer.from(p.data!).toString('base64'),
  });

  it('decodes what the worker encoded, for the Web UI', async () => {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload({ regKey: 'RK5C38F19XTF425' })]);
    const res = await codecApp('codec-token').request('/codec/decode', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer codec-token',
        'x-namespace': 'default',
        origin,
      },
      body: JSON.stringify({ payloads: [toJson(encoded!)] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(body.payloads[0]!.data, 'base64').toString()).toContain('RK5C38F19XTF425');
  });

  it('answers the CORS preflight with the headers the UI sends', async () => {
    const res = await codecApp('codec-token').request('/codec/decode', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-namespace,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('requires the token, the namespace and a valid body', async () => {
    const app = codecApp('codec-token');
    const post = (headers: Record<string, string>, body = '{"payloads":[]}') =>
      app.request('/codec/decode', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post({ authorization: 'Bearer codec-token', 'x-namespace': 'other' })).status).toBe(403);
    expect(
      (await post({ authorization: 'Bearer codec-token' }, '{"payloads":[{"data":"***"}]}')).status,
    ).toBe(400);
    expect((await post({ authorization: 'Bearer codec-token' })).status).toBe(200);
  });

  it('is absent unless configured', async () => {
    expect((await appWith().app.request('/codec/decode', { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
