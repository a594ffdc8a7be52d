import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import {
  RECONCILIATION_WORKFLOW_TYPE,
  type ReconciliationInput,
  type ReconciliationResult,
} from '../workflows/reconciliation.js';

export const RECONCILIATION_SCHEDULE_ID = 'ledger-reconciliation';

/**
 * Creates the daily reconciliation Schedule, or brings an existing one to this spec; `off` deletes it.
 * Every worker calls this at start-up: the schedule id makes it one schedule, whoever wins.
 */
export async function ensureReconciliationSchedule(
  client: Client,
  options: { taskQueue: string; cron: string; lookbackHours: number },
): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const handle = client.schedule.getHandle(RECONCILIATION_SCHEDULE_ID);
  if (options.cron === 'off') {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const spec = { cronExpressions: [options.cron] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: RECONCILIATION_WORKFLOW_TYPE,
    workflowId: 'ledger-reconciliation-scheduled',
    taskQueue: options.taskQueue,
    args: [{ lookbackHours: options.lookbackHours } satisfies ReconciliationInput],
  };
  try {
    await client.schedule.create({
      scheduleId: RECONCILIATION_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await handle.update((previous) => ({ ...previous, spec, action }));
  return 'updated';
}

/** An on-demand run (CLI `reconcile`): its own workflow id, so it never collides with the schedule's. */
export async function runReconciliation(
  client: Client,
  options: { taskQueue: string; input?: ReconciliationInput; workflowId?: string },
): Promise<ReconciliationResult> {
  return client.workflow.execute(RECONCILIATION_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue,
    workflowId: options.workflowId ?? `ledger-reconciliation-manual-${new Date().toISOString()}`,
    args: [options.input ?? {}],
  });
}
