import type { TestProject } from 'vitest/node';
import { sharedWorkflowBundle } from './workflow-bundle.js';

/** Global setup of a project that only needs the run's workflow bundle (the unit project's replay test). */
export default async function setup(project: TestProject): Promise<() => void> {
  const bundle = await sharedWorkflowBundle();
  project.provide('workflowBundlePath', bundle.path);
  return () => bundle.release();
}
