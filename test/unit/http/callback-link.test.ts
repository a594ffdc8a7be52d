import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CALLBACK_TOKEN_LENGTH,
  deriveCallbackKey,
  signCallback,
  signedCallbackUrl,
  verifyCallback,
} from '../../../activities/callback-link.js';
import { redirectUrlsFor } from '../../../client/subscriptions-client.js';
import { chargeOrderId } from '../../../workflows/order-id.js';

const key = randomBytes(32);

describe('callback link tokens', () => {
  it('verify only for the same subscription, reservation and key', () => {
    const subject = { subscriptionId: 'sub-1', orderId: 'sub-1-0a1b2c3d-c0' };
    const token = signCallback(key, subject);
    expect(token).toMatch(new RegExp(`^[A-Za-z0-9_-]{${CALLBACK_TOKEN_LENGTH}}$`));
    expect(verifyCallback([key], subject, token)).toBe(true);
    expect(verifyCallback([key], { ...subject, subscriptionId: 'sub-2' }, token)).toBe(false);
    expect(verifyCallback([key], { ...subject, orderId: 'sub-1-0a1b2c3d-r1' }, token)).toBe(false);
    expect(verifyCallback([randomBytes(32)], subject, token)).toBe(false);
    expect(verifyCallback([key], subject, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBe(
      false,
    );
    expect(verifyCallback([key], subject, '')).toBe(false);
    // The last character carries 2 data bits: every other spelling with the same bits is refused too.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const ch of last) {
      if (ch === token.at(-1)) continue;
      expect(verifyCallback([key], subject, `${token.slice(0, -1)}${ch}`), ch).toBe(false);
    }
  });

  it('fields are length-prefixed: shifting a dash between them changes the token', () => {
    const a = signCallback(key, { subscriptionId: 'a-b', orderId: 'c' });
    const b = signCallback(key, { subscriptionId: 'a', orderId: 'b-c' });
    expect(a).not.toBe(b);
  });

  it('refuses short keys; the derived demo key is stable per payload key', () => {
    expect(() => signCallback(randomBytes(16), { subscriptionId: 'a', orderId: 'b' })).toThrow(/32 bytes/);
    const payloadKey = randomBytes(32);
    expect(deriveCallbackKey(payloadKey).equals(deriveCallbackKey(payloadKey))).toBe(true);
    expect(deriveCallbackKey(payloadKey).equals(payloadKey)).toBe(false);
  });

  it('the longest signed URLs stay within LINE Pay 500 characters', () => {
    const subscriptionId = 'x'.repeat(64);
    const orderId = `${chargeOrderId(subscriptionId, 'deadbeef', 999_999, 99)}-t10`;
    const base = `https://${'b'.repeat(248)}.example`; // the longest base whose confirm URL passes the 360 check
    const { confirmUrl, cancelUrl } = redirectUrlsFor(base, subscriptionId);
    for (const url of [confirmUrl, cancelUrl]) {
      expect(url.length).toBeLessThanOrEqual(360);
      const signed = signedCallbackUrl(url, key, { subscriptionId, orderId });
      expect(signed.length).toBeLessThanOrEqual(500);
      const params = new URL(signed).searchParams;
      expect(params.get('reservation')).toBe(orderId);
      expect(verifyCallback([key], { subscriptionId, orderId }, params.get('token')!)).toBe(true);
    }
  });
});
