import { ApplicationFailure } from '@temporalio/common';
import type { LinePayClient } from '../activities/linepay/index.js';
import { InvalidLedgerEventError, type LedgerStore } from '../ledger/ledger-store.js';
import {
  type ReconcilePageInput,
  type ReconcilePageResult,
  reconcilePage,
} from '../ledger/reconciliation.js';
import type { SubscriptionActivities } from '../workflows/activity-contract.js';
import { ACTIVITY_FAILURE_TYPES } from '../workflows/failure-types.js';
import type { ReconciliationActivities } from '../workflows/reconciliation.js';
import type { RecordEventsInput } from '../workflows/subscription-event.js';

/** Failure types the ledger activities throw (the workflow retries the first, forever, in the background). */
export const LEDGER_FAILURE_TYPES = {
  unavailable: ACTIVITY_FAILURE_TYPES.ledgerUnavailable,
  invalidEvent: ACTIVITY_FAILURE_TYPES.ledgerInvalidEvent,
} as const;

export interface LedgerActivityDeps {
  ledger: LedgerStore;
  /** For reconciliation; Payment Details only. */
  linePay?: Pick<LinePayClient, 'getPaymentDetails'>;
  /** Called after events committed: wakes this process's webhook dispatcher. */
  onRecorded?: () => void;
}

export interface LedgerActivities
  extends Pick<SubscriptionActivities, 'recordEvents'>,
    ReconciliationActivities {
  /** One page of reconciliation (`workflows/reconciliation.ts` loops over pages). */
  reconcileCharges(input: ReconcilePageInput): Promise<ReconcilePageResult>;
}

/** Driver and network errors can carry host names; keep the class and code, not the text. */
function unavailable(err: unknown): ApplicationFailure {
  const code = (err as { code?: unknown })?.code;
  const name = err instanceof Error ? err.name : 'Error';
  return ApplicationFailure.create({
    type: LEDGER_FAILURE_TYPES.unavailable,
    message: `ledger database unavailable (${name}${typeof code === 'string' ? ` ${code}` : ''})`,
    nonRetryable: false,
  });
}

/** The ledger activities, built over a store like `createActivities` is over the LINE Pay client. */
export function createLedgerActivities(deps: LedgerActivityDeps): LedgerActivities {
  return {
    async recordEvents(input: RecordEventsInput) {
      try {
        const result = await deps.ledger.recordEvents(input.events);
        if (result.stored > 0) deps.onRecorded?.();
        return { stored: result.stored };
      } catch (err) {
        if (err instanceof InvalidLedgerEventError) {
          throw ApplicationFailure.create({
            type: LEDGER_FAILURE_TYPES.invalidEvent,
            message: err.message,
            nonRetryable: true,
          });
        }
        throw unavailable(err);
      }
    },

    async reconcileCharges(input: ReconcilePageInput) {
      if (!deps.linePay) {
        throw ApplicationFailure.create({
          type: LEDGER_FAILURE_TYPES.unavailable,
          message: 'reconciliation needs the LINE Pay client',
          nonRetryable: true,
        });
      }
      try {
        return await reconcilePage(deps.ledger, deps.linePay, input);
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (err instanceof Error && err.name === 'LinePayError') throw err;
        throw unavailable(err);
      }
    },
  };
}
