/**
 * Trials through the merchant-facing layers: the HTTP schema and OpenAPI, the confirm page, the CLI
 * and the deployment setting. The workflow side is in test/workflow/subscription.trial.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { signedCallbackUrl } from '../../activities/callback-link.js';
import { formatView, parseCli } from '../../client/cli.js';
import { ConfigError, readTrialVerification } from '../../client/config.js';
import { ValidationError } from '../../client/errors.js';
import { createApp } from '../../client/http/app.js';
import { createSubscriptionsClient, type SubscriptionsClient } from '../../client/subscriptions-client.js';
import type { SubscriptionView } from '../../workflows/messages.js';

const TOKEN = 'test-api-token-0123456789';
const KEY = randomBytes(32);
const json = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const body = {
  subscriptionId: 'sub-1',
  customerId: 'cust-1',
  productName: '月訂閱 Premium',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
};

function appWith(overrides: Partial<SubscriptionsClient>) {
  const subscriptions = { ...overrides } as SubscriptionsClient;
  return createApp({
    subscriptions,
    apiToken: TOKEN,
    callbackSigningKeys: [KEY],
    onError: () => {},
    log: () => {},
  });
}

describe('POST /subscriptions with a trial', () => {
  it('passes the trial fields to the client library', async () => {
    const create = vi
      .fn()
      .mockResolvedValue({ subscriptionId: 'sub-1', status: 'pending_approval', created: true });
    const app = appWith({ createSubscription: create });
    const trial = { trial: 'P14D', trialWillEndNotice: 'P2D', trialVerification: 'void_authorization' };
    const res = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, ...trial }),
    });
    expect(res.status).toBe(201);
    expect(create).toHaveBeenCalledWith({ ...body, ...trial });
  });

  it.each([
    ['trialEnd not an instant', { trialEnd: 'next week' }, 'trialEnd'],
    ['unknown trialVerification', { trial: 'P14D', trialVerification: 'free' }, 'trialVerification'],
    ['trial not a string', { trial: 14 }, 'trial'],
  ])('400 for %s, naming the field', async (_name, patch, field) => {
    const create = vi.fn();
    const app = appWith({ createSubscription: create });
    const res = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, ...patch }),
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { details?: { field?: string } } }).error;
    expect(error.details?.field).toBe(field);
    expect(create).not.toHaveBeenCalled();
  });

  it('the workflow rules (both trial and trialEnd) come back as a 400 naming the field', async () => {
    const create = vi
      .fn()
      .mockRejectedValue(new ValidationError('trialEnd: give trial or trialEnd, not both', 'trialEnd'));
    const app = appWith({ createSubscription: create });
    const res = await app.request('/subscriptions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, trial: 'P14D', trialEnd: '2030-01-01T00:00:00Z' }),
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { message: string; details?: { field?: string } } }).error;
    expect(error.details?.field).toBe('trialEnd');
    expect(error.message).toContain('trialEnd: ');
  });

  it('the OpenAPI document lists the trial fields and the trialing status', async () => {
    const doc = JSON.stringify(await (await appWith({}).request('/openapi.json')).json());
    for (const word of ['trialEnd', 'trialWillEndNotice', 'void_authorization', 'refund_minimum', 'trialing'])
      expect(doc).toContain(word);
  });

  it('the confirm page of a trial says nothing was charged and when the first charge falls', async () => {
    const TX = '2024010112345678901';
    const url = signedCallbackUrl('/linepay/confirm?subscriptionId=sub-1', KEY, {
      subscriptionId: 'sub-1',
      orderId: 'sub-1-c0',
    });
    const confirm = vi.fn().mockResolvedValue({
      status: 'trialing',
      nextChargeAt: '2026-02-01T00:00:00.000Z',
      message: 'approved; free trial until …',
    });
    const app = appWith({ confirmApproval: confirm });
    const res = await app.request(`${url}&transactionId=${TX}&orderId=sub-1-c0`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-status="trialing"');
    expect(html).toContain('Your free trial has started');
    expect(html).toContain('2026-02-01T00:00:00.000Z');
    expect(html).not.toContain('approved; free trial');
  });
});

describe('CLI', () => {
  it('create takes the trial options', () => {
    const parsed = parseCli([
      'create',
      '--customer',
      'c1',
      '--product',
      'p',
      '--amount',
      '390',
      '--currency',
      'TWD',
      '--interval',
      'P1M',
      '--trial',
      'P14D',
      '--trial-notice',
      'P1D',
      '--trial-verification',
      'void_authorization',
    ]);
    expect(parsed).toMatchObject({
      command: 'create',
      request: { trial: 'P14D', trialWillEndNotice: 'P1D', trialVerification: 'void_authorization' },
    });
    expect(() =>
      parseCli([
        'create',
        '--customer',
        'c',
        '--product',
        'p',
        '--amount',
        '1',
        '--currency',
        'TWD',
        '--interval',
        'P1M',
        '--trial-verification',
        'x',
      ]),
    ).toThrow(/--trial-verification must be one of/);
    expect(() => parseCli(['cancel', 'sub-1', '--trial', 'P1D'])).toThrow(/does not apply/);
  });

  it('shows the trial of a subscription', () => {
    const view = {
      subscriptionId: 'sub-1',
      customerId: 'c1',
      instanceId: 'a1b2c3d4',
      status: 'trialing',
      plan: { productName: 'p', amount: 390, currency: 'TWD', interval: 'P1M', timeZone: 'Asia/Taipei' },
      cycle: 1,
      paidCycles: 0,
      skippedCycles: [],
      charges: [],
      totalCharged: 0,
      audit: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      requestFingerprint: '',
      trial: {
        endsAt: '2026-01-15T00:00:00.000Z',
        noticeAt: '2026-01-12T00:00:00.000Z',
        noticeSent: false,
        verification: {
          mode: 'refund_minimum',
          orderId: 'o',
          amount: 1,
          currency: 'TWD',
          outcome: 'refunded',
        },
      },
    } satisfies SubscriptionView;
    expect(formatView(view)).toContain(
      'trial         until 2026-01-15T00:00:00.000Z (approval 1 TWD refunded)',
    );
  });
});

describe('LINEPAY_TRIAL_VERIFICATION', () => {
  it('defaults to refund_minimum and refuses anything else by name', () => {
    expect(readTrialVerification({})).toBe('refund_minimum');
    expect(readTrialVerification({ LINEPAY_TRIAL_VERIFICATION: 'void_authorization' })).toBe(
      'void_authorization',
    );
    expect(() => readTrialVerification({ LINEPAY_TRIAL_VERIFICATION: 'nope' })).toThrow(ConfigError);
    expect(() => readTrialVerification({ LINEPAY_TRIAL_VERIFICATION: 'nope' })).toThrow(
      /LINEPAY_TRIAL_VERIFICATION/,
    );
  });
});

describe('client library', () => {
  /** A Temporal client that records the update-with-start and answers like a fresh workflow. */
  function recordingClient() {
    const starts: { args: unknown[] }[] = [];
    const client = {
      connection: { withDeadline: (_d: number, fn: () => Promise<unknown>) => fn() },
      workflow: {
        executeUpdateWithStart: async (
          _def: unknown,
          opts: { startWorkflowOperation: { options: { args: unknown[] } } },
        ) => {
          starts.push({ args: opts.startWorkflowOperation.options.args });
          return { subscriptionId: 'sub-1', created: true, status: 'pending_approval' };
        },
      },
    };
    return { client: client as unknown as Client, starts };
  }

  it('refuses a trialEnd in the past and both trial fields, naming the field, before reaching Temporal', async () => {
    const { client, starts } = recordingClient();
    const subs = createSubscriptionsClient({ client, taskQueue: 'q', publicBaseUrl: 'https://shop.example' });
    const past = await subs
      .createSubscription({ ...body, currency: 'TWD', trialEnd: '2020-01-01T00:00:00Z' })
      .catch((e: unknown) => e);
    expect(past).toBeInstanceOf(ValidationError);
    expect((past as ValidationError).field).toBe('trialEnd');
    const both = await subs
      .createSubscription({ ...body, currency: 'TWD', trial: 'P7D', trialEnd: '2099-01-01T00:00:00Z' })
      .catch((e: unknown) => e);
    expect((both as ValidationError).field).toBe('trialEnd');
    expect(starts).toEqual([]);
  });

  it("records the deployment's trialVerification in the workflow input, unless the request gives one", async () => {
    const { client, starts } = recordingClient();
    const subs = createSubscriptionsClient({
      client,
      taskQueue: 'q',
      publicBaseUrl: 'https://shop.example',
      trialVerification: 'void_authorization',
    });
    await subs.createSubscription({ ...body, currency: 'TWD', trial: 'P14D' });
    await subs.createSubscription({
      ...body,
      currency: 'TWD',
      trial: 'P14D',
      trialVerification: 'refund_minimum',
    });
    await subs.createSubscription({ ...body, currency: 'TWD' });
    const inputs = starts.map((s) => s.args[0] as Record<string, unknown>);
    expect(inputs.map((i) => i.trialVerification)).toEqual([
      'void_authorization',
      'refund_minimum',
      undefined,
    ]);
    expect(inputs[0]).toMatchObject({ trial: 'P14D', trialWillEndNotice: 'P3D' });
  });
});
