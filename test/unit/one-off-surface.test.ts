/**
 * One-off charges and proration through the HTTP layer: routes, zod schemas naming the field, the
 * Idempotency-Key, status codes per outcome, and the OpenAPI document. The workflow side is in
 * test/workflow/subscription.one-off.test.ts and subscription.proration.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../client/http/app.js';
import { buildOpenApiDocument } from '../../client/http/openapi.js';
import type { SubscriptionsClient } from '../../client/subscriptions-client.js';
import type { OneOffCharge } from '../../workflows/messages.js';

const TOKEN = 'test-api-token-0123456789';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

function appWith(overrides: Partial<SubscriptionsClient>) {
  return createApp({
    subscriptions: { ...overrides } as SubscriptionsClient,
    apiToken: TOKEN,
    callbackSigningKeys: [randomBytes(32)],
    onError: () => {},
    log: () => {},
  });
}

const charge = (status: OneOffCharge['status']): OneOffCharge => ({
  requestId: 'addon-1',
  orderId: 'sub-1-0a1b2c3d-x0123456789abcdef',
  kind: 'one_off',
  amount: 150,
  currency: 'TWD',
  productName: 'Add-on',
  status,
  requestedAt: '2028-03-01T00:00:00.000Z',
});

describe('POST /subscriptions/:id/charges', () => {
  it.each([
    ['succeeded', 201],
    ['pending', 202],
    ['failed', 402],
  ] as const)('a %s one-off answers %i, keyed by the Idempotency-Key', async (status, code) => {
    const chargeOneOff = vi.fn().mockResolvedValue(charge(status));
    const res = await appWith({ chargeOneOff }).request('/subscriptions/sub-1/charges', {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': 'addon-1' },
      body: JSON.stringify({ amount: 150, productName: 'Add-on' }),
    });
    expect(res.status).toBe(code);
    expect(chargeOneOff).toHaveBeenCalledWith('sub-1', {
      actor: { kind: 'merchant' },
      requestId: 'addon-1',
      amount: 150,
      productName: 'Add-on',
    });
  });

  it.each([
    ['no request id', { amount: 150, productName: 'Add-on' }, 'requestId'],
    ['a fractional amount', { amount: 1.5, productName: 'Add-on', requestId: 'r' }, 'amount'],
    ['no productName', { amount: 150, requestId: 'r' }, 'productName'],
  ])('400 for %s, naming the field', async (_name, body, field) => {
    const chargeOneOff = vi.fn();
    const res = await appWith({ chargeOneOff }).request('/subscriptions/sub-1/charges', {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { details?: { field?: string } } }).error;
    expect(error.details?.field).toBe(field);
    expect(chargeOneOff).not.toHaveBeenCalled();
  });
});

describe('plan changes with proration', () => {
  it('POST …/plan/preview passes the terms to previewPlanChange and returns its amounts', async () => {
    const preview = {
      chargeNow: 68,
      credit: 0,
      nextCycleAmount: 1100,
      prorationDate: '2028-03-11T02:00:01.000Z',
    };
    const previewPlanChange = vi.fn().mockResolvedValue(preview);
    const res = await appWith({ previewPlanChange }).request('/subscriptions/sub-1/plan/preview', {
      method: 'POST',
      headers,
      body: JSON.stringify({ amount: 1100, prorate: 'now' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(preview);
    expect(previewPlanChange).toHaveBeenCalledWith('sub-1', { amount: 1100, prorate: 'now' });
  });

  it('PATCH …/plan refuses an unknown prorate mode and a prorationDate that is not an instant', async () => {
    const changePlan = vi.fn();
    const app = appWith({ changePlan });
    for (const [body, field] of [
      [{ amount: 1100, prorate: 'later' }, 'prorate'],
      [{ amount: 1100, prorate: 'now', prorationDate: 'yesterday' }, 'prorationDate'],
    ] as const) {
      const res = await app.request('/subscriptions/sub-1/plan', {
        method: 'PATCH',
        headers,
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: { details?: { field?: string } } }).error;
      expect(error.details?.field).toBe(field);
    }
    expect(changePlan).not.toHaveBeenCalled();
  });

  it('the OpenAPI document has the one-off, preview and credit routes', () => {
    const paths = (buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> }).paths;
    expect(Object.keys(paths['/subscriptions/{id}/charges']!)).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(paths['/subscriptions/{id}/plan/preview']?.post).toBeDefined();
    expect(paths['/subscriptions/{id}/credits']?.get).toBeDefined();
  });
});
