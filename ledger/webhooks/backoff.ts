/** When a failed webhook delivery is tried again, and when it is given up. Pure: tests drive the clock. */
export interface RetryPolicy {
  /** Delay after the first failed attempt. */
  initialDelayMs: number;
  /** Each further failure multiplies the delay by this. */
  factor: number;
  /** No single wait is longer than this. */
  maxDelayMs: number;
  /** Retries go on until this long after the first attempt; the last one falls exactly at it. */
  retryForMs: number;
  /** ± fraction of each delay, so endpoints coming back up are not hit by every delivery at once. */
  jitter: number;
}

const SECOND = 1_000;
const HOUR = 3_600 * SECOND;

/** 5 s, 10 s, 20 s, … capped at 6 h, for 3 days: Stripe's window, with Standard Webhooks' early retries. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 5 * SECOND,
  factor: 2,
  maxDelayMs: 6 * HOUR,
  retryForMs: 72 * HOUR,
  jitter: 0.1,
};

/** The wait after the `failures`-th failed attempt (1-based), before jitter. */
export function baseDelayMs(failures: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError('failures must be an integer ≥ 1');
  const exponent = Math.min(failures - 1, 60);
  return Math.min(policy.initialDelayMs * policy.factor ** exponent, policy.maxDelayMs);
}

export type RetryDecision = { retry: true; at: number } | { retry: false };

/**
 * After a failed attempt at `now` (epoch ms): the time of the next attempt, or give up. `random`
 * returns [0, 1); pass a constant in tests.
 */
export function nextAttempt(
  failures: number,
  firstAttemptAt: number,
  now: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): RetryDecision {
  const deadline = firstAttemptAt + policy.retryForMs;
  if (now >= deadline) return { retry: false };
  const base = baseDelayMs(failures, policy);
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return { retry: true, at: Math.min(now + Math.max(0, Math.round(jittered)), deadline) };
}

/** The whole schedule without jitter, as offsets from the first attempt: for docs and tests. */
export function retrySchedule(policy: RetryPolicy = DEFAULT_RETRY_POLICY): number[] {
  const offsets = [0];
  const noJitter = { ...policy, jitter: 0 };
  for (let failures = 1; ; failures++) {
    const now = offsets.at(-1)!;
    const next = nextAttempt(failures, 0, now, noJitter);
    if (!next.retry) return offsets;
    offsets.push(next.at);
  }
}
