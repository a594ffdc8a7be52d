import { createHash, randomUUID } from 'node:crypto';
import {
  type Client,
  isGrpcServiceError,
  ServiceError,
  WithStartWorkflowOperation,
  type WorkflowExecutionInfo,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import {
  ApplicationFailure,
  type UpdateDefinition,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import {
  type CancelResult,
  type ChangePlanResult,
  type ConfirmResult,
  cancelApprovalUpdate,
  cancelUpdate,
  changePlanUpdate,
  confirmUpdate,
  type OneOffCharge,
  oneOffChargeUpdate,
  type PauseResult,
  type PaymentUrl,
  type PlanPreview,
  type PlanPreviewInput,
  type ProrateMode,
  pauseUpdate,
  paymentLinkUpdate,
  planPreviewUpdate,
  REJECTION_TYPES,
  type RefundChargeResult,
  type RefundRefusalCode,
  type ResumeResult,
  type RetryNowResult,
  refundChargeUpdate,
  resumeUpdate,
  retryNowUpdate,
  type SettleChargeResult,
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
  type SubscriptionView,
  settleChargeUpdate,
  stateQuery,
  TERMINAL_STATUSES,
  workflowIdFor,
} from '../workflows/messages.js';
import { regKeyIdleWarnings } from '../workflows/regkey-health.js';
import {
  BillingCycleKey,
  CustomerIdKey,
  NextChargeAtKey,
  SubscriptionStatusKey,
} from '../workflows/search-attributes.js';
import {
  type Actor,
  type BillingLimits,
  type Currency,
  DEFAULT_BILLING_LIMITS,
  isSubscriptionId,
  normalizeSubscriptionInput,
  type SubscriptionInput,
  SubscriptionInputError,
} from '../workflows/subscription-input.js';
import { DEFAULT_TRIAL_VERIFICATION, type TrialVerification } from '../workflows/trial.js';
import {
  ConflictError,
  InternalError,
  NotFoundError,
  RefundRefusedError,
  RejectedError,
  SubscriptionError,
  UnavailableError,
  ValidationError,
} from './errors.js';

/** Workflow type name, as visibility queries see it. */
export const WORKFLOW_TYPE = 'subscriptionWorkflow';

/** What a merchant sends to start a subscription. */
export interface CreateSubscriptionRequest {
  /** Your idempotency key; generated when absent (then every call creates a new subscription). */
  subscriptionId?: string;
  customerId: string;
  productName: string;
  amount: number;
  currency: Currency;
  interval: string;
  billingAnchor?: string;
  /** Local hours in which this subscription's charges run (`{ start: '00:00', end: '06:00' }`). */
  billingWindow?: { start: string; end: string };
  timeZone?: string;
  maxCycles?: number;
  /** Free trial from approval (`P14D`); the first charge falls at its end. Not with `trialEnd`. */
  trial?: string;
  /** Free trial until this instant (in the future). */
  trialEnd?: string;
  /** How long before the end `subscription.trial_will_end` goes out (default `P3D`). */
  trialWillEndNotice?: string;
  /** Default: the client's `trialVerification` option. */
  trialVerification?: TrialVerification;
}

export interface CreateSubscriptionResult {
  subscriptionId: string;
  status: SubscriptionStatus;
  /** Where to send the customer; absent once the approval is over (e.g. a repeat after activation). */
  paymentUrl?: PaymentUrl;
  expiresAt?: string;
  /** False when this call found the subscription an identical earlier call had created. */
  created: boolean;
  /** Things the merchant should know about these terms, e.g. LINE Pay's idle expiry of regKeys. */
  warnings: string[];
}

/** One row of `listSubscriptions`: what the search attributes say, no workflow round trip. */
export interface SubscriptionListItem {
  subscriptionId: string;
  workflowId: string;
  status?: SubscriptionStatus;
  customerId?: string;
  nextChargeAt?: string;
  billingCycle?: number;
  workflowStatus: string;
  startTime: string;
  closeTime?: string;
}

export interface ListSubscriptionsOptions {
  status?: SubscriptionStatus;
  customerId?: string;
  /** Maximum rows returned (default 50, at most 1000). */
  pageSize?: number;
}

export interface SubscriptionsClientOptions {
  /** A client built with `createDataConverter` (the codec must match the worker's). */
  client: Client;
  taskQueue: string;
  /** Base URL customers' browsers reach the HTTP service at; LINE Pay's confirm/cancel URLs hang off it. */
  publicBaseUrl: string;
  /** Per-call deadline; a call that has not finished by then throws `UnavailableError`. Default 30 s. */
  timeoutMs?: number;
  /** Billing limits checked at create and recorded in the input (default `DEFAULT_BILLING_LIMITS`). */
  limits?: BillingLimits;
  /** How trials' approvals register the regKey without charging (default `refund_minimum`). */
  trialVerification?: TrialVerification;
}

/** Every lifecycle call takes an idempotency key: a retry with the same `requestId` changes nothing twice. */
type WithActor<T> = T & { actor?: Actor; requestId?: string };

export interface SubscriptionsClient {
  createSubscription(request: CreateSubscriptionRequest): Promise<CreateSubscriptionResult>;
  confirmApproval(input: {
    subscriptionId: string;
    transactionId: string;
    orderId: string;
  }): Promise<ConfirmResult>;
  cancelApproval(input: {
    subscriptionId: string;
    transactionId?: string;
    orderId?: string;
  }): Promise<{ status: SubscriptionStatus }>;
  cancel(
    subscriptionId: string,
    options?: WithActor<{ atPeriodEnd?: boolean; reason?: string; refund?: 'none' | 'last' | 'prorated' }>,
  ): Promise<CancelResult>;
  pause(
    subscriptionId: string,
    options?: WithActor<{ resumeAt?: string; reason?: string }>,
  ): Promise<PauseResult>;
  resume(subscriptionId: string, options?: WithActor<{ reason?: string }>): Promise<ResumeResult>;
  changePlan(
    subscriptionId: string,
    change: WithActor<{
      amount?: number;
      productName?: string;
      reason?: string;
      prorate?: ProrateMode;
      prorationDate?: string;
    }>,
  ): Promise<ChangePlanResult>;
  /**
   * What `changePlan` with these terms would charge, credit and bill next, computed by the same
   * function; pass its `prorationDate` to `changePlan` to be charged exactly that. Changes nothing.
   */
  previewPlanChange(subscriptionId: string, change: PlanPreviewInput): Promise<PlanPreview>;
  /**
   * One-off charge on the customer's regKey (an add-on, a fee). `requestId` is required: its orderId
   * is derived from it, so a retry never charges twice. Resolves with `succeeded`, `failed` (a decline:
   * the subscription is not dunned), or `pending` while an unknown outcome is being looked up.
   */
  chargeOneOff(
    subscriptionId: string,
    charge: { amount: number; productName: string; requestId: string; reason?: string; actor?: Actor },
  ): Promise<OneOffCharge>;
  retryNow(subscriptionId: string, options?: WithActor<{ reason?: string }>): Promise<RetryNowResult>;
  /** Operator: settles a charge whose outcome LINE Pay never established (`needsAttention`). */
  settleCharge(
    subscriptionId: string,
    settlement: WithActor<{ outcome: 'paid' | 'failed'; transactionId?: string; reason: string }>,
  ): Promise<SettleChargeResult>;
  /**
   * Full (no `amount`) or partial refund of a charge, by its transactionId. `requestId` is required:
   * a retry with it never refunds twice. Throws `RefundRefusedError` (`refund_exceeds_remaining`, …).
   */
  refundCharge(
    subscriptionId: string,
    refund: { transactionId: string; amount?: number; reason: string; requestId: string; actor?: Actor },
  ): Promise<RefundChargeResult>;
  getSubscription(subscriptionId: string): Promise<SubscriptionView>;
  listSubscriptions(options?: ListSubscriptionsOptions): Promise<SubscriptionListItem[]>;
}

/**
 * The canonical fingerprint of a create request: sha256 over the normalized merchant fields with sorted
 * keys. Equal requests (even with defaults spelled out) match; any difference is a conflict.
 */
export function requestFingerprint(input: ReturnType<typeof normalizeSubscriptionInput>): string {
  const fields: Record<string, unknown> = {
    customerId: input.customerId,
    productName: input.productName,
    amount: input.amount,
    currency: input.currency,
    interval: input.interval,
    timeZone: input.timeZone,
    billingAnchor: input.billingAnchor ?? null,
    billingWindow: input.billingWindow ?? null,
    maxCycles: input.maxCycles ?? null,
    // Absent without a trial (undefined is left out), so fingerprints from before trials still match.
    trial: input.trial,
    trialEnd: input.trialEnd,
    trialWillEndNotice: input.trialWillEndNotice,
    trialVerification: input.trialVerification,
  };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Quotes a value for a visibility query string literal. */
export function quoteVisibility(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function buildListQuery(options: Pick<ListSubscriptionsOptions, 'status' | 'customerId'>): string {
  const parts = [`WorkflowType = ${quoteVisibility(WORKFLOW_TYPE)}`];
  if (options.status !== undefined)
    parts.push(`${SubscriptionStatusKey.name} = ${quoteVisibility(options.status)}`);
  if (options.customerId !== undefined)
    parts.push(`${CustomerIdKey.name} = ${quoteVisibility(options.customerId)}`);
  // No ORDER BY: SQL visibility (dev server, SQLite/Postgres) rejects it and already returns newest first.
  return parts.join(' AND ');
}

/** The confirm and cancel URLs LINE Pay sends the customer's browser back to. */
export function redirectUrlsFor(
  publicBaseUrl: string,
  subscriptionId: string,
): SubscriptionInput['redirectUrls'] {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const id = encodeURIComponent(subscriptionId);
  return {
    confirmUrl: `${base}/linepay/confirm?subscriptionId=${id}`,
    cancelUrl: `${base}/linepay/cancel?subscriptionId=${id}`,
  };
}

/** Builds the client library over a Temporal `Client`. Every method throws only `SubscriptionError`s. */
export function createSubscriptionsClient(options: SubscriptionsClientOptions): SubscriptionsClient {
  const { client, taskQueue } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;

  function withDeadline<T>(fn: () => Promise<T>): Promise<T> {
    return client.connection.withDeadline(Date.now() + timeoutMs, fn);
  }

  function handle(subscriptionId: string) {
    if (!isSubscriptionId(subscriptionId)) throw new NotFoundError(String(subscriptionId).slice(0, 80));
    return client.workflow.getHandle(workflowIdFor(subscriptionId));
  }

  /**
   * A lifecycle update under one idempotency key, used both as Temporal's updateId (dedup within a
   * run) and in the input (the workflow remembers applied ids across continue-as-new).
   */
  function lifecycle<A, R>(
    subscriptionId: string,
    def: UpdateDefinition<R, [A]>,
    opts: { actor?: Actor; requestId?: string } & Record<string, unknown>,
  ): Promise<R> {
    const { actor = { kind: 'merchant' }, requestId = randomUUID(), ...rest } = opts;
    const args = { ...stripUndefined(rest), actor, requestId } as unknown as A;
    return update(subscriptionId, (h) =>
      h.executeUpdate(def, { args: [args], updateId: `${def.name}-${requestId}` }),
    );
  }

  async function update<R>(
    subscriptionId: string,
    run: (h: ReturnType<typeof handle>) => Promise<R>,
  ): Promise<R> {
    try {
      return await withDeadline(() => run(handle(subscriptionId)));
    } catch (err) {
      throw toSubscriptionError(err, subscriptionId);
    }
  }

  return {
    async createSubscription(request) {
      const subscriptionId = request.subscriptionId ?? randomUUID();
      let normalized: ReturnType<typeof normalizeSubscriptionInput>;
      try {
        if (request.trialEnd !== undefined && Date.parse(request.trialEnd) <= Date.now())
          throw new SubscriptionInputError('trialEnd: must be in the future', 'trialEnd');
        const trialDefaults =
          (request.trial !== undefined || request.trialEnd !== undefined) &&
          request.trialVerification === undefined
            ? { trialVerification: options.trialVerification ?? DEFAULT_TRIAL_VERIFICATION }
            : {};
        normalized = normalizeSubscriptionInput(
          {
            ...stripUndefined(request),
            ...trialDefaults,
            subscriptionId,
            redirectUrls: redirectUrlsFor(options.publicBaseUrl, subscriptionId),
          },
          options.limits ?? DEFAULT_BILLING_LIMITS,
        );
      } catch (err) {
        if (err instanceof SubscriptionInputError) throw new ValidationError(err.message, err.field);
        throw err;
      }
      const fingerprint = requestFingerprint(normalized);
      const input: SubscriptionInput = {
        ...normalized,
        actor: { kind: 'merchant' },
        requestFingerprint: fingerprint,
      };
      const updateId = `payment-link-${randomUUID()}`;
      const startWorkflowOperation = new WithStartWorkflowOperation(WORKFLOW_TYPE, {
        workflowId: workflowIdFor(subscriptionId),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SubscriptionStatusKey, value: 'pending_approval' },
          { key: CustomerIdKey, value: normalized.customerId },
        ],
      });
      try {
        const result = await withDeadline(() =>
          client.workflow.executeUpdateWithStart(paymentLinkUpdate, {
            args: [{ requestFingerprint: fingerprint }],
            updateId,
            startWorkflowOperation,
          }),
        );
        // The workflow says whether this request created it: the server's `started` flag is lost when
        // the SDK retries the call after the start went through.
        const created = result.created === true;
        if (!created && TERMINAL_STATUSES.includes(result.status)) {
          // Same answer as once the workflow has closed (REJECT_DUPLICATE): the id is used up.
          throw new WorkflowExecutionAlreadyStartedError(
            'subscription ended',
            workflowIdFor(subscriptionId),
            WORKFLOW_TYPE,
          );
        }
        const out: CreateSubscriptionResult = {
          subscriptionId,
          status: result.status,
          created,
          warnings: regKeyIdleWarnings(normalized),
        };
        if (result.paymentUrl) out.paymentUrl = result.paymentUrl;
        if (result.expiresAt) out.expiresAt = result.expiresAt;
        return out;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new ConflictError(
            `subscription ${subscriptionId} already existed and has ended; use a new subscriptionId`,
            subscriptionId,
          );
        }
        const mapped = toSubscriptionError(err, subscriptionId);
        if (mapped instanceof RejectedError && mapped.type === REJECTION_TYPES.conflict) {
          throw new ConflictError(mapped.message, subscriptionId);
        }
        if (mapped instanceof RejectedError && mapped.type === REJECTION_TYPES.notAwaitingApproval) {
          // A repeat of an identical create after the approval: answer with where it stands.
          const view = await update(subscriptionId, (h) => h.query(stateQuery));
          if (TERMINAL_STATUSES.includes(view.status)) {
            throw new ConflictError(
              `subscription ${subscriptionId} already existed and has ended; use a new subscriptionId`,
              subscriptionId,
            );
          }
          return {
            subscriptionId,
            status: view.status,
            created: false,
            warnings: regKeyIdleWarnings(normalized),
          };
        }
        throw mapped;
      }
    },

    confirmApproval({ subscriptionId, transactionId, orderId }) {
      return update(subscriptionId, (h) =>
        h.executeUpdate(confirmUpdate, {
          args: [{ transactionId, orderId }],
          updateId: `confirm-${transactionId}`,
        }),
      );
    },

    cancelApproval({ subscriptionId, ...ids }) {
      return update(subscriptionId, (h) =>
        h.executeUpdate(cancelApprovalUpdate, { args: [stripUndefined(ids)] }),
      );
    },

    cancel(subscriptionId, opts = {}) {
      return lifecycle(subscriptionId, cancelUpdate, opts);
    },

    pause(subscriptionId, opts = {}) {
      return lifecycle(subscriptionId, pauseUpdate, opts);
    },

    resume(subscriptionId, opts = {}) {
      return lifecycle(subscriptionId, resumeUpdate, opts);
    },

    changePlan(subscriptionId, change) {
      return lifecycle(subscriptionId, changePlanUpdate, change);
    },

    previewPlanChange(subscriptionId, change) {
      return update(subscriptionId, async (h) => {
        try {
          await h.executeUpdate(planPreviewUpdate, { args: [stripUndefined(change)] });
        } catch (err) {
          // The preview is the validator's answer (so it never reaches history); see planPreviewUpdate.
          const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
          if (cause instanceof ApplicationFailure && cause.type === REJECTION_TYPES.planPreview)
            return cause.details?.[0] as PlanPreview;
          throw err;
        }
        throw new RejectedError('the workflow gave no preview', 'Error', subscriptionId);
      });
    },

    chargeOneOff(subscriptionId, charge) {
      if (typeof charge?.requestId !== 'string' || charge.requestId.length === 0)
        return Promise.reject(new ValidationError('requestId is required for a one-off charge', 'requestId'));
      return lifecycle(subscriptionId, oneOffChargeUpdate, charge);
    },

    settleCharge(subscriptionId, settlement) {
      return lifecycle(subscriptionId, settleChargeUpdate, { actor: { kind: 'operator' }, ...settlement });
    },

    retryNow(subscriptionId, opts = {}) {
      return lifecycle(subscriptionId, retryNowUpdate, opts);
    },

    refundCharge(subscriptionId, refund) {
      if (typeof refund?.requestId !== 'string' || refund.requestId.length === 0)
        return Promise.reject(new ValidationError('requestId is required for a refund', 'requestId'));
      return lifecycle(subscriptionId, refundChargeUpdate, refund);
    },

    getSubscription(subscriptionId) {
      return update(subscriptionId, (h) => h.query(stateQuery));
    },

    async listSubscriptions(opts = {}) {
      if (opts.status !== undefined && !SUBSCRIPTION_STATUSES.includes(opts.status)) {
        throw new ValidationError(`status: must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`, 'status');
      }
      const pageSize = Math.min(Math.max(opts.pageSize ?? 50, 1), 1000);
      const query = buildListQuery(opts);
      try {
        return await withDeadline(async () => {
          const out: SubscriptionListItem[] = [];
          for await (const execution of client.workflow.list({ query, pageSize })) {
            out.push(toListItem(execution));
            if (out.length >= pageSize) break;
          }
          return out;
        });
      } catch (err) {
        throw toSubscriptionError(err, '');
      }
    },
  };
}

function toListItem(execution: WorkflowExecutionInfo): SubscriptionListItem {
  const sa = execution.typedSearchAttributes;
  const item: SubscriptionListItem = {
    subscriptionId: execution.workflowId.replace(/^subscription-/, ''),
    workflowId: execution.workflowId,
    workflowStatus: execution.status.name,
    startTime: execution.startTime.toISOString(),
  };
  const status = sa.get(SubscriptionStatusKey);
  if (status !== undefined) item.status = status as SubscriptionStatus;
  const customerId = sa.get(CustomerIdKey);
  if (customerId !== undefined) item.customerId = customerId;
  const next = sa.get(NextChargeAtKey);
  if (next !== undefined) item.nextChargeAt = next.toISOString();
  const cycle = sa.get(BillingCycleKey);
  if (cycle !== undefined) item.billingCycle = cycle;
  if (execution.closeTime) item.closeTime = execution.closeTime.toISOString();
  return item;
}

/** Drops keys whose value is undefined (exactOptionalPropertyTypes). */
function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** gRPC status codes (grpc/status.proto). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** Worth retrying the same call: the server was busy, slow or away. */
const TRANSIENT_GRPC: ReadonlySet<number> = new Set([
  GRPC.CANCELLED,
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.ABORTED,
  GRPC.UNAVAILABLE,
]);

function grpcName(code: number): string {
  const name = Object.entries(GRPC).find(([, v]) => v === code)?.[0] ?? 'UNKNOWN';
  return name.toLowerCase();
}

/**
 * Maps Temporal client errors onto the library's typed errors. Raw Temporal and gRPC messages never
 * pass through (they name namespaces, hosts, internals): the original error is kept as `cause` for
 * the log, and callers branch on `code` (plus `reason` for `internal`).
 */
export function toSubscriptionError(err: unknown, subscriptionId: string): SubscriptionError {
  if (err instanceof SubscriptionError) return err;
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      // The workflow's own validator and handler messages: written by us, free of secrets.
      const type = cause.type ?? 'Error';
      if (type === REJECTION_TYPES.refundRefused) {
        const d = cause.details?.[0] as { code?: RefundRefusalCode; remaining?: unknown } | undefined;
        return new RefundRefusedError(
          cause.message,
          d?.code ?? 'refund_not_allowed',
          subscriptionId,
          typeof d?.remaining === 'number' ? d.remaining : undefined,
        );
      }
      if (type === REJECTION_TYPES.invalidInput || type === REJECTION_TYPES.invalidRequest) {
        const field = (cause.details?.[0] as { field?: unknown } | undefined)?.field;
        return new ValidationError(cause.message, typeof field === 'string' ? field : 'input');
      }
      return new RejectedError(cause.message, type, subscriptionId);
    }
    return new RejectedError('the subscription did not accept the change', 'Error', subscriptionId, {
      cause: err,
    });
  }
  if (err instanceof WorkflowNotFoundError) {
    if (/already completed/i.test(err.message)) {
      return new RejectedError(
        `subscription ${subscriptionId} has ended`,
        REJECTION_TYPES.invalidState,
        subscriptionId,
      );
    }
    return new NotFoundError(subscriptionId);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new UnavailableError('Temporal did not finish the request in time; retry it', { cause: err });
  }
  const grpc = grpcCode(err);
  if (grpc === GRPC.NOT_FOUND) {
    if (/already completed/i.test(String((err as Error).message))) {
      return new RejectedError(
        `subscription ${subscriptionId} has ended`,
        REJECTION_TYPES.invalidState,
        subscriptionId,
      );
    }
    return new NotFoundError(subscriptionId);
  }
  if (grpc === GRPC.ALREADY_EXISTS) {
    return new ConflictError(`subscription ${subscriptionId} already exists`, subscriptionId);
  }
  if (grpc !== undefined && TRANSIENT_GRPC.has(grpc)) {
    return new UnavailableError('Temporal is unavailable; retry the request', { cause: err });
  }
  if (grpc !== undefined) {
    // Permanent: credentials, namespace, a bad request or a server fault. Retrying will not help.
    const reason = `temporal_${grpcName(grpc)}`;
    return new InternalError(`Temporal refused the request (${reason}); see the service log`, reason, {
      cause: err,
    });
  }
  if (err instanceof ServiceError || isGrpcServiceError(err)) {
    return new InternalError('Temporal refused the request; see the service log', 'temporal_error', {
      cause: err,
    });
  }
  if (err instanceof Error && /query.*(failed|rejected)|no worker|timed? ?out/i.test(err.message)) {
    return new UnavailableError('Temporal could not answer in time; retry the request', { cause: err });
  }
  return new InternalError('internal error; see the service log', 'internal', { cause: err });
}

function grpcCode(err: unknown): number | undefined {
  let current: unknown = err;
  for (let i = 0; i < 4 && current; i++) {
    if (isGrpcServiceError(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
