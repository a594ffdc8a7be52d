/**
 * The events a trial emits, exactly as the workflow's pure rules build them, stored by the ledger:
 * `subscription.trial_started`, the approval minimum as a `trial_verification` charge and its refund,
 * `subscription.trial_will_end`, then the first cycle — each queued for webhooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { applyChargeOutcome, applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import { normalizeSubscriptionInput } from '../../workflows/subscription-input.js';
import { acceptConfirm } from '../../workflows/subscription-requests.js';
import { initialState, openCharge } from '../../workflows/subscription-state.js';
import { applyTrialWillEnd, applyVerificationSettled } from '../../workflows/trial-outcome.js';
import { ledgerBackends } from './helpers/backends.js';

const CREATED = Date.parse('2028-01-20T03:00:00Z');

function trialLife(subscriptionId: string) {
  const s = initialState(
    normalizeSubscriptionInput({
      subscriptionId,
      customerId: 'cust-1',
      productName: 'Coffee club',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
      trial: 'P14D',
      redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
    }),
    'a1b2c3d4',
    CREATED,
  );
  // Ends in 0, so the refund (…9) and the first charge (…8) below never share its id.
  const tx = `20280120${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}0`;
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId(subscriptionId, 'a1b2c3d4', 0, 0),
      transactionId: tx,
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    1,
    CREATED,
  );
  acceptConfirm(s, { transactionId: tx, orderId: s.reservation!.orderId });
  applyConfirmed(
    s,
    { outcome: 'confirmed', sealedRegKey: 'x', regKeyMasked: 'RK…1', transactionId: tx },
    CREATED,
  );
  applyVerificationSettled(s, { outcome: 'refunded', refundTransactionId: `${tx.slice(0, -1)}9` }, CREATED);
  applyTrialWillEnd(s, Date.parse(s.trial!.noticeAt));
  const end = Date.parse(s.nextChargeAt!);
  openCharge(s, end);
  applyChargeOutcome(s, { outcome: 'charged', transactionId: `${tx.slice(0, -1)}8`, recovered: false }, end);
  return { events: s.events.outbox, tx };
}

describe.each(ledgerBackends())('a trial in the ledger on $name', (backend) => {
  let ledger: LedgerDb;
  let store: LedgerStore;
  beforeAll(async () => {
    ledger = await backend.open();
    store = new LedgerStore(ledger.db, ['http://127.0.0.1:9/hook']);
  });
  afterAll(async () => ledger?.close());

  it('stores every trial event, the verification payment and its refund as charges, and queues the webhooks', async () => {
    const subscriptionId = `sub-trial-${backend.name}-${Date.now().toString(36)}`;
    const { events, tx } = trialLife(subscriptionId);
    expect(events.map((e) => e.type)).toEqual([
      'subscription.trial_started',
      'charge.succeeded',
      'charge.refunded',
      'subscription.trial_will_end',
      'charge.succeeded',
      'subscription.activated',
    ]);
    const result = await store.recordEvents(events);
    expect(result).toEqual({ stored: events.length, refusedCharges: [] });
    const { events: listed } = await store.listEvents({ subscriptionId });
    expect(listed.map((e) => e.type)).toEqual(events.map((e) => e.type));
    expect(listed.find((e) => e.type === 'subscription.trial_will_end')?.data).toMatchObject({
      amount: 390,
      currency: 'TWD',
    });
    const { charges } = await store.listCharges(subscriptionId);
    expect(charges.map((c) => [c.cycle, c.kind, c.status, c.amount])).toEqual([
      [null, 'trial_verification', 'succeeded', 1],
      [null, 'refund', 'refunded', 1],
      [1, 'recurring', 'succeeded', 390],
    ]);
    expect(charges[1]?.originalTransactionId).toBe(tx);
    const deliveries = await ledger.db
      .selectFrom('webhook_deliveries')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('subscription_id', '=', subscriptionId)
      .executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(events.length);
  });
});
