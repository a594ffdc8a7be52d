import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_CACHED_WORKFLOWS, readWorkerConfig } from '../../worker/config.js';

const base = {
  LINEPAY_CHANNEL_ID: '1234567890',
  LINEPAY_CHANNEL_SECRET: 'channel-secret',
  PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

function errorOf(env: Record<string, string>): ConfigError | undefined {
  try {
    readWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  return undefined;
}

describe('WORKER_MAX_CACHED_WORKFLOWS', () => {
  it('defaults to the measured sticky-cache size, not the SDK’s heap-derived one', () => {
    expect(readWorkerConfig(base).maxCachedWorkflows).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBeLessThan(1000);
    expect(readWorkerConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '2000' }).maxCachedWorkflows).toBe(2000);
    expect(readWorkerConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '0' }).maxCachedWorkflows).toBe(0);
  });

  it('refuses a cache smaller than the workflow task slots, and non-integers, naming the variable', () => {
    const small = errorOf({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '10' });
    expect(small?.message).toMatch(
      /WORKER_MAX_CACHED_WORKFLOWS.*WORKER_MAX_CONCURRENT_WORKFLOW_TASKS \(40\)/,
    );
    expect(
      errorOf({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '10', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '10' }),
    ).toBeUndefined();
    expect(errorOf({ ...base, WORKER_MAX_CACHED_WORKFLOWS: 'lots' })?.message).toMatch(
      /WORKER_MAX_CACHED_WORKFLOWS/,
    );
  });
});
