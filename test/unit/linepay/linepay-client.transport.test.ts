import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLinePayError, LinePayClient, LinePayError } from '../../../activities/linepay/index.js';
import { sign } from '../../../activities/linepay/signature.js';

/** A scripted HTTP server standing in for LINE Pay, to pin down transport classification. */
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const SECRET = 'transport-test-secret-0123456789';
const REG_KEY = 'RK5C38F19XTF425';
let server: Server;
let baseUrl: string;
let handler: Handler;
let seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  handler = (_req, _body, res) => reply(res, { returnCode: '0000', returnMessage: 'Success.' });
});

function reply(res: ServerResponse, body: object | string, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function client(overrides: Partial<ConstructorParameters<typeof LinePayClient>[0]> = {}): LinePayClient {
  return new LinePayClient({ channelId: '1234567890', channelSecret: SECRET, baseUrl, ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<LinePayError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a LinePayError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinePayError);
  const lpe = err as LinePayError;
  for (const text of [String(lpe), JSON.stringify(lpe), lpe.stack ?? '', String(lpe.cause)]) {
    expect(text).not.toContain(REG_KEY);
    expect(text).not.toContain(SECRET);
  }
  return lpe;
}

const PAY = { productName: '月費 สมาชิก', amount: 100, currency: 'TWD', orderId: 'sub-1-c1' } as const;

describe('LinePayClient transport', () => {
  it('sends the exact signed bytes with UTF-8 names and a fresh nonce', async () => {
    handler = (_req, _body, res) =>
      res.end(
        '{"returnCode":"0000","returnMessage":"OK","info":{"transactionId":2026112612345678901,"transactionDate":"2026-11-26T00:00:00Z"}}',
      );
    const result = await client().payPreapproved(REG_KEY, PAY);
    await client().payPreapproved(REG_KEY, { ...PAY, orderId: 'sub-1-c2' });
    expect(result).toEqual({ transactionId: '2026112612345678901', transactionDate: '2026-11-26T00:00:00Z' });
    const [first, second] = seen;
    expect(first?.method).toBe('POST');
    expect(first?.url).toBe(`/v3/payments/preapprovedPay/${REG_KEY}/payment`);
    expect(first?.body).toBe(JSON.stringify(PAY));
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['x-line-channelid']).toBe('1234567890');
    const nonce = String(first?.headers['x-line-authorization-nonce']);
    expect(nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(first?.headers['x-line-authorization']).toBe(
      sign(SECRET, first?.url ?? '', first?.body ?? '', nonce),
    );
    expect(second?.headers['x-line-authorization-nonce']).not.toBe(nonce);
  });

  it('signs GET query strings exactly as sent, with repeated ids and the v4 prefix', async () => {
    handler = (_req, _body, res) => reply(res, { returnCode: '0000', returnMessage: 'OK', info: [] });
    await client({ apiVersion: 'v4' }).getPaymentDetails({
      transactionId: ['2026112612345678901', '2026112612345678902'],
      orderId: 'order 1/月',
      fields: 'ALL',
    });
    const req = seen[0];
    const [path, query] = (req?.url ?? '').split('?') as [string, string];
    expect(path).toBe('/v4/payments');
    expect(new URLSearchParams(query).getAll('transactionId')).toEqual([
      '2026112612345678901',
      '2026112612345678902',
    ]);
    expect(new URLSearchParams(query).get('orderId')).toBe('order 1/月');
    const nonce = String(req?.headers['x-line-authorization-nonce']);
    expect(req?.headers['x-line-authorization']).toBe(sign(SECRET, path, query, nonce));
  });

  it('refuses to send after the caller aborted: not_sent', async () => {
    const err = await failure(client().payPreapproved(REG_KEY, PAY, { signal: AbortSignal.abort() }));
    expect(err.code).toBe('not_sent');
    expect(seen).toHaveLength(0);
  });

  it('connection refused → not_sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(client({ baseUrl: `http://127.0.0.1:${port}` }).payPreapproved(REG_KEY, PAY));
    expect(err.code).toBe('not_sent');
    expect(err.retryable).toBe(true);
    expect(err.path).toBe('/v3/payments/preapprovedPay/RK…F425/payment');
  });

  /** The error shapes undici's fetch rejects with on Node 20. */
  const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
  const sysError = (code: string, message = code) => Object.assign(new Error(message), { code });

  it.each([
    ['ECONNREFUSED', fetchFailed(sysError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')), 'not_sent'],
    ['ENOTFOUND', fetchFailed(sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND api-pay.line.me')), 'not_sent'],
    ['EAI_AGAIN', fetchFailed(sysError('EAI_AGAIN')), 'not_sent'],
    ['UND_ERR_CONNECT_TIMEOUT', fetchFailed(sysError('UND_ERR_CONNECT_TIMEOUT')), 'not_sent'],
    [
      'happy-eyeballs AggregateError',
      fetchFailed(new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')], 'connect failed')),
      'not_sent',
    ],
    [
      'UND_ERR_SOCKET other side closed',
      fetchFailed(sysError('UND_ERR_SOCKET', 'other side closed')),
      'unknown_outcome',
    ],
    ['ECONNRESET', fetchFailed(sysError('ECONNRESET')), 'unknown_outcome'],
    ['EPIPE', fetchFailed(sysError('EPIPE')), 'unknown_outcome'],
    ['fetch failed without a cause', new TypeError('fetch failed'), 'unknown_outcome'],
    ['a non-Error rejection', 'boom', 'unknown_outcome'],
  ])('fetch rejecting with %s → %s', async (_label, rejection, expected) => {
    const fetch = (() => Promise.reject(rejection)) as typeof globalThis.fetch;
    const err = await failure(client({ fetch }).payPreapproved(REG_KEY, PAY));
    expect(err.code).toBe(expected);
  });

  it('a transport error mentioning the URL is redacted in the cause', async () => {
    const fetch = (() =>
      Promise.reject(
        fetchFailed(
          sysError(
            'UND_ERR_SOCKET',
            `closed while POST ${baseUrl}/v3/payments/preapprovedPay/${REG_KEY}/payment`,
          ),
        ),
      )) as typeof globalThis.fetch;
    const err = await failure(client({ fetch }).payPreapproved(REG_KEY, PAY));
    const inner = (err.cause as Error).cause as Error & { code?: string };
    expect(inner.code).toBe('UND_ERR_SOCKET');
    expect(inner.message).toContain('RK…F425');
  });

  it('rejects a non-digit transactionId before sending', async () => {
    const err = await failure(client().refund('2.026112612345679e+18'));
    expect(err.code).toBe('merchant_config');
    expect(seen).toHaveLength(0);
  });

  it('exposes a stable name and JSON shape', async () => {
    handler = (_req, _body, res) => reply(res, { returnCode: '1142', returnMessage: 'Insufficient balance' });
    const err = await failure(client().payPreapproved(REG_KEY, PAY));
    expect(err.name).toBe('LinePayError');
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'LinePayError',
      code: 'declined_soft',
      api: 'preapprovedPay',
      method: 'POST',
      path: '/v3/payments/preapprovedPay/RK…F425/payment',
      retryable: false,
      returnCode: '1142',
      returnMessage: 'Insufficient balance',
      httpStatus: 200,
    });
    expect(isLinePayError(err, 'declined_soft', 'declined_hard')).toBe(true);
    expect(isLinePayError(err, 'regkey_dead')).toBe(false);
  });

  it('socket closed after the request was sent → unknown_outcome', async () => {
    handler = (req) => req.socket.destroy();
    const err = await failure(client().payPreapproved(REG_KEY, PAY));
    expect(err.code).toBe('unknown_outcome');
    expect(seen).toHaveLength(1);
  });

  it('read timeout → unknown_outcome', async () => {
    handler = () => {};
    const err = await failure(client({ timeouts: { preapprovedPay: 150 } }).payPreapproved(REG_KEY, PAY));
    expect(err.code).toBe('unknown_outcome');
    expect(err.message).toContain('150 ms');
  });

  it('timeout while the body is still streaming → unknown_outcome', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"returnCode":"0000",');
    };
    const err = await failure(client({ timeouts: { preapprovedPay: 150 } }).payPreapproved(REG_KEY, PAY));
    expect(err.code).toBe('unknown_outcome');
  });

  it('caller abort in flight → unknown_outcome', async () => {
    handler = () => {};
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await failure(client().payPreapproved(REG_KEY, PAY, { signal: controller.signal }));
    expect(err.code).toBe('unknown_outcome');
  });

  it.each([500, 502, 503, 504])('HTTP %i → unknown_outcome', async (status) => {
    handler = (_req, _body, res) => reply(res, 'upstream error', status);
    const err = await failure(client().payPreapproved(REG_KEY, PAY));
    expect(err).toMatchObject({ code: 'unknown_outcome', httpStatus: status });
  });

  it('non-JSON 200 → unknown_outcome; 404 without envelope → merchant_config', async () => {
    handler = (_req, _body, res) => reply(res, '<html>hi</html>');
    expect((await failure(client().payPreapproved(REG_KEY, PAY))).code).toBe('unknown_outcome');
    handler = (_req, _body, res) => reply(res, 'not found', 404);
    expect((await failure(client().payPreapproved(REG_KEY, PAY))).code).toBe('merchant_config');
  });

  it('masks a regKey echoed in returnMessage', async () => {
    handler = (_req, _body, res) =>
      reply(res, { returnCode: '1193', returnMessage: `regKey ${REG_KEY} expired` });
    const err = await failure(client().payPreapproved(REG_KEY, PAY));
    expect(err).toMatchObject({
      code: 'regkey_dead',
      returnCode: '1193',
      returnMessage: 'regKey RK…F425 expired',
    });
  });

  it('logs masked paths only', async () => {
    const lines: string[] = [];
    const logger = {
      debug: (msg: string, meta?: object) => lines.push(msg + JSON.stringify(meta)),
      warn: (msg: string, meta?: object) => lines.push(msg + JSON.stringify(meta)),
    };
    handler = (_req, _body, res) => reply(res, { returnCode: '1142', returnMessage: 'no money' });
    await failure(client({ logger }).payPreapproved(REG_KEY, PAY));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(REG_KEY);
      expect(line).not.toContain(SECRET);
    }
  });

  it('payPreapprovedOnce: a lookup that cannot be sent still reports unknown_outcome', async () => {
    let calls = 0;
    handler = (req, _body, res) => {
      calls += 1;
      if (calls === 1) return reply(res, { returnCode: '9000', returnMessage: 'internal' });
      req.socket.destroy();
    };
    const err = await failure(client().payPreapprovedOnce(REG_KEY, PAY));
    expect(err.code).toBe('unknown_outcome');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);
  });

  it('serializes preapproved charges on one regKey', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    handler = (_req, _body, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      n += 1;
      setTimeout(() => {
        inFlight -= 1;
        res.end(
          `{"returnCode":"0000","returnMessage":"OK","info":{"transactionId":${n},"transactionDate":"d"}}`,
        );
      }, 30);
    };
    const c = client();
    await Promise.all([1, 2, 3].map((i) => c.payPreapproved(REG_KEY, { ...PAY, orderId: `o-${i}` })));
    expect(maxInFlight).toBe(1);
  });

  it('maxRequestsPerSecond spaces requests out and holds back one that would pass its deadline', async () => {
    // Rate 1/s: the first request goes at once, the next slot is a second away. A call whose deadline
    // leaves less than that (after the margin and the read budget) is refused unsent; one with room waits
    // for its slot and is sent. Spacing itself is checked with a fake clock in request-rate.test.ts.
    const c = client({ maxRequestsPerSecond: 1 });
    await c.checkRequestStatus('2000000');
    expect(seen).toHaveLength(1);
    const err = await failure(c.checkRequestStatus('2000001', { deadline: Date.now() + 1_500 }));
    expect(err.code).toBe('not_sent');
    expect(err.message).toContain('request rate');
    expect(seen).toHaveLength(1);
    await c.checkRequestStatus('2000002', { deadline: Date.now() + 10_000 });
    expect(seen).toHaveLength(2);
  });
});
