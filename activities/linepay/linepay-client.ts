import { randomUUID } from 'node:crypto';
import ky, { type Options as KyOptions } from 'ky';
import { isLinePayError, LinePayError, type LinePayErrorCode } from './errors.js';
import { parseLinePayJson } from './json.js';
import { redactRegKey } from './regkey.js';
import { RequestRate, waitFor } from './request-rate.js';
import { classifyReturnCode } from './return-codes.js';
import { sign } from './signature.js';
import type {
  CallOptions,
  CaptureResult,
  ConfirmInfo,
  Currency,
  LinePayApi,
  LinePayLogger,
  PaymentDetail,
  PaymentDetailsQuery,
  PaymentRequestBody,
  PaymentRequestResult,
  PreapprovedChargeResult,
  PreapprovedPayBody,
  PreapprovedPayResult,
  RefundResult,
  RequestStatus,
} from './types.js';

export const SANDBOX_BASE_URL = 'https://sandbox-api-pay.line.me';
export const PRODUCTION_BASE_URL = 'https://api-pay.line.me';

/** Read timeouts (ms) per API: the reference's defaults, at or above LINE Pay's documented minimums. */
export const DEFAULT_TIMEOUTS: Readonly<Record<LinePayApi, number>> = {
  request: 20_000,
  confirm: 40_000,
  preapprovedPay: 40_000,
  checkRegKey: 20_000,
  expireRegKey: 20_000,
  details: 20_000,
  checkStatus: 20_000,
  refund: 20_000,
  capture: 60_000,
  void: 20_000,
};

export interface LinePayClientOptions {
  channelId: string;
  channelSecret: string;
  /** Defaults to the LINE Pay sandbox; pass `LINEPAY_API_URL` from config. */
  baseUrl?: string;
  /** Path prefix; v3 and v4 share the endpoints we use. */
  apiVersion?: 'v3' | 'v4';
  /** Per-API timeouts in ms, covering connect, send and reading the whole body. */
  timeouts?: Partial<Record<LinePayApi, number>>;
  fetch?: typeof fetch;
  /** Receives masked paths and return codes only; never secrets or full regKeys. */
  logger?: LinePayLogger;
  /** Requests per second this client sends at most (`LINEPAY_MAX_REQUESTS_PER_SECOND`); unlimited when absent. */
  maxRequestsPerSecond?: number;
}

/** Transport error codes that mean no request byte reached the server. */
const NOT_SENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_FAIL',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Time kept back before a deadline, for the caller to report what happened. */
export const DEADLINE_MARGIN_MS = 1_000;
/** The least read timeout worth sending a read-only call with. */
const MIN_READ_BUDGET_MS = 1_000;
/**
 * Calls that move money get at least this long (or their whole configured timeout, when shorter):
 * LINE Pay documents 20 s as the least preapprovedPay read timeout, and one cut shorter only makes
 * an unknown outcome more likely.
 */
const MIN_MONEY_BUDGET_MS = 20_000;
const MONEY_APIS: ReadonlySet<LinePayApi> = new Set(['preapprovedPay', 'confirm', 'capture']);

/** 4xx statuses that a proxy may return for a request it might have forwarded. */
const AMBIGUOUS_4XX: ReadonlySet<number> = new Set([408, 409, 425, 429]);

interface Call {
  api: LinePayApi;
  method: 'GET' | 'POST';
  /** Path as sent and signed (regKey URL-encoded). */
  path: string;
  /** Exact JSON body for POST, or query string (no `?`) for GET. */
  payload: string;
  regKey?: string;
  signal?: AbortSignal | undefined;
  deadline?: number | undefined;
}

interface Envelope {
  returnCode: string;
  returnMessage: string;
  info: unknown;
  httpStatus: number;
}

type Json = Record<string, unknown>;

/**
 * Typed LINE Pay Online API v3 client. Never retries by itself: money calls that end without a usable
 * answer throw `unknown_outcome`, to be settled by a lookup by orderId (`payPreapprovedOnce` does that).
 */
export class LinePayClient {
  readonly #channelId: string;
  readonly #channelSecret: string;
  readonly #baseUrl: string;
  readonly #prefix: string;
  readonly #timeouts: Record<LinePayApi, number>;
  readonly #fetch: typeof fetch | undefined;
  readonly #logger: LinePayLogger | undefined;
  readonly #regKeyLocks = new Map<string, Promise<void>>();
  readonly #rate: RequestRate | undefined;

  constructor(options: LinePayClientOptions) {
    if (!options.channelId) throw new TypeError('LinePayClient: channelId is required');
    if (!options.channelSecret) throw new TypeError('LinePayClient: channelSecret is required');
    this.#channelId = options.channelId;
    this.#channelSecret = options.channelSecret;
    this.#baseUrl = (options.baseUrl ?? SANDBOX_BASE_URL).replace(/\/+$/, '');
    this.#prefix = `/${options.apiVersion ?? 'v3'}`;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...definedEntries(options.timeouts ?? {}) };
    this.#fetch = options.fetch;
    this.#logger = options.logger;
    this.#rate =
      options.maxRequestsPerSecond === undefined ? undefined : new RequestRate(options.maxRequestsPerSecond);
  }

  /** Reserves a payment; send the user to `paymentUrl.web`. Use `payType: 'PREAPPROVED'` to get a regKey. */
  async requestPayment(body: PaymentRequestBody, opts: CallOptions = {}): Promise<PaymentRequestResult> {
    const call = this.#post('request', '/payments/request', body, opts);
    const info = asObject(await this.#ok(call), call);
    const paymentUrl = asObject(info.paymentUrl, call);
    return {
      transactionId: requireString(info, 'transactionId', call),
      paymentAccessToken: requireString(info, 'paymentAccessToken', call),
      paymentUrl: {
        web: requireString(paymentUrl, 'web', call),
        app: requireString(paymentUrl, 'app', call),
      },
    };
  }

  /**
   * Completes an authenticated payment; for PREAPPROVED requests the result carries the `regKey`.
   * A timeout cannot be settled by lookup (details never return the regKey): retry the confirm.
   */
  async confirm(
    transactionId: string,
    body: { amount: number; currency: Currency },
    opts: CallOptions = {},
  ): Promise<ConfirmInfo> {
    const call = this.#post(
      'confirm',
      `/payments/${this.#txPath(transactionId, 'confirm')}/confirm`,
      body,
      opts,
    );
    const info = asObject(await this.#ok(call), call);
    requireString(info, 'transactionId', call);
    return { ...info, payInfo: Array.isArray(info.payInfo) ? info.payInfo : [] } as ConfirmInfo;
  }

  /**
   * Charges a regKey once, with no recovery: an `unknown_outcome` or `duplicate_order` error must be
   * settled by looking up `orderId` (see `payPreapprovedOnce`). Calls per regKey are serialized in-process.
   */
  async payPreapproved(
    regKey: string,
    body: PreapprovedPayBody,
    opts: CallOptions = {},
  ): Promise<PreapprovedPayResult> {
    return this.#withRegKeyLock(regKey, () => this.#payPreapproved(regKey, body, opts));
  }

  /**
   * Charges a regKey and settles ambiguous outcomes by looking the orderId up. `not_found` means no
   * payment exists: try again later with the SAME orderId. Declines and config errors are thrown.
   */
  async payPreapprovedOnce(
    regKey: string,
    body: PreapprovedPayBody,
    opts: CallOptions = {},
  ): Promise<PreapprovedChargeResult> {
    return this.#withRegKeyLock(regKey, async () => {
      let reason: 'unknown_outcome' | 'duplicate_order';
      try {
        const paid = await this.#payPreapproved(regKey, body, opts);
        return {
          status: 'charged',
          transactionId: paid.transactionId,
          transactionDate: paid.transactionDate,
          recovered: false,
        };
      } catch (err) {
        if (!isLinePayError(err, 'unknown_outcome', 'duplicate_order')) throw err;
        reason = err.code as 'unknown_outcome' | 'duplicate_order';
        this.#logger?.warn('linepay preapprovedPay ambiguous; looking up orderId', {
          orderId: body.orderId,
          code: err.code,
          returnCode: err.returnCode,
        });
      }
      let found: PaymentDetail | undefined;
      try {
        found = await this.findPaymentByOrderId(body.orderId, opts);
      } catch (err) {
        // The charge itself may have happened: a failed lookup must never read as "not sent".
        if (isLinePayError(err, 'not_sent')) {
          throw new LinePayError(`LINE Pay preapprovedPay outcome unknown; lookup not sent: ${err.message}`, {
            code: 'unknown_outcome',
            api: err.api,
            method: err.method,
            path: err.path,
            cause: err,
          });
        }
        throw err;
      }
      if (found && !paymentMatches(found, body.amount, body.currency)) {
        // The orderId was used for something else (another amount or currency): never this charge.
        return { status: 'mismatch', ...paymentSummary(found) };
      }
      if (found) {
        return {
          status: 'charged',
          transactionId: found.transactionId,
          transactionDate: found.transactionDate,
          recovered: true,
        };
      }
      return { status: 'not_found', reason };
    });
  }

  /** Resolves when the regKey can be charged; throws `regkey_dead` (1190/1193/1141/1154…) otherwise. */
  async checkRegKey(regKey: string, opts: CallOptions & { creditCardAuth?: boolean } = {}): Promise<void> {
    const query = new URLSearchParams({ creditCardAuth: String(opts.creditCardAuth ?? false) }).toString();
    const call = this.#get(
      'checkRegKey',
      `/payments/preapprovedPay/${this.#regKeyPath(regKey)}/check`,
      query,
      opts,
    );
    call.regKey = regKey;
    await this.#ok(call);
  }

  /** Discards a regKey; a key LINE Pay already considers dead counts as success (`alreadyExpired`). */
  async expireRegKey(regKey: string, opts: CallOptions = {}): Promise<{ alreadyExpired: boolean }> {
    const call = this.#post(
      'expireRegKey',
      `/payments/preapprovedPay/${this.#regKeyPath(regKey)}/expire`,
      {},
      opts,
    );
    call.regKey = regKey;
    try {
      await this.#ok(call);
      return { alreadyExpired: false };
    } catch (err) {
      if (isLinePayError(err, 'regkey_dead')) return { alreadyExpired: true };
      throw err;
    }
  }

  /** Lists confirmed or captured transactions by id and/or orderId; "not found" (1150/1159) is `[]`. */
  async getPaymentDetails(query: PaymentDetailsQuery, opts: CallOptions = {}): Promise<PaymentDetail[]> {
    const params = new URLSearchParams();
    for (const id of toList(query.transactionId)) params.append('transactionId', this.#txPath(id, 'details'));
    for (const orderId of toList(query.orderId)) params.append('orderId', orderId);
    if (params.size === 0) {
      throw new LinePayError('LINE Pay details: transactionId or orderId is required', {
        code: 'merchant_config',
        api: 'details',
        method: 'GET',
        path: `${this.#prefix}/payments`,
      });
    }
    if (query.fields) params.append('fields', query.fields);
    const call = this.#get('details', '/payments', params.toString(), opts);
    let info: unknown;
    try {
      info = await this.#ok(call);
    } catch (err) {
      if (isLinePayError(err, 'not_found')) return [];
      throw err;
    }
    if (info === undefined || info === null) return [];
    if (!Array.isArray(info)) throw this.#badAnswer(call, 'info is not an array');
    return info.map((entry) => {
      const detail = asObject(entry, call);
      requireString(detail, 'transactionId', call);
      return detail as PaymentDetail;
    });
  }

  /** The confirmed or captured PAYMENT for an orderId, if LINE Pay has one. */
  async findPaymentByOrderId(orderId: string, opts: CallOptions = {}): Promise<PaymentDetail | undefined> {
    const details = await this.getPaymentDetails({ orderId }, opts);
    return details.find(
      (d) =>
        (d.transactionType === undefined || d.transactionType === 'PAYMENT') &&
        d.payStatus !== 'VOIDED_AUTHORIZATION' &&
        d.payStatus !== 'EXPIRED_AUTHORIZATION',
    );
  }

  /** Where a reserved payment stands; poll this (≥1 s apart) when `confirmUrlType` is `NONE`. */
  async checkRequestStatus(transactionId: string, opts: CallOptions = {}): Promise<RequestStatus> {
    const call = this.#get(
      'checkStatus',
      `/payments/requests/${this.#txPath(transactionId, 'checkStatus')}/check`,
      '',
      opts,
    );
    const envelope = await this.#send(call);
    const status = REQUEST_STATUS[envelope.returnCode];
    if (status) return status;
    throw this.#classified(call, envelope);
  }

  /** Refunds a captured payment, fully when `refundAmount` is omitted. */
  async refund(
    transactionId: string,
    body: { refundAmount?: number } = {},
    opts: CallOptions = {},
  ): Promise<RefundResult> {
    const call = this.#post(
      'refund',
      `/payments/${this.#txPath(transactionId, 'refund')}/refund`,
      body,
      opts,
    );
    const info = asObject(await this.#ok(call), call);
    return {
      refundTransactionId: requireString(info, 'refundTransactionId', call),
      refundTransactionDate: requireString(info, 'refundTransactionDate', call),
    };
  }

  /** Captures an authorization (capture=false); a smaller amount captures partially and cancels the rest. */
  async capture(
    transactionId: string,
    body: { amount: number; currency: Currency },
    opts: CallOptions = {},
  ): Promise<CaptureResult> {
    const path = `/payments/authorizations/${this.#txPath(transactionId, 'capture')}/capture`;
    const call = this.#post('capture', path, body, opts);
    const info = asObject(await this.#ok(call), call);
    return {
      ...info,
      orderId: requireString(info, 'orderId', call),
      transactionId: requireString(info, 'transactionId', call),
      payInfo: Array.isArray(info.payInfo) ? info.payInfo : [],
    };
  }

  /** Voids an uncaptured authorization. */
  async void(transactionId: string, opts: CallOptions = {}): Promise<void> {
    const path = `/payments/authorizations/${this.#txPath(transactionId, 'void')}/void`;
    await this.#ok(this.#post('void', path, {}, opts));
  }

  async #payPreapproved(
    regKey: string,
    body: PreapprovedPayBody,
    opts: CallOptions,
  ): Promise<PreapprovedPayResult> {
    const path = `/payments/preapprovedPay/${this.#regKeyPath(regKey)}/payment`;
    const call = this.#post('preapprovedPay', path, body, opts);
    call.regKey = regKey;
    const info = asObject(await this.#ok(call), call);
    const result: PreapprovedPayResult = {
      transactionId: requireString(info, 'transactionId', call),
      transactionDate: requireString(info, 'transactionDate', call),
    };
    if (typeof info.orderId === 'string') result.orderId = info.orderId;
    if (typeof info.authorizationExpireDate === 'string')
      result.authorizationExpireDate = info.authorizationExpireDate;
    return result;
  }

  async #withRegKeyLock<T>(regKey: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#regKeyLocks.get(regKey) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const mine = previous.then(() => gate);
    this.#regKeyLocks.set(regKey, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#regKeyLocks.get(regKey) === mine) this.#regKeyLocks.delete(regKey);
    }
  }

  /** Holds the call until the request rate allows it; one that would wait past its deadline is not sent. */
  async #awaitRate(call: Call, needed: number): Promise<void> {
    const rate = this.#rate!;
    const latest =
      call.deadline === undefined ? Number.POSITIVE_INFINITY : call.deadline - DEADLINE_MARGIN_MS - needed;
    const wait = rate.reserve(latest);
    if (wait === undefined) {
      throw this.#error(
        call,
        'not_sent',
        `not sent: over the request rate (${rate.perSecond}/s) until past the deadline`,
        {},
      );
    }
    try {
      await waitFor(wait, call.signal);
    } catch {
      throw this.#error(call, 'not_sent', 'aborted by the caller while waiting for the request rate', {});
    }
  }

  #post(api: LinePayApi, path: string, body: object, opts: CallOptions): Call {
    return {
      api,
      method: 'POST',
      path: this.#prefix + path,
      payload: JSON.stringify(body),
      signal: opts.signal,
      deadline: opts.deadline,
    };
  }

  #get(api: LinePayApi, path: string, query: string, opts: CallOptions): Call {
    return {
      api,
      method: 'GET',
      path: this.#prefix + path,
      payload: query,
      signal: opts.signal,
      deadline: opts.deadline,
    };
  }

  #regKeyPath(regKey: string): string {
    if (typeof regKey !== 'string' || regKey.length === 0)
      throw new TypeError('LinePayClient: regKey is required');
    return encodeURIComponent(regKey);
  }

  #txPath(transactionId: string, api: LinePayApi): string {
    if (typeof transactionId !== 'string' || !/^\d{1,32}$/.test(transactionId)) {
      throw new LinePayError(
        `LINE Pay ${api} merchant_config: transactionId must be a decimal digit string`,
        {
          code: 'merchant_config',
          api,
          method: api === 'details' || api === 'checkStatus' ? 'GET' : 'POST',
          path: `${this.#prefix}/payments`,
        },
      );
    }
    return transactionId;
  }

  /** Sends the call and returns `info` when the return code is 0000; throws a classified error otherwise. */
  async #ok(call: Call): Promise<unknown> {
    const envelope = await this.#send(call);
    if (envelope.returnCode === '0000') return envelope.info;
    throw this.#classified(call, envelope);
  }

  /** Signs and sends once; throws only transport-level `not_sent` / `unknown_outcome` errors. */
  async #send(call: Call): Promise<Envelope> {
    const masked = this.#maskedPath(call);
    if (call.signal?.aborted) {
      throw this.#error(call, 'not_sent', 'aborted by the caller before sending', {});
    }
    let timeoutMs = this.#timeouts[call.api];
    const needed = MONEY_APIS.has(call.api) ? Math.min(timeoutMs, MIN_MONEY_BUDGET_MS) : MIN_READ_BUDGET_MS;
    if (this.#rate) await this.#awaitRate(call, needed);
    const nonce = randomUUID();
    const signature = sign(this.#channelSecret, call.path, call.payload, nonce);
    const url = this.#baseUrl + call.path + (call.method === 'GET' && call.payload ? `?${call.payload}` : '');
    if (call.deadline !== undefined) {
      const left = call.deadline - Date.now() - DEADLINE_MARGIN_MS;
      if (left < needed) {
        throw this.#error(
          call,
          'not_sent',
          `not sent: ${Math.max(0, Math.floor(left))} ms left before the deadline, ${needed} ms needed`,
          {},
        );
      }
      timeoutMs = Math.min(timeoutMs, Math.floor(left));
    }
    const timeoutSignal = AbortSignal.timeout(timeoutMs);
    const options: KyOptions = {
      method: call.method,
      headers: {
        'Content-Type': 'application/json',
        'X-LINE-ChannelId': this.#channelId,
        'X-LINE-Authorization-Nonce': nonce,
        'X-LINE-Authorization': signature,
      },
      retry: 0,
      timeout: false,
      throwHttpErrors: false,
      signal: call.signal ? AbortSignal.any([timeoutSignal, call.signal]) : timeoutSignal,
    };
    if (call.method === 'POST') options.body = call.payload;
    if (this.#fetch) options.fetch = this.#fetch;

    const started = Date.now();
    let httpStatus: number;
    let text: string;
    try {
      const response = await ky(url, options);
      httpStatus = response.status;
      text = await response.text();
    } catch (err) {
      const ms = Date.now() - started;
      if (timeoutSignal.aborted) {
        throw this.#error(call, 'unknown_outcome', `no answer within ${timeoutMs} ms`, { cause: err });
      }
      if (call.signal?.aborted) {
        throw this.#error(call, 'unknown_outcome', 'aborted by the caller while in flight', { cause: err });
      }
      const code = transportCode(err);
      const category: LinePayErrorCode =
        code && NOT_SENT_ERROR_CODES.has(code) ? 'not_sent' : 'unknown_outcome';
      this.#logger?.debug('linepay transport error', { api: call.api, path: masked, code, ms });
      throw this.#error(call, category, `transport error${code ? ` ${code}` : ''}`, { cause: err });
    }
    this.#logger?.debug('linepay response', {
      api: call.api,
      method: call.method,
      path: masked,
      httpStatus,
      ms: Date.now() - started,
    });

    if (httpStatus >= 500) {
      throw this.#error(call, 'unknown_outcome', `HTTP ${httpStatus}`, { httpStatus });
    }
    let parsed: unknown;
    try {
      parsed = parseLinePayJson(text);
    } catch {
      parsed = undefined;
    }
    const returnCode =
      parsed && typeof parsed === 'object' ? normalizeReturnCode((parsed as Json).returnCode) : undefined;
    if (returnCode === undefined) {
      const category: LinePayErrorCode =
        httpStatus >= 400 && !AMBIGUOUS_4XX.has(httpStatus) ? 'merchant_config' : 'unknown_outcome';
      throw this.#error(call, category, `HTTP ${httpStatus} without a LINE Pay envelope`, { httpStatus });
    }
    const envelope: Envelope = {
      returnCode,
      returnMessage: String((parsed as Json).returnMessage ?? ''),
      info: (parsed as Json).info,
      httpStatus,
    };
    if (
      httpStatus >= 300 &&
      (returnCode === '0000' || classifyReturnCode(returnCode, call.api).category === 'ok')
    ) {
      throw this.#error(call, 'unknown_outcome', `HTTP ${httpStatus} with return code ${returnCode}`, {
        httpStatus,
      });
    }
    return envelope;
  }

  #classified(call: Call, envelope: Envelope): LinePayError {
    const { category, meaning, known } = classifyReturnCode(envelope.returnCode, call.api);
    // A success code where this API expects another (e.g. 0110 outside check-status) is not an answer we can use.
    const code: LinePayErrorCode = category === 'ok' ? 'unknown_outcome' : category;
    const returnMessage = redactRegKey(envelope.returnMessage, call.regKey);
    if (!known) {
      this.#logger?.warn('linepay unknown return code', {
        api: call.api,
        returnCode: envelope.returnCode,
        returnMessage,
      });
    }
    return this.#error(call, code, `${envelope.returnCode} ${meaning} (${returnMessage})`, {
      returnCode: envelope.returnCode,
      returnMessage,
      httpStatus: envelope.httpStatus,
    });
  }

  #error(
    call: Call,
    code: LinePayErrorCode,
    detail: string,
    extra: { cause?: unknown; returnCode?: string; returnMessage?: string; httpStatus?: number },
  ): LinePayError {
    const path = this.#maskedPath(call);
    const init: ConstructorParameters<typeof LinePayError>[1] = {
      code,
      api: call.api,
      method: call.method,
      path,
    };
    if (extra.returnCode !== undefined) init.returnCode = extra.returnCode;
    if (extra.returnMessage !== undefined) init.returnMessage = extra.returnMessage;
    if (extra.httpStatus !== undefined) init.httpStatus = extra.httpStatus;
    if (extra.cause !== undefined) init.cause = sanitizeCause(extra.cause, call.regKey, this.#channelSecret);
    const error = new LinePayError(`LINE Pay ${call.api} ${code}: ${detail} [${call.method} ${path}]`, init);
    // Expected answers (declines, not found, duplicates) are routine; only surprises are warnings.
    const level =
      code === 'unknown_outcome' || code === 'not_sent' || code === 'merchant_config' ? 'warn' : 'debug';
    this.#logger?.[level]('linepay call failed', {
      api: call.api,
      path,
      code,
      returnCode: extra.returnCode,
      httpStatus: extra.httpStatus,
    });
    return error;
  }

  #maskedPath(call: Call): string {
    return redactRegKey(call.path, call.regKey);
  }

  #badAnswer(call: Call, detail: string): LinePayError {
    return this.#error(call, 'unknown_outcome', `unusable answer: ${detail}`, {});
  }
}

/** Sum of `payInfo` amounts (several methods may share a payment), if LINE Pay listed any. */
export function paidAmount(detail: PaymentDetail): number | undefined {
  const parts = Array.isArray(detail.payInfo) ? detail.payInfo : [];
  if (parts.length === 0 || !parts.every((p) => typeof p?.amount === 'number')) return undefined;
  return parts.reduce((sum, p) => sum + p.amount, 0);
}

/**
 * Whether a payment found by orderId is the one we asked for: same amount and currency. One whose
 * amount or currency Details does not state does not count either.
 */
export function paymentMatches(detail: PaymentDetail, amount: number, currency: Currency): boolean {
  return detail.currency === currency && paidAmount(detail) === amount;
}

function paymentSummary(detail: PaymentDetail): {
  transactionId: string;
  amount?: number;
  currency?: string;
} {
  const out: { transactionId: string; amount?: number; currency?: string } = {
    transactionId: detail.transactionId,
  };
  const amount = paidAmount(detail);
  if (amount !== undefined) out.amount = amount;
  if (typeof detail.currency === 'string') out.currency = detail.currency;
  return out;
}

const REQUEST_STATUS: Readonly<Record<string, RequestStatus>> = {
  '0000': 'waiting',
  '0110': 'authenticated',
  '0121': 'canceled_or_expired',
  '0122': 'failed',
  '0123': 'completed',
};

function normalizeReturnCode(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value).padStart(4, '0');
  return undefined;
}

function asObject(value: unknown, call: Call): Json {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  throw new LinePayError(`LINE Pay ${call.api} unknown_outcome: unusable answer: info is not an object`, {
    code: 'unknown_outcome',
    api: call.api,
    method: call.method,
    path: redactRegKey(call.path, call.regKey),
  });
}

function requireString(obj: Json, key: string, call: Call): string {
  const value = obj[key];
  if (typeof value === 'string') return value;
  throw new LinePayError(`LINE Pay ${call.api} unknown_outcome: unusable answer: ${key} missing`, {
    code: 'unknown_outcome',
    api: call.api,
    method: call.method,
    path: redactRegKey(call.path, call.regKey),
  });
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function definedEntries<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The first system error code (`ECONNREFUSED`, `UND_ERR_SOCKET`…) in an error's cause chain. */
function transportCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = transportCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return transportCode(e.cause, depth + 1);
}

/** A copy of a transport error with regKey and secret removed (undici/ky messages may carry the URL). */
function sanitizeCause(err: unknown, regKey: string | undefined, secret: string, depth = 0): Error {
  const clean = (text: string) => redactRegKey(text, regKey).split(secret).join('[secret]');
  if (!(err instanceof Error)) return new Error(clean(String(err)));
  const copy = new Error(
    clean(err.message),
    err.cause !== undefined && depth < 3
      ? { cause: sanitizeCause(err.cause, regKey, secret, depth + 1) }
      : undefined,
  );
  copy.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}
