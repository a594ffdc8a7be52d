/**
 * Failure type names that cross the activity boundary, written down once: activities throw them,
 * the workflow's retry policies list them, and the client maps them. Branch on these, never on
 * message text.
 */
export const ACTIVITY_FAILURE_TYPES = {
  /** Credentials, channel or request shape wrong (1104–1106, unknown codes, …): retry slowly, an operator must act. */
  merchantConfig: 'LinePayMerchantConfig',
  /** LINE Pay refused a Request for good (1178 currency, 2101 sum, …): the reservation cannot be made as asked. */
  requestRejected: 'LinePayRequestRejected',
  /** A sealed regKey opened for another subscription instance, or with a key we do not hold. */
  regKeyVault: 'RegKeyVaultMismatch',
  /** LINE Pay could not be reached or answered ambiguously in a call that is safe to repeat. */
  transient: 'LinePayTransient',
  /** The ledger database is down: retried; the events wait in the workflow's outbox. */
  ledgerUnavailable: 'LedgerUnavailable',
  /** The ledger refused an event as sent (bad shape, a sequence taken by another id): a bug upstream. */
  ledgerInvalidEvent: 'LedgerInvalidEvent',
} as const;
export type ActivityFailureType = (typeof ACTIVITY_FAILURE_TYPES)[keyof typeof ACTIVITY_FAILURE_TYPES];

/** Failures that retrying cannot cure; the workflow turns them into a state, never a failed run. */
export const NON_RETRYABLE_ACTIVITY_FAILURES: readonly string[] = [
  ACTIVITY_FAILURE_TYPES.requestRejected,
  ACTIVITY_FAILURE_TYPES.regKeyVault,
];

/** ApplicationFailure types the workflow's validators and handlers reject updates with. */
export const REJECTION_TYPES = {
  invalidInput: 'InvalidSubscriptionInput',
  invalidRequest: 'InvalidRequest',
  invalidState: 'InvalidState',
  mismatch: 'ApprovalMismatch',
  conflict: 'SubscriptionConflict',
  /** A repeat of an update already applied under the same request id (answered from state, never rejected). */
  notAwaitingApproval: 'NotAwaitingApproval',
  limit: 'LimitExceeded',
  /** Not a refusal: `planPreview`'s answer, carried as the validator's rejection (`details[0]` is the preview). */
  planPreview: 'PlanPreview',
  /** A refund LINE Pay or the charge's record does not allow; `details[0].code` is a `RefundRefusalCode`. */
  refundRefused: 'RefundRefused',
} as const;
export type RejectionType = (typeof REJECTION_TYPES)[keyof typeof REJECTION_TYPES];
