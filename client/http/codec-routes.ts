import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { tokenMatches } from './auth.js';
import { codecBody } from './schemas.js';

export interface CodecRoutesOptions {
  codec: PayloadCodec;
  /** Required bearer token; when absent the routes are open (local demo only). */
  authToken?: string;
  /** Browser origins allowed to call the codec: the Temporal Web UI. */
  corsOrigins: readonly string[];
  /** When set, a request naming another namespace in `X-Namespace` is refused. */
  namespace?: string;
  maxBodyBytes?: number;
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

/**
 * Codec server (Temporal's remote codec protocol): `POST /encode` and `POST /decode` with Payloads as
 * proto3 JSON. The Web UI calls it from the browser (`--ui-codec-endpoint`), hence CORS; operators'
 * access is the bearer token (what the UI forwards with "pass access token") or the CLI's `--codec-auth`.
 */
export function createCodecRoutes(options: CodecRoutesOptions): Hono {
  const app = new Hono();
  app.use(
    '*',
    cors({
      origin: [...options.corsOrigins],
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['x-namespace', 'content-type', 'authorization'],
      credentials: true,
      maxAge: 600,
    }),
  );
  app.use('*', async (c, next) => {
    if (options.authToken !== undefined) {
      const header = c.req.header('authorization') ?? '';
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
      if (!token || !tokenMatches(token, options.authToken)) {
        return c.json(
          { error: { code: 'unauthorized', message: 'codec server needs a valid bearer token' } },
          401,
        );
      }
    }
    const ns = c.req.header('x-namespace');
    if (options.namespace !== undefined && ns !== undefined && ns !== options.namespace) {
      return c.json(
        { error: { code: 'forbidden', message: `namespace ${ns.slice(0, 100)} is not served here` } },
        403,
      );
    }
    await next();
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 8 * 1024 * 1024,
      onError: (c) =>
        c.json({ error: { code: 'payload_too_large', message: 'request body too large' } }, 413),
    }),
  );

  for (const op of ['encode', 'decode'] as const) {
    app.post(`/${op}`, async (c) => {
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
      try {
        const payloads = parsed.data.payloads.map(fromJson);
        const out =
          op === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        return c.json({ payloads: out.map(toJson) });
      } catch (err) {
        return c.json({ error: { code: 'codec_failed', message: (err as Error).message } }, 400);
      }
    });
  }
  return app;
}
