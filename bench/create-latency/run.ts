/**
 * Latency of `POST /subscriptions` (update-with-start: start the workflow, reserve on LINE Pay, return
 * the payment URL) on a real Temporal dev server with the sandbox and a worker.
 *
 *   npx tsx bench/create-latency/run.ts            # self-contained: starts everything in-process
 *   BENCH_URL=http://127.0.0.1:3000 API_TOKEN=… npx tsx bench/create-latency/run.ts   # a running service
 *
 * Env: BENCH_REQUESTS (300), BENCH_CONCURRENCY (1), BENCH_WARMUP (20).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createApp } from '../../client/http/app.js';
import { createSubscriptionsClient } from '../../client/subscriptions-client.js';
import { createDataConverter } from '../../client/temporal/data-converter.js';
import { startSandbox } from '../../sandbox/index.js';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { buildActivityDeps, createSubscriptionWorker } from '../../worker/create-worker.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 1);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);

interface Target {
  url: string;
  token: string;
  close(): Promise<void>;
}

async function startLocal(): Promise<Target> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServerExecutable(), searchAttributes: [...SEARCH_ATTRIBUTE_KEYS] },
  });
  const keys = [{ id: 'bench', key: randomBytes(32) }];
  const dataConverter = createDataConverter(keys);
  const sandbox = await startSandbox({ port: 0 });
  const taskQueue = 'bench-create-latency';
  const nativeConnection = await NativeConnection.connect({ address: env.address });
  const worker = await createSubscriptionWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activityDeps: buildActivityDeps({
      linePay: { baseUrl: sandbox.url, channelId: sandbox.channelId, channelSecret: sandbox.channelSecret },
      encryptionKeys: keys,
    }),
    dataConverter,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: env.address });
  const client = new Client({ connection, namespace: 'default', dataConverter });
  const token = randomBytes(16).toString('hex');
  let handler: (req: Request) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  const server = serve({ fetch: (req) => handler(req), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handler = createApp({
    subscriptions: createSubscriptionsClient({ client, taskQueue, publicBaseUrl: url }),
    apiToken: token,
  }).fetch;
  return {
    url,
    token,
    async close() {
      server.close();
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
      await sandbox.close();
      await env.teardown();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function createOnce(target: Target): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${target.url}/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      subscriptionId: `bench-${randomUUID()}`,
      customerId: 'bench-customer',
      productName: '月訂閱 Premium',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
    }),
  });
  await res.arrayBuffer();
  const ms = performance.now() - started;
  if (res.status !== 201) throw new Error(`POST /subscriptions → ${res.status}`);
  return ms;
}

async function run(target: Target, count: number): Promise<number[]> {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        samples.push(await createOnce(target));
      }
    }),
  );
  return samples;
}

const target: Target = process.env.BENCH_URL
  ? {
      url: process.env.BENCH_URL.replace(/\/+$/, ''),
      token: process.env.API_TOKEN ?? '',
      close: async () => {},
    }
  : await startLocal();
try {
  await run(target, WARMUP);
  const wall = performance.now();
  const samples = await run(target, REQUESTS);
  const seconds = (performance.now() - wall) / 1000;
  samples.sort((a, b) => a - b);
  const fmt = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    `POST /subscriptions × ${samples.length} (concurrency ${CONCURRENCY}, after ${WARMUP} warm-up)`,
  );
  console.log(
    `  p50 ${fmt(percentile(samples, 50))}   p90 ${fmt(percentile(samples, 90))}   p99 ${fmt(percentile(samples, 99))}   max ${fmt(samples.at(-1)!)}`,
  );
  console.log(`  throughput ${(samples.length / seconds).toFixed(1)} creates/s`);
} finally {
  await target.close();
}
