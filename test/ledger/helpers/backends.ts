import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { type LedgerDb, openLedgerDatabase } from '../../../ledger/database.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated ledger database for one test file. */
  open(): Promise<LedgerDb & { url?: string; dataDir?: string }>;
}

/** Both databases the suite runs on: embedded PGlite (in memory, over its socket) and real PostgreSQL. */
export function ledgerBackends(): Backend[] {
  const pgUrl = inject('ledgerPostgresUrl');
  const backends: Backend[] = [
    {
      name: 'pglite',
      async open() {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-lite-'));
        const ledger = await openLedgerDatabase(
          { kind: 'pglite', dataDir, poolSize: 8 },
          { migrate: true, inMemory: true },
        );
        return {
          ...ledger,
          dataDir,
          close: async () => {
            await ledger.close();
            rmSync(dataDir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  if (pgUrl) {
    backends.push({
      name: 'postgres',
      async open() {
        const name = `ledger_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: pgUrl });
        await admin.connect();
        await admin.query(`create database ${name}`).finally(() => admin.end());
        const url = pgUrl.replace(/\/[^/]*$/, `/${name}`);
        const ledger = await openLedgerDatabase({ kind: 'postgres', url, poolSize: 8 }, { migrate: true });
        return { ...ledger, url };
      },
    });
  }
  return backends;
}
