import type { LinePayErrorCode } from './return-codes.js';
import type { LinePayApi } from './types.js';

export type { LinePayErrorCode } from './return-codes.js';

/** Categories where repeating the same request (same orderId) is safe and may succeed. */
const RETRYABLE: ReadonlySet<LinePayErrorCode> = new Set(['not_sent', 'unknown_outcome', 'transient']);

export interface LinePayErrorInit {
  code: LinePayErrorCode;
  api: LinePayApi;
  method: 'GET' | 'POST';
  /** Request path with any regKey already masked. */
  path: string;
  returnCode?: string;
  returnMessage?: string;
  httpStatus?: number;
  cause?: unknown;
}

/**
 * A failed LINE Pay call. Branch on `code`; `retryable` says whether repeating the identical request
 * (same orderId) may help. Messages, `path` and `cause` never hold the channel secret or a full regKey.
 */
export class LinePayError extends Error {
  override name = 'LinePayError' as const;
  readonly code: LinePayErrorCode;
  readonly api: LinePayApi;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly retryable: boolean;
  readonly returnCode?: string;
  readonly returnMessage?: string;
  readonly httpStatus?: number;

  constructor(message: string, init: LinePayErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.api = init.api;
    this.method = init.method;
    this.path = init.path;
    this.retryable = RETRYABLE.has(init.code);
    if (init.returnCode !== undefined) this.returnCode = init.returnCode;
    if (init.returnMessage !== undefined) this.returnMessage = init.returnMessage;
    if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
  }
}

/** Narrows `err` to a `LinePayError`, optionally of one of the given codes. */
export function isLinePayError(err: unknown, ...codes: LinePayErrorCode[]): err is LinePayError {
  return err instanceof LinePayError && (codes.length === 0 || codes.includes(err.code));
}
