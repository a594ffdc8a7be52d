import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signCallback, verifyCallback } from '../../../activities/callback-link.js';
import { main as cliMain } from '../../../client/cli.js';
import {
  readBillingLimits,
  readCallbackSigningKeys,
  readLinePayEnv,
  readServerConfig,
} from '../../../client/config.js';
import { InternalError, UnavailableError } from '../../../client/errors.js';
import { toSubscriptionError } from '../../../client/subscriptions-client.js';
import { readWorkerConfig } from '../../../worker/config.js';

const KEY = randomBytes(32).toString('base64');
const SIGNING = randomBytes(32).toString('base64');
const server = { PAYLOAD_ENCRYPTION_KEY: KEY, API_TOKEN: 'merchant-token-0123456789' };
const production = {
  ...server,
  NODE_ENV: 'production',
  LINEPAY_ENV: 'production',
  PUBLIC_BASE_URL: 'https://billing.example.com',
  CALLBACK_SIGNING_KEY: SIGNING,
};
const worker = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  LINEPAY_CHANNEL_ID: '1234567890',
  LINEPAY_CHANNEL_SECRET: 'channel-secret-value',
};

describe('LINEPAY_ENV', () => {
  it('is required when NODE_ENV=production, sandbox otherwise', () => {
    expect(() => readLinePayEnv({ NODE_ENV: 'production' })).toThrow(
      /^LINEPAY_ENV is required when NODE_ENV=production/,
    );
    expect(readLinePayEnv({})).toBe('sandbox');
    expect(readLinePayEnv({ LINEPAY_ENV: 'Production' })).toBe('production');
    expect(() => readLinePayEnv({ LINEPAY_ENV: 'prod' })).toThrow(/must be sandbox or production/);
  });

  it('production: the HTTP service needs an explicit https PUBLIC_BASE_URL and a CALLBACK_SIGNING_KEY', () => {
    expect(readServerConfig(production).publicBaseUrl).toBe('https://billing.example.com');
    expect(() => readServerConfig({ ...production, PUBLIC_BASE_URL: undefined })).toThrow(
      /^PUBLIC_BASE_URL is required with LINEPAY_ENV=production/,
    );
    expect(() => readServerConfig({ ...production, PUBLIC_BASE_URL: 'http://billing.example.com' })).toThrow(
      /^PUBLIC_BASE_URL must be https/,
    );
    expect(() => readServerConfig({ ...production, CALLBACK_SIGNING_KEY: undefined })).toThrow(
      /^CALLBACK_SIGNING_KEY is required with LINEPAY_ENV=production/,
    );
    expect(() =>
      readServerConfig({ ...production, CALLBACK_SIGNING_KEY: randomBytes(16).toString('base64') }),
    ).toThrow(/at least 32 bytes/);
  });

  it('production: the worker needs an explicit https LINEPAY_API_URL that is not the sandbox', () => {
    const prodWorker = {
      ...worker,
      LINEPAY_ENV: 'production',
      CALLBACK_SIGNING_KEY: SIGNING,
      REGKEY_VAULT_KEY: randomBytes(32).toString('base64'),
    };
    expect(() => readWorkerConfig(prodWorker)).toThrow(
      /^LINEPAY_API_URL is required with LINEPAY_ENV=production/,
    );
    expect(() => readWorkerConfig({ ...prodWorker, LINEPAY_API_URL: 'http://api-pay.line.me' })).toThrow(
      /^LINEPAY_API_URL must be https/,
    );
    expect(() =>
      readWorkerConfig({ ...prodWorker, LINEPAY_API_URL: 'https://sandbox-api-pay.line.me' }),
    ).toThrow(/points at the LINE Pay sandbox/);
    expect(() =>
      readWorkerConfig({
        ...prodWorker,
        LINEPAY_API_URL: 'https://api-pay.line.me',
        CALLBACK_SIGNING_KEY: undefined,
      }),
    ).toThrow(/^CALLBACK_SIGNING_KEY is required/);
    const config = readWorkerConfig({ ...prodWorker, LINEPAY_API_URL: 'https://api-pay.line.me' });
    expect(config.linePayEnv).toBe('production');
    expect(config.callbackSigningKey.toString('base64')).toBe(SIGNING);
  });

  it('sandbox: http URLs are fine and worker and HTTP service derive the same signing key', () => {
    const w = readWorkerConfig({ ...worker, LINEPAY_API_URL: 'http://127.0.0.1:4000' });
    expect(w.linePay.baseUrl).toBe('http://127.0.0.1:4000');
    const s = readServerConfig({ ...server, PUBLIC_BASE_URL: 'http://127.0.0.1:3000' });
    expect(s.callbackSigningKeys[0]!.equals(w.callbackSigningKey)).toBe(true);
  });

  it('the CLI refuses to start without PUBLIC_BASE_URL in production', async () => {
    const errors: string[] = [];
    const code = await cliMain(
      ['list'],
      { ...production, PUBLIC_BASE_URL: undefined },
      {
        stdout: () => {},
        stderr: (t) => errors.push(t),
      },
    );
    expect(code).toBe(78);
    expect(errors.join('\n')).toMatch(/PUBLIC_BASE_URL is required/);
  });
});

describe('CALLBACK_SIGNING_KEY rotation', () => {
  it('the first key signs; every listed key verifies', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keys = readCallbackSigningKeys(
      { CALLBACK_SIGNING_KEY: `${a.toString('base64')},${b.toString('base64url')}` },
      'production',
      [],
    );
    expect(keys.map((k) => k.toString('hex'))).toEqual([a.toString('hex'), b.toString('hex')]);
    const subject = { subscriptionId: 's', orderId: 's-1' };
    expect(verifyCallback(keys, subject, signCallback(a, subject))).toBe(true);
    expect(verifyCallback(keys, subject, signCallback(b, subject))).toBe(true);
    expect(verifyCallback([a], subject, signCallback(b, subject))).toBe(false);
  });
});

describe('billing limits from the environment', () => {
  it('defaults: sane maxima; short intervals only in sandbox', () => {
    expect(readBillingLimits({ LINEPAY_ENV: 'production' })).toMatchObject({
      maxAmount: { TWD: 500_000, THB: 500_000, USD: 10_000 },
      allowShortIntervals: false,
      currencies: ['TWD', 'THB', 'USD'],
    });
    expect(readBillingLimits({}).allowShortIntervals).toBe(true);
    expect(
      readBillingLimits({ LINEPAY_ENV: 'production', ALLOW_SHORT_INTERVALS: 'true' }).allowShortIntervals,
    ).toBe(true);
  });

  it('reads LINEPAY_MAX_AMOUNTS, LINEPAY_CURRENCIES and PLAN_INCREASE_REAPPROVAL_SHARE', () => {
    const limits = readBillingLimits({
      LINEPAY_MAX_AMOUNTS: 'USD:20000, TWD:100000',
      LINEPAY_CURRENCIES: 'twd,THB',
      PLAN_INCREASE_REAPPROVAL_SHARE: '0.5',
    });
    expect(limits.maxAmount).toEqual({ TWD: 100_000, THB: 500_000, USD: 20_000 });
    expect(limits.currencies).toEqual(['TWD', 'THB']);
    expect(limits.planIncreaseReapprovalShare).toBe(0.5);
    expect(() => readBillingLimits({ LINEPAY_MAX_AMOUNTS: 'JPY:1000000' })).toThrow(/^LINEPAY_MAX_AMOUNTS/);
    expect(() => readBillingLimits({ LINEPAY_MAX_AMOUNTS: 'USD:200000000' })).toThrow(/^LINEPAY_MAX_AMOUNTS/);
    expect(() => readBillingLimits({ LINEPAY_CURRENCIES: 'TWD,EUR' })).toThrow(/^LINEPAY_CURRENCIES/);
    expect(() => readBillingLimits({ PLAN_INCREASE_REAPPROVAL_SHARE: 'lots' })).toThrow(
      /^PLAN_INCREASE_REAPPROVAL_SHARE/,
    );
  });
});

describe('HTTP service settings', () => {
  it('accepts several API tokens for rotation', () => {
    expect(
      readServerConfig({ ...server, API_TOKENS: 'token-old-0123456789, token-new-0123456789' }).apiTokens,
    ).toEqual(['token-old-0123456789', 'token-new-0123456789']);
    expect(() => readServerConfig({ ...server, API_TOKENS: 'token-old-0123456789,short' })).toThrow(
      /^API_TOKENS/,
    );
  });

  it('codec: open mode only on loopback, its own port, a token of at least 32 characters, no null origin', () => {
    expect(() =>
      readServerConfig({ ...server, CODEC_ALLOW_UNAUTHENTICATED: 'true', CODEC_HOST: '0.0.0.0' }),
    ).toThrow(/^CODEC_ALLOW_UNAUTHENTICATED is only allowed when CODEC_HOST is a loopback address/);
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      expect(
        readServerConfig({ ...server, CODEC_ALLOW_UNAUTHENTICATED: 'true', CODEC_HOST: host }).codec.enabled,
      ).toBe(true);
    }
    expect(() => readServerConfig({ ...server, CODEC_AUTH_TOKEN: 'x'.repeat(31) })).toThrow(
      /^CODEC_AUTH_TOKEN must be at least 32/,
    );
    expect(() =>
      readServerConfig({ ...server, CODEC_AUTH_TOKEN: 'x'.repeat(32), CODEC_PORT: '3000' }),
    ).toThrow(/^CODEC_PORT must differ from PORT/);
    for (const origins of ['null', '*', 'http://127.0.0.1:8233,null', 'file://']) {
      expect(() => readServerConfig({ ...server, CODEC_CORS_ORIGINS: origins }), origins).toThrow(
        /^CODEC_CORS_ORIGINS/,
      );
    }
    const jwt = readServerConfig({
      ...server,
      CODEC_JWKS_URL: 'https://idp.example/jwks',
      CODEC_JWT_ISSUER: 'https://idp.example',
    }).codec;
    expect(jwt).toMatchObject({
      enabled: true,
      port: 3001,
      host: '127.0.0.1',
      enableEncode: false,
      jwt: { jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example' },
    });
  });
});

describe('merchant API errors never carry raw Temporal messages', () => {
  const grpc = (code: number, details: string) =>
    Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });

  it.each([
    [7, 'temporal_permission_denied'],
    [16, 'temporal_unauthenticated'],
    [3, 'temporal_invalid_argument'],
    [9, 'temporal_failed_precondition'],
    [12, 'temporal_unimplemented'],
    [13, 'temporal_internal'],
  ])('gRPC %i is permanent: internal/%s, not a 503 "retry"', (code, reason) => {
    const err = toSubscriptionError(grpc(code, 'Namespace secret-ns is not found at 10.0.0.7:7233'), 'sub-1');
    expect(err).toBeInstanceOf(InternalError);
    expect(err.code).toBe('internal');
    expect(err.details).toEqual({ reason });
    expect(err.message).not.toContain('secret-ns');
    expect(err.cause).toBeDefined();
  });

  it.each([1, 4, 8, 10, 14])('gRPC %i is transient: unavailable with a fixed message', (code) => {
    const err = toSubscriptionError(grpc(code, 'connect ECONNREFUSED 10.0.0.7:7233'), 'sub-1');
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).not.toContain('10.0.0.7');
  });

  it('an unknown error is internal, with its message kept out', () => {
    const err = toSubscriptionError(new Error('TypeError at /srv/app/node_modules/x.js:1'), 'sub-1');
    expect(err.code).toBe('internal');
    expect(err.message).not.toContain('/srv/app');
  });
});
