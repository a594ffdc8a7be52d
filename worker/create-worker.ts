import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { deriveCallbackKey } from '../activities/callback-link.js';
import { type ActivityDeps, createActivities } from '../activities/index.js';
import type { LedgerActivities } from '../activities/ledger-activities.js';
import { LinePayClient } from '../activities/linepay/index.js';
import { deriveVaultKey, RegKeyVault, type VaultKey } from '../activities/regkey-vault.js';
import type { EncryptionKey } from '../client/temporal/payload-codec.js';
import { DEFAULT_MAX_CACHED_WORKFLOWS, DEFAULT_NONSTICKY_POLL_RATIO } from './config.js';

/** Entry module of the workflow code, for the bundler and for tests that bundle on the fly. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export type { ActivityDeps };

export interface SubscriptionWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** What the activities run on: the LINE Pay client and the regKey vault. */
  activityDeps: ActivityDeps;
  /** `recordEvents` and reconciliation (ledger/worker-ledger.ts); without them the ledger activity is not registered. */
  ledgerActivities?: LedgerActivities;
  /** Must match the client's (same codec and keys). */
  dataConverter: DataConverter;
  /** Prebundled code (production); when absent the worker bundles `workflowsPath` at start-up. */
  workflowBundle?: { codePath: string } | { code: string };
  workflowsPath?: string;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentLocalActivityExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Sticky cache (default `DEFAULT_MAX_CACHED_WORKFLOWS`): RSS grows with it, not with the subscriptions. */
  maxCachedWorkflows?: number;
  stickyQueueScheduleToStartTimeout?: WorkerOptions['stickyQueueScheduleToStartTimeout'];
  /** Default `DEFAULT_NONSTICKY_POLL_RATIO` (worker/config.ts). */
  nonStickyToStickyPollRatio?: number;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  identity?: string;
}

/**
 * The subscription worker, as `npm run worker` and the tests build it. Holds no state of its own, so any
 * number of these can poll one task queue: the workflow id is the only lock, and LINE Pay idempotency
 * rests on deterministic orderIds, not on which process runs an activity.
 */
export async function createSubscriptionWorker(options: SubscriptionWorkerOptions): Promise<Worker> {
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: { ...createActivities(options.activityDeps), ...options.ledgerActivities },
    dataConverter: options.dataConverter,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 20,
    // The cycle charge and the ledger write; a workflow task waits for its local activities in a slot.
    maxConcurrentLocalActivityExecutions: options.maxConcurrentLocalActivityExecutions ?? 100,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions ?? 40,
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    nonStickyToStickyPollRatio: options.nonStickyToStickyPollRatio ?? DEFAULT_NONSTICKY_POLL_RATIO,
    shutdownGraceTime: options.shutdownGraceTime ?? '60s',
  };
  if (options.workflowBundle) workerOptions.workflowBundle = options.workflowBundle;
  else workerOptions.workflowsPath = options.workflowsPath ?? WORKFLOWS_PATH;
  if (options.identity !== undefined) workerOptions.identity = options.identity;
  if (options.stickyQueueScheduleToStartTimeout !== undefined)
    workerOptions.stickyQueueScheduleToStartTimeout = options.stickyQueueScheduleToStartTimeout;
  return Worker.create(workerOptions);
}

export { deriveVaultKey };

/** Activity dependencies from config: the real LINE Pay client (or the sandbox) and the vault. */
export function buildActivityDeps(options: {
  linePay: { baseUrl: string; channelId: string; channelSecret: string; maxRequestsPerSecond?: number };
  /** Payload keys, current first. */
  encryptionKeys: readonly EncryptionKey[];
  /**
   * `REGKEY_VAULT_KEY(S)` from `readWorkerConfig`, current first; the vault seals with the first and
   * opens with any. Absent (tests): derived from the payload keys.
   */
  vaultKeys?: readonly VaultKey[];
  /** `CALLBACK_SIGNING_KEY`; absent (demo, tests): derived from the first payload key, as the HTTP service does. */
  callbackSigningKey?: Uint8Array;
}): ActivityDeps {
  const firstKey = options.encryptionKeys[0];
  if (!firstKey && !options.callbackSigningKey) throw new Error('buildActivityDeps needs a key');
  return {
    linePay: new LinePayClient({
      channelId: options.linePay.channelId,
      channelSecret: options.linePay.channelSecret,
      baseUrl: options.linePay.baseUrl,
      ...(options.linePay.maxRequestsPerSecond !== undefined
        ? { maxRequestsPerSecond: options.linePay.maxRequestsPerSecond }
        : {}),
    }),
    vault: new RegKeyVault(options.vaultKeys ?? options.encryptionKeys.map(deriveVaultKey)),
    callbackSigningKey: options.callbackSigningKey ?? deriveCallbackKey(firstKey!.key),
  };
}
