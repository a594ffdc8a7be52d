import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  LinePayClient,
  LinePayError,
  type LinePayErrorCode,
  type PaymentRequestBody,
} from '../../activities/linepay/index.js';
import {
  createSandboxApp,
  createSandboxState,
  type RunningSandbox,
  type SandboxClock,
  startSandbox,
} from '../../sandbox/index.js';

// The sandbox's injectable clock (issue 11 item 7): every expiry and every date it writes follow it,
// sync or async (the time-skipping test server's `currentTimeMs()` is async).

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const START = Date.parse('2031-03-01T10:00:00Z');
let seq = 0;

function clientFor(url: string, channel: { channelId: string; channelSecret: string }): LinePayClient {
  return new LinePayClient({ ...channel, baseUrl: url });
}

function orderId(label: string): string {
  seq += 1;
  return `clk-${label}-${seq}`;
}

function reservation(opts: { capture?: boolean } = {}): PaymentRequestBody {
  return {
    amount: 300,
    currency: 'TWD',
    orderId: orderId('reserve'),
    packages: [{ id: 'p', amount: 300, products: [{ name: 'Plan', quantity: 1, price: 300 }] }],
    redirectUrls: { confirmUrl: 'https://merchant.example/ok', cancelUrl: 'https://merchant.example/no' },
    options: {
      payment: { payType: 'PREAPPROVED', ...(opts.capture === undefined ? {} : { capture: opts.capture }) },
    },
  };
}

function charge(id: string, extra: { capture?: boolean } = {}) {
  return { productName: 'Plan', amount: 490, currency: 'TWD' as const, orderId: id, ...extra };
}

async function register(sb: RunningSandbox, lp: LinePayClient): Promise<string> {
  const body = reservation();
  const reserved = await lp.requestPayment(body);
  sb.control.approve(reserved.transactionId);
  const confirmed = await lp.confirm(reserved.transactionId, { amount: 300, currency: 'TWD' });
  return confirmed.regKey ?? '';
}

async function rejected(
  promise: Promise<unknown>,
  code: LinePayErrorCode,
  returnCode: string,
): Promise<void> {
  const err = await promise.then(
    (v) => {
      throw new Error(`expected ${returnCode}, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinePayError);
  expect(err).toMatchObject({ code, returnCode });
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Stands in for `TestWorkflowEnvironment`: async reads, time that only moves when told to. */
class SkippingClock {
  #ms = START;
  reads = 0;
  readonly now: SandboxClock = async () => {
    this.reads += 1;
    await new Promise((resolve) => setImmediate(resolve));
    return this.#ms;
  };
  skip(ms: number): void {
    this.#ms += ms;
  }
}

describe('a sync clock', () => {
  it('dates the payments, ledger, request log and regKeys it writes', async () => {
    let now = START;
    const sb = await startSandbox({ now: () => now });
    try {
      const lp = clientFor(sb.url, sb);
      const regKey = await register(sb, lp);
      now += 3 * DAY;
      const id = orderId('dated');
      const paid = await lp.payPreapproved(regKey, charge(id));
      expect(paid.transactionDate).toBe(iso(START + 3 * DAY));
      now += 5 * MINUTE;
      const [detail] = await lp.getPaymentDetails({ orderId: id });
      expect(detail?.transactionDate).toBe(iso(START + 3 * DAY));
      expect(sb.control.ledger().find((e) => e.orderId === id)?.at).toBe(
        new Date(START + 3 * DAY).toISOString(),
      );
      const log = sb.control.requests();
      expect(log.find((r) => r.orderId === id)?.at).toBe(new Date(START + 3 * DAY).toISOString());
      expect(log.at(-1)?.at).toBe(new Date(START + 3 * DAY + 5 * MINUTE).toISOString());
      expect(sb.control.regKeys()[0]?.lastPaymentAt).toBe(new Date(START + 3 * DAY).toISOString());
    } finally {
      await sb.close();
    }
  });

  it('expires a capture=false authorization after its lifetime: EXPIRED_AUTHORIZATION, capture and void 1180', async () => {
    let now = START;
    const sb = await startSandbox({ now: () => now, behaviour: { authorizationLifetimeMs: 2 * DAY } });
    try {
      const lp = clientFor(sb.url, sb);
      const regKey = await register(sb, lp);
      const early = await lp.payPreapproved(regKey, charge(orderId('auth-early'), { capture: false }));
      const late = await lp.payPreapproved(regKey, charge(orderId('auth-late'), { capture: false }));
      expect(late.authorizationExpireDate).toBe(iso(START + 2 * DAY));

      now += 2 * DAY; // the last moment it is still valid
      await lp.capture(early.transactionId, { amount: 490, currency: 'TWD' });
      now += 1_000;
      const [detail] = await lp.getPaymentDetails({ transactionId: late.transactionId });
      expect(detail?.payStatus).toBe('EXPIRED_AUTHORIZATION');
      await rejected(
        lp.capture(late.transactionId, { amount: 490, currency: 'TWD' }),
        'declined_hard',
        '1180',
      );
      await rejected(lp.void(late.transactionId), 'declined_hard', '1180');
      expect(sb.control.ledger().map((e) => e.transactionId)).toContain(early.transactionId);
      expect(sb.control.ledger().map((e) => e.transactionId)).not.toContain(late.transactionId);
    } finally {
      await sb.close();
    }
  });
});

describe('an async clock (what a time-skipping test server gives)', () => {
  it('is read per request: reservation, approval window and regKey idle expiry follow skipped time', async () => {
    const clock = new SkippingClock();
    const sb = await startSandbox({ now: clock.now });
    try {
      const lp = clientFor(sb.url, sb);
      const stale = await lp.requestPayment(reservation());
      clock.skip(21 * MINUTE);
      expect(await lp.checkRequestStatus(stale.transactionId)).toBe('canceled_or_expired');
      await rejected(
        lp.confirm(stale.transactionId, { amount: 300, currency: 'TWD' }),
        'declined_hard',
        '1180',
      );

      const approved = await lp.requestPayment(reservation());
      sb.control.approve(approved.transactionId);
      clock.skip(21 * MINUTE);
      await rejected(
        lp.confirm(approved.transactionId, { amount: 300, currency: 'TWD' }),
        'declined_hard',
        '1180',
      );

      const regKey = await register(sb, lp);
      clock.skip(179 * DAY);
      await lp.checkRegKey(regKey);
      const kept = await lp.payPreapproved(regKey, charge(orderId('before-idle')));
      expect(kept.transactionDate).toBe(iso(START + 42 * MINUTE + 179 * DAY));
      clock.skip(180 * DAY + 1);
      await rejected(lp.payPreapproved(regKey, charge(orderId('idle'))), 'regkey_dead', '1193');
      expect(clock.reads).toBeGreaterThan(0);
    } finally {
      await sb.close();
    }
  });

  it('in-process control calls use the latest reading; readClock() brings it up to date', async () => {
    const clock = new SkippingClock();
    const sb = await startSandbox({ now: clock.now });
    try {
      const lp = clientFor(sb.url, sb);
      const regKey = await register(sb, lp);
      clock.skip(181 * DAY);
      expect(sb.control.regKeys().find((k) => k.regKey === regKey)?.status).toBe('ACTIVE');
      expect(await sb.control.readClock()).toBe(START + 181 * DAY);
      expect(sb.control.regKeys().find((k) => k.regKey === regKey)?.status).toBe('EXPIRED');

      const reserved = await lp.requestPayment(reservation());
      clock.skip(21 * MINUTE);
      // The HTTP control route reads the clock itself.
      const res = await fetch(`${sb.url}/__sandbox/transactions/${reserved.transactionId}/approve`, {
        method: 'POST',
      });
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({ error: 'This payment request has expired.' });
    } finally {
      await sb.close();
    }
  });

  it('refuses a clock that does not give milliseconds', async () => {
    await expect(startSandbox({ now: async () => Number.NaN })).rejects.toThrow(/milliseconds/);
    expect(() => createSandboxState({ now: () => 'soon' as unknown as number })).toThrow(/milliseconds/);
  });
});

describe('createSandboxApp({ now })', () => {
  it('serves a sandbox on a caller-owned server with the given clock', async () => {
    let now = START;
    const state = createSandboxState({ now: () => now, reservationTtlMs: 5 * MINUTE });
    const server = createServer(createSandboxApp(state));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const lp = clientFor(url, state.config);
      const reserved = await lp.requestPayment(reservation());
      now += 5 * MINUTE + 1;
      expect(await lp.checkRequestStatus(reserved.transactionId)).toBe('canceled_or_expired');
      const [entry] = state.store.requests;
      expect(entry?.at).toBe(new Date(START).toISOString());

      // Options instead of a state build one with the same clock.
      const fromOptions = createServer(createSandboxApp({ now: () => now }));
      await new Promise<void>((resolve) => fromOptions.listen(0, '127.0.0.1', resolve));
      try {
        const other = `http://127.0.0.1:${(fromOptions.address() as AddressInfo).port}`;
        const lp2 = clientFor(other, state.config);
        const r = await lp2.requestPayment(reservation());
        now += 21 * MINUTE;
        expect(await lp2.checkRequestStatus(r.transactionId)).toBe('canceled_or_expired');
      } finally {
        fromOptions.closeAllConnections();
        await new Promise((resolve) => fromOptions.close(resolve));
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
