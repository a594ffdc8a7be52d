import { z } from 'zod';
import { SUBSCRIPTION_STATUSES } from '../../workflows/messages.js';
import { CURRENCIES } from '../../workflows/subscription-input.js';
import { TRIAL_VERIFICATIONS } from '../../workflows/trial.js';

/**
 * Request and response shapes of the HTTP service. Strict objects: an unknown field is a 400, not a
 * silently ignored typo. Business rules (interval syntax, time zones, limits) are checked once more by
 * `normalizeSubscriptionInput`, the same function the workflow runs.
 */
const subscriptionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]')
  .describe('Your idempotency key; generated when absent.');
const isoInstant = z.iso.datetime({ offset: true });
const reason = z.string().min(1).max(500);

export const createSubscriptionBody = z.strictObject({
  subscriptionId: subscriptionId.optional(),
  customerId: z
    .string()
    .min(1)
    .max(256)
    .describe("Your customer's opaque id (not PII: it is a search attribute)."),
  productName: z.string().min(1).max(4000),
  amount: z.number().int().positive().max(100_000_000).describe("Integer amount in the currency's unit."),
  currency: z.enum(CURRENCIES),
  interval: z.string().min(2).max(32).describe('ISO-8601 duration: P1M, P1Y, P1W, P1D, or PT30S for demos.'),
  billingAnchor: isoInstant.optional(),
  billingWindow: z
    .object({ start: z.string().regex(/^\d{2}:\d{2}$/), end: z.string().regex(/^\d{2}:\d{2}$/) })
    .strict()
    .optional(),
  timeZone: z.string().min(1).max(64).optional(),
  maxCycles: z.number().int().positive().max(10_000).optional(),
  trial: z
    .string()
    .min(2)
    .max(32)
    .optional()
    .describe(
      "Free trial from approval, ISO-8601 duration (P14D, P1M; at most a year). The approval charges nothing for the period; the first charge falls at the trial's end, where the calendar anchors. Not with trialEnd or billingAnchor.",
    ),
  trialEnd: isoInstant
    .optional()
    .describe(
      'Free trial until this instant (instead of trial); in the future. The first charge falls there.',
    ),
  trialWillEndNotice: z
    .string()
    .min(2)
    .max(32)
    .optional()
    .describe(
      'How long before the trial ends `subscription.trial_will_end` goes out (ISO-8601, default P3D).',
    ),
  trialVerification: z
    .enum(TRIAL_VERIFICATIONS)
    .optional()
    .describe(
      'How the approval registers the regKey without charging: refund_minimum (default: 1 unit captured and refunded at once) or void_authorization (capture=false, then Void; needs capture separation on the LINE Pay channel).',
    ),
});

export const cancelBody = z.strictObject({
  atPeriodEnd: z.boolean().optional(),
  reason: reason.optional(),
  refund: z
    .enum(['none', 'last', 'prorated'])
    .optional()
    .describe(
      "With a cancel now: refund the last period's charge, its unused share (rounded down), or nothing.",
    ),
});
export const pauseBody = z.strictObject({ resumeAt: isoInstant.optional(), reason: reason.optional() });
export const reasonBody = z.strictObject({ reason: reason.optional() });
const prorate = z
  .enum(['none', 'now', 'next_cycle'])
  .describe(
    'none: new amount from the next cycle. now: an upgrade charges the prorated difference at once. next_cycle: it is added to the next charge. A downgrade with now or next_cycle credits the prorated difference.',
  );
const prorationDate = z
  .string()
  .datetime({ offset: true })
  .describe(
    'The instant a preview used (at most 1 hour old): the change then prorates exactly as previewed.',
  );

export const changePlanBody = z
  .strictObject({
    amount: z.number().int().positive().max(100_000_000).optional(),
    productName: z.string().min(1).max(4000).optional(),
    reason: reason.optional(),
    prorate: prorate.optional(),
    prorationDate: prorationDate.optional(),
  })
  .refine((b) => b.amount !== undefined || b.productName !== undefined, {
    message: 'give amount and/or productName',
    path: ['amount'],
  });

export const subscriptionIdParam = z.strictObject({ id: subscriptionId });

export const transactionIdParam = z.strictObject({
  transactionId: z.string().regex(/^\d{1,32}$/, "must be the charge's LINE Pay transactionId (digits)"),
});
export const refundBody = z.strictObject({
  amount: z
    .number()
    .int()
    .positive()
    .max(100_000_000)
    .optional()
    .describe("Integer amount in the currency's unit; absent: everything left to refund."),
  reason: reason.describe('Why; kept in the audit trail and the charge.refunded event.'),
  requestId: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 visible ASCII characters')
    .optional()
    .describe('Idempotency key, or send the Idempotency-Key header: the same key never refunds twice.'),
});

export const listQuery = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
  customerId: z.string().min(1).max(256).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
});

export const paymentUrl = z.object({ web: z.url(), app: z.string() });
export const createSubscriptionResponse = z.object({
  subscriptionId: z.string(),
  status: z.enum(SUBSCRIPTION_STATUSES),
  paymentUrl: paymentUrl.optional(),
  expiresAt: isoInstant.optional(),
  /** E.g. LINE Pay expires a regKey after a long idle time (about 180 days, unconfirmed). */
  warnings: z.array(z.string()),
});
export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** Temporal's Payloads as proto3 JSON: metadata values and data are base64. */
export const codecBody = z.strictObject({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), z.base64()).nullish(),
        data: z.base64().nullish(),
      }),
    )
    .max(10_000),
});

export const planPreviewBody = z
  .strictObject({
    amount: z.number().int().positive().max(100_000_000).optional(),
    productName: z.string().min(1).max(4000).optional(),
    prorate: prorate.optional(),
    prorationDate: prorationDate.optional(),
  })
  .refine((b) => b.amount !== undefined || b.productName !== undefined, {
    message: 'give amount and/or productName',
    path: ['amount'],
  });

export const oneOffChargeBody = z.strictObject({
  amount: z
    .number()
    .int()
    .positive()
    .max(100_000_000)
    .describe("Integer amount in the currency's unit, within the plan's per-currency limit."),
  productName: z.string().min(1).max(4000).describe('Shown to the customer in LINE.'),
  reason: reason.optional(),
  requestId: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 visible ASCII characters')
    .optional()
    .describe('Idempotency key, or send the Idempotency-Key header: the orderId is derived from it.'),
});
