import { type Kysely, sql } from 'kysely';
import type { LedgerDatabase } from '../schema.js';

export interface DeliveryView {
  endpoint: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  firstAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** At most 1 KiB of the endpoint's last answer. */
  lastResponseBody: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  resends: number;
  history: {
    attempt: number;
    at: string;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
  }[];
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Every endpoint's delivery of one event, with its attempts (for `GET /events/:id/deliveries`). */
export async function listDeliveries(db: Kysely<LedgerDatabase>, eventId: string): Promise<DeliveryView[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('event_id', '=', eventId)
    .orderBy('id')
    .execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    endpoint: r.endpoint,
    status: r.status as DeliveryView['status'],
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    firstAttemptAt: iso(r.first_attempt_at),
    lastAttemptAt: iso(r.last_attempt_at),
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastResponseBody: r.last_response_body,
    deliveredAt: iso(r.delivered_at),
    failedAt: iso(r.failed_at),
    resends: r.resends,
    history: attempts
      .filter((a) => a.delivery_id === r.id)
      .map((a) => ({
        attempt: a.attempt,
        at: new Date(a.attempted_at).toISOString(),
        statusCode: a.status_code,
        error: a.error,
        durationMs: a.duration_ms,
      })),
  }));
}

/**
 * Queues the event again for every endpoint it was queued for, with a fresh retry window. Returns how
 * many deliveries were reset (0: the event was recorded with no endpoint configured).
 */
export async function resendEvent(db: Kysely<LedgerDatabase>, eventId: string): Promise<number> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({
      status: 'pending',
      attempts: 0,
      first_attempt_at: null,
      next_attempt_at: sql<Date>`now()`,
      lease_until: null,
      failed_at: null,
      resends: sql<number>`resends + 1`,
    })
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Outbox health: how many deliveries wait, how many were given up, and the oldest waiting one. */
export async function deliveryStats(db: Kysely<LedgerDatabase>): Promise<{
  pending: number;
  failed: number;
  oldestPendingAt: string | null;
}> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select([
      sql<string>`count(*) filter (where status = 'pending')`.as('pending'),
      sql<string>`count(*) filter (where status = 'failed')`.as('failed'),
      sql<Date | null>`min(created_at) filter (where status = 'pending')`.as('oldest'),
    ])
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), failed: Number(row.failed), oldestPendingAt: iso(row.oldest) };
}
