import { describe, expect, it } from 'vitest';
import {
  baseDelayMs,
  DEFAULT_RETRY_POLICY,
  nextAttempt,
  retrySchedule,
} from '../../ledger/webhooks/backoff.js';

const HOUR = 3_600_000;

describe('webhook retry schedule', () => {
  it('doubles from 5 s and caps at 6 h', () => {
    expect([1, 2, 3, 4].map((n) => baseDelayMs(n))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(baseDelayMs(13)).toBe(5_000 * 2 ** 12);
    expect(baseDelayMs(14)).toBe(6 * HOUR);
    expect(baseDelayMs(500)).toBe(6 * HOUR);
  });

  it('keeps trying for 3 days, the last try exactly at the end, then gives up', () => {
    const offsets = retrySchedule();
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)).toBe(72 * HOUR);
    for (let i = 1; i < offsets.length; i++) {
      const gap = offsets[i]! - offsets[i - 1]!;
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(6 * HOUR);
    }
    expect(offsets).toHaveLength(25); // the first try and 24 retries
    expect(nextAttempt(offsets.length, 0, 72 * HOUR)).toEqual({ retry: false });
  });

  it('jitters within ±10 % and never past the window', () => {
    const low = nextAttempt(3, 0, 1_000, DEFAULT_RETRY_POLICY, () => 0);
    const high = nextAttempt(3, 0, 1_000, DEFAULT_RETRY_POLICY, () => 0.999_999);
    expect(low).toEqual({ retry: true, at: 1_000 + 18_000 });
    expect(high).toEqual({ retry: true, at: 1_000 + 22_000 });
    expect(nextAttempt(20, 0, 71 * HOUR, DEFAULT_RETRY_POLICY, () => 0.5)).toEqual({
      retry: true,
      at: 72 * HOUR,
    });
  });

  it('refuses a nonsense attempt count', () => {
    expect(() => baseDelayMs(0)).toThrow(RangeError);
  });
});
