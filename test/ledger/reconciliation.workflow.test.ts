import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerActivities } from '../../activities/ledger-activities.js';
import { LinePayClient } from '../../activities/linepay/index.js';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import {
  ensureReconciliationSchedule,
  RECONCILIATION_SCHEDULE_ID,
  runReconciliation,
} from '../../ledger/reconciliation-schedule.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';

const RECONCILIATION_PATH = fileURLToPath(new URL('../../workflows/reconciliation.ts', import.meta.url));
// One database is enough here: the SQL is covered on both in reconciliation.test.ts.
const backend = ledgerBackends().at(-1)!;

/** The reconciliation workflow on a real Temporal dev server, started by hand and by its Schedule. */
describe(`reconciliation workflow and schedule (${backend.name})`, () => {
  let env: TestWorkflowEnvironment;
  let ledger: LedgerDb;
  let sandbox: RunningSandbox;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `reconcile-${randomUUID()}`;

  beforeAll(async () => {
    [env, ledger, sandbox] = await Promise.all([
      TestWorkflowEnvironment.createLocal({ server: { executable: devServerExecutable() } }),
      backend.open(),
      startSandbox({ port: 0 }),
    ]);
    const linePay = new LinePayClient({
      baseUrl: sandbox.url,
      channelId: sandbox.channelId,
      channelSecret: sandbox.channelSecret,
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: RECONCILIATION_PATH,
      activities: createLedgerActivities({ ledger: new LedgerStore(ledger.db), linePay }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await Promise.all([env?.teardown(), sandbox?.close(), ledger?.close()]);
  });

  it('an on-demand run reports a charge LINE Pay never made; the schedule is created, then updated', async () => {
    const s = new EventStream();
    await new LedgerStore(ledger.db).recordEvents([
      s.charge(1, 'succeeded', { transactionId: '2026000000000000001' }),
    ]);
    const result = await runReconciliation(env.client, {
      taskQueue,
      input: { from: '2025-12-31T00:00:00Z', to: '2026-01-02T00:00:00Z' },
    });
    expect(result.checked).toBeGreaterThanOrEqual(1);
    expect(result.mismatches.filter((m) => m.orderId === s.orderId(1))).toMatchObject([
      { kind: 'missing_at_linepay', transactionId: '2026000000000000001' },
    ]);

    const options = { taskQueue, cron: '17 3 * * *', lookbackHours: 48 };
    expect(await ensureReconciliationSchedule(env.client, options)).toBe('created');
    expect(await ensureReconciliationSchedule(env.client, { ...options, cron: '0 5 * * *' })).toBe('updated');
    const described = await env.client.schedule.getHandle(RECONCILIATION_SCHEDULE_ID).describe();
    expect(described.action).toMatchObject({ workflowType: 'reconciliationWorkflow', taskQueue });
    expect(described.spec.calendars?.[0]?.hour).toEqual([{ start: 5, end: 5, step: 1 }]);
    expect(await ensureReconciliationSchedule(env.client, { ...options, cron: 'off' })).toBe('deleted');
  });
});
