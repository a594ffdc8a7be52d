/**
 * Typed errors of the client library. Callers branch on `code`; the HTTP service maps each code to one
 * status. Messages never contain secrets or regKeys.
 */
import type { RefundRefusalCode } from '../workflows/messages.js';

export type SubscriptionErrorCode =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'rejected'
  | 'unavailable'
  | 'internal'
  | RefundRefusalCode;

export abstract class SubscriptionError extends Error {
  abstract readonly code: SubscriptionErrorCode;
  /** Extra machine-readable facts (field, rejection type, …) for API responses. */
  get details(): Record<string, unknown> {
    return {};
  }
}

/** The request is malformed; `field` names the first offending field. */
export class ValidationError extends SubscriptionError {
  override readonly name = 'ValidationError' as const;
  readonly code = 'validation' as const;
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
  override get details(): Record<string, unknown> {
    return { field: this.field };
  }
}

export class NotFoundError extends SubscriptionError {
  override readonly name = 'NotFoundError' as const;
  readonly code = 'not_found' as const;
  constructor(readonly subscriptionId: string) {
    super(`subscription ${subscriptionId} not found`);
  }
  override get details(): Record<string, unknown> {
    return { subscriptionId: this.subscriptionId };
  }
}

/** The subscriptionId is taken by a different request, or by a subscription that has already ended. */
export class ConflictError extends SubscriptionError {
  override readonly name = 'ConflictError' as const;
  readonly code = 'conflict' as const;
  constructor(
    message: string,
    readonly subscriptionId: string,
  ) {
    super(message);
  }
  override get details(): Record<string, unknown> {
    return { subscriptionId: this.subscriptionId };
  }
}

/** The workflow refused the change; `type` is the workflow's ApplicationFailure type (e.g. `InvalidState`). */
export class RejectedError extends SubscriptionError {
  override readonly name = 'RejectedError' as const;
  readonly code = 'rejected' as const;
  constructor(
    message: string,
    readonly type: string,
    readonly subscriptionId: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  override get details(): Record<string, unknown> {
    return { type: this.type, subscriptionId: this.subscriptionId };
  }
}

/**
 * A refund that cannot be made as asked: more than is left (`refund_exceeds_remaining`), nothing left,
 * not a charge of this subscription, past LINE Pay's refund window, or refused by LINE Pay.
 * `remaining` is what is left to refund when the workflow knows it.
 */
export class RefundRefusedError extends SubscriptionError {
  override readonly name = 'RefundRefusedError' as const;
  constructor(
    message: string,
    readonly code: RefundRefusalCode,
    readonly subscriptionId: string,
    readonly remaining?: number,
  ) {
    super(message);
  }
  override get details(): Record<string, unknown> {
    return {
      subscriptionId: this.subscriptionId,
      ...(this.remaining === undefined ? {} : { remaining: this.remaining }),
    };
  }
}

/** Temporal could not be reached or did not answer in time; safe to retry the same call. */
export class UnavailableError extends SubscriptionError {
  override readonly name = 'UnavailableError' as const;
  readonly code = 'unavailable' as const;
}

/**
 * A permanent failure on our side (Temporal refused our credentials or the request, a bug): retrying
 * will not help. `reason` is stable (`temporal_permission_denied`, …); the original error is `cause`,
 * for the log only.
 */
export class InternalError extends SubscriptionError {
  override readonly name = 'InternalError' as const;
  readonly code = 'internal' as const;
  constructor(
    message: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  override get details(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export function isSubscriptionError(err: unknown): err is SubscriptionError {
  return err instanceof SubscriptionError;
}
