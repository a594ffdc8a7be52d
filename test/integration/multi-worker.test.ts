import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import type { SubscriptionView } from '../../workflows/messages.js';
import { eventually, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';
import { workflowBundle } from '../helpers/subscription-harness.js';

let stack: ServiceStack;
let second: { worker: Worker; running: Promise<void>; connection: NativeConnection };

beforeAll(async () => {
  const address = inject('temporalAddress');
  stack = await startServiceStack(address, `multi-worker-${randomUUID()}`);
  // A second worker process's worth: own connection, same task queue, same keys, same LINE Pay.
  const connection = await NativeConnection.connect({ address });
  const worker = await createSubscriptionWorker({
    connection,
    namespace: 'default',
    taskQueue: stack.taskQueue,
    activityDeps: buildActivityDeps({
      linePay: {
        baseUrl: stack.sandbox.url,
        channelId: stack.sandbox.channelId,
        channelSecret: stack.sandbox.channelSecret,
      },
      encryptionKeys: stack.keys,
    }),
    dataConverter: createDataConverter(stack.keys),
    workflowBundle: await workflowBundle(),
    identity: 'second-worker',
  });
  second = { worker, running: worker.run(), connection };
});
afterAll(async () => {
  second?.worker.shutdown();
  await second?.running.catch(() => undefined);
  await second?.connection.close();
  await stack?.close();
});

it('two workers on one task queue bill every subscription exactly once per cycle', async () => {
  const ids = Array.from({ length: 6 }, (_, i) => `multi-${i}-${randomUUID().slice(0, 8)}`);
  await Promise.all(
    ids.map(async (id) => {
      const res = await stack.api('/subscriptions', {
        method: 'POST',
        body: {
          subscriptionId: id,
          customerId: 'multi',
          productName: 'Plan',
          amount: 100,
          currency: 'TWD',
          interval: 'PT10S',
        },
      });
      expect(res.status).toBe(201);
      const view = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
      const { redirectUrl } = stack.sandbox.control.approve(view.reservation!.transactionId);
      expect((await fetch(redirectUrl)).status).toBe(200);
    }),
  );
  const views = await eventually(
    async () => {
      const all = await Promise.all(
        ids.map(async (id) => (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView),
      );
      return all.every((v) => v.charges.length >= 2) ? all : undefined;
    },
    60_000,
    1_000,
  );
  const ledger = stack.sandbox.control.ledger().filter((e) => e.kind === 'payment');
  for (const view of views) {
    const orderIds = view.charges.map((c) => c.orderId);
    expect(new Set(orderIds).size).toBe(orderIds.length);
    for (const orderId of orderIds) expect(ledger.filter((e) => e.orderId === orderId)).toHaveLength(1);
  }
});
