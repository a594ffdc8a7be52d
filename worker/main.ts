/**
 * `npm run worker`: runs the subscription worker until SIGINT/SIGTERM. Configuration comes from the
 * environment (docs/operations.md); a bad setting stops start-up with one line naming the variable.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createDataConverter } from '../client/temporal/data-converter.js';
import { describeLedgerConfig, scheduleReconciliation, startWorkerLedger } from '../ledger/worker-ledger.js';
import { ConfigError, describeWorkerConfig, readWorkerConfig, type WorkerConfig } from './config.js';
import { buildActivityDeps, createSubscriptionWorker } from './create-worker.js';
import { createRedactingLogger } from './redacting-logger.js';
import { ensureSearchAttributes } from './search-attributes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_BUNDLE_PATH = path.join(ROOT, 'dist', 'workflow-bundle.js');

/**
 * The default bundle, unless the workflow sources next to it are newer (a stale `npm run bundle` left
 * behind in a checkout would otherwise run old workflow code). An explicit WORKFLOW_BUNDLE_PATH always wins.
 */
function defaultBundle(): string | undefined {
  if (!existsSync(DEFAULT_BUNDLE_PATH)) return undefined;
  const sources = path.join(ROOT, 'workflows');
  if (!existsSync(sources)) return DEFAULT_BUNDLE_PATH;
  const bundledAt = statSync(DEFAULT_BUNDLE_PATH).mtimeMs;
  const stale = readdirSync(sources).some((f) => statSync(path.join(sources, f)).mtimeMs > bundledAt);
  return stale ? undefined : DEFAULT_BUNDLE_PATH;
}

/** Whether this process was started with the stack-trace preload (it must also run in the SDK's threads). */
function stackTracePreloaded(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some((a) => a.includes('workflow-stack-traces'));
}

function secretsOf(config: WorkerConfig): string[] {
  const out = [
    config.linePay.channelSecret,
    config.callbackSigningKey.toString('base64'),
    ...config.encryptionKeys.map((k) => Buffer.from(k.key).toString('base64')),
    ...config.vaultKeys.flatMap((k) => [k.key.toString('base64'), k.key.toString('hex')]),
  ];
  const apiKey = config.temporal.connectionOptions.apiKey;
  if (typeof apiKey === 'string') out.push(apiKey);
  const { webhooks, database } = config.ledger;
  if (webhooks.secret) out.push(Buffer.from(webhooks.secret).toString('base64'));
  if (database.kind === 'postgres') {
    const password = new URL(database.url).password;
    if (password) out.push(password, decodeURIComponent(password));
  }
  return out;
}

async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = readWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`worker: configuration error: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const logger = createRedactingLogger(config.logLevel, secretsOf(config));
  Runtime.install({
    logger,
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    ...(config.metricsBindAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.metricsBindAddress } } } }
      : {}),
  });
  logger.info('worker starting', { config: describeWorkerConfig(config) });
  if (!config.workflowStackTraces && !stackTracePreloaded()) {
    logger.warn(
      'WORKER_WORKFLOW_STACK_TRACES is off, but this process was started without `--import ./dist/worker/workflow-stack-traces.js` (npm run start:worker and the image add it): the SDK keeps tracking workflow stack traces, at about 40 % of the workflow thread in a burst.',
    );
  }
  if (config.vaultKeySource === 'derived') {
    logger.warn(
      'REGKEY_VAULT_KEY is not set: the regKey vault key is derived from the payload key, which the HTTP service and CLI users hold too. Set REGKEY_VAULT_KEY on workers only (required when NODE_ENV=production).',
    );
  }

  const ledger = await startWorkerLedger({
    config: config.ledger,
    linePay: config.linePay,
    logger,
    metricMeter: Runtime.instance().metricMeter,
  });
  logger.info('ledger open', { ledger: describeLedgerConfig(config.ledger), role: ledger.db.role });
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  try {
    await scheduleReconciliation({
      temporal: config.temporal,
      encryptionKeys: config.encryptionKeys,
      config: config.ledger,
      logger,
    });
    const added = await ensureSearchAttributes(connection, config.temporal.namespace);
    if (added.length > 0) logger.info('registered search attributes', { added });

    const bundlePath = config.workflowBundlePath ?? defaultBundle();
    if (config.workflowBundlePath && !existsSync(config.workflowBundlePath)) {
      throw new ConfigError('WORKFLOW_BUNDLE_PATH', 'points to a file that does not exist');
    }
    logger.info(bundlePath ? 'using prebundled workflow code' : 'bundling workflow code at start-up', {
      bundlePath,
    });

    const worker = await createSubscriptionWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activityDeps: buildActivityDeps({
        linePay: config.linePay,
        encryptionKeys: config.encryptionKeys,
        vaultKeys: config.vaultKeys,
        callbackSigningKey: config.callbackSigningKey,
      }),
      ledgerActivities: ledger.activities,
      dataConverter: createDataConverter(config.encryptionKeys),
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
      maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
      maxConcurrentLocalActivityExecutions: config.maxConcurrentLocalActivityExecutions,
      maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTaskExecutions,
      maxCachedWorkflows: config.maxCachedWorkflows,
      stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeout,
      nonStickyToStickyPollRatio: config.nonStickyToStickyPollRatio,
      shutdownGraceTime: config.shutdownGraceTime,
    });
    logger.info('worker polling', {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
    });
    // Resolves once a shutdown signal has drained in-flight tasks (activities get shutdownGraceTime).
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await ledger.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`worker: configuration error: ${err.message}`);
  else console.error('worker: fatal', err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
