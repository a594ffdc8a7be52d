import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import {
  cancelUpdate,
  confirmUpdate,
  paymentLinkUpdate,
  type SubscriptionView,
  stateQuery,
  workflowIdFor,
} from '../../workflows/messages.js';
import { parseOrderId } from '../../workflows/order-id.js';
import type { subscriptionWorkflow } from '../../workflows/subscription.js';
import { eventually } from '../helpers/service-stack.js';
import { subscriptionInput, workflowBundle } from '../helpers/subscription-harness.js';
import type { WorkerChildConfig } from '../helpers/worker-child.js';

const CHILD = fileURLToPath(new URL('../helpers/worker-child.ts', import.meta.url));
const key = { id: 'kill-k1', key: randomBytes(32) };
const taskQueue = `sigkill-${randomUUID()}`;

let sandbox: RunningSandbox;
let connection: Connection;
let client: Client;
let bundlePath: string;
const children: ChildProcess[] = [];

/** Starts a worker process and resolves once it polls. */
async function startWorkerProcess(identity: string): Promise<ChildProcess> {
  const config: WorkerChildConfig = {
    address: inject('temporalAddress'),
    taskQueue,
    identity,
    bundlePath,
    linePay: { baseUrl: sandbox.url, channelId: sandbox.channelId, channelSecret: sandbox.channelSecret },
    key: { id: key.id, key: key.key.toString('base64') },
  };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, WORKER_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`worker ${identity} exited (${code}): ${stderr.slice(-2000)}`)),
    );
  });
  return child;
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  bundlePath = workflowBundle().codePath; // the run's prebuilt bundle, as a deployed worker loads one
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default', dataConverter: createDataConverter([key]) });
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await connection?.close();
  await sandbox?.close();
});

it('a worker SIGKILLed while LINE Pay holds a committed charge: another worker settles it, one payment', async () => {
  const victim = await startWorkerProcess('victim-worker');
  const input = subscriptionInput({ interval: 'PT10S', amount: 777 });
  const workflowId = workflowIdFor(input.subscriptionId);
  await client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
    taskQueue,
    workflowId,
    args: [input],
  });
  const handle = client.workflow.getHandle<typeof subscriptionWorkflow>(workflowId);
  await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  const reservation = (await handle.query(stateQuery)).reservation!;
  const { redirectUrl } = sandbox.control.approve(reservation.transactionId);
  const back = new URL(redirectUrl);
  const confirmed = await handle.executeUpdate(confirmUpdate, {
    args: [
      { transactionId: back.searchParams.get('transactionId')!, orderId: back.searchParams.get('orderId')! },
    ],
  });
  expect(confirmed.status).toBe('active');

  // Cycle 1's charge commits at LINE Pay, and the answer never comes.
  sandbox.control.addFault({
    api: 'preapprovedPay',
    match: { amount: 777 },
    times: 1,
    action: { kind: 'hang_after_commit' },
  });
  const hung = await eventually(
    async () =>
      sandbox.control
        .requests()
        .find((r) => r.fault === 'hang_after_commit' && parseOrderId(r.orderId ?? '')?.cycle === 1),
    60_000,
    100,
  );
  const cycleOneOrderId = hung.orderId!;
  expect(sandbox.control.ledger().filter((e) => e.orderId === cycleOneOrderId)).toHaveLength(1);

  victim.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise((resolve) => victim.once('exit', resolve));
  await startWorkerProcess('rescue-worker');

  const recovered = await eventually(
    async () => {
      const v = await handle.query(stateQuery);
      return v.charges.some((c) => c.cycle === 1) ? v : undefined;
    },
    280_000,
    250,
  );
  const recoveryMs = Date.now() - killedAt;
  console.log(`[sigkill] cycle 1 recorded ${(recoveryMs / 1000).toFixed(1)} s after the SIGKILL`);
  const final = (await handle.executeUpdate(cancelUpdate, {
    args: [{ actor: { kind: 'operator', id: 'test' }, reason: 'test over' }],
  })) as { status: string };
  expect(final.status).toBe('canceled');
  const view: SubscriptionView = await handle.query(stateQuery).catch(() => recovered);

  // Exactly one payment for cycle 1 at LINE Pay, under any orderId, recorded once, with its transactionId.
  const payments = sandbox.control
    .ledger()
    .filter((e) => e.kind === 'payment' && parseOrderId(e.orderId)?.subscriptionId === input.subscriptionId);
  const cycleOne = payments.filter((e) => parseOrderId(e.orderId)!.cycle === 1);
  expect(cycleOne).toHaveLength(1);
  const recorded = view.charges.filter((c) => c.cycle === 1);
  expect(recorded.map((c) => [c.orderId, c.transactionId])).toEqual([
    [cycleOneOrderId, cycleOne[0]!.transactionId],
  ]);
  const cycles = payments.map((e) => parseOrderId(e.orderId)!.cycle);
  expect(new Set(cycles).size).toBe(cycles.length);

  // The recovery path is in history: the victim's workflow task (running the charge as a local
  // activity) timed out, and the rescuer ran the charge again in the next one (LINE Pay answered 1172,
  // settled by lookup inside the activity), or looked the orderId up as an activity.
  const events = (await handle.fetchHistory()).events ?? [];
  const taskTimedOut = events.some(
    (e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes,
  );
  let completedBy: string | undefined;
  const localCharges: { identity: string | undefined; attempt: number }[] = [];
  for (const e of events) {
    if (e.workflowTaskCompletedEventAttributes)
      completedBy = e.workflowTaskCompletedEventAttributes.identity ?? undefined;
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.details?.data?.payloads?.[0]?.data;
    if (marker?.markerName !== 'core_local_activity' || !data) continue;
    const info = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string; attempt: number };
    if (info.activity_type === 'chargePreapproved')
      localCharges.push({ identity: completedBy, attempt: info.attempt });
  }
  console.log('[sigkill] local charges in history', localCharges, { taskTimedOut });
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) scheduled.set(String(e.eventId), a.activityType?.name ?? '');
  }
  const started = events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => ({
      id: String(e.eventId),
      type: scheduled.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)),
      identity: e.activityTaskStartedEventAttributes!.identity,
      attempt: e.activityTaskStartedEventAttributes!.attempt ?? 1,
      lastFailure: e.activityTaskStartedEventAttributes!.lastFailure?.message,
    }));
  const byRescuer = started.filter((s) => s.identity === 'rescue-worker');
  console.log('[sigkill] activities started by the rescuer', byRescuer);
  const lookup = byRescuer.find((s) => s.type === 'lookupCharge');
  const rescuedCharge = localCharges.find((c) => c.identity === 'rescue-worker');
  expect(rescuedCharge ?? lookup).toBeDefined();
  if (rescuedCharge) expect(taskTimedOut).toBe(true);
  // At LINE Pay, the rescuer's attempt under the same orderId was refused (1172) or looked up, never paid anew.
  const log = sandbox.control.requests();
  const after = log.slice(
    log.findIndex((r) => r.fault === 'hang_after_commit' && r.orderId === cycleOneOrderId) + 1,
  );
  const sameOrder = after.filter((r) => r.orderId === cycleOneOrderId);
  expect(sameOrder.length).toBeGreaterThanOrEqual(1);
  for (const r of sameOrder) if (r.path.endsWith('/payment')) expect(r.returnCode).toBe('1172');
}, 360_000);
