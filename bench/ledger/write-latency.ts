/**
 * Ledger write latency per charge event: one `recordEvents` call per charge (its event, charge row and
 * one webhook delivery row), on the embedded PGlite (files in a temp DATA_DIR, over its socket, as the
 * worker runs it) and on a throw-away PostgreSQL. Prints p50/p99. `npx tsx bench/ledger/write-latency.ts [n]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLedgerDatabase } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { EventStream } from '../../test/ledger/helpers/events.js';
import { postgresBinDir, startPostgresServer } from '../../test/ledger/helpers/postgres-server.js';

const N = Number(process.argv[2] ?? 500);
const WARMUP = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, store: LedgerStore): Promise<void> {
  const streams = Array.from({ length: 20 }, () => new EventStream());
  const times: number[] = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const s = streams[i % streams.length]!;
    const event = s.charge(Math.floor(i / streams.length));
    const t0 = process.hrtime.bigint();
    await store.recordEvents([event]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(
    `${name.padEnd(28)} n=${N}  p50 ${percentile(times, 50).toFixed(2)} ms  p99 ${percentile(times, 99).toFixed(2)} ms  mean ${mean.toFixed(2)} ms  max ${times.at(-1)!.toFixed(2)} ms`,
  );
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-bench-'));
try {
  const lite = await openLedgerDatabase({ kind: 'pglite', dataDir, poolSize: 4 }, { migrate: true });
  await measure('pglite (files, socket)', new LedgerStore(lite.db, ['http://127.0.0.1:9/h']));
  await lite.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

if (postgresBinDir()) {
  // Durable (fsync on), as in production; the test suite's servers run with fsync off.
  const server = await startPostgresServer({ durable: true });
  try {
    const pg = await openLedgerDatabase(
      { kind: 'postgres', url: server.url(), poolSize: 4 },
      { migrate: true },
    );
    await measure('postgresql 15 (local, fsync)', new LedgerStore(pg.db, ['http://127.0.0.1:9/h']));
    await pg.close();
  } finally {
    server.destroy();
  }
} else {
  console.log('postgresql: not installed, skipped');
}
