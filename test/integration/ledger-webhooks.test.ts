import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, inject, it } from 'vitest';
import type { DatabaseConfig } from '../../ledger/config.js';
import type { SubscriptionView } from '../../workflows/messages.js';
import { chargeOrderId } from '../../workflows/order-id.js';
import '../helpers/quiet-runtime.js';
import { eventually, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';
import { postgresBinDir, startPostgresServer } from '../ledger/helpers/postgres-server.js';
import { startReceiver } from '../ledger/helpers/receiver.js';

/**
 * The delivery whose first 3 attempts the receiver refuses: the decline (charge.failed), which the
 * workflow follows at once with subscription.past_due, so the next event waits behind the refused one.
 */
const FLAKY_SEQUENCE = 6;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const backends: { name: string; open(): Promise<DatabaseConfig> }[] = [
  {
    name: 'PGlite in a temporary DATA_DIR',
    async open() {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-webhooks-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      return { kind: 'pglite', dataDir, poolSize: 4 };
    },
  },
];
// CI installs PostgreSQL (.ci/run); locally without it only PGlite runs, as in the ledger project.
if (postgresBinDir() || process.env.CI) {
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const server = await startPostgresServer();
      cleanups.push(() => server.destroy());
      return { kind: 'postgres', url: await server.createDatabase('ledger_webhooks'), poolSize: 4 };
    },
  });
}

// The backends run side by side: each has its own stack, task queue, receiver and database, and the
// test mostly waits on 10-second billing intervals in real time.
describe('a subscription life through the ledger and webhooks', () => {
  it.concurrent.for(backends)(
    'is delivered in sequence order, signed, and a refused event comes again before the next ($name)',
    async (backend, { expect }) => {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      let stackRef: ServiceStack | undefined;
      /** Whether the next event was already in the ledger when the refused one finally went through. */
      let nextWasWaiting = false;
      const receiver = await startReceiver(secret, ({ sequence, attempt }) => {
        if (sequence !== FLAKY_SEQUENCE) return 204;
        if (attempt <= 3) return 500;
        nextWasWaiting = !!stackRef?.recordedEvents.some((e) => e.sequence === FLAKY_SEQUENCE + 1);
        return 204;
      });
      cleanups.push(() => receiver.close());
      const stack = await startServiceStack(inject('temporalAddress'), `ledger-webhooks-${randomUUID()}`, {
        ledger: {
          database: await backend.open(),
          webhooks: {
            urls: [receiver.url],
            secret,
            // 1 s, 2 s, 4 s: the next event is recorded long before the 4th attempt.
            policy: { initialDelayMs: 1_000, factor: 2, maxDelayMs: 4_000, retryForMs: 120_000, jitter: 0 },
          },
        },
      });
      stackRef = stack;
      cleanups.push(() => stack.close());

      const id = `hooks-${randomUUID().slice(0, 8)}`;
      const view = async () => (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
      const created = await stack.api('/subscriptions', {
        method: 'POST',
        body: {
          subscriptionId: id,
          customerId: 'cust-42',
          productName: '月訂閱 Premium',
          amount: 390,
          currency: 'TWD',
          // LINEPAY_ENV=sandbox allows intervals under a day (the stack's client limits).
          interval: 'PT10S',
        },
      });
      expect(created.status).toBe(201);
      const pending = await view();
      // The 4th recurring charge is declined once (insufficient balance); the merchant retries it.
      stack.sandbox.control.addFault({
        api: 'preapprovedPay',
        match: { orderId: chargeOrderId(id, pending.instanceId, 4, 0) },
        times: 1,
        action: { kind: 'return_code', code: '1142' },
      });
      const { redirectUrl } = stack.sandbox.control.approve(pending.reservation!.transactionId);
      expect((await fetch(redirectUrl)).status).toBe(200);

      await eventually(async () => (await view()).status === 'past_due', 90_000, 500);
      const afterDecline = await view();
      expect(afterDecline.paidCycles).toBe(4); // approval + cycles 1-3
      const retry = await stack.api(`/subscriptions/${id}/retry`, { method: 'POST', body: {} });
      expect(retry.status, await retry.clone().text()).toBe(200);
      await eventually(async () => (await view()).status === 'active', 30_000, 250);
      // A pause is refused while a charge is in progress; the next cycle may be under way.
      await eventually(
        async () => {
          const res = await stack.api(`/subscriptions/${id}/pause`, { method: 'POST', body: {} });
          return res.status === 200;
        },
        30_000,
        250,
      );
      expect((await stack.api(`/subscriptions/${id}/resume`, { method: 'POST', body: {} })).status).toBe(200);
      const cancel = await stack.api(`/subscriptions/${id}/cancel`, { method: 'POST', body: {} });
      expect(cancel.status).toBe(200);

      await eventually(
        async () =>
          receiver.accepted().some((r) => r.subscriptionId === id && r.type === 'subscription.canceled'),
        60_000,
        250,
      );

      // Every request verified with standardwebhooks; what arrived is the ledger's event log, in order.
      expect(receiver.rejected).toEqual([]);
      const mine = receiver.received.filter((r) => r.subscriptionId === id);
      const accepted = mine.filter((r) => r.answered === 204);
      const logged = (await (await stack.api(`/events?subscriptionId=${id}&limit=500`)).json()) as {
        events: { id: string; type: string; sequence: number }[];
      };
      expect(accepted.map((r) => r.id)).toEqual(logged.events.map((e) => e.id));
      expect(accepted.map((r) => r.sequence)).toEqual(accepted.map((_, i) => i + 1));
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]!.sequence).toBeGreaterThanOrEqual(mine[i - 1]!.sequence);
      const flaky = mine.filter((r) => r.sequence === FLAKY_SEQUENCE);
      expect(flaky.map((r) => r.answered)).toEqual([500, 500, 500, 204]);
      expect(flaky[0]!.type).toBe('charge.failed');
      expect(nextWasWaiting).toBe(true);
      expect(new Set(flaky.map((r) => JSON.stringify(r.body))).size).toBe(1);
      const deliveries = (await (await stack.api(`/events/${flaky[0]!.id}/deliveries`)).json()) as {
        deliveries: { status: string; attempts: number }[];
      };
      expect(deliveries.deliveries).toMatchObject([{ status: 'delivered', attempts: 4 }]);

      const types = accepted.map((r) => r.type);
      const charges = accepted
        .filter((r) => r.type.startsWith('charge.'))
        .map((r) => r.body.data as Record<string, unknown>);
      expect(charges.map((c) => [c.cycle, c.status, c.returnCode])).toEqual([
        [0, 'succeeded', '0000'],
        [1, 'succeeded', '0000'],
        [2, 'succeeded', '0000'],
        [3, 'succeeded', '0000'],
        [4, 'failed', '1142'],
        [4, 'succeeded', '0000'],
        ...charges.slice(6).map((c) => [c.cycle, 'succeeded', '0000']),
      ]);
      for (const c of charges)
        expect(c.transactionId === null || typeof c.transactionId === 'string').toBe(true);
      const order = [
        'subscription.activated',
        'charge.failed',
        'subscription.past_due',
        'subscription.paused',
        'subscription.resumed',
        'subscription.canceled',
      ].map((t) => types.indexOf(t as never));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(types.at(-1)).toBe('subscription.canceled');
      console.log(`[ledger-webhooks] ${backend.name}: ${accepted.length} events: ${types.join(', ')}`);

      // The workflow's answer points at the full history, and the links work.
      const final = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView & {
        links: { charges: string; events: string };
      };
      expect(final.links).toEqual({
        charges: `/subscriptions/${id}/charges`,
        events: `/events?subscriptionId=${id}`,
      });
      const listed = (await (await stack.api(final.links.charges)).json()) as {
        charges: { orderId: string }[];
      };
      expect(listed.charges.map((c) => c.orderId)).toEqual(charges.map((c) => c.orderId));
      const viaLink = (await (await stack.api(final.links.events)).json()) as { events: { id: string }[] };
      expect(viaLink.events.map((e) => e.id)).toEqual(logged.events.map((e) => e.id));
    },
  );
});
