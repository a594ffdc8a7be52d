import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The subscription workflow code, bundled once for the whole run (see `sharedWorkflowBundle`). */
    workflowBundlePath: string;
  }
}

/** Webpack's chatter on every bundle; warnings and errors still show. */
export const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    console.warn(message);
  },
  error(message: string) {
    console.error(message);
  },
};

const KEY = Symbol.for('linepay-subscriptions.sharedWorkflowBundle');
type Shared = { path: string; users: number; ready: Promise<void> };
const registry = globalThis as { [KEY]?: Shared };

/**
 * Bundles `workflows/index.ts` once per `vitest run` into a file that every worker loads with
 * `workflowBundle: { codePath }`, as production does. Webpack took several seconds of a core per test
 * file when each file bundled for itself. Called from the global setup of every project that needs it;
 * the projects' global setups share the main process, so the bundle is built once and removed after
 * the last project tears down.
 */
export async function sharedWorkflowBundle(): Promise<{ path: string; release: () => void }> {
  let shared = registry[KEY];
  if (!shared) {
    const dir = mkdtempSync(path.join(tmpdir(), 'linepay-workflow-bundle-'));
    const file = path.join(dir, 'workflow-bundle.js');
    const ready = bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger }).then(
      ({ code }) => writeFileSync(file, code),
    );
    shared = { path: file, users: 0, ready };
    registry[KEY] = shared;
  }
  shared.users += 1;
  const mine = shared;
  await mine.ready;
  return {
    path: mine.path,
    release() {
      mine.users -= 1;
      if (mine.users > 0) return;
      rmSync(path.dirname(mine.path), { recursive: true, force: true });
      if (registry[KEY] === mine) delete registry[KEY];
    },
  };
}
