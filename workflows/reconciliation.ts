/**
 * Reconciliation: compares the ledger's recent charges with LINE Pay's Payment Details, page by page,
 * and records every mismatch (`reconciliation.mismatch`). Started by a Temporal Schedule (daily by
 * default) or on demand from the CLI. Deterministic: the window comes from workflow time.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';

export interface ReconciliationInput {
  /** How far back to look, hours (default 48). */
  lookbackHours?: number;
  /** Charges newer than this many minutes are still settling and wait for the next run (default 10). */
  settleMinutes?: number;
  /** Explicit window instead (ISO instants), for an operator re-checking a period. */
  from?: string;
  to?: string;
}

export interface ReconciliationMismatch {
  type: 'reconciliation.mismatch';
  kind: string;
  subscriptionId: string;
  orderId: string;
  transactionId: string | null;
  ledger: Record<string, unknown> | null;
  linePay: Record<string, unknown> | null;
}

export interface ReconciliationResult {
  runId: string;
  from: string;
  to: string;
  checked: number;
  mismatches: ReconciliationMismatch[];
  /** More than `MAX_REPORTED` mismatches: the rest are in the ledger only. */
  truncated: boolean;
}

/** What the workflow needs from the ledger activities (`activities/ledger-activities.ts`). */
export interface ReconciliationActivities {
  reconcileCharges(input: {
    runId: string;
    from: string;
    to: string;
    afterId?: string;
    pageSize?: number;
  }): Promise<{ checked: number; mismatches: ReconciliationMismatch[]; nextAfterId?: string }>;
}

export const RECONCILIATION_WORKFLOW_TYPE = 'reconciliationWorkflow';
const MAX_REPORTED = 200;
const HOUR = 3_600_000;

const { reconcileCharges } = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
});

export async function reconciliationWorkflow(input: ReconciliationInput = {}): Promise<ReconciliationResult> {
  const now = Date.now();
  const to = input.to ?? new Date(now - (input.settleMinutes ?? 10) * 60_000).toISOString();
  const from = input.from ?? new Date(Date.parse(to) - (input.lookbackHours ?? 48) * HOUR).toISOString();
  const info = workflowInfo();
  const runId = `${info.workflowId}/${info.runId}`;
  const result: ReconciliationResult = { runId, from, to, checked: 0, mismatches: [], truncated: false };
  let afterId: string | undefined;
  for (;;) {
    const page = await reconcileCharges({ runId, from, to, ...(afterId !== undefined ? { afterId } : {}) });
    result.checked += page.checked;
    for (const m of page.mismatches) {
      if (result.mismatches.length < MAX_REPORTED) result.mismatches.push(m);
      else result.truncated = true;
    }
    if (page.nextAfterId === undefined) return result;
    afterId = page.nextAfterId;
  }
}
