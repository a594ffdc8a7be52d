import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import { type SubscriptionView, workflowIdFor } from '../../workflows/messages.js';
import { parseOrderId } from '../../workflows/order-id.js';
import { memoryLedgerActivities } from '../helpers/memory-ledger.js';
import { eventually, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';
import { workflowBundle } from '../helpers/subscription-harness.js';

const FIRST = 'first-worker';
const SECOND = 'second-worker';

let stack: ServiceStack;
let second: { worker: Worker; running: Promise<void>; connection: NativeConnection };

beforeAll(async () => {
  const address = inject('temporalAddress');
  stack = await startServiceStack(address, `multi-worker-${randomUUID()}`, { identity: FIRST });
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
    ledgerActivities: memoryLedgerActivities(stack.recordedEvents),
    dataConverter: createDataConverter(stack.keys),
    workflowBundle: workflowBundle(),
    identity: SECOND,
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
  // Stop billing before reading the ledger, so it and the views describe the same cycles.
  for (const id of ids) {
    await stack.api(`/subscriptions/${id}/cancel`, { method: 'POST', body: { reason: 'test over' } });
  }
  const finals = await Promise.all(
    ids.map((id) => stack.client.workflow.getHandle(workflowIdFor(id)).result()),
  );
  const ledger = stack.sandbox.control.ledger().filter((e) => e.kind === 'payment');

  for (const [i, id] of ids.entries()) {
    const view = finals[i] as SubscriptionView;
    expect(view.charges.length).toBeGreaterThanOrEqual(views[i]!.charges.length);
    // Every payment LINE Pay took for this subscription, under whatever orderId, grouped by cycle.
    const paid = ledger.filter((e) => parseOrderId(e.orderId)?.subscriptionId === id);
    const byCycle = new Map<number, string[]>();
    for (const e of paid) {
      const cycle = parseOrderId(e.orderId)!.cycle;
      byCycle.set(cycle, [...(byCycle.get(cycle) ?? []), e.transactionId]);
    }
    for (const [cycle, txs] of byCycle) expect(txs, `cycle ${cycle} of ${id}`).toHaveLength(1);
    expect(
      paid
        .map((e) => [parseOrderId(e.orderId)!.cycle, e.transactionId, e.amount])
        .sort((a, b) => +a[0]! - +b[0]!),
    ).toEqual(view.charges.map((c) => [c.cycle, c.transactionId, c.amount]));
  }

  // Both workers did real work: identities on the activity and workflow tasks they started.
  const activityBy = new Map<string, number>();
  const workflowTaskBy = new Map<string, number>();
  for (const id of ids) {
    const history = await stack.client.workflow.getHandle(workflowIdFor(id)).fetchHistory();
    for (const e of history.events ?? []) {
      const a = e.activityTaskStartedEventAttributes?.identity;
      if (a) activityBy.set(a, (activityBy.get(a) ?? 0) + 1);
      const w = e.workflowTaskStartedEventAttributes?.identity;
      if (w) workflowTaskBy.set(w, (workflowTaskBy.get(w) ?? 0) + 1);
    }
  }
  console.log('[multi-worker] activity tasks by worker', Object.fromEntries(activityBy));
  console.log('[multi-worker] workflow tasks by worker', Object.fromEntries(workflowTaskBy));
  expect([...activityBy.keys()].sort()).toEqual([FIRST, SECOND]);
  expect([...workflowTaskBy.keys()].sort()).toEqual([FIRST, SECOND]);
});
