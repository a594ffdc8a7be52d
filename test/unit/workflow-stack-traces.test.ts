import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseStackTraces } from '../../worker/stack-trace-setting.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRELOAD = './worker/workflow-stack-traces.ts';
const require = createRequire(import.meta.url);

/**
 * What the SDK's workflow thread does at start (ReusableVMWorkflowCreator.create → globalHandlers.install),
 * then whether Node's own promise hooks (AsyncLocalStorage) still work, in a fresh node process.
 */
const PROBE = `
const { globalHandlers } = require('@temporalio/worker/lib/workflow/vm-shared.js');
const { AsyncLocalStorage } = require('node:async_hooks');
globalHandlers.install();
const als = new AsyncLocalStorage();
als.run('kept', async () => {
  await Promise.resolve();
  console.log(JSON.stringify({ sdkHook: globalHandlers.promiseHookInstalled, als: als.getStore() }));
});
`;

function probe(env: Record<string, string | undefined>, withPreload = true) {
  const args = [
    '--import',
    'tsx',
    ...(withPreload ? ['--import', PRELOAD] : []),
    '--input-type=commonjs',
    '-e',
    PROBE,
  ];
  const run = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WORKER_WORKFLOW_STACK_TRACES: undefined, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return {
    status: run.status,
    stderr: run.stderr,
    result: line.startsWith('{') ? JSON.parse(line) : undefined,
  };
}

describe('WORKER_WORKFLOW_STACK_TRACES', () => {
  it('parses on, off and unset; anything else is refused', () => {
    expect(parseStackTraces(undefined)).toBe(false);
    expect(parseStackTraces('')).toBe(false);
    expect(parseStackTraces(' OFF ')).toBe(false);
    expect(parseStackTraces('on')).toBe(true);
    expect(parseStackTraces('true')).toBeUndefined();
  });

  it('the preload refuses the SDK its stack-trace hook, silently, and leaves Node its own', () => {
    const { status, stderr, result } = probe({});
    expect(status).toBe(0);
    expect(result).toEqual({ sdkHook: false, als: 'kept' });
    expect(stderr).not.toContain('stack trace collection will be disabled');
  });

  it('WORKER_WORKFLOW_STACK_TRACES=on keeps the SDK hook, as does starting without the preload', () => {
    expect(probe({ WORKER_WORKFLOW_STACK_TRACES: 'on' }).result).toEqual({ sdkHook: true, als: 'kept' });
    expect(probe({}, false).result).toEqual({ sdkHook: true, als: 'kept' });
  });

  it("reaches the SDK's workflow threads (file workers, as the SDK starts them) when bundled to JS", () => {
    // vitest.config.ts bundles the preload here and hands it to every test process as `--import`.
    const preload = path.join(
      ROOT,
      'node_modules',
      '.cache',
      'linepay-subscriptions',
      'workflow-stack-traces.mjs',
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'stack-traces-'));
    const thread = path.join(dir, 'thread.cjs');
    writeFileSync(
      thread,
      `const { globalHandlers } = require(${JSON.stringify(require.resolve('@temporalio/worker/lib/workflow/vm-shared.js'))});
globalHandlers.install();
require('node:worker_threads').parentPort.postMessage(globalHandlers.promiseHookInstalled);`,
    );
    const main = `const { Worker } = require('node:worker_threads');
new Worker(${JSON.stringify(thread)}).on('message', (m) => { console.log(JSON.stringify({ sdkHook: m })); process.exit(0); });`;
    const run = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, '-e', main], {
      cwd: ROOT,
      env: { ...process.env, WORKER_WORKFLOW_STACK_TRACES: undefined },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stdout.trim()).toBe('{"sdkHook":false}');
  });

  it('a bad value stops the process at start-up, naming the variable', () => {
    const { status, stderr } = probe({ WORKER_WORKFLOW_STACK_TRACES: 'maybe' });
    expect(status).not.toBe(0);
    expect(stderr).toContain('WORKER_WORKFLOW_STACK_TRACES must be "on" or "off"');
  });
});
