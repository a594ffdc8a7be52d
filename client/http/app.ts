import type { PayloadCodec } from '@temporalio/common';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { isSubscriptionError, type SubscriptionError } from '../errors.js';
import type { SubscriptionsClient } from '../subscriptions-client.js';
import { tokenMatches } from './auth.js';
import { createCodecRoutes } from './codec-routes.js';
import { buildOpenApiDocument } from './openapi.js';
import { type ResultPage, renderResultPage } from './pages.js';
import {
  cancelBody,
  cancelQuery,
  changePlanBody,
  confirmQuery,
  createSubscriptionBody,
  listQuery,
  pauseBody,
  reasonBody,
  subscriptionIdParam,
} from './schemas.js';

export interface AppDeps {
  subscriptions: SubscriptionsClient;
  /** Bearer token of the merchant routes. */
  apiToken: string;
  /** `/readyz`: true when Temporal answers. */
  isReady?: () => Promise<boolean>;
  /** Serve the codec server under `/codec` (for the Web UI). */
  codec?: { codec: PayloadCodec; authToken?: string; corsOrigins: readonly string[]; namespace?: string };
  /** JSON body cap in bytes (default 16 KiB). */
  maxBodyBytes?: number;
  /** Where unexpected (5xx) errors go; default console.error. Never receives request bodies. */
  onError?: (err: unknown, context: { method: string; path: string }) => void;
}

const STATUS_BY_CODE: Record<SubscriptionError['code'], ContentfulStatusCode> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  rejected: 409,
  unavailable: 503,
};

class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details && Object.keys(details).length > 0 ? { details } : {}) } };
}

function zodDetails(error: z.ZodError): { message: string; details: Record<string, unknown> } {
  const issues = error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
  const first = issues[0];
  const message = first
    ? first.path
      ? `${first.path}: ${first.message}`
      : first.message
    : 'invalid request';
  return { message, details: { field: first?.path ?? '', issues } };
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const { message, details } = zodDetails(result.error);
    throw new HttpError(400, 'validation', message, details);
  }
  return result.data;
}

/** Reads a JSON body; an empty body counts as `{}` (for routes whose fields are all optional). */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'validation', 'body is not valid JSON');
  }
}

/**
 * The merchant API, the LINE Pay redirect targets and the codec server, as one Hono app. Pure factory:
 * tests call `app.request()`; `server.ts` listens.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const subs = deps.subscriptions;
  const report = deps.onError ?? ((err: unknown) => console.error('http: unexpected error', err));

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(errorBody(err.code, err.message, err.details), err.status);
    if (isSubscriptionError(err)) {
      return c.json(errorBody(err.code, err.message, err.details), STATUS_BY_CODE[err.code]);
    }
    report(err, { method: c.req.method, path: c.req.path });
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = deps.isReady ? await deps.isReady().catch(() => false) : true;
    return c.json({ status: ready ? 'ready' : 'unavailable', temporal: ready }, ready ? 200 : 503);
  });
  app.get('/openapi.json', (c) => c.json(buildOpenApiDocument()));

  if (deps.codec) {
    const codecOptions: Parameters<typeof createCodecRoutes>[0] = {
      codec: deps.codec.codec,
      corsOrigins: deps.codec.corsOrigins,
    };
    if (deps.codec.authToken !== undefined) codecOptions.authToken = deps.codec.authToken;
    if (deps.codec.namespace !== undefined) codecOptions.namespace = deps.codec.namespace;
    app.route('/codec', createCodecRoutes(codecOptions));
  }

  // ---- merchant API (bearer token) ----------------------------------------------------------
  const api = new Hono();
  api.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!token || !tokenMatches(token, deps.apiToken)) {
      c.header('WWW-Authenticate', 'Bearer realm="linepay-subscriptions"');
      return c.json(errorBody('unauthorized', 'missing or invalid bearer token'), 401);
    }
    await next();
  });
  api.use(
    '*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? 16 * 1024,
      onError: (c) => c.json(errorBody('payload_too_large', 'request body too large'), 413),
    }),
  );

  api.post('/', async (c) => {
    const body = parse(createSubscriptionBody, await jsonBody(c));
    const result = await subs.createSubscription(stripUndefined(body));
    const { created, ...rest } = result;
    return c.json(rest, created ? 201 : 200);
  });

  api.get('/', async (c) => {
    const query = parse(listQuery, c.req.query());
    const items = await subs.listSubscriptions(stripUndefined(query));
    return c.json({ subscriptions: items });
  });

  const id = (c: Context) => parse(subscriptionIdParam, { id: c.req.param('id') }).id;

  api.get('/:id', async (c) => c.json(await subs.getSubscription(id(c))));

  api.post('/:id/cancel', async (c) => {
    const subscriptionId = id(c);
    const body = parse(cancelBody, await jsonBody(c));
    return c.json(
      await subs.cancel(subscriptionId, { actor: { kind: 'merchant' }, ...stripUndefined(body) }),
    );
  });
  api.post('/:id/pause', async (c) => {
    const subscriptionId = id(c);
    const body = parse(pauseBody, await jsonBody(c));
    return c.json(await subs.pause(subscriptionId, { actor: { kind: 'merchant' }, ...stripUndefined(body) }));
  });
  api.post('/:id/resume', async (c) => {
    const subscriptionId = id(c);
    const body = parse(reasonBody, await jsonBody(c));
    return c.json(
      await subs.resume(subscriptionId, { actor: { kind: 'merchant' }, ...stripUndefined(body) }),
    );
  });
  api.post('/:id/retry', async (c) => {
    const subscriptionId = id(c);
    const body = parse(reasonBody, await jsonBody(c));
    return c.json(
      await subs.retryNow(subscriptionId, { actor: { kind: 'merchant' }, ...stripUndefined(body) }),
    );
  });
  api.patch('/:id/plan', async (c) => {
    const subscriptionId = id(c);
    const body = parse(changePlanBody, await jsonBody(c));
    return c.json(
      await subs.changePlan(subscriptionId, { actor: { kind: 'merchant' }, ...stripUndefined(body) }),
    );
  });
  app.route('/subscriptions', api);

  // ---- LINE Pay redirect targets (no auth: they carry only ids the workflow verifies) ----------
  const page = (c: Context, status: ContentfulStatusCode, content: ResultPage) => {
    c.header('Cache-Control', 'no-store');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(renderResultPage(content), status);
  };

  app.get('/linepay/confirm', async (c) => {
    const q = confirmQuery.safeParse(c.req.query());
    if (!q.success) {
      return page(c, 400, {
        tone: 'error',
        status: 'invalid_callback',
        title: 'This link is not valid',
        message: 'The payment confirmation link is incomplete or malformed. No payment was made from it.',
      });
    }
    const { subscriptionId } = q.data;
    try {
      const result = await subs.confirmApproval(q.data);
      if (result.status === 'active') {
        const charge = result.charge;
        const paid = charge
          ? ` We charged ${charge.amount} ${charge.currency} for ${charge.productName}.`
          : '';
        const next = result.nextChargeAt ? ` Next charge: ${result.nextChargeAt}.` : '';
        return page(c, 200, {
          tone: 'active',
          status: 'active',
          subscriptionId,
          title: 'Your subscription is active',
          message: `Thank you! Your LINE Pay subscription is active.${paid}${next}`,
        });
      }
      if (result.status === 'pending_approval') {
        return page(c, 202, {
          tone: 'pending',
          status: result.status,
          subscriptionId,
          title: 'Still confirming your payment',
          message:
            result.message || 'LINE Pay has not finished confirming yet. Refresh this page in a moment.',
        });
      }
      return page(c, 409, {
        tone: 'error',
        status: result.status,
        subscriptionId,
        title: 'The subscription could not be started',
        message: result.message || `The subscription is ${result.status}.`,
      });
    } catch (err) {
      return callbackErrorPage(c, page, err, subscriptionId);
    }
  });

  app.get('/linepay/cancel', async (c) => {
    const q = cancelQuery.safeParse(c.req.query());
    if (!q.success) {
      return page(c, 400, {
        tone: 'error',
        status: 'invalid_callback',
        title: 'This link is not valid',
        message: 'The cancellation link is incomplete or malformed.',
      });
    }
    try {
      const result = await subs.cancelApproval(stripUndefined(q.data));
      return page(c, 200, {
        tone: 'canceled',
        status: result.status,
        subscriptionId: q.data.subscriptionId,
        title: 'Subscription not started',
        message: 'You cancelled on LINE Pay. Nothing was charged; you can start again from the shop.',
      });
    } catch (err) {
      return callbackErrorPage(c, page, err, q.data.subscriptionId);
    }
  });

  return app;
}

function callbackErrorPage(
  c: Context,
  page: (c: Context, status: ContentfulStatusCode, content: ResultPage) => Response,
  err: unknown,
  subscriptionId: string,
): Response {
  if (!isSubscriptionError(err)) throw err;
  const base = { tone: 'error' as const, subscriptionId };
  switch (err.code) {
    case 'not_found':
      return page(c, 404, {
        ...base,
        status: 'not_found',
        title: 'Subscription not found',
        message: 'We could not find this subscription. No payment was made from this link.',
      });
    case 'rejected':
    case 'validation': {
      const type = 'type' in err ? String(err.type) : err.code;
      const mismatch = type === 'ApprovalMismatch';
      return page(c, mismatch ? 400 : 409, {
        ...base,
        status: type,
        title: mismatch ? 'This link does not match your subscription' : 'This link can no longer be used',
        message: mismatch
          ? 'The payment details in this link do not match the subscription. Nothing was charged from it.'
          : `This subscription is not waiting for this approval any more (${err.message}). Nothing was changed.`,
      });
    }
    case 'conflict':
      return page(c, 409, {
        ...base,
        status: 'conflict',
        title: 'This link can no longer be used',
        message: err.message,
      });
    case 'unavailable':
      return page(c, 503, {
        ...base,
        status: 'unavailable',
        title: 'Please try again in a moment',
        message: 'We could not reach our billing service. Refresh this page; your approval is safe.',
      });
  }
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
