/** Child process of migrations.test.ts: opens the ledger from env with migrations, reports, waits for "exit". */
import { readDatabaseConfig } from '../../../ledger/config.js';
import { openLedgerDatabase } from '../../../ledger/database.js';

const ledger = await openLedgerDatabase(readDatabaseConfig(process.env), { migrate: true });
process.stdout.write(`${JSON.stringify({ role: ledger.role })}\n`);
process.stdin.on('data', async () => {
  await ledger.close();
  process.exit(0);
});
