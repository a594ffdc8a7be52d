import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chargeOrderId, parseOrderId, reservationOrderId } from '../../workflows/order-id.js';

const SUB_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const subIdArb = fc
  .array(fc.constantFrom(...SUB_ID_CHARS), { minLength: 1, maxLength: 64 })
  .map((cs) => cs.join(''));
const countArb = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.maxSafeInteger().filter((n) => n >= 0),
);

describe('chargeOrderId / reservationOrderId', () => {
  it('formats exactly', () => {
    expect(chargeOrderId('sub_1', 0, 0)).toBe('sub_1-c0');
    expect(chargeOrderId('sub_1', 3, 0)).toBe('sub_1-c3');
    expect(chargeOrderId('sub_1', 3, 2)).toBe('sub_1-c3-a2');
    expect(reservationOrderId('sub_1', 0, 0)).toBe('sub_1-c0');
    expect(reservationOrderId('sub_1', 5, 1)).toBe('sub_1-c5-r1');
  });

  it('the first approval (cycle 0, reservation 0) and the first charge attempt of a cycle share a form', () => {
    expect(reservationOrderId('s', 4, 0)).toBe(chargeOrderId('s', 4, 0));
  });

  it('stays within LINE Pay’s 100-character limit for the longest id and the largest numbers', () => {
    const id = 'x'.repeat(64);
    const max = Number.MAX_SAFE_INTEGER;
    expect(chargeOrderId(id, max, max).length).toBe(100);
    expect(reservationOrderId(id, max, max).length).toBe(100);
    expect(chargeOrderId(id, 1_000_000, 999).length).toBe(64 + '-c1000000'.length + '-a999'.length);
  });

  it.each(['', 'a'.repeat(65), 'has space', 'dot.ted', 'slash/', 'ü', 'a\n'])(
    'rejects subscriptionId %j',
    (id) => {
      expect(() => chargeOrderId(id, 1, 0)).toThrow('subscriptionId must be 1-64 chars of [A-Za-z0-9_-]');
      expect(() => reservationOrderId(id, 1, 0)).toThrow(
        'subscriptionId must be 1-64 chars of [A-Za-z0-9_-]',
      );
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects cycle %s', (cycle) => {
    expect(() => chargeOrderId('s', cycle, 0)).toThrow(`cycle must be a non-negative integer, got ${cycle}`);
    expect(() => reservationOrderId('s', cycle, 0)).toThrow(
      `cycle must be a non-negative integer, got ${cycle}`,
    );
  });

  it.each([-1, 0.5, Number.NaN])('rejects attempt %s', (n) => {
    expect(() => chargeOrderId('s', 1, n)).toThrow(`attempt must be a non-negative integer, got ${n}`);
    expect(() => reservationOrderId('s', 1, n)).toThrow(`attempt must be a non-negative integer, got ${n}`);
  });
});

describe('parseOrderId', () => {
  it('reads back each kind', () => {
    expect(parseOrderId('sub_1-c0')).toEqual({ subscriptionId: 'sub_1', cycle: 0, kind: 'first', n: 0 });
    expect(parseOrderId('sub_1-c3-a2')).toEqual({ subscriptionId: 'sub_1', cycle: 3, kind: 'charge', n: 2 });
    expect(parseOrderId('sub_1-c5-r1')).toEqual({
      subscriptionId: 'sub_1',
      cycle: 5,
      kind: 'reservation',
      n: 1,
    });
  });

  it('handles subscriptionIds that themselves look like order ids', () => {
    expect(parseOrderId(chargeOrderId('a-c1-a2', 7, 0))).toEqual({
      subscriptionId: 'a-c1-a2',
      cycle: 7,
      kind: 'first',
      n: 0,
    });
    expect(parseOrderId(chargeOrderId('x-c9', 1, 3))).toEqual({
      subscriptionId: 'x-c9',
      cycle: 1,
      kind: 'charge',
      n: 3,
    });
  });

  it.each([
    '',
    'sub',
    'sub-c',
    'sub-cX',
    '-c1',
    'sub-c1-b2',
    'sub-c1-a',
    'sub c1',
    `${'a'.repeat(65)}-c1`,
    'sub-c1-a2-r3',
  ])('returns undefined for %j', (id) => {
    expect(parseOrderId(id)).toBeUndefined();
  });
});

describe('order id properties', () => {
  it('is deterministic', () => {
    fc.assert(
      fc.property(subIdArb, countArb, countArb, (id, cycle, n) => {
        expect(chargeOrderId(id, cycle, n)).toBe(chargeOrderId(id, cycle, n));
        expect(reservationOrderId(id, cycle, n)).toBe(reservationOrderId(id, cycle, n));
      }),
    );
  });

  it('round-trips through parseOrderId and fits in 100 characters', () => {
    fc.assert(
      fc.property(subIdArb, countArb, countArb, (id, cycle, n) => {
        const charge = chargeOrderId(id, cycle, n);
        const reservation = reservationOrderId(id, cycle, n);
        expect(charge.length).toBeLessThanOrEqual(100);
        expect(reservation.length).toBeLessThanOrEqual(100);
        expect(parseOrderId(charge)).toEqual({
          subscriptionId: id,
          cycle,
          kind: n === 0 ? 'first' : 'charge',
          n,
        });
        expect(parseOrderId(reservation)).toEqual({
          subscriptionId: id,
          cycle,
          kind: n === 0 ? 'first' : 'reservation',
          n,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('is injective: distinct (subscriptionId, cycle, attempt) give distinct charge ids', () => {
    fc.assert(
      fc.property(
        fc.tuple(subIdArb, fc.nat({ max: 50 }), fc.nat({ max: 50 })),
        fc.tuple(subIdArb, fc.nat({ max: 50 }), fc.nat({ max: 50 })),
        (a, b) => {
          fc.pre(a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]);
          expect(chargeOrderId(...a)).not.toBe(chargeOrderId(...b));
          expect(reservationOrderId(...a)).not.toBe(reservationOrderId(...b));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is injective over (cycle, attempt) for one subscription (exhaustive 0..40 × 0..40)', () => {
    const seen = new Set<string>();
    for (let c = 0; c <= 40; c += 1) for (let a = 0; a <= 40; a += 1) seen.add(chargeOrderId('s-c1', c, a));
    expect(seen.size).toBe(41 * 41);
  });

  it('charge retries never collide with re-approval reservations of the same cycle (except the shared first form)', () => {
    fc.assert(
      fc.property(
        subIdArb,
        fc.nat({ max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (id, c, a, r) => {
          expect(chargeOrderId(id, c, a)).not.toBe(reservationOrderId(id, c, r));
        },
      ),
    );
  });
});
