import { describe, expect, it } from 'vitest';
import { redact } from '../../worker/redacting-logger.js';

describe('redact', () => {
  it('removes known secrets, regKey-looking strings and secret-named fields', () => {
    const out = redact(
      {
        message: 'calling LINE Pay with secret chan-secret-123 for RK5C38F19XTF425',
        channelSecret: 'chan-secret-123',
        headers: { Authorization: 'Bearer abc', 'X-LINE-Authorization': 'sig' },
        regKey: 'RK5C38F19XTF425',
        regKeyMasked: 'RK…F425',
        nested: [{ apiKey: 'k' }, 'plain'],
        error: new Error('failed with chan-secret-123'),
      },
      ['chan-secret-123'],
    );
    const text = JSON.stringify(out);
    expect(text).not.toContain('chan-secret-123');
    expect(text).not.toContain('RK5C38F19XTF425');
    expect(text).not.toContain('Bearer abc');
    expect(text).toContain('RK…F425');
    expect(text).toContain('plain');
  });

  it('survives cycles and depth', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => JSON.stringify(redact(a, []))).not.toThrow();
  });
});
