import { describe, expect, it } from 'vitest';
import { RequestRate } from '../../../activities/linepay/request-rate.js';

describe('RequestRate', () => {
  it('lets one second of requests through at once, then spaces them 1/rate apart', () => {
    let now = 1_000;
    const rate = new RequestRate(4, () => now);
    expect([rate.reserve(), rate.reserve(), rate.reserve(), rate.reserve()]).toEqual([0, 0, 0, 0]);
    expect(rate.reserve()).toBe(250);
    expect(rate.reserve()).toBe(500);
    now += 1_000;
    // The schedule caught up: 2 slots were owed to the two waits above.
    expect(rate.reserve()).toBe(0);
  });

  it('a fractional rate allows no burst', () => {
    let now = 0;
    const rate = new RequestRate(0.5, () => now);
    expect(rate.reserve()).toBe(0);
    expect(rate.reserve()).toBe(2_000);
    now = 10_000;
    expect(rate.reserve()).toBe(0);
  });

  it('refuses, without reserving, a slot later than the caller can wait', () => {
    const now = 0;
    const rate = new RequestRate(1, () => now);
    expect(rate.reserve()).toBe(0);
    expect(rate.reserve(500)).toBeUndefined();
    expect(rate.reserve(1_000)).toBe(1_000);
  });

  it('rejects a rate that is not a positive number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new RequestRate(bad)).toThrow(RangeError);
    }
  });
});
