/**
 * Latency of `POST /subscriptions` (update-with-start: start the workflow, reserve on LINE Pay, return
 * the payment URL) on a real Temporal dev server with the sandbox and a worker.
 *
 *   npx tsx bench/create-latency/run.ts            # self-contained: starts everything in-process
 *   BENCH_URL=http://127.0.0.1:3000 API_TOKEN=… npx tsx bench/create-latency/run.ts   # a running service
 *
 * Env: BENCH_REQUESTS (300), BENCH_CONCURRENCY (1), BENCH_WARMUP (20).
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { API_TOKEN, startServiceStack } from '../../test/helpers/service-stack.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 1);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);

interface Target {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** The same in-process stack the integration tests use, on a dev server of its own. */
async function startLocal(): Promise<Target> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServerExecutable(), searchAttributes: [...SEARCH_ATTRIBUTE_KEYS] },
  });
  const stack = await startServiceStack(env.address, 'bench-create-latency');
  return {
    url: stack.url,
    token: API_TOKEN,
    async close() {
      await stack.close();
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
