/**
 * Start-up time and memory of the worker and the HTTP service: plain `node dist/…` (after `npm run build`)
 * against the tsx path (`tsx worker/main.ts`, as `npm run worker` runs it), on a real dev server.
 *
 *   npm run bench:startup                   # builds dist/ first when it is missing
 *   STARTUP_RUNS=5 npm run bench:startup    # runs per variant (default 3)
 *   STARTUP_REBUILD=1 npm run bench:startup # rebuild dist/ even if present
 *
 * "ready" is the worker's `Worker state changed … RUNNING` log line or the service's `http: listening`.
 * RSS is summed over the process tree (tsx runs the program in a child node process), in MB: at ready,
 * 3 s later, and the peak (VmHWM) of the process that runs the program. Linux only (/proc).
 * The ledger runs on a throw-away PostgreSQL when Debian's binaries are installed, else on PGlite.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { postgresBinDir, startPostgresServer } from '../../test/ledger/helpers/postgres-server.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.STARTUP_RUNS ?? 3);
const BUNDLE = path.join(ROOT, 'dist', 'workflow-bundle.js');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const SETTLE_MS = 3000;
const TIMEOUT_MS = 120_000;

interface Variant {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  ready: RegExp;
  /** Runs with dist/workflow-bundle.js moved aside, so the worker bundles the sources at start-up. */
  withoutBundle?: boolean;
}

interface Sample {
  readyMs: number;
  rssReadyMb: number;
  rssSettledMb: number;
  peakMb: number;
  processes: number;
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function descendants(pid: number): number[] {
  const out = [pid];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    for (const child of text ? text.split(/\s+/).map(Number) : []) out.push(...descendants(child));
  }
  return out;
}

const kb = (value: string | undefined): number => Number.parseInt(value ?? '0', 10);

/** Tree RSS, and the peak of the largest process (the one running the program, not tsx's launcher). */
function memory(pid: number): { rssMb: number; peakMb: number; processes: number } {
  let rss = 0;
  let peak = 0;
  const pids = descendants(pid);
  for (const p of pids) {
    try {
      const s = status(p);
      rss += kb(s.VmRSS);
      peak = Math.max(peak, kb(s.VmHWM));
    } catch {
      // exited between listing and reading
    }
  }
  return { rssMb: rss / 1024, peakMb: peak / 1024, processes: pids.length };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function measure(variant: Variant): Promise<Sample> {
  const started = performance.now();
  const child = spawn(variant.command, variant.args, {
    cwd: ROOT,
    env: { ...process.env, ...variant.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${variant.name}: not ready in ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (variant.ready.test(output)) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${variant.name} exited with ${code} before ready:\n${output.slice(-2000)}`));
      });
    });
    const atReady = memory(child.pid!);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const settled = memory(child.pid!);
    return {
      readyMs,
      rssReadyMb: atReady.rssMb,
      rssSettledMb: settled.rssMb,
      peakMb: settled.peakMb,
      processes: settled.processes,
    };
  } finally {
    child.stdout?.removeAllListeners('data');
    child.stderr?.removeAllListeners('data');
    child.removeAllListeners('exit');
    await stop(child);
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function ensureBuild(): void {
  const built = existsSync(BUNDLE) && existsSync(path.join(ROOT, 'dist', 'worker', 'main.js'));
  if (built && process.env.STARTUP_REBUILD !== '1') return;
  const t = performance.now();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  console.log(`[startup] npm run build: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  ensureBuild();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServerExecutable(), searchAttributes: [...SEARCH_ATTRIBUTE_KEYS] },
  });
  // The ledger as production runs it (PostgreSQL) when Debian's binaries are there; else embedded PGlite.
  const postgres = postgresBinDir() ? await startPostgresServer() : undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-startup-'));
  const common: Record<string, string> = {
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: `bench-startup-${randomBytes(4).toString('hex')}`,
    PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...(postgres ? { DATABASE_URL: await postgres.createDatabase('bench_startup') } : { DATA_DIR: dataDir }),
  };
  const workerEnv = {
    ...common,
    LINEPAY_API_URL: 'http://127.0.0.1:9',
    LINEPAY_CHANNEL_ID: '1234567890',
    LINEPAY_CHANNEL_SECRET: 'bench-startup-secret',
  };
  const serverEnv = { ...common, API_TOKEN: randomBytes(16).toString('hex'), PORT: '0', HOST: '127.0.0.1' };
  const workerReady = /"state":"RUNNING"/;
  const serverReady = /http: listening on/;
  const variants: Variant[] = [
    {
      name: 'worker: node dist/ + prebuilt bundle',
      command: process.execPath,
      args: ['dist/worker/main.js'],
      env: { ...workerEnv, WORKFLOW_BUNDLE_PATH: BUNDLE },
      ready: workerReady,
    },
    {
      name: 'worker: tsx + prebuilt bundle',
      command: TSX,
      args: ['worker/main.ts'],
      env: { ...workerEnv, WORKFLOW_BUNDLE_PATH: BUNDLE },
      ready: workerReady,
    },
    {
      name: 'worker: tsx, bundles at start-up',
      command: TSX,
      args: ['worker/main.ts'],
      env: workerEnv,
      ready: workerReady,
      withoutBundle: true,
    },
    {
      name: 'service: node dist/',
      command: process.execPath,
      args: ['dist/client/http/server.js'],
      env: serverEnv,
      ready: serverReady,
    },
    {
      name: 'service: tsx',
      command: TSX,
      args: ['client/http/server.ts'],
      env: serverEnv,
      ready: serverReady,
    },
  ];

  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  const aside = `${BUNDLE}.bench-startup-aside`;
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const variant of run % 2 ? [...variants].reverse() : variants) {
        if (variant.withoutBundle) renameSync(BUNDLE, aside);
        try {
          const sample = await measure(variant);
          samples.get(variant.name)!.push(sample);
          console.log(
            `[startup] run ${run + 1}/${RUNS} ${variant.name}: ready ${sample.readyMs.toFixed(0)} ms, RSS ${sample.rssReadyMb.toFixed(0)} MB`,
          );
        } finally {
          if (variant.withoutBundle) renameSync(aside, BUNDLE);
        }
      }
    }
  } finally {
    await env.teardown();
    postgres?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }

  console.log(`\nStart-up to ready, median of ${RUNS} (min–max); RSS of the process tree in MB`);
  const ledger = postgres ? `PostgreSQL (${postgresBinDir()})` : 'embedded PGlite (no PostgreSQL binaries)';
  console.log(`node ${process.version}, Temporal dev server ${env.address}, ledger on ${ledger}\n`);
  const header = [
    'variant',
    'ready ms',
    'RSS at ready',
    `RSS +${SETTLE_MS / 1000} s`,
    'peak (VmHWM)',
    'processes',
  ];
  const rows = variants.map((v) => {
    const s = samples.get(v.name)!;
    const ready = s.map((x) => x.readyMs);
    return [
      v.name,
      `${median(ready).toFixed(0)} (${Math.min(...ready).toFixed(0)}–${Math.max(...ready).toFixed(0)})`,
      median(s.map((x) => x.rssReadyMb)).toFixed(0),
      median(s.map((x) => x.rssSettledMb)).toFixed(0),
      median(s.map((x) => x.peakMb)).toFixed(0),
      String(s[0]?.processes ?? ''),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

await main();
