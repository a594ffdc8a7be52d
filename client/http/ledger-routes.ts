import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { LedgerStore } from '../../ledger/ledger-store.js';
import { deliveryStats, listDeliveries, resendEvent } from '../../ledger/webhooks/outbox.js';
import { tokenMatches } from './auth.js';

export interface LedgerRoutesOptions {
  ledger: LedgerStore;
  /** Bearer tokens of the merchant API (any one of them). */
  apiTokens: readonly string[];
  /** Where unexpected errors go; the answer is a 503 either way (the ledger may be down). */
  onError?: (err: unknown) => void;
}

const subscriptionId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]');
const eventIdParam = z.string().regex(/^evt_[A-Za-z0-9_.-]{1,120}$/, 'must be an event id (evt_…)');
const limit = z.coerce.number().int().min(1).max(500).optional();

export const chargesQuery = z.strictObject({
  cursor: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
  limit,
});
export const eventsQuery = z.strictObject({
  subscriptionId: subscriptionId.optional(),
  after: eventIdParam.optional(),
  limit,
});
export const mismatchesQuery = z.strictObject({ runId: z.string().min(1).max(300).optional(), limit });

class LedgerHttpError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  throw new LedgerHttpError(
    400,
    'validation',
    field ? `${field}: ${issue?.message}` : (issue?.message ?? 'invalid'),
  );
}

function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

/**
 * The ledger's read side and webhook controls: every charge ever, the event log, deliveries and resend.
 * Mounted by `createApp` when the service has a ledger; same bearer tokens as `/subscriptions`.
 */
export function createLedgerRoutes(options: LedgerRoutesOptions): Hono {
  const app = new Hono();
  const { ledger } = options;
  const error = (c: Context, status: 400 | 401 | 404 | 409 | 503, code: string, message: string) =>
    c.json({ error: { code, message } }, status);

  app.onError((err, c) => {
    if (err instanceof LedgerHttpError) return error(c, err.status, err.code, err.message);
    (
      options.onError ??
      ((e: unknown) => console.error('http: ledger error', e instanceof Error ? e.message : e))
    )(err);
    return error(c, 503, 'unavailable', 'the ledger database is unavailable; retry');
  });

  const auth = async (c: Context, next: () => Promise<void>) => {
    const token = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    let ok = false;
    for (const expected of options.apiTokens) if (token && tokenMatches(token, expected)) ok = true;
    if (!ok) {
      c.header('WWW-Authenticate', 'Bearer realm="linepay-subscriptions"');
      return error(c, 401, 'unauthorized', 'missing or invalid bearer token');
    }
    await next();
  };
  app.use('/subscriptions/:id/charges', auth);
  app.use('/subscriptions/:id/credits', auth);
  app.use('/events', auth);
  app.use('/events/*', auth);
  app.use('/webhooks/*', auth);
  app.use('/reconciliation/*', auth);

  app.get('/subscriptions/:id/charges', async (c) => {
    const id = parse(subscriptionId, c.req.param('id'));
    const q = parse(chargesQuery, c.req.query());
    const page = await ledger.listCharges(id, defined({ cursor: q.cursor, limit: q.limit }));
    return c.json({ subscriptionId: id, ...page });
  });

  app.get('/subscriptions/:id/credits', async (c) => {
    const id = parse(subscriptionId, c.req.param('id'));
    const credits = await ledger.listCredits(id);
    return c.json({ subscriptionId: id, creditBalance: credits.at(-1)?.creditBalance ?? 0, credits });
  });

  app.get('/events', async (c) => {
    const q = parse(eventsQuery, c.req.query());
    const { events, nextAfter } = await ledger.listEvents(defined(q));
    return c.json({ events: events.map(({ position: _p, ...e }) => e), nextAfter });
  });

  app.get('/events/:id', async (c) => {
    const id = parse(eventIdParam, c.req.param('id'));
    const event = await ledger.getEvent(id);
    if (!event) throw new LedgerHttpError(404, 'not_found', `no event ${id}`);
    const { position: _p, ...rest } = event;
    return c.json(rest);
  });

  app.get('/events/:id/deliveries', async (c) => {
    const id = parse(eventIdParam, c.req.param('id'));
    if (!(await ledger.getEvent(id))) throw new LedgerHttpError(404, 'not_found', `no event ${id}`);
    return c.json({ eventId: id, deliveries: await listDeliveries(ledger.db, id) });
  });

  app.post('/events/:id/resend', async (c) => {
    const id = parse(eventIdParam, c.req.param('id'));
    if (!(await ledger.getEvent(id))) throw new LedgerHttpError(404, 'not_found', `no event ${id}`);
    const queued = await resendEvent(ledger.db, id);
    if (queued === 0) {
      throw new LedgerHttpError(
        409,
        'no_endpoint',
        'no webhook endpoint was configured when this event was recorded',
      );
    }
    return c.json({ eventId: id, queued }, 202);
  });

  app.get('/webhooks/status', async (c) => c.json(await deliveryStats(ledger.db)));

  app.get('/reconciliation/mismatches', async (c) => {
    const q = parse(mismatchesQuery, c.req.query());
    const items = await ledger.listDiscrepancies(
      defined({ runId: q.runId, limit: q.limit, type: 'reconciliation.mismatch' }),
    );
    return c.json({ mismatches: items });
  });

  return app;
}
