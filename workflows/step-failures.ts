/** What every LINE Pay step shares: its retry policy and how it reads an activity's failure. */
import { type ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { NON_RETRYABLE_ACTIVITY_FAILURES } from './failure-types.js';

export const RETRY_THEN_BLOCK = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  // Past these the step is blocked on a workflow timer, which a cancel can interrupt.
  maximumAttempts: 6,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ACTIVITY_FAILURES],
};

export function failureType(err: ActivityFailure): string | undefined {
  return err.cause instanceof ApplicationFailure ? (err.cause.type ?? undefined) : undefined;
}

export function failureMessage(err: ActivityFailure): string {
  return err.cause?.message ?? err.message;
}
