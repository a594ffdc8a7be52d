import { isIP } from 'node:net';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { deriveCallbackKey } from '../activities/callback-link.js';
import {
  type BillingLimits,
  CURRENCIES,
  type Currency,
  checkBillingLimits,
  DEFAULT_BILLING_LIMITS,
  SubscriptionInputError,
} from '../workflows/subscription-input.js';
import {
  DEFAULT_TRIAL_VERIFICATION,
  TRIAL_VERIFICATIONS,
  type TrialVerification,
} from '../workflows/trial.js';
import type { EncryptionKey } from './temporal/payload-codec.js';

/** Environment as a plain record; pass `process.env` in entry points and literals in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A setting is missing or malformed. The message names the variable and never repeats its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError' as const;
  readonly code = 'invalid_config' as const;
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

export const DEFAULT_TASK_QUEUE = 'linepay-subscriptions';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_KEY_ID = 'k1';

/** How to reach Temporal: what `@temporalio/envconfig` reads (TEMPORAL_ADDRESS, _NAMESPACE, _API_KEY, _TLS*, profiles). */
export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Options for `Connection.connect` / `NativeConnection.connect` (address, TLS, API key, gRPC metadata). */
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'] & { address: string };
}

function defined(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Reads the Temporal connection the way the Temporal CLI and SDKs do, plus our task queue. */
export function readTemporalSettings(env: Env): TemporalSettings {
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: defined(env) });
  } catch (err) {
    // envconfig errors mention the profile/file, not secret values.
    throw new ConfigError('TEMPORAL_CONFIG_FILE', `could not be loaded: ${(err as Error).message}`);
  }
  const address = loaded.connectionOptions.address ?? DEFAULT_ADDRESS;
  if (!/^[^\s/]+:\d{1,5}$/.test(address)) throw new ConfigError('TEMPORAL_ADDRESS', 'must be host:port');
  const namespace = loaded.namespace ?? DEFAULT_NAMESPACE;
  const taskQueue = nonEmpty(env, 'TEMPORAL_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE;
  return { address, namespace, taskQueue, connectionOptions: { ...loaded.connectionOptions, address } };
}

/**
 * Payload encryption keys, current first. `PAYLOAD_ENCRYPTION_KEYS=id1:base64,id2:base64` (rotation) wins
 * over `PAYLOAD_ENCRYPTION_KEY` + `PAYLOAD_ENCRYPTION_KEY_ID` (default `k1`).
 */
export function readEncryptionKeys(env: Env): EncryptionKey[] {
  const list = nonEmpty(env, 'PAYLOAD_ENCRYPTION_KEYS');
  if (list !== undefined) {
    const keys: EncryptionKey[] = [];
    for (const [i, entry] of list.split(',').entries()) {
      const sep = entry.indexOf(':');
      const id = entry.slice(0, sep).trim();
      if (sep <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        throw new ConfigError(
          'PAYLOAD_ENCRYPTION_KEYS',
          `entry ${i + 1} must be <keyId>:<base64 of 32 bytes>`,
        );
      }
      if (keys.some((k) => k.id === id))
        throw new ConfigError('PAYLOAD_ENCRYPTION_KEYS', `lists key id ${id} twice`);
      keys.push({ id, key: decodeKey('PAYLOAD_ENCRYPTION_KEYS', entry.slice(sep + 1).trim(), `key ${id}`) });
    }
    return keys;
  }
  const single = nonEmpty(env, 'PAYLOAD_ENCRYPTION_KEY');
  if (single === undefined) {
    throw new ConfigError(
      'PAYLOAD_ENCRYPTION_KEY',
      'is required (32 random bytes, base64: `openssl rand -base64 32`), or set PAYLOAD_ENCRYPTION_KEYS',
    );
  }
  const id = nonEmpty(env, 'PAYLOAD_ENCRYPTION_KEY_ID') ?? DEFAULT_KEY_ID;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
    throw new ConfigError('PAYLOAD_ENCRYPTION_KEY_ID', 'must be 1-32 characters of [A-Za-z0-9_-]');
  }
  return [{ id, key: decodeKey('PAYLOAD_ENCRYPTION_KEY', single, 'value') }];
}

function decodeKey(variable: string, text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new ConfigError(variable, `${what} is not base64`);
  const key = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (key.length !== 32) {
    throw new ConfigError(
      variable,
      `${what} must decode to 32 bytes (got ${key.length}); use \`openssl rand -base64 32\``,
    );
  }
  return key;
}

/** Trimmed value, or undefined when unset or blank. */
export function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function readRequired(env: Env, name: string, hint = ''): string {
  const value = nonEmpty(env, name);
  if (value === undefined) throw new ConfigError(name, `is required${hint ? ` (${hint})` : ''}`);
  return value;
}

export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = nonEmpty(env, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  return value;
}

export function readPositiveNumber(env: Env, name: string): number | undefined {
  const text = nonEmpty(env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) throw new ConfigError(name, 'must be a positive number');
  return value;
}

export function readHttpUrl(env: Env, name: string, fallback?: string): string {
  const text = nonEmpty(env, name) ?? fallback;
  if (text === undefined) throw new ConfigError(name, 'is required (an absolute http(s) URL)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(name, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(name, 'must be an http(s) URL');
  if (url.username || url.password) throw new ConfigError(name, 'must not carry credentials');
  return text.replace(/\/+$/, '');
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const text = nonEmpty(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(name, 'must be true or false');
}

export function readBindAddress(env: Env, name: string): string | undefined {
  const text = nonEmpty(env, name);
  if (text === undefined) return undefined;
  if (!/^[^\s/]+:\d{1,5}$/.test(text)) throw new ConfigError(name, 'must be host:port, e.g. 127.0.0.1:9464');
  return text;
}

/** Which LINE Pay this deployment talks to; see docs/security.md. */
export type LinePayEnv = 'sandbox' | 'production';

/**
 * `LINEPAY_ENV`: explicit, and required when `NODE_ENV=production`, so a forgotten variable cannot
 * "succeed" against the sandbox with no money moving. Defaults to sandbox otherwise (demo, tests).
 */
export function readLinePayEnv(env: Env): LinePayEnv {
  const text = nonEmpty(env, 'LINEPAY_ENV')?.toLowerCase();
  if (text === undefined) {
    if (nonEmpty(env, 'NODE_ENV') === 'production') {
      throw new ConfigError('LINEPAY_ENV', 'is required when NODE_ENV=production (sandbox or production)');
    }
    return 'sandbox';
  }
  if (text !== 'sandbox' && text !== 'production') {
    throw new ConfigError('LINEPAY_ENV', 'must be sandbox or production');
  }
  return text;
}

/** An http(s) URL; with LINEPAY_ENV=production it must be given explicitly and be https. */
export function readDeploymentUrl(env: Env, name: string, linePayEnv: LinePayEnv, fallback?: string): string {
  if (linePayEnv === 'production') {
    if (nonEmpty(env, name) === undefined) {
      throw new ConfigError(name, 'is required with LINEPAY_ENV=production (an https URL)');
    }
    const url = readHttpUrl(env, name);
    if (!url.startsWith('https://')) throw new ConfigError(name, 'must be https with LINEPAY_ENV=production');
    return url;
  }
  return readHttpUrl(env, name, fallback);
}

/** Where customers' browsers reach the HTTP service: LINE Pay's confirm and cancel URLs hang off it. */
export function readPublicBaseUrl(env: Env, linePayEnv = readLinePayEnv(env), port = 3000): string {
  return readDeploymentUrl(env, 'PUBLIC_BASE_URL', linePayEnv, `http://127.0.0.1:${port}`);
}

/**
 * `CALLBACK_SIGNING_KEY`: base64 of ≥ 32 random bytes; a comma-separated list rotates (the first signs,
 * all verify). Required in production; otherwise derived from the first payload key (demo, tests).
 */
export function readCallbackSigningKeys(
  env: Env,
  linePayEnv: LinePayEnv,
  encryptionKeys: readonly EncryptionKey[],
): Buffer[] {
  const text = nonEmpty(env, 'CALLBACK_SIGNING_KEY');
  if (text === undefined) {
    if (linePayEnv === 'production') {
      throw new ConfigError(
        'CALLBACK_SIGNING_KEY',
        'is required with LINEPAY_ENV=production (`openssl rand -base64 32`, same value on workers and HTTP service)',
      );
    }
    const first = encryptionKeys[0];
    if (!first) throw new ConfigError('CALLBACK_SIGNING_KEY', 'is required');
    return [deriveCallbackKey(first.key)];
  }
  return text.split(',').map((entry, i) => {
    const value = entry.trim();
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value))
      throw new ConfigError('CALLBACK_SIGNING_KEY', `entry ${i + 1} is not base64`);
    const key = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
    if (key.length < 32) {
      throw new ConfigError('CALLBACK_SIGNING_KEY', `entry ${i + 1} must decode to at least 32 bytes`);
    }
    return key;
  });
}

/**
 * Billing limits of this deployment: `LINEPAY_MAX_AMOUNTS=TWD:500000,USD:10000` (others keep their
 * defaults), `LINEPAY_CURRENCIES=TWD,THB` (the channel's currencies), `ALLOW_SHORT_INTERVALS` (default:
 * true only with LINEPAY_ENV=sandbox), `PLAN_INCREASE_REAPPROVAL_SHARE` (default 0.2),
 * `REGKEY_CHECK_LEAD_TIME` (default P7D) and `REGKEY_CHECK_AFTER_PAUSE` (default P30D).
 */
export function readBillingLimits(env: Env, linePayEnv = readLinePayEnv(env)): BillingLimits {
  const maxAmount: Record<Currency, number> = { ...DEFAULT_BILLING_LIMITS.maxAmount };
  const amounts = nonEmpty(env, 'LINEPAY_MAX_AMOUNTS');
  if (amounts !== undefined) {
    for (const entry of amounts.split(',')) {
      const m = /^\s*([A-Z]{3})\s*:\s*(\d{1,9})\s*$/.exec(entry);
      if (!m || !(CURRENCIES as readonly string[]).includes(m[1]!)) {
        throw new ConfigError(
          'LINEPAY_MAX_AMOUNTS',
          `entries must be <currency>:<integer> with currency among ${CURRENCIES.join(', ')}`,
        );
      }
      maxAmount[m[1] as Currency] = Number(m[2]);
    }
  }
  let currencies: Currency[] = [...CURRENCIES];
  const list = nonEmpty(env, 'LINEPAY_CURRENCIES');
  if (list !== undefined) {
    currencies = list.split(',').map((c) => c.trim().toUpperCase()) as Currency[];
    if (currencies.some((c) => !CURRENCIES.includes(c))) {
      throw new ConfigError('LINEPAY_CURRENCIES', `must list currencies among ${CURRENCIES.join(', ')}`);
    }
  }
  const shareText = nonEmpty(env, 'PLAN_INCREASE_REAPPROVAL_SHARE');
  const share =
    shareText === undefined ? DEFAULT_BILLING_LIMITS.planIncreaseReapprovalShare : Number(shareText);
  if (shareText !== undefined && !/^\d+(\.\d+)?$/.test(shareText)) {
    throw new ConfigError('PLAN_INCREASE_REAPPROVAL_SHARE', 'must be a number such as 0.2 (20%)');
  }
  const leadTime = nonEmpty(env, 'REGKEY_CHECK_LEAD_TIME');
  const afterPause = nonEmpty(env, 'REGKEY_CHECK_AFTER_PAUSE');
  try {
    return checkBillingLimits({
      maxAmount,
      currencies,
      allowShortIntervals: readBool(env, 'ALLOW_SHORT_INTERVALS', linePayEnv === 'sandbox'),
      planIncreaseReapprovalShare: share,
      ...(leadTime === undefined ? {} : { regKeyCheckLeadTime: leadTime }),
      ...(afterPause === undefined ? {} : { regKeyCheckAfterPause: afterPause }),
    });
  } catch (err) {
    if (err instanceof SubscriptionInputError) {
      const variable = err.field.includes('maxAmount')
        ? 'LINEPAY_MAX_AMOUNTS'
        : err.field.includes('currencies')
          ? 'LINEPAY_CURRENCIES'
          : err.field.includes('regKeyCheckLeadTime')
            ? 'REGKEY_CHECK_LEAD_TIME'
            : err.field.includes('regKeyCheckAfterPause')
              ? 'REGKEY_CHECK_AFTER_PAUSE'
              : 'PLAN_INCREASE_REAPPROVAL_SHARE';
      throw new ConfigError(variable, err.message.replace(/^[^:]*: /, ''));
    }
    throw err;
  }
}

/**
 * How a trial's approval registers the regKey without charging: `LINEPAY_TRIAL_VERIFICATION` =
 * `refund_minimum` (default: works on every channel) or `void_authorization` (only once LINE Pay has
 * enabled capture separation for the channel). See docs/sandbox-fidelity.md § Trials.
 */
export function readTrialVerification(env: Env): TrialVerification {
  const value = nonEmpty(env, 'LINEPAY_TRIAL_VERIFICATION') ?? DEFAULT_TRIAL_VERIFICATION;
  if (!(TRIAL_VERIFICATIONS as readonly string[]).includes(value))
    throw new ConfigError('LINEPAY_TRIAL_VERIFICATION', `must be one of ${TRIAL_VERIFICATIONS.join(', ')}`);
  return value as TrialVerification;
}

/** `API_TOKENS=a,b` (rotation: both valid while clients move over) or `API_TOKEN`; each ≥ 16 characters. */
export function readApiTokens(env: Env): string[] {
  const list = nonEmpty(env, 'API_TOKENS');
  const name = list !== undefined ? 'API_TOKENS' : 'API_TOKEN';
  const text = list ?? readRequired(env, 'API_TOKEN', 'bearer token merchants send to /subscriptions');
  const tokens = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) throw new ConfigError(name, 'must list at least one token');
  if (tokens.some((t) => t.length < 16)) throw new ConfigError(name, 'tokens must be at least 16 characters');
  return tokens;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Settings of the HTTP service (`npm run server`). */
export interface ServerConfig {
  temporal: TemporalSettings;
  encryptionKeys: EncryptionKey[];
  linePayEnv: LinePayEnv;
  port: number;
  host: string;
  /** Bearer tokens for the merchant routes; several during a rotation. */
  apiTokens: string[];
  /** Where customers' browsers reach us; LINE Pay's confirm and cancel URLs hang off it. */
  publicBaseUrl: string;
  /** Verify the callback links' tokens; the first is what workers sign with. */
  callbackSigningKeys: Buffer[];
  billingLimits: BillingLimits;
  /** Default `trialVerification` of trials created through this service. */
  trialVerification: TrialVerification;
  /** Per minute: callbacks per client IP and per subscription. */
  callbackRateLimit: { perIp: number; perSubscription: number };
  /** Header holding the client IP behind a proxy (its last value is used); unset: the socket address. */
  clientIpHeader?: string;
  codec: CodecServerConfig;
  /** Request body cap for the JSON API, bytes. */
  maxBodyBytes: number;
}

export interface CodecServerConfig {
  /** Serve the codec server (on its own port). */
  enabled: boolean;
  host: string;
  port: number;
  /** Static bearer token (≥ 32 characters), for the CLI's `--codec-auth` or a proxy. */
  authToken?: string;
  /** Verify the Web UI's forwarded OIDC access token against this JWKS. */
  jwt?: { jwksUrl: string; issuer?: string; audience?: string };
  /** No auth at all: only when the codec listens on loopback (the demo). */
  allowUnauthenticated: boolean;
  /** Serve `/codec/encode` too (off by default: the UI only decodes). */
  enableEncode: boolean;
  /** Browser origins allowed to call the codec (the Web UI). */
  corsOrigins: string[];
  /** Requests per minute per caller. */
  rateLimitPerMinute: number;
}

/** `CODEC_*`: see docs/operations.md. */
export function readCodecConfig(env: Env, linePayEnv: LinePayEnv): CodecServerConfig {
  const host = nonEmpty(env, 'CODEC_HOST') ?? '127.0.0.1';
  const port = readInt(env, 'CODEC_PORT', 3001, 0, 65_535);
  const authToken = nonEmpty(env, 'CODEC_AUTH_TOKEN');
  if (authToken !== undefined && authToken.length < 32) {
    throw new ConfigError('CODEC_AUTH_TOKEN', 'must be at least 32 characters (`openssl rand -base64 32`)');
  }
  const jwksText = nonEmpty(env, 'CODEC_JWKS_URL');
  const jwksUrl = jwksText === undefined ? undefined : readDeploymentUrl(env, 'CODEC_JWKS_URL', linePayEnv);
  const allowUnauthenticated = readBool(env, 'CODEC_ALLOW_UNAUTHENTICATED', false);
  if (allowUnauthenticated && !isLoopbackHost(host)) {
    throw new ConfigError(
      'CODEC_ALLOW_UNAUTHENTICATED',
      `is only allowed when CODEC_HOST is a loopback address (127.0.0.1, ::1, localhost), not ${host.slice(0, 64)}`,
    );
  }
  if (allowUnauthenticated && (authToken !== undefined || jwksUrl !== undefined)) {
    throw new ConfigError(
      'CODEC_ALLOW_UNAUTHENTICATED',
      'cannot be combined with CODEC_AUTH_TOKEN or CODEC_JWKS_URL',
    );
  }
  const corsOrigins = (nonEmpty(env, 'CODEC_CORS_ORIGINS') ?? 'http://127.0.0.1:8233,http://localhost:8233')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const origin of corsOrigins) {
    // `null` is what sandboxed iframes and file:// pages send: allowing it allows anyone.
    if (!/^https?:\/\/[^/\s*]+$/.test(origin)) {
      throw new ConfigError(
        'CODEC_CORS_ORIGINS',
        'must list http(s) origins (scheme://host[:port]); no null or *',
      );
    }
  }
  const config: CodecServerConfig = {
    enabled: authToken !== undefined || jwksUrl !== undefined || allowUnauthenticated,
    host,
    port,
    allowUnauthenticated,
    enableEncode: readBool(env, 'CODEC_ENABLE_ENCODE', false),
    corsOrigins,
    rateLimitPerMinute: readInt(env, 'CODEC_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
  };
  if (authToken !== undefined) config.authToken = authToken;
  if (jwksUrl !== undefined) {
    config.jwt = { jwksUrl };
    const issuer = nonEmpty(env, 'CODEC_JWT_ISSUER');
    const audience = nonEmpty(env, 'CODEC_JWT_AUDIENCE');
    if (issuer !== undefined) config.jwt.issuer = issuer;
    if (audience !== undefined) config.jwt.audience = audience;
  }
  return config;
}

/** Reads the HTTP service's settings; see docs/operations.md. */
export function readServerConfig(env: Env): ServerConfig {
  const temporal = readTemporalSettings(env);
  const encryptionKeys = readEncryptionKeys(env);
  const linePayEnv = readLinePayEnv(env);
  const port = readInt(env, 'PORT', 3000, 0, 65_535);
  const host = nonEmpty(env, 'HOST') ?? '0.0.0.0';
  const apiTokens = readApiTokens(env);
  const publicBaseUrl = readPublicBaseUrl(env, linePayEnv, port);
  const codec = readCodecConfig(env, linePayEnv);
  if (codec.enabled && codec.port === port && codec.port !== 0) {
    throw new ConfigError(
      'CODEC_PORT',
      'must differ from PORT: the codec is served apart from the callbacks',
    );
  }
  const maxBodyBytes = readInt(env, 'MAX_BODY_BYTES', 16 * 1024, 1024, 10 * 1024 * 1024);
  const config: ServerConfig = {
    temporal,
    encryptionKeys,
    linePayEnv,
    port,
    host,
    apiTokens,
    publicBaseUrl,
    callbackSigningKeys: readCallbackSigningKeys(env, linePayEnv, encryptionKeys),
    billingLimits: readBillingLimits(env, linePayEnv),
    trialVerification: readTrialVerification(env),
    callbackRateLimit: {
      perIp: readInt(env, 'CALLBACK_RATE_LIMIT_PER_IP', 30, 1, 1_000_000),
      perSubscription: readInt(env, 'CALLBACK_RATE_LIMIT_PER_SUBSCRIPTION', 10, 1, 1_000_000),
    },
    codec,
    maxBodyBytes,
  };
  const ipHeader = nonEmpty(env, 'CLIENT_IP_HEADER');
  if (ipHeader !== undefined) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(ipHeader))
      throw new ConfigError('CLIENT_IP_HEADER', 'must be a header name');
    config.clientIpHeader = ipHeader.toLowerCase();
  }
  return config;
}
