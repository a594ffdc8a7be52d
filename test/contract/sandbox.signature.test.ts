import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../sandbox/signature.js';

// The same vectors as test/unit/linepay/signature.test.ts (the client's), computed with
//   printf '%s' "$SECRET$PATH$BODY$NONCE" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
const SECRET = 'a917ab6a2367b536f8e5a6e2977e06f4';
const NONCE = '0f3b6a52-9f5c-4c39-8a43-2c1b0d1e2f3a';
const VECTORS = [
  {
    name: 'POST body with CJK and Thai text as UTF-8',
    path: '/v3/payments/request',
    payload:
      '{"amount":100,"currency":"TWD","orderId":"order-1","packages":[{"id":"p1","amount":100,' +
      '"name":"月費方案 แพ็กเกจรายเดือน","products":[{"name":"訂閱 สมาชิก","quantity":1,"price":100}]}]}',
    signature: '3ZTPQTJ3aXcQiNNVgaKzhymM/cgDXwTB54HFUjxVHFk=',
  },
  {
    name: 'GET query string without the question mark',
    path: '/v3/payments',
    payload: 'transactionId=2026112612345678901&orderId=order-1',
    signature: 'b/Co9YLiFLXhdCW+UhyAqfa9dioy+BDrfNHgV6VewD8=',
  },
  {
    name: 'empty payload',
    path: '/v3/payments/authorizations/2026112612345678901/void',
    payload: '',
    signature: '2yICh4yLi2uH32eHm8Z0FkBO5wAva9V2UmUJto5HySM=',
  },
];

describe('sandbox verifySignature (shared vectors)', () => {
  for (const v of VECTORS) {
    it(`accepts ${v.name}`, () => {
      expect(verifySignature(SECRET, v.path, Buffer.from(v.payload, 'utf8'), NONCE, v.signature)).toBe(true);
    });
  }

  it('rejects any changed input or a malformed header', () => {
    const v = VECTORS[0];
    if (!v) throw new Error('no vector');
    const payload = Buffer.from(v.payload, 'utf8');
    expect(verifySignature(`${SECRET}x`, v.path, payload, NONCE, v.signature)).toBe(false);
    expect(verifySignature(SECRET, '/v4/payments/request', payload, NONCE, v.signature)).toBe(false);
    expect(verifySignature(SECRET, v.path, Buffer.from(`${v.payload} `), NONCE, v.signature)).toBe(false);
    expect(verifySignature(SECRET, v.path, payload, `${NONCE}x`, v.signature)).toBe(false);
    expect(verifySignature(SECRET, v.path, payload, NONCE, v.signature.slice(0, -4))).toBe(false);
    expect(verifySignature(SECRET, v.path, payload, NONCE, `${v.signature}\n`)).toBe(false);
    expect(verifySignature(SECRET, v.path, payload, NONCE, '')).toBe(false);
  });
});
