import { describe, expect, it } from 'vitest';
import { sign } from '../../../activities/linepay/signature.js';

// Expected values computed independently with:
//   printf '%s' "$SECRET$PATH$BODY$NONCE" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
const SECRET = 'a917ab6a2367b536f8e5a6e2977e06f4';
const NONCE = '0f3b6a52-9f5c-4c39-8a43-2c1b0d1e2f3a';

describe('sign', () => {
  it('signs a POST body with CJK and Thai text as UTF-8', () => {
    const body =
      '{"amount":100,"currency":"TWD","orderId":"order-1","packages":[{"id":"p1","amount":100,' +
      '"name":"月費方案 แพ็กเกจรายเดือน","products":[{"name":"訂閱 สมาชิก","quantity":1,"price":100}]}]}';
    expect(sign(SECRET, '/v3/payments/request', body, NONCE)).toBe(
      '3ZTPQTJ3aXcQiNNVgaKzhymM/cgDXwTB54HFUjxVHFk=',
    );
  });

  it('signs a GET query string without the question mark', () => {
    expect(sign(SECRET, '/v3/payments', 'transactionId=2026112612345678901&orderId=order-1', NONCE)).toBe(
      'b/Co9YLiFLXhdCW+UhyAqfa9dioy+BDrfNHgV6VewD8=',
    );
  });

  it('signs an empty payload', () => {
    expect(sign(SECRET, '/v3/payments/authorizations/2026112612345678901/void', '', NONCE)).toBe(
      '2yICh4yLi2uH32eHm8Z0FkBO5wAva9V2UmUJto5HySM=',
    );
  });

  it('changes with every input', () => {
    const base = sign(SECRET, '/v3/payments', 'a=1', NONCE);
    expect(sign(`${SECRET}x`, '/v3/payments', 'a=1', NONCE)).not.toBe(base);
    expect(sign(SECRET, '/v4/payments', 'a=1', NONCE)).not.toBe(base);
    expect(sign(SECRET, '/v3/payments', 'a=2', NONCE)).not.toBe(base);
    expect(sign(SECRET, '/v3/payments', 'a=1', `${NONCE}x`)).not.toBe(base);
    expect(Buffer.from(base, 'base64')).toHaveLength(32);
  });
});
