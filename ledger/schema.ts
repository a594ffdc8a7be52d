import type { ColumnType, Generated } from 'kysely';

/** `bigint`/`bigserial` columns come back from `pg` as strings; amounts are converted where read. */
type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>;
/** `bigserial`: the database assigns it. */
type Serial = ColumnType<string, never, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;
/** A timestamp with a database default. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface LedgerEventsTable {
  id: string;
  position: Serial;
  type: string;
  subscription_id: string;
  instance_id: string;
  sequence: number;
  occurred_at: Timestamp;
  data: Json;
  recorded_at: DefaultTimestamp;
}

export interface LedgerChargesTable {
  id: Serial;
  event_id: string;
  subscription_id: string;
  instance_id: string;
  cycle: number | null;
  order_id: string;
  transaction_id: string | null;
  original_transaction_id: string | null;
  amount: Int8;
  currency: string;
  kind: string;
  status: string;
  return_code: string | null;
  message: string | null;
  occurred_at: Timestamp;
  /** 0002: credit balance this charge used (a `credit` row: all of the cycle). */
  credit_applied: ColumnType<string, number | string | undefined, number | string>;
  /** 0002: a one-off's request id (its orderId derives from it). */
  request_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** 0002: every movement of a subscription's credit balance (proration credit, use by cycles). */
export interface LedgerCreditsTable {
  id: Serial;
  event_id: string;
  subscription_id: string;
  instance_id: string;
  cycle: number | null;
  order_id: string | null;
  delta: Int8;
  credit_balance: Int8;
  proration_due: Int8;
  currency: string;
  reason: string;
  occurred_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Serial;
  event_id: string;
  endpoint: string;
  subscription_id: string;
  instance_id: string;
  sequence: number;
  /** pending | delivered | failed */
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_until: Timestamp | null;
  first_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  last_response_body: string | null;
  delivered_at: Timestamp | null;
  failed_at: Timestamp | null;
  resends: Generated<number>;
  created_at: DefaultTimestamp;
}

export interface WebhookAttemptsTable {
  id: Serial;
  delivery_id: Int8;
  attempt: number;
  attempted_at: Timestamp;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  duration_ms: number;
}

export interface LedgerDiscrepanciesTable {
  id: Serial;
  /** `reconciliation.mismatch` or `ledger.refused_charge` */
  type: string;
  /** e.g. missing_at_linepay, missing_in_ledger, amount_mismatch, duplicate_success */
  kind: string;
  run_id: string;
  subscription_id: string | null;
  order_id: string | null;
  transaction_id: string | null;
  detail: Json;
  found_at: DefaultTimestamp;
}

export interface LedgerDatabase {
  ledger_events: LedgerEventsTable;
  ledger_charges: LedgerChargesTable;
  ledger_credits: LedgerCreditsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  ledger_discrepancies: LedgerDiscrepanciesTable;
}
