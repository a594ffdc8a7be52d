import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from './config.js';
import { serveEmbedded } from './embedded-server.js';
import { migrationProvider } from './migrations/index.js';
import type { LedgerDatabase } from './schema.js';

/**
 * An open ledger database. `role` says how this process reaches it: `server` (PostgreSQL), `owner`
 * (this process runs the embedded PGlite and serves it on a Unix socket) or `client` (another
 * process owns the embedded PGlite; this one speaks the wire protocol to its socket).
 */
export interface LedgerDb {
  db: Kysely<LedgerDatabase>;
  kind: DatabaseConfig['kind'];
  role: 'server' | 'owner' | 'client';
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Run migrations to the latest version (idempotent; serialized by Kysely's advisory lock). */
  migrate?: boolean;
  /**
   * Embedded only: `auto` becomes the owner when no live process holds `DATA_DIR/owner.lock`, and a
   * client otherwise; `client` never owns (HTTP service, CLI). Default `auto`.
   */
  embedded?: 'auto' | 'client';
  /** How long a client waits for the owner's socket to appear; 0 connects lazily instead. */
  waitForOwnerMs?: number;
  /** Tests: keep the PGlite data in memory (the socket and lock still live in `dataDir`). */
  inMemory?: boolean;
}

/** The database is unreachable or refused to open; `code` lets callers answer 503 or retry. */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError' as const;
  readonly code = 'ledger_unavailable' as const;
}

const SOCKET_PORT = 5432;

function socketPath(dataDir: string): string {
  return path.join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
}

function kyselyOver(pool: pg.Pool): Kysely<LedgerDatabase> {
  // A client that loses its server (restart, owner exit) must not crash the process: idle ones
  // report on the pool, checked-out ones on themselves (the query in flight rejects anyway).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<LedgerDatabase>({ dialect: new PostgresDialect({ pool }) });
}

export async function migrateToLatest(db: Kysely<LedgerDatabase>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: 'ledger_migrations',
    migrationLockTableName: 'ledger_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new LedgerUnavailableError(
      `ledger migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Opens the ledger from config; with `migrate`, brings the schema up to date first. */
export async function openLedgerDatabase(
  config: DatabaseConfig,
  options: OpenOptions = {},
): Promise<LedgerDb> {
  const opened = config.kind === 'postgres' ? openPostgres(config) : await openEmbedded(config, options);
  // A lazy client (HTTP service before the worker is up) leaves migrating to the owner.
  if (options.migrate && !(opened.role === 'client' && options.waitForOwnerMs === 0)) {
    try {
      await migrateToLatest(opened.db);
    } catch (err) {
      await opened.close();
      throw err;
    }
  }
  return opened;
}

function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>): LedgerDb {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
  });
  const db = kyselyOver(pool);
  return { db, kind: 'postgres', role: 'server', close: () => db.destroy() };
}

function embeddedPool(dataDir: string, poolSize: number): pg.Pool {
  return new pg.Pool({
    host: dataDir,
    port: SOCKET_PORT,
    user: 'postgres',
    database: 'postgres',
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `owner.lock` (O_EXCL) unless a live process holds it; a lock left by a dead process is removed. */
async function tryTakeOwnership(lockPath: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // An empty file is an owner between open and write: treat it as alive.
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) return false;
    await rm(lockPath, { force: true });
  }
  return false;
}

async function openEmbedded(
  config: Extract<DatabaseConfig, { kind: 'pglite' }>,
  options: OpenOptions,
): Promise<LedgerDb> {
  const dataDir = config.dataDir;
  await mkdir(dataDir, { recursive: true });
  const sock = socketPath(dataDir);
  if (sock.length > 100) {
    throw new LedgerUnavailableError('DATA_DIR is too long a path for the embedded database socket');
  }
  const lockPath = path.join(dataDir, 'owner.lock');
  const owner = (options.embedded ?? 'auto') === 'auto' && (await tryTakeOwnership(lockPath));
  if (!owner) {
    const deadline = Date.now() + (options.waitForOwnerMs ?? 120_000);
    // 0: connect lazily (the HTTP service answers 503 on ledger routes until the owner is up).
    while (options.waitForOwnerMs !== 0 && !existsSync(sock)) {
      if (Date.now() > deadline) {
        throw new LedgerUnavailableError(
          'the embedded ledger database is not running (start the worker first, or set DATABASE_URL)',
        );
      }
      await sleep(100);
    }
    const db = kyselyOver(embeddedPool(dataDir, config.poolSize));
    return { db, kind: 'pglite', role: 'client', close: () => db.destroy() };
  }

  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(options.inMemory ? 'memory://' : path.join(dataDir, 'pgdata'));
    await rm(sock, { force: true });
    const server = await serveEmbedded(pglite, sock);
    const db = kyselyOver(embeddedPool(dataDir, config.poolSize));
    return {
      db,
      kind: 'pglite',
      role: 'owner',
      close: async () => {
        await db.destroy();
        await server.close();
        await pglite.close();
        await rm(sock, { force: true });
        await rm(lockPath, { force: true });
      },
    };
  } catch (err) {
    await rm(lockPath, { force: true });
    throw err;
  }
}
