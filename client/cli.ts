/**
 * `npx linepay-subscriptions <create|get|list|cancel|pause|resume|retry|settle|refund>`: operator CLI
 * over the client library. Connects with the same environment as the worker (TEMPORAL_*, PAYLOAD_ENCRYPTION_KEY[S],
 * PUBLIC_BASE_URL). Human-readable output by default, `--json` for scripts.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
  type SubscriptionView,
} from '../workflows/messages.js';
import { CURRENCIES, type Currency } from '../workflows/subscription-input.js';
import { TRIAL_VERIFICATIONS, type TrialVerification } from '../workflows/trial.js';
import {
  CHARGE_ALLOWED,
  CHARGE_OPTIONS,
  CHARGE_USAGE,
  ChargeCliUsageError,
  type ChargeCommand,
  parseChargeCommand,
  runChargeCommand,
} from './charge-cli.js';
import {
  ConfigError,
  type Env,
  readBillingLimits,
  readEncryptionKeys,
  readLinePayEnv,
  readPublicBaseUrl,
  readTemporalSettings,
  readTrialVerification,
} from './config.js';
import { isSubscriptionError } from './errors.js';
import { isLedgerCommand, LEDGER_USAGE, runLedgerCli } from './ledger-cli.js';
import {
  type CreateSubscriptionRequest,
  createSubscriptionsClient,
  type SubscriptionListItem,
  type SubscriptionsClient,
} from './subscriptions-client.js';
import { connectClient } from './temporal/connection.js';

export const USAGE = `Usage: linepay-subscriptions <command> [options]

Commands:
  create --customer <id> --product <name> --amount <int> --currency <TWD|THB|USD> --interval <P1M|PT30S|…>
         [--id <subscriptionId>] [--anchor <ISO instant>] [--time-zone <IANA>] [--max-cycles <n>]
         [--trial <P14D> | --trial-end <ISO instant>] [--trial-notice <P3D>]
         [--trial-verification <refund_minimum|void_authorization>]
  get <subscriptionId>
  list [--status <status>] [--customer <id>] [--limit <n>]
  cancel <subscriptionId> [--at-period-end] [--reason <text>] [--refund <none|last|prorated>]
  pause <subscriptionId> [--resume-at <ISO instant>] [--reason <text>]
  resume <subscriptionId> [--reason <text>]
  retry <subscriptionId> [--reason <text>]
  settle <subscriptionId> --outcome <paid|failed> --reason <text> [--transaction-id <id>]
         operator: settle a charge LINE Pay never resolved (the subscription shows needsAttention)
  refund <subscriptionId> <transactionId> [--amount <int>] --reason <text> [--request-id <id>]
         refund a charge fully, or --amount of it; the same command again refunds once (the default
         request id is derived from the charge, amount and reason)
${CHARGE_USAGE}
${LEDGER_USAGE}

Options:
  --json   print machine-readable JSON
  --help   show this help

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TEMPORAL_API_KEY/TLS,
PAYLOAD_ENCRYPTION_KEY (or PAYLOAD_ENCRYPTION_KEYS), PUBLIC_BASE_URL (for create).`;

export const COMMANDS = [
  'create',
  'get',
  'list',
  'cancel',
  'pause',
  'resume',
  'retry',
  'settle',
  'refund',
  'charge',
  'plan',
] as const;
export type Command = (typeof COMMANDS)[number];

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError' as const;
}

export type ParsedCommand =
  | { command: 'help' }
  | { command: 'create'; json: boolean; request: CreateSubscriptionRequest }
  | { command: 'get'; json: boolean; subscriptionId: string }
  | {
      command: 'list';
      json: boolean;
      filter: { status?: SubscriptionStatus; customerId?: string; pageSize?: number };
    }
  | {
      command: 'cancel';
      json: boolean;
      subscriptionId: string;
      atPeriodEnd?: boolean;
      reason?: string;
      refund?: 'none' | 'last' | 'prorated';
    }
  | { command: 'pause'; json: boolean; subscriptionId: string; resumeAt?: string; reason?: string }
  | { command: 'resume' | 'retry'; json: boolean; subscriptionId: string; reason?: string }
  | {
      command: 'settle';
      json: boolean;
      subscriptionId: string;
      outcome: 'paid' | 'failed';
      reason: string;
      transactionId?: string;
    }
  | {
      command: 'refund';
      json: boolean;
      subscriptionId: string;
      transactionId: string;
      amount?: number;
      reason: string;
      requestId: string;
    }
  | ChargeCommand;

const OPTIONS = {
  ...CHARGE_OPTIONS,
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  id: { type: 'string' },
  customer: { type: 'string' },
  product: { type: 'string' },
  amount: { type: 'string' },
  currency: { type: 'string' },
  interval: { type: 'string' },
  anchor: { type: 'string' },
  'time-zone': { type: 'string' },
  'max-cycles': { type: 'string' },
  trial: { type: 'string' },
  'trial-end': { type: 'string' },
  'trial-notice': { type: 'string' },
  'trial-verification': { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  'at-period-end': { type: 'boolean' },
  reason: { type: 'string' },
  'resume-at': { type: 'string' },
  outcome: { type: 'string' },
  'transaction-id': { type: 'string' },
  'request-id': { type: 'string' },
  refund: { type: 'string' },
} as const;

const ALLOWED: Record<Command, readonly string[]> = {
  create: [
    'id',
    'customer',
    'product',
    'amount',
    'currency',
    'interval',
    'anchor',
    'time-zone',
    'max-cycles',
    'trial',
    'trial-end',
    'trial-notice',
    'trial-verification',
  ],
  get: [],
  list: ['status', 'customer', 'limit'],
  cancel: ['at-period-end', 'reason', 'refund'],
  pause: ['resume-at', 'reason'],
  resume: ['reason'],
  retry: ['reason'],
  settle: ['outcome', 'reason', 'transaction-id'],
  refund: ['amount', 'reason', 'request-id'],
  ...CHARGE_ALLOWED,
};

function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new CliUsageError(`--${name} must be a whole number`);
  return Number(text);
}

/** Parses argv (without `node` and the script) into a command; throws `CliUsageError` with a hint. */
export function parseCli(argv: readonly string[]): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || name === undefined || name === 'help') return { command: 'help' };
  if (!(COMMANDS as readonly string[]).includes(name)) throw new CliUsageError(`unknown command "${name}"`);
  const command = name as Command;
  for (const key of Object.keys(values)) {
    if (key !== 'json' && key !== 'help' && !ALLOWED[command].includes(key)) {
      throw new CliUsageError(`--${key} does not apply to ${command}`);
    }
  }
  const json = values.json === true;

  if (command === 'create') {
    if (rest.length > 0) throw new CliUsageError(`create takes no positional arguments (got "${rest[0]}")`);
    for (const required of ['customer', 'product', 'amount', 'currency', 'interval'] as const) {
      if (values[required] === undefined) throw new CliUsageError(`create needs --${required}`);
    }
    const currency = values.currency!.toUpperCase();
    if (!(CURRENCIES as readonly string[]).includes(currency)) {
      throw new CliUsageError(`--currency must be one of ${CURRENCIES.join(', ')}`);
    }
    const request: CreateSubscriptionRequest = {
      customerId: values.customer!,
      productName: values.product!,
      amount: integer('amount', values.amount!),
      currency: currency as Currency,
      interval: values.interval!,
    };
    if (values.id !== undefined) request.subscriptionId = values.id;
    if (values.anchor !== undefined) request.billingAnchor = values.anchor;
    if (values['time-zone'] !== undefined) request.timeZone = values['time-zone'];
    if (values['max-cycles'] !== undefined) request.maxCycles = integer('max-cycles', values['max-cycles']);
    if (values.trial !== undefined) request.trial = values.trial;
    if (values['trial-end'] !== undefined) request.trialEnd = values['trial-end'];
    if (values['trial-notice'] !== undefined) request.trialWillEndNotice = values['trial-notice'];
    const verification = values['trial-verification'];
    if (verification !== undefined) {
      if (!(TRIAL_VERIFICATIONS as readonly string[]).includes(verification))
        throw new CliUsageError(`--trial-verification must be one of ${TRIAL_VERIFICATIONS.join(', ')}`);
      request.trialVerification = verification as TrialVerification;
    }
    return { command, json, request };
  }

  if (command === 'list') {
    if (rest.length > 0) throw new CliUsageError('list takes no positional arguments');
    const filter: { status?: SubscriptionStatus; customerId?: string; pageSize?: number } = {};
    if (values.status !== undefined) {
      if (!(SUBSCRIPTION_STATUSES as readonly string[]).includes(values.status)) {
        throw new CliUsageError(`--status must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`);
      }
      filter.status = values.status as SubscriptionStatus;
    }
    if (values.customer !== undefined) filter.customerId = values.customer;
    if (values.limit !== undefined) filter.pageSize = integer('limit', values.limit);
    return { command, json, filter };
  }

  if (command === 'refund') return parseRefund(rest, values, json);
  if (command === 'charge' || command === 'plan') {
    try {
      return parseChargeCommand(command, rest, values, json);
    } catch (err) {
      throw err instanceof ChargeCliUsageError ? new CliUsageError(err.message) : err;
    }
  }
  if (rest.length !== 1) throw new CliUsageError(`${command} needs exactly one subscriptionId`);
  const subscriptionId = rest[0]!;
  const reason = values.reason !== undefined ? { reason: values.reason } : {};
  switch (command) {
    case 'get':
      return { command, json, subscriptionId };
    case 'cancel':
      return {
        command,
        json,
        subscriptionId,
        ...reason,
        ...(values['at-period-end'] ? { atPeriodEnd: true } : {}),
        ...cancelRefundOption(values.refund),
      };
    case 'pause':
      return {
        command,
        json,
        subscriptionId,
        ...reason,
        ...(values['resume-at'] !== undefined ? { resumeAt: values['resume-at'] } : {}),
      };
    case 'resume':
    case 'retry':
      return { command, json, subscriptionId, ...reason };
    case 'settle': {
      const outcome = values.outcome;
      if (outcome !== 'paid' && outcome !== 'failed')
        throw new CliUsageError('settle needs --outcome paid or failed');
      if (values.reason === undefined) throw new CliUsageError('settle needs --reason');
      const tx = values['transaction-id'];
      if (outcome === 'paid' && (tx === undefined || !/^\d{1,32}$/.test(tx)))
        throw new CliUsageError(
          'settle --outcome paid needs --transaction-id (the LINE Pay transactionId, digits)',
        );
      return {
        command,
        json,
        subscriptionId,
        outcome,
        reason: values.reason,
        ...(tx !== undefined ? { transactionId: tx } : {}),
      };
    }
  }
}

function cancelRefundOption(value: string | undefined): { refund?: 'none' | 'last' | 'prorated' } {
  if (value === undefined) return {};
  if (value !== 'none' && value !== 'last' && value !== 'prorated')
    throw new CliUsageError('--refund must be none, last or prorated');
  return { refund: value };
}

function parseRefund(
  rest: string[],
  values: { amount?: string | undefined; reason?: string | undefined; 'request-id'?: string | undefined },
  json: boolean,
): ParsedCommand {
  if (rest.length !== 2) throw new CliUsageError('refund needs <subscriptionId> <transactionId>');
  const [subscriptionId, transactionId] = rest as [string, string];
  if (!/^\d{1,32}$/.test(transactionId))
    throw new CliUsageError("refund's transactionId must be the charge's LINE Pay transactionId (digits)");
  if (values.reason === undefined || !values.reason.trim()) throw new CliUsageError('refund needs --reason');
  const amount = values.amount === undefined ? undefined : integer('amount', values.amount);
  if (amount === 0) throw new CliUsageError('--amount must be positive');
  const requestId =
    values['request-id'] ??
    `cli-${transactionId}-${amount ?? 'full'}-${createHash('sha256').update(values.reason).digest('hex').slice(0, 12)}`;
  return {
    command: 'refund',
    json,
    subscriptionId,
    transactionId,
    reason: values.reason,
    requestId,
    ...(amount === undefined ? {} : { amount }),
  };
}

// ---- formatting ---------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatView(view: SubscriptionView): string {
  const lines = [
    `Subscription ${view.subscriptionId}`,
    `  status        ${view.status}`,
    `  customer      ${view.customerId}`,
    `  plan          ${view.plan.amount} ${view.plan.currency} every ${view.plan.interval} — ${view.plan.productName}`,
    `  cycle         ${view.cycle} (paid ${view.paidCycles}${view.maxCycles ? ` of ${view.maxCycles}` : ''})`,
  ];
  if (view.nextChargeAt) lines.push(`  next charge   ${view.nextChargeAt}`);
  if (view.regKeyMasked) lines.push(`  regKey        ${view.regKeyMasked}`);
  if (view.trial) {
    const v = view.trial.verification;
    lines.push(
      `  trial         until ${view.trial.endsAt} (approval ${v.amount} ${v.currency} ${v.outcome ?? `to ${v.mode === 'void_authorization' ? 'void' : 'refund'}`})`,
    );
  }
  if (view.reservation)
    lines.push(`  payment URL   ${view.reservation.paymentUrl.web} (expires ${view.reservation.expiresAt})`);
  if (view.dunning) {
    lines.push(
      `  dunning       cycle ${view.dunning.cycle}, ${view.dunning.declines} decline(s)${view.dunning.nextRetryAt ? `, next retry ${view.dunning.nextRetryAt}` : ''}`,
    );
  }
  if (view.pausedAt)
    lines.push(`  paused at     ${view.pausedAt}${view.resumeAt ? `, resumes ${view.resumeAt}` : ''}`);
  if (view.cancelAt) lines.push(`  cancels at    ${view.cancelAt}`);
  if (view.canceledAt)
    lines.push(`  canceled at   ${view.canceledAt}${view.cancelReason ? ` (${view.cancelReason})` : ''}`);
  lines.push(`  total charged ${view.totalCharged} ${view.plan.currency}`);
  if (view.creditBalance) lines.push(`  credit        ${view.creditBalance} ${view.plan.currency}`);
  if (view.prorationDue)
    lines.push(`  proration due ${view.prorationDue} ${view.plan.currency} (next cycle)`);
  for (const o of view.oneOffs ?? [])
    lines.push(
      `  one-off       ${o.status.padEnd(9)} ${o.amount} ${o.currency} "${o.productName}" ${o.transactionId ?? o.returnCode ?? ''} ${o.orderId}`,
    );
  if (view.charges.length > 0) {
    lines.push('', 'Charges:');
    lines.push(
      table([
        ['CYCLE', 'CHARGED AT', 'AMOUNT', 'TRANSACTION', 'ORDER'],
        ...view.charges.map((c) => [
          String(c.cycle),
          c.chargedAt,
          `${c.amount} ${c.currency}`,
          c.transactionId,
          c.orderId,
        ]),
      ])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  return lines.join('\n');
}

export function formatList(items: readonly SubscriptionListItem[]): string {
  if (items.length === 0) return 'No subscriptions found.';
  return table([
    ['SUBSCRIPTION', 'STATUS', 'CUSTOMER', 'CYCLE', 'NEXT CHARGE', 'WORKFLOW'],
    ...items.map((i) => [
      i.subscriptionId,
      i.status ?? '-',
      i.customerId ?? '-',
      i.billingCycle !== undefined ? String(i.billingCycle) : '-',
      i.nextChargeAt ?? '-',
      i.workflowStatus,
    ]),
  ]);
}

function formatResult(command: Command, subscriptionId: string, result: Record<string, unknown>): string {
  const parts = Object.entries(result)
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${command}: ${subscriptionId}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Runs one parsed command against a client; returns the process exit code. */
export async function runCommand(cmd: ParsedCommand, subs: SubscriptionsClient, io: CliIo): Promise<number> {
  if (cmd.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  const actor = { kind: 'operator' as const, ...(process.env.USER ? { id: process.env.USER } : {}) };
  const out = (value: unknown, human: () => string) =>
    io.stdout(cmd.json ? JSON.stringify(value, null, 2) : human());
  switch (cmd.command) {
    case 'create': {
      const r = await subs.createSubscription(cmd.request);
      out(r, () =>
        [
          `${r.created ? 'Created' : 'Already exists:'} subscription ${r.subscriptionId} (${r.status})`,
          ...(r.paymentUrl ? [`Payment URL: ${r.paymentUrl.web}`, `App URL:     ${r.paymentUrl.app}`] : []),
          ...(r.expiresAt ? [`Expires:     ${r.expiresAt}`] : []),
          ...r.warnings.map((w) => `Warning:     ${w}`),
        ].join('\n'),
      );
      return 0;
    }
    case 'get': {
      const view = await subs.getSubscription(cmd.subscriptionId);
      out(view, () => formatView(view));
      return 0;
    }
    case 'list': {
      const items = await subs.listSubscriptions(cmd.filter);
      out(items, () => formatList(items));
      return 0;
    }
    case 'cancel': {
      const { subscriptionId, json: _j, command: _c, ...rest } = cmd;
      const r = await subs.cancel(subscriptionId, { actor, ...rest });
      out(r, () => formatResult('cancel', subscriptionId, { ...r }));
      return 0;
    }
    case 'pause': {
      const { subscriptionId, json: _j, command: _c, ...rest } = cmd;
      const r = await subs.pause(subscriptionId, { actor, ...rest });
      out(r, () => formatResult('pause', subscriptionId, { ...r }));
      return 0;
    }
    case 'resume':
    case 'retry': {
      const { subscriptionId, json: _j, command, ...rest } = cmd;
      const r =
        command === 'resume'
          ? await subs.resume(subscriptionId, { actor, ...rest })
          : await subs.retryNow(subscriptionId, { actor, ...rest });
      out(r, () => formatResult(command, subscriptionId, { ...r }));
      return 0;
    }
    case 'settle': {
      const { subscriptionId, json: _j, command: _c, ...rest } = cmd;
      const r = await subs.settleCharge(subscriptionId, { actor, ...rest });
      out(r, () => formatResult('settle', subscriptionId, { ...r }));
      return 0;
    }
    case 'refund': {
      const { subscriptionId, json: _j, command: _c, ...rest } = cmd;
      const r = await subs.refundCharge(subscriptionId, { actor, ...rest });
      out(r, () => formatResult('refund', subscriptionId, { ...r, requestId: rest.requestId }));
      return 0;
    }
    case 'charge':
    case 'plan':
      return runChargeCommand(cmd, subs, actor, out);
  }
}

/** Entry point: parse, connect, run, map errors to exit codes (2 usage, 1 failure, 78 config). */
export async function main(
  argv: readonly string[],
  env: Env = process.env,
  io: CliIo = defaultIo,
): Promise<number> {
  if (isLedgerCommand(argv.find((a) => !a.startsWith('-')))) return runLedgerCli(argv, env, io);
  let cmd: ParsedCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (cmd.command === 'help') return runCommand(cmd, undefined as never, io);
  const json = cmd.json;
  let client: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    const temporal = readTemporalSettings(env);
    // Read before connecting: a production CLI must name the public URL LINE Pay sends customers back to.
    const linePayEnv = readLinePayEnv(env);
    const publicBaseUrl = readPublicBaseUrl(env, linePayEnv);
    const limits = readBillingLimits(env, linePayEnv);
    const trialVerification = readTrialVerification(env);
    client = await connectClient(temporal, readEncryptionKeys(env));
    const subs = createSubscriptionsClient({
      client,
      taskQueue: temporal.taskQueue,
      publicBaseUrl,
      limits,
      trialVerification,
    });
    return await runCommand(cmd, subs, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`configuration error: ${err.message}`);
      return 78;
    }
    if (isSubscriptionError(err)) {
      if (json)
        io.stdout(JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } }));
      else io.stderr(`error (${err.code}): ${err.message}`);
      return 1;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await client?.connection.close().catch(() => undefined);
  }
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
