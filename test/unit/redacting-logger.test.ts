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

  it('survives cycles and depth: truncates below the limit and still redacts above it', () => {
    const a: Record<string, unknown> = { regKey: 'RK5C38F19XTF425', note: 'key RK5C38F19XTF425' };
    a.self = a;
    const out = redact(a, []) as Record<string, unknown>;
    let level: unknown = out;
    let depth = 0;
    while (typeof level === 'object' && level !== null) {
      const obj = level as Record<string, unknown>;
      expect(obj.regKey).toBe('[redacted]');
      expect(obj.note).toBe('key RK…F425');
      level = obj.self;
      depth += 1;
    }
    // The cycle is cut at the depth limit, not followed forever.
    expect(level).toBe('[truncated]');
    expect(depth).toBe(7);

    let deep: unknown = 'secret-value-1 at the bottom';
    for (let i = 0; i < 100; i += 1) deep = { child: deep };
    const text = JSON.stringify(redact({ top: 'secret-value-1', deep }, ['secret-value-1']));
    expect(text).not.toContain('secret-value-1');
    expect(text).toContain('[truncated]');
    expect(text.length).toBeLessThan(200);
    const wide = redact(
      Array.from({ length: 10_000 }, (_, i) => i),
      [],
    ) as unknown[];
    expect(wide).toHaveLength(50);
  });
});
