import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerActivities, LEDGER_FAILURE_TYPES } from '../../activities/ledger-activities.js';
import { type LedgerDb, openLedgerDatabase } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import type { SubscriptionEvent } from '../../workflows/subscription-event.js';
import { EventStream } from './helpers/events.js';
import { type PostgresServer, postgresBinDir, startPostgresServer } from './helpers/postgres-server.js';

const haveBinaries = postgresBinDir() !== undefined;
if (!haveBinaries && process.env.CI)
  throw new Error('CI must run this on PostgreSQL: apt-get install postgresql');

/** Its own server: stopping it must not disturb the other files on the project's shared one. */
describe.skipIf(!haveBinaries)('PostgreSQL stopped mid-run and restarted', () => {
  let server: PostgresServer;
  let ledger: LedgerDb;
  beforeAll(async () => {
    server = await startPostgresServer();
    ledger = await openLedgerDatabase(
      { kind: 'postgres', url: server.url(), poolSize: 4 },
      { migrate: true },
    );
  });
  afterAll(async () => {
    await ledger?.close();
    server?.destroy();
  });

  it('the activity fails retryably while the database is down, and the ledger ends complete with no gap', async () => {
    const activities = createLedgerActivities({
      ledger: new LedgerStore(ledger.db, ['http://127.0.0.1:9/h']),
    });
    const s = new EventStream();
    const events: SubscriptionEvent[] = [s.next('subscription.activated')];
    for (let cycle = 0; cycle < 20; cycle++) events.push(s.charge(cycle));
    const batches = Array.from({ length: Math.ceil(events.length / 3) }, (_, i) =>
      events.slice(i * 3, i * 3 + 3),
    );

    const failures: ApplicationFailure[] = [];
    // The workflow's background loop: each batch until it is stored, as Temporal's retry policy would.
    const flush = async (batch: SubscriptionEvent[]) => {
      for (;;) {
        try {
          return await activities.recordEvents({ events: batch });
        } catch (err) {
          if (!(err instanceof ApplicationFailure)) throw err;
          failures.push(err);
          if (failures.length === 3) server.start();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    for (const [i, batch] of batches.entries()) {
      if (i === 3) {
        // Stop while a write is in flight: it either committed or rolled back; the retry settles which.
        const inFlight = activities.recordEvents({ events: batch }).catch((e: unknown) => e);
        server.stop();
        await inFlight;
      }
      await flush(batch);
    }

    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const f of failures) {
      expect(f.type).toBe(LEDGER_FAILURE_TYPES.unavailable);
      expect(f.nonRetryable).toBe(false);
      expect(f.message).not.toMatch(/127\.0\.0\.1|postgres:\/\//);
    }
    const store = new LedgerStore(ledger.db);
    const { events: stored } = await store.listEvents({ subscriptionId: s.subscriptionId, limit: 500 });
    expect(stored.map((e) => e.sequence)).toEqual(events.map((e) => e.sequence));
    const { charges } = await store.listCharges(s.subscriptionId, { limit: 500 });
    expect(charges.map((c) => c.cycle)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const deliveries = await ledger.db
      .selectFrom('webhook_deliveries')
      .select('sequence')
      .where('instance_id', '=', s.instance)
      .orderBy('sequence')
      .execute();
    expect(deliveries.map((d) => d.sequence)).toEqual(events.map((e) => e.sequence));
  });
});
