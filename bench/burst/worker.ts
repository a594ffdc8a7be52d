/**
 * The worker under test, as its own process so its RSS is its own (started by run.ts with
 * `node --import tsx`). Settings come from the environment through `readWorkerConfig`, exactly as
 * `npm run worker` reads them. BURST_MODE=subscription runs the product's worker; BURST_MODE=bare runs
 * bare-workflow.ts with the same settings and a no-op activity.
 *
 * Prints `READY` once polling; stops on SIGTERM.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { startWorkerLedger } from '../../ledger/worker-ledger.js';
import { readWorkerConfig } from '../../worker/config.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import type { BareActivities } from './bare-workflow.js';

const mode = process.env.BURST_MODE;
const bundlePath = process.env.BURST_BUNDLE_PATH;
if ((mode !== 'subscription' && mode !== 'bare') || !bundlePath) {
  console.error('worker: set BURST_MODE (subscription|bare) and BURST_BUNDLE_PATH');
  process.exit(2);
}

const config = readWorkerConfig(process.env);
Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGINT', 'SIGTERM'] });
const connection = await NativeConnection.connect(config.temporal.connectionOptions);
const dataConverter = createDataConverter(config.encryptionKeys);
const settings = {
  maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
  maxConcurrentLocalActivityExecutions: config.maxConcurrentLocalActivityExecutions,
  maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTaskExecutions,
  maxCachedWorkflows: config.maxCachedWorkflows,
  stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeout,
  nonStickyToStickyPollRatio: config.nonStickyToStickyPollRatio,
};

// The product's worker writes the ledger and delivers webhooks as `npm run worker` does.
const ledger =
  mode === 'subscription'
    ? await startWorkerLedger({
        config: config.ledger,
        linePay: config.linePay,
        logger: Runtime.instance().logger,
        metricMeter: Runtime.instance().metricMeter,
      })
    : undefined;

const worker =
  mode === 'subscription'
    ? await createSubscriptionWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activityDeps: buildActivityDeps({
          linePay: config.linePay,
          encryptionKeys: config.encryptionKeys,
          vaultKeys: config.vaultKeys,
          callbackSigningKey: config.callbackSigningKey,
        }),
        ...(ledger ? { ledgerActivities: ledger.activities } : {}),
        dataConverter,
        workflowBundle: { codePath: bundlePath },
        shutdownGraceTime: '5s',
        ...settings,
      })
    : await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activities: { noop: async () => Date.now() } satisfies BareActivities,
        dataConverter,
        workflowBundle: { codePath: bundlePath },
        shutdownGraceTime: '5s',
        ...settings,
      });

const running = worker.run();
console.log(`READY ${JSON.stringify({ mode, pid: process.pid, ...settings })}`);
await running;
await ledger?.close();
await connection.close();
