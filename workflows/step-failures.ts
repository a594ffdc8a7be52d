/** What every LINE Pay step shares: its retry policy and how it reads an activity's failure. */
import { ActivityFailure, ApplicationFailure, type TemporalFailure } from '@temporalio/workflow';
import { NON_RETRYABLE_ACTIVITY_FAILURES } from './failure-types.js';

export const RETRY_THEN_BLOCK = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  // Past these the step is blocked on a workflow timer, which a cancel can interrupt.
  maximumAttempts: 6,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ACTIVITY_FAILURES],
};

/** An activity's failure is wrapped in an ActivityFailure; a local activity's arrives bare. */
function causeOf(err: TemporalFailure): TemporalFailure | Error | undefined {
  return err instanceof ActivityFailure ? err.cause : err;
}

export function failureType(err: TemporalFailure): string | undefined {
  const cause = causeOf(err);
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function failureMessage(err: TemporalFailure): string {
  return causeOf(err)?.message ?? err.message;
}
