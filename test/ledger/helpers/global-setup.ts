import type { TestProject } from 'vitest/node';
import { postgresBinDir, startPostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the PostgreSQL server the ledger project started, or '' when PostgreSQL is not installed. */
    ledgerPostgresUrl: string;
  }
}

/**
 * One throw-away PostgreSQL for the ledger project; each test file makes its own database on it. Without
 * PostgreSQL installed the PostgreSQL variants are skipped locally, and fail under CI (`CI` set).
 */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (!postgresBinDir()) {
    if (process.env.CI)
      throw new Error('CI must run the ledger tests on PostgreSQL: apt-get install postgresql');
    console.warn('[ledger] PostgreSQL is not installed: running the ledger suite on PGlite only');
    project.provide('ledgerPostgresUrl', '');
    return undefined;
  }
  const server = await startPostgresServer();
  project.provide('ledgerPostgresUrl', server.url());
  return () => server.destroy();
}
