import { deriveVaultKey, type VaultKey } from '../activities/regkey-vault.js';
import {
  ConfigError,
  type Env,
  type LinePayEnv,
  nonEmpty,
  readBindAddress,
  readCallbackSigningKeys,
  readDeploymentUrl,
  readEncryptionKeys,
  readInt,
  readLinePayEnv,
  readPositiveNumber,
  readRequired,
  readTemporalSettings,
  type TemporalSettings,
} from '../client/config.js';
import type { EncryptionKey } from '../client/temporal/payload-codec.js';
import { type LedgerConfig, readLedgerConfig } from '../ledger/config.js';
import { parseStackTraces, STACK_TRACES_ENV } from './stack-trace-setting.js';

export { ConfigError, type Env } from '../client/config.js';

/** LINE Pay's sandbox; production is https://api-pay.line.me, the demo points at the local sandbox. */
export const DEFAULT_LINEPAY_API_URL = 'https://sandbox-api-pay.line.me';

export interface WorkerConfig {
  temporal: TemporalSettings;
  /** DATABASE_URL or DATA_DIR, WEBHOOK_URLS/SECRET, RECONCILIATION_* (ledger/config.ts). */
  ledger: LedgerConfig;
  /** `maxRequestsPerSecond`: `LINEPAY_MAX_REQUESTS_PER_SECOND`, a cap per worker process on every LINE Pay request. */
  linePay: { baseUrl: string; channelId: string; channelSecret: string; maxRequestsPerSecond?: number };
  /** `LINEPAY_ENV`: production refuses http and needs an explicit LINEPAY_API_URL. */
  linePayEnv: LinePayEnv;
  /** Signs the callback links (`CALLBACK_SIGNING_KEY`, first entry); the HTTP service verifies. */
  callbackSigningKey: Buffer;
  encryptionKeys: EncryptionKey[];
  /** regKey vault keys, current first: held by workers only. */
  vaultKeys: VaultKey[];
  /** `derived`: no `REGKEY_VAULT_KEY` was set (never in production); main.ts warns at start-up. */
  vaultKeySource: 'REGKEY_VAULT_KEY' | 'derived';
  maxConcurrentActivityTaskExecutions: number;
  /** Local activities in flight: the cycle charge and the ledger write (`WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES`). */
  maxConcurrentLocalActivityExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  /**
   * Sticky-cache size. Billing workflows sleep for weeks, so a big cache only holds memory; the SDK's own
   * default grows with the V8 heap limit (about 2,300 on a 4 GiB heap). See bench/burst/README.md.
   */
  maxCachedWorkflows: number;
  /**
   * How long a workflow task waits on this worker's sticky queue before the server hands it to any
   * worker (`WORKER_STICKY_QUEUE_TIMEOUT_SECONDS`, the SDK's 10 s by default). In a month-start burst
   * every due subscription's task lands on the sticky queue of the worker that ran it last.
   */
  stickyQueueScheduleToStartTimeout: string;
  /**
   * Share of the workflow-task pollers that poll the task queue itself rather than this worker's sticky
   * queue (`WORKER_NONSTICKY_POLL_RATIO`, the SDK's 0.2 by default). New subscriptions' first tasks and
   * rested runs' are only on the task queue.
   */
  nonStickyToStickyPollRatio: number;
  /**
   * The SDK's workflow stack-trace tracking (`WORKER_WORKFLOW_STACK_TRACES`, default off): applied by
   * worker/workflow-stack-traces.ts, which the worker must be started with (`node --import`).
   */
  workflowStackTraces: boolean;
  /** Prometheus scrape address (`host:port`); metrics are off without it. */
  metricsBindAddress?: string;
  /** How long in-flight activities get to finish after SIGINT/SIGTERM before they are cancelled. */
  shutdownGraceTime: string;
  /** Prebundled workflow code; when unset, main.ts looks for dist/workflow-bundle.js. */
  workflowBundlePath?: string;
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** The SDK's own: 0.5 did not help the rest wave of the 10,000 run (bench/burst/README.md). */
export const DEFAULT_NONSTICKY_POLL_RATIO = 0.2;

/** Sticky-cache default, from the curve in bench/burst/README.md. */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 40;

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * Reads and checks the worker's settings, with local defaults. Pure: no I/O beyond what envconfig does
 * for a TEMPORAL_CONFIG_FILE. Throws one `ConfigError` naming the first bad variable, never its value.
 */
export function readWorkerConfig(env: Env): WorkerConfig {
  const temporal = readTemporalSettings(env);
  const linePayEnv = readLinePayEnv(env);
  const baseUrl = readDeploymentUrl(env, 'LINEPAY_API_URL', linePayEnv, DEFAULT_LINEPAY_API_URL);
  if (linePayEnv === 'production' && new URL(baseUrl).hostname.startsWith('sandbox-')) {
    throw new ConfigError('LINEPAY_API_URL', 'points at the LINE Pay sandbox while LINEPAY_ENV=production');
  }
  const channelId = readRequired(env, 'LINEPAY_CHANNEL_ID', 'from the LINE Pay merchant center');
  if (!/^\d{1,20}$/.test(channelId))
    throw new ConfigError('LINEPAY_CHANNEL_ID', 'must be the numeric channel id');
  const channelSecret = readRequired(env, 'LINEPAY_CHANNEL_SECRET', 'from the LINE Pay merchant center');
  const encryptionKeys = readEncryptionKeys(env);
  const vault = readVaultKeys(env, encryptionKeys);
  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'INFO').toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const graceSeconds = readInt(env, 'WORKER_SHUTDOWN_GRACE_SECONDS', 60, 0, 3600);
  const maxConcurrentWorkflowTaskExecutions = readInt(
    env,
    'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS',
    40,
    2,
    10_000,
  );
  const maxCachedWorkflows = readInt(
    env,
    'WORKER_MAX_CACHED_WORKFLOWS',
    DEFAULT_MAX_CACHED_WORKFLOWS,
    0,
    1_000_000,
  );
  // The SDK would silently lower the task slots to the cache size; say so instead.
  if (maxCachedWorkflows !== 0 && maxCachedWorkflows < maxConcurrentWorkflowTaskExecutions) {
    throw new ConfigError(
      'WORKER_MAX_CACHED_WORKFLOWS',
      `must be 0 (no cache) or at least WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${maxConcurrentWorkflowTaskExecutions})`,
    );
  }
  const config: WorkerConfig = {
    temporal,
    ledger: readLedgerConfig(env),
    linePay: { baseUrl, channelId, channelSecret },
    linePayEnv,
    callbackSigningKey: readCallbackSigningKeys(env, linePayEnv, encryptionKeys)[0]!,
    encryptionKeys,
    vaultKeys: vault.keys,
    vaultKeySource: vault.source,
    maxConcurrentActivityTaskExecutions: readInt(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 10_000),
    maxConcurrentLocalActivityExecutions: readInt(
      env,
      'WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES',
      100,
      1,
      10_000,
    ),
    maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows,
    stickyQueueScheduleToStartTimeout: `${readInt(env, 'WORKER_STICKY_QUEUE_TIMEOUT_SECONDS', 10, 1, 3600)}s`,
    nonStickyToStickyPollRatio: readRatio(env, 'WORKER_NONSTICKY_POLL_RATIO', DEFAULT_NONSTICKY_POLL_RATIO),
    shutdownGraceTime: `${graceSeconds}s`,
    workflowStackTraces: readStackTraces(env),
    logLevel: logLevel as WorkerConfig['logLevel'],
  };
  const rate = readPositiveNumber(env, 'LINEPAY_MAX_REQUESTS_PER_SECOND');
  if (rate !== undefined) config.linePay.maxRequestsPerSecond = rate;
  const metrics = readBindAddress(env, 'METRICS_BIND_ADDRESS');
  if (metrics !== undefined) config.metricsBindAddress = metrics;
  const bundle = nonEmpty(env, 'WORKFLOW_BUNDLE_PATH');
  if (bundle !== undefined) config.workflowBundlePath = bundle;
  return config;
}

/** The config with every secret replaced, for a start-up log line. */
export function describeWorkerConfig(config: WorkerConfig): Record<string, unknown> {
  const { connectionOptions, ...temporal } = config.temporal;
  return {
    temporal: {
      ...temporal,
      tls: Boolean(connectionOptions.tls),
      apiKey: connectionOptions.apiKey ? '[redacted]' : undefined,
    },
    linePay: {
      baseUrl: config.linePay.baseUrl,
      channelId: config.linePay.channelId,
      channelSecret: '[redacted]',
      maxRequestsPerSecond: config.linePay.maxRequestsPerSecond,
    },
    linePayEnv: config.linePayEnv,
    encryptionKeyIds: config.encryptionKeys.map((k) => k.id),
    vaultKeyIds: config.vaultKeys.map((k) => k.id),
    vaultKeySource: config.vaultKeySource,
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
    maxConcurrentLocalActivityExecutions: config.maxConcurrentLocalActivityExecutions,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: config.maxCachedWorkflows,
    stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeout,
    nonStickyToStickyPollRatio: config.nonStickyToStickyPollRatio,
    metricsBindAddress: config.metricsBindAddress,
    shutdownGraceTime: config.shutdownGraceTime,
    workflowStackTraces: config.workflowStackTraces,
    workflowBundlePath: config.workflowBundlePath,
  };
}

function readRatio(env: Env, name: string, fallback: number): number {
  const value = readPositiveNumber(env, name) ?? fallback;
  if (value > 1) throw new ConfigError(name, 'must be a number above 0 and at most 1');
  return value;
}

function readStackTraces(env: Env): boolean {
  const on = parseStackTraces(env[STACK_TRACES_ENV]);
  if (on === undefined) throw new ConfigError(STACK_TRACES_ENV, 'must be "on" or "off"');
  return on;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const DEFAULT_VAULT_KEY_ID = 'rv1';

/**
 * The regKey vault keys: `REGKEY_VAULT_KEYS` (`<id>:<key>,…`, current first, for rotation) or
 * `REGKEY_VAULT_KEY` (+ `REGKEY_VAULT_KEY_ID`), each 32 bytes in base64 or hex. Required when
 * `NODE_ENV=production`; otherwise, when unset, derived from the payload keys so the demo and tests
 * run (the payload key is held by the HTTP service and CLI users too, so that is no separation).
 */
export function readVaultKeys(
  env: Env,
  payloadKeys: readonly EncryptionKey[],
): { keys: VaultKey[]; source: 'REGKEY_VAULT_KEY' | 'derived' } {
  const list = nonEmpty(env, 'REGKEY_VAULT_KEYS');
  const single = nonEmpty(env, 'REGKEY_VAULT_KEY');
  if (list !== undefined && single !== undefined) {
    throw new ConfigError('REGKEY_VAULT_KEYS', 'set either REGKEY_VAULT_KEYS or REGKEY_VAULT_KEY, not both');
  }
  let keys: VaultKey[];
  if (list !== undefined) {
    keys = [];
    for (const [i, entry] of list.split(',').entries()) {
      const sep = entry.indexOf(':');
      const id = entry.slice(0, sep).trim();
      if (sep <= 0 || !KEY_ID.test(id)) {
        throw new ConfigError(
          'REGKEY_VAULT_KEYS',
          `entry ${i + 1} must be <keyId>:<32 bytes, base64 or hex>`,
        );
      }
      if (keys.some((k) => k.id === id))
        throw new ConfigError('REGKEY_VAULT_KEYS', `lists key id ${id} twice`);
      keys.push({ id, key: decodeVaultKey('REGKEY_VAULT_KEYS', entry.slice(sep + 1).trim(), `key ${id}`) });
    }
  } else if (single !== undefined) {
    const id = nonEmpty(env, 'REGKEY_VAULT_KEY_ID') ?? DEFAULT_VAULT_KEY_ID;
    if (!KEY_ID.test(id))
      throw new ConfigError('REGKEY_VAULT_KEY_ID', 'must be 1-32 characters of [A-Za-z0-9_-]');
    keys = [{ id, key: decodeVaultKey('REGKEY_VAULT_KEY', single, 'value') }];
  } else {
    if (nonEmpty(env, 'NODE_ENV') === 'production') {
      throw new ConfigError(
        'REGKEY_VAULT_KEY',
        'is required when NODE_ENV=production (32 random bytes: `openssl rand -base64 32`), held by workers only',
      );
    }
    return { keys: payloadKeys.map(deriveVaultKey), source: 'derived' };
  }
  const variable = list !== undefined ? 'REGKEY_VAULT_KEYS' : 'REGKEY_VAULT_KEY';
  for (const { key } of keys) {
    if (payloadKeys.some((p) => Buffer.from(p.key).equals(key))) {
      throw new ConfigError(variable, 'must not be one of the payload encryption keys');
    }
  }
  return { keys, source: 'REGKEY_VAULT_KEY' };
}

function decodeVaultKey(variable: string, text: string, what: string): Buffer {
  let key: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    key = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  } else throw new ConfigError(variable, `${what} is neither base64 nor hex`);
  if (key.length !== 32) {
    throw new ConfigError(
      variable,
      `${what} must decode to 32 bytes (got ${key.length}); use \`openssl rand -base64 32\``,
    );
  }
  return key;
}
