import { type Kysely, sql } from 'kysely';

/** Events, charges, the webhook outbox and discrepancies; the constraints are the last line against a double record. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ledger_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('position', 'bigserial', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull().check(sql`sequence >= 1`))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('ledger_events_instance_sequence', ['instance_id', 'sequence'])
    .execute();
  await db.schema
    .createIndex('ledger_events_subscription')
    .on('ledger_events')
    .columns(['subscription_id', 'position'])
    .execute();

  await db.schema
    .createTable('ledger_charges')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique().references('ledger_events.id'))
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('cycle', 'integer')
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text')
    .addColumn('original_transaction_id', 'text')
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('succeeded', 'failed', 'refunded')`))
    .addColumn('return_code', 'text')
    .addColumn('message', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint(
      'ledger_charges_succeeded_has_transaction',
      sql`status <> 'succeeded' or transaction_id is not null`,
    )
    .execute();
  // Lago's idea: one paid charge per (subscription instance, cycle), whatever the orderId.
  await sql`create unique index ledger_charges_one_success_per_cycle on ledger_charges (instance_id, cycle)
    where status = 'succeeded' and cycle is not null`.execute(db);
  await sql`create unique index ledger_charges_one_success_per_order on ledger_charges (order_id)
    where status = 'succeeded'`.execute(db);
  await sql`create unique index ledger_charges_transaction on ledger_charges (transaction_id, status)
    where transaction_id is not null`.execute(db);
  await db.schema
    .createIndex('ledger_charges_subscription')
    .on('ledger_charges')
    .columns(['subscription_id', 'id'])
    .execute();
  await db.schema.createIndex('ledger_charges_occurred').on('ledger_charges').column('occurred_at').execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().references('ledger_events.id'))
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'delivered', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('lease_until', 'timestamptz')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_response_body', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('failed_at', 'timestamptz')
    .addColumn('resends', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('webhook_deliveries_event_endpoint', ['event_id', 'endpoint'])
    .execute();
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_line on webhook_deliveries (endpoint, instance_id, sequence)
    where status = 'pending'`.execute(db);

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('webhook_deliveries.id'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('response_body', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_attempts_delivery')
    .on('webhook_attempts')
    .columns(['delivery_id', 'id'])
    .execute();

  await db.schema
    .createTable('ledger_discrepancies')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('order_id', 'text')
    .addColumn('transaction_id', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('found_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A retried reconciliation activity records each finding once per run.
  await sql`create unique index ledger_discrepancies_once on ledger_discrepancies
    (run_id, kind, coalesce(order_id, ''), coalesce(transaction_id, ''))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'ledger_discrepancies',
    'webhook_attempts',
    'webhook_deliveries',
    'ledger_charges',
    'ledger_events',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
