import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

const HISTORIES = new URL('../fixtures/histories/', import.meta.url);
const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

function load(file: string): unknown {
  return JSON.parse(readFileSync(new URL(file, HISTORIES), 'utf8'));
}

/**
 * Recorded histories of real runs (see subscription.full-lifecycle.test.ts, RECORD_HISTORIES=1) must
 * replay against today's workflow code: a change to history shape needs `patched()`.
 */
describe('replay of recorded subscription histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  // The run's bundle of today's workflows/index.ts, built once by the global setup (workflow-bundle.ts).
  const current = { codePath: inject('workflowBundlePath') };
  it.each(files)('%s replays deterministically against the current workflow', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: current }, load(file), `replay-${file}`);
  });

  it('fails on a deliberately non-deterministic change', async () => {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(
        new URL('../fixtures/workflows/subscription-nondeterministic.ts', import.meta.url),
      ),
      logger: quiet,
    });
    await expect(
      Worker.runReplayHistory({ workflowBundle }, load(files[0]!), 'replay-broken'),
    ).rejects.toMatchObject({
      name: DeterminismViolationError.name,
      message: expect.stringContaining('Nondeterminism'),
    });
  });
});
