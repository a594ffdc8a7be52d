import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SubscriptionView } from '../../workflows/messages.js';
import '../helpers/quiet-runtime.js';
import { eventually, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';

let stack: ServiceStack;
beforeAll(async () => {
  stack = await startServiceStack(inject('temporalAddress'), `http-service-${randomUUID()}`);
});
afterAll(async () => {
  await stack?.close();
});

const request = (subscriptionId: string, overrides: Record<string, unknown> = {}) => ({
  subscriptionId,
  customerId: 'cust-42',
  productName: '月訂閱 Premium',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  ...overrides,
});

/** The pending reservation's transactionId, from the subscription's own state. */
async function reservedTransactionId(subscriptionId: string): Promise<string> {
  const view = (await (await stack.api(`/subscriptions/${subscriptionId}`)).json()) as SubscriptionView;
  if (!view.reservation) throw new Error(`no reservation for ${subscriptionId}`);
  return view.reservation.transactionId;
}

/** What the customer's browser does on LINE Pay: approve, then follow the redirect to our confirmUrl. */
async function approveAndFollow(subscriptionId: string): Promise<Response> {
  const { redirectUrl } = stack.sandbox.control.approve(await reservedTransactionId(subscriptionId));
  return fetch(redirectUrl);
}

describe('HTTP service on the dev server', () => {
  it('create → approve → confirm → active; repeats are 200, conflicts 409; cancel', async () => {
    const id = `http-${randomUUID()}`;
    const first = await stack.api('/subscriptions', { method: 'POST', body: request(id) });
    expect(first.status).toBe(201);
    const created = (await first.json()) as {
      subscriptionId: string;
      status: string;
      paymentUrl: { web: string; app: string };
    };
    expect(created).toMatchObject({ subscriptionId: id, status: 'pending_approval' });
    expect(created.paymentUrl.web).toMatch(/^http/);

    const repeat = await stack.api('/subscriptions', { method: 'POST', body: request(id) });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual(created);

    const conflicting = await stack.api('/subscriptions', {
      method: 'POST',
      body: request(id, { amount: 990 }),
    });
    expect(conflicting.status).toBe(409);
    expect(((await conflicting.json()) as { error: { code: string } }).error.code).toBe('conflict');

    // A forged callback (wrong transactionId) changes nothing and shows an error page.
    const forged = await fetch(
      `${stack.url}/linepay/confirm?subscriptionId=${id}&transactionId=1234567890123456789&orderId=x`,
    );
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    expect(await forged.text()).toContain('data-tone="error"');

    const confirmPage = await approveAndFollow(id);
    const html = await confirmPage.text();
    expect(confirmPage.status, html).toBe(200);
    expect(html).toContain('data-status="active"');

    const view = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
    expect(view.status).toBe('active');
    expect(view.charges).toHaveLength(1);
    expect(typeof view.charges[0]?.transactionId).toBe('string');
    expect(view.regKeyMasked).toMatch(/…/);
    expect(JSON.stringify(view)).not.toMatch(/"regKey"/);

    // The same approval replayed does nothing new.
    const replay = await fetch(confirmPage.url);
    expect(replay.status).toBeLessThan(500);
    const after = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
    expect(after.charges).toHaveLength(1);
    expect(stack.sandbox.control.ledger().filter((e) => JSON.stringify(e).includes(id))).toHaveLength(1);

    const listed = await eventually(async () => {
      const res = await stack.api(`/subscriptions?status=active&customerId=cust-42`);
      const body = (await res.json()) as { subscriptions: { subscriptionId: string }[] };
      if (!body.subscriptions) throw new Error(JSON.stringify(body));
      return body.subscriptions.find((s) => s.subscriptionId === id);
    });
    expect(listed).toMatchObject({ subscriptionId: id, status: 'active', customerId: 'cust-42' });

    const cancel = await stack.api(`/subscriptions/${id}/cancel`, {
      method: 'POST',
      body: { reason: 'test over' },
    });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ status: 'canceled' });
    const again = await stack.api(`/subscriptions/${id}/pause`, { method: 'POST', body: {} });
    expect([404, 409]).toContain(again.status);
    // The id is used up: creating it again, even with the same terms, is a conflict.
    const recreate = await stack.api('/subscriptions', { method: 'POST', body: request(id) });
    expect(recreate.status).toBe(409);
    expect(((await recreate.json()) as { error: { code: string } }).error.code).toBe('conflict');
  });

  it('an unknown subscription is a 404 in the merchant API', async () => {
    expect((await stack.api('/subscriptions/does-not-exist')).status).toBe(404);
    expect((await stack.api('/subscriptions/does-not-exist/resume', { method: 'POST' })).status).toBe(404);
    // The callback does not tell: an unknown subscription gets the page every refused link gets.
    const page = await fetch(
      `${stack.url}/linepay/confirm?subscriptionId=does-not-exist&transactionId=1&orderId=o`,
    );
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('data-status="invalid_callback"');
  });

  it('the customer backing out on LINE Pay ends the approval', async () => {
    const id = `http-cancel-${randomUUID()}`;
    const res = await stack.api('/subscriptions', { method: 'POST', body: request(id) });
    expect(res.status).toBe(201);
    const { redirectUrl } = stack.sandbox.control.cancel(await reservedTransactionId(id));
    const page = await fetch(redirectUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-status="approval_canceled"');
  });
});
