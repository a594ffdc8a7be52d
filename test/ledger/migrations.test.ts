import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { openLedgerDatabase } from '../../ledger/database.js';
import { MIGRATIONS } from '../../ledger/migrations/index.js';

const CHILD = fileURLToPath(new URL('./helpers/migrate-child.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

function startChild(env: Record<string, string>): { proc: ChildProcess; ready: Promise<{ role: string }> } {
  const proc = spawn(TSX, [CHILD], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const ready = new Promise<{ role: string }>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line));
    });
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
  return { proc, ready };
}

async function stop(children: { proc: ChildProcess }[]): Promise<void> {
  await Promise.all(
    children.map(
      ({ proc }) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.stdin?.write('exit\n');
        }),
    ),
  );
}

const names = Object.keys(MIGRATIONS).sort();

describe('migrations from two processes at once', () => {
  it.skipIf(!inject('ledgerPostgresUrl'))(
    'on PostgreSQL: both start, the schema is migrated once',
    async () => {
      const base = inject('ledgerPostgresUrl');
      const name = `migr_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`create database ${name}`).finally(() => admin.end());
      const url = base.replace(/\/[^/]*$/, `/${name}`);
      const children = [startChild({ DATABASE_URL: url }), startChild({ DATABASE_URL: url })];
      try {
        const roles = await Promise.all(children.map((c) => c.ready));
        expect(roles).toEqual([{ role: 'server' }, { role: 'server' }]);
      } finally {
        await stop(children);
      }
      const ledger = await openLedgerDatabase({ kind: 'postgres', url, poolSize: 1 });
      try {
        const { rows } = await sql<{
          name: string;
        }>`select name from ledger_migrations order by name`.execute(ledger.db);
        expect(rows.map((r) => r.name)).toEqual(names);
      } finally {
        await ledger.close();
      }
    },
  );

  it('on the embedded PGlite: one process owns it, the other connects, both migrate safely', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-migr-'));
    const children = [startChild({ DATA_DIR: dataDir }), startChild({ DATA_DIR: dataDir })];
    try {
      const roles = (await Promise.all(children.map((c) => c.ready))).map((r) => r.role).sort();
      expect(roles).toEqual(['client', 'owner']);
      // A third process (the HTTP service, the CLI) reads through the owner.
      const reader = await openLedgerDatabase(
        { kind: 'pglite', dataDir, poolSize: 1 },
        { embedded: 'client', waitForOwnerMs: 5_000 },
      );
      try {
        const { rows } = await sql<{
          name: string;
        }>`select name from ledger_migrations order by name`.execute(reader.db);
        expect(rows.map((r) => r.name)).toEqual(names);
      } finally {
        await reader.close();
      }
    } finally {
      await stop(children);
      rmSync(dataDir, { recursive: true, force: true });
    }
    // A cold PGlite on disk takes seconds, far more on a loaded machine; the client waits for it.
  }, 300_000);
});
