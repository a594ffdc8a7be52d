import { parseInterval, zoneFormatter } from './billing-calendar.js';
import { type BillingWindow, BillingWindowError, parseBillingWindow } from './billing-window.js';
import { parseDuration } from './duration.js';
import { checkTrialRequest, TrialInputError, type TrialRequest } from './trial.js';

/** Currencies LINE Pay v3 accepts today (JPY is retired). Amounts are integers in the currency's unit. */
export const CURRENCIES = ['TWD', 'THB', 'USD'] as const;
export type Currency = (typeof CURRENCIES)[number];

export const DEFAULT_TIME_ZONE = 'Asia/Taipei';
/** LINE Pay keeps a payment URL alive for 20 minutes. */
export const DEFAULT_APPROVAL_TIMEOUT = 'PT20M';
export const DEFAULT_REAPPROVAL_TIMEOUT = 'P7D';
/** Retry offsets after the first soft decline of a cycle. */
export const DEFAULT_DUNNING_SCHEDULE = ['P1D', 'P3D', 'P5D', 'P7D'] as const;

/** Default largest charge per currency, in the currency's unit: catches unit bugs (cents for TWD) and typos. */
export const DEFAULT_MAX_AMOUNTS: Readonly<Record<Currency, number>> = {
  TWD: 500_000,
  THB: 500_000,
  USD: 10_000,
};
/** Above this nothing is configurable: LINE Pay's own limits bite long before. */
export const ABSOLUTE_MAX_AMOUNT = 100_000_000;
/** Intervals shorter than this are for sandboxes and demos. */
export const ONE_DAY_MS = 86_400_000;

/**
 * Limits that catch billing mistakes. The client applies its configured limits and records them in the
 * input; the workflow checks the recorded ones again (or these defaults when none were recorded).
 */
export interface BillingLimits {
  /** Largest amount per charge, per currency. */
  maxAmount: Readonly<Record<Currency, number>>;
  /** Currencies the LINE Pay channel has (others get 1178 from LINE Pay). */
  currencies: readonly Currency[];
  /** Intervals under one day: only with LINEPAY_ENV=sandbox or ALLOW_SHORT_INTERVALS=true. */
  allowShortIntervals: boolean;
  /** A plan increase above this share of the current amount needs the customer's re-approval (0.2 = 20%). */
  planIncreaseReapprovalShare: number;
  /** How long before a due date the regKey is checked, when a check is owed (default P7D; regkey-health.ts). */
  regKeyCheckLeadTime?: string;
  /** A pause at least this long owes a regKey check before the next charge (default P30D). */
  regKeyCheckAfterPause?: string;
}

export const DEFAULT_BILLING_LIMITS: BillingLimits = {
  maxAmount: DEFAULT_MAX_AMOUNTS,
  currencies: CURRENCIES,
  allowShortIntervals: false,
  planIncreaseReapprovalShare: 0.2,
};

/** Who asked for a change: recorded in the audit trail with every transition. */
export interface Actor {
  kind: 'customer' | 'merchant' | 'operator' | 'system';
  id?: string;
}

export interface RedirectUrls {
  /** Our webhook; LINE Pay appends `transactionId` and `orderId`. */
  confirmUrl: string;
  cancelUrl: string;
}

/** What a merchant asks for. Validated by the client before start and again inside the workflow. */
export interface SubscriptionInput extends TrialRequest {
  subscriptionId: string;
  customerId: string;
  productName: string;
  amount: number;
  currency: Currency;
  /** ISO-8601 duration: calendar units (P1M, P3M, P1Y, P1W, P1D) or time units (PT30S) for demos. */
  interval: string;
  /** ISO-8601 instant of the first recurring charge; default: one interval after approval. */
  billingAnchor?: string;
  /**
   * Local hours in which charges run, e.g. `{ start: '00:00', end: '06:00' }`: each subscription gets a
   * fixed slot inside it (by a hash of its id), which spreads a month-start burst. Daily or longer intervals.
   */
  billingWindow?: BillingWindow;
  timeZone?: string;
  /** Fixed-term plans: total number of paid cycles, the approval payment included. */
  maxCycles?: number;
  /** ISO-8601 durations after the first soft decline at which the cycle is retried. */
  dunningSchedule?: string[];
  approvalTimeout?: string;
  reapprovalTimeout?: string;
  redirectUrls: RedirectUrls;
  actor?: Actor;
  /** The limits the client checked this input against; the workflow checks them again. */
  limits?: BillingLimits;
  /**
   * Digest of the merchant's create request, set by the client library. A repeated create with the
   * same subscriptionId must carry the same fingerprint, or it is a conflict.
   */
  requestFingerprint?: string;
}

/** Input with every default filled in: what the workflow actually runs on. */
export interface NormalizedSubscriptionInput
  extends Required<
      Omit<
        SubscriptionInput,
        'billingAnchor' | 'billingWindow' | 'maxCycles' | 'actor' | 'requestFingerprint' | keyof TrialRequest
      >
    >,
    TrialRequest {
  billingAnchor?: string;
  billingWindow?: BillingWindow;
  maxCycles?: number;
  actor: Actor;
  requestFingerprint: string;
}

export class SubscriptionInputError extends Error {
  override readonly name = 'SubscriptionInputError' as const;
  readonly code = 'invalid_subscription_input' as const;
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const SUBSCRIPTION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_PRODUCT_NAME = 4000;
const MAX_CUSTOMER_ID = 256;
/**
 * LINE Pay allows 500; the reserve activity appends `&reservation=<orderId ≤ 100>&token=<22>` (≤ 140).
 */
const MAX_URL = 360;

function fail(field: string, message: string): never {
  throw new SubscriptionInputError(`${field}: ${message}`, field);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function checkUrl(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'is required');
  if (value.length > MAX_URL) fail(field, `must be at most ${MAX_URL} characters`);
  if (!/^https?:\/\/[^\s]+$/.test(value)) fail(field, 'must be an absolute http(s) URL');
  return value;
}

/** At most `max` code points of `text`: never splits a surrogate pair (an emoji) in half. */
export function truncateCodePoints(text: string, max: number): string {
  let count = 0;
  let end = 0;
  for (const ch of text) {
    if (count === max) return text.slice(0, end);
    count += 1;
    end += ch.length;
  }
  return text;
}

/** Checks limits handed in (config or a recorded input); a malformed set is refused, never loosened. */
export function checkBillingLimits(limits: unknown, field = 'limits'): BillingLimits {
  if (limits === null || typeof limits !== 'object') fail(field, 'must be an object');
  const l = limits as Partial<BillingLimits>;
  if (!Array.isArray(l.currencies) || l.currencies.length === 0)
    fail(`${field}.currencies`, 'must list at least one currency');
  for (const c of l.currencies) {
    if (!CURRENCIES.includes(c)) fail(`${field}.currencies`, `must be among ${CURRENCIES.join(', ')}`);
  }
  if (l.maxAmount === null || typeof l.maxAmount !== 'object') fail(`${field}.maxAmount`, 'is required');
  const maxAmount = {} as Record<Currency, number>;
  for (const c of CURRENCIES) {
    const v = (l.maxAmount as Record<string, unknown>)[c];
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > ABSOLUTE_MAX_AMOUNT) {
      fail(`${field}.maxAmount.${c}`, `must be an integer between 1 and ${ABSOLUTE_MAX_AMOUNT}`);
    }
    maxAmount[c] = v as number;
  }
  if (typeof l.allowShortIntervals !== 'boolean') fail(`${field}.allowShortIntervals`, 'must be a boolean');
  const share = l.planIncreaseReapprovalShare;
  if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 100) {
    fail(`${field}.planIncreaseReapprovalShare`, 'must be a number between 0 and 100');
  }
  const out: BillingLimits = {
    maxAmount,
    currencies: [...l.currencies],
    allowShortIntervals: l.allowShortIntervals,
    planIncreaseReapprovalShare: share,
  };
  for (const key of ['regKeyCheckLeadTime', 'regKeyCheckAfterPause'] as const) {
    if (l[key] !== undefined) {
      durationOrFail(`${field}.${key}`, l[key]);
      out[key] = l[key];
    }
  }
  return out;
}

/** Refuses an amount above the limit for its currency (create and plan changes alike). */
export function checkAmount(
  amount: number,
  currency: Currency,
  limits: BillingLimits,
  field = 'amount',
): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    fail(field, "must be a positive integer in the currency's unit");
  }
  const max = limits.maxAmount[currency];
  if (amount > max) fail(field, `must be at most ${max} ${currency}`);
}

export function isSubscriptionId(value: unknown): value is string {
  return typeof value === 'string' && SUBSCRIPTION_ID.test(value);
}

/**
 * Checks and normalizes a subscription request. Pure and deterministic: the workflow runs it again on
 * start, so an input that slipped past a client still fails fast with the same message.
 */
export function normalizeSubscriptionInput(
  raw: SubscriptionInput,
  limitsGiven?: BillingLimits,
): NormalizedSubscriptionInput {
  if (raw === null || typeof raw !== 'object') fail('input', 'must be an object');
  const limits = checkBillingLimits(limitsGiven ?? raw.limits ?? DEFAULT_BILLING_LIMITS);
  if (!isSubscriptionId(raw.subscriptionId))
    fail('subscriptionId', 'must be 1-64 characters of [A-Za-z0-9_-]');
  if (typeof raw.customerId !== 'string' || raw.customerId.trim().length === 0)
    fail('customerId', 'is required');
  if (raw.customerId.length > MAX_CUSTOMER_ID)
    fail('customerId', `must be at most ${MAX_CUSTOMER_ID} characters`);
  if (typeof raw.productName !== 'string' || raw.productName.trim().length === 0)
    fail('productName', 'is required');
  if (raw.productName.length > MAX_PRODUCT_NAME)
    fail('productName', `must be at most ${MAX_PRODUCT_NAME} characters`);
  if (!Number.isSafeInteger(raw.amount) || raw.amount <= 0) {
    fail('amount', "must be a positive integer in the currency's unit");
  }
  if (!CURRENCIES.includes(raw.currency)) fail('currency', `must be one of ${CURRENCIES.join(', ')}`);
  if (!limits.currencies.includes(raw.currency)) {
    fail('currency', `is not enabled for this LINE Pay channel (enabled: ${limits.currencies.join(', ')})`);
  }
  checkAmount(raw.amount, raw.currency, limits);
  if (typeof raw.interval !== 'string') fail('interval', 'is required');
  let interval: ReturnType<typeof parseInterval>;
  try {
    interval = parseInterval(raw.interval);
  } catch (err) {
    fail('interval', (err as Error).message);
  }
  if (
    !limits.allowShortIntervals &&
    interval.months === 0 &&
    interval.days === 0 &&
    interval.ms < ONE_DAY_MS
  ) {
    fail('interval', 'must be at least one day (shorter intervals only with LINEPAY_ENV=sandbox)');
  }
  const timeZone = raw.timeZone ?? DEFAULT_TIME_ZONE;
  if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone))
    fail('timeZone', 'must be an IANA time zone');
  if (raw.billingAnchor !== undefined) {
    if (typeof raw.billingAnchor !== 'string' || Number.isNaN(Date.parse(raw.billingAnchor))) {
      fail('billingAnchor', 'must be an ISO-8601 instant');
    }
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw.billingAnchor)) {
      fail(
        'billingAnchor',
        'must be an ISO-8601 instant with a UTC offset or Z, e.g. 2028-01-31T10:00:00+08:00',
      );
    }
  }
  if (raw.maxCycles !== undefined && (!Number.isSafeInteger(raw.maxCycles) || raw.maxCycles < 1)) {
    fail('maxCycles', 'must be a positive integer');
  }
  const dunningSchedule = raw.dunningSchedule ?? [...DEFAULT_DUNNING_SCHEDULE];
  if (!Array.isArray(dunningSchedule) || dunningSchedule.length > 10) {
    fail('dunningSchedule', 'must be a list of at most 10 ISO-8601 durations');
  }
  let previous = 0;
  for (const [i, d] of dunningSchedule.entries()) {
    const ms = durationOrFail(`dunningSchedule[${i}]`, d);
    if (ms <= previous) fail(`dunningSchedule[${i}]`, 'offsets must be positive and increasing');
    previous = ms;
  }
  const approvalTimeout = raw.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT;
  durationOrFail('approvalTimeout', approvalTimeout);
  const reapprovalTimeout = raw.reapprovalTimeout ?? DEFAULT_REAPPROVAL_TIMEOUT;
  durationOrFail('reapprovalTimeout', reapprovalTimeout);
  if (raw.redirectUrls === null || typeof raw.redirectUrls !== 'object') fail('redirectUrls', 'is required');
  const redirectUrls = {
    confirmUrl: checkUrl('redirectUrls.confirmUrl', raw.redirectUrls.confirmUrl),
    cancelUrl: checkUrl('redirectUrls.cancelUrl', raw.redirectUrls.cancelUrl),
  };
  const out: NormalizedSubscriptionInput = {
    subscriptionId: raw.subscriptionId,
    customerId: raw.customerId,
    productName: raw.productName,
    amount: raw.amount,
    currency: raw.currency,
    interval: raw.interval,
    timeZone,
    dunningSchedule,
    approvalTimeout,
    reapprovalTimeout,
    redirectUrls,
    actor: raw.actor ?? { kind: 'merchant' },
    limits,
    requestFingerprint: typeof raw.requestFingerprint === 'string' ? raw.requestFingerprint : '',
  };
  if (raw.billingAnchor !== undefined) out.billingAnchor = new Date(raw.billingAnchor).toISOString();
  if (raw.maxCycles !== undefined) out.maxCycles = raw.maxCycles;
  try {
    const terms = checkTrialRequest(raw, raw.billingAnchor);
    if (terms) Object.assign(out, terms);
  } catch (err) {
    if (err instanceof TrialInputError) throw new SubscriptionInputError(err.message, err.field);
    throw err;
  }
  if (raw.billingWindow !== undefined) {
    const w = raw.billingWindow;
    try {
      parseBillingWindow(w);
    } catch (err) {
      if (err instanceof BillingWindowError) fail('billingWindow', err.message);
      throw err;
    }
    if (interval.months === 0 && interval.days === 0 && interval.ms < ONE_DAY_MS)
      fail('billingWindow', 'needs an interval of a day or longer');
    out.billingWindow = { start: w.start, end: w.end };
  }
  return out;
}

function durationOrFail(field: string, value: unknown): number {
  if (typeof value !== 'string') fail(field, 'must be an ISO-8601 duration');
  try {
    const ms = parseDuration(value);
    if (ms <= 0) fail(field, 'must be positive');
    return ms;
  } catch (err) {
    if (err instanceof SubscriptionInputError) throw err;
    fail(field, (err as Error).message);
  }
}
