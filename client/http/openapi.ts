import { z } from 'zod';
import { SUBSCRIPTION_STATUSES } from '../../workflows/messages.js';
import {
  cancelBody,
  changePlanBody,
  createSubscriptionBody,
  createSubscriptionResponse,
  errorResponse,
  pauseBody,
  reasonBody,
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
      '/subscriptions': {
        post: {
          summary: 'Create a subscription (idempotent on subscriptionId)',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(createSubscriptionBody) },
          responses: {
            201: {
              description: 'Created; send the customer to paymentUrl.web',
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
          summary: 'Change amount and/or product name from the next cycle',
          security: [{ bearer: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: json(changePlanBody) },
          responses: { 200: { description: 'Scheduled' }, ...errors(400, 401, 404, 409, 503) },
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
