import { isLosslessNumber } from 'lossless-json';
import { type ApiResult, idNumber, paramError, result } from './envelope.js';
import { maskRegKey } from './ids.js';
import type { SandboxState } from './state.js';
import {
  type ConfirmUrlType,
  type Currency,
  type PayType,
  type StoredPackage,
  type Transaction,
  toMajor,
} from './store.js';

const CURRENCIES: readonly Currency[] = ['TWD', 'THB', 'USD'];
const CONFIRMED: ReadonlySet<Transaction['status']> = new Set([
  'AUTHORIZATION',
  'CAPTURE',
  'VOIDED_AUTHORIZATION',
]);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON number from the lossless parser, as a JS number (only used for amounts, never for ids). */
function jsonNumber(v: unknown): number | undefined {
  if (isLosslessNumber(v)) return Number(v.value);
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Minor units for a valid amount; `undefined` when it has more decimals than the currency allows. */
function toMinor(amount: number, currency: Currency): number | undefined {
  const factor = currency === 'USD' ? 100 : 1;
  const scaled = amount * factor;
  const rounded = Math.round(scaled);
  if (Math.abs(scaled - rounded) > 1e-6) return undefined;
  return rounded;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: ApiResult };
const fail = (error: ApiResult): { ok: false; error: ApiResult } => ({ ok: false, error });

function requiredString(obj: Json, key: string, max: number, label = key): Parsed<string> {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) return fail(paramError(label, 'is required'));
  if (v.length > max) return fail(paramError(label, `must be at most ${max} characters`));
  return { ok: true, value: v };
}

function currencyOf(obj: Json): Parsed<Currency> {
  const v = obj.currency;
  if (typeof v !== 'string' || v.length === 0) return fail(paramError('currency', 'is required'));
  if (!CURRENCIES.includes(v as Currency)) return fail(result('1178'));
  return { ok: true, value: v as Currency };
}

/** amount > 0 (else 1183) with the currency's scale (else 1124), in minor units. */
function chargeAmount(obj: Json, key: string, currency: Currency): Parsed<number> {
  const n = jsonNumber(obj[key]);
  if (n === undefined || !Number.isFinite(n)) return fail(paramError(key, 'must be a number'));
  if (n <= 0) return fail(result('1183'));
  const minor = toMinor(n, currency);
  if (minor === undefined) return fail(result('1124'));
  return { ok: true, value: minor };
}

function scaledNumber(v: unknown, label: string, currency: Currency): Parsed<number> {
  const n = jsonNumber(v);
  if (n === undefined || !Number.isFinite(n)) return fail(paramError(label, 'must be a number'));
  const minor = toMinor(n, currency);
  if (minor === undefined) return fail(result('1124'));
  return { ok: true, value: minor };
}

function optionalBoolean(v: unknown, label: string, fallback: boolean): Parsed<boolean> {
  if (v === undefined) return { ok: true, value: fallback };
  if (typeof v !== 'boolean') return fail(paramError(label, 'must be a boolean'));
  return { ok: true, value: v };
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Appends query params that the URL does not carry yet, keeping its own query string and fragment. */
export function appendQuery(url: string, params: Record<string, string>): string {
  const hashAt = url.indexOf('#');
  const base = hashAt === -1 ? url : url.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : url.slice(hashAt);
  const queryAt = base.indexOf('?');
  const existing = new URLSearchParams(queryAt === -1 ? '' : base.slice(queryAt + 1));
  let out = base;
  for (const [key, value] of Object.entries(params)) {
    if (existing.has(key)) continue;
    const sep = !out.includes('?') ? '?' : out.endsWith('?') || out.endsWith('&') ? '' : '&';
    out += `${sep}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  }
  return out + hash;
}

function payInfo(tx: Transaction, minor: number) {
  return [
    {
      method: 'CREDIT_CARD',
      amount: toMajor(minor, tx.currency),
      creditCardNickname: '',
      creditCardBrand: 'VISA',
      maskedCreditCardNumber: '************1234',
    },
  ];
}

function packagesInfo(tx: Transaction) {
  return tx.packages.map((p) => ({
    id: p.id,
    amount: toMajor(p.amount, tx.currency),
    userFeeAmount: toMajor(p.userFee, tx.currency),
    ...(p.name !== undefined ? { name: p.name } : {}),
  }));
}

function isRegKeyExpired(s: SandboxState, regKey: string): boolean {
  const rec = s.store.regKeys.get(regKey);
  if (!rec) return false;
  return rec.revoked || s.now() - rec.lastPaymentAt > s.config.regKeyIdleLifetimeMs;
}

export function regKeyStatus(s: SandboxState, regKey: string): 'ACTIVE' | 'EXPIRED' | undefined {
  if (!s.store.regKeys.has(regKey)) return undefined;
  return isRegKeyExpired(s, regKey) ? 'EXPIRED' : 'ACTIVE';
}

function isReservationExpired(s: SandboxState, tx: Transaction): boolean {
  if (tx.status === 'RESERVED') return s.now() > tx.createdAt + s.config.reservationTtlMs;
  if (tx.status === 'AUTHENTICATED')
    return s.now() > (tx.authenticatedAt ?? tx.createdAt) + s.behaviour.authenticatedConfirmWindowMs;
  return false;
}

function isAuthorizationExpired(s: SandboxState, tx: Transaction): boolean {
  return (
    tx.status === 'AUTHORIZATION' &&
    tx.authorizationExpiresAt !== undefined &&
    s.now() > tx.authorizationExpiresAt
  );
}

function recordPayment(s: SandboxState, tx: Transaction, minor: number): void {
  s.store.ledger.push({
    kind: 'payment',
    transactionId: tx.transactionId,
    orderId: tx.orderId,
    amount: toMajor(minor, tx.currency),
    currency: tx.currency,
    ...(tx.regKey !== undefined ? { regKey: maskRegKey(tx.regKey) } : {}),
    at: new Date(s.now()).toISOString(),
    payType: tx.payType,
    source: tx.source,
  });
}

/** POST /v3/payments/request */
export function requestPayment(s: SandboxState, body: unknown): ApiResult {
  if (!isObject(body)) return paramError('body', 'must be a JSON object');
  if (body.amount === undefined) return paramError('amount', 'is required');
  const currency = currencyOf(body);
  if (!currency.ok) return currency.error;
  const orderId = requiredString(body, 'orderId', 100);
  if (!orderId.ok) return orderId.error;
  const amount = chargeAmount(body, 'amount', currency.value);
  if (!amount.ok) return amount.error;

  if (!Array.isArray(body.packages) || body.packages.length === 0)
    return paramError('packages', 'must contain at least one package');
  const packages: StoredPackage[] = [];
  let total = 0;
  for (const [i, raw] of body.packages.entries()) {
    const label = `packages[${i}]`;
    if (!isObject(raw)) return paramError(label, 'must be an object');
    const id = requiredString(raw, 'id', 50, `${label}.id`);
    if (!id.ok) return id.error;
    if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name.length > 100))
      return paramError(`${label}.name`, 'must be a string of at most 100 characters');
    const pkgAmount = scaledNumber(raw.amount, `${label}.amount`, currency.value);
    if (!pkgAmount.ok) return pkgAmount.error;
    const userFee =
      raw.userFee === undefined
        ? { ok: true as const, value: 0 }
        : scaledNumber(raw.userFee, `${label}.userFee`, currency.value);
    if (!userFee.ok) return userFee.error;
    if (!Array.isArray(raw.products) || raw.products.length === 0)
      return paramError(`${label}.products`, 'must contain at least one product');
    const products: StoredPackage['products'] = [];
    let productSum = 0;
    for (const [j, rawProduct] of raw.products.entries()) {
      const plabel = `${label}.products[${j}]`;
      if (!isObject(rawProduct)) return paramError(plabel, 'must be an object');
      const name = requiredString(rawProduct, 'name', 4000, `${plabel}.name`);
      if (!name.ok) return name.error;
      const quantity = jsonNumber(rawProduct.quantity);
      if (quantity === undefined || !Number.isInteger(quantity) || quantity <= 0)
        return paramError(`${plabel}.quantity`, 'must be a positive integer');
      const price = scaledNumber(rawProduct.price, `${plabel}.price`, currency.value);
      if (!price.ok) return price.error;
      productSum += quantity * price.value;
      products.push({ name: name.value, quantity, price: toMajor(price.value, currency.value) });
    }
    if (productSum !== pkgAmount.value)
      return result(
        s.behaviour.sumMismatchReturnCode,
        undefined,
        `Parameter error: ${label}.amount(${toMajor(pkgAmount.value, currency.value)}) must equal sum of products[].quantity * products[].price(${toMajor(productSum, currency.value)}).`,
      );
    total += pkgAmount.value + userFee.value;
    packages.push({
      id: id.value,
      amount: pkgAmount.value,
      userFee: userFee.value,
      ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
      products,
    });
  }

  const options = body.options === undefined ? {} : body.options;
  if (!isObject(options)) return paramError('options', 'must be an object');
  const shipping = options.shipping;
  if (shipping !== undefined && isObject(shipping) && shipping.feeAmount !== undefined) {
    const fee = scaledNumber(shipping.feeAmount, 'options.shipping.feeAmount', currency.value);
    if (!fee.ok) return fee.error;
    total += fee.value;
  }
  if (total !== amount.value)
    return result(
      s.behaviour.sumMismatchReturnCode,
      undefined,
      `Parameter error: amount(${toMajor(amount.value, currency.value)}) must equal sum of packages[].amount + packages[].userFee + options.shipping.feeAmount(${toMajor(total, currency.value)}).`,
    );

  const payment = options.payment === undefined ? {} : options.payment;
  if (!isObject(payment)) return paramError('options.payment', 'must be an object');
  const payType = payment.payType ?? 'NORMAL';
  if (payType !== 'NORMAL' && payType !== 'PREAPPROVED')
    return paramError('options.payment.payType', 'must be NORMAL or PREAPPROVED');
  const capture = optionalBoolean(payment.capture, 'options.payment.capture', true);
  if (!capture.ok) return capture.error;
  if (payType === 'PREAPPROVED' && !capture.value && !s.behaviour.preapprovedAuthorization)
    return result('2103');

  if (!isObject(body.redirectUrls)) return paramError('redirectUrls', 'is required');
  const urls = body.redirectUrls;
  const confirmUrlType = urls.confirmUrlType ?? 'CLIENT';
  if (confirmUrlType !== 'CLIENT' && confirmUrlType !== 'SERVER' && confirmUrlType !== 'NONE')
    return paramError('redirectUrls.confirmUrlType', 'must be CLIENT, SERVER or NONE');
  let confirmUrl: string | undefined;
  if (confirmUrlType !== 'NONE' || urls.confirmUrl !== undefined) {
    const c = requiredString(urls, 'confirmUrl', 500, 'redirectUrls.confirmUrl');
    if (!c.ok) return c.error;
    if (!isHttpUrl(c.value)) return paramError('redirectUrls.confirmUrl', 'must be an absolute http(s) URL');
    confirmUrl = c.value;
  }
  const cancelUrl = requiredString(urls, 'cancelUrl', 500, 'redirectUrls.cancelUrl');
  if (!cancelUrl.ok) return cancelUrl.error;
  if (!isHttpUrl(cancelUrl.value))
    return paramError('redirectUrls.cancelUrl', 'must be an absolute http(s) URL');

  if (s.store.usedOrderIds.has(orderId.value)) return result('1172');

  const tx: Transaction = {
    transactionId: s.ids.transactionId(),
    orderId: orderId.value,
    payType: payType as PayType,
    source: 'confirm',
    capture: capture.value,
    currency: currency.value,
    amount: amount.value,
    productName: packages.flatMap((p) => p.products.map((x) => x.name)).join(', '),
    packages,
    status: 'RESERVED',
    createdAt: s.now(),
    redirect: {
      ...(confirmUrl !== undefined ? { confirmUrl } : {}),
      cancelUrl: cancelUrl.value,
      confirmUrlType: confirmUrlType as ConfirmUrlType,
    },
    reserveId: s.ids.reserveId(),
    refunds: [],
  };
  s.store.transactions.set(tx.transactionId, tx);
  s.store.byReserveId.set(tx.reserveId ?? '', tx.transactionId);
  s.store.usedOrderIds.add(tx.orderId);
  s.store.byOrderId.set(tx.orderId, tx.transactionId);
  return result('0000', {
    paymentUrl: {
      web: `${s.config.baseUrl}/web/payment/wait?transactionReserveId=${encodeURIComponent(tx.reserveId ?? '')}`,
      app: `line://pay/payment/${encodeURIComponent(tx.reserveId ?? '')}`,
    },
    transactionId: idNumber(tx.transactionId),
    paymentAccessToken: s.ids.paymentAccessToken(),
  });
}

function confirmInfo(tx: Transaction) {
  return {
    orderId: tx.orderId,
    transactionId: idNumber(tx.transactionId),
    ...(tx.authorizationExpiresAt !== undefined
      ? { authorizationExpireDate: iso(tx.authorizationExpiresAt) }
      : {}),
    ...(tx.payType === 'PREAPPROVED' && tx.regKey !== undefined ? { regKey: tx.regKey } : {}),
    payInfo: payInfo(tx, tx.amount),
    packages: packagesInfo(tx),
  };
}

/** POST /v3/payments/{transactionId}/confirm */
export function confirmPayment(s: SandboxState, transactionId: string, body: unknown): ApiResult {
  const tx = s.store.transactions.get(transactionId);
  if (!tx) return result('1150');
  if (!isObject(body)) return paramError('body', 'must be a JSON object');
  if (tx.source === 'preapproved' || CONFIRMED.has(tx.status))
    return s.behaviour.repeatConfirmReturnsInfo && tx.source === 'confirm'
      ? result('1152', confirmInfo(tx))
      : result('1152');
  const currency = currencyOf(body);
  if (!currency.ok) return currency.error;
  const amount = chargeAmount(body, 'amount', currency.value);
  if (!amount.ok) return amount.error;
  if (tx.status === 'CANCELLED' || isReservationExpired(s, tx)) return result('1180');
  if (tx.status === 'RESERVED') return result('1169');
  if (amount.value !== tx.amount || currency.value !== tx.currency) return result('1153');

  const now = s.now();
  tx.transactionDate = now;
  if (tx.capture) {
    tx.status = 'CAPTURE';
    tx.capturedAmount = tx.amount;
  } else {
    tx.status = 'AUTHORIZATION';
    tx.authorizationExpiresAt = now + s.behaviour.authorizationLifetimeMs;
  }
  if (tx.payType === 'PREAPPROVED') {
    let regKey = s.ids.regKey();
    while (s.store.regKeys.has(regKey)) regKey = s.ids.regKey();
    tx.regKey = regKey;
    s.store.regKeys.set(regKey, { regKey, revoked: false, lastPaymentAt: now, issuedBy: tx.transactionId });
  }
  if (tx.capture) recordPayment(s, tx, tx.amount);
  return result('0000', confirmInfo(tx));
}

/** The body fields of preapprovedPay that faults and the orderId rule need before processing. */
export function preapprovedOrderId(body: unknown): string | undefined {
  if (!isObject(body) || typeof body.orderId !== 'string') return undefined;
  if (body.orderId.length === 0 || body.orderId.length > 100) return undefined;
  return body.orderId;
}

/** POST /v3/payments/preapprovedPay/{regKey}/payment (caller holds the per-regKey lock). */
export function payPreapproved(s: SandboxState, regKey: string, body: unknown): ApiResult {
  if (!isObject(body)) return paramError('body', 'must be a JSON object');
  const productName = requiredString(body, 'productName', 4000);
  if (!productName.ok) return productName.error;
  if (body.amount === undefined) return paramError('amount', 'is required');
  const currency = currencyOf(body);
  if (!currency.ok) return currency.error;
  const orderId = requiredString(body, 'orderId', 100);
  if (!orderId.ok) return orderId.error;
  const amount = chargeAmount(body, 'amount', currency.value);
  if (!amount.ok) return amount.error;
  const capture = optionalBoolean(body.capture, 'capture', true);
  if (!capture.ok) return capture.error;

  const status = regKeyStatus(s, regKey);
  if (status === undefined) return result('1190');
  if (status === 'EXPIRED') return result('1193');
  if (s.store.usedOrderIds.has(orderId.value)) return result('1172');

  const now = s.now();
  const tx: Transaction = {
    transactionId: s.ids.transactionId(),
    orderId: orderId.value,
    payType: 'PREAPPROVED',
    source: 'preapproved',
    capture: capture.value,
    currency: currency.value,
    amount: amount.value,
    productName: productName.value,
    packages: [],
    status: capture.value ? 'CAPTURE' : 'AUTHORIZATION',
    createdAt: now,
    transactionDate: now,
    regKey,
    refunds: [],
  };
  if (capture.value) tx.capturedAmount = amount.value;
  else tx.authorizationExpiresAt = now + s.behaviour.authorizationLifetimeMs;
  s.store.transactions.set(tx.transactionId, tx);
  s.store.usedOrderIds.add(tx.orderId);
  s.store.byOrderId.set(tx.orderId, tx.transactionId);
  const rec = s.store.regKeys.get(regKey);
  if (rec) rec.lastPaymentAt = now;
  if (capture.value) recordPayment(s, tx, tx.amount);
  return result('0000', {
    transactionId: idNumber(tx.transactionId),
    transactionDate: iso(now),
    ...(tx.authorizationExpiresAt !== undefined
      ? { authorizationExpireDate: iso(tx.authorizationExpiresAt) }
      : {}),
    ...(s.behaviour.preapprovedInfoIncludesOrderId ? { orderId: tx.orderId } : {}),
  });
}

/** GET /v3/payments/preapprovedPay/{regKey}/check */
export function checkRegKey(s: SandboxState, regKey: string, query: URLSearchParams): ApiResult {
  const auth = query.get('creditCardAuth');
  if (auth !== null && auth !== 'true' && auth !== 'false')
    return paramError('creditCardAuth', 'must be true or false');
  const status = regKeyStatus(s, regKey);
  if (status === undefined) return result('1190');
  if (status === 'EXPIRED') return result('1193');
  return result('0000');
}

/** POST /v3/payments/preapprovedPay/{regKey}/expire */
export function expireRegKey(s: SandboxState, regKey: string): ApiResult {
  const status = regKeyStatus(s, regKey);
  if (status === undefined) return result('1190');
  if (status === 'EXPIRED') return result('1193');
  const rec = s.store.regKeys.get(regKey);
  if (rec) rec.revoked = true;
  return result('0000');
}

/** GET /v3/payments/requests/{transactionId}/check */
export function checkRequestStatus(s: SandboxState, transactionId: string): ApiResult {
  const tx = s.store.transactions.get(transactionId);
  if (!tx) return result('1150');
  if (tx.status === 'CANCELLED' || isReservationExpired(s, tx)) return result('0121');
  if (tx.status === 'RESERVED') return result('0000');
  if (tx.status === 'AUTHENTICATED') return result('0110');
  return result('0123');
}

function payStatus(s: SandboxState, tx: Transaction): string {
  return isAuthorizationExpired(s, tx) ? 'EXPIRED_AUTHORIZATION' : tx.status;
}

function refundType(tx: Transaction, minor: number): 'PAYMENT_REFUND' | 'PARTIAL_REFUND' {
  return minor === (tx.capturedAmount ?? tx.amount) ? 'PAYMENT_REFUND' : 'PARTIAL_REFUND';
}

function detailsEntry(s: SandboxState, tx: Transaction) {
  const sign = s.behaviour.negativeRefundAmountInDetails ? -1 : 1;
  const paid = tx.capturedAmount ?? tx.amount;
  return {
    transactionId: idNumber(tx.transactionId),
    transactionDate: iso(tx.transactionDate ?? tx.createdAt),
    transactionType: 'PAYMENT',
    payStatus: payStatus(s, tx),
    productName: tx.productName,
    merchantName: s.config.merchantName,
    currency: tx.currency,
    orderId: tx.orderId,
    ...(tx.authorizationExpiresAt !== undefined && !tx.capturedAmount
      ? { authorizationExpireDate: iso(tx.authorizationExpiresAt) }
      : {}),
    payInfo: [{ method: 'CREDIT_CARD', amount: toMajor(paid, tx.currency) }],
    ...(tx.refunds.length > 0
      ? {
          refundList: tx.refunds.map((r) => ({
            refundTransactionId: idNumber(r.refundTransactionId),
            transactionType: r.full ? 'PAYMENT_REFUND' : 'PARTIAL_REFUND',
            refundAmount: sign * toMajor(r.amount, tx.currency),
            refundTransactionDate: iso(r.at),
          })),
        }
      : {}),
    ...(tx.packages.length > 0 ? { packages: packagesInfo(tx) } : {}),
  };
}

function refundEntry(s: SandboxState, tx: Transaction, refundTransactionId: string) {
  const r = tx.refunds.find((x) => x.refundTransactionId === refundTransactionId);
  if (!r) return undefined;
  const sign = s.behaviour.negativeRefundAmountInDetails ? -1 : 1;
  return {
    transactionId: idNumber(r.refundTransactionId),
    transactionDate: iso(r.at),
    transactionType: r.full ? 'PAYMENT_REFUND' : 'PARTIAL_REFUND',
    productName: tx.productName,
    merchantName: s.config.merchantName,
    currency: tx.currency,
    orderId: tx.orderId,
    originalTransactionId: idNumber(tx.transactionId),
    payInfo: [{ method: 'CREDIT_CARD', amount: sign * toMajor(r.amount, tx.currency) }],
  };
}

function listParam(query: URLSearchParams, key: string): string[] {
  return query
    .getAll(key)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** The ids a details query names (for fault matching and logging). */
export function detailsQueryIds(query: URLSearchParams): { transactionIds: string[]; orderIds: string[] } {
  return { transactionIds: listParam(query, 'transactionId'), orderIds: listParam(query, 'orderId') };
}

/** GET /v3/payments?transactionId=…&orderId=… : confirmed payments only. */
export function paymentDetails(s: SandboxState, query: URLSearchParams): ApiResult {
  const { transactionIds, orderIds } = detailsQueryIds(query);
  if (transactionIds.length === 0 && orderIds.length === 0)
    return paramError('transactionId or orderId', 'is required');
  if (transactionIds.length + orderIds.length > 100) return result('1177');
  const seen = new Set<string>();
  const info: unknown[] = [];
  const addPayment = (tx: Transaction | undefined) => {
    if (!tx || !CONFIRMED.has(tx.status) || seen.has(tx.transactionId)) return;
    seen.add(tx.transactionId);
    info.push(detailsEntry(s, tx));
  };
  for (const id of transactionIds) {
    const paymentId = s.store.refunds.get(id);
    if (paymentId !== undefined) {
      const tx = s.store.transactions.get(paymentId);
      const entry = tx && !seen.has(id) ? refundEntry(s, tx, id) : undefined;
      if (entry) {
        seen.add(id);
        info.push(entry);
      }
      continue;
    }
    addPayment(s.store.transactions.get(id));
  }
  for (const orderId of orderIds) {
    const id = s.store.byOrderId.get(orderId);
    addPayment(id === undefined ? undefined : s.store.transactions.get(id));
  }
  if (info.length === 0) return result('1150');
  return result('0000', info);
}

/** POST /v3/payments/{transactionId}/refund */
export function refundPayment(s: SandboxState, transactionId: string, body: unknown): ApiResult {
  const tx = s.store.transactions.get(transactionId);
  if (!tx || !CONFIRMED.has(tx.status)) return result('1150');
  if (!isObject(body)) return paramError('body', 'must be a JSON object');
  if (tx.status === 'VOIDED_AUTHORIZATION') return result('1165');
  if (tx.status !== 'CAPTURE') return result('1179');
  const paid = tx.capturedAmount ?? tx.amount;
  const refundable = paid - tx.refunds.reduce((sum, r) => sum + r.amount, 0);
  if (refundable <= 0) return result('1165');
  let minor = refundable;
  if (body.refundAmount !== undefined) {
    const n = jsonNumber(body.refundAmount);
    if (n === undefined || !Number.isFinite(n) || n <= 0)
      return paramError('refundAmount', 'must be a positive number');
    const m = toMinor(n, tx.currency);
    if (m === undefined) return result('1124');
    if (m > refundable) return result('1164');
    minor = m;
  }
  const now = s.now();
  const refundTransactionId = s.ids.transactionId();
  tx.refunds.push({
    refundTransactionId,
    amount: minor,
    at: now,
    full: refundType(tx, minor) === 'PAYMENT_REFUND',
  });
  s.store.refunds.set(refundTransactionId, tx.transactionId);
  s.store.ledger.push({
    kind: 'refund',
    transactionId: tx.transactionId,
    refundTransactionId,
    orderId: tx.orderId,
    amount: toMajor(minor, tx.currency),
    currency: tx.currency,
    ...(tx.regKey !== undefined ? { regKey: maskRegKey(tx.regKey) } : {}),
    at: new Date(now).toISOString(),
    payType: tx.payType,
    source: tx.source,
  });
  return result('0000', {
    refundTransactionId: idNumber(refundTransactionId),
    refundTransactionDate: iso(now),
  });
}

/** POST /v3/payments/authorizations/{transactionId}/capture */
export function capturePayment(s: SandboxState, transactionId: string, body: unknown): ApiResult {
  const tx = s.store.transactions.get(transactionId);
  if (!tx || !CONFIRMED.has(tx.status)) return result('1150');
  if (!isObject(body)) return paramError('body', 'must be a JSON object');
  const currency = currencyOf(body);
  if (!currency.ok) return currency.error;
  const amount = chargeAmount(body, 'amount', currency.value);
  if (!amount.ok) return amount.error;
  if (tx.status === 'VOIDED_AUTHORIZATION') return result('1165');
  if (tx.status !== 'AUTHORIZATION') return result('1179');
  if (isAuthorizationExpired(s, tx)) return result('1180');
  if (currency.value !== tx.currency) return result('1153');
  if (amount.value > tx.amount) return result('1184');
  tx.status = 'CAPTURE';
  tx.capturedAmount = amount.value;
  recordPayment(s, tx, amount.value);
  return result('0000', {
    orderId: tx.orderId,
    transactionId: idNumber(tx.transactionId),
    payInfo: payInfo(tx, amount.value),
  });
}

/** POST /v3/payments/authorizations/{transactionId}/void */
export function voidPayment(s: SandboxState, transactionId: string): ApiResult {
  const tx = s.store.transactions.get(transactionId);
  if (!tx || !CONFIRMED.has(tx.status)) return result('1150');
  if (tx.status === 'VOIDED_AUTHORIZATION') return result('1165');
  if (tx.status !== 'AUTHORIZATION') return result('1179');
  if (isAuthorizationExpired(s, tx)) return result('1180');
  tx.status = 'VOIDED_AUTHORIZATION';
  return result('0000');
}

/** A user action on the payment page that cannot be done (unknown, expired, already finished). */
export class PaymentPageError extends Error {
  override name = 'PaymentPageError' as const;
}

export function findByReserveId(s: SandboxState, reserveId: string): Transaction | undefined {
  const id = s.store.byReserveId.get(reserveId);
  return id === undefined ? undefined : s.store.transactions.get(id);
}

/** The page's state for a reservation: what the user may still do. */
export function reservationProblem(s: SandboxState, tx: Transaction | undefined): string | undefined {
  if (tx?.source !== 'confirm') return 'This payment request does not exist.';
  if (tx.status === 'CANCELLED') return 'This payment request was cancelled.';
  if (isReservationExpired(s, tx)) return 'This payment request has expired.';
  if (tx.status !== 'RESERVED' && tx.status !== 'AUTHENTICATED')
    return 'This payment has already been completed.';
  return undefined;
}

export interface UserDecision {
  redirectUrl: string;
  confirmUrlType: ConfirmUrlType;
}

/** The user pressed Approve: RESERVED → AUTHENTICATED (idempotent while authenticated). */
export function approveReservation(s: SandboxState, transactionId: string): UserDecision {
  const tx = s.store.transactions.get(transactionId);
  const problem = reservationProblem(s, tx);
  if (problem || !tx || !tx.redirect) throw new PaymentPageError(problem ?? 'Unknown payment request.');
  if (tx.status === 'RESERVED') {
    tx.status = 'AUTHENTICATED';
    tx.authenticatedAt = s.now();
  }
  const { confirmUrl, confirmUrlType } = tx.redirect;
  return {
    redirectUrl:
      confirmUrl === undefined
        ? ''
        : appendQuery(confirmUrl, { transactionId: tx.transactionId, orderId: tx.orderId }),
    confirmUrlType,
  };
}

/** The user pressed Cancel: the reservation ends (check → 0121, confirm → 1180). */
export function cancelReservation(s: SandboxState, transactionId: string): UserDecision {
  const tx = s.store.transactions.get(transactionId);
  const problem = reservationProblem(s, tx);
  if (problem || !tx || !tx.redirect) throw new PaymentPageError(problem ?? 'Unknown payment request.');
  tx.status = 'CANCELLED';
  const { cancelUrl, confirmUrlType } = tx.redirect;
  return {
    redirectUrl: s.behaviour.cancelUrlAppendsParams
      ? appendQuery(cancelUrl, { transactionId: tx.transactionId, orderId: tx.orderId })
      : cancelUrl,
    confirmUrlType,
  };
}
