/**
 * The bare engine for the burst comparison: a timer to one instant, then one no-op activity. Same
 * timer-then-activity shape as a billing cycle, none of the billing logic.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

export interface BareActivities {
  /** Returns the worker's clock when it ran, so the bench can measure lateness. */
  noop(): Promise<number>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '60s' });

export async function bareBurst(dueAtMs: number): Promise<number> {
  const wait = dueAtMs - Date.now();
  if (wait > 0) await sleep(wait);
  return noop();
}
