import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { cancelUpdate } from '../../workflows/messages.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';
import {
  type Harness,
  orderIdOf,
  paymentsOf,
  startActiveSubscription,
  startHarness,
  state,
  subscriptionInput,
} from '../helpers/subscription-harness.js';

let env: TestWorkflowEnvironment;
let h: Harness;
beforeAll(async () => {
  // A dev server of its own that suggests continue-as-new after 25 events (the default is 4 Ki).
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: devServerExecutable(),
      searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
      extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=25'],
    },
  });
  h = await startHarness(env, 'can-suggested');
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

it('continues as new when the server suggests it, keeping the calendar and one orderId per cycle', async () => {
  const input = subscriptionInput({ interval: 'PT10S' });
  const handle = await startActiveSubscription(h, input);
  const v0 = await state(handle); // default tuning: every 12 cycles
  const firstRun = (await handle.describe()).runId;
  const deadline = Date.now() + 90_000;
  let v = await state(handle);
  while ((v.paidCycles < 4 || (await handle.describe()).runId === firstRun) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1_000));
    v = await state(handle);
  }
  expect((await handle.describe()).runId).not.toBe(firstRun);
  expect(v.paidCycles).toBeGreaterThanOrEqual(4);
  const firstHistory = await env.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
  expect(firstHistory.events!.length).toBeLessThan(60);
  expect(firstHistory.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

  const cycles = v.charges.map((c) => c.cycle);
  expect(cycles).toEqual(cycles.map((_, i) => i)); // 0, 1, 2, … with no gap or repeat
  const anchor = Date.parse(v.anchor!);
  for (const c of v.charges.filter((x) => x.kind === 'recurring')) {
    expect(c.dueAt).toBe(new Date(anchor + c.cycle * 10_000).toISOString());
  }
  const orderIds = paymentsOf(h, input.subscriptionId).map((e) => e.orderId);
  expect(new Set(orderIds).size).toBe(orderIds.length);
  expect(orderIds.slice(0, v.paidCycles)).toEqual(cycles.map((c) => orderIdOf(v0, c)));
  await handle.executeUpdate(cancelUpdate, { args: [{ actor: { kind: 'merchant' } }] });
});
