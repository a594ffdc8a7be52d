import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readServerConfig } from '../../client/config.js';
import {
  ConfigError,
  DEFAULT_LINEPAY_API_URL,
  describeWorkerConfig,
  readWorkerConfig,
} from '../../worker/config.js';

const KEY = randomBytes(32).toString('base64');
const SECRET = 'channel-secret-do-not-print';
const base = {
  LINEPAY_CHANNEL_ID: '1234567890',
  LINEPAY_CHANNEL_SECRET: SECRET,
  PAYLOAD_ENCRYPTION_KEY: KEY,
};

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    readWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('readWorkerConfig', () => {
  it('has local defaults for everything but LINE Pay credentials and the key', () => {
    const config = readWorkerConfig(base);
    expect(config.temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'linepay-subscriptions',
    });
    expect(config.linePay).toEqual({
      baseUrl: DEFAULT_LINEPAY_API_URL,
      channelId: '1234567890',
      channelSecret: SECRET,
    });
    expect(config.encryptionKeys).toEqual([{ id: 'k1', key: Buffer.from(KEY, 'base64') }]);
    expect(config.maxConcurrentActivityTaskExecutions).toBe(20);
    expect(config.maxConcurrentLocalActivityExecutions).toBe(100);
    expect(config.maxConcurrentWorkflowTaskExecutions).toBe(40);
    expect(config.linePay.maxRequestsPerSecond).toBeUndefined();
    expect(config.metricsBindAddress).toBeUndefined();
    expect(config.shutdownGraceTime).toBe('60s');
  });

  it('reads the Temporal connection through envconfig (address, namespace, API key, TLS)', () => {
    const config = readWorkerConfig({
      ...base,
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'api-key-secret',
      TEMPORAL_TASK_QUEUE: 'billing',
    });
    expect(config.temporal.address).toBe('my-ns.a1b2c.tmprl.cloud:7233');
    expect(config.temporal.namespace).toBe('my-ns.a1b2c');
    expect(config.temporal.taskQueue).toBe('billing');
    expect(config.temporal.connectionOptions).toMatchObject({ apiKey: 'api-key-secret', tls: true });
  });

  it('reads tuning, the LINE Pay rate limit and metrics', () => {
    const config = readWorkerConfig({
      ...base,
      LINEPAY_API_URL: 'http://127.0.0.1:4000/',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '5',
      WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '7',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '10',
      LINEPAY_MAX_REQUESTS_PER_SECOND: '2.5',
      METRICS_BIND_ADDRESS: '127.0.0.1:9464',
      WORKER_SHUTDOWN_GRACE_SECONDS: '30',
    });
    expect(config.linePay.baseUrl).toBe('http://127.0.0.1:4000');
    expect(config.maxConcurrentActivityTaskExecutions).toBe(5);
    expect(config.maxConcurrentLocalActivityExecutions).toBe(7);
    expect(config.maxConcurrentWorkflowTaskExecutions).toBe(10);
    expect(config.linePay.maxRequestsPerSecond).toBe(2.5);
    expect(config.metricsBindAddress).toBe('127.0.0.1:9464');
    expect(config.shutdownGraceTime).toBe('30s');
  });

  it('turns the SDK workflow stack traces off unless WORKER_WORKFLOW_STACK_TRACES=on', () => {
    expect(readWorkerConfig(base).workflowStackTraces).toBe(false);
    expect(readWorkerConfig({ ...base, WORKER_WORKFLOW_STACK_TRACES: 'on' }).workflowStackTraces).toBe(true);
    expect(() => readWorkerConfig({ ...base, WORKER_WORKFLOW_STACK_TRACES: 'yes' })).toThrow(
      /WORKER_WORKFLOW_STACK_TRACES.*"on" or "off"/,
    );
  });

  it("keeps the SDK's share of task-queue pollers unless WORKER_NONSTICKY_POLL_RATIO says otherwise", () => {
    expect(readWorkerConfig(base).nonStickyToStickyPollRatio).toBe(0.2);
    expect(readWorkerConfig({ ...base, WORKER_NONSTICKY_POLL_RATIO: '0.2' }).nonStickyToStickyPollRatio).toBe(
      0.2,
    );
    for (const bad of ['0', '1.5', 'half'])
      expect(() => readWorkerConfig({ ...base, WORKER_NONSTICKY_POLL_RATIO: bad })).toThrow(
        /WORKER_NONSTICKY_POLL_RATIO/,
      );
  });

  it('treats blank values as unset', () => {
    expect(
      readWorkerConfig({ ...base, METRICS_BIND_ADDRESS: '', TEMPORAL_TASK_QUEUE: '  ' }).temporal.taskQueue,
    ).toBe('linepay-subscriptions');
  });

  it('accepts a rotation list, current key first', () => {
    const k2 = randomBytes(32).toString('base64');
    const config = readWorkerConfig({
      ...base,
      PAYLOAD_ENCRYPTION_KEY: undefined,
      PAYLOAD_ENCRYPTION_KEYS: `k2:${k2},k1:${KEY}`,
    });
    expect(config.encryptionKeys.map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it.each([
    [{ LINEPAY_CHANNEL_ID: undefined }, 'LINEPAY_CHANNEL_ID'],
    [{ LINEPAY_CHANNEL_ID: 'abc' }, 'LINEPAY_CHANNEL_ID'],
    [{ LINEPAY_CHANNEL_SECRET: '' }, 'LINEPAY_CHANNEL_SECRET'],
    [{ PAYLOAD_ENCRYPTION_KEY: undefined }, 'PAYLOAD_ENCRYPTION_KEY'],
    [{ PAYLOAD_ENCRYPTION_KEY: 'not base64!' }, 'PAYLOAD_ENCRYPTION_KEY'],
    [{ PAYLOAD_ENCRYPTION_KEY: randomBytes(16).toString('base64') }, 'PAYLOAD_ENCRYPTION_KEY'],
    [{ PAYLOAD_ENCRYPTION_KEY_ID: 'bad id' }, 'PAYLOAD_ENCRYPTION_KEY_ID'],
    [{ PAYLOAD_ENCRYPTION_KEYS: 'nocolon' }, 'PAYLOAD_ENCRYPTION_KEYS'],
    [{ PAYLOAD_ENCRYPTION_KEYS: `a:${KEY},a:${KEY}` }, 'PAYLOAD_ENCRYPTION_KEYS'],
    [{ LINEPAY_API_URL: 'ftp://x' }, 'LINEPAY_API_URL'],
    [{ LINEPAY_API_URL: 'https://user:pw@api-pay.line.me' }, 'LINEPAY_API_URL'],
    [{ WORKER_MAX_CONCURRENT_ACTIVITIES: '0' }, 'WORKER_MAX_CONCURRENT_ACTIVITIES'],
    [{ WORKER_MAX_CONCURRENT_ACTIVITIES: '1e3' }, 'WORKER_MAX_CONCURRENT_ACTIVITIES'],
    [{ LINEPAY_MAX_REQUESTS_PER_SECOND: '-1' }, 'LINEPAY_MAX_REQUESTS_PER_SECOND'],
    [{ METRICS_BIND_ADDRESS: '9464' }, 'METRICS_BIND_ADDRESS'],
    [{ TEMPORAL_ADDRESS: 'http://localhost:7233' }, 'TEMPORAL_ADDRESS'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
  ])('names the bad variable in one clear error: %o', (override, variable) => {
    const err = configError({ ...base, ...override });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(variable)).toBe(true);
  });

  it('never echoes secret values in errors', () => {
    const badKey = 'c2hvcnQ='; // "short"
    const err = configError({ ...base, PAYLOAD_ENCRYPTION_KEY: badKey });
    expect(err.message).not.toContain(badKey);
    const err2 = configError({ ...base, PAYLOAD_ENCRYPTION_KEYS: `k1:${badKey}` });
    expect(err2.message).not.toContain(badKey);
  });

  it('describes itself without secrets', () => {
    const config = readWorkerConfig({ ...base, TEMPORAL_API_KEY: 'api-key-secret' });
    const text = JSON.stringify(describeWorkerConfig(config));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('api-key-secret');
    expect(text).toContain('[redacted]');
  });
});

describe('readServerConfig', () => {
  const server = { PAYLOAD_ENCRYPTION_KEY: KEY, API_TOKEN: 'merchant-token-0123456789' };

  it('defaults to port 3000 with PUBLIC_BASE_URL on it and the codec off', () => {
    const config = readServerConfig(server);
    expect(config.port).toBe(3000);
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:3000');
    expect(config.codec.enabled).toBe(false);
  });

  it('enables the codec with a token or explicitly unauthenticated', () => {
    const codecToken = 'codec-token-0123456789abcdef0123456789';
    expect(readServerConfig({ ...server, CODEC_AUTH_TOKEN: codecToken }).codec).toMatchObject({
      enabled: true,
      authToken: codecToken,
    });
    expect(readServerConfig({ ...server, CODEC_ALLOW_UNAUTHENTICATED: 'true' }).codec.enabled).toBe(true);
  });

  it('requires a strong API_TOKEN', () => {
    expect(() => readServerConfig({ ...server, API_TOKEN: undefined })).toThrow(/^API_TOKEN is required/);
    expect(() => readServerConfig({ ...server, API_TOKEN: 'short' })).toThrow(
      /^API_TOKEN tokens must be at least 16/,
    );
  });
});
