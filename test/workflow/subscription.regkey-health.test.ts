import { afterEach, expect, it } from 'vitest';
import {
  cancelUpdate,
  confirmUpdate,
  pauseUpdate,
  paymentLinkUpdate,
  resumeUpdate,
  type SubscriptionView,
} from '../../workflows/messages.js';
import type { SubscriptionInput } from '../../workflows/subscription-input.js';
import {
  chargeAttemptsOf,
  type Harness,
  type SubscriptionHandle,
  sandboxRegKey,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

// Issue 11 item 6 on the time-skipping server, against a sandbox whose clock follows the server's:
// LINE Pay's idle expiry (180 days after the last payment) really happens in these tests.

const t = useSubscriptionHarness('regkey-health');

const DAY = 86_400_000;
const merchant = { kind: 'merchant' } as const;

const reapprovalEntry = (v: SubscriptionView) => v.audit.findLast((a) => a.to === 'reapproval_required');

/** A fresh link, approved on LINE Pay's page, confirmed through the confirmUrl webhook. */
async function reapprove(h: Harness, handle: SubscriptionHandle) {
  const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  expect(link.paymentUrl).toBeDefined();
  const { transactionId } = (await state(handle)).reservation!;
  await h.sandbox.control.readClock();
  const back = new URL(h.sandbox.control.approve(transactionId).redirectUrl);
  return handle.executeUpdate(confirmUpdate, {
    args: [
      { transactionId: back.searchParams.get('transactionId')!, orderId: back.searchParams.get('orderId')! },
    ],
  });
}

const started: SubscriptionHandle[] = [];
async function active(input: SubscriptionInput) {
  const handle = await startActiveSubscription(t.h, input);
  started.push(handle);
  return handle;
}

// Time skips for every workflow on the server: one left running would check (and bill) while later
// tests skip time, and could take a fault meant for another.
afterEach(async () => {
  for (const handle of started.splice(0)) {
    const v = await state(handle).catch(() => undefined);
    if (v && !['canceled', 'completed', 'approval_expired', 'approval_canceled'].includes(v.status))
      await handle
        .executeUpdate(cancelUpdate, { args: [{ actor: merchant, reason: 'end of test' }] })
        .catch(() => undefined);
  }
});

it('regKey dead before an annual charge: re-approval 7 days ahead, the customer approves, the cycle is paid on time', async () => {
  const input = subscriptionInput({ interval: 'P1Y', amount: 3900 });
  const handle = await active(input);
  const v0 = await state(handle);
  const key = sandboxRegKey(t.h, v0.regKeyMasked);
  const due = Date.parse(v0.nextChargeAt!);

  const v = await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '5 days', 100);
  // The sandbox aged the key out 180 days after the approval payment; the check 7 days ahead saw it.
  expect(sandboxRegKey(t.h, v0.regKeyMasked).status).toBe('EXPIRED');
  expect(key.calls('/check').map((q) => q.returnCode)).toEqual(['1193']);
  const entry = reapprovalEntry(v)!;
  expect(Math.abs(Date.parse(entry.at) - (due - 7 * DAY))).toBeLessThan(60_000);
  expect(entry.reason).toMatch(/regKey check before cycle 1 .*dead \(1193\)/);
  expect(v.nextChargeAt).toBe(v0.nextChargeAt);
  expect(v.regKeyCheck).toMatchObject({ cycle: 1, health: 'dead', returnCode: '1193' });
  expect(chargeAttemptsOf(t.h, input.subscriptionId)).toEqual([]); // nothing was sent to the dead key

  const result = await reapprove(t.h, handle);
  expect(result.status).toBe('active');
  expect(result.charge).toMatchObject({ cycle: 1, kind: 'reapproval', amount: 3900 });
  expect(Date.parse(result.charge!.chargedAt)).toBeLessThan(due);
  const after = await state(handle);
  expect(after.paidCycles).toBe(2);
  // The calendar keeps its dates: cycle 2 a year after cycle 1's due date.
  expect(Date.parse(after.nextChargeAt!)).toBeGreaterThan(due + 360 * DAY);
  expect(after.nextChargeAt!.slice(5)).toBe(v0.nextChargeAt!.slice(5));
});

it('a long pause, then resume: the regKey is checked before the next charge (live: charged as usual)', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const handle = await active(input);
  const v0 = await state(handle);
  const key = sandboxRegKey(t.h, v0.regKeyMasked);
  await handle.executeUpdate(pauseUpdate, { args: [{ actor: merchant }] });
  await t.env.sleep('40 days');
  await handle.executeUpdate(resumeUpdate, { args: [{ actor: merchant }] });
  const v = await skipUntil(t.h, handle, (s) => s.paidCycles >= 2, '1 day', 60);
  expect(v.status).toBe('active');
  const checks = key.calls('/check');
  expect(checks.map((q) => q.returnCode)).toEqual(['0000']);
  const payment = chargeAttemptsOf(t.h, input.subscriptionId).at(-1)!;
  expect(Date.parse(checks[0]!.at)).toBeLessThan(Date.parse(payment.at));
  expect(v.audit.map((a) => a.reason)).toContain(
    `regKey checked before cycle ${v.charges.at(-1)!.cycle}: live`,
  );
  // One check per long pause: the next cycle is charged without one.
  await skipUntil(t.h, handle, (s) => s.paidCycles >= 3, '1 day', 40);
  expect(key.calls('/check')).toHaveLength(1);
});

it('a pause past the idle lifetime: the check at resume finds the key dead and re-approval starts before the due date', async () => {
  const input = subscriptionInput({ interval: 'P1M' });
  const handle = await active(input);
  const v0 = await state(handle);
  await handle.executeUpdate(pauseUpdate, { args: [{ actor: merchant }] });
  await t.env.sleep('200 days');
  const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ actor: merchant }] });
  // The check falls 7 days before the first due date after the resume (at once if that is sooner).
  const v = await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '1 day', 40);
  const at = Date.parse(reapprovalEntry(v)!.at);
  const due = Date.parse(resumed.nextChargeAt!);
  expect(at).toBeLessThan(due);
  expect(at).toBeGreaterThanOrEqual(due - 7 * 86_400_000 - 60_000);
  expect(
    sandboxRegKey(t.h, v0.regKeyMasked)
      .calls('/check')
      .map((q) => q.returnCode),
  ).toEqual(['1193']);
  expect(chargeAttemptsOf(t.h, input.subscriptionId)).toEqual([]);
  const result = await reapprove(t.h, handle);
  expect(result.charge).toMatchObject({ kind: 'reapproval', cycle: v.cycle });
});

it('check gives no verdict (9000): the charge goes ahead; the dead key shows as its 1193 and the usual re-approval', async () => {
  const input = subscriptionInput({ interval: 'P6M', amount: 2400 });
  const handle = await active(input);
  const v0 = await state(handle);
  const due = Date.parse(v0.nextChargeAt!);
  const key = sandboxRegKey(t.h, v0.regKeyMasked);
  t.h.sandbox.control.addFault({
    api: 'checkRegKey',
    times: 1,
    action: { kind: 'return_code', code: '9000' },
  });
  t.h.sandbox.control.expireRegKey(key.regKey); // revoked by the customer in LINE Pay's settings

  const v = await skipUntil(t.h, handle, (s) => s.status === 'reapproval_required', '2 days', 120);
  expect(key.calls('/check').map((q) => q.returnCode)).toEqual(['9000']);
  expect(v.audit.map((a) => a.reason)).toContain(
    'regKey check before cycle 1 gave no verdict (9000); charging on the due date as usual',
  );
  const attempts = chargeAttemptsOf(t.h, input.subscriptionId);
  expect(attempts.map((q) => q.returnCode)).toEqual(['1193']);
  expect(Date.parse(attempts[0]!.at)).toBeGreaterThanOrEqual(due);
  expect(reapprovalEntry(v)!.reason).toMatch(/1193/);
});
