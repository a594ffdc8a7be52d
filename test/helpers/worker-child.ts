/**
 * A worker process for tests that kill workers: the production `createSubscriptionWorker` with the
 * codec data converter and `buildActivityDeps`, configured by one JSON env var. Prints `ready` once polling.
 */
import { NativeConnection } from '@temporalio/worker';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import { memoryLedgerActivities } from './memory-ledger.js';

export interface WorkerChildConfig {
  address: string;
  taskQueue: string;
  identity: string;
  bundlePath: string;
  linePay: { baseUrl: string; channelId: string; channelSecret: string };
  /** Payload key, base64. */
  key: { id: string; key: string };
}

const config = JSON.parse(process.env.WORKER_CHILD_CONFIG ?? '') as WorkerChildConfig;
const keys = [{ id: config.key.id, key: Buffer.from(config.key.key, 'base64') }];
const connection = await NativeConnection.connect({ address: config.address });
const worker = await createSubscriptionWorker({
  connection,
  namespace: 'default',
  taskQueue: config.taskQueue,
  identity: config.identity,
  activityDeps: buildActivityDeps({ linePay: config.linePay, encryptionKeys: keys }),
  ledgerActivities: memoryLedgerActivities(),
  dataConverter: createDataConverter(keys),
  workflowBundle: { codePath: config.bundlePath },
});
const running = worker.run();
process.stdout.write('ready\n');
await running;
await connection.close();
