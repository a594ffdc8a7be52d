/**
 * What trials rely on at LINE Pay, against the sandbox with a clock the test moves: a PREAPPROVED
 * Request with capture=false (refused 2103 unless the channel has capture separation), its Confirm as
 * an AUTHORIZATION with a regKey, and the `voidAuthorization` activity settling by Payment Details
 * whatever Void answers (voided, already voided, expired, captured, or a failure while still live).
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LinePayClient } from '../../activities/linepay/index.js';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import { createActivities, type LinePayActivities } from '../../activities/subscription-activities.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import type { RegKeyOwner } from '../../workflows/activity-contract.js';
import { ACTIVITY_FAILURE_TYPES } from '../../workflows/failure-types.js';

const DAY = 86_400_000;
let now = Date.parse('2028-03-01T00:00:00Z');
let sb: RunningSandbox;
let lp: LinePayClient;
let acts: LinePayActivities;
let seq = 0;
const quiet = new DefaultLogger('ERROR');

beforeAll(async () => {
  sb = await startSandbox({ port: 0, now: () => now });
  lp = new LinePayClient({ channelId: sb.channelId, channelSecret: sb.channelSecret, baseUrl: sb.url });
  acts = createActivities({
    linePay: lp,
    vault: new RegKeyVault(randomBytes(32)),
    callbackSigningKey: randomBytes(32),
  });
});

afterAll(async () => {
  await sb.close();
});

beforeEach(() => {
  sb.control.clearFaults();
  sb.control.setBehaviour({ preapprovedAuthorization: true });
});

function unique(label: string): string {
  seq += 1;
  return `trial-${label}-${seq}`;
}

function run<K extends keyof LinePayActivities>(
  name: K,
  input: Parameters<LinePayActivities[K]>[0],
): ReturnType<LinePayActivities[K]> {
  const e = new MockActivityEnvironment(
    { startToCloseTimeoutMs: 60_000, scheduleToCloseTimeoutMs: 0, scheduledTimestampMs: Date.now() },
    { logger: quiet },
  );
  const fn = acts[name] as (i: typeof input) => ReturnType<LinePayActivities[K]>;
  return e.run(fn, input) as ReturnType<LinePayActivities[K]>;
}

/** A trial's approval through the activities: 1 TWD, authorized only; returns its transactionId. */
async function authorized(): Promise<{ transactionId: string; orderId: string; regKeyMasked: string }> {
  const who: RegKeyOwner = { subscriptionId: unique('sub'), instanceId: randomBytes(4).toString('hex') };
  const reserved = await run('reservePreapproved', {
    subscriptionId: who.subscriptionId,
    instanceId: who.instanceId,
    orderId: unique('c0'),
    productName: '月訂閱 Premium',
    amount: 1,
    currency: 'TWD',
    confirmUrl: 'https://merchant.example/linepay/confirm',
    cancelUrl: 'https://merchant.example/linepay/cancel',
    capture: false,
  });
  sb.control.approve(reserved.transactionId);
  const confirmed = await run('confirmPreapproved', {
    owner: who,
    transactionId: reserved.transactionId,
    orderId: reserved.orderId,
    amount: 1,
    currency: 'TWD',
  });
  if (confirmed.outcome !== 'confirmed') throw new Error(`confirm: ${JSON.stringify(confirmed)}`);
  return {
    transactionId: reserved.transactionId,
    orderId: reserved.orderId,
    regKeyMasked: confirmed.regKeyMasked,
  };
}

async function payStatus(transactionId: string): Promise<string | undefined> {
  const [d] = await lp.getPaymentDetails({ transactionId });
  return d?.payStatus;
}

describe('a PREAPPROVED Request with capture=false', () => {
  it('is refused with 2103 on a channel without capture separation (the default), and the activity says why', async () => {
    sb.control.setBehaviour({ preapprovedAuthorization: false });
    const err = await run('reservePreapproved', {
      subscriptionId: unique('sub'),
      instanceId: 'a1b2c3d4',
      orderId: unique('c0'),
      productName: 'x',
      amount: 1,
      currency: 'TWD',
      confirmUrl: 'https://merchant.example/linepay/confirm',
      cancelUrl: 'https://merchant.example/linepay/cancel',
      capture: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ACTIVITY_FAILURE_TYPES.requestRejected);
    expect((err as ApplicationFailure).message).toMatch(/capture=false.*\(2103\)/);
    // capture=true stays fine on the same channel.
    const ok = await run('reservePreapproved', {
      subscriptionId: unique('sub'),
      instanceId: 'a1b2c3d4',
      orderId: unique('c0'),
      productName: 'x',
      amount: 1,
      currency: 'TWD',
      confirmUrl: 'https://merchant.example/linepay/confirm',
      cancelUrl: 'https://merchant.example/linepay/cancel',
    });
    expect(ok.transactionId).toMatch(/^\d{19}$/);
  });

  it('confirms as an AUTHORIZATION with a regKey and authorizationExpireDate; no money moves', async () => {
    const a = await authorized();
    expect(a.regKeyMasked).toMatch(/^RK/);
    const [d] = await lp.getPaymentDetails({ transactionId: a.transactionId });
    expect(d?.payStatus).toBe('AUTHORIZATION');
    expect(d?.authorizationExpireDate).toBe(new Date(now + 7 * DAY).toISOString().replace('.000Z', 'Z'));
    expect(sb.control.ledger().filter((e) => e.transactionId === a.transactionId)).toEqual([]);
  });
});

describe('voidAuthorization', () => {
  it('voids a live authorization; a repeat (1165) is still voided, by Details', async () => {
    const a = await authorized();
    expect(await run('voidAuthorization', { transactionId: a.transactionId })).toEqual({ outcome: 'voided' });
    expect(await payStatus(a.transactionId)).toBe('VOIDED_AUTHORIZATION');
    expect(await run('voidAuthorization', { transactionId: a.transactionId })).toEqual({ outcome: 'voided' });
    const voids = sb.control.requests().filter((r) => r.path.endsWith(`/${a.transactionId}/void`));
    expect(voids.map((r) => r.returnCode)).toEqual(['0000', '1165']);
  });

  it('an authorization past its 7 days (Void answers 1180) is expired: nothing was taken', async () => {
    const a = await authorized();
    now += 7 * DAY + 1_000;
    expect(await run('voidAuthorization', { transactionId: a.transactionId })).toEqual({
      outcome: 'expired',
    });
    expect(await payStatus(a.transactionId)).toBe('EXPIRED_AUTHORIZATION');
  });

  it('a captured one says so (the workflow then refunds it)', async () => {
    const a = await authorized();
    await lp.capture(a.transactionId, { amount: 1, currency: 'TWD' });
    expect(await run('voidAuthorization', { transactionId: a.transactionId })).toEqual({
      outcome: 'captured',
    });
  });

  it('a failed Void of a live authorization is retried (transient), never counted as done', async () => {
    const a = await authorized();
    sb.control.addFault({
      api: 'void',
      match: { orderId: a.orderId },
      action: { kind: 'return_code', code: '9000' },
    });
    const err = await run('voidAuthorization', { transactionId: a.transactionId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ACTIVITY_FAILURE_TYPES.transient);
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect(await payStatus(a.transactionId)).toBe('AUTHORIZATION');
    // The same failing Void once the authorization has lapsed: expired, settled.
    now += 8 * DAY;
    expect(await run('voidAuthorization', { transactionId: a.transactionId })).toEqual({
      outcome: 'expired',
    });
  });
});
