import { type Kysely, type Selectable, sql } from 'kysely';
import {
  type ChargeEventData,
  SUBSCRIPTION_EVENT_TYPES,
  type SubscriptionEvent,
} from '../workflows/subscription-event.js';
import type { LedgerChargesTable, LedgerDatabase, LedgerEventsTable } from './schema.js';

/** An event the ledger refuses to store; retrying cannot help, so the activity fails it non-retryably. */
export class InvalidLedgerEventError extends Error {
  override readonly name = 'InvalidLedgerEventError' as const;
  readonly code = 'invalid_event' as const;
}

export const CHARGE_EVENT_TYPES = ['charge.succeeded', 'charge.failed', 'charge.refunded'] as const;
const CHARGE_STATUSES = ['succeeded', 'failed', 'refunded'];

/** The webhook body: what merchants receive and what `GET /events` lists. */
export interface EventBody {
  id: string;
  type: string;
  subscriptionId: string;
  sequence: number;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface StoredEvent extends EventBody {
  instanceId: string;
  /** Ledger-wide insertion order, the `after` cursor of `GET /events`. */
  position: string;
  recordedAt: string;
}

export interface ChargeRecord {
  eventId: string;
  subscriptionId: string;
  instanceId: string;
  cycle: number | null;
  orderId: string;
  transactionId: string | null;
  originalTransactionId: string | null;
  amount: number;
  currency: string;
  kind: string;
  status: string;
  returnCode: string | null;
  message: string | null;
  occurredAt: string;
  /** Credit balance the charge used; present when non-zero. */
  creditApplied?: number;
  /** A one-off's request id. */
  requestId?: string;
}

/** One movement of a subscription's credit balance (`subscription.credit_changed`). */
export interface CreditRecord {
  eventId: string;
  subscriptionId: string;
  instanceId: string;
  cycle: number | null;
  orderId: string | null;
  /** Positive: credit granted; negative: used by a cycle or a proration carried. */
  delta: number;
  creditBalance: number;
  prorationDue: number;
  currency: string;
  reason: string;
  occurredAt: string;
}

export interface RecordResult {
  /** Events this call stored (0 when every event was already there). */
  stored: number;
  /** Charge rows a constraint refused (a second success for a cycle or orderId): kept as discrepancies. */
  refusedCharges: string[];
}

export function eventBody(e: Pick<StoredEvent, keyof EventBody>): EventBody {
  return {
    id: e.id,
    type: e.type,
    subscriptionId: e.subscriptionId,
    sequence: e.sequence,
    occurredAt: e.occurredAt,
    data: e.data,
  };
}

function check(condition: boolean, event: { id?: unknown }, problem: string): asserts condition {
  if (!condition) throw new InvalidLedgerEventError(`event ${String(event.id ?? '?')}: ${problem}`);
}

function validate(e: SubscriptionEvent): void {
  check(typeof e.id === 'string' && /^evt_[A-Za-z0-9_.-]{1,120}$/.test(e.id), e, 'id must be evt_…');
  check((SUBSCRIPTION_EVENT_TYPES as readonly string[]).includes(e.type), e, `unknown type ${e.type}`);
  check(typeof e.subscriptionId === 'string' && e.subscriptionId.length > 0, e, 'subscriptionId is required');
  check(typeof e.instanceId === 'string' && e.instanceId.length > 0, e, 'instanceId is required');
  check(Number.isSafeInteger(e.sequence) && e.sequence >= 1, e, 'sequence must be an integer ≥ 1');
  check(!Number.isNaN(Date.parse(e.occurredAt)), e, 'occurredAt must be an ISO instant');
  check(typeof e.data === 'object' && e.data !== null, e, 'data must be an object');
  if ((CHARGE_EVENT_TYPES as readonly string[]).includes(e.type)) {
    const d = e.data as Partial<ChargeEventData>;
    check(typeof d.orderId === 'string' && d.orderId.length > 0, e, 'data.orderId is required');
    check(Number.isSafeInteger(d.amount) && (d.amount ?? -1) >= 0, e, 'data.amount must be an integer');
    check(typeof d.currency === 'string', e, 'data.currency is required');
    check(
      d.transactionId === null || typeof d.transactionId === 'string',
      e,
      'data.transactionId must be a string',
    );
    check(typeof d.status === 'string' && CHARGE_STATUSES.includes(d.status), e, 'data.status is invalid');
    check(d.cycle === null || Number.isSafeInteger(d.cycle), e, 'data.cycle must be an integer or null');
  }
  if (e.type === 'subscription.credit_changed') {
    const d = e.data as Record<string, unknown>;
    check(Number.isSafeInteger(d.delta), e, 'data.delta must be an integer');
    check(
      Number.isSafeInteger(d.creditBalance) && (d.creditBalance as number) >= 0,
      e,
      'data.creditBalance must be an integer ≥ 0',
    );
    check(
      Number.isSafeInteger(d.prorationDue) && (d.prorationDue as number) >= 0,
      e,
      'data.prorationDue must be an integer ≥ 0',
    );
    check(typeof d.currency === 'string', e, 'data.currency is required');
  }
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** The permanent record of events and charges, and the webhook outbox they feed. */
export class LedgerStore {
  constructor(
    readonly db: Kysely<LedgerDatabase>,
    /** Endpoints each newly stored event is queued for. */
    readonly webhookUrls: readonly string[] = [],
  ) {}

  /**
   * Stores each event once by id, its charge row, and one pending delivery per endpoint, in one
   * transaction: a retry after a crash finds what committed and adds only what is missing.
   */
  async recordEvents(events: readonly SubscriptionEvent[]): Promise<RecordResult> {
    for (const e of events) validate(e);
    const sorted = [...events].sort((a, b) =>
      a.instanceId === b.instanceId ? a.sequence - b.sequence : a.instanceId < b.instanceId ? -1 : 1,
    );
    const result: RecordResult = { stored: 0, refusedCharges: [] };
    if (sorted.length === 0) return result;
    await this.db.transaction().execute(async (tx) => {
      for (const e of sorted) {
        const inserted = await tx
          .insertInto('ledger_events')
          .values({
            id: e.id,
            type: e.type,
            subscription_id: e.subscriptionId,
            instance_id: e.instanceId,
            sequence: e.sequence,
            occurred_at: e.occurredAt,
            data: JSON.stringify(e.data),
          })
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) {
          // Same id again (a retry): fine. Another event holding this (instance, sequence) is a bug upstream.
          const existing = await tx
            .selectFrom('ledger_events')
            .select(['id'])
            .where('instance_id', '=', e.instanceId)
            .where('sequence', '=', e.sequence)
            .executeTakeFirst();
          if (existing && existing.id !== e.id) {
            throw new InvalidLedgerEventError(
              `event ${e.id}: sequence ${e.sequence} of instance ${e.instanceId} is already ${existing.id}`,
            );
          }
          continue;
        }
        result.stored++;
        if ((CHARGE_EVENT_TYPES as readonly string[]).includes(e.type)) {
          const refused = await this.#insertCharge(tx, e);
          if (refused) result.refusedCharges.push(e.id);
        }
        if (e.type === 'subscription.credit_changed') await this.#insertCredit(tx, e);
        if (this.webhookUrls.length > 0) {
          await tx
            .insertInto('webhook_deliveries')
            .values(
              this.webhookUrls.map((endpoint) => ({
                event_id: e.id,
                endpoint,
                subscription_id: e.subscriptionId,
                instance_id: e.instanceId,
                sequence: e.sequence,
                next_attempt_at: sql<Date>`now()`,
              })),
            )
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
      }
    });
    return result;
  }

  /** Inserts the charge row; a unique constraint that refuses it leaves a discrepancy instead. */
  async #insertCharge(tx: Kysely<LedgerDatabase>, e: SubscriptionEvent): Promise<boolean> {
    const d = e.data as unknown as ChargeEventData;
    // A refund row is keyed by its own refundTransactionId; the charge's id is the original.
    const refundId = typeof d.refundTransactionId === 'string' ? d.refundTransactionId : undefined;
    const row = await tx
      .insertInto('ledger_charges')
      .values({
        event_id: e.id,
        subscription_id: e.subscriptionId,
        instance_id: e.instanceId,
        cycle: d.cycle,
        order_id: d.orderId,
        transaction_id: refundId ?? d.transactionId,
        original_transaction_id: refundId !== undefined ? d.transactionId : (d.originalTransactionId ?? null),
        amount: d.amount,
        currency: d.currency,
        kind: d.kind,
        status: d.status,
        return_code: d.returnCode ?? null,
        message: typeof d.message === 'string' ? d.message.slice(0, 500) : null,
        occurred_at: e.occurredAt,
        credit_applied: typeof e.data.creditApplied === 'number' ? e.data.creditApplied : 0,
        request_id: typeof e.data.requestId === 'string' ? e.data.requestId : null,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) return false;
    await tx
      .insertInto('ledger_discrepancies')
      .values({
        type: 'ledger.refused_charge',
        kind: d.status === 'succeeded' ? 'duplicate_success' : 'duplicate_charge',
        run_id: e.id,
        subscription_id: e.subscriptionId,
        order_id: d.orderId,
        transaction_id: d.transactionId,
        detail: JSON.stringify({ eventId: e.id, instanceId: e.instanceId, cycle: d.cycle, amount: d.amount }),
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    return true;
  }

  async #insertCredit(tx: Kysely<LedgerDatabase>, e: SubscriptionEvent): Promise<void> {
    const d = e.data as Record<string, unknown>;
    await tx
      .insertInto('ledger_credits')
      .values({
        event_id: e.id,
        subscription_id: e.subscriptionId,
        instance_id: e.instanceId,
        cycle: typeof d.cycle === 'number' ? d.cycle : null,
        order_id: typeof d.orderId === 'string' ? d.orderId : null,
        delta: d.delta as number,
        credit_balance: d.creditBalance as number,
        proration_due: d.prorationDue as number,
        currency: d.currency as string,
        reason: typeof d.reason === 'string' ? d.reason.slice(0, 500) : '',
        occurred_at: e.occurredAt,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Every movement of a subscription's credit balance, oldest first; the last row is the balance. */
  async listCredits(subscriptionId: string, limit = 500): Promise<CreditRecord[]> {
    const rows = await this.db
      .selectFrom('ledger_credits')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      eventId: r.event_id,
      subscriptionId: r.subscription_id,
      instanceId: r.instance_id,
      cycle: r.cycle,
      orderId: r.order_id,
      delta: Number(r.delta),
      creditBalance: Number(r.credit_balance),
      prorationDue: Number(r.proration_due),
      currency: r.currency,
      reason: r.reason,
      occurredAt: iso(r.occurred_at),
    }));
  }

  /** Every charge row of a subscription (all instances), oldest first, paged by ledger id. */
  async listCharges(
    subscriptionId: string,
    page: { cursor?: string; limit?: number } = {},
  ): Promise<{ charges: ChargeRecord[]; nextCursor: string | null }> {
    const limit = page.limit ?? 100;
    let q = this.db
      .selectFrom('ledger_charges')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id')
      .limit(limit + 1);
    if (page.cursor !== undefined) q = q.where('id', '>', page.cursor);
    const rows = await q.execute();
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    return {
      charges: shown.map(chargeRecord),
      nextCursor: more ? (shown.at(-1)?.id ?? null) : null,
    };
  }

  /** The event log in ledger order; `after` is an event id. */
  async listEvents(
    filter: { subscriptionId?: string; after?: string; limit?: number } = {},
  ): Promise<{ events: StoredEvent[]; nextAfter: string | null }> {
    const limit = filter.limit ?? 100;
    let q = this.db
      .selectFrom('ledger_events')
      .selectAll()
      .orderBy('position')
      .limit(limit + 1);
    if (filter.subscriptionId !== undefined) q = q.where('subscription_id', '=', filter.subscriptionId);
    if (filter.after !== undefined) {
      const after = filter.after;
      q = q.where('position', '>', (eb) =>
        eb.selectFrom('ledger_events').select('position').where('id', '=', after),
      );
    }
    const rows = await q.execute();
    const more = rows.length > limit;
    const shown = rows.slice(0, limit).map(storedEvent);
    return { events: shown, nextAfter: more ? (shown.at(-1)?.id ?? null) : null };
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const row = await this.db.selectFrom('ledger_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? storedEvent(row) : undefined;
  }

  /** Charges that occurred in [from, to), oldest first, paged by ledger id (reconciliation). */
  async chargesBetween(from: string, to: string, afterId: string | undefined, limit: number) {
    let q = this.db
      .selectFrom('ledger_charges')
      .selectAll()
      .where('occurred_at', '>=', new Date(from))
      .where('occurred_at', '<', new Date(to))
      .orderBy('id')
      .limit(limit);
    if (afterId !== undefined) q = q.where('id', '>', afterId);
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, ...chargeRecord(r) }));
  }

  /** Succeeded charges under these orderIds (reconciliation: is a failed order also paid here?). */
  async succeededOrderIds(orderIds: readonly string[]): Promise<Set<string>> {
    if (orderIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('ledger_charges')
      .select('order_id')
      .where('status', '=', 'succeeded')
      .where('order_id', 'in', [...orderIds])
      .execute();
    return new Set(rows.map((r) => r.order_id));
  }

  /** Reconciliation findings, once per (run, kind, order, transaction) however often a page is retried. */
  async recordMismatches(
    runId: string,
    mismatches: readonly {
      kind: string;
      subscriptionId: string;
      orderId: string;
      transactionId: string | null;
    }[],
  ): Promise<void> {
    if (mismatches.length === 0) return;
    await this.db
      .insertInto('ledger_discrepancies')
      .values(
        mismatches.map((m) => ({
          type: 'reconciliation.mismatch',
          kind: m.kind,
          run_id: runId,
          subscription_id: m.subscriptionId,
          order_id: m.orderId,
          transaction_id: m.transactionId,
          detail: JSON.stringify(m),
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async listDiscrepancies(filter: { runId?: string; type?: string; limit?: number } = {}) {
    let q = this.db
      .selectFrom('ledger_discrepancies')
      .selectAll()
      .orderBy('id')
      .limit(filter.limit ?? 1000);
    if (filter.runId !== undefined) q = q.where('run_id', '=', filter.runId);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    const rows = await q.execute();
    return rows.map((r) => ({
      type: r.type,
      kind: r.kind,
      runId: r.run_id,
      subscriptionId: r.subscription_id,
      orderId: r.order_id,
      transactionId: r.transaction_id,
      detail: r.detail as Record<string, unknown>,
      foundAt: iso(r.found_at),
    }));
  }
}

function chargeRecord(r: Selectable<LedgerChargesTable>): ChargeRecord {
  return {
    eventId: r.event_id,
    subscriptionId: r.subscription_id,
    instanceId: r.instance_id,
    cycle: r.cycle,
    orderId: r.order_id,
    transactionId: r.transaction_id,
    originalTransactionId: r.original_transaction_id,
    amount: Number(r.amount),
    currency: r.currency,
    kind: r.kind,
    status: r.status,
    returnCode: r.return_code,
    message: r.message,
    occurredAt: iso(r.occurred_at),
    ...(Number(r.credit_applied) > 0 ? { creditApplied: Number(r.credit_applied) } : {}),
    ...(r.request_id === null ? {} : { requestId: r.request_id }),
  };
}

function storedEvent(r: Selectable<LedgerEventsTable>): StoredEvent {
  return {
    id: r.id,
    type: r.type,
    subscriptionId: r.subscription_id,
    instanceId: r.instance_id,
    sequence: r.sequence,
    occurredAt: iso(r.occurred_at),
    data: r.data as Record<string, unknown>,
    position: String(r.position),
    recordedAt: iso(r.recorded_at),
  };
}
