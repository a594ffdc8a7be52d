/**
 * `npm run demo`: the whole product on one machine, nothing external. Starts (or reuses) the Temporal
 * dev server with a persistent SQLite file and the Web UI, the LINE Pay sandbox, the worker and the HTTP
 * service; creates a subscription billed every 30 seconds; prints the payment URL, the Web UI link and
 * every charge as it happens, and every signed webhook its local receiver gets. Ctrl-C stops what it started.
 *
 * Env: DEMO_AUTO_APPROVE=1 (approve through the sandbox instead of a browser), DEMO_MAX_CHARGES=n
 * (exit after n charges: CI smoke), DEMO_INTERVAL (default PT30S), PAYLOAD_ENCRYPTION_KEY (else one
 * is generated and kept in .demo/ so the persisted history stays decodable).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { type RunningSandbox, startSandbox } from '../sandbox/index.js';
import type { SubscriptionView } from '../workflows/messages.js';
import { temporalCliPath } from './temporal-binaries.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO_DIR = path.join(ROOT, '.demo');
const TEMPORAL_HOST = '127.0.0.1';
const TEMPORAL_PORT = 7233;
const UI_PORT = 8233;
const HTTP_PORT = Number(process.env.DEMO_HTTP_PORT ?? 3000);
const SANDBOX_PORT = Number(process.env.DEMO_SANDBOX_PORT ?? 4000);
const HTTP_URL = `http://127.0.0.1:${HTTP_PORT}`;
/** The codec server listens apart from the public callbacks, on loopback. */
const CODEC_PORT = Number(process.env.DEMO_CODEC_PORT ?? HTTP_PORT + 1);
/** The merchant's webhook endpoint, played by this process. */
const WEBHOOK_PORT = Number(process.env.DEMO_WEBHOOK_PORT ?? HTTP_PORT + 2);
const INTERVAL = process.env.DEMO_INTERVAL ?? 'PT30S';
const AUTO_APPROVE = process.env.DEMO_AUTO_APPROVE === '1' || process.env.DEMO_AUTO_APPROVE === 'true';
const MAX_CHARGES = process.env.DEMO_MAX_CHARGES ? Number(process.env.DEMO_MAX_CHARGES) : undefined;

const children: { name: string; proc: ChildProcess }[] = [];
let sandbox: RunningSandbox | undefined;
let receiver: Server | undefined;
let stopping = false;

const say = (text: string) => console.log(`\x1b[1m[demo]\x1b[0m ${text}`);

/** A secret kept in .demo/ across runs (created with mode 600 on first use). */
function persistedSecret(file: string, make: () => string): string {
  const full = path.join(DEMO_DIR, file);
  if (existsSync(full)) return readFileSync(full, 'utf8').trim();
  const value = make();
  writeFileSync(full, `${value}\n`, { mode: 0o600 });
  return value;
}

function portAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopping');
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[2m[${name}]\x1b[0m `;
  const pipe = (stream: NodeJS.ReadableStream | null) => {
    let buffer = '';
    stream?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      if (stopping && name === 'temporal') return; // its shutdown chatter is noise
      for (const line of lines) if (line.trim()) console.log(prefix + line);
    });
  };
  pipe(proc.stdout);
  pipe(proc.stderr);
  proc.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping the demo`);
      void shutdown(1);
    }
  });
  children.push({ name, proc });
  return proc;
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say('stopping everything the demo started…');
  // Reverse order: HTTP and worker first (the worker drains in-flight charges), the dev server last.
  for (const { name, proc } of [...children].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) continue;
    proc.kill('SIGTERM');
    const exited = await Promise.race([
      new Promise<boolean>((r) => proc.once('exit', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
    ]);
    if (!exited) {
      say(`${name} did not stop in 15s; killing it`);
      proc.kill('SIGKILL');
    }
  }
  await sandbox?.close();
  receiver?.closeAllConnections();
  receiver?.close();
  process.exit(code);
}

async function api(pathname: string, apiToken: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${HTTP_URL}${pathname}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${pathname} → ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function cancelEarlierDemoSubscriptions(apiToken: string): Promise<void> {
  const { subscriptions } = (await api(
    '/subscriptions?customerId=demo-customer-001&pageSize=200',
    apiToken,
  ).catch(() => ({ subscriptions: [] }))) as {
    subscriptions: { subscriptionId: string; workflowStatus: string }[];
  };
  const running = subscriptions.filter((s) => s.workflowStatus === 'RUNNING');
  if (running.length === 0) return;
  say(`canceling ${running.length} subscription(s) left running by an earlier demo run`);
  // In the background: a workflow stuck retrying an activity must not hold up the demo.
  void Promise.allSettled(
    running.map(({ subscriptionId }) =>
      api(`/subscriptions/${subscriptionId}/cancel`, apiToken, {
        method: 'POST',
        body: { reason: 'demo restarted: the sandbox lost its regKeys' },
      }),
    ),
  );
}

interface ReceivedEvent {
  id: string;
  type: string;
  subscriptionId: string;
  sequence: number;
  data: Record<string, unknown>;
}

/**
 * A merchant backend in a few lines: verify with `standardwebhooks`, answer 2xx, print. A request that
 * does not verify gets 400 (the dispatcher retries it, as it would for a real endpoint).
 */
async function startWebhookReceiver(secret: string, onEvent: (e: ReceivedEvent) => void): Promise<string> {
  const wh = new Webhook(secret);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const event = wh.verify(Buffer.concat(chunks).toString('utf8'), {
          'webhook-id': String(req.headers['webhook-id'] ?? ''),
          'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
          'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
        }) as ReceivedEvent;
        res.writeHead(204).end();
        onEvent(event);
      } catch (err) {
        say(`webhook rejected: ${err instanceof Error ? err.message : String(err)}`);
        res.writeHead(400).end('signature does not verify');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(WEBHOOK_PORT, '127.0.0.1', resolve);
  });
  receiver = server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/linepay-subscriptions`;
}

function describeEvent(e: ReceivedEvent): string {
  const d = e.data;
  if (e.type.startsWith('charge.')) {
    return `cycle ${d.cycle} · ${d.amount} ${d.currency} · transaction ${d.transactionId ?? '-'} · order ${d.orderId}${d.returnCode && d.returnCode !== '0000' ? ` · code ${d.returnCode}` : ''}`;
  }
  return Object.entries(d)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  mkdirSync(DEMO_DIR, { recursive: true });

  const payloadKey =
    process.env.PAYLOAD_ENCRYPTION_KEY ??
    persistedSecret('payload-key', () => randomBytes(32).toString('base64'));
  const apiToken =
    process.env.API_TOKEN ?? persistedSecret('api-token', () => randomBytes(24).toString('base64url'));
  const codecEndpoint = `http://127.0.0.1:${CODEC_PORT}/codec`;
  // Kept in .demo/ like the other secrets: deliveries still queued from an earlier run verify too.
  const webhookSecret =
    process.env.WEBHOOK_SECRET ??
    persistedSecret('webhook-secret', () => `whsec_${randomBytes(32).toString('base64')}`);
  const webhooks: ReceivedEvent[] = [];
  let currentSubscription = '';
  const webhookUrl = await startWebhookReceiver(webhookSecret, (e) => {
    webhooks.push(e);
    const earlier = e.subscriptionId === currentSubscription ? '' : ` (${e.subscriptionId}, an earlier demo)`;
    say(`\x1b[35mwebhook #${e.sequence}\x1b[0m ${e.type}${earlier} · ${describeEvent(e)}`);
  });
  say(`webhook receiver on ${webhookUrl} (verifies with standardwebhooks)`);

  // 1. Temporal dev server (reused when something already answers on 7233).
  if (await portAnswers(TEMPORAL_HOST, TEMPORAL_PORT)) {
    say(`reusing the Temporal server already on ${TEMPORAL_HOST}:${TEMPORAL_PORT}`);
    say(`(start it with --ui-codec-endpoint ${codecEndpoint} for the Web UI to decode payloads)`);
  } else {
    const cli = temporalCliPath();
    if (!cli) throw new Error('no Temporal CLI: run `npm run provision` or set TEMPORAL_CLI_PATH');
    say(`starting the Temporal dev server (history in .demo/temporal.sqlite, Web UI on :${UI_PORT})`);
    start(
      'temporal',
      cli,
      [
        'server',
        'start-dev',
        '--ip',
        TEMPORAL_HOST,
        '--port',
        String(TEMPORAL_PORT),
        '--db-filename',
        path.join(DEMO_DIR, 'temporal.sqlite'),
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=NORMAL',
        '--ui-port',
        String(UI_PORT),
        '--ui-codec-endpoint',
        codecEndpoint,
        '--log-level',
        'warn',
        ...[
          'SubscriptionStatus=Keyword',
          'NextChargeAt=Datetime',
          'CustomerId=Keyword',
          'BillingCycle=Int',
        ].flatMap((sa) => ['--search-attribute', sa]),
      ],
      {},
    );
    await waitFor('Temporal dev server', () => portAnswers(TEMPORAL_HOST, TEMPORAL_PORT), 60_000);
  }

  // 2. LINE Pay sandbox, in this process (its control API drives DEMO_AUTO_APPROVE).
  // A fresh seed per run: with the default one a new sandbox hands out the regKeys of the last run, and
  // canceling an earlier run's subscription (below) would expire the new subscription's key (1193).
  sandbox = await startSandbox({
    port: SANDBOX_PORT,
    merchantName: 'Demo Shop 示範商店',
    seed: randomBytes(4).readUInt32LE(0),
  });
  say(`LINE Pay sandbox on ${sandbox.url}`);

  const common = {
    TEMPORAL_ADDRESS: `${TEMPORAL_HOST}:${TEMPORAL_PORT}`,
    TEMPORAL_NAMESPACE: 'default',
    PAYLOAD_ENCRYPTION_KEY: payloadKey,
    PAYLOAD_ENCRYPTION_KEY_ID: process.env.PAYLOAD_ENCRYPTION_KEY_ID ?? 'demo',
    // Local sandbox: http URLs and short intervals are fine; callback links signed with a derived key.
    LINEPAY_ENV: 'sandbox',
  };
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');

  // 3. Worker and HTTP service: the real entry points, as separate processes.
  // Under tsx the SDK's workflow threads cannot load the TypeScript preload that turns the workflow
  // stack-trace tracking off (`npm run start:worker` loads the built one): the demo keeps the tracking.
  start('worker', tsx, ['worker/main.ts'], {
    ...common,
    WORKER_WORKFLOW_STACK_TRACES: 'on',
    LINEPAY_API_URL: sandbox.url,
    LINEPAY_CHANNEL_ID: sandbox.channelId,
    LINEPAY_CHANNEL_SECRET: sandbox.channelSecret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
    METRICS_BIND_ADDRESS: process.env.METRICS_BIND_ADDRESS ?? '127.0.0.1:9464',
    WEBHOOK_URLS: webhookUrl,
    WEBHOOK_SECRET: webhookSecret,
  });
  start('http', tsx, ['client/http/server.ts'], {
    ...common,
    PORT: String(HTTP_PORT),
    HOST: '127.0.0.1',
    API_TOKEN: apiToken,
    PUBLIC_BASE_URL: HTTP_URL,
    // The dev server's UI has no login, so it cannot forward a token: open codec, bound to localhost.
    CODEC_ALLOW_UNAUTHENTICATED: 'true',
    CODEC_HOST: '127.0.0.1',
    CODEC_PORT: String(CODEC_PORT),
    CODEC_CORS_ORIGINS: `http://127.0.0.1:${UI_PORT},http://localhost:${UI_PORT}`,
  });
  await waitFor('HTTP service', async () => (await fetch(`${HTTP_URL}/readyz`)).ok, 60_000);

  // Subscriptions from earlier runs live on in .demo/temporal.sqlite, but the sandbox's regKeys died with
  // its process: cancel them so they do not fill the log with declines.
  await cancelEarlierDemoSubscriptions(apiToken);

  // 4. A subscription billed every 30 seconds.
  const subscriptionId = `demo-${randomUUID().slice(0, 8)}`;
  currentSubscription = subscriptionId;
  const created = (await api('/subscriptions', apiToken, {
    method: 'POST',
    body: {
      subscriptionId,
      customerId: 'demo-customer-001',
      productName: '月訂閱 Premium',
      amount: 390,
      currency: 'TWD',
      interval: INTERVAL,
    },
  })) as { paymentUrl?: { web: string } };
  const uiLink = `http://127.0.0.1:${UI_PORT}/namespaces/default/workflows/subscription-${subscriptionId}`;
  console.log('');
  say(`subscription ${subscriptionId}: 390 TWD every ${INTERVAL} (月訂閱 Premium)`);
  say(`\x1b[32mopen to approve:\x1b[0m ${created.paymentUrl?.web}`);
  say(`\x1b[36mWeb UI:\x1b[0m          ${uiLink}`);
  say(
    `API:             curl -H 'authorization: Bearer ${apiToken}' ${HTTP_URL}/subscriptions/${subscriptionId}`,
  );
  say(
    `CLI:             PAYLOAD_ENCRYPTION_KEY=$(cat .demo/payload-key) PAYLOAD_ENCRYPTION_KEY_ID=demo npx linepay-subscriptions get ${subscriptionId}`,
  );
  say('Ctrl-C stops everything.');
  console.log('');

  if (AUTO_APPROVE) {
    const view = (await api(`/subscriptions/${subscriptionId}`, apiToken)) as SubscriptionView;
    const { redirectUrl } = sandbox.control.approve(view.reservation!.transactionId);
    const page = await fetch(redirectUrl);
    const status = /data-status="([^"]+)"/.exec(await page.text())?.[1];
    say(`auto-approved on the sandbox; confirm page: HTTP ${page.status}, status ${status}`);
  } else {
    say('waiting for you to approve in the browser…');
  }

  // 5. Follow the subscription: status changes and each charge as it happens.
  let lastStatus = '';
  let seenCharges = 0;
  for (;;) {
    const view = (await api(`/subscriptions/${subscriptionId}`, apiToken).catch(() => undefined)) as
      | SubscriptionView
      | undefined;
    if (view) {
      if (view.status !== lastStatus) {
        say(`status: ${view.status}${view.nextChargeAt ? ` (next charge ${view.nextChargeAt})` : ''}`);
        lastStatus = view.status;
      }
      for (const charge of view.charges.slice(seenCharges)) {
        const ledger = sandbox.control.ledger().filter((e) => e.orderId === charge.orderId).length;
        say(
          `\x1b[32mcharge #${charge.cycle}\x1b[0m ${charge.amount} ${charge.currency} ${charge.kind} · transaction ${charge.transactionId} · order ${charge.orderId} · sandbox ledger ${ledger ? '✓' : '…'}`,
        );
      }
      seenCharges = view.charges.length;
      if (MAX_CHARGES !== undefined && seenCharges >= MAX_CHARGES) {
        say(`${seenCharges} charge(s) seen; DEMO_MAX_CHARGES reached`);
        // Webhooks follow billing, never hold it up: give them a moment, then say whether they came.
        const paidHooks = () =>
          webhooks.filter((e) => e.subscriptionId === subscriptionId && e.type === 'charge.succeeded').length;
        const deadline = Date.now() + 30_000;
        while (paidHooks() < seenCharges && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 250));
        if (paidHooks() < seenCharges) {
          say(`only ${paidHooks()} of ${seenCharges} charge.succeeded webhooks arrived within 30 s`);
          await shutdown(1);
        }
        say(`${paidHooks()} charge.succeeded webhook(s) received and verified`);
        await shutdown(0);
      }
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
