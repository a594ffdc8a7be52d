import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { restDeadline, restWakes } from '../../workflows/rest-timing.js';

describe('restDeadline', () => {
  it('waits for a rest time still ahead and before the step’s own deadline', () => {
    expect(restDeadline(2_000, 1_000, 10_000)).toBe(2_000);
    expect(restDeadline(2_000, 1_000, undefined)).toBe(2_000);
  });

  it('never returns a time already past: the step’s own wait is used instead', () => {
    // The defect: a rest due while a handler was mid-answer became the deadline of a wait that then
    // returned at once, forever.
    expect(restDeadline(1_000, 1_000, 10_000)).toBeUndefined();
    expect(restDeadline(500, 1_000, 10_000)).toBeUndefined();
    expect(restDeadline(undefined, 1_000, 10_000)).toBeUndefined();
    expect(restDeadline(10_000, 1_000, 10_000)).toBeUndefined();
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: undefined }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: undefined }),
        (restAt, now, until) => {
          const d = restDeadline(restAt, now, until);
          if (d === undefined) return;
          expect(d).toBeGreaterThan(now);
          if (until !== undefined) expect(d).toBeLessThan(until);
        },
      ),
    );
  });
});

describe('restWakes', () => {
  it('wakes once the rest is possible, to set its time or because it has come', () => {
    expect(restWakes(true, undefined, 5)).toBe(true);
    expect(restWakes(true, 5, 5)).toBe(true);
    expect(restWakes(true, 6, 5)).toBe(false);
    expect(restWakes(false, 5, 9)).toBe(false);
  });
});
