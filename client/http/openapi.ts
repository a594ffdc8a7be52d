import { z } from 'zod';
import { SUBSCRIPTION_STATUSES } from '../../workflows/messages.js';
import {
  cancelBody,
  changePlanBody,
  createSubscriptionBody,
  createSubscriptionResponse,
  errorResponse,
  oneOffChargeBody,
  pauseBody,
  planPreviewBody,
  reasonBody,
  refundBody,
} from './schemas.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (s: z.ZodType) => ({ 'application/json': { schema: schema(s) } });
const errorRef = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', content: errorRef }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (`validation`)',
  401: 'Missing or wrong bearer token',
  404: 'Unknown subscription',
  409: 'Conflict with the subscription id, or the workflow rejected the change (`rejected`)',
  413: 'Body too large',
  415: 'Body is not JSON',
  422: 'Refund refused: `refund_exceeds_remaining` (details.remaining), `charge_already_refunded`, `refund_window_passed`, `refund_not_allowed`; 404 with `charge_not_found` when the transactionId is not a charge of this subscription',
  500: 'Permanent failure on our side (`internal`, `details.reason`); retrying will not help',
  503: 'Temporal unavailable; retry',
};
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
};
const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

function action(summary: string, body: z.ZodType) {
  return {
    post: {
      summary,
      security: [{ bearer: [] }],
      parameters: [idParam],
      requestBody: { required: false, content: json(body) },
      responses: { 200: { description: 'Done' }, ...errors(400, 401, 404, 409, 503) },
    },
  };
}

const bearer = [{ bearer: [] }];
const query = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type },
});
const eventParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^evt_' } };
const jsonOk = (description: string) => ({ description, content: { 'application/json': { schema: {} } } });

/** The ledger routes (client/http/ledger-routes.ts); 503 when the ledger database is down. */
const LEDGER_PATHS = {
  '/subscriptions/{id}/charges': {
    get: {
      summary: 'Every charge of the subscription ever made, from the permanent ledger (oldest first)',
      security: bearer,
      parameters: [
        idParam,
        query('cursor', '`nextCursor` of the previous page'),
        query('limit', '1-500', 'integer'),
      ],
      responses: { 200: jsonOk('{ subscriptionId, charges, nextCursor }'), ...errors(400, 401, 503) },
    },
    post: {
      summary:
        "One-off charge on the customer's regKey (add-on, fee). Its orderId is derived from the requestId (or Idempotency-Key), so a retry never charges twice; sent by the subscription's main loop, never beside a cycle charge. Refused (409) without a live regKey",
      security: bearer,
      parameters: [
        idParam,
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Required unless the body has requestId',
          schema: { type: 'string' },
        },
      ],
      requestBody: { required: true, content: json(oneOffChargeBody) },
      responses: {
        201: jsonOk(
          'Charged: OneOffCharge { requestId, orderId, kind, amount, currency, productName, status, transactionId, … }',
        ),
        202: jsonOk(
          'Sent, outcome unknown: looked up by orderId; the state view shows it settle (status pending)',
        ),
        402: jsonOk(
          'Declined (status failed, returnCode): recorded as charge.failed; the subscription is not dunned',
        ),
        ...errors(400, 401, 404, 409, 503),
      },
    },
  },
  '/subscriptions/{id}/credits': {
    get: {
      summary:
        'Every movement of the credit balance (prorated downgrades credit it, cycle charges use it up), oldest first',
      security: bearer,
      parameters: [idParam],
      responses: { 200: jsonOk('{ subscriptionId, creditBalance, credits }'), ...errors(401, 503) },
    },
  },
  '/events': {
    get: {
      summary: 'The event log (webhook bodies), in ledger order',
      security: bearer,
      parameters: [
        query('subscriptionId', 'only this subscription'),
        query('after', 'an event id: events recorded after it'),
        query('limit', '1-500', 'integer'),
      ],
      responses: { 200: jsonOk('{ events, nextAfter }'), ...errors(400, 401, 503) },
    },
  },
  '/events/{id}/deliveries': {
    get: {
      summary:
        'Webhook deliveries of one event per endpoint: status (pending, delivered, failed) and attempts',
      security: bearer,
      parameters: [eventParam],
      responses: { 200: jsonOk('{ eventId, deliveries }'), ...errors(400, 401, 404, 503) },
    },
  },
  '/events/{id}/resend': {
    post: {
      summary: 'Queue the event again for every endpoint, with a fresh retry window',
      security: bearer,
      parameters: [eventParam],
      responses: { 202: jsonOk('{ eventId, queued }'), ...errors(400, 401, 404, 409, 503) },
    },
  },
  '/webhooks/status': {
    get: {
      summary: 'Outbox health: pending and failed deliveries, oldest pending',
      security: bearer,
      responses: { 200: jsonOk('{ pending, failed, oldestPendingAt }'), ...errors(401, 503) },
    },
  },
  '/reconciliation/mismatches': {
    get: {
      summary: 'Mismatches between the ledger and LINE Pay found by reconciliation runs',
      security: bearer,
      parameters: [query('runId', 'one run'), query('limit', '1-500', 'integer')],
      responses: { 200: jsonOk('{ mismatches }'), ...errors(400, 401, 503) },
    },
  },
};

let cached: Record<string, unknown> | undefined;

/** OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'linepay-subscriptions',
      version: '0.1.0',
      description:
        'Recurring billing on LINE Pay preapproved payments; one Temporal workflow per subscription.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: schema(errorResponse) },
    },
    paths: {
      ...LEDGER_PATHS,
      '/subscriptions': {
        post: {
          summary: 'Create a subscription (idempotent on subscriptionId)',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(createSubscriptionBody) },
          responses: {
            201: {
              description:
                'Created; send the customer to paymentUrl.web. `warnings` says what these terms meet at LINE Pay (a regKey expires after a long idle time)',
              content: json(createSubscriptionResponse),
            },
            200: {
              description: 'The same request again: same body',
              content: json(createSubscriptionResponse),
            },
            ...errors(400, 401, 409, 413, 415, 503),
          },
        },
        get: {
          summary: 'List subscriptions by search attributes',
          security: [{ bearer: [] }],
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: [...SUBSCRIPTION_STATUSES] } },
            { name: 'customerId', in: 'query', schema: { type: 'string' } },
            { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { 200: { description: 'Subscriptions, newest first' }, ...errors(400, 401, 503) },
        },
      },
      '/subscriptions/{id}': {
        get: {
          summary: 'Subscription state: status, cycle, charges, dunning, audit (regKey masked)',
          security: [{ bearer: [] }],
          parameters: [idParam],
          responses: { 200: { description: 'SubscriptionView' }, ...errors(401, 404, 503) },
        },
      },
      '/subscriptions/{id}/cancel': action('Cancel now or at period end', cancelBody),
      '/subscriptions/{id}/pause': action('Pause billing', pauseBody),
      '/subscriptions/{id}/resume': action('Resume billing', reasonBody),
      '/subscriptions/{id}/retry': action('Retry a past-due charge now', reasonBody),
      '/subscriptions/{id}/plan': {
        patch: {
          summary:
            'Change amount and/or product name from the next cycle; with prorate, charge (now), carry (next_cycle) or credit the prorated difference of the current period',
          security: [{ bearer: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: json(changePlanBody) },
          responses: { 200: { description: 'Scheduled' }, ...errors(400, 401, 404, 409, 503) },
        },
      },
      '/subscriptions/{id}/plan/preview': {
        post: {
          summary:
            'What a plan change would charge now, credit and bill next, from the same function the change runs; changes nothing. Pass its prorationDate to PATCH …/plan to be charged exactly that',
          security: [{ bearer: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: json(planPreviewBody) },
          responses: {
            200: {
              description:
                'PlanPreview: direction, prorate, currency, currentAmount, newAmount, effectiveCycle, effectiveAt, prorationDate, periodStart, periodEnd, remainingSeconds, periodSeconds, chargeNow, addedToNextCycle, credit, creditBalanceAfter, nextCycleAmount, needsConsent',
            },
            ...errors(400, 401, 404, 409, 503),
          },
        },
      },
      '/subscriptions/{id}/charges/{transactionId}/refund': {
        post: {
          summary:
            'Refund a charge of the subscription, fully (no amount) or partly. Idempotent by requestId or the Idempotency-Key header; an unknown LINE Pay outcome is settled by Payment Details before any resend',
          security: [{ bearer: [] }],
          parameters: [
            idParam,
            {
              name: 'transactionId',
              in: 'path',
              required: true,
              description: "The charge's LINE Pay transactionId (19 digits, as a string)",
              schema: { type: 'string', pattern: '^\\d{1,32}$' },
            },
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Required unless the body has requestId',
              schema: { type: 'string' },
            },
          ],
          requestBody: { required: true, content: json(refundBody) },
          responses: {
            200: {
              description:
                'Refunded: transactionId, refundTransactionId, orderId, cycle?, amount, currency, remaining, refundedAt, recovered',
            },
            ...errors(400, 401, 404, 409, 422, 503),
          },
        },
      },
      '/linepay/confirm': {
        get: {
          summary:
            'LINE Pay confirmUrl: the customer approved. The link is signed (reservation + token, set by the worker); LINE Pay appends transactionId and orderId',
          parameters: ['subscriptionId', 'reservation', 'token', 'transactionId', 'orderId'].map((name) => ({
            name,
            in: 'query',
            required: true,
            schema: { type: 'string' },
          })),
          responses: {
            200: html('Active'),
            202: html('Still confirming'),
            400: html(
              'Any refused callback: unsigned, forged, replayed, unknown or expired (one page for all)',
            ),
            409: html('LINE Pay did not complete the approval'),
            429: html('Rate limited (per client IP, per subscription)'),
          },
        },
      },
      '/linepay/cancel': {
        get: {
          summary: 'LINE Pay cancelUrl: the customer backed out (signed like the confirmUrl)',
          parameters: [
            ...['subscriptionId', 'reservation', 'token'].map((name) => ({
              name,
              in: 'query',
              required: true,
              schema: { type: 'string' },
            })),
            ...['transactionId', 'orderId'].map((name) => ({
              name,
              in: 'query',
              required: false,
              schema: { type: 'string' },
            })),
          ],
          responses: {
            200: html('Approval cancelled'),
            400: html('Any refused callback (one page for all)'),
            429: html('Rate limited'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'ok' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: Temporal reachable',
          responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
        },
      },
    },
  };
  return cached;
}
