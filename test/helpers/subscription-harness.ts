import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { LinePayClient } from '../../activities/linepay/index.js';
import { RegKeyVault } from '../../activities/regkey-vault.js';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import type { EncryptionKey } from '../../client/temporal/payload-codec.js';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../../sandbox/index.js';
import { buildActivityDeps, createSubscriptionWorker, WORKFLOWS_PATH } from '../../worker/create-worker.js';
import {
  confirmUpdate,
  paymentLinkUpdate,
  type SubscriptionView,
  stateQuery,
  workflowIdFor,
} from '../../workflows/messages.js';
import { chargeOrderId, parseOrderId, reservationOrderId } from '../../workflows/order-id.js';
import type { SubscriptionTuning, subscriptionWorkflow } from '../../workflows/subscription.js';
import type { RecordEventsInput, SubscriptionEvent } from '../../workflows/subscription-event.js';
import { DEFAULT_BILLING_LIMITS, type SubscriptionInput } from '../../workflows/subscription-input.js';
import { memoryLedgerActivities } from './memory-ledger.js';
import { createTimeSkippingEnv, sandboxClockOf } from './time-skipping.js';
import type {} from './workflow-bundle.js';

/**
 * The workflow bundle the global setup built once for the run (`workflow-bundle.ts`); workers load the
 * file instead of running webpack per test file.
 */
export function workflowBundle(): { codePath: string } {
  return { codePath: inject('workflowBundlePath') };
}

/**
 * The workflow code for a worker: the run's prebuilt bundle under vitest, or the source to bundle at
 * start-up elsewhere (the benches reuse these helpers without vitest's global setup).
 */
export function workflowCode(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return process.env.VITEST ? { workflowBundle: workflowBundle() } : { workflowsPath: WORKFLOWS_PATH };
}

export interface Harness {
  env: TestWorkflowEnvironment;
  /** The client tests start and drive subscriptions with; `env.client` unless the harness has a codec. */
  client: Client;
  sandbox: RunningSandbox;
  taskQueue: string;
  /** Every event the workflows handed to the ledger activity, in arrival order (repeats included). */
  recordedEvents: SubscriptionEvent[];
  close(): Promise<void>;
}

/** A sandbox, a LINE Pay client on it and a worker on `env`, running until `close()`. */
export async function startHarness(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  sandboxOptions: SandboxOptions = {},
): Promise<Harness> {
  const sandbox = await startSandbox({ port: 0, now: sandboxClockOf(env), ...sandboxOptions });
  const linePay = new LinePayClient({
    channelId: sandbox.channelId,
    channelSecret: sandbox.channelSecret,
    baseUrl: sandbox.url,
    timeouts: { preapprovedPay: 5_000, details: 5_000 },
  });
  const vault = new RegKeyVault(randomBytes(32));
  const recordedEvents: SubscriptionEvent[] = [];
  const activities = {
    ...createActivities({ linePay, vault, callbackSigningKey: randomBytes(32) }),
    // Workflow tests check what the workflow emits; the ledger's own tests cover the database.
    async recordEvents({ events }: RecordEventsInput) {
      recordedEvents.push(...events);
      return { stored: events.length };
    },
  };
  const newWorker = async () =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...workflowCode(),
      activities,
    });
  let worker = await newWorker();
  let running = worker.run();
  const h: Harness = {
    env,
    client: env.client,
    sandbox,
    taskQueue,
    recordedEvents,
    async close() {
      worker.shutdown();
      await running;
      await sandbox.close();
    },
  };
  restarters.set(h, async () => {
    worker.shutdown();
    await running;
    worker = await newWorker();
    running = worker.run();
  });
  return h;
}

const restarters = new WeakMap<Harness, () => Promise<void>>();

/**
 * Shuts the worker of a `startHarness` harness down and starts a new one on its task queue (a deploy
 * mid-run). Not on the time-skipping server: it keeps routing a workflow's tasks to the gone worker's
 * sticky queue (no ResetStickyTaskQueue, no sticky timeout), so the workflow stalls.
 */
export async function restartWorker(h: Harness): Promise<void> {
  const restart = restarters.get(h);
  if (!restart) throw new Error('only a startHarness harness can restart its worker');
  await restart();
}

/**
 * The worker exactly as production builds it (`createSubscriptionWorker` over `buildActivityDeps`: the
 * LINE Pay client's default timeouts, the vault derived from the payload key) and a client with the same
 * codec data converter, on a time-skipping server. Only the ledger is in memory.
 */
export async function startProductionHarness(
  env: TestWorkflowEnvironment,
  taskQueue: string,
): Promise<Harness> {
  const sandbox = await startSandbox({ port: 0, now: sandboxClockOf(env) });
  const keys: EncryptionKey[] = [{ id: 'prod-k1', key: randomBytes(32) }];
  const dataConverter = createDataConverter(keys);
  const recordedEvents: SubscriptionEvent[] = [];
  const worker = await createSubscriptionWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activityDeps: buildActivityDeps({
      linePay: { baseUrl: sandbox.url, channelId: sandbox.channelId, channelSecret: sandbox.channelSecret },
      encryptionKeys: keys,
    }),
    ledgerActivities: memoryLedgerActivities(recordedEvents),
    dataConverter,
    ...workflowCode(),
  });
  const running = worker.run();
  const client = new Client({
    connection: env.connection,
    namespace: env.namespace ?? 'default',
    dataConverter,
  });
  return {
    env,
    client,
    sandbox,
    taskQueue,
    recordedEvents,
    async close() {
      worker.shutdown();
      await running;
      await sandbox.close();
    },
  };
}

let counter = 0;
/** A valid subscription request; each call gets a fresh subscriptionId. */
export function subscriptionInput(overrides: Partial<SubscriptionInput> = {}): SubscriptionInput {
  counter += 1;
  const subscriptionId = overrides.subscriptionId ?? `sub-${Date.now().toString(36)}-${counter}`;
  return {
    subscriptionId,
    customerId: 'cust-42',
    productName: '月訂閱 Premium',
    amount: 390,
    currency: 'TWD',
    interval: 'P1M',
    timeZone: 'Asia/Taipei',
    // As the client records them with LINEPAY_ENV=sandbox: workflow tests bill every few seconds.
    limits: { ...DEFAULT_BILLING_LIMITS, allowShortIntervals: true },
    redirectUrls: {
      confirmUrl: `https://merchant.example/linepay/confirm?subscriptionId=${subscriptionId}`,
      cancelUrl: `https://merchant.example/linepay/cancel?subscriptionId=${subscriptionId}`,
    },
    ...overrides,
  };
}

export type SubscriptionHandle = WorkflowHandle<typeof subscriptionWorkflow>;

export async function startSubscription(
  h: Harness,
  input: SubscriptionInput,
  tuning?: SubscriptionTuning,
): Promise<SubscriptionHandle> {
  await h.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
    taskQueue: h.taskQueue,
    workflowId: workflowIdFor(input.subscriptionId),
    args: tuning ? [input, { tuning }] : [input],
  });
  // No runId: queries and updates follow the chain across continue-as-new.
  return h.client.workflow.getHandle(workflowIdFor(input.subscriptionId));
}

/** What LINE Pay's redirect to our confirmUrl carries after the customer presses Approve. */
export async function approveOnLinePay(
  h: Harness,
  handle: SubscriptionHandle,
): Promise<{ transactionId: string; orderId: string }> {
  const link = await handle.executeUpdate(paymentLinkUpdate, { args: [{}] });
  if (!link.paymentUrl) throw new Error(`no payment URL; status ${link.status}`);
  const view = await handle.query(stateQuery);
  await h.sandbox.control.readClock(); // approve at the test server's time, not the last API call's
  const { redirectUrl } = h.sandbox.control.approve(view.reservation!.transactionId);
  const url = new URL(redirectUrl);
  return { transactionId: url.searchParams.get('transactionId')!, orderId: url.searchParams.get('orderId')! };
}

/** Start, approve on LINE Pay, confirm through the webhook's update: an active subscription. */
export async function startActiveSubscription(
  h: Harness,
  input: SubscriptionInput,
  tuning?: SubscriptionTuning,
): Promise<SubscriptionHandle> {
  const handle = await startSubscription(h, input, tuning);
  const ids = await approveOnLinePay(h, handle);
  const result = await handle.executeUpdate(confirmUpdate, {
    args: [ids],
    updateId: `confirm-${ids.transactionId}`,
  });
  if (result.status !== 'active')
    throw new Error(`confirm left the subscription ${result.status}: ${result.message}`);
  return handle;
}

export function state(handle: SubscriptionHandle): Promise<SubscriptionView> {
  return handle.query(stateQuery);
}

/** The orderId the workflow uses for a cycle's attempt (`-a<k>` after k failed attempts). */
export function orderIdOf(view: SubscriptionView, cycle: number, attempt = 0): string {
  return chargeOrderId(view.subscriptionId, view.instanceId, cycle, attempt);
}

/** The orderId of a reservation: `-c<cycle>` for the first approval, `-r<k>` for later ones. */
export function reservationIdOf(view: SubscriptionView, cycle: number, k = 0): string {
  return reservationOrderId(view.subscriptionId, view.instanceId, cycle, k);
}

/** Ledger payments of one subscription (any instance, any attempt), in order. */
export function paymentsOf(h: Harness, subscriptionId: string) {
  return h.sandbox.control
    .ledger()
    .filter((e) => e.kind === 'payment' && parseOrderId(e.orderId)?.subscriptionId === subscriptionId);
}

/** Every LINE Pay call the sandbox logged for one subscription's orderIds (request, confirm, pay, details…). */
export function callsOf(h: Harness, subscriptionId: string) {
  return h.sandbox.control
    .requests()
    .filter((r) => r.orderId !== undefined && parseOrderId(r.orderId)?.subscriptionId === subscriptionId);
}

/** preapprovedPay attempts the sandbox saw for one subscription, oldest first. */
export function chargeAttemptsOf(h: Harness, subscriptionId: string) {
  return callsOf(h, subscriptionId).filter(
    (r) => r.path.includes('/preapprovedPay/') && r.path.endsWith('/payment'),
  );
}

/**
 * The sandbox's record of the regKey a view shows masked (`RK…F425`): the real key, to check its state
 * and the calls made with it. Throws unless exactly one key matches.
 */
export function sandboxRegKey(h: Harness, regKeyMasked: string | undefined) {
  if (!regKeyMasked) throw new Error('the subscription shows no regKey');
  const [head, tail] = regKeyMasked.split('…');
  const matches = h.sandbox.control
    .regKeys()
    .filter((k) => k.regKey.startsWith(head ?? '') && k.regKey.endsWith(tail ?? ''));
  if (matches.length !== 1) throw new Error(`${matches.length} sandbox regKeys match ${regKeyMasked}`);
  const key = matches[0]!;
  return {
    ...key,
    masked: regKeyMasked,
    /** Calls to an API path of this key (`/check`, `/expire`, `/payment`), as the sandbox logged them. */
    calls: (suffix: string) =>
      h.sandbox.control.requests().filter((r) => r.path.endsWith(`/preapprovedPay/${regKeyMasked}${suffix}`)),
  };
}

/**
 * Lets workflow time pass on the time-skipping server until `predicate` holds, in steps. Time only
 * skips while a client waits, so tests drive it explicitly.
 */
export async function skipUntil(
  h: Harness,
  handle: SubscriptionHandle,
  predicate: (v: SubscriptionView) => boolean,
  step = '1 day',
  maxSteps = 400,
): Promise<SubscriptionView> {
  for (let i = 0; i < maxSteps; i += 1) {
    const v = await state(handle);
    if (predicate(v)) return v;
    await h.env.sleep(step);
  }
  throw new Error('condition not reached while skipping time');
}

/**
 * Polls the `state` query in real time until `predicate` holds, without skipping workflow time: on the
 * time-skipping server only a waiting client lets time jump, so what happens here happens "now".
 */
export async function untilState(
  handle: SubscriptionHandle,
  predicate: (v: SubscriptionView) => boolean,
  timeoutMs = 30_000,
): Promise<SubscriptionView> {
  const deadline = Date.now() + timeoutMs;
  let last: SubscriptionView | undefined;
  while (Date.now() < deadline) {
    last = await state(handle);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`state not reached within ${timeoutMs} ms (real time); last status ${last?.status}`);
}

/** The validator's verdict behind a rejected update: its ApplicationFailure type and message. */
export async function rejectionOf(
  p: Promise<unknown>,
): Promise<{ type: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const cause = (err as { cause?: { type?: string; message?: string } }).cause;
    return { type: cause?.type, message: cause?.message ?? String(err) };
  }
  throw new Error('expected the update to be rejected');
}

/**
 * The per-file fixture of workflow tests: one time-skipping server (its clock is global, so files do
 * not share one), one sandbox and one worker on `taskQueue`. Read `t.env` / `t.h` inside tests.
 *
 * A test's LINE Pay faults are cleared after it. Its subscriptions live on in the file's server and
 * are billed by every later `env.sleep`; one left with a permanent fault kept failing and retrying
 * (700 sandbox requests during the next test, 17 s of it). Terminating them instead stalled the Java
 * test server's time skipping for the rest of the file, so they are left running, healthy.
 */
export function useSubscriptionHarness(
  taskQueue: string,
  options: { production?: boolean; sandbox?: SandboxOptions } = {},
): {
  readonly env: TestWorkflowEnvironment;
  readonly h: Harness;
} {
  const t = {} as { env: TestWorkflowEnvironment; h: Harness };
  beforeAll(async () => {
    t.env = await createTimeSkippingEnv();
    t.h = options.production
      ? await startProductionHarness(t.env, taskQueue)
      : await startHarness(t.env, taskQueue, options.sandbox);
  });
  afterEach(() => {
    t.h?.sandbox.control.clearFaults();
  });
  afterAll(async () => {
    await t.h?.close();
    await t.env?.teardown();
  });
  return t;
}

/** With RECORD_HISTORIES=1, writes the workflow's history to test/fixtures/histories/<name>.json for replay. */
export async function recordHistory(handle: SubscriptionHandle, name: string): Promise<string> {
  const json = historyToJSON(await handle.fetchHistory());
  if (process.env.RECORD_HISTORIES === '1') {
    writeFileSync(new URL(`../fixtures/histories/${name}.json`, import.meta.url), `${json}\n`);
  }
  return json;
}
