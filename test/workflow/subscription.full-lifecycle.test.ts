import { expect, it } from 'vitest';
import { cancelUpdate, changePlanUpdate, pauseUpdate, resumeUpdate } from '../../workflows/messages.js';
import {
  orderIdOf,
  paymentsOf,
  recordHistory,
  skipUntil,
  startActiveSubscription,
  state,
  subscriptionInput,
  useSubscriptionHarness,
} from '../helpers/subscription-harness.js';

const t = useSubscriptionHarness('full-lifecycle');

const merchant = { kind: 'merchant' as const, id: 'backend' };

/**
 * One subscription through everything that shapes history: approval, charges, an unknown outcome
 * settled by lookup, a soft decline and recovery, a plan change, pause/resume and cancellation.
 * With RECORD_HISTORIES=1 its history is written to test/fixtures/histories/ for the replay test.
 */
it('runs a full lifecycle and keeps every cycle charged exactly once', async () => {
  const input = subscriptionInput({
    subscriptionId: `lifecycle-${Date.now().toString(36)}`,
    interval: 'P1M',
    amount: 777,
  });
  const handle = await startActiveSubscription(t.h, input);
  const sid = input.subscriptionId;
  const v0 = await state(handle);
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId: orderIdOf(v0, 1) },
    times: 1,
    action: { kind: 'drop_after_commit' },
  });
  t.h.sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { orderId: orderIdOf(v0, 2) },
    times: 1,
    action: { kind: 'return_code', code: '1142' },
  });
  await skipUntil(t.h, handle, (s) => s.paidCycles >= 3, '1 day');
  await handle.executeUpdate(changePlanUpdate, { args: [{ actor: merchant, amount: 888 }] });
  await skipUntil(t.h, handle, (s) => s.paidCycles >= 4, '1 day');
  await handle.executeUpdate(pauseUpdate, { args: [{ actor: merchant, reason: 'holiday' }] });
  await t.env.sleep('40 days');
  await handle.executeUpdate(resumeUpdate, { args: [{ actor: merchant }] });
  await skipUntil(t.h, handle, (s) => s.paidCycles >= 5, '1 day');
  await handle.executeUpdate(cancelUpdate, { args: [{ actor: merchant, reason: 'done' }] });
  const final = await handle.result();

  expect(final.status).toBe('canceled');
  expect(
    final.charges.map((c) => [c.cycle, c.amount, c.orderId.slice(`${sid}-${v0.instanceId}`.length)]),
  ).toEqual([
    [0, 777, '-c0'],
    [1, 777, '-c1'],
    [2, 777, '-c2-a1'],
    [3, 888, '-c3'],
    [5, 888, '-c5'],
  ]);
  expect(final.skippedCycles).toEqual([4]);
  expect(final.charges[1]!.recovered).toBe(true);
  const ledger = paymentsOf(t.h, sid);
  expect(ledger.map((e) => e.orderId).sort()).toEqual(final.charges.map((c) => c.orderId).sort());
  const view = await state(handle);
  expect(JSON.stringify(view)).not.toMatch(/RK[0-9A-Z]{13}/); // no regKey in the read model

  // Even without the payload codec, no regKey is in history: it crosses activities only sealed.
  const json = await recordHistory(handle, 'full-lifecycle');
  const events = (JSON.parse(json) as { events: unknown[] }).events.length;
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)]
    .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
    .join('\n');
  expect(decoded).toContain(sid); // the decoding works: payloads are readable JSON
  for (const { regKey } of t.h.sandbox.control.regKeys()) {
    expect(decoded).not.toContain(regKey);
    expect(json).not.toContain(regKey);
  }
  console.log(`[full-lifecycle] ${events} history events for ${final.paidCycles} paid cycles`);
});
