import { describe, expect, it } from 'vitest';
import {
  type BillingLimits,
  checkBillingLimits,
  DEFAULT_BILLING_LIMITS,
  DEFAULT_DUNNING_SCHEDULE,
  normalizeSubscriptionInput,
  type SubscriptionInput,
  SubscriptionInputError,
  truncateCodePoints,
} from '../../workflows/subscription-input.js';

const SANDBOX: BillingLimits = { ...DEFAULT_BILLING_LIMITS, allowShortIntervals: true };

const base: SubscriptionInput = {
  subscriptionId: 'sub_2028-01',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function withInput(patch: Record<string, unknown>): SubscriptionInput {
  return { ...base, ...patch } as SubscriptionInput;
}

function inputError(raw: unknown, limits?: BillingLimits): SubscriptionInputError {
  try {
    normalizeSubscriptionInput(raw as SubscriptionInput, limits);
  } catch (err) {
    if (err instanceof SubscriptionInputError) return err;
    throw err;
  }
  throw new Error('expected a SubscriptionInputError');
}

function expectInvalid(raw: unknown, field: string, message: string, limits?: BillingLimits): void {
  const err = inputError(raw, limits);
  expect(err.field).toBe(field);
  expect(err.message).toBe(`${field}: ${message}`);
  expect(err.code).toBe('invalid_subscription_input');
  expect(err.name).toBe('SubscriptionInputError');
}

describe('normalizeSubscriptionInput: defaults', () => {
  it('fills every default', () => {
    expect(normalizeSubscriptionInput(base)).toEqual({
      subscriptionId: 'sub_2028-01',
      customerId: 'cust-1',
      productName: 'Coffee club',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
      timeZone: 'Asia/Taipei',
      dunningSchedule: ['P1D', 'P3D', 'P5D', 'P7D'],
      approvalTimeout: 'PT20M',
      reapprovalTimeout: 'P7D',
      redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
      actor: { kind: 'merchant' },
      limits: DEFAULT_BILLING_LIMITS,
      requestFingerprint: '',
    });
  });

  it('leaves billingAnchor and maxCycles absent when not given, and drops unknown fields', () => {
    const out = normalizeSubscriptionInput(withInput({ regKey: 'RK5C38F19XTF425', extra: 1 }));
    expect('billingAnchor' in out).toBe(false);
    expect('maxCycles' in out).toBe(false);
    expect(JSON.stringify(out)).not.toContain('RK5C38F19XTF425');
    expect('extra' in out).toBe(false);
  });

  it('gives each subscription its own copy of the default dunning schedule', () => {
    const a = normalizeSubscriptionInput(base);
    a.dunningSchedule.push('P9D');
    expect(normalizeSubscriptionInput(base).dunningSchedule).toEqual(['P1D', 'P3D', 'P5D', 'P7D']);
    expect([...DEFAULT_DUNNING_SCHEDULE]).toEqual(['P1D', 'P3D', 'P5D', 'P7D']);
  });

  it('keeps explicit values', () => {
    const out = normalizeSubscriptionInput(
      withInput({
        currency: 'THB',
        interval: 'PT30S',
        timeZone: 'Asia/Bangkok',
        maxCycles: 12,
        dunningSchedule: ['PT1M', 'PT5M'],
        approvalTimeout: 'PT5M',
        reapprovalTimeout: 'P1D',
        actor: { kind: 'operator', id: 'ops-7' },
        requestFingerprint: 'abc123',
      }),
      SANDBOX,
    );
    expect(out).toMatchObject({
      currency: 'THB',
      interval: 'PT30S',
      timeZone: 'Asia/Bangkok',
      maxCycles: 12,
      dunningSchedule: ['PT1M', 'PT5M'],
      approvalTimeout: 'PT5M',
      reapprovalTimeout: 'P1D',
      actor: { kind: 'operator', id: 'ops-7' },
      requestFingerprint: 'abc123',
    });
  });

  it('accepts an empty dunning schedule (no retries)', () => {
    expect(normalizeSubscriptionInput(withInput({ dunningSchedule: [] })).dunningSchedule).toEqual([]);
  });

  it('is idempotent', () => {
    const once = normalizeSubscriptionInput(
      withInput({ billingAnchor: '2028-01-31T10:00:00+08:00', maxCycles: 3 }),
    );
    expect(normalizeSubscriptionInput(once)).toEqual(once);
  });

  it('accepts the boundary values', () => {
    expect(() =>
      normalizeSubscriptionInput(
        withInput({
          subscriptionId: 'a'.repeat(64),
          customerId: 'c'.repeat(256),
          productName: 'p'.repeat(4000),
          amount: 500_000,
          interval: 'P10Y',
          dunningSchedule: Array.from({ length: 10 }, (_, i) => `P${i + 1}D`),
          redirectUrls: {
            confirmUrl: `https://e.x/${'a'.repeat(360 - 12)}`,
            cancelUrl: 'http://localhost:3000/c',
          },
        }),
      ),
    ).not.toThrow();
  });
});

describe('normalizeSubscriptionInput: billingAnchor', () => {
  it.each([
    ['2028-01-31T10:00:00+08:00', '2028-01-31T02:00:00.000Z'],
    ['2028-01-31T02:00:00Z', '2028-01-31T02:00:00.000Z'],
    ['2028-01-31T02:00:00.250Z', '2028-01-31T02:00:00.250Z'],
    ['2027-11-07T01:30:00-05:00', '2027-11-07T06:30:00.000Z'],
  ])('normalizes %s to %s', (anchor, expected) => {
    expect(normalizeSubscriptionInput(withInput({ billingAnchor: anchor })).billingAnchor).toBe(expected);
  });

  it.each(['2028-01-31T10:00:00', '2028-01-31'])('requires an offset: %s', (anchor) => {
    expectInvalid(
      withInput({ billingAnchor: anchor }),
      'billingAnchor',
      'must be an ISO-8601 instant with a UTC offset or Z, e.g. 2028-01-31T10:00:00+08:00',
    );
  });

  it.each(['next tuesday', '', 1_700_000_000_000, null])('rejects %j', (anchor) => {
    expectInvalid(withInput({ billingAnchor: anchor }), 'billingAnchor', 'must be an ISO-8601 instant');
  });
});

describe('normalizeSubscriptionInput: validation', () => {
  it.each([null, undefined, 'x', 42])('rejects a non-object %j', (raw) => {
    expectInvalid(raw, 'input', 'must be an object');
  });

  it.each(['', 'a'.repeat(65), 'has space', 'a.b', 'ü', 7, undefined])('rejects subscriptionId %j', (id) => {
    expectInvalid(
      withInput({ subscriptionId: id }),
      'subscriptionId',
      'must be 1-64 characters of [A-Za-z0-9_-]',
    );
  });

  it.each(['', '   ', 5, undefined])('rejects customerId %j', (v) => {
    expectInvalid(withInput({ customerId: v }), 'customerId', 'is required');
  });

  it('limits customerId to 256 characters', () => {
    expectInvalid(withInput({ customerId: 'c'.repeat(257) }), 'customerId', 'must be at most 256 characters');
  });

  it.each(['', ' \t', null])('rejects productName %j', (v) => {
    expectInvalid(withInput({ productName: v }), 'productName', 'is required');
  });

  it('limits productName to 4000 characters', () => {
    expectInvalid(
      withInput({ productName: 'p'.repeat(4001) }),
      'productName',
      'must be at most 4000 characters',
    );
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '390', 2 ** 53])(
    'rejects amount %s',
    (amount) => {
      expectInvalid(withInput({ amount }), 'amount', "must be a positive integer in the currency's unit");
    },
  );

  it('caps the amount per currency by default: 100,000,000 USD is refused', () => {
    expectInvalid(withInput({ amount: 100_000_000, currency: 'USD' }), 'amount', 'must be at most 10000 USD');
    expectInvalid(withInput({ amount: 500_001 }), 'amount', 'must be at most 500000 TWD');
    expectInvalid(withInput({ amount: 500_001, currency: 'THB' }), 'amount', 'must be at most 500000 THB');
    expect(normalizeSubscriptionInput(withInput({ amount: 10_000, currency: 'USD' })).amount).toBe(10_000);
  });

  it('takes configured limits, and the workflow re-checks the ones the client recorded', () => {
    const generous = {
      ...DEFAULT_BILLING_LIMITS,
      maxAmount: { ...DEFAULT_BILLING_LIMITS.maxAmount, USD: 50_000 },
    };
    const out = normalizeSubscriptionInput(withInput({ amount: 20_000, currency: 'USD' }), generous);
    expect(out.limits.maxAmount.USD).toBe(50_000);
    // The workflow runs it again without an argument: the recorded limits apply, not the defaults.
    expect(normalizeSubscriptionInput(out)).toEqual(out);
    // Without recorded limits the defaults apply.
    expectInvalid(withInput({ amount: 20_000, currency: 'USD' }), 'amount', 'must be at most 10000 USD');
  });

  it('refuses recorded limits that are malformed or beyond the absolute cap', () => {
    const bad = (limits: unknown) => withInput({ limits });
    expectInvalid(
      bad({ ...DEFAULT_BILLING_LIMITS, maxAmount: { TWD: 1, THB: 1 } }),
      'limits.maxAmount.USD',
      'must be an integer between 1 and 100000000',
    );
    expectInvalid(
      bad({ ...DEFAULT_BILLING_LIMITS, maxAmount: { TWD: 100_000_001, THB: 1, USD: 1 } }),
      'limits.maxAmount.TWD',
      'must be an integer between 1 and 100000000',
    );
    expectInvalid(
      bad({ ...DEFAULT_BILLING_LIMITS, currencies: [] }),
      'limits.currencies',
      'must list at least one currency',
    );
    expectInvalid(
      bad({ ...DEFAULT_BILLING_LIMITS, allowShortIntervals: 'yes' }),
      'limits.allowShortIntervals',
      'must be a boolean',
    );
    expect(() => checkBillingLimits(DEFAULT_BILLING_LIMITS)).not.toThrow();
  });

  it('allows intervals under one day only when the limits say so (sandbox)', () => {
    for (const interval of ['PT30S', 'PT10S', 'PT23H59M']) {
      expectInvalid(
        withInput({ interval }),
        'interval',
        'must be at least one day (shorter intervals only with LINEPAY_ENV=sandbox)',
      );
      expect(normalizeSubscriptionInput(withInput({ interval }), SANDBOX).interval).toBe(interval);
    }
    for (const interval of ['P1D', 'PT24H', 'P1W', 'P1M']) {
      expect(normalizeSubscriptionInput(withInput({ interval })).interval).toBe(interval);
    }
  });

  it('checks the currency against the channel allowlist', () => {
    const twdOnly = { ...DEFAULT_BILLING_LIMITS, currencies: ['TWD' as const] };
    expectInvalid(
      withInput({ currency: 'THB' }),
      'currency',
      'is not enabled for this LINE Pay channel (enabled: TWD)',
      twdOnly,
    );
    expect(normalizeSubscriptionInput(base, twdOnly).currency).toBe('TWD');
  });

  it.each(['JPY', 'twd', '', undefined])('rejects currency %j', (currency) => {
    expectInvalid(withInput({ currency }), 'currency', 'must be one of TWD, THB, USD');
  });

  it('requires an interval', () => {
    expectInvalid(withInput({ interval: undefined }), 'interval', 'is required');
    expectInvalid(withInput({ interval: 1 }), 'interval', 'is required');
  });

  it.each([
    ['monthly', '"monthly" is not an ISO-8601 duration such as P1M or PT30S'],
    ['PT5S', '"PT5S" is shorter than the minimum billing interval of 10 seconds'],
    ['P11Y', '"P11Y" is longer than ten years'],
  ])('rejects interval %s with the calendar’s reason', (interval, message) => {
    expectInvalid(withInput({ interval }), 'interval', message);
  });

  it.each(['Mars/Olympus', '', 'Asia/Taipe', 8])('rejects timeZone %j', (timeZone) => {
    expectInvalid(withInput({ timeZone }), 'timeZone', 'must be an IANA time zone');
  });

  it.each([0, -1, 1.5, '3'])('rejects maxCycles %j', (maxCycles) => {
    expectInvalid(withInput({ maxCycles }), 'maxCycles', 'must be a positive integer');
  });

  it('rejects a dunning schedule that is not a list or longer than 10', () => {
    const message = 'must be a list of at most 10 ISO-8601 durations';
    expectInvalid(withInput({ dunningSchedule: 'P1D' }), 'dunningSchedule', message);
    expectInvalid(
      withInput({ dunningSchedule: Array.from({ length: 11 }, (_, i) => `P${i + 1}D`) }),
      'dunningSchedule',
      message,
    );
  });

  it.each<[unknown[], string, string]>([
    [['P3D', 'P1D'], 'dunningSchedule[1]', 'offsets must be positive and increasing'],
    [['P1D', 'P1D'], 'dunningSchedule[1]', 'offsets must be positive and increasing'],
    [['P1D', 'PT24H'], 'dunningSchedule[1]', 'offsets must be positive and increasing'],
    [['PT0S'], 'dunningSchedule[0]', 'must be positive'],
    [['P1D', 'P1M'], 'dunningSchedule[1]', '"P1M" uses months or years, which have no fixed length'],
    [['1 day'], 'dunningSchedule[0]', '"1 day" is not an ISO-8601 duration such as P1M or PT30S'],
    [[86_400_000], 'dunningSchedule[0]', 'must be an ISO-8601 duration'],
  ])('rejects dunning schedule %j', (dunningSchedule, field, message) => {
    expectInvalid(withInput({ dunningSchedule }), field, message);
  });

  it.each(['approvalTimeout', 'reapprovalTimeout'])('validates %s', (field) => {
    expectInvalid(withInput({ [field]: 'PT0S' }), field, 'must be positive');
    expectInvalid(
      withInput({ [field]: 'P1M' }),
      field,
      '"P1M" uses months or years, which have no fixed length',
    );
    expectInvalid(
      withInput({ [field]: 'soon' }),
      field,
      '"soon" is not an ISO-8601 duration such as P1M or PT30S',
    );
    expectInvalid(withInput({ [field]: 20 }), field, 'must be an ISO-8601 duration');
  });

  it('requires redirectUrls', () => {
    expectInvalid(withInput({ redirectUrls: undefined }), 'redirectUrls', 'is required');
    expectInvalid(withInput({ redirectUrls: null }), 'redirectUrls', 'is required');
  });

  it.each(['confirmUrl', 'cancelUrl'])('validates redirectUrls.%s', (key) => {
    const field = `redirectUrls.${key}`;
    const urls = (value: unknown) => withInput({ redirectUrls: { ...base.redirectUrls, [key]: value } });
    expectInvalid(urls(''), field, 'is required');
    expectInvalid(urls(undefined), field, 'is required');
    expectInvalid(urls(`https://e.x/${'a'.repeat(360 - 11)}`), field, 'must be at most 360 characters');
    expectInvalid(urls('ftp://shop.example/x'), field, 'must be an absolute http(s) URL');
    expectInvalid(urls('/relative'), field, 'must be an absolute http(s) URL');
    expectInvalid(urls('https://shop.example/a b'), field, 'must be an absolute http(s) URL');
  });

  it('reports the first invalid field in declaration order', () => {
    expectInvalid(
      withInput({ subscriptionId: '', amount: -1 }),
      'subscriptionId',
      'must be 1-64 characters of [A-Za-z0-9_-]',
    );
    expectInvalid(
      withInput({ amount: -1, currency: 'JPY' }),
      'amount',
      "must be a positive integer in the currency's unit",
    );
  });
});

describe('billingAnchor format', () => {
  it('refuses non-ISO date strings even with an offset', () => {
    expectInvalid(
      withInput({ billingAnchor: 'Tue, 01 Feb 2028 10:00:00 +0800' }),
      'billingAnchor',
      'must be an ISO-8601 instant with a UTC offset or Z, e.g. 2028-01-31T10:00:00+08:00',
    );
  });
});

describe('truncateCodePoints', () => {
  it('cuts by code points, never inside a surrogate pair', () => {
    const name = `${'a'.repeat(99)}😀tail`;
    expect(name.slice(0, 100)).not.toBe(`${'a'.repeat(99)}😀`); // UTF-16 cut splits the emoji
    expect(truncateCodePoints(name, 100)).toBe(`${'a'.repeat(99)}😀`);
    expect(truncateCodePoints('月訂閱 Premium', 3)).toBe('月訂閱');
    expect(truncateCodePoints('short', 100)).toBe('short');
    expect([...truncateCodePoints('😀'.repeat(150), 100)]).toHaveLength(100);
  });
});
