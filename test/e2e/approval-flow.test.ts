import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SubscriptionView } from '../../workflows/messages.js';
import { parseOrderId } from '../../workflows/order-id.js';
import { CHROMIUM_PATH, skipBrowserTest } from '../helpers/chromium.js';
import '../helpers/quiet-runtime.js';
import { eventually, type ServiceStack, startServiceStack } from '../helpers/service-stack.js';

const RESULTS = path.resolve('test-results');

// The one-line notice with the install command comes from global-setup.ts.
describe.skipIf(skipBrowserTest)('approval in a real browser', () => {
  let stack: ServiceStack;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    stack = await startServiceStack(inject('temporalAddress'), `e2e-${randomUUID()}`);
    profile = mkdtempSync(path.join(tmpdir(), 'e2e-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('create over HTTP → approve on the LINE Pay page → active → automatic charges', async () => {
    const id = `e2e-${randomUUID()}`;
    const res = await stack.api('/subscriptions', {
      method: 'POST',
      body: {
        subscriptionId: id,
        customerId: 'e2e-customer',
        productName: '月訂閱 Premium',
        amount: 390,
        currency: 'TWD',
        interval: 'PT10S',
      },
    });
    expect(res.status).toBe(201);
    const { paymentUrl } = (await res.json()) as { paymentUrl: { web: string } };

    const page = await context.newPage();
    await page.goto(paymentUrl.web);
    await page.click('#approve');
    await page.waitForURL((url) => url.pathname === '/linepay/confirm', { timeout: 30_000 });
    const result = page.locator('#result');
    await result.waitFor();
    expect(await result.getAttribute('data-status')).toBe('active');
    expect(await page.textContent('h1')).toContain('active');
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, 'approval-flow-result.png'), fullPage: true });

    // The worker bills every 10 s from here on: wait for two automatic charges.
    const view = await eventually(
      async () => {
        const v = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
        return v.charges.filter((c) => c.kind === 'recurring').length >= 2 ? v : undefined;
      },
      60_000,
      1_000,
    );
    expect(view.status).toBe('active');
    expect(view.charges[0]?.kind).toBe('approval');
    const ledger = stack.sandbox.control.ledger();
    for (const charge of view.charges) {
      expect(typeof charge.transactionId).toBe('string');
      expect(ledger.some((e) => e.transactionId === charge.transactionId && e.amount === 390)).toBe(true);
    }

    // The page re-loaded (a customer pressing refresh) is harmless: same result, no extra charge.
    const approval = view.charges[0]!;
    const confirmsOf = () =>
      stack.sandbox.control.requests().filter((r) => r.path.endsWith(`/${approval.transactionId}/confirm`));
    const confirmsBefore = confirmsOf().length;
    expect(confirmsBefore).toBeGreaterThanOrEqual(1);
    await page.reload();
    expect(await page.locator('#result').getAttribute('data-tone')).toBe('active');
    expect(await page.locator('#result').getAttribute('data-status')).toBe('active');
    expect(confirmsOf()).toHaveLength(confirmsBefore);
    const approvalEntries = stack.sandbox.control.ledger().filter((e) => e.orderId === approval.orderId);
    expect(approvalEntries.map((e) => [e.kind, e.transactionId])).toEqual([
      ['payment', approval.transactionId],
    ]);
    // Billing goes on every 10 s, so the ledger may grow, but only by one payment per cycle the view records.
    const after = (await (await stack.api(`/subscriptions/${id}`)).json()) as SubscriptionView;
    const mine = stack.sandbox.control.ledger().filter((e) => parseOrderId(e.orderId)?.subscriptionId === id);
    expect(mine.every((e) => e.kind === 'payment')).toBe(true);
    const cycles = mine.map((e) => parseOrderId(e.orderId)!.cycle);
    expect(new Set(cycles).size).toBe(cycles.length);
    const unrecorded = mine.filter((e) => !after.charges.some((c) => c.transactionId === e.transactionId));
    expect(unrecorded.length).toBeLessThanOrEqual(1); // a charge may land between the two reads
  });
});
