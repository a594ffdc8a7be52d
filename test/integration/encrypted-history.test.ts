import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../client/temporal/payload-codec.js';
import { type SubscriptionView, workflowIdFor } from '../../workflows/messages.js';
import '../helpers/quiet-runtime.js';
import { CODEC_TOKEN, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';

let stack: ServiceStack;
beforeAll(async () => {
  stack = await startServiceStack(inject('temporalAddress'), `encrypted-history-${randomUUID()}`);
});
afterAll(async () => {
  await stack?.close();
});

const PRODUCT = '月訂閱 Premium 加密測試';

it('history holds no regKey and no customer data in clear; the codec server decodes it for the UI', async () => {
  const id = `enc-${randomUUID()}`;
  const created = await stack.api('/subscriptions', {
    method: 'POST',
    body: {
      subscriptionId: id,
      customerId: 'cust-enc',
      productName: PRODUCT,
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
    },
  });
  expect(created.status).toBe(201);
  const pending = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
  const { redirectUrl } = stack.sandbox.control.approve(pending.reservation!.transactionId);
  const page = await fetch(redirectUrl);
  expect(await page.text()).toContain('data-status="active"');

  const regKeys = stack.sandbox.control.regKeys().map((r) => r.regKey);
  expect(regKeys.length).toBeGreaterThan(0);

  // A client WITHOUT the codec sees history exactly as the server stores it.
  const raw = new Client({ connection: stack.client.connection, namespace: 'default' });
  const history = await raw.workflow.getHandle(workflowIdFor(id)).fetchHistory();
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  for (const regKey of regKeys) {
    expect(bytes.includes(Buffer.from(regKey))).toBe(false);
    expect(bytes.includes(Buffer.from(Buffer.from(regKey).toString('base64')))).toBe(false);
  }
  expect(bytes.includes(Buffer.from(PRODUCT))).toBe(false);
  expect(bytes.includes(Buffer.from('cust-enc'))).toBe(true); // the CustomerId search attribute, by design

  const started = history.events?.find(
    (e) => e.workflowExecutionStartedEventAttributes,
  )?.workflowExecutionStartedEventAttributes;
  const input = started?.input?.payloads?.[0];
  expect(Buffer.from(input!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);

  // The Web UI's path: POST the stored payload to the codec server as proto JSON.
  const toJson = (p: temporal.api.common.v1.IPayload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });
  const res = await fetch(`${stack.codecUrl}/codec/decode`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${CODEC_TOKEN}`,
      'x-namespace': 'default',
      origin: 'http://127.0.0.1:8233',
    },
    body: JSON.stringify({ payloads: [toJson(input!)] }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
  const decoded = (await res.json()) as { payloads: { data: string }[] };
  const json = JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString('utf8')) as {
    productName: string;
  };
  expect(json.productName).toBe(PRODUCT);

  const denied = await fetch(`${stack.codecUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payloads: [toJson(input!)] }),
  });
  expect(denied.status).toBe(401);
});
