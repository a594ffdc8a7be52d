import type { Payload, PayloadCodec } from '@temporalio/common';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { rateLimiter } from 'hono-rate-limiter';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { tokenMatches } from './auth.js';
import { securityHeaders } from './headers.js';
import { codecBody } from './schemas.js';

/** Who may call the codec server. */
export type CodecAuth =
  /** A static bearer token (≥ 32 characters): the CLI's `--codec-auth`, or a proxy that adds it. */
  | { kind: 'token'; token: string }
  /** The Web UI's forwarded OIDC access token, verified against the identity provider's JWKS. */
  | { kind: 'jwt'; jwks: URL | JWTVerifyGetKey; issuer?: string; audience?: string }
  /** No auth: the demo, with the codec on loopback only (the config refuses anything else). */
  | { kind: 'none' };

export interface CodecAppOptions {
  codec: PayloadCodec;
  auth: CodecAuth;
  /** Browser origins allowed to call the codec: the Temporal Web UI. */
  corsOrigins: readonly string[];
  /** When set, a request naming another namespace in `X-Namespace` is refused. */
  namespace?: string;
  /** Serve `/codec/encode` (off by default: the Web UI only decodes). */
  enableEncode?: boolean;
  /** Requests per minute per client IP and per caller (default 600). */
  rateLimitPerMinute?: number;
  maxBodyBytes?: number;
  /** Audit trail: who decoded what and how much; default a JSON line on stderr. */
  log?: (event: string, fields: Record<string, unknown>) => void;
  clientIp?: (c: Context) => string;
}

interface JsonPayload {
  metadata?: Record<string, string> | null | undefined;
  data?: string | null | undefined;
}

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    ),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

export type CodecEnv = { Variables: { caller: string } };

const unauthorized = (c: Context) =>
  c.json({ error: { code: 'unauthorized', message: 'codec server needs a valid bearer token' } }, 401);

function authenticate(auth: CodecAuth): (token: string | undefined) => Promise<string | undefined> {
  switch (auth.kind) {
    case 'none':
      return async () => 'anonymous';
    case 'token':
      if (auth.token.length < 32) throw new Error('codec auth token must be at least 32 characters');
      return async (token) => (token && tokenMatches(token, auth.token) ? 'static-token' : undefined);
    case 'jwt': {
      const keys = auth.jwks instanceof URL ? createRemoteJWKSet(auth.jwks) : auth.jwks;
      const options = {
        ...(auth.issuer !== undefined ? { issuer: auth.issuer } : {}),
        ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
      };
      return async (token) => {
        if (!token) return undefined;
        try {
          const { payload } = await jwtVerify(token, keys, options);
          const who = payload.sub ?? (typeof payload.email === 'string' ? payload.email : undefined);
          return who ? String(who).slice(0, 200) : 'unknown-subject';
        } catch {
          return undefined;
        }
      };
    }
  }
}

/**
 * Codec server (Temporal's remote codec protocol) at `/codec/decode` (and `/codec/encode` when
 * enabled), as its own app on its own port: it decrypts history, so it is firewalled apart from the
 * public callbacks, authenticated, rate-limited, and every call is logged with who and how much.
 */
export function createCodecApp(options: CodecAppOptions): Hono<CodecEnv> {
  const log =
    options.log ??
    ((event: string, fields: Record<string, unknown>) => console.warn(JSON.stringify({ event, ...fields })));
  const clientIp = options.clientIp ?? (() => 'unknown');
  const verify = authenticate(options.auth);
  const perMinute = options.rateLimitPerMinute ?? 600;
  const tooMany = (c: Context) =>
    c.json({ error: { code: 'rate_limited', message: 'too many codec requests' } }, 429);

  const app = new Hono<CodecEnv>();
  app.use('*', securityHeaders());
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const codec = new Hono<CodecEnv>();
  codec.use(
    '*',
    cors({
      origin: [...options.corsOrigins],
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['x-namespace', 'content-type', 'authorization'],
      credentials: true,
      maxAge: 600,
    }),
  );
  codec.use(
    '*',
    rateLimiter<CodecEnv>({
      windowMs: 60_000,
      limit: perMinute,
      keyGenerator: (c) => `ip:${clientIp(c)}`,
      handler: tooMany,
    }),
  );
  const authMiddleware: MiddlewareHandler<CodecEnv> = async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    const caller = await verify(token);
    if (caller === undefined) {
      log('codec_unauthorized', { ip: clientIp(c), path: c.req.path });
      return unauthorized(c);
    }
    c.set('caller', caller);
    const ns = c.req.header('x-namespace');
    if (options.namespace !== undefined && ns !== undefined && ns !== options.namespace) {
      return c.json({ error: { code: 'forbidden', message: 'namespace is not served here' } }, 403);
    }
    await next();
  };
  codec.use('*', authMiddleware);
  codec.use(
    '*',
    rateLimiter<CodecEnv>({
      windowMs: 60_000,
      limit: perMinute,
      keyGenerator: (c) => `caller:${c.get('caller')}`,
      handler: tooMany,
    }),
  );
  codec.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 8 * 1024 * 1024,
      onError: (c) =>
        c.json({ error: { code: 'payload_too_large', message: 'request body too large' } }, 413),
    }),
  );

  const ops = options.enableEncode ? (['encode', 'decode'] as const) : (['decode'] as const);
  for (const op of ops) {
    codec.post(`/${op}`, async (c) => {
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        return c.json(
          { error: { code: 'validation', message: 'body must be JSON {"payloads": [...]}' } },
          400,
        );
      }
      const parsed = codecBody.safeParse(raw);
      if (!parsed.success) {
        return c.json(
          { error: { code: 'validation', message: 'body must be {"payloads": [{metadata, data}]}' } },
          400,
        );
      }
      const payloads = parsed.data.payloads.map(fromJson);
      const bytes = payloads.reduce((n, p) => n + (p.data?.byteLength ?? 0), 0);
      const audit = {
        caller: c.get('caller'),
        ip: clientIp(c),
        namespace: (c.req.header('x-namespace') ?? '').slice(0, 100),
        payloads: payloads.length,
        bytes,
      };
      try {
        const out =
          op === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        log(`codec_${op}`, audit);
        return c.json({ payloads: out.map(toJson) });
      } catch (err) {
        // The codec's message may name key ids; the caller learns only that it failed.
        log(`codec_${op}_failed`, { ...audit, error: err instanceof Error ? err.message : String(err) });
        return c.json({ error: { code: 'codec_failed', message: `payloads could not be ${op}d` } }, 400);
      }
    });
  }
  app.route('/codec', codec);
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such route' } }, 404));
  return app;
}
