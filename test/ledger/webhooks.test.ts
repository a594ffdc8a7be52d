import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseWebhookSecret } from '../../ledger/config.js';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import type { RetryPolicy } from '../../ledger/webhooks/backoff.js';
import { type DispatcherLogger, WebhookDispatcher } from '../../ledger/webhooks/dispatcher.js';
import { deliveryStats, listDeliveries, resendEvent } from '../../ledger/webhooks/outbox.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';
import { startReceiver } from './helpers/receiver.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** Fast retries so a test sees several attempts; the shipped schedule is unit-tested in backoff.test.ts. */
const FAST: RetryPolicy = { initialDelayMs: 20, factor: 1.5, maxDelayMs: 100, retryForMs: 60_000, jitter: 0 };

function lifecycle(s: EventStream) {
  return [
    s.next('subscription.activated', { cycle: 0 }),
    s.charge(0),
    s.charge(1),
    s.charge(2),
    s.charge(3, 'failed'),
    s.next('subscription.past_due', { cycle: 3 }),
    s.charge(3, 'succeeded', { orderId: s.orderId(3, 1) }),
    s.next('subscription.paused'),
    s.next('subscription.resumed'),
    s.next('subscription.canceled', { reason: 'customer' }),
  ];
}

function recordingLogger() {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const logger: DispatcherLogger = {
    info: (message, meta) => lines.push({ level: 'info', message, ...(meta ? { meta } : {}) }),
    warn: (message, meta) => lines.push({ level: 'warn', message, ...(meta ? { meta } : {}) }),
    error: (message, meta) => lines.push({ level: 'error', message, ...(meta ? { meta } : {}) }),
  };
  return { lines, logger };
}

describe.each(ledgerBackends())('webhooks on $name', (backend) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await backend.open();
  });
  afterAll(async () => ledger?.close());

  const dispatcher = (options: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {}) =>
    new WebhookDispatcher({
      db: ledger.db,
      secret: parseWebhookSecret(SECRET),
      policy: FAST,
      pollMs: 10,
      timeoutMs: 2_000,
      ...options,
    });

  it('two dispatchers deliver a whole life in sequence order, signed; one event failing 3 times holds the line', async () => {
    const s = new EventStream();
    const events = lifecycle(s);
    const flaky = events[3]!.id;
    const receiver = await startReceiver(SECRET, ({ id, attempt }) =>
      id === flaky && attempt <= 3 ? 503 : 200,
    );
    const store = new LedgerStore(ledger.db, [receiver.url]);
    const workers = [dispatcher(), dispatcher()];
    try {
      for (const w of workers) w.start();
      // Recorded in three batches, as the workflow's outbox would flush them.
      await store.recordEvents(events.slice(0, 4));
      await store.recordEvents(events.slice(4, 7));
      await store.recordEvents(events.slice(7));
      await vi.waitFor(() => expect(receiver.accepted()).toHaveLength(events.length), {
        timeout: 60_000,
        interval: 50,
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await receiver.close();
    }
    expect(receiver.rejected).toEqual([]);
    expect(receiver.accepted().map((r) => r.sequence)).toEqual(events.map((e) => e.sequence));
    // Every request, failed ones included, arrived in order: nothing after the flaky event went out early.
    const arrivals = receiver.received.map((r) => r.sequence);
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
    expect(receiver.received.filter((r) => r.id === flaky).map((r) => r.answered)).toEqual([
      503, 503, 503, 200,
    ]);
    const body = receiver.accepted()[1]!.body;
    expect(Object.keys(body).sort()).toEqual([
      'data',
      'id',
      'occurredAt',
      'sequence',
      'subscriptionId',
      'type',
    ]);
    expect(body).toMatchObject({
      id: events[1]!.id,
      type: 'charge.succeeded',
      subscriptionId: s.subscriptionId,
    });
    expect(body.data).toMatchObject({ cycle: 0, orderId: s.orderId(0), amount: 390, currency: 'TWD' });
    expect(typeof (body.data as { transactionId: unknown }).transactionId).toBe('string');
    const [delivery] = await listDeliveries(ledger.db, flaky);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200 });
    expect(delivery?.history.map((h) => h.statusCode)).toEqual([503, 503, 503, 200]);
  });

  it('does not send an event before the one before it is recorded', async () => {
    const s = new EventStream();
    const [first, second] = [s.next('subscription.activated'), s.next('subscription.paused')];
    const receiver = await startReceiver(SECRET);
    const store = new LedgerStore(ledger.db, [receiver.url]);
    const w = dispatcher();
    try {
      await store.recordEvents([second]);
      expect(await w.runOnce()).toBe(0);
      await store.recordEvents([first]);
      await vi.waitFor(async () => {
        await w.runOnce();
        expect(receiver.accepted()).toHaveLength(2);
      });
    } finally {
      await receiver.close();
    }
    expect(receiver.accepted().map((r) => r.sequence)).toEqual([1, 2]);
  });

  it('retries 4xx, resets and timeouts, and keeps at most 1 KiB of an answer', async () => {
    const s = new EventStream();
    const event = s.next('subscription.activated');
    const answers = ['reset', 'hang', { status: 400, body: 'x'.repeat(100_000) }, 410] as const;
    const receiver = await startReceiver(SECRET, ({ attempt }) => answers[attempt - 1] ?? 200);
    const store = new LedgerStore(ledger.db, [receiver.url]);
    const w = dispatcher({ timeoutMs: 300 });
    try {
      await store.recordEvents([event]);
      await vi.waitFor(
        async () => {
          await w.runOnce();
          expect(receiver.accepted()).toHaveLength(1);
        },
        { timeout: 30_000, interval: 30 },
      );
    } finally {
      await receiver.close();
    }
    const [d] = await listDeliveries(ledger.db, event.id);
    expect(d?.status).toBe('delivered');
    expect(d?.history.map((h) => h.statusCode ?? h.error)).toEqual(['ECONNRESET', 'timeout', 400, 410, 200]);
    const stored = await ledger.db
      .selectFrom('webhook_attempts')
      .select('response_body')
      .where('status_code', '=', 400)
      .execute();
    expect(stored.every((r) => (r.response_body ?? '').length <= 1024)).toBe(true);
    expect(stored.some((r) => (r.response_body ?? '').length === 1024)).toBe(true);
  });

  it('gives up after the retry window, says so in the log, the metric and the API, and resends on request', async () => {
    const s = new EventStream();
    const event = s.next('subscription.activated');
    let up = false;
    const receiver = await startReceiver(SECRET, () => (up ? 200 : 500));
    const store = new LedgerStore(ledger.db, [receiver.url]);
    const { lines, logger } = recordingLogger();
    const counted: string[] = [];
    const metricMeter = {
      createCounter: (name: string) => ({ add: () => counted.push(name) }),
    } as unknown as ConstructorParameters<typeof WebhookDispatcher>[0]['metricMeter'];
    const w = dispatcher({
      policy: { ...FAST, retryForMs: 150 },
      logger,
      ...(metricMeter ? { metricMeter } : {}),
    });
    try {
      await store.recordEvents([event]);
      await vi.waitFor(
        async () => {
          await w.runOnce();
          expect((await listDeliveries(ledger.db, event.id))[0]?.status).toBe('failed');
        },
        { timeout: 30_000, interval: 30 },
      );
      expect(lines.filter((l) => l.level === 'error')).toMatchObject([{ meta: { eventId: event.id } }]);
      expect(counted).toContain('ledger_webhook_failed');
      expect((await deliveryStats(ledger.db)).failed).toBeGreaterThanOrEqual(1);

      up = true;
      expect(await resendEvent(ledger.db, event.id)).toBe(1);
      await vi.waitFor(async () => {
        await w.runOnce();
        expect(receiver.accepted()).toHaveLength(1);
      });
    } finally {
      await receiver.close();
    }
    const [d] = await listDeliveries(ledger.db, event.id);
    expect(d).toMatchObject({ status: 'delivered', resends: 1, attempts: 1 });
  });
});
