import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerRoutes } from '../../client/http/ledger-routes.js';
import { parseLedgerCli, runLedgerCli } from '../../client/ledger-cli.js';
import type { LedgerDb } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { ledgerBackends } from './helpers/backends.js';
import { EventStream } from './helpers/events.js';

const TOKEN = 'ledger-test-token-0123456789';

describe.each(ledgerBackends())('ledger HTTP routes and CLI on $name', (backend) => {
  let ledger: LedgerDb & { url?: string; dataDir?: string };
  const s = new EventStream();
  const events = [s.next('subscription.activated'), ...Array.from({ length: 24 }, (_, i) => s.charge(i + 1))];
  beforeAll(async () => {
    ledger = await backend.open();
    await new LedgerStore(ledger.db, ['http://127.0.0.1:9/h']).recordEvents(events);
  });
  afterAll(async () => ledger?.close());

  const app = () =>
    createLedgerRoutes({ ledger: new LedgerStore(ledger.db), apiTokens: [TOKEN], onError: () => {} });
  const get = (path: string, init: RequestInit = {}) =>
    app().request(path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field below
  const json = async (path: string): Promise<any> => (await get(path)).json();

  it('lists all 24 charges across pages, and the event log after a cursor', async () => {
    const first = await json(`/subscriptions/${s.subscriptionId}/charges?limit=20`);
    expect(first.charges).toHaveLength(20);
    const rest = await json(`/subscriptions/${s.subscriptionId}/charges?cursor=${first.nextCursor}`);
    expect([...first.charges, ...rest.charges].map((c: { cycle: number }) => c.cycle)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    expect(rest.nextCursor).toBeNull();
    const page = await json(`/events?subscriptionId=${s.subscriptionId}&after=${events[22]!.id}`);
    expect(page.events.map((e: { sequence: number }) => e.sequence)).toEqual([24, 25]);
    expect(Object.keys(page.events[0]).sort()).toEqual(
      ['data', 'id', 'instanceId', 'occurredAt', 'recordedAt', 'sequence', 'subscriptionId', 'type'].sort(),
    );
  });

  it('shows deliveries, resends, and answers bad input and bad tokens with 4xx', async () => {
    const id = events[1]!.id;
    const d = await json(`/events/${id}/deliveries`);
    expect(d.deliveries).toMatchObject([{ status: 'pending', endpoint: 'http://127.0.0.1:9/h' }]);
    const resend = await get(`/events/${id}/resend`, { method: 'POST' });
    expect(resend.status).toBe(202);
    expect(await resend.json()).toEqual({ eventId: id, queued: 1 });
    expect((await get('/events/evt_nope_1/deliveries')).status).toBe(404);
    expect((await get('/events?limit=0')).status).toBe(400);
    expect((await get('/subscriptions/a%20b/charges')).status).toBe(400);
    const anonymous = await app().request(`/subscriptions/${s.subscriptionId}/charges`);
    expect(anonymous.status).toBe(401);
  });

  it('the CLI reads the same ledger', async () => {
    expect(parseLedgerCli(['charges', 'sub-1', '--limit', '5'])).toEqual({
      command: 'charges',
      json: false,
      subscriptionId: 'sub-1',
      limit: 5,
    });
    expect(() => parseLedgerCli(['reconcile', '--from', '2026-01-01T00:00:00Z'])).toThrow(/--from and --to/);
    const env = ledger.url ? { DATABASE_URL: ledger.url } : { DATA_DIR: ledger.dataDir! };
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(`ERR ${t}`) };
    expect(await runLedgerCli(['charges', s.subscriptionId, '--json', '--limit', '500'], env, io)).toBe(0);
    expect(JSON.parse(out.at(-1)!).charges).toHaveLength(24);
    expect(await runLedgerCli(['deliveries', events[2]!.id], env, io)).toBe(0);
    expect(out.at(-1)).toContain('pending');
    expect(await runLedgerCli(['charges'], env, io)).toBe(2);
  });
});
