import { afterEach, expect, it } from 'vitest';
import { cancelUpdate, confirmUpdate, paymentLinkUpdate } from '../../workflows/messages.js';
import {
  callsOf,
  type Harness,
  type SubscriptionHandle,
  skipUntil,
  startSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

// Issue 11 item 5: the customer approves in the LINE app (or an in-app browser) and the browser never
// reaches confirmUrl. The workflow polls Check-payment-request-status and confirms by itself.

const t = useSubscriptionHarness('approval-poll');

/** Presses "Approve in the LINE app" on the sandbox's page: approved, and no redirect to confirmUrl. */
async function approveInApp(
  h: Harness,
  handle: SubscriptionHandle,
): Promise<{ transactionId: string; orderId: string }> {
  const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  const reserveId = new URL(link.paymentUrl!.web).searchParams.get('transactionReserveId')!;
  const res = await fetch(`${h.sandbox.url}/web/payment/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ transactionReserveId: reserveId, app: '1' }).toString(),
    redirect: 'manual',
  });
  expect(res.status).toBe(200); // the LINE app shows "approved"; no 302 to our confirmUrl
  expect(await res.text()).toContain('Payment approved');
  const { transactionId, orderId } = (await state(handle)).reservation!;
  return { transactionId, orderId };
}

const started: SubscriptionHandle[] = [];
async function start(input: ReturnType<typeof subscriptionInput>) {
  const handle = await startSubscription(t.h, input);
  started.push(handle);
  return handle;
}

// Time skips for every workflow on the server: cancel what a test leaves running.
afterEach(async () => {
  for (const handle of started.splice(0)) {
    const v = await state(handle).catch(() => undefined);
    if (v && !['canceled', 'completed', 'approval_expired', 'approval_canceled'].includes(v.status))
      await handle
        .executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' }, reason: 'end of test' }] })
        .catch(() => undefined);
  }
});

const confirmsOf = (h: Harness, subscriptionId: string) =>
  callsOf(h, subscriptionId).filter((q) => q.path.endsWith('/confirm'));
const statusChecksOf = (h: Harness, transactionId: string) =>
  h.sandbox.control.requests().filter((q) => q.path === `/v3/payments/requests/${transactionId}/check`);

it('browser never returns: the poll sees the approval (0110) and the workflow confirms once by itself', async () => {
  const input = subscriptionInput();
  const handle = await start(input);
  const { transactionId } = await approveInApp(t.h, handle);
  expect(confirmsOf(t.h, input.subscriptionId)).toEqual([]);

  const v = await skipUntil(t.h, handle, (s) => s.status === 'active', '10 seconds', 60);
  expect(v.charges).toMatchObject([{ cycle: 0, kind: 'approval', amount: 390, transactionId }]);
  expect(v.regKeyMasked).toMatch(/^RK/);
  expect(v.audit.map((a) => a.reason)).toContain(
    'LINE Pay reports the payment request authenticated (0110); confirming without the browser',
  );
  // Approved well inside the reservation's 20 minutes, seen by the first polls.
  const approvedAt = Date.parse(v.audit.at(-1)!.at);
  expect(approvedAt - Date.parse(v.createdAt)).toBeLessThan(5 * 60_000);
  const checks = statusChecksOf(t.h, transactionId);
  expect(checks.length).toBeGreaterThanOrEqual(1);
  expect(checks.at(-1)!.returnCode).toBe('0110');
  expect(confirmsOf(t.h, input.subscriptionId).map((q) => q.returnCode)).toEqual(['0000']);
  expect(t.h.sandbox.control.ledger().filter((e) => e.transactionId === transactionId)).toHaveLength(1);
});

it('a late confirmUrl webhook after the auto-confirm gets the same answer; one Confirm at LINE Pay', async () => {
  const input = subscriptionInput();
  const handle = await start(input);
  const ids = await approveInApp(t.h, handle);
  const v = await skipUntil(t.h, handle, (s) => s.status === 'active', '10 seconds', 60);

  // The in-app browser reaches confirmUrl after all (twice, under different update ids).
  const late = await handle.executeUpdate(confirmUpdate, {
    args: [ids],
    updateId: `confirm-${ids.transactionId}`,
  });
  const again = await handle.executeUpdate(confirmUpdate, { args: [ids], updateId: 'confirm-reload' });
  expect(late.status).toBe('active');
  expect(late.charge).toEqual(v.charges[0]);
  expect(again).toEqual(late);
  expect(confirmsOf(t.h, input.subscriptionId)).toHaveLength(1);
  expect((await state(handle)).paidCycles).toBe(1);
});

it('the webhook first: its confirm wins and the poll confirms nothing more', async () => {
  const input = subscriptionInput();
  const handle = await start(input);
  const ids = await approveInApp(t.h, handle);
  // No time passes here (nothing skips it), so the webhook is accepted before any poll is due.
  const result = await handle.executeUpdate(confirmUpdate, { args: [ids] });
  expect(result.status).toBe('active');
  await t.env.sleep('30 minutes'); // every poll time of the reservation passes
  const v = await state(handle);
  expect(v.paidCycles).toBe(1);
  expect(confirmsOf(t.h, input.subscriptionId)).toHaveLength(1);
  expect(statusChecksOf(t.h, ids.transactionId)).toEqual([]);
});

it('the customer cancels in LINE (0121): the poll drops the reservation as a cancel link does', async () => {
  const input = subscriptionInput();
  const handle = await start(input);
  await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  const { transactionId } = (await state(handle)).reservation!;
  await t.h.sandbox.control.readClock();
  t.h.sandbox.control.cancel(transactionId); // in the app: no browser goes to our cancelUrl
  const v = await skipUntil(t.h, handle, (s) => s.status === 'approval_canceled', '10 seconds', 60);
  expect(v.reservation).toBeUndefined();
  expect(v.audit.at(-1)).toMatchObject({
    to: 'approval_canceled',
    reason: 'customer canceled on the LINE Pay page',
  });
  expect(statusChecksOf(t.h, transactionId).at(-1)!.returnCode).toBe('0121');
  expect(confirmsOf(t.h, input.subscriptionId)).toEqual([]);
  expect((await handle.result()).status).toBe('approval_canceled');
});

it('nobody approves: a handful of polls within the 20 minutes, then the link lapses as before', async () => {
  const input = subscriptionInput({ approvalTimeout: 'PT1H' });
  const handle = await start(input);
  await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  const { transactionId, expiresAt } = (await state(handle)).reservation!;
  const final = await handle.result();
  expect(final.status).toBe('approval_expired');
  const checks = statusChecksOf(t.h, transactionId);
  expect(checks.length).toBe(7);
  for (const c of checks) {
    expect(c.returnCode).toBe('0000');
    expect(Date.parse(c.at)).toBeLessThan(Date.parse(expiresAt));
  }
});
