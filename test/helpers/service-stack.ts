import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { deriveCallbackKey } from '../../activities/callback-link.js';
import { createLedgerActivities } from '../../activities/ledger-activities.js';
import { readBillingLimits } from '../../client/config.js';
import { createApp } from '../../client/http/app.js';
import { createCodecApp } from '../../client/http/codec-routes.js';
import { createSubscriptionsClient, type SubscriptionsClient } from '../../client/subscriptions-client.js';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import type { EncryptionKey } from '../../client/temporal/payload-codec.js';
import { type DatabaseConfig, parseWebhookSecret } from '../../ledger/config.js';
import { type LedgerDb, openLedgerDatabase } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import type { RetryPolicy } from '../../ledger/webhooks/backoff.js';
import { WebhookDispatcher } from '../../ledger/webhooks/dispatcher.js';
import { type RunningSandbox, startSandbox } from '../../sandbox/index.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import type { SubscriptionEvent } from '../../workflows/subscription-event.js';
import { memoryLedgerActivities } from './memory-ledger.js';
import { workflowCode } from './subscription-harness.js';

export const API_TOKEN = 'integration-api-token-0123';
export const CODEC_TOKEN = 'integration-codec-token-0123456789abcdef';

/**
 * The whole product on one dev server: LINE Pay sandbox, a worker built by `createSubscriptionWorker`,
 * a codec-enabled client and the HTTP service listening on a random port.
 */
export interface ServiceStack {
  url: string;
  /** The codec server, on its own port as in production. */
  codecUrl: string;
  /** What the worker signs callback links with (derived from the payload key, as in the demo). */
  callbackSigningKey: Buffer;
  sandbox: RunningSandbox;
  client: Client;
  subscriptions: SubscriptionsClient;
  keys: EncryptionKey[];
  taskQueue: string;
  worker: Worker;
  /** Every event the workflows handed to the ledger activity, repeats included (and stored, with `ledger`). */
  recordedEvents: SubscriptionEvent[];
  /** With the `ledger` option: the real ledger the worker writes and the HTTP service reads. */
  ledger?: { db: LedgerDb; store: LedgerStore; dispatcher?: WebhookDispatcher };
  /** Calls the HTTP service with the merchant token. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The real ledger instead of the in-memory one: the worker records into `database` (migrated here) and,
 * with `webhooks`, a `WebhookDispatcher` delivers its outbox as a worker process does.
 */
export interface StackLedgerOptions {
  database: DatabaseConfig;
  webhooks?: { urls: string[]; secret: string; policy?: RetryPolicy; pollMs?: number };
}

export async function startServiceStack(
  address: string,
  taskQueue = `stack-${randomUUID()}`,
  options: { identity?: string; ledger?: StackLedgerOptions } = {},
): Promise<ServiceStack> {
  const keys: EncryptionKey[] = [{ id: 'test-k1', key: randomBytes(32) }];
  const callbackSigningKey = deriveCallbackKey(keys[0]!.key);
  const dataConverter = createDataConverter(keys);
  const recordedEvents: SubscriptionEvent[] = [];
  const sandbox = await startSandbox({ port: 0 });
  const ledger = options.ledger ? await openStackLedger(options.ledger) : undefined;
  const ledgerActivities = ledger
    ? createLedgerActivities({
        ledger: ledger.store,
        ...(ledger.dispatcher ? { onRecorded: () => ledger.dispatcher?.wake() } : {}),
      })
    : memoryLedgerActivities(recordedEvents);
  if (ledger) {
    const record = ledgerActivities.recordEvents;
    ledgerActivities.recordEvents = async (input) => {
      const result = await record(input);
      recordedEvents.push(...input.events);
      return result;
    };
  }
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createSubscriptionWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activityDeps: buildActivityDeps({
      linePay: { baseUrl: sandbox.url, channelId: sandbox.channelId, channelSecret: sandbox.channelSecret },
      encryptionKeys: keys,
    }),
    dataConverter,
    ledgerActivities,
    ...workflowCode(),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default', dataConverter });

  // Listen first: the public base URL (LINE Pay's redirect target) is only known once bound.
  let handler: (req: Request) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  const server = serve({ fetch: (req) => handler(req), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) =>
    server.listening ? resolve() : server.once('listening', () => resolve()),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const subscriptions = createSubscriptionsClient({
    client,
    taskQueue,
    publicBaseUrl: url,
    limits: readBillingLimits({ LINEPAY_ENV: 'sandbox' }),
  });
  const app = createApp({
    subscriptions,
    apiToken: API_TOKEN,
    callbackSigningKeys: [callbackSigningKey],
    log: () => {},
    ...(ledger ? { ledger: ledger.store } : {}),
  });
  handler = app.fetch;
  const codecApp = createCodecApp({
    codec: dataConverter.payloadCodecs[0]!,
    auth: { kind: 'token', token: CODEC_TOKEN },
    corsOrigins: ['http://127.0.0.1:8233'],
    log: () => {},
  });
  const codecServer = serve({ fetch: codecApp.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) =>
    codecServer.listening ? resolve() : codecServer.once('listening', () => resolve()),
  );
  const codecUrl = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;

  return {
    url,
    codecUrl,
    callbackSigningKey,
    sandbox,
    client,
    subscriptions,
    keys,
    taskQueue,
    worker,
    recordedEvents,
    ...(ledger ? { ledger } : {}),
    api(path, init = {}) {
      return fetch(`${url}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    },
    async close() {
      for (const s of [server, codecServer]) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          (s as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      }
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await nativeConnection.close();
      await sandbox.close();
      await ledger?.dispatcher?.stop();
      await ledger?.db.close();
    },
  };
}

async function openStackLedger(options: StackLedgerOptions) {
  const db = await openLedgerDatabase(options.database, { migrate: true });
  const hooks = options.webhooks;
  const store = new LedgerStore(db.db, hooks?.urls ?? []);
  const dispatcher = hooks
    ? new WebhookDispatcher({
        db: db.db,
        secret: parseWebhookSecret(hooks.secret),
        ...(hooks.policy ? { policy: hooks.policy } : {}),
        pollMs: hooks.pollMs ?? 200,
      })
    : undefined;
  dispatcher?.start();
  return { db, store, ...(dispatcher ? { dispatcher } : {}) };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}
