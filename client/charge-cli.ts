/**
 * The CLI's `charge` (one-off charge on the regKey) and `plan` (plan change with proration, or its
 * preview) commands: parsing and running, kept beside cli.ts, which dispatches to them.
 */
import { type PlanPreview, PRORATE_MODES, type ProrateMode } from '../workflows/messages.js';
import type { SubscriptionsClient } from './subscriptions-client.js';

export const CHARGE_USAGE = `  charge <subscriptionId> --amount <int> --product <name> --request-id <id> [--reason <text>]
         one-off charge on the regKey; the same --request-id never charges twice
  plan <subscriptionId> [--amount <int>] [--product <name>] [--prorate <none|now|next_cycle>]
         [--proration-date <ISO instant>] [--preview] [--request-id <id>] [--reason <text>]
         change the plan (prorated with --prorate), or with --preview only show the amounts`;

export type ChargeCommand =
  | {
      command: 'charge';
      json: boolean;
      subscriptionId: string;
      amount: number;
      productName: string;
      requestId: string;
      reason?: string;
    }
  | {
      command: 'plan';
      json: boolean;
      subscriptionId: string;
      preview: boolean;
      amount?: number;
      productName?: string;
      prorate?: ProrateMode;
      prorationDate?: string;
      requestId?: string;
      reason?: string;
    };

export const CHARGE_OPTIONS = {
  prorate: { type: 'string' },
  'proration-date': { type: 'string' },
  preview: { type: 'boolean' },
} as const;

export const CHARGE_ALLOWED = {
  charge: ['amount', 'product', 'request-id', 'reason'],
  plan: ['amount', 'product', 'prorate', 'proration-date', 'preview', 'request-id', 'reason'],
} as const;

type Values = Record<string, string | boolean | undefined>;

/** Thrown for bad arguments; cli.ts prints it with the usage. */
export class ChargeCliUsageError extends Error {
  override readonly name = 'CliUsageError' as const;
}

function positive(name: string, text: unknown): number {
  if (typeof text !== 'string' || !/^\d+$/.test(text) || Number(text) === 0)
    throw new ChargeCliUsageError(`--${name} must be a positive whole number`);
  return Number(text);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function parseChargeCommand(
  command: 'charge' | 'plan',
  rest: readonly string[],
  values: Values,
  json: boolean,
): ChargeCommand {
  if (rest.length !== 1) throw new ChargeCliUsageError(`${command} needs exactly one subscriptionId`);
  const subscriptionId = rest[0]!;
  const reason = str(values.reason);
  const requestId = str(values['request-id']);
  if (command === 'charge') {
    const productName = str(values.product);
    if (productName === undefined || !productName.trim())
      throw new ChargeCliUsageError('charge needs --product');
    if (requestId === undefined)
      throw new ChargeCliUsageError(
        'charge needs --request-id (its orderId derives from it; the same id never charges twice)',
      );
    return {
      command,
      json,
      subscriptionId,
      amount: positive('amount', values.amount),
      productName,
      requestId,
      ...(reason === undefined ? {} : { reason }),
    };
  }
  const prorate = str(values.prorate);
  if (prorate !== undefined && !PRORATE_MODES.includes(prorate as ProrateMode))
    throw new ChargeCliUsageError('--prorate must be none, now or next_cycle');
  const amount = values.amount === undefined ? undefined : positive('amount', values.amount);
  const productName = str(values.product);
  if (amount === undefined && productName === undefined)
    throw new ChargeCliUsageError('plan needs --amount, --product or both');
  const prorationDate = str(values['proration-date']);
  return {
    command,
    json,
    subscriptionId,
    preview: values.preview === true,
    ...(amount === undefined ? {} : { amount }),
    ...(productName === undefined ? {} : { productName }),
    ...(prorate === undefined ? {} : { prorate: prorate as ProrateMode }),
    ...(prorationDate === undefined ? {} : { prorationDate }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(reason === undefined ? {} : { reason }),
  };
}

export async function runChargeCommand(
  cmd: ChargeCommand,
  subs: SubscriptionsClient,
  actor: { kind: 'operator'; id?: string },
  out: (value: unknown, human: () => string) => void,
): Promise<number> {
  if (cmd.command === 'charge') {
    const { subscriptionId, json: _j, command: _c, ...charge } = cmd;
    const r = await subs.chargeOneOff(subscriptionId, { actor, ...charge });
    out(r, () =>
      [
        `one-off ${r.status}: ${r.amount} ${r.currency} "${r.productName}" on ${subscriptionId}`,
        `  orderId       ${r.orderId}`,
        ...(r.transactionId ? [`  transaction   ${r.transactionId}`] : []),
        ...(r.returnCode && r.status === 'failed'
          ? [`  declined      ${r.returnCode}: ${r.message ?? ''}`]
          : []),
        ...(r.status === 'pending' ? ['  outcome unknown: being looked up by orderId (see `get`)'] : []),
      ].join('\n'),
    );
    return r.status === 'failed' ? 1 : 0;
  }
  const { subscriptionId, json: _j, command: _c, preview, ...change } = cmd;
  let p: PlanPreview | undefined;
  if (preview) p = await subs.previewPlanChange(subscriptionId, change);
  else {
    const r = await subs.changePlan(subscriptionId, { actor, ...change });
    if (r.proration === undefined) {
      out(
        r,
        () =>
          `plan: ${subscriptionId} → ${r.plan.amount} "${r.plan.productName}" from cycle ${r.effectiveCycle}`,
      );
      return 0;
    }
    p = r.proration;
  }
  out(p, () =>
    [
      `${preview ? 'preview' : 'plan changed'}: ${p!.currentAmount} → ${p!.newAmount} ${p!.currency} (${p!.direction}, prorate ${p!.prorate})`,
      `  effective     cycle ${p!.effectiveCycle}${p!.effectiveAt ? ` at ${p!.effectiveAt}` : ''}`,
      ...(p!.periodStart
        ? [
            `  prorated      ${p!.remainingSeconds} of ${p!.periodSeconds} s left of ${p!.periodStart} – ${p!.periodEnd}`,
          ]
        : []),
      `  charge now    ${p!.chargeNow}`,
      `  credit        ${p!.credit} (balance after ${p!.creditBalanceAfter})`,
      `  next cycle    ${p!.nextCycleAmount}${p!.addedToNextCycle ? ` (includes ${p!.addedToNextCycle} prorated)` : ''}`,
      `  prorationDate ${p!.prorationDate}`,
    ].join('\n'),
  );
  return 0;
}
