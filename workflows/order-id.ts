/**
 * LINE Pay has no idempotency key: the merchant's `orderId` (unique per channel, ≤100 chars) is the
 * only handle. Ours is a pure function of the subscription instance, the billing cycle and the number
 * of definite failed attempts so far, so every activity retry, worker crash, continue-as-new and reset
 * sends the same orderId for the same attempt, and a second charge for it is refused with 1172.
 * The instance part (fixed at the first run) keeps a reused subscriptionId from meeting old orders.
 * Never derive it from runId or activityId: both change across continue-as-new and retries.
 */
export function chargeOrderId(
  subscriptionId: string,
  instanceId: string,
  cycle: number,
  declinedAttempts: number,
): string {
  checkParts(subscriptionId, instanceId, cycle, declinedAttempts);
  const base = `${subscriptionId}-${instanceId}-c${cycle}`;
  return checkLength(declinedAttempts === 0 ? base : `${base}-a${declinedAttempts}`);
}

/** Every orderId a cycle's charges have used before attempt `attempt`: looked up before a new one. */
export function earlierChargeOrderIds(
  subscriptionId: string,
  instanceId: string,
  cycle: number,
  attempt: number,
): string[] {
  const ids: string[] = [];
  for (let k = 0; k < attempt; k += 1) ids.push(chargeOrderId(subscriptionId, instanceId, cycle, k));
  return ids;
}

/**
 * orderId of a PREAPPROVED Request (reservation). The first approval pays cycle 0 with `-c0`;
 * a re-approval for an overdue cycle n is reservation k (1, 2, … each time the 20-minute payment URL
 * lapses) and pays cycle n through Confirm.
 */
export function reservationOrderId(
  subscriptionId: string,
  instanceId: string,
  cycle: number,
  reservation: number,
): string {
  checkParts(subscriptionId, instanceId, cycle, reservation);
  const base = `${subscriptionId}-${instanceId}-c${cycle}`;
  return checkLength(reservation === 0 ? base : `${base}-r${reservation}`);
}

/**
 * orderId of a one-off charge on the regKey (an add-on, a fee, a prorated upgrade):
 * `<subscription>-<instance>-x<16 hex>`, the hex a 64-bit FNV-1a hash of the caller's request id, so a
 * retry, crash or continue-as-new sends the same orderId and LINE Pay refuses a second payment (1172).
 * The request id is hashed, not embedded, because it is free text of up to 200 characters.
 */
export function oneOffOrderId(subscriptionId: string, instanceId: string, requestId: string): string {
  checkParts(subscriptionId, instanceId, 0, 0);
  if (requestId.length < 1) throw new Error('requestId is required');
  return checkLength(`${subscriptionId}-${instanceId}-x${fnv1a64(requestId)}`);
}

const ONE_OFF_ORDER_ID = /^([A-Za-z0-9_-]{1,64})-([0-9a-f]{8})-x([0-9a-f]{16})$/;

/** Reads a one-off orderId back into its parts; `undefined` for any other id. */
export function parseOneOffOrderId(
  orderId: string,
): { subscriptionId: string; instanceId: string; hash: string } | undefined {
  const m = ONE_OFF_ORDER_ID.exec(orderId);
  return m ? { subscriptionId: m[1]!, instanceId: m[2]!, hash: m[3]! } : undefined;
}

/** FNV-1a over the UTF-16 code units, 64 bits as 16 hex digits; pure, so workflow-safe. */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i += 1) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * 8 lowercase hex characters, from the first run's id: the same in every run of one subscription.
 * The last 8, which are random in UUIDv4 and UUIDv7 alike: the first 8 of a v7 id (Temporal Server
 * 1.32) are a timestamp shared by every run started in the same minute.
 */
export function instanceIdFrom(firstExecutionRunId: string): string {
  const hex = firstExecutionRunId.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length < 8) throw new Error('firstExecutionRunId must hold at least 8 hex digits');
  return hex.slice(-8);
}

const ORDER_ID = /^([A-Za-z0-9_-]{1,64})-([0-9a-f]{8})-c(0|[1-9]\d*)(?:-([ar])([1-9]\d*))?(?:-t\d+)?$/;

/** Reads an orderId back into its parts; `undefined` for ids we did not make. */
export function parseOrderId(orderId: string):
  | {
      subscriptionId: string;
      instanceId: string;
      cycle: number;
      kind: 'charge' | 'reservation' | 'first';
      n: number;
    }
  | undefined {
  const m = ORDER_ID.exec(orderId);
  if (!m) return undefined;
  const kind = m[4] === 'a' ? 'charge' : m[4] === 'r' ? 'reservation' : 'first';
  return {
    subscriptionId: m[1]!,
    instanceId: m[2]!,
    cycle: Number(m[3]),
    kind,
    n: m[5] === undefined ? 0 : Number(m[5]),
  };
}

/** LINE Pay's limit; a retried Request adds `-t<attempt>`, so ours stay under it with room. */
export const MAX_ORDER_ID_LENGTH = 100;
const ROOM_FOR_RETRY_SUFFIX = 4;

function checkLength(orderId: string): string {
  if (orderId.length > MAX_ORDER_ID_LENGTH - ROOM_FOR_RETRY_SUFFIX)
    throw new Error(`orderId would be ${orderId.length} characters; LINE Pay allows ${MAX_ORDER_ID_LENGTH}`);
  return orderId;
}

function checkParts(subscriptionId: string, instanceId: string, cycle: number, n: number): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(subscriptionId))
    throw new Error('subscriptionId must be 1-64 chars of [A-Za-z0-9_-]');
  if (!/^[0-9a-f]{8}$/.test(instanceId)) throw new Error('instanceId must be 8 lowercase hex digits');
  if (!Number.isSafeInteger(cycle) || cycle < 0)
    throw new Error(`cycle must be a non-negative integer, got ${cycle}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`attempt must be a non-negative integer, got ${n}`);
}
