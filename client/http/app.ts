import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { rateLimiter } from 'hono-rate-limiter';
import type { z } from 'zod';
import { RESERVATION_PARAM, TOKEN_PARAM, verifyCallback } from '../../activities/callback-link.js';
import type { LedgerStore } from '../../ledger/ledger-store.js';
import { isSubscriptionError, type SubscriptionError, ValidationError } from '../errors.js';
import type { SubscriptionsClient } from '../subscriptions-client.js';
import { anyTokenMatches } from './auth.js';
import { securityHeaders } from './headers.js';
import { createLedgerRoutes } from './ledger-routes.js';
import { buildOpenApiDocument } from './openapi.js';
import { type ResultPage, renderResultPage } from './pages.js';
import {
  cancelBody,
  changePlanBody,
  createSubscriptionBody,
  listQuery,
  oneOffChargeBody,
  pauseBody,
  planPreviewBody,
  reasonBody,
  refundBody,
  subscriptionIdParam,
  transactionIdParam,
} from './schemas.js';

export interface AppDeps {
  subscriptions: SubscriptionsClient;
  /** Bearer token(s) of the merchant routes; several while one is rotated out. */
  apiToken: string | readonly string[];
  /** Verify the callback links' tokens (CALLBACK_SIGNING_KEY, current first). */
  callbackSigningKeys: readonly Uint8Array[];
  /** `PUBLIC_BASE_URL`: HSTS is sent when it is https. */
  publicBaseUrl?: string;
  /** `/readyz`: true when Temporal answers. */
  isReady?: () => Promise<boolean>;
  /** JSON body cap in bytes (default 16 KiB). */
  maxBodyBytes?: number;
  /** Callbacks per window (default 60 s): per client IP, and per subscription once the token checked out. */
  callbackRateLimit?: { perIp?: number; perSubscription?: number; windowMs?: number };
  /** The caller's IP (rate limits, log); default the socket address. See `clientIpFromHeader`. */
  clientIp?: (c: Context) => string;
  /** Where unexpected (5xx) errors go; default console.error. Never receives request bodies. */
  onError?: (err: unknown, context: { method: string; path: string }) => void;
  /** Security-relevant events (refused callbacks and why); default a JSON line on stderr. */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** The permanent ledger: serves `/subscriptions/:id/charges`, `/events…` (client/http/ledger-routes.ts). */
  ledger?: LedgerStore;
}

const STATUS_BY_CODE: Record<SubscriptionError['code'], ContentfulStatusCode> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  rejected: 409,
  unavailable: 503,
  internal: 500,
  refund_exceeds_remaining: 422,
  charge_already_refunded: 422,
  charge_not_found: 404,
  refund_window_passed: 422,
  refund_not_allowed: 422,
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

/** Where a subscription's full history lives (ids are [A-Za-z0-9_-], so no escaping). */
export function subscriptionLinks(subscriptionId: string): { charges: string; events: string } {
  return {
    charges: `/subscriptions/${subscriptionId}/charges`,
    events: `/events?subscriptionId=${subscriptionId}`,
  };
}

/**
 * The merchant API and the LINE Pay redirect targets, as one Hono app (the codec server is
 * `createCodecApp`, on its own port). Pure factory:
 * tests call `app.request()`; `server.ts` listens.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const subs = deps.subscriptions;
  const report = deps.onError ?? ((err: unknown) => console.error('http: unexpected error', err));
  if (deps.callbackSigningKeys.length === 0) throw new Error('createApp needs a callback signing key');
  const apiTokens = typeof deps.apiToken === 'string' ? [deps.apiToken] : [...deps.apiToken];
  if (apiTokens.length === 0) throw new Error('createApp needs an API token');

  app.use('*', securityHeaders(deps.publicBaseUrl));
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(errorBody(err.code, err.message, err.details), err.status);
    if (isSubscriptionError(err)) {
      // The message is ours (fixed text); what Temporal said is the cause, for the log only.
      if (err.code === 'internal' || err.code === 'unavailable') {
        report(err.cause ?? err, { method: c.req.method, path: c.req.path });
      }
      return c.json(errorBody(err.code, err.message, err.details), STATUS_BY_CODE[err.code]);
    }
    report(err, { method: c.req.method, path: c.req.path });
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  app.notFound((c) => {
    const path = c.req.path.length > 40 ? `${c.req.path.slice(0, 40)}…` : c.req.path;
    return c.json(errorBody('not_found', `no route ${c.req.method.slice(0, 10)} ${path}`), 404);
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = deps.isReady ? await deps.isReady().catch(() => false) : true;
    return c.json({ status: ready ? 'ready' : 'unavailable', temporal: ready }, ready ? 200 : 503);
  });
  app.get('/openapi.json', (c) => c.json(buildOpenApiDocument()));

  // ---- merchant API (bearer token) ----------------------------------------------------------
  const api = new Hono();
  api.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!token || !anyTokenMatches(token, apiTokens)) {
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
  /** `Idempotency-Key`: a retried lifecycle call with the same key is applied once. */
  const requestId = (c: Context): { requestId?: string } => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return {};
    if (!/^[\x21-\x7e]{1,200}$/.test(key))
      throw new ValidationError('Idempotency-Key must be 1-200 visible ASCII characters', 'Idempotency-Key');
    return { requestId: key };
  };

  // The workflow keeps the recent charges; the ledger has every one, and every event.
  api.get('/:id', async (c) => {
    const subscriptionId = id(c);
    const view = await subs.getSubscription(subscriptionId);
    return c.json({ ...view, links: subscriptionLinks(subscriptionId) });
  });

  api.post('/:id/cancel', async (c) => {
    const subscriptionId = id(c);
    const body = parse(cancelBody, await jsonBody(c));
    return c.json(
      await subs.cancel(subscriptionId, {
        actor: { kind: 'merchant' },
        ...requestId(c),
        ...stripUndefined(body),
      }),
    );
  });
  api.post('/:id/pause', async (c) => {
    const subscriptionId = id(c);
    const body = parse(pauseBody, await jsonBody(c));
    return c.json(
      await subs.pause(subscriptionId, {
        actor: { kind: 'merchant' },
        ...requestId(c),
        ...stripUndefined(body),
      }),
    );
  });
  api.post('/:id/resume', async (c) => {
    const subscriptionId = id(c);
    const body = parse(reasonBody, await jsonBody(c));
    return c.json(
      await subs.resume(subscriptionId, {
        actor: { kind: 'merchant' },
        ...requestId(c),
        ...stripUndefined(body),
      }),
    );
  });
  api.post('/:id/retry', async (c) => {
    const subscriptionId = id(c);
    const body = parse(reasonBody, await jsonBody(c));
    return c.json(
      await subs.retryNow(subscriptionId, {
        actor: { kind: 'merchant' },
        ...requestId(c),
        ...stripUndefined(body),
      }),
    );
  });
  api.patch('/:id/plan', async (c) => {
    const subscriptionId = id(c);
    const body = parse(changePlanBody, await jsonBody(c));
    return c.json(
      await subs.changePlan(subscriptionId, {
        actor: { kind: 'merchant' },
        ...requestId(c),
        ...stripUndefined(body),
      }),
    );
  });
  api.post('/:id/plan/preview', async (c) => {
    const subscriptionId = id(c);
    const body = parse(planPreviewBody, await jsonBody(c));
    return c.json(await subs.previewPlanChange(subscriptionId, stripUndefined(body)));
  });
  api.post('/:id/charges', async (c) => {
    const subscriptionId = id(c);
    const { requestId: inBody, ...body } = parse(oneOffChargeBody, await jsonBody(c));
    const key = requestId(c).requestId ?? inBody;
    if (key === undefined)
      throw new ValidationError('requestId: give an Idempotency-Key header or requestId', 'requestId');
    const charge = await subs.chargeOneOff(subscriptionId, {
      actor: { kind: 'merchant' },
      requestId: key,
      ...stripUndefined(body),
    });
    // 201 once charged, 202 while its outcome is being looked up, 402 for a decline.
    return c.json(charge, charge.status === 'succeeded' ? 201 : charge.status === 'pending' ? 202 : 402);
  });
  api.post('/:id/charges/:transactionId/refund', async (c) => {
    const subscriptionId = id(c);
    const { transactionId } = parse(transactionIdParam, { transactionId: c.req.param('transactionId') });
    const { requestId: inBody, ...body } = parse(refundBody, await jsonBody(c));
    const key = requestId(c).requestId ?? inBody;
    if (key === undefined)
      throw new ValidationError('requestId: give an Idempotency-Key header or requestId', 'requestId');
    return c.json(
      await subs.refundCharge(subscriptionId, {
        actor: { kind: 'merchant' },
        requestId: key,
        transactionId,
        ...stripUndefined(body),
      }),
    );
  });
  app.route('/subscriptions', api);
  if (deps.ledger) {
    const tokens = typeof deps.apiToken === 'string' ? [deps.apiToken] : [...deps.apiToken];
    app.route('/', createLedgerRoutes({ ledger: deps.ledger, apiTokens: tokens }));
  }

  // ---- LINE Pay redirect targets ------------------------------------------------------------
  // Open routes, so they are screened before anything reaches Temporal: per-IP rate limit, the signed
  // token, the ids LINE Pay appends, then a per-subscription rate limit. Every failure gets the same
  // status and page; the reason goes to the log.
  const log =
    deps.log ??
    ((event: string, fields: Record<string, unknown>) => console.warn(JSON.stringify({ event, ...fields })));
  const clientIp = deps.clientIp ?? defaultClientIp;
  const limits = { perIp: 30, perSubscription: 10, windowMs: 60_000, ...deps.callbackRateLimit };
  const page = (c: Context, status: ContentfulStatusCode, content: ResultPage) => {
    c.header('Cache-Control', 'no-store');
    return c.html(renderResultPage(content), status);
  };
  const refuse = (c: Context, route: string, reason: string, extra: Record<string, unknown> = {}) => {
    log('callback_refused', { route, reason, ip: clientIp(c), ...extra });
    return page(c, CALLBACK_FAILURE_STATUS, CALLBACK_FAILURE_PAGE);
  };
  const tooMany = (c: Context) => {
    log('callback_rate_limited', { route: c.req.path, ip: clientIp(c) });
    return page(c, 429, CALLBACK_FAILURE_PAGE);
  };
  const perIp = rateLimiter<CallbackEnv>({
    windowMs: limits.windowMs,
    limit: limits.perIp,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `ip:${clientIp(c)}`,
    handler: tooMany,
  });
  const perSubscription = rateLimiter<CallbackEnv>({
    windowMs: limits.windowMs,
    limit: limits.perSubscription,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `sub:${c.get('callback').subscriptionId}`,
    handler: tooMany,
  });
  const screen =
    (route: 'confirm' | 'cancel'): MiddlewareHandler<CallbackEnv> =>
    async (c, next) => {
      const result = screenCallback(route, c.req.queries(), deps.callbackSigningKeys);
      if (!result.ok)
        return refuse(
          c,
          route,
          result.reason,
          result.subscriptionId ? { subscriptionId: result.subscriptionId } : {},
        );
      c.set('callback', result.callback);
      await next();
    };

  const callbacks = new Hono<CallbackEnv>();
  callbacks.get('/confirm', perIp, screen('confirm'), perSubscription, async (c) => {
    const cb = c.get('callback');
    const { subscriptionId } = cb;
    let result: Awaited<ReturnType<SubscriptionsClient['confirmApproval']>>;
    try {
      result = await subs.confirmApproval({
        subscriptionId,
        transactionId: cb.transactionId!,
        orderId: cb.orderId,
      });
    } catch (err) {
      return refuse(c, 'confirm', 'workflow_refused', { subscriptionId, ...errorFacts(err) });
    }
    if (result.status === 'active') {
      const charge = result.charge;
      const paid = charge ? ` We charged ${charge.amount} ${charge.currency} for ${charge.productName}.` : '';
      const next = result.nextChargeAt ? ` Next charge: ${result.nextChargeAt}.` : '';
      return page(c, 200, {
        tone: 'active',
        status: 'active',
        subscriptionId,
        title: 'Your subscription is active',
        message: `Thank you! Your LINE Pay subscription is active.${paid}${next}`,
      });
    }
    if (result.status === 'trialing') {
      const next = result.nextChargeAt
        ? ` Your free trial runs until ${result.nextChargeAt}, the first charge.`
        : '';
      return page(c, 200, {
        tone: 'active',
        status: 'trialing',
        subscriptionId,
        title: 'Your free trial has started',
        message: `Thank you! Your LINE Pay subscription is set up and nothing was charged for now.${next}`,
      });
    }
    if (result.status === 'pending_approval' || result.status === 'reapproval_required') {
      return page(c, 202, {
        tone: 'pending',
        status: result.status,
        subscriptionId,
        title: 'Still confirming your payment',
        message: 'LINE Pay has not finished confirming yet. Refresh this page in a moment.',
      });
    }
    // The workflow's message may quote LINE Pay: it goes to the log, the page stays generic.
    log('callback_outcome', {
      route: 'confirm',
      subscriptionId,
      status: result.status,
      message: result.message,
    });
    return page(c, 409, {
      tone: 'error',
      status: result.status,
      subscriptionId,
      title: 'The subscription could not be started',
      message:
        'LINE Pay did not complete the approval. Nothing was charged; please start again from the shop.',
    });
  });

  callbacks.get('/cancel', perIp, screen('cancel'), perSubscription, async (c) => {
    const cb = c.get('callback');
    try {
      const result = await subs.cancelApproval({
        subscriptionId: cb.subscriptionId,
        orderId: cb.orderId,
        ...(cb.transactionId !== undefined ? { transactionId: cb.transactionId } : {}),
      });
      return page(c, 200, {
        tone: 'canceled',
        status: result.status,
        subscriptionId: cb.subscriptionId,
        title: 'Subscription not started',
        message: 'You cancelled on LINE Pay. Nothing was charged; you can start again from the shop.',
      });
    } catch (err) {
      return refuse(c, 'cancel', 'workflow_refused', {
        subscriptionId: cb.subscriptionId,
        ...errorFacts(err),
      });
    }
  });
  app.route('/linepay', callbacks);

  return app;
}

/** One status and one page for every refused callback: forged, replayed, unknown or expired alike. */
export const CALLBACK_FAILURE_STATUS = 400;
const CALLBACK_FAILURE_PAGE: ResultPage = {
  tone: 'error',
  status: 'invalid_callback',
  title: 'This link cannot be used',
  message:
    'Nothing was charged from this link. If you have just approved on LINE Pay, return to the shop: it shows whether your subscription started.',
};

interface ScreenedCallback {
  subscriptionId: string;
  /** The signed reservation orderId. */
  orderId: string;
  transactionId?: string;
}
type CallbackEnv = { Variables: { callback: ScreenedCallback } };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ORDER_ID = /^[A-Za-z0-9_-]{1,100}$/;
const TRANSACTION_ID = /^\d{1,20}$/;

/**
 * Checks a callback's query without Temporal: every parameter at most once, a valid token over
 * (subscriptionId, reservation), and the ids LINE Pay appends consistent with it. The confirm needs
 * LINE Pay's transactionId and orderId; the cancel takes them when LINE Pay sends them.
 */
export function screenCallback(
  route: 'confirm' | 'cancel',
  query: Record<string, string[]>,
  keys: readonly Uint8Array[],
): { ok: true; callback: ScreenedCallback } | { ok: false; reason: string; subscriptionId?: string } {
  for (const values of Object.values(query)) {
    if (values.length !== 1) return { ok: false, reason: 'repeated_parameter' };
  }
  const one = (name: string) => query[name]?.[0];
  const subscriptionId = one('subscriptionId');
  if (subscriptionId === undefined || !ID.test(subscriptionId))
    return { ok: false, reason: 'bad_subscription_id' };
  const reservation = one(RESERVATION_PARAM);
  const token = one(TOKEN_PARAM);
  if (reservation === undefined || token === undefined)
    return { ok: false, reason: 'unsigned', subscriptionId };
  if (!ORDER_ID.test(reservation) || !verifyCallback(keys, { subscriptionId, orderId: reservation }, token)) {
    return { ok: false, reason: 'bad_token', subscriptionId };
  }
  const transactionId = one('transactionId');
  const orderId = one('orderId');
  if (transactionId !== undefined && !TRANSACTION_ID.test(transactionId)) {
    return { ok: false, reason: 'bad_transaction_id', subscriptionId };
  }
  if (orderId !== undefined && orderId !== reservation)
    return { ok: false, reason: 'order_mismatch', subscriptionId };
  if (route === 'confirm' && (transactionId === undefined || orderId === undefined)) {
    return { ok: false, reason: 'missing_linepay_ids', subscriptionId };
  }
  const callback: ScreenedCallback = { subscriptionId, orderId: reservation };
  if (transactionId !== undefined) callback.transactionId = transactionId;
  return { ok: true, callback };
}

/** What the log may say about a refused call: our own codes and messages, never a raw Temporal error. */
function errorFacts(err: unknown): Record<string, unknown> {
  if (isSubscriptionError(err)) {
    return {
      code: err.code,
      message: err.message,
      ...err.details,
      ...(err.cause ? { cause: String(err.cause) } : {}),
    };
  }
  return { code: 'unexpected', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

function defaultClientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The client IP from a proxy header: its last value, the one our own proxy appended. */
export function clientIpFromHeader(header: string): (c: Context) => string {
  return (c) => {
    const values =
      c.req
        .header(header)
        ?.split(',')
        .map((v) => v.trim())
        .filter(Boolean) ?? [];
    return values.at(-1) ?? defaultClientIp(c);
  };
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
