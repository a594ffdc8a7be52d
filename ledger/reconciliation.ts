import type { LinePayClient, PaymentDetail } from '../activities/linepay/index.js';
import { paidAmount } from '../activities/linepay/linepay-client.js';
import type { ChargeRecord, LedgerStore } from './ledger-store.js';

export const MISMATCH_KINDS = [
  /** The ledger has a successful charge LINE Pay does not list. */
  'missing_at_linepay',
  /** LINE Pay has a payment under an orderId the ledger records only as failed. */
  'missing_in_ledger',
  'amount_mismatch',
  'currency_mismatch',
  'order_mismatch',
  /** The ledger has a refund that LINE Pay does not list under the original payment. */
  'refund_missing_at_linepay',
] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

export interface Mismatch {
  type: 'reconciliation.mismatch';
  kind: MismatchKind;
  subscriptionId: string;
  orderId: string;
  transactionId: string | null;
  ledger: { amount: number; currency: string; status: string; eventId: string } | null;
  linePay: { transactionId: string; amount?: number; currency?: string; orderId?: string } | null;
}

export interface ReconcilePageInput {
  runId: string;
  /** ISO instants: charges that occurred in [from, to). */
  from: string;
  to: string;
  /** Ledger id to continue after (the previous page's `nextAfterId`). */
  afterId?: string;
  pageSize?: number;
}

export interface ReconcilePageResult {
  checked: number;
  mismatches: Mismatch[];
  /** Absent when this was the last page. */
  nextAfterId?: string;
}

/** LINE Pay's Payment Details takes at most 100 ids per call. */
const DETAILS_BATCH = 100;

async function detailsBy(
  linePay: Pick<LinePayClient, 'getPaymentDetails'>,
  key: 'transactionId' | 'orderId',
  ids: readonly string[],
): Promise<PaymentDetail[]> {
  const out: PaymentDetail[] = [];
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += DETAILS_BATCH) {
    out.push(...(await linePay.getPaymentDetails({ [key]: unique.slice(i, i + DETAILS_BATCH) })));
  }
  return out;
}

const isPayment = (d: PaymentDetail) =>
  (d.transactionType === undefined || d.transactionType === 'PAYMENT') &&
  d.payStatus !== 'VOIDED_AUTHORIZATION' &&
  d.payStatus !== 'EXPIRED_AUTHORIZATION';

function summary(d: PaymentDetail): NonNullable<Mismatch['linePay']> {
  const amount = paidAmount(d);
  return {
    transactionId: String(d.transactionId),
    ...(amount !== undefined ? { amount } : {}),
    ...(d.currency !== undefined ? { currency: d.currency } : {}),
    ...(d.orderId !== undefined ? { orderId: d.orderId } : {}),
  };
}

function mismatch(
  kind: MismatchKind,
  c: ChargeRecord,
  linePay: PaymentDetail | null,
  transactionId = c.transactionId,
): Mismatch {
  return {
    type: 'reconciliation.mismatch',
    kind,
    subscriptionId: c.subscriptionId,
    orderId: c.orderId,
    transactionId,
    ledger: { amount: c.amount, currency: c.currency, status: c.status, eventId: c.eventId },
    linePay: linePay ? summary(linePay) : null,
  };
}

/**
 * Compares one page of ledger charges with LINE Pay's Payment Details, both ways as far as LINE Pay's
 * API allows (it lists payments only by transactionId or orderId): successes by transactionId, failed
 * orders by orderId, refunds under their original payment. Records each mismatch once per run.
 */
export async function reconcilePage(
  store: LedgerStore,
  linePay: Pick<LinePayClient, 'getPaymentDetails'>,
  input: ReconcilePageInput,
): Promise<ReconcilePageResult> {
  const pageSize = input.pageSize ?? 200;
  const rows = await store.chargesBetween(input.from, input.to, input.afterId, pageSize);
  const found: Mismatch[] = [];

  const succeeded = rows.filter((r) => r.status === 'succeeded' && r.transactionId !== null);
  const byTx = new Map(
    (
      await detailsBy(
        linePay,
        'transactionId',
        succeeded.map((r) => r.transactionId!),
      )
    )
      .filter(isPayment)
      .map((d) => [String(d.transactionId), d]),
  );
  for (const c of succeeded) {
    const d = byTx.get(c.transactionId!);
    if (!d) {
      found.push(mismatch('missing_at_linepay', c, null));
      continue;
    }
    if (d.orderId !== undefined && d.orderId !== c.orderId) found.push(mismatch('order_mismatch', c, d));
    if (d.currency !== undefined && d.currency !== c.currency)
      found.push(mismatch('currency_mismatch', c, d));
    const amount = paidAmount(d);
    if (amount !== undefined && amount !== c.amount) found.push(mismatch('amount_mismatch', c, d));
  }

  const failed = rows.filter((r) => r.status === 'failed');
  const paidHere = await store.succeededOrderIds(failed.map((r) => r.orderId));
  const unpaid = failed.filter((r) => !paidHere.has(r.orderId));
  const byOrder = new Map(
    (
      await detailsBy(
        linePay,
        'orderId',
        unpaid.map((r) => r.orderId),
      )
    )
      .filter(isPayment)
      .map((d) => [d.orderId ?? '', d]),
  );
  const reported = new Set<string>();
  for (const c of unpaid) {
    const d = byOrder.get(c.orderId);
    if (d && !reported.has(c.orderId)) {
      reported.add(c.orderId);
      found.push(mismatch('missing_in_ledger', c, d, String(d.transactionId)));
    }
  }

  const refunds = rows.filter((r) => r.status === 'refunded' && r.originalTransactionId && r.transactionId);
  const originals = new Map(
    (
      await detailsBy(
        linePay,
        'transactionId',
        refunds.map((r) => r.originalTransactionId!),
      )
    ).map((d) => [String(d.transactionId), d]),
  );
  for (const c of refunds) {
    const d = originals.get(c.originalTransactionId!);
    const listed = (d?.refundList ?? []).some((r) => String(r.refundTransactionId) === c.transactionId);
    if (!listed) found.push(mismatch('refund_missing_at_linepay', c, d ?? null));
  }

  await store.recordMismatches(input.runId, found);
  const last = rows.at(-1);
  return {
    checked: rows.length,
    mismatches: found,
    ...(rows.length === pageSize && last ? { nextAfterId: last.id } : {}),
  };
}
