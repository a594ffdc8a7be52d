import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerDb } from '../../ledger/database.js';
import { InvalidLedgerEventError, LedgerStore } from '../../ledger/ledger-store.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';

describe.each(ledgerBackends())('ledger store on $name', (backend) => {
  let ledger: LedgerDb;
  let store: LedgerStore;
  beforeAll(async () => {
    ledger = await backend.open();
    store = new LedgerStore(ledger.db, ['http://127.0.0.1:9/hook']);
  });
  afterAll(async () => ledger?.close());

  it('stores each event once however often, and in whatever overlap, the batch is retried', async () => {
    const s = new EventStream();
    const events = [
      s.next('subscription.activated', { cycle: 0 }),
      s.charge(0),
      s.charge(1),
      s.charge(2, 'failed'),
      s.next('subscription.past_due'),
    ];
    const first = await store.recordEvents(events.slice(0, 3));
    expect(first.stored).toBe(3);
    // A retry of the whole batch after the first attempt committed, and concurrent duplicates.
    const again = await Promise.all([store.recordEvents(events), store.recordEvents(events)]);
    expect(again.reduce((n, r) => n + r.stored, 0)).toBe(2);
    expect((await store.recordEvents(events)).stored).toBe(0);

    const { events: listed } = await store.listEvents({ subscriptionId: s.subscriptionId });
    expect(listed.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    const { charges } = await store.listCharges(s.subscriptionId);
    expect(charges.map((c) => [c.cycle, c.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'failed'],
    ]);
    const deliveries = await ledger.db
      .selectFrom('webhook_deliveries')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('subscription_id', '=', s.subscriptionId)
      .executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(5);
  });

  it('keeps a 19-digit transactionId exactly, as text', async () => {
    const s = new EventStream();
    const e = s.charge(1, 'succeeded', { transactionId: '2026123199999999999' });
    await store.recordEvents([e]);
    const { charges } = await store.listCharges(s.subscriptionId);
    expect(charges[0]?.transactionId).toBe('2026123199999999999');
    expect(charges[0]?.amount).toBe(390);
  });

  it('refuses a second successful charge for one cycle: the event is kept, the row is not, a discrepancy says so', async () => {
    const s = new EventStream();
    const paid = s.charge(3);
    // A second success for cycle 3 under another orderId: a double charge must not be recorded as two.
    const double = s.charge(3, 'succeeded', { orderId: s.orderId(3, 1) });
    await store.recordEvents([paid]);
    const result = await store.recordEvents([double]);
    expect(result).toEqual({ stored: 1, refusedCharges: [double.id] });
    const { charges } = await store.listCharges(s.subscriptionId);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.orderId).toBe(s.orderId(3));
    const found = await store.listDiscrepancies({ runId: double.id });
    expect(found).toMatchObject([{ type: 'ledger.refused_charge', kind: 'duplicate_success' }]);
    expect((await store.getEvent(double.id))?.type).toBe('charge.succeeded');
  });

  it('the database itself refuses a second success per (instance, cycle) and per orderId', async () => {
    const s = new EventStream();
    const a = s.charge(5);
    await store.recordEvents([a]);
    const b = s.next('charge.succeeded');
    await store.recordEvents([b]).catch(() => undefined);
    const insert = (orderId: string, cycle: number, transactionId: string) =>
      ledger.db
        .insertInto('ledger_charges')
        .values({
          event_id: b.id,
          subscription_id: s.subscriptionId,
          instance_id: s.instance,
          cycle,
          order_id: orderId,
          transaction_id: transactionId,
          amount: 390,
          currency: 'TWD',
          kind: 'recurring',
          status: 'succeeded',
          occurred_at: b.occurredAt,
        })
        .execute();
    await expect(insert(`${s.orderId(5)}-a1`, 5, '1')).rejects.toThrow(
      /ledger_charges_one_success_per_cycle/,
    );
    await expect(insert(s.orderId(5), 6, '2')).rejects.toThrow(/ledger_charges_one_success_per_order/);
  });

  it('refuses another event under a used (instance, sequence) and malformed events, storing nothing', async () => {
    const s = new EventStream();
    const e = s.next('subscription.activated');
    await store.recordEvents([e]);
    await expect(store.recordEvents([{ ...e, id: `${e.id}x` }])).rejects.toThrow(InvalidLedgerEventError);
    const bad = s.charge(1, 'succeeded', { amount: 1.5 });
    const good = s.next('subscription.paused');
    await expect(store.recordEvents([good, bad])).rejects.toThrow(/data.amount/);
    expect(await store.getEvent(good.id)).toBeUndefined();
  });

  it('pages every charge of a long subscription and the event log after a cursor', async () => {
    const s = new EventStream();
    const events = Array.from({ length: 24 }, (_, i) => s.charge(i + 1));
    for (let i = 0; i < events.length; i += 5) await store.recordEvents(events.slice(i, i + 5));
    const seen: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.listCharges(s.subscriptionId, { limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.charges.map((c) => c.cycle ?? -1));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const after = await store.listEvents({
      subscriptionId: s.subscriptionId,
      after: events[19]!.id,
      limit: 10,
    });
    expect(after.events.map((e) => e.sequence)).toEqual([21, 22, 23, 24]);
    expect(after.nextAfter).toBeNull();
  });

  it('has the schema at the latest migration', async () => {
    const { rows } = await sql<{ name: string }>`select name from ledger_migrations order by name`.execute(
      ledger.db,
    );
    expect(rows.map((r) => r.name)).toEqual(['0001_ledger', '0002_credit_and_one_off']);
  });
});
