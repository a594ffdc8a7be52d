import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinePayClient } from '../../activities/linepay/index.js';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { reconcilePage } from '../../ledger/reconciliation.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';

/** Real payments in the LINE Pay sandbox: an approval and preapproved charges, by orderId. */
async function pay(linePay: LinePayClient, sandbox: RunningSandbox, orderIds: string[]) {
  const [first, ...rest] = orderIds;
  const reserved = await linePay.requestPayment({
    amount: 390,
    currency: 'TWD',
    orderId: first!,
    packages: [{ id: 'p', amount: 390, name: 'Plan', products: [{ name: 'Plan', quantity: 1, price: 390 }] }],
    redirectUrls: { confirmUrl: 'http://127.0.0.1:9/confirm', cancelUrl: 'http://127.0.0.1:9/cancel' },
    options: { payment: { payType: 'PREAPPROVED', capture: true } },
  });
  sandbox.control.approve(reserved.transactionId);
  const confirmed = await linePay.confirm(reserved.transactionId, { amount: 390, currency: 'TWD' });
  const ids = [reserved.transactionId];
  for (const orderId of rest) {
    const paid = await linePay.payPreapproved(confirmed.regKey!, {
      productName: 'Plan',
      amount: 390,
      currency: 'TWD',
      orderId,
    });
    ids.push(paid.transactionId);
  }
  return ids;
}

describe.each(ledgerBackends())('reconciliation on $name', (backend) => {
  let ledger: LedgerDb;
  let sandbox: RunningSandbox;
  let linePay: LinePayClient;
  beforeAll(async () => {
    ledger = await backend.open();
    sandbox = await startSandbox({ port: 0 });
    linePay = new LinePayClient({
      baseUrl: sandbox.url,
      channelId: sandbox.channelId,
      channelSecret: sandbox.channelSecret,
    });
  });
  afterAll(async () => {
    await sandbox?.close();
    await ledger?.close();
  });

  it('finds every mismatch either way with LINE Pay, and records each once per run', async () => {
    const s = new EventStream();
    const [t0, t1, t2] = await pay(linePay, sandbox, [s.orderId(0), s.orderId(1), s.orderId(2)]);
    const store = new LedgerStore(ledger.db);
    await store.recordEvents([
      s.charge(0, 'succeeded', { transactionId: t0!, kind: 'approval' }),
      // We think cycle 1 was 400; LINE Pay charged 390.
      s.charge(1, 'succeeded', { transactionId: t1!, amount: 400 }),
      // We recorded cycle 2 as failed; LINE Pay has the payment.
      s.charge(2, 'failed'),
      // We recorded a charge LINE Pay never made.
      s.charge(3, 'succeeded', { transactionId: '2026999999999999999' }),
    ]);
    const window = { from: '2025-12-31T00:00:00Z', to: '2026-01-02T00:00:00Z' };
    const runId = `test-${s.instanceId}`;
    const result = await reconcilePage(store, linePay, { runId, ...window });
    expect(result.checked).toBe(4);
    expect(result.nextAfterId).toBeUndefined();
    const byKind = Object.fromEntries(result.mismatches.map((m) => [m.kind, m]));
    expect(Object.keys(byKind).sort()).toEqual([
      'amount_mismatch',
      'missing_at_linepay',
      'missing_in_ledger',
    ]);
    expect(byKind.amount_mismatch).toMatchObject({
      orderId: s.orderId(1),
      ledger: { amount: 400 },
      linePay: { transactionId: t1, amount: 390 },
    });
    expect(byKind.missing_in_ledger).toMatchObject({
      orderId: s.orderId(2),
      transactionId: t2,
      linePay: { amount: 390 },
    });
    expect(byKind.missing_at_linepay).toMatchObject({ orderId: s.orderId(3), linePay: null });

    // A retried activity (same run) records nothing twice; pages of one cover the same ground.
    await reconcilePage(store, linePay, { runId, ...window });
    let afterId: string | undefined;
    let checked = 0;
    do {
      const page = await reconcilePage(store, linePay, {
        runId,
        ...window,
        pageSize: 1,
        ...(afterId ? { afterId } : {}),
      });
      checked += page.checked;
      afterId = page.nextAfterId;
    } while (afterId);
    expect(checked).toBe(4);
    const stored = await store.listDiscrepancies({ runId });
    expect(stored.map((d) => d.kind).sort()).toEqual([
      'amount_mismatch',
      'missing_at_linepay',
      'missing_in_ledger',
    ]);
    expect(stored.every((d) => d.type === 'reconciliation.mismatch')).toBe(true);
  });
});
