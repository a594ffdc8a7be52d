import type { MetricMeter } from '@temporalio/common';
import { type Kysely, sql } from 'kysely';
import { eventBody } from '../ledger-store.js';
import type { LedgerDatabase } from '../schema.js';
import { DEFAULT_RETRY_POLICY, nextAttempt, type RetryPolicy } from './backoff.js';
import { webhookHeaders } from './signature.js';

/** At most this much of an endpoint's answer is kept, per attempt. */
export const MAX_STORED_RESPONSE_BYTES = 1024;

export interface DispatcherLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface DispatcherOptions {
  db: Kysely<LedgerDatabase>;
  secret: Uint8Array;
  timeoutMs?: number;
  /** Idle poll interval; `wake()` skips the wait when this process just recorded events. */
  pollMs?: number;
  policy?: RetryPolicy;
  /** Deliveries claimed per round (each is the head of its own line). */
  batchSize?: number;
  logger?: DispatcherLogger;
  /** Temporal's runtime meter in the worker: delivered/failed counters next to the SDK's metrics. */
  metricMeter?: MetricMeter;
  random?: () => number;
  fetch?: typeof fetch;
}

interface Claimed {
  id: string;
  endpoint: string;
  attempts: number;
  first_attempt_at: Date;
  event_id: string;
  type: string;
  subscription_id: string;
  sequence: number;
  occurred_at: Date;
  data: Record<string, unknown>;
}

interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  body: string | null;
  durationMs: number;
}

const silent: DispatcherLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Delivers the webhook outbox. Any number of dispatchers (one per worker) share it: a claim is a short
 * `UPDATE … FOR UPDATE SKIP LOCKED` that leases the row, the HTTP call runs outside any transaction,
 * and only the head of each (endpoint, subscription instance) line is claimable, so events go out in
 * `sequence` order. A lease that runs out (crashed worker) makes the row claimable again: at least once.
 */
export class WebhookDispatcher {
  readonly #o: Required<Omit<DispatcherOptions, 'metricMeter'>> & { metricMeter?: MetricMeter };
  readonly #leaseMs: number;
  #running = false;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #counters: { delivered?: { add(v: number): void }; failed?: { add(v: number): void } } = {};

  constructor(options: DispatcherOptions) {
    this.#o = {
      timeoutMs: 10_000,
      pollMs: 1_000,
      policy: DEFAULT_RETRY_POLICY,
      batchSize: 20,
      logger: silent,
      random: Math.random,
      fetch: globalThis.fetch,
      ...options,
    };
    this.#leaseMs = this.#o.timeoutMs * 2 + 30_000;
    if (options.metricMeter) {
      this.#counters = {
        delivered: options.metricMeter.createCounter(
          'ledger_webhook_delivered',
          '1',
          'Webhook deliveries acknowledged',
        ),
        failed: options.metricMeter.createCounter(
          'ledger_webhook_failed',
          '1',
          'Webhook deliveries given up after the retry window (needs attention)',
        ),
      };
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops claiming; in-flight attempts finish (their leases would otherwise hand them to another worker). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wakeUp?.();
    await this.#loop;
  }

  /** Look for due deliveries now rather than at the next poll. */
  wake(): void {
    this.#wakeUp?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let worked = 0;
      try {
        worked = await this.runOnce();
      } catch (err) {
        this.#o.logger.warn('webhook dispatcher: ledger database unavailable, retrying', {
          error: err instanceof Error ? err.message : String(err),
        });
      }
      if (worked > 0 || !this.#running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#o.pollMs);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = undefined;
    }
  }

  /** One round: claim due line heads, attempt them concurrently, record the outcomes. Returns how many. */
  async runOnce(): Promise<number> {
    const claimed = await this.#claim();
    await Promise.all(claimed.map((d) => this.#deliver(d)));
    return claimed.length;
  }

  async #claim(): Promise<Claimed[]> {
    const lease = `${this.#leaseMs} milliseconds`;
    const { rows } = await sql<Claimed>`
      with due as (
        select d.id from webhook_deliveries d
        where d.status = 'pending'
          and d.next_attempt_at <= now()
          and (d.lease_until is null or d.lease_until < now())
          and not exists (
            select 1 from webhook_deliveries p
            where p.endpoint = d.endpoint and p.instance_id = d.instance_id
              and p.sequence < d.sequence and p.status = 'pending')
          and (d.sequence = 1 or exists (
            select 1 from ledger_events prev
            where prev.instance_id = d.instance_id and prev.sequence = d.sequence - 1))
        order by d.next_attempt_at, d.id
        limit ${this.#o.batchSize}
        for update skip locked
      ), claimed as (
        update webhook_deliveries w
        set lease_until = now() + ${lease}::interval,
            attempts = w.attempts + 1,
            first_attempt_at = coalesce(w.first_attempt_at, now())
        from due where w.id = due.id
        returning w.id, w.endpoint, w.attempts, w.first_attempt_at, w.event_id
      )
      select c.id, c.endpoint, c.attempts, c.first_attempt_at, c.event_id,
             e.type, e.subscription_id, e.sequence, e.occurred_at, e.data
      from claimed c join ledger_events e on e.id = c.event_id`.execute(this.#o.db);
    return rows;
  }

  async #deliver(d: Claimed): Promise<void> {
    const body = JSON.stringify(
      eventBody({
        id: d.event_id,
        type: d.type,
        subscriptionId: d.subscription_id,
        sequence: d.sequence,
        occurredAt: new Date(d.occurred_at).toISOString(),
        data: d.data,
      }),
    );
    const attemptedAt = new Date();
    const outcome = await this.#post(d.endpoint, d.event_id, body);
    const decision = nextAttempt(
      d.attempts,
      new Date(d.first_attempt_at).getTime(),
      attemptedAt.getTime(),
      this.#o.policy,
      this.#o.random,
    );
    await this.#o.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: d.id,
          attempt: d.attempts,
          attempted_at: attemptedAt,
          status_code: outcome.statusCode,
          error: outcome.error,
          response_body: outcome.body,
          duration_ms: outcome.durationMs,
        })
        .execute();
      const common = {
        lease_until: null,
        last_attempt_at: attemptedAt,
        last_status_code: outcome.statusCode,
        last_error: outcome.error,
        last_response_body: outcome.body,
      };
      // `attempts` guards against a worker whose lease ran out writing over a newer attempt.
      const guard = tx
        .updateTable('webhook_deliveries')
        .where('id', '=', d.id)
        .where('attempts', '=', d.attempts);
      if (outcome.ok) {
        await guard.set({ ...common, status: 'delivered', delivered_at: sql<Date>`now()` }).execute();
        return;
      }
      if (decision.retry) {
        await guard.set({ ...common, next_attempt_at: new Date(decision.at) }).execute();
      } else {
        await guard.set({ ...common, status: 'failed', failed_at: sql<Date>`now()` }).execute();
      }
    });
    if (outcome.ok) {
      this.#counters.delivered?.add(1);
      return;
    }
    const meta = {
      eventId: d.event_id,
      endpoint: d.endpoint,
      attempt: d.attempts,
      statusCode: outcome.statusCode,
      error: outcome.error,
    };
    if (!decision.retry) {
      this.#counters.failed?.add(1);
      this.#o.logger.error('webhook delivery failed for good; resend with POST /events/:id/resend', meta);
    } else {
      this.#o.logger.warn('webhook delivery attempt failed; will retry', meta);
    }
  }

  async #post(endpoint: string, id: string, body: string): Promise<AttemptOutcome> {
    const started = Date.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'linepay-subscriptions-webhooks/1',
      ...webhookHeaders(this.#o.secret, id, Math.floor(started / 1000), body),
    };
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    try {
      const res = await this.#o.fetch(endpoint, {
        method: 'POST',
        headers,
        body,
        signal,
        redirect: 'manual',
      });
      const text = await readBounded(res, MAX_STORED_RESPONSE_BYTES, signal);
      const ok = res.status >= 200 && res.status < 300;
      return {
        ok,
        statusCode: res.status,
        error: ok ? null : `HTTP ${res.status}`,
        body: text,
        durationMs: Date.now() - started,
      };
    } catch (err) {
      return {
        ok: false,
        statusCode: null,
        error: describeFailure(err),
        body: null,
        durationMs: Date.now() - started,
      };
    }
  }
}

/** Reads at most `max` bytes of the answer and drops the rest (a hostile endpoint cannot fill the ledger). */
async function readBounded(res: Response, max: number, signal: AbortSignal): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // The status line already arrived; a body cut short changes nothing.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, max).toString('utf8');
  return text === '' ? null : text;
}

function describeFailure(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    // undici reports a connection the server dropped as UND_ERR_SOCKET; name it as Node does.
    if (cause && cause.code === 'UND_ERR_SOCKET') return 'ECONNRESET';
    if (cause && typeof cause.code === 'string') return cause.code;
    return err.message.slice(0, 200);
  }
  return 'unknown error';
}
