import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createLedgerActivities } from '../../activities/ledger-activities.js';
import { LinePayClient } from '../../activities/linepay/index.js';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import { readBillingLimits } from '../../client/config.js';
import { createApp } from '../../client/http/app.js';
import { createSubscriptionsClient } from '../../client/subscriptions-client.js';
import type { DatabaseConfig } from '../../ledger/config.js';
import { openLedgerDatabase } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { startSandbox } from '../../sandbox/index.js';
import type { SubscriptionView } from '../../workflows/messages.js';
import type { SubscriptionEvent } from '../../workflows/subscription-event.js';
import {
  type Harness,
  paymentsOf,
  startActiveSubscription,
  subscriptionInput,
  workflowBundle,
} from '../helpers/subscription-harness.js';
import { createTimeSkippingEnv, sandboxClockOf } from '../helpers/time-skipping.js';
import { postgresBinDir, startPostgresServer } from '../ledger/helpers/postgres-server.js';

const TOKEN = 'ledger-workflow-token-0123';
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const backends: { name: string; open(): Promise<DatabaseConfig> }[] = [
  {
    name: 'PGlite',
    async open() {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-2y-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      return { kind: 'pglite', dataDir, poolSize: 4 };
    },
  },
];
if (postgresBinDir() || process.env.CI) {
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const server = await startPostgresServer();
      cleanups.push(() => server.destroy());
      return { kind: 'postgres', url: await server.createDatabase('ledger_2y'), poolSize: 4 };
    },
  });
}

/**
 * The workflow harness with the real ledger activity in the worker, over `database`, on its own
 * time-skipping server (its clock is global: a second subscription would start years later).
 */
async function ledgerHarness(database: DatabaseConfig): Promise<Harness & { store: LedgerStore }> {
  const env: TestWorkflowEnvironment = await createTimeSkippingEnv();
  const ledgerDb = await openLedgerDatabase(database, { migrate: true });
  const store = new LedgerStore(ledgerDb.db);
  const sandbox = await startSandbox({ port: 0, now: sandboxClockOf(env) });
  const linePay = new LinePayClient({
    channelId: sandbox.channelId,
    channelSecret: sandbox.channelSecret,
    baseUrl: sandbox.url,
    timeouts: { preapprovedPay: 5_000, details: 5_000 },
  });
  const recordedEvents: SubscriptionEvent[] = [];
  const ledger = createLedgerActivities({ ledger: store });
  const taskQueue = `ledger-2y-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: workflowBundle(),
    activities: {
      ...createActivities({
        linePay,
        vault: new RegKeyVault(randomBytes(32)),
        callbackSigningKey: randomBytes(32),
      }),
      async recordEvents(input: { events: SubscriptionEvent[] }) {
        const result = await ledger.recordEvents(input);
        recordedEvents.push(...input.events);
        return result;
      },
    },
  });
  const running = worker.run();
  return {
    env,
    client: env.client,
    sandbox,
    taskQueue,
    recordedEvents,
    store,
    async close() {
      worker.shutdown();
      await running;
      await sandbox.close();
      await ledgerDb.close();
      await env.teardown();
    },
  };
}

// The backends run side by side: each has its own time-skipping server, sandbox, worker and database.
describe('the ledger under the workflow', () => {
  it.concurrent.for(backends)(
    'a 2-year monthly subscription: every charge is in GET …/charges, more than the workflow keeps ($name)',
    async (backend, { expect }) => {
      const h = await ledgerHarness(await backend.open());
      cleanups.push(() => h.close());
      const input = subscriptionInput({
        interval: 'P1M',
        maxCycles: 25, // the approval payment and 24 monthly charges
      });
      const handle = await startActiveSubscription(h, input);
      const final = await handle.result(); // time skips while we wait
      expect(final.status).toBe('completed');
      expect(final.paidCycles).toBe(25);

      const subscriptions = createSubscriptionsClient({
        client: h.client,
        taskQueue: h.taskQueue,
        publicBaseUrl: 'https://merchant.example',
        limits: readBillingLimits({ LINEPAY_ENV: 'sandbox' }),
      });
      const app = createApp({
        subscriptions,
        apiToken: TOKEN,
        callbackSigningKeys: [randomBytes(32)],
        ledger: h.store,
        log: () => {},
      });
      const get = async <T>(url: string): Promise<T> => {
        const res = await app.request(url, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.status, url).toBe(200);
        return (await res.json()) as T;
      };

      // The workflow's answer keeps the recent charges and says where the rest are.
      const view = await get<SubscriptionView & { links: { charges: string; events: string } }>(
        `/subscriptions/${input.subscriptionId}`,
      );
      expect(view.charges.length).toBeLessThan(25);
      expect(view.charges[0]!.cycle).toBeGreaterThan(0);
      const page = await get<{
        charges: { cycle: number; orderId: string; transactionId: string; amount: number; status: string }[];
      }>(`${view.links.charges}?limit=10`);
      const charges = [...page.charges];
      let cursor = (page as { nextCursor?: string | null }).nextCursor;
      while (cursor) {
        const next = await get<{ charges: typeof charges; nextCursor: string | null }>(
          `${view.links.charges}?cursor=${cursor}&limit=10`,
        );
        charges.push(...next.charges);
        cursor = next.nextCursor;
      }
      expect(charges.map((c) => c.cycle)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(charges.every((c) => c.status === 'succeeded' && c.amount === 390)).toBe(true);
      // The ledger's charges are LINE Pay's payments, transactionIds as strings.
      const paid = paymentsOf(h, input.subscriptionId);
      expect(charges.map((c) => c.transactionId).sort()).toEqual(
        paid.map((p) => String(p.transactionId)).sort(),
      );
      expect(charges.every((c) => typeof c.transactionId === 'string')).toBe(true);
      // Where the workflow still has a charge, the ledger has the same one.
      const byCycle = new Map(charges.map((c) => [c.cycle, c]));
      for (const kept of view.charges) expect(byCycle.get(kept.cycle)?.orderId).toBe(kept.orderId);

      const events = await get<{ events: { sequence: number; type: string }[] }>(
        `${view.links.events}&limit=500`,
      );
      expect(events.events.map((e) => e.sequence)).toEqual(events.events.map((_, i) => i + 1));
      expect(events.events.at(-1)?.type).toBe('subscription.completed');
      console.log(
        `[ledger-2y] ${backend.name}: ${charges.length} charges in the ledger, ${view.charges.length} in the workflow view, ${events.events.length} events`,
      );
    },
  );
});
