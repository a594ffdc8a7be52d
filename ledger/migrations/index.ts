import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_ledger.js';
import * as m0002 from './0002_credit_and_one_off.js';

/** Every migration, by name; names sort in the order they run. Add a file and a line here. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_ledger': m0001,
  '0002_credit_and_one_off': m0002,
};

/** Static imports rather than a folder scan, so bundlers and tsx see the same list. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
