import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { devServerExecutable } from '../../scripts/temporal-binaries.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';
import { CHROMIUM_SKIP_NOTICE, skipBrowserTest } from './chromium.js';
import { sharedWorkflowBundle } from './workflow-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal CLI dev server this test run started. */
    temporalAddress: string;
  }
}

/**
 * One real Temporal dev server (in-memory SQLite) for the whole `temporal` project, so no test file
 * pays its start-up; files isolate themselves with their own task queues and workflow ids.
 * Time-skipping servers are per file (see `time-skipping.ts`): their clock is global to the server.
 * The workflow code is bundled once here, while the dev server starts, and every worker loads the file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (skipBrowserTest) console.log(CHROMIUM_SKIP_NOTICE);
  const started = Date.now();
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: devServerExecutable(),
        searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
        extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=400'],
      },
    }),
    sharedWorkflowBundle(),
  ]);
  project.provide('temporalAddress', env.address);
  project.provide('workflowBundlePath', bundle.path);
  console.log(
    `[global-setup] Temporal dev server at ${env.address}, workflow bundle ready (${Date.now() - started} ms)`,
  );
  return async () => {
    await env.teardown();
    bundle.release();
  };
}
