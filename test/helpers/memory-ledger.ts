import type { LedgerActivities } from '../../activities/ledger-activities.js';
import type { RecordEventsInput, SubscriptionEvent } from '../../workflows/subscription-event.js';

/**
 * Ledger activities over an array, for tests about billing rather than the database (the ledger's own
 * tests cover PostgreSQL/PGlite). Repeats are kept, so a test can see what the workflow re-sent.
 */
export function memoryLedgerActivities(recorded: SubscriptionEvent[] = []): LedgerActivities & {
  recorded: SubscriptionEvent[];
} {
  return {
    recorded,
    async recordEvents({ events }: RecordEventsInput) {
      recorded.push(...events);
      return { stored: events.length };
    },
    async reconcileCharges() {
      throw new Error('reconciliation is not part of this test');
    },
  };
}
