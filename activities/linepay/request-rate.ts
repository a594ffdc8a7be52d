/**
 * A cap on LINE Pay requests per second for one worker process (`LINEPAY_MAX_REQUESTS_PER_SECOND`).
 * Charges run as local activities, which the server's task-queue rate limit never sees, so the cap
 * lives in the client and counts every request: activities and local activities alike.
 *
 * A generic cell rate: requests are spaced 1/rate apart, with a burst of one second's worth.
 */
export class RequestRate {
  readonly perSecond: number;
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  readonly #now: () => number;
  /** When the request after the last reserved one would be on schedule. */
  #theoretical = Number.NEGATIVE_INFINITY;

  constructor(perSecond: number, now: () => number = Date.now) {
    if (!Number.isFinite(perSecond) || perSecond <= 0) {
      throw new RangeError('RequestRate: perSecond must be a positive number');
    }
    this.perSecond = perSecond;
    this.#intervalMs = 1000 / perSecond;
    this.#toleranceMs = this.#intervalMs * (Math.max(1, Math.floor(perSecond)) - 1);
    this.#now = now;
  }

  /**
   * Reserves the next slot and returns how many ms to wait for it, or `undefined` (nothing reserved)
   * when that slot comes after `latest` (epoch ms).
   */
  reserve(latest: number = Number.POSITIVE_INFINITY): number | undefined {
    const now = this.#now();
    const due = Math.max(this.#theoretical, now);
    const allowedAt = due - this.#toleranceMs;
    if (allowedAt > latest) return undefined;
    this.#theoretical = due + this.#intervalMs;
    return Math.max(0, allowedAt - now);
  }
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function waitFor(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
