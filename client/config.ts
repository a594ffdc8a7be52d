import { loadClientConnectConfig } from '@temporalio/envconfig';
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

/** Settings of the HTTP service (`npm run server`). */
export interface ServerConfig {
  temporal: TemporalSettings;
  encryptionKeys: EncryptionKey[];
  port: number;
  host: string;
  /** Bearer token for the merchant routes. */
  apiToken: string;
  /** Where customers' browsers reach us; LINE Pay's confirm and cancel URLs hang off it. */
  publicBaseUrl: string;
  codec: CodecServerConfig;
  /** Request body cap for the JSON API, bytes. */
  maxBodyBytes: number;
}

export interface CodecServerConfig {
  /** Serve `/codec/encode` and `/codec/decode`. */
  enabled: boolean;
  /** Bearer token the Web UI (or `temporal --codec-auth`) must send; absent only when unauthenticated is allowed. */
  authToken?: string;
  /** Browser origins allowed to call the codec (the Web UI). */
  corsOrigins: string[];
}

/** Reads the HTTP service's settings; see docs/operations.md. */
export function readServerConfig(env: Env): ServerConfig {
  const temporal = readTemporalSettings(env);
  const encryptionKeys = readEncryptionKeys(env);
  const port = readInt(env, 'PORT', 3000, 0, 65_535);
  const host = nonEmpty(env, 'HOST') ?? '0.0.0.0';
  const apiToken = readRequired(env, 'API_TOKEN', 'bearer token merchants send to /subscriptions');
  if (apiToken.length < 16) throw new ConfigError('API_TOKEN', 'must be at least 16 characters');
  const publicBaseUrl = readHttpUrl(env, 'PUBLIC_BASE_URL', `http://127.0.0.1:${port}`);
  const codecToken = nonEmpty(env, 'CODEC_AUTH_TOKEN');
  const allowOpen = readBool(env, 'CODEC_ALLOW_UNAUTHENTICATED', false);
  const codec: CodecServerConfig = {
    enabled: codecToken !== undefined || allowOpen,
    corsOrigins: (nonEmpty(env, 'CODEC_CORS_ORIGINS') ?? 'http://127.0.0.1:8233,http://localhost:8233')
      .split(',')
      .map((o) => o.trim().replace(/\/+$/, ''))
      .filter(Boolean),
  };
  if (codecToken !== undefined) codec.authToken = codecToken;
  const maxBodyBytes = readInt(env, 'MAX_BODY_BYTES', 16 * 1024, 1024, 10 * 1024 * 1024);
  return { temporal, encryptionKeys, port, host, apiToken, publicBaseUrl, codec, maxBodyBytes };
}
