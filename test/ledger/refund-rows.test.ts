import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';

describe.each(ledgerBackends())('refund rows on $name', (backend) => {
  let ledger: LedgerDb;
  let store: LedgerStore;
  beforeAll(async () => {
    ledger = await backend.open();
    store = new LedgerStore(ledger.db);
  });
  afterAll(async () => ledger?.close());

  it('partial refunds of one charge are rows of their own, keyed by refundTransactionId', async () => {
    const s = new EventStream();
    const paid = s.charge(1);
    const chargeTx = (paid.data as { transactionId: string }).transactionId;
    const refund = (refundTransactionId: string, amount: number, remaining: number) =>
      s.next('charge.refunded', {
        cycle: 1,
        orderId: s.orderId(1),
        transactionId: chargeTx,
        refundTransactionId,
        amount,
        currency: 'TWD',
        remaining,
        kind: 'refund',
        status: 'refunded',
        returnCode: null,
      });
    const result = await store.recordEvents([
      paid,
      refund('2026010100000000101', 100, 290),
      refund('2026010100000000102', 290, 0),
    ]);
    expect(result).toEqual({ stored: 3, refusedCharges: [] });
    const { charges } = await store.listCharges(s.subscriptionId);
    expect(
      charges.map((c) => [c.kind, c.status, c.transactionId, c.originalTransactionId, c.amount]),
    ).toEqual([
      ['recurring', 'succeeded', chargeTx, null, 390],
      ['refund', 'refunded', '2026010100000000101', chargeTx, 100],
      ['refund', 'refunded', '2026010100000000102', chargeTx, 290],
    ]);
  });

  it('the Confirm-orphan refund shape (transactionId is the refund, originalTransactionId the payment) still stores', async () => {
    const s = new EventStream();
    await store.recordEvents([
      s.next('charge.refunded', {
        cycle: 0,
        orderId: s.orderId(0),
        transactionId: '2026010100000000201',
        originalTransactionId: '2026010100000000200',
        amount: 390,
        currency: 'TWD',
        kind: 'refund',
        status: 'refunded',
        returnCode: null,
      }),
    ]);
    const { charges } = await store.listCharges(s.subscriptionId);
    expect(charges.map((c) => [c.transactionId, c.originalTransactionId])).toEqual([
      ['2026010100000000201', '2026010100000000200'],
    ]);
  });
});
