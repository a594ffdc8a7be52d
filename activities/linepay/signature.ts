import { createHmac } from 'node:crypto';

/**
 * LINE Pay v3 request signature: Base64(HMAC-SHA256(secret, secret + path + bodyOrQuery + nonce)).
 * `bodyOrQuery` must be the exact bytes sent (raw JSON body for POST, query string without `?` for GET).
 */
export function sign(channelSecret: string, path: string, bodyOrQuery: string, nonce: string): string {
  return createHmac('sha256', Buffer.from(channelSecret, 'utf8'))
    .update(Buffer.from(channelSecret + path + bodyOrQuery + nonce, 'utf8'))
    .digest('base64');
}
