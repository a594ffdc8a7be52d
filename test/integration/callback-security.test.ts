/**
 * The LINE Pay callbacks against the whole stack: every forged or replayed callback gets the same
 * answer and leaves the subscription as it was; only the signed link with LINE Pay's ids acts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signedCallbackUrl } from '../../activities/callback-link.js';
import type { SubscriptionView } from '../../workflows/messages.js';
import '../helpers/quiet-runtime.js';
import { type ServiceStack, startServiceStack } from '../helpers/service-stack.js';

let stack: ServiceStack;
beforeAll(async () => {
  stack = await startServiceStack(inject('temporalAddress'), `callback-security-${randomUUID()}`);
});
afterAll(async () => {
  await stack?.close();
});

async function create(): Promise<SubscriptionView> {
  const subscriptionId = `cbsec-${randomUUID().slice(0, 8)}`;
  const res = await stack.api('/subscriptions', {
    method: 'POST',
    body: {
      subscriptionId,
      customerId: 'cust-sec',
      productName: 'Coffee club',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return view(subscriptionId);
}

async function view(id: string): Promise<SubscriptionView> {
  return (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
}

/** What matters of a subscription for "unchanged": status, reservation, charges, audit. */
const snapshot = (v: SubscriptionView) =>
  JSON.stringify({ status: v.status, reservation: v.reservation, charges: v.charges, audit: v.audit });

/** A callback URL signed as the reserve activity signs it (same key as the stack's worker). */
function link(
  route: 'confirm' | 'cancel',
  subscriptionId: string,
  orderId: string,
  appended: Record<string, string> = {},
): string {
  const url = signedCallbackUrl(
    `${stack.url}/linepay/${route}?subscriptionId=${subscriptionId}`,
    stack.callbackSigningKey,
    { subscriptionId, orderId },
  );
  const extra = new URLSearchParams(appended).toString();
  return extra ? `${url}&${extra}` : url;
}

async function answer(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

function forgeries(route: 'confirm' | 'cancel', target: SubscriptionView, other: SubscriptionView) {
  const r = target.reservation!;
  const o = other.reservation!;
  const ids = { transactionId: r.transactionId, orderId: r.orderId };
  return {
    'no token': `${stack.url}/linepay/${route}?subscriptionId=${target.subscriptionId}&transactionId=${r.transactionId}&orderId=${r.orderId}`,
    'bare id (the reported cancel)': `${stack.url}/linepay/${route}?subscriptionId=${target.subscriptionId}`,
    'wrong token': link(route, target.subscriptionId, r.orderId, ids).replace(
      /token=[^&]+/,
      `token=${'A'.repeat(22)}`,
    ),
    'token for another subscription': link(route, other.subscriptionId, o.orderId, {
      transactionId: r.transactionId,
      orderId: o.orderId,
    }).replace(`subscriptionId=${other.subscriptionId}`, `subscriptionId=${target.subscriptionId}`),
    'wrong transactionId': link(route, target.subscriptionId, r.orderId, {
      transactionId: o.transactionId,
      orderId: r.orderId,
    }),
    'wrong orderId': link(route, target.subscriptionId, r.orderId, {
      transactionId: r.transactionId,
      orderId: o.orderId,
    }),
  };
}

describe('callback security on the dev server', () => {
  it('confirm: every forgery gets the same answer and changes nothing; the real approval works; replays change nothing', async () => {
    const [target, other] = await Promise.all([create(), create()]);
    const before = snapshot(target);
    const answers = new Map<string, { status: number; body: string }>();
    for (const [name, url] of Object.entries(forgeries('confirm', target, other))) {
      answers.set(name, await answer(url));
    }
    const first = [...answers.values()][0]!;
    expect(first.status).toBe(400);
    expect(first.body).toContain('data-status="invalid_callback"');
    for (const [name, a] of answers) expect(a, name).toEqual(first);
    expect(snapshot(await view(target.subscriptionId))).toBe(before);
    expect(snapshot(await view(other.subscriptionId))).toBe(snapshot(other));

    // The customer approves on LINE Pay; the sandbox redirects to the signed confirmUrl.
    const { redirectUrl } = stack.sandbox.control.approve(target.reservation!.transactionId);
    expect(new URL(redirectUrl).searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const ok = await answer(redirectUrl);
    expect(ok.status, ok.body).toBe(200);
    expect(ok.body).toContain('data-status="active"');
    const active = await view(target.subscriptionId);
    expect(active.charges).toHaveLength(1);

    // Replays after use: the cancel link of the used reservation is refused like a forgery; the
    // confirm link again is answered from the update already applied and charges nothing more.
    const cancelReplay = await answer(
      link('cancel', target.subscriptionId, target.reservation!.orderId, {
        transactionId: target.reservation!.transactionId,
        orderId: target.reservation!.orderId,
      }),
    );
    expect(cancelReplay).toEqual(first);
    for (const url of Object.values(forgeries('confirm', target, other))) {
      expect(await answer(url)).toEqual(first);
    }
    await answer(redirectUrl);
    const after = await view(target.subscriptionId);
    expect(after.status).toBe('active');
    expect(after.charges).toHaveLength(1);
    expect(after.audit).toEqual(active.audit);
  });

  it('cancel: every forgery gets the same answer and leaves the approval pending; the signed link ends it; replays are refused', async () => {
    const [target, other] = await Promise.all([create(), create()]);
    const before = snapshot(target);
    const reference = await answer(`${stack.url}/linepay/confirm`);
    for (const [name, url] of Object.entries(forgeries('cancel', target, other))) {
      expect(await answer(url), name).toEqual(reference);
    }
    const still = await view(target.subscriptionId);
    expect(still.status).toBe('pending_approval');
    expect(snapshot(still)).toBe(before);

    // The customer backs out on LINE Pay's page: the sandbox sends the browser to the signed cancelUrl.
    const { redirectUrl } = stack.sandbox.control.cancel(target.reservation!.transactionId);
    const canceled = await answer(redirectUrl);
    expect(canceled.status, canceled.body).toBe(200);
    expect(canceled.body).toContain('data-status="approval_canceled"');

    // Replays after use: the same cancel link and the reservation's confirm link.
    expect(await answer(redirectUrl)).toEqual(reference);
    expect(
      await answer(
        link('confirm', target.subscriptionId, target.reservation!.orderId, {
          transactionId: target.reservation!.transactionId,
          orderId: target.reservation!.orderId,
        }),
      ),
    ).toEqual(reference);
    expect(snapshot(await view(other.subscriptionId))).toBe(snapshot(other));
  });
});
