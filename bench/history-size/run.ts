/**
 * History size of the subscription workflow: events per billed cycle and per year of monthly billing,
 * measured on the real time-skipping server with the local LINE Pay sandbox.
 * Run: npx tsx bench/history-size/run.ts
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  type Harness,
  startActiveSubscription,
  startHarness,
  subscriptionInput,
} from '../../test/helpers/subscription-harness.js';
import { createTimeSkippingEnv } from '../../test/helpers/time-skipping.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

async function eventsOf(
  h: Harness,
  workflowId: string,
  runId: string,
): Promise<{ events: number; bytes: number }> {
  const history = await h.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  return { events: events.length, bytes: JSON.stringify(events).length };
}

const env = await createTimeSkippingEnv();
const h = await startHarness(env, 'bench-history');
try {
  for (const cycles of [1, 13, 25]) {
    const input = subscriptionInput({ interval: 'P1M', maxCycles: cycles });
    const handle = await startActiveSubscription(h, input);
    const firstRun = (await handle.describe()).runId;
    await handle.result();
    // Walk the continue-as-new chain from the first run.
    let runId: string | undefined = firstRun;
    const runs: { events: number; bytes: number }[] = [];
    while (runId) {
      runs.push(await eventsOf(h, handle.workflowId, runId));
      const history = await h.env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      runId =
        history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
        undefined;
    }
    const total = runs.reduce((a, r) => a + r.events, 0);
    console.log(
      `maxCycles=${cycles}: ${runs.length} run(s), events per run [${runs.map((r) => r.events).join(', ')}], total ${total}, ` +
        `largest run ${Math.max(...runs.map((r) => r.bytes))} bytes`,
    );
  }
} finally {
  await h.close();
  await env.teardown();
}
