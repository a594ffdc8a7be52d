import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { SubscriptionView } from '../../workflows/messages.js';
import '../helpers/quiet-runtime.js';
import { type ServiceStack, startServiceStack } from '../helpers/service-stack.js';

let stack: ServiceStack;
beforeAll(async () => {
  stack = await startServiceStack(inject('temporalAddress'), `rapid-${randomUUID()}`);
});
afterAll(async () => {
  await stack?.close();
});

/**
 * Pause, plan change and resume back to back, then a cancel, on the real server: the sequence that
 * the model test (seed 781) saw the Java time-skipping server refuse ("invalid history builder
 * state"). On the dev server every request must answer and the run must close.
 */
it('pause, changePlan, resume and cancel in quick succession all answer on the dev server', async () => {
  const id = `rapid-${randomUUID()}`;
  const created = await stack.api('/subscriptions', {
    method: 'POST',
    body: {
      subscriptionId: id,
      customerId: 'c',
      productName: 'Plan',
      amount: 1620,
      currency: 'TWD',
      interval: 'P1D',
    },
  });
  expect(created.status).toBe(201);
  const view0 = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
  const { redirectUrl } = stack.sandbox.control.approve(view0.reservation!.transactionId);
  expect((await fetch(redirectUrl)).status).toBe(200);
  const post = (path: string, body: unknown) =>
    stack.api(`/subscriptions/${id}/${path}`, { method: 'POST', body });
  expect((await post('pause', { reason: 'r' })).status).toBe(200);
  expect(
    (await stack.api(`/subscriptions/${id}/plan`, { method: 'PATCH', body: { amount: 1357 } })).status,
  ).toBe(200);
  expect((await post('resume', {})).status).toBe(200);
  const cancel = await post('cancel', { reason: 'done' });
  expect(cancel.status).toBe(200);
  const final = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
  expect(final.status).toBe('canceled');
  const history = await stack.client.workflow.getHandle(`subscription-${id}`).fetchHistory();
  expect(history.events!.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
});
