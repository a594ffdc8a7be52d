import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SandboxClock } from '../../sandbox/index.js';
import { testServerExecutable } from '../../scripts/temporal-binaries.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';

const { temporal } = proto; // CommonJS package: named imports fail under plain Node ESM

const INDEXED: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
};

/**
 * A Java time-skipping test server for one test file, with our search attributes registered
 * (`createTimeSkipping` has no option for them).
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerExecutable() },
  });
  const searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of SEARCH_ATTRIBUTE_KEYS) searchAttributes[key.name] = INDEXED[key.type]!;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes,
  });
  return env;
}

/**
 * The sandbox clock for a test environment: the time-skipping server's own time, so reservations
 * (20 min), approval windows and idle regKeys expire when a test skips past them, as at LINE Pay.
 * Real time on a server that does not skip.
 */
export function sandboxClockOf(env: TestWorkflowEnvironment): SandboxClock {
  return env.supportsTimeSkipping ? () => env.currentTimeMs() : Date.now;
}
