/**
 * Month-start burst: N subscriptions that all fall due at one instant, against N bare workflows (a timer,
 * then a no-op activity) on the same dev server with the same worker settings. See README.md.
 *
 *   npm run bench:burst                  # N=1000
 *   N=10000 npm run bench:burst
 *
 * Env: N (1000), BENCH_CONCURRENCY (16 setup requests in flight), BENCH_LEAD_SECONDS (time from the first
 * create to the due instant; default from N), BENCH_BARE_LEAD_SECONDS, BENCH_SKIP_BARE=1,
 * BENCH_SKIP_BURST=1 (set up N idle subscriptions, report RSS, stop), BENCH_HISTORY_SAMPLE (20),
 * BENCH_JSON (write the figures there too). Worker settings pass through to the worker process:
 * WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_ACTIVITIES, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
 * LINEPAY_MAX_REQUESTS_PER_SECOND, BENCH_WORKER_NODE_OPTIONS (e.g. --max-old-space-size=512).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import { deriveCallbackKey } from '../../activities/callback-link.js';
import { readBillingLimits } from '../../client/config.js';
import { createApp } from '../../client/http/app.js';
import { createSubscriptionsClient } from '../../client/subscriptions-client.js';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { startSandbox } from '../../sandbox/index.js';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';
import { cpuSpent, formatCpu, interference, readCpu } from './cpu-usage.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const int = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
};
const N = int('N', 1000);
const CONCURRENCY = int('BENCH_CONCURRENCY', 16);
const LEAD_S = int('BENCH_LEAD_SECONDS', Math.ceil(30 + N * 0.4));
const BARE_LEAD_S = int('BENCH_BARE_LEAD_SECONDS', Math.ceil(20 + N * 0.06));
const HISTORY_SAMPLE = int('BENCH_HISTORY_SAMPLE', 20);
const SKIP_BARE = process.env.BENCH_SKIP_BARE === '1';
const SKIP_BURST = process.env.BENCH_SKIP_BURST === '1';
const API_TOKEN = 'bench-burst-api-token-0123';
const TAG = randomBytes(3).toString('hex');

const log = (text: string) => console.log(`[burst ${new Date().toISOString().slice(11, 19)}] ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * BENCH_LOCK_FILE: created from QUIET_BEFORE_MS before each due instant until its burst is counted,
 * removed after. On a shared machine, other jobs can wait while it exists (the burst is timed).
 */
const LOCK_FILE = process.env.BENCH_LOCK_FILE;
// BENCH_QUIET_BEFORE_SECONDS (90): longer lets another job already running finish before the burst.
const QUIET_BEFORE_MS = int('BENCH_QUIET_BEFORE_SECONDS', 90) * 1000;
function quiet(on: boolean): void {
  if (!LOCK_FILE) return;
  if (on) writeFileSync(LOCK_FILE, `${process.pid}\n`);
  else rmSync(LOCK_FILE, { force: true });
}
process.on('exit', () => quiet(false));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Runs `fn(i)` for i in [0, count) with `width` in flight. */
async function pool(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(width, count)) }, async () => {
      while (next < count) {
        const i = next++;
        await fn(i);
      }
    }),
  );
}

// ---- the worker process and its memory ------------------------------------------------------------

interface Rss {
  rssMb: number;
  hwmMb: number;
}

function readRss(pid: number): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** As `npm run start:worker` (package.json) and the image. */
const DEFAULT_WORKER_NODE_OPTIONS = '--max-old-space-size=160 --max-semi-space-size=4';

/** The task queue's workflow-task backlog as the server reports it (normal queue; sticky queues aside). */
async function workflowTaskBacklog(taskQueue: string): Promise<string> {
  try {
    const { stats } = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    });
    if (!stats) return 'backlog unknown';
    return (
      `workflow-task backlog ${Number(stats.approximateBacklogCount ?? 0)}, ` +
      `added ${(stats.tasksAddRate ?? 0).toFixed(1)}/s, dispatched ${(stats.tasksDispatchRate ?? 0).toFixed(1)}/s`
    );
  } catch (err) {
    return `backlog unknown (${(err as Error).message})`;
  }
}

class WorkerProcess {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    readonly proc: ChildProcess,
    readonly settings: Record<string, unknown>,
  ) {}

  static async start(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
    // The heap cap of `npm run start:worker` unless BENCH_WORKER_NODE_OPTIONS says otherwise.
    const nodeOptions = (process.env.BENCH_WORKER_NODE_OPTIONS ?? DEFAULT_WORKER_NODE_OPTIONS)
      .split(/\s+/)
      .filter(Boolean);
    // BENCH_WORKER=dist runs the compiled worker under plain node, as `npm run start:worker` does
    // (needs `npm run build`), with the stack-trace preload production loads (WORKER_WORKFLOW_STACK_TRACES=on
    // keeps the tracking); the default compiles TypeScript in the worker process with tsx, whose workflow
    // threads cannot load that preload, so the SDK's tracking stays on there.
    const entry =
      process.env.BENCH_WORKER === 'dist'
        ? ['--import', './dist/worker/workflow-stack-traces.js', 'dist/bench/burst/worker.js']
        : ['--import', 'tsx', 'bench/burst/worker.ts'];
    const proc = spawn(process.execPath, [...nodeOptions, ...entry], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) console.error(`  [worker] ${line}`);
    });
    const settings = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const m = /^READY (.*)$/m.exec(buffer);
        if (m?.[1]) resolve(JSON.parse(m[1]) as Record<string, unknown>);
      });
      proc.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
    });
    const worker = new WorkerProcess(proc, settings);
    worker.timer = setInterval(() => worker.sample(), 250);
    return worker;
  }

  sample(): number {
    const rss = this.proc.pid === undefined ? undefined : readRss(this.proc.pid);
    if (rss && rss.rssMb > this.peak) this.peak = rss.rssMb;
    return rss?.rssMb ?? Number.NaN;
  }

  /** Highest RSS seen: the kernel's high-water mark, or our 250 ms samples if higher. */
  peakMb(): number {
    const hwm = this.proc.pid === undefined ? undefined : readRss(this.proc.pid)?.hwmMb;
    return Math.max(this.peak, hwm ?? 0);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await exited;
    }
  }
}

// ---- history accounting ------------------------------------------------------------------------

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

interface Actions {
  workflowStarts: number;
  timers: number;
  activityAttempts: number;
  localActivityTasks: number;
  updates: number;
  signals: number;
  searchAttributeUpserts: number;
  memoUpserts: number;
  total: number;
}

const emptyActions = (): Actions => ({
  workflowStarts: 0,
  timers: 0,
  activityAttempts: 0,
  localActivityTasks: 0,
  updates: 0,
  signals: 0,
  searchAttributeUpserts: 0,
  memoUpserts: 0,
  total: 0,
});

const eventMs = (e: HistoryEvent) => {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
};

/**
 * Temporal Cloud actions in `events`, counted the way its pricing page lists them: a workflow start
 * (client, continue-as-new), a timer, each activity attempt, local activities once per workflow task,
 * an accepted update, a signal, a search-attribute or memo upsert. Heartbeats and queries never reach
 * history: the bench reports them apart.
 */
function countActions(all: HistoryEvent[], from: number, to: number): Actions {
  const a = emptyActions();
  const attempts = new Map<string, number>();
  for (const e of all) {
    const started = e.activityTaskStartedEventAttributes;
    if (started) attempts.set(String(started.scheduledEventId), started.attempt ?? 1);
  }
  let localInTask = false;
  for (let i = from; i < to; i++) {
    const e = all[i]!;
    // A continue-as-new is one start: counted at the old run's end, not again at the new run's start.
    if (
      (e.workflowExecutionStartedEventAttributes &&
        !e.workflowExecutionStartedEventAttributes.continuedExecutionRunId) ||
      e.workflowExecutionContinuedAsNewEventAttributes
    )
      a.workflowStarts += 1;
    else if (e.timerStartedEventAttributes) a.timers += 1;
    else if (e.activityTaskScheduledEventAttributes)
      a.activityAttempts += attempts.get(String(e.eventId)) ?? 1;
    else if (e.workflowExecutionUpdateAcceptedEventAttributes) a.updates += 1;
    else if (e.workflowExecutionSignaledEventAttributes) a.signals += 1;
    else if (e.upsertWorkflowSearchAttributesEventAttributes) a.searchAttributeUpserts += 1;
    else if (e.workflowPropertiesModifiedEventAttributes) a.memoUpserts += 1;
    else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity' && !localInTask) {
      a.localActivityTasks += 1;
      localInTask = true;
    }
    if (e.workflowTaskCompletedEventAttributes) localInTask = false;
  }
  a.total =
    a.workflowStarts +
    a.timers +
    a.activityAttempts +
    a.localActivityTasks +
    a.updates +
    a.signals +
    a.searchAttributeUpserts +
    a.memoUpserts;
  return a;
}

/**
 * Splits a history at the billed cycle: from just after the timer that fired at the due instant was
 * started, up to and including the next timer (the sleep to the following cycle). That span is what
 * every later cycle repeats; what precedes it is the one-off create and approval.
 */
function cycleSpan(events: HistoryEvent[], dueMs: number): { start: number; end: number } | undefined {
  const fired = events.findIndex((e) => e.timerFiredEventAttributes && eventMs(e) >= dueMs - 1_000);
  if (fired < 0) return undefined;
  const timerId = events[fired]!.timerFiredEventAttributes!.timerId;
  // Timer ids restart in every run: the one that fired is the last started before it.
  const startedAt = events.findLastIndex(
    (e, i) => i < fired && e.timerStartedEventAttributes?.timerId === timerId,
  );
  let end = events.findIndex((e, i) => i > fired && e.timerStartedEventAttributes);
  end = end < 0 ? events.length : end + 1;
  return { start: startedAt + 1, end };
}

/**
 * Every run of a workflow, oldest first, as one event list: the subscription continues-as-new before
 * each long sleep, so a billed cycle spans two runs. Event ids are renumbered to stay unique.
 */
async function fetchAllRuns(workflowId: string, maxRuns = 20): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined;
  while (runs.length < maxRuns) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return runs;
}

function joinRuns(runs: HistoryEvent[][]): HistoryEvent[] {
  const joined: HistoryEvent[] = [];
  for (const events of runs) {
    const offset = joined.length;
    const shift = (v: unknown) => (v === undefined || v === null ? v : Number(v) + offset);
    for (const e of events) {
      const copy = { ...e, eventId: shift(e.eventId) as never } as HistoryEvent;
      if (e.activityTaskStartedEventAttributes)
        copy.activityTaskStartedEventAttributes = {
          ...e.activityTaskStartedEventAttributes,
          scheduledEventId: shift(e.activityTaskStartedEventAttributes.scheduledEventId) as never,
        };
      if (e.workflowExecutionUpdateCompletedEventAttributes)
        copy.workflowExecutionUpdateCompletedEventAttributes = {
          ...e.workflowExecutionUpdateCompletedEventAttributes,
          acceptedEventId: shift(e.workflowExecutionUpdateCompletedEventAttributes.acceptedEventId) as never,
        };
      joined.push(copy);
    }
  }
  return joined;
}

function addActions(sum: Actions, a: Actions): void {
  for (const k of Object.keys(sum) as (keyof Actions)[]) sum[k] += a[k];
}

function averageActions(list: Actions[]): Actions {
  const sum = emptyActions();
  for (const a of list) addActions(sum, a);
  for (const k of Object.keys(sum) as (keyof Actions)[])
    sum[k] = Math.round((sum[k] / Math.max(1, list.length)) * 100) / 100;
  return sum;
}

const fmtActions = (a: Actions) =>
  `${a.total} (starts ${a.workflowStarts}, timers ${a.timers}, activity attempts ${a.activityAttempts}, ` +
  `local-activity tasks ${a.localActivityTasks}, updates ${a.updates}, signals ${a.signals}, ` +
  `search-attribute upserts ${a.searchAttributeUpserts}, memo upserts ${a.memoUpserts}, heartbeats 0)`;

// ---- the run ---------------------------------------------------------------------------------------

interface Lateness {
  count: number;
  ratePerS: number;
  p50S: number;
  p99S: number;
  maxS: number;
}

function summarize(latenessMs: number[]): Lateness {
  const sorted = [...latenessMs].sort((a, b) => a - b);
  const maxMs = sorted.at(-1) ?? Number.NaN;
  return {
    count: sorted.length,
    // Charges per second from the due instant to the last one.
    ratePerS: sorted.length / Math.max(0.001, maxMs / 1000),
    p50S: percentile(sorted, 50) / 1000,
    p99S: percentile(sorted, 99) / 1000,
    maxS: maxMs / 1000,
  };
}

const fmtLateness = (l: Lateness) =>
  `${l.count} in ${l.maxS.toFixed(1)} s → ${l.ratePerS.toFixed(1)}/s; lateness p50 ${l.p50S.toFixed(2)} s, ` +
  `p99 ${l.p99S.toFixed(2)} s, max ${l.maxS.toFixed(2)} s`;

Runtime.install({ logger: new DefaultLogger('WARN') });
const results: Record<string, unknown> = { N, tag: TAG, startedAt: new Date().toISOString() };
const scratch = mkdtempSync(path.join(tmpdir(), 'bench-burst-'));
const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: devServerExecutable(),
    searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
    extraArgs: ['--log-level', 'error'],
  },
});
log(`dev server at ${env.address}; N=${N}, setup concurrency ${CONCURRENCY}`);
const key = randomBytes(32);
const dataConverter = createDataConverter([{ id: 'bench', key }]);
const connection = await Connection.connect({ address: env.address });
const client = new Client({ connection, namespace: 'default', dataConverter });
const sandbox = await startSandbox({ port: 0 });

// ---- a merchant's webhook endpoint: verifies each delivery, as merchants do, and notes its lag -----
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const webhookVerifier = new Webhook(WEBHOOK_SECRET);
/** charge.succeeded receipts: event id → its occurredAt and the ms to its first verified receipt. */
const webhookLag = new Map<string, { occurredMs: number; lagMs: number }>();
let webhooksRejected = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const body = webhookVerifier.verify(
        Buffer.concat(chunks).toString('utf8'),
        req.headers as Record<string, string>,
      ) as { id: string; type: string; occurredAt: string };
      if (body.type === 'charge.succeeded' && !webhookLag.has(body.id)) {
        const occurredMs = Date.parse(body.occurredAt);
        webhookLag.set(body.id, { occurredMs, lagMs: Date.now() - occurredMs });
      }
      res.writeHead(204).end();
    } catch {
      webhooksRejected += 1;
      res.writeHead(400).end();
    }
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;

const workerEnv = (taskQueue: string, mode: 'subscription' | 'bare', bundle: string) => ({
  TEMPORAL_ADDRESS: env.address,
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TASK_QUEUE: taskQueue,
  LINEPAY_API_URL: sandbox.url,
  LINEPAY_CHANNEL_ID: sandbox.channelId,
  LINEPAY_CHANNEL_SECRET: sandbox.channelSecret,
  PAYLOAD_ENCRYPTION_KEY: key.toString('base64'),
  PAYLOAD_ENCRYPTION_KEY_ID: 'bench',
  BURST_MODE: mode,
  BURST_BUNDLE_PATH: bundle,
  LINEPAY_ENV: 'sandbox',
  WEBHOOK_URLS: webhookUrl,
  WEBHOOK_SECRET,
  // The ledger: DATABASE_URL when given (PostgreSQL), else an embedded PGlite of the bench's own.
  ...(process.env.DATABASE_URL
    ? { DATABASE_URL: process.env.DATABASE_URL }
    : { DATA_DIR: path.join(scratch, 'ledger') }),
});

async function bundleTo(file: string, workflowsPath: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  const full = path.join(scratch, file);
  writeFileSync(full, code);
  return full;
}

let server: ReturnType<typeof serve> | undefined;
const workers: WorkerProcess[] = [];
try {
  const subscriptionBundle = await bundleTo('subscription-bundle.js', WORKFLOWS_PATH);
  const bareBundle = SKIP_BARE
    ? ''
    : await bundleTo('bare-bundle.js', fileURLToPath(new URL('./bare-workflow.ts', import.meta.url)));

  // The HTTP service in this process, as test/helpers/service-stack.ts builds it.
  const taskQueue = `burst-${TAG}`;
  let handler: (req: Request) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  server = serve({ fetch: (req) => handler(req), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => (server!.listening ? r() : server!.once('listening', () => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handler = createApp({
    subscriptions: createSubscriptionsClient({
      client,
      taskQueue,
      publicBaseUrl: url,
      limits: readBillingLimits({ LINEPAY_ENV: 'sandbox' }),
    }),
    apiToken: API_TOKEN,
    // The worker derives the same key from the payload key when CALLBACK_SIGNING_KEY is unset.
    callbackSigningKeys: [deriveCallbackKey(key)],
    // Every approval comes from this one process's address.
    callbackRateLimit: { perIp: 1_000_000, perSubscription: 100 },
    log: () => {},
  }).fetch;

  // ---- phase 1: N subscriptions, one due instant -------------------------------------------------
  const worker = await WorkerProcess.start(workerEnv(taskQueue, 'subscription', subscriptionBundle));
  workers.push(worker);
  results.workerSettings = worker.settings;
  await sleep(3_000);
  const rssStart = worker.sample();
  log(`worker ${JSON.stringify(worker.settings)}; RSS at start ${rssStart.toFixed(0)} MB`);

  // Where setup time goes: the worker's and the dev server's share of the machine since the last line,
  // and the task queue's workflow-task backlog with the server's add and dispatch rates.
  let lastCpu = readCpu(worker.proc.pid);
  let lastCpuAt = Date.now();
  const setupProgress = async (active: number) => {
    const cpu = readCpu(worker.proc.pid);
    const spent = cpuSpent(lastCpu, cpu);
    const wallS = (Date.now() - lastCpuAt) / 1000;
    lastCpu = cpu;
    lastCpuAt = Date.now();
    const pct = (x: number) => `${((100 * x) / wallS).toFixed(0)} %`;
    log(
      `  ${active}/${N} active, RSS ${worker.sample().toFixed(0)} MB; CPU worker ${pct(spent.worker)}, ` +
        `dev server ${pct(spent.temporal)}; ${await workflowTaskBacklog(taskQueue)}`,
    );
  };

  const dueMs = Math.ceil((Date.now() + LEAD_S * 1000) / 1000) * 1000;
  const dueIso = new Date(dueMs).toISOString();
  log(`creating and approving ${N} subscriptions, all due at ${dueIso} (in ${LEAD_S} s)`);
  const statuses = new Map<number, number>();
  const setupErrors = new Map<string, number>();
  const createMs: number[] = [];
  const ready: string[] = [];
  let lastApprovedAt = 0;
  const setupStarted = Date.now();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const progress = setInterval(() => void setupProgress(ready.length), 30_000);
  await pool(N, CONCURRENCY, async (i) => {
    const subscriptionId = `burst-${TAG}-${i}`;
    try {
      const t0 = performance.now();
      const created = await fetch(`${url}/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          subscriptionId,
          customerId: `burst-customer-${i % 100}`,
          productName: '月訂閱 Premium',
          amount: 390,
          currency: 'TWD',
          interval: 'P1M',
          billingAnchor: dueIso,
          timeZone: 'Asia/Taipei',
        }),
      });
      createMs.push(performance.now() - t0);
      statuses.set(created.status, (statuses.get(created.status) ?? 0) + 1);
      const body = (await created.json()) as { paymentUrl?: { web: string } };
      if (!created.ok || !body.paymentUrl) throw new Error(`create ${created.status}`);
      // The customer's browser: the payment page, its Approve form, the redirect to our confirmUrl.
      const page = await fetch(body.paymentUrl.web);
      const reserveId = /name="transactionReserveId" value="([^"]+)"/.exec(await page.text())?.[1];
      if (!page.ok || !reserveId) throw new Error(`payment page ${page.status}`);
      const approve = await fetch(new URL('/web/payment/approve', body.paymentUrl.web), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ transactionReserveId: reserveId }).toString(),
        redirect: 'manual',
      });
      await approve.arrayBuffer();
      const location = approve.headers.get('location');
      if (approve.status < 300 || approve.status > 399 || !location)
        throw new Error(`approve ${approve.status}`);
      const confirm = await fetch(location);
      const status = /data-status="([^"]+)"/.exec(await confirm.text())?.[1];
      if (status !== 'active') throw new Error(`confirm ${confirm.status} ${status}`);
      lastApprovedAt = Math.max(lastApprovedAt, Date.now());
      ready.push(subscriptionId);
    } catch (err) {
      bump(setupErrors, err instanceof Error ? err.message : String(err));
    }
  });
  clearInterval(progress);
  const setupS = (Date.now() - setupStarted) / 1000;
  const sortedCreate = [...createMs].sort((a, b) => a - b);
  const createdStatuses = Object.fromEntries(statuses);
  log(
    `setup: ${ready.length}/${N} active in ${setupS.toFixed(0)} s (${(ready.length / setupS).toFixed(1)}/s); ` +
      `POST /subscriptions statuses ${JSON.stringify(createdStatuses)}, p50 ${percentile(sortedCreate, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(sortedCreate, 99).toFixed(0)} ms; errors ${JSON.stringify(Object.fromEntries(setupErrors))}`,
  );
  const lateSetup = lastApprovedAt >= dueMs;
  if (lateSetup) {
    log(
      `WARNING: the last approval came ${((lastApprovedAt - dueMs) / 1000).toFixed(0)} s after the due instant: raise BENCH_LEAD_SECONDS`,
    );
  }
  results.setup = {
    active: ready.length,
    seconds: setupS,
    createStatuses: createdStatuses,
    createP50Ms: percentile(sortedCreate, 50),
    createP99Ms: percentile(sortedCreate, 99),
    errors: Object.fromEntries(setupErrors),
    lastApprovalBeforeDueS: (dueMs - lastApprovedAt) / 1000,
  };

  // Idle: every subscription asleep until the due instant.
  await sleep(Math.min(10_000, Math.max(0, dueMs - Date.now() - 3_000)));
  const rssIdle = worker.sample();
  log(`RSS with ${ready.length} idle subscriptions: ${rssIdle.toFixed(0)} MB`);
  results.rss = { startMb: rssStart, idleMb: rssIdle };

  if (SKIP_BURST) {
    results.rss = { startMb: rssStart, idleMb: rssIdle, peakSetupMb: worker.peakMb() };
    log(`BENCH_SKIP_BURST: stopping before the due instant; peak so far ${worker.peakMb().toFixed(0)} MB`);
  } else {
    // ---- the burst ---------------------------------------------------------------------------------
    const expected = new Set(ready);
    const ownerOf = (orderId: string) => {
      // `<subscriptionId>-c<cycle>` or `<subscriptionId>-<instanceId>-c<cycle>…`: the id is burst-TAG-i.
      const m = /^(burst-[0-9a-f]{6}-\d+)-/.exec(orderId);
      return m?.[1];
    };
    const chargesOf = () =>
      sandbox.control
        .ledger()
        .filter(
          (e) => e.kind === 'payment' && e.source === 'preapproved' && expected.has(ownerOf(e.orderId) ?? ''),
        );
    log(`waiting for the due instant (${((dueMs - Date.now()) / 1000).toFixed(0)} s)`);
    await sleep(Math.max(0, dueMs - Date.now() - QUIET_BEFORE_MS));
    quiet(true);
    await sleep(Math.max(0, dueMs - Date.now()));
    const cpuAtDue = readCpu(worker.proc.pid);
    const deadline = Date.now() + 60_000 + N * 300;
    let seen = 0;
    let lastProgress = Date.now();
    let lastLog = Date.now();
    while (Date.now() < deadline) {
      await sleep(1_000);
      const count = chargesOf().length;
      if (count !== seen) {
        seen = count;
        lastProgress = Date.now();
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`  ${seen}/${expected.size} charged, worker RSS ${worker.sample().toFixed(0)} MB`);
      }
      if (seen >= expected.size || Date.now() - lastProgress > 120_000) break;
    }
    const cpuBurst = cpuSpent(cpuAtDue, readCpu(worker.proc.pid));
    const burstWallS = (Date.now() - dueMs) / 1000;
    await sleep(2_000);
    const charges = chargesOf();
    const perSubscription = new Map<string, number>();
    for (const c of charges)
      perSubscription.set(ownerOf(c.orderId)!, (perSubscription.get(ownerOf(c.orderId)!) ?? 0) + 1);
    quiet(false);
    const doubles = [...perSubscription.values()].filter((n) => n > 1).length;
    const missing = expected.size - perSubscription.size;
    const lateness = summarize(charges.map((c) => Date.parse(c.at) - dueMs));
    const rssPeak = worker.peakMb();
    log(`subscriptions: ${fmtLateness(lateness)}; missing ${missing}, charged twice ${doubles}`);
    results.subscriptions = { ...lateness, missing, chargedTwice: doubles, lateSetup, cpuS: cpuBurst };
    log(`CPU from the due instant to the last charge: ${formatCpu(cpuBurst, burstWallS, charges.length)}`);
    const skewed = interference(cpuBurst, burstWallS);
    if (skewed) log(skewed);

    // ---- webhooks: every charge.succeeded reaches the merchant; lag from the event to receipt ----
    // The burst's charges only: the approvals' first-period charges were delivered during setup.
    const burstLags = () => [...webhookLag.values()].filter((w) => w.occurredMs >= dueMs - 1_000);
    const webhookDeadline = Date.now() + 120_000 + N * 100;
    while (burstLags().length < perSubscription.size && Date.now() < webhookDeadline) await sleep(500);
    const lags = burstLags()
      .map((w) => w.lagMs)
      .sort((a, b) => a - b);
    results.webhooks = {
      received: lags.length,
      rejected: webhooksRejected,
      lagP50S: percentile(lags, 50) / 1000,
      lagP99S: percentile(lags, 99) / 1000,
      lagMaxS: (lags.at(-1) ?? Number.NaN) / 1000,
    };
    log(
      `webhooks: ${lags.length}/${perSubscription.size} charge.succeeded received (signatures verified, ` +
        `${webhooksRejected} rejected); lag from event to receipt p50 ${(percentile(lags, 50) / 1000).toFixed(2)} s, ` +
        `p99 ${(percentile(lags, 99) / 1000).toFixed(2)} s, max ${((lags.at(-1) ?? Number.NaN) / 1000).toFixed(2)} s`,
    );
    results.rss = { startMb: rssStart, idleMb: rssIdle, peakMb: rssPeak };

    // ---- histories: events and billable actions -------------------------------------------------
    const sample = ready.slice(0, HISTORY_SAMPLE);
    const cycleActions: Actions[] = [];
    const setupActions: Actions[] = [];
    const cycleEvents: number[] = [];
    const setupEvents: number[] = [];
    const cycleEventTypes = new Map<string, number>();
    const historyBytes: number[] = [];
    for (const id of sample) {
      const runs = await fetchAllRuns(`subscription-${id}`);
      const events = joinRuns(runs);
      const span = cycleSpan(events, dueMs);
      if (!span) continue;
      // An update accepted before the cycle (the approval's confirm) may complete inside it: not the cycle's.
      const carried = events
        .slice(span.start, span.end)
        .filter(
          (e) =>
            e.workflowExecutionUpdateCompletedEventAttributes &&
            Number(e.workflowExecutionUpdateCompletedEventAttributes.acceptedEventId ?? 0) <= span.start,
        ).length;
      cycleEvents.push(span.end - span.start - carried);
      historyBytes.push(
        runs.reduce(
          (n, r) => n + proto.temporal.api.history.v1.History.encode({ events: r }).finish().length,
          0,
        ),
      );
      for (const e of events.slice(span.start, span.end)) {
        const type = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k as keyof HistoryEvent]);
        const name = type?.replace(/EventAttributes$/, '') ?? 'unknown';
        cycleEventTypes.set(name, (cycleEventTypes.get(name) ?? 0) + 1);
      }
      setupEvents.push(span.start);
      cycleActions.push(countActions(events, span.start, span.end));
      setupActions.push(countActions(events, 0, span.start));
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    results.history = {
      sampled: cycleEvents.length,
      eventsPerCycle: avg(cycleEvents),
      actionsPerCycle: averageActions(cycleActions),
      cycleEventTypes: Object.fromEntries(
        [...cycleEventTypes].map(([k, v]) => [
          k,
          Math.round((v / Math.max(1, cycleEvents.length)) * 100) / 100,
        ]),
      ),
      eventsSetup: avg(setupEvents),
      historyBytesAfterOneCycle: avg(historyBytes),
      actionsSetup: averageActions(setupActions),
    };
    log(
      `per billed cycle (${cycleEvents.length} histories): ${avg(cycleEvents).toFixed(1)} events, ` +
        `Temporal Cloud actions ${fmtActions(averageActions(cycleActions))}`,
    );
    log(
      `  history after create, approval and one cycle: ${avg(historyBytes).toFixed(0)} bytes (protobuf, encrypted payloads)`,
    );
    log(
      `  event types per cycle: ${JSON.stringify((results.history as { cycleEventTypes: unknown }).cycleEventTypes)}`,
    );
    log(
      `create + approval: ${avg(setupEvents).toFixed(1)} events, actions ${fmtActions(averageActions(setupActions))}`,
    );
  }
  await worker.stop();

  // ---- phase 2: the bare engine -----------------------------------------------------------------
  if (!SKIP_BARE && !SKIP_BURST) {
    const bareQueue = `burst-bare-${TAG}`;
    const bare = await WorkerProcess.start(workerEnv(bareQueue, 'bare', bareBundle));
    workers.push(bare);
    await sleep(3_000);
    const bareRssStart = bare.sample();
    const bareDue = Math.ceil((Date.now() + BARE_LEAD_S * 1000) / 1000) * 1000;
    log(`starting ${N} bare workflows, due at ${new Date(bareDue).toISOString()} (in ${BARE_LEAD_S} s)`);
    const handles: string[] = [];
    let startErrors = 0;
    await pool(N, 32, async (i) => {
      const workflowId = `bare-${TAG}-${i}`;
      try {
        await client.workflow.start('bareBurst', { taskQueue: bareQueue, workflowId, args: [bareDue] });
        handles.push(workflowId);
      } catch {
        startErrors += 1;
      }
    });
    const lateStart = Date.now() >= bareDue;
    if (lateStart)
      log(
        'WARNING: the bare workflows were not all started before their due instant: raise BENCH_BARE_LEAD_SECONDS',
      );
    await sleep(Math.max(0, bareDue - Date.now() - QUIET_BEFORE_MS));
    quiet(true);
    await sleep(Math.max(0, bareDue - Date.now() - 3_000));
    const bareRssIdle = bare.sample();
    await sleep(Math.max(0, bareDue - Date.now()));
    const bareCpuAtDue = readCpu(bare.proc.pid);
    const ranAt: number[] = [];
    let bareErrors = startErrors;
    await pool(handles.length, 64, async (i) => {
      try {
        ranAt.push(await client.workflow.getHandle(handles[i]!).result());
      } catch {
        bareErrors += 1;
      }
    });
    const bareCpu = cpuSpent(bareCpuAtDue, readCpu(bare.proc.pid));
    const bareWallS = (Date.now() - bareDue) / 1000;
    quiet(false);
    const bareLateness = summarize(ranAt.map((t) => t - bareDue));
    log(`bare CPU from the due instant to the last result: ${formatCpu(bareCpu, bareWallS, ranAt.length)}`);
    const bareSkewed = interference(bareCpu, bareWallS);
    if (bareSkewed) log(bareSkewed);
    const bareHistory = (await client.workflow.getHandle(handles[0]!).fetchHistory()).events ?? [];
    const bareActions = countActions(bareHistory, 0, bareHistory.length);
    log(`bare engine: ${fmtLateness(bareLateness)}; errors ${bareErrors}`);
    log(`bare workflow: ${bareHistory.length} events, actions ${fmtActions(bareActions)}`);
    const bareRss = { startMb: bareRssStart, idleMb: bareRssIdle, peakMb: bare.peakMb() };
    results.bare = {
      ...bareLateness,
      errors: bareErrors,
      lateStart,
      events: bareHistory.length,
      rss: bareRss,
      cpuS: bareCpu,
    };
    await bare.stop();
  }

  // ---- summary ----------------------------------------------------------------------------------
  const subs = results.subscriptions as (Lateness & { missing: number; chargedTwice: number }) | undefined;
  const bareR = results.bare as (Lateness & { errors: number }) | undefined;
  const rss = results.rss as { startMb: number; idleMb: number; peakMb?: number };
  const history = results.history as { eventsPerCycle: number; actionsPerCycle: Actions } | undefined;
  console.log('');
  console.log(`Burst of ${N} (worker ${JSON.stringify(worker.settings)})`);
  if (subs) console.log(`  this project   ${fmtLateness(subs)}; errors ${subs.missing + subs.chargedTwice}`);
  if (bareR) console.log(`  bare engine    ${fmtLateness(bareR)}; errors ${bareR.errors}`);
  if (subs && bareR) {
    const ratio = subs.ratePerS / bareR.ratePerS;
    results.ratio = ratio;
    console.log(`  ratio          ${ratio.toFixed(2)} (project rate / bare rate)`);
  }
  console.log(
    `  worker RSS     start ${rss.startMb.toFixed(0)} MB, ${ready.length} idle ${rss.idleMb.toFixed(0)} MB` +
      (rss.peakMb !== undefined ? `, peak ${rss.peakMb.toFixed(0)} MB` : ''),
  );
  if (history) {
    console.log(
      `  per cycle      ${history.eventsPerCycle.toFixed(1)} events, ${history.actionsPerCycle.total} Temporal Cloud actions`,
    );
  }
  const hooks = results.webhooks as
    | { received: number; rejected: number; lagP50S: number; lagP99S: number; lagMaxS: number }
    | undefined;
  if (hooks) {
    console.log(
      `  webhooks       ${hooks.received} charge.succeeded verified; lag p50 ${hooks.lagP50S.toFixed(2)} s, ` +
        `p99 ${hooks.lagP99S.toFixed(2)} s, max ${hooks.lagMaxS.toFixed(2)} s; ${hooks.rejected} rejected`,
    );
  }
  console.log(`  POST /subscriptions: ${JSON.stringify(createdStatuses)} (every first create should be 201)`);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  for (const w of workers) await w.stop().catch(() => undefined);
  if (server) {
    await new Promise<void>((resolve) => {
      server!.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }
  await sandbox.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await connection.close();
  await env.teardown();
  rmSync(scratch, { recursive: true, force: true });
}
