import {
  ConfigError,
  type Env,
  nonEmpty,
  readBindAddress,
  readEncryptionKeys,
  readHttpUrl,
  readInt,
  readPositiveNumber,
  readRequired,
  readTemporalSettings,
  type TemporalSettings,
} from '../client/config.js';
import type { EncryptionKey } from '../client/temporal/payload-codec.js';

export { ConfigError, type Env } from '../client/config.js';

/** LINE Pay's sandbox; production is https://api-pay.line.me, the demo points at the local sandbox. */
export const DEFAULT_LINEPAY_API_URL = 'https://sandbox-api-pay.line.me';

export interface WorkerConfig {
  temporal: TemporalSettings;
  linePay: { baseUrl: string; channelId: string; channelSecret: string };
  encryptionKeys: EncryptionKey[];
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  /** Task-queue-wide cap on activity starts per second, shared by every worker: LINE Pay's rate limit. */
  maxTaskQueueActivitiesPerSecond?: number;
  /** Prometheus scrape address (`host:port`); metrics are off without it. */
  metricsBindAddress?: string;
  /** How long in-flight activities get to finish after SIGINT/SIGTERM before they are cancelled. */
  shutdownGraceTime: string;
  /** Prebundled workflow code; when unset, main.ts looks for dist/workflow-bundle.js. */
  workflowBundlePath?: string;
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * Reads and checks the worker's settings, with local defaults. Pure: no I/O beyond what envconfig does
 * for a TEMPORAL_CONFIG_FILE. Throws one `ConfigError` naming the first bad variable, never its value.
 */
export function readWorkerConfig(env: Env): WorkerConfig {
  const temporal = readTemporalSettings(env);
  const baseUrl = readHttpUrl(env, 'LINEPAY_API_URL', DEFAULT_LINEPAY_API_URL);
  const channelId = readRequired(env, 'LINEPAY_CHANNEL_ID', 'from the LINE Pay merchant center');
  if (!/^\d{1,20}$/.test(channelId))
    throw new ConfigError('LINEPAY_CHANNEL_ID', 'must be the numeric channel id');
  const channelSecret = readRequired(env, 'LINEPAY_CHANNEL_SECRET', 'from the LINE Pay merchant center');
  const encryptionKeys = readEncryptionKeys(env);
  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'INFO').toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const graceSeconds = readInt(env, 'WORKER_SHUTDOWN_GRACE_SECONDS', 60, 0, 3600);
  const config: WorkerConfig = {
    temporal,
    linePay: { baseUrl, channelId, channelSecret },
    encryptionKeys,
    maxConcurrentActivityTaskExecutions: readInt(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 10_000),
    maxConcurrentWorkflowTaskExecutions: readInt(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2, 10_000),
    shutdownGraceTime: `${graceSeconds}s`,
    logLevel: logLevel as WorkerConfig['logLevel'],
  };
  const rate = readPositiveNumber(env, 'LINEPAY_MAX_REQUESTS_PER_SECOND');
  if (rate !== undefined) config.maxTaskQueueActivitiesPerSecond = rate;
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
    },
    encryptionKeyIds: config.encryptionKeys.map((k) => k.id),
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTaskExecutions,
    maxTaskQueueActivitiesPerSecond: config.maxTaskQueueActivitiesPerSecond,
    metricsBindAddress: config.metricsBindAddress,
    shutdownGraceTime: config.shutdownGraceTime,
    workflowBundlePath: config.workflowBundlePath,
  };
}
