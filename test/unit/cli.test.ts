import { describe, expect, it, vi } from 'vitest';
import { CliUsageError, formatList, formatView, main, parseCli, runCommand } from '../../client/cli.js';
import { NotFoundError } from '../../client/errors.js';
import type { SubscriptionsClient } from '../../client/subscriptions-client.js';
import { buildListQuery, quoteVisibility } from '../../client/subscriptions-client.js';
import type { SubscriptionView } from '../../workflows/messages.js';

describe('parseCli', () => {
  it('parses create with every option', () => {
    expect(
      parseCli([
        'create',
        '--customer',
        'c1',
        '--product',
        '月訂閱 Premium',
        '--amount',
        '390',
        '--currency',
        'twd',
        '--interval',
        'PT30S',
        '--id',
        'sub-1',
        '--anchor',
        '2026-01-01T00:00:00+08:00',
        '--time-zone',
        'Asia/Taipei',
        '--max-cycles',
        '12',
        '--json',
      ]),
    ).toEqual({
      command: 'create',
      json: true,
      request: {
        customerId: 'c1',
        productName: '月訂閱 Premium',
        amount: 390,
        currency: 'TWD',
        interval: 'PT30S',
        subscriptionId: 'sub-1',
        billingAnchor: '2026-01-01T00:00:00+08:00',
        timeZone: 'Asia/Taipei',
        maxCycles: 12,
      },
    });
  });

  it('parses the id commands', () => {
    expect(parseCli(['get', 'sub-1'])).toEqual({ command: 'get', json: false, subscriptionId: 'sub-1' });
    expect(parseCli(['cancel', 'sub-1', '--at-period-end', '--reason', 'moving'])).toEqual({
      command: 'cancel',
      json: false,
      subscriptionId: 'sub-1',
      atPeriodEnd: true,
      reason: 'moving',
    });
    expect(parseCli(['pause', 'sub-1', '--resume-at', '2026-03-01T00:00:00Z'])).toMatchObject({
      resumeAt: '2026-03-01T00:00:00Z',
    });
    expect(parseCli(['retry', 'sub-1'])).toEqual({ command: 'retry', json: false, subscriptionId: 'sub-1' });
    expect(parseCli(['list', '--status', 'past_due', '--customer', 'c1', '--limit', '5'])).toEqual({
      command: 'list',
      json: false,
      filter: { status: 'past_due', customerId: 'c1', pageSize: 5 },
    });
    expect(parseCli([])).toEqual({ command: 'help' });
    expect(parseCli(['get', '--help'])).toEqual({ command: 'help' });
  });

  it.each([
    [['frobnicate'], /unknown command/],
    [['get'], /exactly one subscriptionId/],
    [['get', 'a', 'b'], /exactly one/],
    [['create', '--customer', 'c'], /needs --product/],
    [
      [
        'create',
        '--customer',
        'c',
        '--product',
        'p',
        '--amount',
        '3.5',
        '--currency',
        'TWD',
        '--interval',
        'P1M',
      ],
      /whole number/,
    ],
    [
      [
        'create',
        '--customer',
        'c',
        '--product',
        'p',
        '--amount',
        '1',
        '--currency',
        'JPY',
        '--interval',
        'P1M',
      ],
      /--currency/,
    ],
    [['list', '--status', 'sleeping'], /--status must be one of/],
    [['get', 'x', '--reason', 'r'], /does not apply to get/],
    [['get', 'x', '--bogus'], /Unknown option/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(CliUsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });
});

const view: SubscriptionView = {
  subscriptionId: 'sub-1',
  instanceId: '0a1b2c3d',
  customerId: 'c1',
  status: 'active',
  plan: {
    productName: '月訂閱 Premium',
    amount: 390,
    currency: 'TWD',
    interval: 'PT30S',
    timeZone: 'Asia/Taipei',
  },
  cycle: 2,
  paidCycles: 1,
  nextChargeAt: '2026-01-01T00:00:30.000Z',
  regKeyMasked: 'RK…F425',
  skippedCycles: [],
  charges: [
    {
      cycle: 1,
      orderId: 'sub-1-c1',
      transactionId: '2026010112345678901',
      amount: 390,
      currency: 'TWD',
      productName: '月訂閱 Premium',
      kind: 'approval',
      chargedAt: '2026-01-01T00:00:00.000Z',
      recovered: false,
    },
  ],
  totalCharged: 390,
  audit: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  requestFingerprint: 'abc',
};

describe('formatting', () => {
  it('shows a subscription for humans, transaction ids intact', () => {
    const text = formatView(view);
    expect(text).toContain('status        active');
    expect(text).toContain('390 TWD every PT30S — 月訂閱 Premium');
    expect(text).toContain('2026010112345678901');
    expect(text).toContain('RK…F425');
  });

  it('lists as a table', () => {
    expect(formatList([])).toBe('No subscriptions found.');
    const text = formatList([
      {
        subscriptionId: 'sub-1',
        workflowId: 'subscription-sub-1',
        status: 'active',
        customerId: 'c1',
        billingCycle: 2,
        workflowStatus: 'RUNNING',
        startTime: 'x',
      },
    ]);
    expect(text.split('\n')[0]).toMatch(/^SUBSCRIPTION\s+STATUS\s+CUSTOMER/);
    expect(text).toContain('sub-1');
  });

  it('runs commands with --json or human output', async () => {
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(`ERR ${t}`) };
    const subs = { getSubscription: vi.fn().mockResolvedValue(view) } as unknown as SubscriptionsClient;
    expect(await runCommand({ command: 'get', json: true, subscriptionId: 'sub-1' }, subs, io)).toBe(0);
    expect(JSON.parse(out[0]!)).toEqual(view);
    const cancel = vi.fn().mockResolvedValue({ status: 'canceled', effectiveAt: '2026-01-02T00:00:00.000Z' });
    await runCommand(
      { command: 'cancel', json: false, subscriptionId: 'sub-1', reason: 'r' },
      { cancel } as unknown as SubscriptionsClient,
      io,
    );
    expect(out[1]).toBe('cancel: sub-1 (status=canceled, effectiveAt=2026-01-02T00:00:00.000Z)');
    expect(cancel.mock.calls[0]![1]).toMatchObject({ actor: { kind: 'operator' }, reason: 'r' });
    await expect(
      runCommand(
        { command: 'get', json: false, subscriptionId: 'x' },
        {
          getSubscription: vi.fn().mockRejectedValue(new NotFoundError('x')),
        } as unknown as SubscriptionsClient,
        io,
      ),
    ).rejects.toThrow(NotFoundError);
  });

  it('exits 2 on usage errors and 78 on configuration errors, before connecting', async () => {
    const err: string[] = [];
    const io = { stdout: () => {}, stderr: (t: string) => err.push(t) };
    expect(await main(['nope'], {}, io)).toBe(2);
    expect(await main(['get', 'x'], {}, io)).toBe(78);
    expect(err.at(-1)).toMatch(/PAYLOAD_ENCRYPTION_KEY is required/);
  });
});

describe('visibility query', () => {
  it('escapes quotes and backslashes', () => {
    expect(quoteVisibility("o'brien\\")).toBe("'o\\'brien\\\\'");
    expect(buildListQuery({ status: 'active', customerId: "x' OR '1'='1" })).toBe(
      "WorkflowType = 'subscriptionWorkflow' AND SubscriptionStatus = 'active' AND CustomerId = 'x\\' OR \\'1\\'=\\'1'",
    );
    expect(buildListQuery({})).toBe("WorkflowType = 'subscriptionWorkflow'");
  });
});
