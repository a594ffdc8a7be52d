import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The sandbox's own LINE Pay v3 signature check (deliberately not shared with the client):
 * Base64(HMAC-SHA256(key = secret, msg = secret + apiPath + payload + nonce)), where payload is the raw
 * POST body bytes as received, or the raw query string without `?` for GET ('' when absent).
 */
export function expectedSignature(secret: string, apiPath: string, payload: Buffer, nonce: string): Buffer {
  return createHmac('sha256', secret)
    .update(Buffer.from(secret + apiPath, 'utf8'))
    .update(payload)
    .update(Buffer.from(nonce, 'utf8'))
    .digest();
}

/** Timing-safe comparison of the `X-LINE-Authorization` header against the expected digest. */
export function verifySignature(
  secret: string,
  apiPath: string,
  payload: Buffer,
  nonce: string,
  headerValue: string,
): boolean {
  const expected = expectedSignature(secret, apiPath, payload, nonce);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(headerValue)) return false;
  const given = Buffer.from(headerValue, 'base64');
  if (given.length !== expected.length || given.toString('base64') !== headerValue) return false;
  return timingSafeEqual(given, expected);
}
