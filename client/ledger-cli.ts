/**
 * The ledger's CLI commands (`charges`, `events`, `deliveries`, `resend`, `reconcile`), dispatched from
 * `cli.ts`. They read the ledger database directly (DATABASE_URL, or the worker's embedded PGlite
 * through its socket in DATA_DIR); `reconcile` starts the reconciliation workflow on Temporal.
 */
import { parseArgs } from 'node:util';
import { readDatabaseConfig } from '../ledger/config.js';
import { openLedgerDatabase } from '../ledger/database.js';
import { LedgerStore } from '../ledger/ledger-store.js';
import { runReconciliation } from '../ledger/reconciliation-schedule.js';
import { listDeliveries, resendEvent } from '../ledger/webhooks/outbox.js';
import { ConfigError, type Env, readEncryptionKeys, readTemporalSettings } from './config.js';
import { connectClient } from './temporal/connection.js';

export const LEDGER_COMMANDS = ['charges', 'events', 'deliveries', 'resend', 'reconcile'] as const;
export type LedgerCommand = (typeof LEDGER_COMMANDS)[number];

export const LEDGER_USAGE = `  charges <subscriptionId> [--cursor <id>] [--limit <n>]   every charge ever, from the ledger
  events [--subscription <id>] [--after <eventId>] [--limit <n>]
  deliveries <eventId>                                      webhook deliveries and attempts
  resend <eventId>                                          queue the event's webhooks again
  reconcile [--hours <n>] [--from <ISO> --to <ISO>]          compare the ledger with LINE Pay now`;

export function isLedgerCommand(name: string | undefined): name is LedgerCommand {
  return (LEDGER_COMMANDS as readonly string[]).includes(name ?? '');
}

export type ParsedLedgerCommand =
  | { command: 'charges'; json: boolean; subscriptionId: string; cursor?: string; limit?: number }
  | { command: 'events'; json: boolean; subscriptionId?: string; after?: string; limit?: number }
  | { command: 'deliveries' | 'resend'; json: boolean; eventId: string }
  | { command: 'reconcile'; json: boolean; lookbackHours?: number; from?: string; to?: string };

export class LedgerCliUsageError extends Error {
  override readonly name = 'LedgerCliUsageError' as const;
}

const OPTIONS = {
  json: { type: 'boolean' },
  cursor: { type: 'string' },
  limit: { type: 'string' },
  subscription: { type: 'string' },
  after: { type: 'string' },
  hours: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

const ALLOWED: Record<LedgerCommand, readonly string[]> = {
  charges: ['cursor', 'limit'],
  events: ['subscription', 'after', 'limit'],
  deliveries: [],
  resend: [],
  reconcile: ['hours', 'from', 'to'],
};

function whole(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new LedgerCliUsageError(`--${name} must be a whole number ≥ 1`);
  return Number(text);
}

function instant(name: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (Number.isNaN(Date.parse(text))) throw new LedgerCliUsageError(`--${name} must be an ISO instant`);
  return new Date(text).toISOString();
}

export function parseLedgerCli(argv: readonly string[]): ParsedLedgerCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LedgerCliUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (!isLedgerCommand(name)) throw new LedgerCliUsageError(`unknown command "${name}"`);
  for (const key of Object.keys(values)) {
    if (key !== 'json' && !ALLOWED[name].includes(key))
      throw new LedgerCliUsageError(`--${key} does not apply to ${name}`);
  }
  const json = values.json === true;
  const limit = whole('limit', values.limit);
  const one = (what: string) => {
    if (rest.length !== 1) throw new LedgerCliUsageError(`${name} needs exactly one ${what}`);
    return rest[0]!;
  };
  switch (name) {
    case 'charges':
      return {
        command: name,
        json,
        subscriptionId: one('subscriptionId'),
        ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
    case 'events':
      if (rest.length > 0) throw new LedgerCliUsageError('events takes no positional arguments');
      return {
        command: name,
        json,
        ...(values.subscription !== undefined ? { subscriptionId: values.subscription } : {}),
        ...(values.after !== undefined ? { after: values.after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
    case 'deliveries':
    case 'resend':
      return { command: name, json, eventId: one('eventId') };
    case 'reconcile': {
      if (rest.length > 0) throw new LedgerCliUsageError('reconcile takes no positional arguments');
      const from = instant('from', values.from);
      const to = instant('to', values.to);
      if ((from === undefined) !== (to === undefined))
        throw new LedgerCliUsageError('give --from and --to together');
      const hours = whole('hours', values.hours);
      return {
        command: name,
        json,
        ...(hours !== undefined ? { lookbackHours: hours } : {}),
        ...(from !== undefined && to !== undefined ? { from, to } : {}),
      };
    }
  }
}

/** Runs a ledger command; exit codes as in `cli.ts` (2 usage, 1 failure, 78 config). */
export async function runLedgerCli(
  argv: readonly string[],
  env: Env,
  io: { stdout: (t: string) => void; stderr: (t: string) => void },
): Promise<number> {
  let cmd: ParsedLedgerCommand;
  try {
    cmd = parseLedgerCli(argv);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n\n${LEDGER_USAGE}`);
    return 2;
  }
  const print = (value: unknown, human: () => string) =>
    io.stdout(cmd.json ? JSON.stringify(value, null, 2) : human());
  try {
    if (cmd.command === 'reconcile') {
      const temporal = readTemporalSettings(env);
      const client = await connectClient(temporal, readEncryptionKeys(env));
      try {
        const { command: _c, json: _j, ...input } = cmd;
        const result = await runReconciliation(client, { taskQueue: temporal.taskQueue, input });
        print(result, () =>
          [
            `Reconciled ${result.checked} charge(s) from ${result.from} to ${result.to}: ${result.mismatches.length} mismatch(es)${result.truncated ? ' (more in the ledger)' : ''}`,
            ...result.mismatches.map(
              (m) =>
                `  ${m.kind}  ${m.orderId}  ${m.transactionId ?? '-'}  ledger=${JSON.stringify(m.ledger)} linePay=${JSON.stringify(m.linePay)}`,
            ),
          ].join('\n'),
        );
        return result.mismatches.length > 0 ? 1 : 0;
      } finally {
        await client.connection.close();
      }
    }
    const ledger = await openLedgerDatabase(readDatabaseConfig(env), {
      embedded: 'client',
      waitForOwnerMs: 3_000,
    });
    try {
      const store = new LedgerStore(ledger.db);
      switch (cmd.command) {
        case 'charges': {
          const page = await store.listCharges(cmd.subscriptionId, {
            ...(cmd.cursor !== undefined ? { cursor: cmd.cursor } : {}),
            ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}),
          });
          print(page, () =>
            page.charges.length === 0
              ? 'No charges in the ledger.'
              : [
                  ...page.charges.map(
                    (c) =>
                      `${c.occurredAt}  cycle ${c.cycle ?? '-'}  ${c.status.padEnd(9)} ${c.amount} ${c.currency}  ${c.transactionId ?? '-'}  ${c.orderId}`,
                  ),
                  ...(page.nextCursor ? [`(more: --cursor ${page.nextCursor})`] : []),
                ].join('\n'),
          );
          return 0;
        }
        case 'events': {
          const page = await store.listEvents({
            ...(cmd.subscriptionId !== undefined ? { subscriptionId: cmd.subscriptionId } : {}),
            ...(cmd.after !== undefined ? { after: cmd.after } : {}),
            ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}),
          });
          print(
            page,
            () =>
              [
                ...page.events.map(
                  (e) => `${e.occurredAt}  ${e.id}  #${e.sequence}  ${e.type}  ${e.subscriptionId}`,
                ),
                ...(page.nextAfter ? [`(more: --after ${page.nextAfter})`] : []),
              ].join('\n') || 'No events.',
          );
          return 0;
        }
        case 'deliveries': {
          const deliveries = await listDeliveries(ledger.db, cmd.eventId);
          print(deliveries, () =>
            deliveries.length === 0
              ? `No webhook deliveries for ${cmd.eventId}.`
              : deliveries
                  .map(
                    (d) =>
                      `${d.endpoint}  ${d.status}  ${d.attempts} attempt(s)${d.lastError ? `  last: ${d.lastError}` : ''}${d.nextAttemptAt ? `  next ${d.nextAttemptAt}` : ''}`,
                  )
                  .join('\n'),
          );
          return 0;
        }
        case 'resend': {
          const queued = await resendEvent(ledger.db, cmd.eventId);
          print({ eventId: cmd.eventId, queued }, () =>
            queued > 0
              ? `Queued ${cmd.eventId} again for ${queued} endpoint(s).`
              : `No deliveries of ${cmd.eventId} to resend.`,
          );
          return queued > 0 ? 0 : 1;
        }
      }
    } finally {
      await ledger.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`configuration error: ${err.message}`);
      return 78;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
