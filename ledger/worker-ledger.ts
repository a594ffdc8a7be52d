import type { MetricMeter } from '@temporalio/common';
import { createLedgerActivities, type LedgerActivities } from '../activities/ledger-activities.js';
import { LinePayClient } from '../activities/linepay/index.js';
import type { TemporalSettings } from '../client/config.js';
import { connectClient } from '../client/temporal/connection.js';
import type { EncryptionKey } from '../client/temporal/payload-codec.js';
import type { LedgerConfig } from './config.js';
import { type LedgerDb, openLedgerDatabase } from './database.js';
import { LedgerStore } from './ledger-store.js';
import { ensureReconciliationSchedule } from './reconciliation-schedule.js';
import { type DispatcherLogger, WebhookDispatcher } from './webhooks/dispatcher.js';

export interface WorkerLedger {
  db: LedgerDb;
  activities: LedgerActivities;
  dispatcher?: WebhookDispatcher;
  close(): Promise<void>;
}

/**
 * What a worker process runs for the ledger: the database (migrated; the embedded one owned by the
 * first worker), the ledger activities and, when WEBHOOK_URLS is set, a webhook dispatcher beside
 * the Temporal worker (never inside a workflow task, so billing never waits for it).
 */
export async function startWorkerLedger(options: {
  config: LedgerConfig;
  /** LINE Pay credentials, for reconciliation's Payment Details calls. */
  linePay: { baseUrl: string; channelId: string; channelSecret: string };
  logger: DispatcherLogger;
  metricMeter?: MetricMeter;
}): Promise<WorkerLedger> {
  const db = await openLedgerDatabase(options.config.database, { migrate: true });
  const { webhooks } = options.config;
  const store = new LedgerStore(db.db, webhooks.urls);
  const dispatcher =
    webhooks.urls.length > 0 && webhooks.secret
      ? new WebhookDispatcher({
          db: db.db,
          secret: webhooks.secret,
          timeoutMs: webhooks.timeoutMs,
          pollMs: webhooks.pollMs,
          logger: options.logger,
          ...(options.metricMeter ? { metricMeter: options.metricMeter } : {}),
        })
      : undefined;
  dispatcher?.start();
  const activities = createLedgerActivities({
    ledger: store,
    linePay: new LinePayClient(options.linePay),
    ...(dispatcher ? { onRecorded: () => dispatcher.wake() } : {}),
  });
  return {
    db,
    activities,
    ...(dispatcher ? { dispatcher } : {}),
    async close() {
      await dispatcher?.stop();
      await db.close();
    },
  };
}

/** The ledger config for a start-up log line: no URL (it may hold a password), no secret. */
export function describeLedgerConfig(config: LedgerConfig): Record<string, unknown> {
  return {
    database:
      config.database.kind === 'postgres'
        ? 'postgres (DATABASE_URL)'
        : `pglite in ${config.database.dataDir}`,
    webhookEndpoints: config.webhooks.urls.length,
    reconciliationSchedule: config.reconciliation.schedule,
  };
}

/**
 * Creates or updates the reconciliation Schedule. A failure is logged, never fatal: billing does not
 * depend on it, and the next worker start tries again.
 */
export async function scheduleReconciliation(options: {
  temporal: TemporalSettings;
  encryptionKeys: readonly EncryptionKey[];
  config: LedgerConfig;
  logger: DispatcherLogger;
}): Promise<void> {
  try {
    const client = await connectClient(options.temporal, options.encryptionKeys);
    try {
      const outcome = await ensureReconciliationSchedule(client, {
        taskQueue: options.temporal.taskQueue,
        cron: options.config.reconciliation.schedule,
        lookbackHours: options.config.reconciliation.lookbackHours,
      });
      options.logger.info('reconciliation schedule', {
        outcome,
        cron: options.config.reconciliation.schedule,
      });
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    options.logger.warn('could not set up the reconciliation schedule', {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
