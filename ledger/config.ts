import path from 'node:path';
import { ConfigError, type Env, nonEmpty, readInt } from '../client/config.js';

/** Where the ledger lives: a PostgreSQL server, or the embedded PGlite in a data folder. */
export type DatabaseConfig =
  | { kind: 'postgres'; url: string; poolSize: number }
  | { kind: 'pglite'; dataDir: string; poolSize: number };

export interface WebhookConfig {
  urls: string[];
  /** Raw HMAC key, decoded from `whsec_<base64>`; absent when no endpoint is configured. */
  secret?: Uint8Array;
  /** Per-attempt timeout, ms. */
  timeoutMs: number;
  /** How often an idle dispatcher looks for due deliveries, ms. */
  pollMs: number;
}

export interface ReconciliationConfig {
  /** Cron expression (UTC) of the Temporal Schedule, or `off`. */
  schedule: string;
  /** How far back each run looks at ledger charges. */
  lookbackHours: number;
}

export interface LedgerConfig {
  database: DatabaseConfig;
  webhooks: WebhookConfig;
  reconciliation: ReconciliationConfig;
}

export const DEFAULT_DATA_DIR = '.data';
export const DEFAULT_RECONCILIATION_SCHEDULE = '17 3 * * *';

/** `DATABASE_URL` (postgres://…) or, without it, PGlite in `DATA_DIR`. Never echoes the URL (it holds a password). */
export function readDatabaseConfig(env: Env): DatabaseConfig {
  const poolSize = readInt(env, 'DATABASE_POOL_SIZE', 10, 1, 200);
  const url = nonEmpty(env, 'DATABASE_URL');
  if (url === undefined) {
    return { kind: 'pglite', dataDir: path.resolve(nonEmpty(env, 'DATA_DIR') ?? DEFAULT_DATA_DIR), poolSize };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('DATABASE_URL', 'must be a postgres://user:password@host:port/database URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new ConfigError('DATABASE_URL', 'names no host');
  }
  if (parsed.pathname.replace(/^\//, '') === '') throw new ConfigError('DATABASE_URL', 'names no database');
  return { kind: 'postgres', url, poolSize };
}

/** `whsec_` + base64 of at least 24 bytes, the Standard Webhooks secret format. */
export function parseWebhookSecret(text: string): Uint8Array {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(text);
  if (!match) throw new ConfigError('WEBHOOK_SECRET', 'must be whsec_ followed by base64');
  const key = Buffer.from(match[1]!, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new ConfigError(
      'WEBHOOK_SECRET',
      'must decode to 24-64 bytes (`whsec_$(openssl rand -base64 32)`)',
    );
  }
  return new Uint8Array(key);
}

export function readWebhookConfig(env: Env): WebhookConfig {
  const urls: string[] = [];
  for (const [i, raw] of (nonEmpty(env, 'WEBHOOK_URLS') ?? '').split(',').entries()) {
    const text = raw.trim();
    if (text === '') continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError('WEBHOOK_URLS', `entry ${i + 1} is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError('WEBHOOK_URLS', `entry ${i + 1} must be an http(s) URL`);
    }
    if (!urls.includes(url.href)) urls.push(url.href);
  }
  const secretText = nonEmpty(env, 'WEBHOOK_SECRET');
  const config: WebhookConfig = {
    urls,
    timeoutMs: readInt(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    pollMs: readInt(env, 'WEBHOOK_POLL_MS', 1_000, 10, 60_000),
  };
  if (secretText !== undefined) config.secret = parseWebhookSecret(secretText);
  if (urls.length > 0 && config.secret === undefined) {
    throw new ConfigError('WEBHOOK_SECRET', 'is required when WEBHOOK_URLS is set (whsec_ + base64)');
  }
  return config;
}

export function readReconciliationConfig(env: Env): ReconciliationConfig {
  const schedule = nonEmpty(env, 'RECONCILIATION_SCHEDULE') ?? DEFAULT_RECONCILIATION_SCHEDULE;
  if (schedule !== 'off' && !/^(\S+\s+){4}\S+$/.test(schedule)) {
    throw new ConfigError('RECONCILIATION_SCHEDULE', 'must be a 5-field cron expression (UTC) or off');
  }
  return { schedule, lookbackHours: readInt(env, 'RECONCILIATION_LOOKBACK_HOURS', 48, 1, 24 * 90) };
}

/** Everything the ledger reads from the environment; throws one `ConfigError` naming the variable. */
export function readLedgerConfig(env: Env): LedgerConfig {
  return {
    database: readDatabaseConfig(env),
    webhooks: readWebhookConfig(env),
    reconciliation: readReconciliationConfig(env),
  };
}
