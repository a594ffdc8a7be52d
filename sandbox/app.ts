import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { createSandboxControl, notifyMerchantServer, type SandboxControl } from './control.js';
import { type ApiResult, result, serialize } from './envelope.js';
import {
  DEFAULT_DECLINE_CODE,
  DEFAULT_ERROR_AFTER_COMMIT_CODE,
  DEFAULT_UNKNOWN_RETURN_CODE,
  type FaultApi,
  type FaultContext,
  type FaultDecision,
  isDeclineCode,
  parseFaultRule,
} from './faults.js';
import { maskRegKey } from './ids.js';
import { renderDonePage, renderErrorPage, renderPaymentPage } from './payment-page.js';
import {
  approveReservation,
  cancelReservation,
  capturePayment,
  checkRegKey,
  checkRequestStatus,
  confirmPayment,
  detailsQueryIds,
  expireRegKey,
  findByReserveId,
  PaymentPageError,
  paymentDetails,
  payPreapproved,
  preapprovedOrderId,
  refundPayment,
  requestPayment,
  reservationProblem,
  voidPayment,
} from './payments.js';
import { verifySignature } from './signature.js';
import { createSandboxState, type SandboxState, type SandboxStateOptions } from './state.js';
import type { RequestLogEntry } from './store.js';

/** A plain `node:http` request listener; the server (and its sockets) stay with the caller. */
export type SandboxRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Builds the sandbox's request handler over `state` (or a new state from options such as `now`);
 * listening happens in `server.ts`/`index.ts`.
 */
export function createSandboxApp(
  stateOrOptions: SandboxState | SandboxStateOptions = {},
): SandboxRequestHandler {
  const state = 'store' in stateOrOptions ? stateOrOptions : createSandboxState(stateOrOptions);
  const control = createSandboxControl(state);
  return (req, res) => {
    handle(state, control, req, res).catch((err: unknown) => {
      console.error('[sandbox] handler error:', err instanceof Error ? err.message : err);
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'internal sandbox error' });
    });
  };
}

type Api = Exclude<FaultApi, '*'>;

interface ApiRoute {
  api: Api;
  /** The path param (transactionId or regKey), raw digits/characters as sent. */
  param?: string;
}

const API_ROUTES: { method: 'GET' | 'POST'; pattern: RegExp; api: Api }[] = [
  { method: 'POST', pattern: /^\/payments\/request$/, api: 'request' },
  { method: 'POST', pattern: /^\/payments\/preapprovedPay\/([^/]+)\/payment$/, api: 'preapprovedPay' },
  { method: 'POST', pattern: /^\/payments\/preapprovedPay\/([^/]+)\/expire$/, api: 'expireRegKey' },
  { method: 'POST', pattern: /^\/payments\/authorizations\/([^/]+)\/capture$/, api: 'capture' },
  { method: 'POST', pattern: /^\/payments\/authorizations\/([^/]+)\/void$/, api: 'void' },
  { method: 'POST', pattern: /^\/payments\/([^/]+)\/confirm$/, api: 'confirm' },
  { method: 'POST', pattern: /^\/payments\/([^/]+)\/refund$/, api: 'refund' },
  { method: 'GET', pattern: /^\/payments$/, api: 'details' },
  { method: 'GET', pattern: /^\/payments\/preapprovedPay\/([^/]+)\/check$/, api: 'checkRegKey' },
  { method: 'GET', pattern: /^\/payments\/requests\/([^/]+)\/check$/, api: 'checkStatus' },
];

/** Matches a path with the version prefix stripped, e.g. `/payments/123/confirm`. */
function matchApiRoute(method: string, path: string): ApiRoute | undefined {
  for (const route of API_ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    return m[1] === undefined ? { api: route.api } : { api: route.api, param: safeDecode(m[1]) };
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendEnvelope(res: ServerResponse, body: ApiResult, status = 200): void {
  const text = serialize(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** An HTTP error without a LINE Pay envelope, as a proxy or load balancer would send. */
function sendPlain(res: ServerResponse, status: number): void {
  const text = status >= 500 ? 'Service Unavailable' : 'Error';
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'content-length': 0 });
  res.end();
}

async function handle(
  state: SandboxState,
  control: SandboxControl,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  const method = req.method ?? 'GET';
  const body = await readBody(req);
  // One reading per request (an async clock may be a round trip to a time-skipping test server).
  await state.readClock();
  if (body === undefined) {
    sendJson(res, 413, { error: 'body too large' });
    return;
  }

  if (path === '/__sandbox' || path.startsWith('/__sandbox/')) {
    handleControl(control, method, path.slice('/__sandbox'.length), body, res);
    return;
  }
  if (path.startsWith('/web/payment/')) {
    handlePaymentPage(state, method, path, rawQuery, body, res);
    return;
  }
  const version = /^\/(v3|v4)(\/.*)$/.exec(path);
  const route =
    version && (version[1] === 'v3' || state.behaviour.acceptV4Prefix) && version[2] !== undefined
      ? matchApiRoute(method, version[2])
      : undefined;
  if (!route) {
    log(state, { method, path, returnCode: null, httpStatus: 404 });
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  await handleApi(state, route, { method, path, rawQuery, body }, req, res);
}

interface RawRequest {
  method: string;
  path: string;
  rawQuery: string;
  body: Buffer;
}

function log(
  state: SandboxState,
  entry: {
    method: string;
    path: string;
    orderId?: string | undefined;
    returnCode: string | null;
    httpStatus: number;
    committed?: string | undefined;
    fault?: string | undefined;
  },
): RequestLogEntry {
  const logged: RequestLogEntry = {
    method: entry.method,
    path: entry.path,
    ...(entry.orderId !== undefined ? { orderId: entry.orderId } : {}),
    returnCode: entry.returnCode,
    httpStatus: entry.httpStatus,
    ...(entry.committed !== undefined ? { committed: entry.committed } : {}),
    ...(entry.fault !== undefined ? { fault: entry.fault } : {}),
    at: new Date(state.now()).toISOString(),
  };
  state.store.requests.push(logged);
  return logged;
}

function authenticate(state: SandboxState, req: IncomingMessage, raw: RawRequest): boolean {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const channelId = header('x-line-channelid');
  const nonce = header('x-line-authorization-nonce');
  const signature = header('x-line-authorization');
  if (channelId !== state.config.channelId || !nonce || !signature) return false;
  const payload = raw.method === 'GET' ? Buffer.from(raw.rawQuery, 'utf8') : raw.body;
  if (!verifySignature(state.config.channelSecret, raw.path, payload, nonce, signature)) return false;
  if (state.store.seenNonces.has(nonce)) return false;
  state.store.seenNonces.add(nonce);
  return true;
}

function sleep(state: SandboxState, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      state.held.timers.delete(timer);
      resolve();
    }, ms);
    state.held.timers.add(timer);
  });
}

function numberField(body: unknown, key: string): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[key];
  return isLosslessNumber(v) ? Number(v.value) : undefined;
}

function stringField(body: unknown, key: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** What faults match on and what the request log shows, per API. */
function contextFor(
  state: SandboxState,
  route: ApiRoute,
  body: unknown,
  query: URLSearchParams,
): FaultContext {
  const ctx: FaultContext = { orderIds: [], transactionIds: [] };
  const orderId = stringField(body, 'orderId');
  switch (route.api) {
    case 'request':
    case 'preapprovedPay': {
      if (orderId !== undefined) ctx.orderIds.push(orderId);
      const amount = numberField(body, 'amount');
      if (amount !== undefined) ctx.amount = amount;
      if (route.api === 'preapprovedPay' && route.param !== undefined) ctx.regKey = route.param;
      break;
    }
    case 'checkRegKey':
    case 'expireRegKey':
      if (route.param !== undefined) ctx.regKey = route.param;
      break;
    case 'details': {
      const ids = detailsQueryIds(query);
      ctx.orderIds.push(...ids.orderIds);
      ctx.transactionIds.push(...ids.transactionIds);
      break;
    }
    default: {
      const id = route.param ?? '';
      ctx.transactionIds.push(id);
      const tx = state.store.transactions.get(id);
      if (tx) {
        ctx.orderIds.push(tx.orderId);
        if (tx.regKey !== undefined) ctx.regKey = tx.regKey;
      }
      const amount = numberField(body, route.api === 'refund' ? 'refundAmount' : 'amount');
      if (amount !== undefined) ctx.amount = amount;
    }
  }
  return ctx;
}

function execute(state: SandboxState, route: ApiRoute, body: unknown, query: URLSearchParams): ApiResult {
  const param = route.param ?? '';
  switch (route.api) {
    case 'request':
      return requestPayment(state, body);
    case 'confirm':
      return confirmPayment(state, param, body);
    case 'preapprovedPay':
      return payPreapproved(state, param, body);
    case 'checkRegKey':
      return checkRegKey(state, param, query);
    case 'expireRegKey':
      return expireRegKey(state, param);
    case 'details':
      return paymentDetails(state, query);
    case 'checkStatus':
      return checkRequestStatus(state, param);
    case 'refund':
      return refundPayment(state, param, body);
    case 'capture':
      return capturePayment(state, param, body);
    case 'void':
      return voidPayment(state, param);
  }
}

async function handleApi(
  state: SandboxState,
  route: ApiRoute,
  raw: RawRequest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const isRegKeyRoute =
    route.api === 'preapprovedPay' || route.api === 'checkRegKey' || route.api === 'expireRegKey';
  const logPath =
    isRegKeyRoute && route.param !== undefined
      ? raw.path.replace(/(\/preapprovedPay\/)[^/]+/, `$1${maskRegKey(route.param)}`)
      : raw.path;
  const entry = { method: raw.method, path: logPath };

  if (!authenticate(state, req, raw)) {
    const code = state.behaviour.badSignatureReturnCode;
    log(state, { ...entry, returnCode: code, httpStatus: 200 });
    sendEnvelope(res, result(code, undefined, code === '1106' ? 'Header information error.' : undefined));
    return;
  }

  let body: unknown;
  if (raw.method === 'POST' && raw.body.length > 0) {
    try {
      body = parseLossless(raw.body.toString('utf8'));
    } catch {
      log(state, { ...entry, returnCode: '2102', httpStatus: 200 });
      sendEnvelope(res, result('2102'));
      return;
    }
  } else if (raw.method === 'POST' && (route.api === 'void' || route.api === 'expireRegKey')) {
    body = {};
  }
  const query = new URLSearchParams(raw.rawQuery);
  const ctx = contextFor(state, route, body, query);
  const orderId = ctx.orderIds[0];

  // LINE Pay refuses a second payment on a regKey while one is in flight (1197).
  let lockedRegKey: string | undefined;
  if (route.api === 'preapprovedPay' && route.param !== undefined) {
    if (state.store.busyRegKeys.has(route.param)) {
      log(state, { ...entry, orderId, returnCode: '1197', httpStatus: 200 });
      sendEnvelope(res, result('1197'));
      return;
    }
    lockedRegKey = route.param;
    state.store.busyRegKeys.add(lockedRegKey);
  }

  const useUpOrderId = () => {
    const id = route.api === 'preapprovedPay' ? preapprovedOrderId(body) : undefined;
    if (id !== undefined) state.store.usedOrderIds.add(id);
  };
  let decision: FaultDecision;
  let outcome: ApiResult;
  try {
    decision = state.faults.decide(route.api, ctx);
    await sleep(state, decision.latencyMs);
    const action = decision.action;
    const fault = decision.applied.length > 0 ? decision.applied.join(',') : undefined;
    // Faults that answer before anything is applied.
    switch (action?.kind) {
      case 'http_error': {
        log(state, { ...entry, orderId, returnCode: null, httpStatus: action.status, fault });
        sendPlain(res, action.status);
        return;
      }
      case 'return_code': {
        const consumes =
          action.consumesOrderId ??
          (state.behaviour.declinedAttemptConsumesOrderId && isDeclineCode(action.code));
        if (consumes) useUpOrderId();
        log(state, { ...entry, orderId, returnCode: action.code, httpStatus: 200, fault });
        sendEnvelope(res, result(action.code, undefined, action.message));
        return;
      }
      case 'decline_then_drop': {
        const code = action.code ?? DEFAULT_DECLINE_CODE;
        useUpOrderId();
        log(state, { ...entry, orderId, returnCode: code, httpStatus: 0, committed: code, fault });
        req.socket.destroy();
        return;
      }
      case 'unknown_return_code': {
        if (action.afterCommit) break;
        const code = action.code ?? DEFAULT_UNKNOWN_RETURN_CODE;
        if (action.consumesOrderId) useUpOrderId();
        log(state, { ...entry, orderId, returnCode: code, httpStatus: 200, fault });
        sendEnvelope(res, result(code, undefined, 'Unknown error.'));
        return;
      }
      case 'delayed_answer':
        // LINE Pay does not notice that the client gave up: the call is applied after the wait anyway.
        if (action.commit === 'after_delay') await sleep(state, action.ms);
        break;
      default:
        break;
    }
    // The clock was read when the request arrived; read it again only if time has passed since.
    const waited =
      decision.latencyMs > 0 || (action?.kind === 'delayed_answer' && action.commit === 'after_delay');
    outcome = execute(pinClock(state, waited ? await state.readClock() : state.now()), route, body, query);
  } finally {
    if (lockedRegKey !== undefined) state.store.busyRegKeys.delete(lockedRegKey);
  }

  const action = decision.action;
  const fault = decision.applied.length > 0 ? decision.applied.join(',') : undefined;
  const committed = { ...entry, orderId, committed: outcome.returnCode, fault };
  switch (action?.kind) {
    case 'drop_after_commit':
      log(state, { ...committed, returnCode: outcome.returnCode, httpStatus: 0 });
      req.socket.destroy();
      return;
    case 'hang_after_commit': {
      const logged = log(state, {
        ...committed,
        returnCode: outcome.returnCode,
        httpStatus: action.ms === undefined ? 0 : 200,
      });
      await answerLate(state, req, res, outcome, action.ms, logged);
      return;
    }
    case 'error_after_commit': {
      const code = action.code ?? (action.status === undefined ? DEFAULT_ERROR_AFTER_COMMIT_CODE : undefined);
      const status = action.status ?? 200;
      log(state, { ...committed, returnCode: code ?? null, httpStatus: status });
      if (code === undefined) sendPlain(res, status);
      else sendEnvelope(res, result(code), status);
      return;
    }
    case 'unknown_return_code': {
      const code = action.code ?? DEFAULT_UNKNOWN_RETURN_CODE;
      log(state, { ...committed, returnCode: code, httpStatus: 200 });
      sendEnvelope(res, result(code, undefined, 'Unknown error.'));
      return;
    }
    case 'delayed_answer': {
      const logged = log(state, { ...committed, returnCode: outcome.returnCode, httpStatus: 200 });
      await answerLate(state, req, res, outcome, action.commit === 'before_delay' ? action.ms : 0, logged);
      return;
    }
    default:
      log(state, { ...entry, orderId, returnCode: outcome.returnCode, httpStatus: 200, fault });
      sendEnvelope(res, outcome);
  }
}

/** The handlers' view of `state` with the clock fixed at one reading, for one API call. */
function pinClock(state: SandboxState, at: number): SandboxState {
  return { ...state, now: () => at };
}

/**
 * Holds the connection open and answers after `ms` (never when `ms` is undefined); the log entry's
 * httpStatus becomes 0 when the client has gone by then.
 */
async function answerLate(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  outcome: ApiResult,
  ms: number | undefined,
  logged: RequestLogEntry,
): Promise<void> {
  const socket = req.socket;
  state.held.sockets.add(socket);
  socket.once('close', () => state.held.sockets.delete(socket));
  if (ms === undefined) return;
  await sleep(state, ms);
  state.held.sockets.delete(socket);
  if (socket.destroyed || res.destroyed) {
    logged.httpStatus = 0;
    return;
  }
  sendEnvelope(res, outcome);
}

function handlePaymentPage(
  state: SandboxState,
  method: string,
  path: string,
  rawQuery: string,
  body: Buffer,
  res: ServerResponse,
): void {
  if (method === 'GET' && path === '/web/payment/wait') {
    const reserveId = new URLSearchParams(rawQuery).get('transactionReserveId') ?? '';
    const tx = findByReserveId(state, reserveId);
    const problem = reservationProblem(state, tx);
    if (problem || !tx) {
      sendHtml(res, tx ? 410 : 404, renderErrorPage(problem ?? 'This payment request does not exist.'));
      return;
    }
    sendHtml(res, 200, renderPaymentPage(state, tx, reserveId));
    return;
  }
  if (method === 'POST' && (path === '/web/payment/approve' || path === '/web/payment/cancel')) {
    const form = new URLSearchParams(body.toString('utf8'));
    const reserveId = form.get('transactionReserveId') ?? '';
    // `app=1`: approved in the LINE app, whose browser never goes back to the merchant's confirmUrl.
    const inApp = form.get('app') === '1';
    const tx = findByReserveId(state, reserveId);
    if (!tx) {
      sendHtml(res, 404, renderErrorPage('This payment request does not exist.'));
      return;
    }
    try {
      if (path === '/web/payment/cancel') {
        redirect(res, cancelReservation(state, tx.transactionId).redirectUrl);
        return;
      }
      const decision = approveReservation(state, tx.transactionId);
      if (decision.confirmUrlType === 'CLIENT' && !inApp) {
        redirect(res, decision.redirectUrl);
        return;
      }
      notifyMerchantServer(decision);
      sendHtml(res, 200, renderDonePage('Payment approved. You can return to the merchant.'));
    } catch (err) {
      if (!(err instanceof PaymentPageError)) throw err;
      sendHtml(res, 410, renderErrorPage(err.message));
    }
    return;
  }
  sendHtml(res, 404, renderErrorPage('Not found.'));
}

function handleControl(
  control: SandboxControl,
  method: string,
  path: string,
  body: Buffer,
  res: ServerResponse,
): void {
  let json: unknown;
  try {
    json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
  } catch {
    sendJson(res, 400, { error: 'invalid JSON' });
    return;
  }
  try {
    const answer = controlRoute(control, method, path, json);
    if (answer === undefined) sendJson(res, 404, { error: 'unknown control route' });
    else sendJson(res, 200, answer);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    sendJson(res, err instanceof PaymentPageError || message === 'unknown regKey' ? 409 : 400, {
      error: message,
    });
  }
}

/** The `/__sandbox/*` routes; `undefined` when none matches. */
function controlRoute(control: SandboxControl, method: string, path: string, json: unknown): unknown {
  const done = { ok: true };
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /health':
      return done;
    case 'POST /faults':
      if (!Array.isArray(json)) throw new Error('body must be an array of fault rules');
      control.setFaults(json.map(parseFaultRule));
      return done;
    case 'POST /faults/add':
      control.addFault(parseFaultRule(json));
      return done;
    case 'DELETE /faults':
      control.clearFaults();
      return done;
    case 'GET /ledger':
      return control.ledger();
    case 'GET /requests':
      return control.requests();
    case 'GET /regkeys':
      return control.regKeys();
    case 'POST /reset':
      control.reset();
      return done;
  }
  const txAction = /^POST \/transactions\/([^/]+)\/(approve|cancel)$/.exec(route);
  if (txAction?.[1] !== undefined) {
    const id = safeDecode(txAction[1]);
    return txAction[2] === 'approve' ? control.approve(id) : control.cancel(id);
  }
  const regKeyExpire = /^POST \/regkeys\/([^/]+)\/expire$/.exec(route);
  if (regKeyExpire?.[1] !== undefined) {
    control.expireRegKey(safeDecode(regKeyExpire[1]));
    return done;
  }
  return undefined;
}
