import { describe, expect, it } from 'vitest';
import { maskRegKey, redactRegKey } from '../../../activities/linepay/regkey.js';

describe('maskRegKey', () => {
  it.each([
    ['RK5C38F19XTF425', 'RK…F425'],
    ['RK123asd213', 'RK…d213'],
    ['SHORT', '…'],
    ['', '…'],
  ])('%s → %s', (regKey, masked) => {
    expect(maskRegKey(regKey)).toBe(masked);
  });

  it('never contains the full key', () => {
    expect(maskRegKey('RK5C38F19XTF425')).not.toContain('RK5C38F19XTF425');
  });
});

describe('redactRegKey', () => {
  it('masks every occurrence, raw or URL-encoded', () => {
    const key = 'RK/5C38F19XTF425';
    const text = `/v3/payments/preapprovedPay/${encodeURIComponent(key)}/payment and ${key}`;
    const out = redactRegKey(text, key);
    expect(out).toBe('/v3/payments/preapprovedPay/RK…F425/payment and RK…F425');
  });

  it('leaves text alone without a key', () => {
    expect(redactRegKey('abc', undefined)).toBe('abc');
  });
});
