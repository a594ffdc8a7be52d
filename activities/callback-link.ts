/**
 * Signed LINE Pay callback links. The confirm and cancel URLs we hand LINE Pay carry the reservation's
 * orderId and an HMAC over (subscriptionId, orderId) with `CALLBACK_SIGNING_KEY`, so only whoever was
 * sent the link (LINE Pay, the customer's browser) can act on a reservation. Pure over node:crypto:
 * the reserve activity signs, the HTTP service verifies before anything reaches Temporal.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Query parameter names we add; LINE Pay appends `transactionId` and `orderId` itself. */
export const RESERVATION_PARAM = 'reservation';
export const TOKEN_PARAM = 'token';

/** 128-bit tag: unguessable, and short enough to keep the URL under LINE Pay's 500 characters. */
const TAG_BYTES = 16;
/** base64url length of a tag. */
export const CALLBACK_TOKEN_LENGTH = 22;
const DOMAIN = 'linepay-subscriptions/callback/v1';

export interface CallbackSubject {
  subscriptionId: string;
  /** The reservation's orderId, exactly as sent to LINE Pay. */
  orderId: string;
}

function check(key: Uint8Array): void {
  if (key.byteLength < 32) throw new Error('callback signing key must be at least 32 bytes');
}

/** The token for one reservation. Length-prefixed fields, so no two (id, orderId) pairs collide. */
export function signCallback(key: Uint8Array, subject: CallbackSubject): string {
  check(key);
  const mac = createHmac('sha256', key);
  mac.update(DOMAIN);
  for (const field of [subject.subscriptionId, subject.orderId]) {
    const bytes = Buffer.from(field, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    mac.update(len).update(bytes);
  }
  return mac.digest().subarray(0, TAG_BYTES).toString('base64url');
}

/** True when `token` was made by one of `keys` (current first, then those being rotated out). */
export function verifyCallback(
  keys: readonly Uint8Array[],
  subject: CallbackSubject,
  token: string,
): boolean {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(token)) return false;
  // Compare the text, not the decoded bytes: the last character has spare bits, so several spellings
  // decode alike, and only the canonical one is the token.
  const given = Buffer.from(token, 'ascii');
  let ok = false;
  for (const key of keys) {
    const expected = Buffer.from(signCallback(key, subject), 'ascii');
    // Every key is tried, so timing does not tell which one matched.
    if (timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

/** `url` with `reservation=<orderId>&token=<tag>` appended. */
export function signedCallbackUrl(url: string, key: Uint8Array, subject: CallbackSubject): string {
  const sep = url.includes('?') ? (url.endsWith('?') || url.endsWith('&') ? '' : '&') : '?';
  const token = signCallback(key, subject);
  return `${url}${sep}${RESERVATION_PARAM}=${encodeURIComponent(subject.orderId)}&${TOKEN_PARAM}=${token}`;
}

/**
 * A signing key derived from a payload encryption key, for the demo and tests only: whoever holds the
 * payload key (CLI users too) could mint links. Production sets its own `CALLBACK_SIGNING_KEY`.
 */
export function deriveCallbackKey(payloadKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', payloadKey, Buffer.alloc(0), DOMAIN, 32));
}
