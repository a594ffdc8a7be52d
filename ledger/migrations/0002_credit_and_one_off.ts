import { type Kysely, sql } from 'kysely';

/**
 * Issue 11: one-off charges and proration credit. A cycle paid wholly by credit is a succeeded charge
 * with no LINE Pay transaction (kind `credit`); each charge row says how much credit it used and a
 * one-off's request id; `ledger_credits` keeps every movement of the credit balance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ledger_charges drop constraint ledger_charges_succeeded_has_transaction`.execute(db);
  await sql`alter table ledger_charges add constraint ledger_charges_succeeded_has_transaction
    check (status <> 'succeeded' or transaction_id is not null or (kind = 'credit' and amount = 0))`.execute(
    db,
  );
  await db.schema
    .alterTable('ledger_charges')
    .addColumn('credit_applied', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`credit_applied >= 0`))
    .execute();
  await db.schema.alterTable('ledger_charges').addColumn('request_id', 'text').execute();

  await db.schema
    .createTable('ledger_credits')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique().references('ledger_events.id'))
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('cycle', 'integer')
    .addColumn('order_id', 'text')
    .addColumn('delta', 'bigint', (c) => c.notNull())
    .addColumn('credit_balance', 'bigint', (c) => c.notNull().check(sql`credit_balance >= 0`))
    .addColumn('proration_due', 'bigint', (c) => c.notNull().check(sql`proration_due >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ledger_credits_subscription')
    .on('ledger_credits')
    .columns(['subscription_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ledger_credits').execute();
  await db.schema.alterTable('ledger_charges').dropColumn('request_id').execute();
  await db.schema.alterTable('ledger_charges').dropColumn('credit_applied').execute();
  await sql`alter table ledger_charges drop constraint ledger_charges_succeeded_has_transaction`.execute(db);
  await sql`alter table ledger_charges add constraint ledger_charges_succeeded_has_transaction
    check (status <> 'succeeded' or transaction_id is not null)`.execute(db);
}
