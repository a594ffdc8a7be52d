import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chargeOrderId,
  earlierChargeOrderIds,
  instanceIdFrom,
  parseOrderId,
  reservationOrderId,
} from '../../workflows/order-id.js';

const SUB_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const subIdArb = fc
  .array(fc.constantFrom(...SUB_ID_CHARS), { minLength: 1, maxLength: 64 })
  .map((cs) => cs.join(''));
const instArb = fc
  .array(fc.constantFrom(...'0123456789abcdef'.split('')), { minLength: 8, maxLength: 8 })
  .map((cs) => cs.join(''));
const countArb = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.maxSafeInteger().filter((n) => n >= 0),
);
const I = '0a1b2c3d';

describe('chargeOrderId / reservationOrderId', () => {
  it('formats exactly', () => {
    expect(chargeOrderId('sub_1', I, 0, 0)).toBe('sub_1-0a1b2c3d-c0');
    expect(chargeOrderId('sub_1', I, 3, 0)).toBe('sub_1-0a1b2c3d-c3');
    expect(chargeOrderId('sub_1', I, 3, 2)).toBe('sub_1-0a1b2c3d-c3-a2');
    expect(reservationOrderId('sub_1', I, 0, 0)).toBe('sub_1-0a1b2c3d-c0');
    expect(reservationOrderId('sub_1', I, 5, 1)).toBe('sub_1-0a1b2c3d-c5-r1');
  });

  it('the first approval (cycle 0, reservation 0) and the first charge attempt of a cycle share a form', () => {
    expect(reservationOrderId('s', I, 4, 0)).toBe(chargeOrderId('s', I, 4, 0));
  });

  it('a reused subscriptionId in a new instance never meets the old instance’s orderIds', () => {
    expect(chargeOrderId('s', '00000001', 1, 0)).not.toBe(chargeOrderId('s', '00000002', 1, 0));
  });

  it('stays within LINE Pay’s 100-character limit for the longest id, a million cycles and 999 attempts', () => {
    const id = 'x'.repeat(64);
    expect(chargeOrderId(id, I, 1_000_000, 999)).toHaveLength(
      64 + '-0a1b2c3d'.length + '-c1000000-a999'.length,
    );
    expect(chargeOrderId(id, I, 1_000_000, 999).length).toBeLessThanOrEqual(100);
    expect(reservationOrderId(id, I, 1_000_000, 999).length).toBeLessThanOrEqual(100);
  });

  it('never returns an orderId LINE Pay would refuse: past 100 characters it throws instead', () => {
    const longest = 'x'.repeat(64);
    const max = Number.MAX_SAFE_INTEGER;
    for (const make of [chargeOrderId, reservationOrderId]) {
      let made = '';
      try {
        made = make(longest, I, max, max);
      } catch (err) {
        expect((err as Error).message).toMatch(/100/);
      }
      expect(made.length).toBeLessThanOrEqual(100);
    }
    fc.assert(
      fc.property(subIdArb, instArb, countArb, countArb, (id, inst, cycle, n) => {
        for (const make of [chargeOrderId, reservationOrderId]) {
          let made: string | undefined;
          try {
            made = make(id, inst, cycle, n);
          } catch (err) {
            expect((err as Error).message).toMatch(/100/);
          }
          if (made !== undefined) expect(made.length).toBeLessThanOrEqual(100);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each(['', 'a'.repeat(65), 'has space', 'dot.ted', 'slash/', 'ü', 'a\n'])(
    'rejects subscriptionId %j',
    (id) => {
      expect(() => chargeOrderId(id, I, 1, 0)).toThrow('subscriptionId must be 1-64 chars of [A-Za-z0-9_-]');
      expect(() => reservationOrderId(id, I, 1, 0)).toThrow(
        'subscriptionId must be 1-64 chars of [A-Za-z0-9_-]',
      );
    },
  );

  it.each(['', '0a1b2c3', '0a1b2c3d4', '0A1B2C3D', 'zzzzzzzz'])('rejects instanceId %j', (inst) => {
    expect(() => chargeOrderId('s', inst, 1, 0)).toThrow('instanceId must be 8 lowercase hex digits');
    expect(() => reservationOrderId('s', inst, 1, 0)).toThrow('instanceId must be 8 lowercase hex digits');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects cycle %s', (cycle) => {
    expect(() => chargeOrderId('s', I, cycle, 0)).toThrow(
      `cycle must be a non-negative integer, got ${cycle}`,
    );
    expect(() => reservationOrderId('s', I, cycle, 0)).toThrow(
      `cycle must be a non-negative integer, got ${cycle}`,
    );
  });

  it.each([-1, 0.5, Number.NaN])('rejects attempt %s', (n) => {
    expect(() => chargeOrderId('s', I, 1, n)).toThrow(`attempt must be a non-negative integer, got ${n}`);
    expect(() => reservationOrderId('s', I, 1, n)).toThrow(
      `attempt must be a non-negative integer, got ${n}`,
    );
  });

  it('earlierChargeOrderIds lists the cycle’s attempts before k, oldest first', () => {
    expect(earlierChargeOrderIds('s', I, 2, 0)).toEqual([]);
    expect(earlierChargeOrderIds('s', I, 2, 3)).toEqual([
      's-0a1b2c3d-c2',
      's-0a1b2c3d-c2-a1',
      's-0a1b2c3d-c2-a2',
    ]);
  });

  it('instanceIdFrom takes the last 8 hex digits of the first run id, lower-cased', () => {
    expect(instanceIdFrom('0194F3A2-7B1C-7D4E-9F00-123456789ABC')).toBe('56789abc');
    expect(() => instanceIdFrom('xyz')).toThrow(/8 hex/);
  });

  it('instanceIdFrom tells apart UUIDv7 run ids started in the same minute (their heads are one timestamp)', () => {
    // Run ids of the dev server (Temporal Server 1.32), a few seconds apart.
    const runs = [
      '01a23196-5b1e-7c21-9a4f-3e0d1c2b4a01',
      '01a23196-6720-77c4-a3c5-4484fd1e15f9',
      '01a23196-49ff-7d70-95ff-ef21db4d5d30',
    ];
    expect(new Set(runs.map(instanceIdFrom)).size).toBe(runs.length);
  });
});

describe('parseOrderId', () => {
  it('reads back each kind', () => {
    expect(parseOrderId('sub_1-0a1b2c3d-c0')).toEqual({
      subscriptionId: 'sub_1',
      instanceId: I,
      cycle: 0,
      kind: 'first',
      n: 0,
    });
    expect(parseOrderId('sub_1-0a1b2c3d-c3-a2')).toEqual({
      subscriptionId: 'sub_1',
      instanceId: I,
      cycle: 3,
      kind: 'charge',
      n: 2,
    });
    expect(parseOrderId('sub_1-0a1b2c3d-c5-r1')).toEqual({
      subscriptionId: 'sub_1',
      instanceId: I,
      cycle: 5,
      kind: 'reservation',
      n: 1,
    });
  });

  it('handles subscriptionIds that themselves look like order ids', () => {
    expect(parseOrderId(chargeOrderId('a-0a1b2c3d-c1-a2', I, 7, 0))).toEqual({
      subscriptionId: 'a-0a1b2c3d-c1-a2',
      instanceId: I,
      cycle: 7,
      kind: 'first',
      n: 0,
    });
    expect(parseOrderId(chargeOrderId('x-c9', 'ffffffff', 1, 3))).toEqual({
      subscriptionId: 'x-c9',
      instanceId: 'ffffffff',
      cycle: 1,
      kind: 'charge',
      n: 3,
    });
  });

  it.each([
    '',
    'sub',
    'sub-c1',
    'sub-0a1b2c3d-c',
    'sub-0a1b2c3d-cX',
    '-0a1b2c3d-c1',
    'sub-0A1B2C3D-c1',
    'sub-0a1b2c3-c1',
    'sub-0a1b2c3d-c1-b2',
    'sub-0a1b2c3d-c1-a',
    'sub 0a1b2c3d-c1',
    `${'a'.repeat(65)}-0a1b2c3d-c1`,
    'sub-0a1b2c3d-c1-a2-r3',
  ])('returns undefined for %j', (id) => {
    expect(parseOrderId(id)).toBeUndefined();
  });
});

describe('order id properties', () => {
  it('depends only on its inputs: the documented form, however often and in whatever order it is called', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(subIdArb, instArb, fc.nat({ max: 1_000_000 }), fc.nat({ max: 999 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (calls) => {
          // Each call is checked against an oracle built from the documented form, so hidden state
          // (a counter, the clock, randomness) shows up as a mismatch on the repeated calls.
          for (const [id, inst, cycle, n] of [...calls, ...calls.slice().reverse()]) {
            const base = `${id}-${inst}-c${cycle}`;
            expect(chargeOrderId(id, inst, cycle, n)).toBe(n === 0 ? base : `${base}-a${n}`);
            expect(reservationOrderId(id, inst, cycle, n)).toBe(n === 0 ? base : `${base}-r${n}`);
          }
        },
      ),
    );
  });

  it('round-trips through parseOrderId', () => {
    fc.assert(
      fc.property(
        subIdArb,
        instArb,
        fc.nat({ max: 1_000_000 }),
        fc.nat({ max: 999 }),
        (id, inst, cycle, n) => {
          expect(parseOrderId(chargeOrderId(id, inst, cycle, n))).toEqual({
            subscriptionId: id,
            instanceId: inst,
            cycle,
            kind: n === 0 ? 'first' : 'charge',
            n,
          });
          expect(parseOrderId(reservationOrderId(id, inst, cycle, n))).toEqual({
            subscriptionId: id,
            instanceId: inst,
            cycle,
            kind: n === 0 ? 'first' : 'reservation',
            n,
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is injective: distinct (subscriptionId, instance, cycle, attempt) give distinct charge ids', () => {
    const part = fc.tuple(subIdArb, instArb, fc.nat({ max: 50 }), fc.nat({ max: 50 }));
    fc.assert(
      fc.property(part, part, (a, b) => {
        fc.pre(a.some((x, i) => x !== b[i]));
        expect(chargeOrderId(...a)).not.toBe(chargeOrderId(...b));
        expect(reservationOrderId(...a)).not.toBe(reservationOrderId(...b));
      }),
      { numRuns: 500 },
    );
  });

  it('is injective over (cycle, attempt) for one subscription (exhaustive 0..40 × 0..40)', () => {
    const seen = new Set<string>();
    for (let c = 0; c <= 40; c += 1)
      for (let a = 0; a <= 40; a += 1) seen.add(chargeOrderId('s-c1', I, c, a));
    expect(seen.size).toBe(41 * 41);
  });

  it('charge retries never collide with re-approval reservations of the same cycle (except the shared first form)', () => {
    fc.assert(
      fc.property(
        subIdArb,
        instArb,
        fc.nat({ max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (id, inst, c, a, r) => {
          expect(chargeOrderId(id, inst, c, a)).not.toBe(reservationOrderId(id, inst, c, r));
        },
      ),
    );
  });
});
