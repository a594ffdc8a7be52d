import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import type { SubscriptionView } from '../../workflows/messages.js';
import '../helpers/quiet-runtime.js';
import { eventually, startServiceStack } from '../helpers/service-stack.js';
import { startReceiver } from '../ledger/helpers/receiver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * The dev server (Temporal Server 1.32) makes UUIDv7 run ids, whose first 8 hex digits are a timestamp
 * shared by every run started in the same minute. Subscriptions created together must still each keep
 * their own events in the ledger, with their own event ids (the `webhook-id` merchants dedupe on).
 */
it('subscriptions created in the same minute each keep their events and webhook ids', async () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const receiver = await startReceiver(secret);
  cleanups.push(() => receiver.close());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-instances-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const stack = await startServiceStack(inject('temporalAddress'), `ledger-instances-${randomUUID()}`, {
    ledger: {
      database: { kind: 'pglite', dataDir, poolSize: 4 },
      webhooks: { urls: [receiver.url], secret },
    },
  });
  cleanups.push(() => stack.close());

  const ids = [0, 1, 2].map((i) => `same-minute-${randomUUID().slice(0, 8)}-${i}`);
  const view = async (id: string) =>
    (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
  for (const id of ids) {
    const created = await stack.api('/subscriptions', {
      method: 'POST',
      body: {
        subscriptionId: id,
        customerId: 'cust-1',
        productName: 'Monthly',
        amount: 390,
        currency: 'TWD',
        interval: 'P1M',
      },
    });
    expect(created.status).toBe(201);
  }
  for (const id of ids) {
    const { redirectUrl } = stack.sandbox.control.approve((await view(id)).reservation!.transactionId);
    expect((await fetch(redirectUrl)).status).toBe(200);
  }
  type Logged = { events: { id: string; type: string; instanceId: string }[] };
  const eventsOf = async (id: string) =>
    ((await (await stack.api(`/events?subscriptionId=${id}&limit=50`)).json()) as Logged).events;
  for (const id of ids) {
    await eventually(
      async () => (await eventsOf(id)).some((e) => e.type === 'charge.succeeded'),
      30_000,
      250,
    );
    expect((await view(id)).needsAttention).toBeUndefined();
  }
  const all = (await Promise.all(ids.map(eventsOf))).flat();
  expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  expect(new Set(all.map((e) => e.instanceId)).size).toBe(ids.length);
  await eventually(
    async () => ids.every((id) => receiver.accepted().some((r) => r.subscriptionId === id)),
    30_000,
    250,
  );
  const webhookIds = receiver.accepted().map((r) => r.id);
  expect(new Set(webhookIds).size).toBe(webhookIds.length);
});
