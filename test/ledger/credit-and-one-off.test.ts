/**
 * One-off charges and proration credit in the ledger, built by the workflow's own pure rules: a
 * prorated downgrade's credit (ledger_credits), a cycle paid wholly by credit (a succeeded `credit` row
 * with no transaction, allowed by migration 0002), a partly covered cycle (credit_applied), and a
 * one-off success and decline (kind one_off, cycle null, request_id).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { applyCharged, applyChargeOutcome } from '../../workflows/charge-outcome.js';
import { acceptOneOffCharge, applyOneOffOutcome, markOneOffSent } from '../../workflows/one-off-charge.js';

import { normalizeSubscriptionInput } from '../../workflows/subscription-input.js';
import { applyChangePlan } from '../../workflows/subscription-requests.js';
import { initialState, openCharge, startCalendar, transition } from '../../workflows/subscription-state.js';
import { ledgerBackends } from './helpers/backends.js';

const APPROVED = Date.parse('2028-03-01T02:00:00Z');
const DAY = 86_400_000;

function life(subscriptionId: string) {
  const s = initialState(
    normalizeSubscriptionInput({
      subscriptionId,
      customerId: 'cust-1',
      productName: 'Coffee club',
      amount: 1000,
      currency: 'TWD',
      interval: 'P1M',
      redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
    }),
    'b1c2d3e4',
    APPROVED - 60_000,
  );
  startCalendar(s, APPROVED);
  transition(s, 'active', { kind: 'customer' }, 'approved', APPROVED);
  s.sealedRegKey = 'sealed';
  const tx = (n: number) => `20280301${String(Math.floor(Math.random() * 1e9) * 100 + n).padStart(11, '0')}`;
  // Downgrade 1000 → 400 one day in: about 581 of credit (600 × 30/31).
  const at = APPROVED + DAY;
  const merchant = { kind: 'merchant' } as const;
  const result = applyChangePlan(s, { actor: merchant, requestId: 'down', amount: 400, prorate: 'now' }, at);
  const credit = result.proration!.credit;
  // Cycle 1 (400) is paid wholly by credit, cycle 2 partly.
  const due1 = Date.parse(s.nextChargeAt!);
  openCharge(s, due1);
  applyCharged(s, { transactionId: '', recovered: false }, due1);
  const due2 = Date.parse(s.nextChargeAt!);
  openCharge(s, due2);
  applyChargeOutcome(s, { outcome: 'charged', transactionId: tx(2), recovered: false }, due2);
  // A one-off add-on, then a declined fee.
  acceptOneOffCharge(
    s,
    { actor: merchant, requestId: 'addon', amount: 150, productName: 'Add-on' },
    'one_off',
    due2 + 1000,
  );
  markOneOffSent(s);
  applyOneOffOutcome(s, { outcome: 'charged', transactionId: tx(3), recovered: false }, due2 + 2000);
  acceptOneOffCharge(
    s,
    { actor: merchant, requestId: 'fee', amount: 90, productName: 'Fee' },
    'one_off',
    due2 + 3000,
  );
  markOneOffSent(s);
  applyOneOffOutcome(
    s,
    { outcome: 'declined', category: 'declined_soft', returnCode: '1142', message: 'declined' },
    due2 + 4000,
  );
  return { events: s.events.outbox, credit };
}

describe.each(ledgerBackends())('credit and one-off charges in the ledger on $name', (backend) => {
  let ledger: LedgerDb;
  let store: LedgerStore;
  beforeAll(async () => {
    ledger = await backend.open();
    store = new LedgerStore(ledger.db, []);
  });
  afterAll(async () => ledger?.close());

  it('stores the credit movements, a cycle paid by credit, credit used by a charge, and one-offs', async () => {
    const subscriptionId = `sub-credit-${backend.name}-${Date.now().toString(36)}`;
    const { events, credit } = life(subscriptionId);
    expect(credit).toBe(581);
    const result = await store.recordEvents(events);
    expect(result).toEqual({ stored: events.length, refusedCharges: [] });
    const { charges } = await store.listCharges(subscriptionId);
    expect(
      charges.map((c) => [
        c.cycle,
        c.kind,
        c.status,
        c.amount,
        c.transactionId === null,
        c.creditApplied ?? 0,
        c.requestId ?? null,
      ]),
    ).toEqual([
      [1, 'credit', 'succeeded', 0, true, 400, null],
      [2, 'recurring', 'succeeded', 400 - 181, false, 181, null],
      [null, 'one_off', 'succeeded', 150, false, 0, 'addon'],
      [null, 'one_off', 'failed', 90, true, 0, 'fee'],
    ]);
    const credits = await store.listCredits(subscriptionId);
    expect(credits.map((c) => [c.cycle, c.delta, c.creditBalance, c.prorationDue])).toEqual([
      [1, 581, 581, 0],
      [1, -400, 181, 0],
      [2, -181, 0, 0],
    ]);
  });

  it('still refuses a succeeded charge without a transaction unless it is a zero credit row', async () => {
    const subscriptionId = `sub-credit-bad-${backend.name}-${Date.now().toString(36)}`;
    const { events } = life(subscriptionId);
    const paid = events.find((e) => e.type === 'charge.succeeded' && e.data.kind === 'recurring')!;
    const forged = { ...paid, data: { ...paid.data, transactionId: null } };
    await expect(store.recordEvents([forged])).rejects.toThrow();
  });
});
