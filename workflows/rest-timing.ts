/**
 * When an idle run rests (continues as new) — pure rules, so the main loop's waits can be checked
 * without a server. A rest shortens an idle wait only to a time still ahead: a rest time already past
 * as a wait's deadline returns at once, and the loop spun on it until the SDK killed the thread.
 */

/** The rest time to wait for instead of the step's own deadline, or undefined to wait as the step does. */
export function restDeadline(
  restAt: number | undefined,
  now: number,
  stepUntil: number | undefined,
): number | undefined {
  if (restAt === undefined || restAt <= now) return undefined;
  if (stepUntil !== undefined && restAt >= stepUntil) return undefined;
  return restAt;
}

/**
 * Whether a wait should wake to rest: the rest has become possible, and either its time is not set yet
 * (the loop sets it) or it has come.
 */
export function restWakes(restPossible: boolean, restAt: number | undefined, now: number): boolean {
  return restPossible && (restAt === undefined || now >= restAt);
}
