import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CodecAppOptions, createCodecApp } from '../../../client/http/codec-routes.js';
import { EncryptionCodec } from '../../../client/temporal/payload-codec.js';

const codec = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
const origin = 'http://127.0.0.1:8233';
const TOKEN = 'codec-token-0123456789abcdef0123456789';
const ISSUER = 'https://idp.example';

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
  ),
  data: Buffer.from(p.data!).toString('base64'),
});

async function sealedBody(): Promise<string> {
  const [encoded] = await codec.encode([defaultPayloadConverter.toPayload({ regKey: 'RK5C38F19XTF425' })]);
  return JSON.stringify({ payloads: [toJson(encoded!)] });
}

function app(overrides: Partial<CodecAppOptions> = {}) {
  const log = vi.fn();
  return {
    log,
    app: createCodecApp({
      codec,
      auth: { kind: 'token', token: TOKEN },
      corsOrigins: [origin],
      namespace: 'default',
      log,
      ...overrides,
    }),
  };
}

const post = (
  a: ReturnType<typeof createCodecApp>,
  path: string,
  headers: Record<string, string>,
  body: string,
) =>
  a.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin, ...headers },
    body,
  });

// A local identity provider: its JWKS served over HTTP, as the Web UI's OIDC provider would.
let jwksServer: Server;
let jwksUrl: URL;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: PrivateKey;
let otherKey: PrivateKey;
beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = new URL(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`);
});
afterAll(() => new Promise<void>((r) => jwksServer.close(() => r())));

function jwt(key: PrivateKey, claims: { sub?: string; iss?: string; aud?: string; exp?: string } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
    .setSubject(claims.sub ?? 'alice@example.com')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? 'temporal-ui')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m')
    .sign(key);
}

describe('codec server: static token', () => {
  it('decodes for the Web UI, with CORS, and logs who decoded how much', async () => {
    const { app: a, log } = app();
    const res = await post(
      a,
      '/codec/decode',
      { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' },
      await sealedBody(),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    const body = (await res.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(body.payloads[0]!.data, 'base64').toString()).toContain('RK5C38F19XTF425');
    expect(log).toHaveBeenCalledWith(
      'codec_decode',
      expect.objectContaining({ caller: 'static-token', namespace: 'default', payloads: 1 }),
    );
    expect((log.mock.calls[0]![1] as { bytes: number }).bytes).toBeGreaterThan(0);
  });

  it('refuses a short token at construction', () => {
    expect(() => app({ auth: { kind: 'token', token: 'short-token' } })).toThrow(/32 characters/);
  });

  it('requires the token and the namespace', async () => {
    const { app: a } = app();
    const body = '{"payloads":[]}';
    expect((await post(a, '/codec/decode', {}, body)).status).toBe(401);
    expect((await post(a, '/codec/decode', { authorization: 'Bearer wrong' }, body)).status).toBe(401);
    expect(
      (await post(a, '/codec/decode', { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'other' }, body))
        .status,
    ).toBe(403);
    expect((await post(a, '/codec/decode', { authorization: `Bearer ${TOKEN}` }, body)).status).toBe(200);
  });

  it('serves /codec/encode only when enabled', async () => {
    const body = JSON.stringify({ payloads: [toJson(defaultPayloadConverter.toPayload('x'))] });
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await post(app().app, '/codec/encode', headers, body)).status).toBe(404);
    expect((await post(app({ enableEncode: true }).app, '/codec/encode', headers, body)).status).toBe(200);
  });

  it('does not tell the caller which key ids exist', async () => {
    const other = new EncryptionCodec([{ id: 'secret-key-id', key: randomBytes(32) }]);
    const [foreign] = await other.encode([defaultPayloadConverter.toPayload('x')]);
    const { app: a, log } = app({ codec: new EncryptionCodec([{ id: 'k1-live', key: randomBytes(32) }]) });
    const res = await post(
      a,
      '/codec/decode',
      { authorization: `Bearer ${TOKEN}` },
      JSON.stringify({ payloads: [toJson(foreign!)] }),
    );
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain('k1-live');
    expect(text).not.toContain('secret-key-id');
    expect(log).toHaveBeenCalledWith(
      'codec_decode_failed',
      expect.objectContaining({ caller: 'static-token' }),
    );
  });

  it('rate-limits', async () => {
    const { app: a } = app({ rateLimitPerMinute: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await post(a, '/codec/decode', { authorization: `Bearer ${TOKEN}` }, '{"payloads":[]}')).status,
      );
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('answers the CORS preflight with the headers the UI sends', async () => {
    const res = await app().app.request('/codec/decode', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-namespace,content-type,authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });
});

describe('codec server: the Web UI forwards the OIDC access token', () => {
  const jwtApp = () => app({ auth: { kind: 'jwt', jwks: jwksUrl, issuer: ISSUER, audience: 'temporal-ui' } });

  it('accepts a token signed by the identity provider and logs its subject', async () => {
    const { app: a, log } = jwtApp();
    const res = await post(
      a,
      '/codec/decode',
      { authorization: `Bearer ${await jwt(signingKey)}` },
      await sealedBody(),
    );
    expect(res.status).toBe(200);
    expect(log).toHaveBeenCalledWith(
      'codec_decode',
      expect.objectContaining({ caller: 'alice@example.com' }),
    );
  });

  it.each([
    ['signed by another key', async () => jwt(otherKey)],
    ['from another issuer', async () => jwt(signingKey, { iss: 'https://evil.example' })],
    ['for another audience', async () => jwt(signingKey, { aud: 'other-app' })],
    ['expired', async () => jwt(signingKey, { exp: '-1m' })],
    ['the static token', async () => TOKEN],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a token %s', async (_name, make) => {
    const { app: a } = jwtApp();
    const res = await post(
      a,
      '/codec/decode',
      { authorization: `Bearer ${await make()}` },
      await sealedBody(),
    );
    expect(res.status).toBe(401);
  });
});
