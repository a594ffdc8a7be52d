/**
 * LINE Pay has no idempotency key: the merchant's `orderId` (unique per channel, ≤100 chars) is the
 * only handle. Ours is a pure function of the subscription, the billing cycle and the number of
 * definite declines so far, so every activity retry, worker crash, continue-as-new and reset sends the
 * same orderId for the same attempt, and a second charge for it is refused with 1172.
 * Never derive it from runId or activityId: both change across continue-as-new and retries.
 */
export function chargeOrderId(subscriptionId: string, cycle: number, declinedAttempts: number): string {
  checkParts(subscriptionId, cycle, declinedAttempts);
  return declinedAttempts === 0
    ? `${subscriptionId}-c${cycle}`
    : `${subscriptionId}-c${cycle}-a${declinedAttempts}`;
}

/**
 * orderId of a PREAPPROVED Request (reservation). The first approval pays cycle 0 with `-c0`;
 * a re-approval for an overdue cycle n is reservation k (1, 2, … each time the 20-minute payment URL
 * lapses) and pays cycle n through Confirm.
 */
export function reservationOrderId(subscriptionId: string, cycle: number, reservation: number): string {
  checkParts(subscriptionId, cycle, reservation);
  return reservation === 0 ? `${subscriptionId}-c${cycle}` : `${subscriptionId}-c${cycle}-r${reservation}`;
}

const ORDER_ID = /^([A-Za-z0-9_-]{1,64})-c(0|[1-9]\d*)(?:-([ar])([1-9]\d*))?$/;

/** Reads an orderId back into its parts; `undefined` for ids we did not make. */
export function parseOrderId(
  orderId: string,
):
  | { subscriptionId: string; cycle: number; kind: 'charge' | 'reservation' | 'first'; n: number }
  | undefined {
  const m = ORDER_ID.exec(orderId);
  if (!m) return undefined;
  const kind = m[3] === 'a' ? 'charge' : m[3] === 'r' ? 'reservation' : 'first';
  return { subscriptionId: m[1]!, cycle: Number(m[2]), kind, n: m[4] === undefined ? 0 : Number(m[4]) };
}

function checkParts(subscriptionId: string, cycle: number, n: number): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(subscriptionId))
    throw new Error('subscriptionId must be 1-64 chars of [A-Za-z0-9_-]');
  if (!Number.isSafeInteger(cycle) || cycle < 0)
    throw new Error(`cycle must be a non-negative integer, got ${cycle}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`attempt must be a non-negative integer, got ${n}`);
}
