import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addIntervals,
  type BillingCalendar,
  type BillingInterval,
  daysInMonth,
  dueAt,
  firstCycleDueAtOrAfter,
  MIN_INTERVAL_MS,
  parseInterval,
  zoneOffsetMs,
} from '../../workflows/billing-calendar.js';

const TAIPEI = 'Asia/Taipei';
const NEW_YORK = 'America/New_York';
const LONDON = 'Europe/London';
const BANGKOK = 'Asia/Bangkok';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Independent reading of the wall clock in a zone (test-side; not the module's helper). */
function wall(instant: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
    ms: ((instant % 1000) + 1000) % 1000,
  };
}

function dues(anchorIso: string, interval: string, count: number, timeZone: string): string[] {
  const anchor = Date.parse(anchorIso);
  const iv = parseInterval(interval);
  return Array.from({ length: count }, (_, n) =>
    new Date(addIntervals(anchor, iv, n, timeZone)).toISOString(),
  );
}

describe('parseInterval', () => {
  it.each<[string, BillingInterval]>([
    ['P1M', { months: 1, days: 0, ms: 0 }],
    ['P3M', { months: 3, days: 0, ms: 0 }],
    ['P1Y', { months: 12, days: 0, ms: 0 }],
    ['P10Y', { months: 120, days: 0, ms: 0 }],
    ['P120M', { months: 120, days: 0, ms: 0 }],
    ['P1W', { months: 0, days: 7, ms: 0 }],
    ['P1D', { months: 0, days: 1, ms: 0 }],
    ['PT30S', { months: 0, days: 0, ms: 30_000 }],
    ['PT10S', { months: 0, days: 0, ms: 10_000 }],
    ['PT1H30M', { months: 0, days: 0, ms: 5_400_000 }],
    ['PT12.5S', { months: 0, days: 0, ms: 12_500 }],
    ['P1Y2M3W4DT5H6M7.5S', { months: 14, days: 25, ms: 18_367_500 }],
  ])('%s → %o', (text, expected) => {
    expect(parseInterval(text)).toEqual(expected);
  });

  it.each(['', 'P', 'PT', 'P1DT', '1M', 'P1.5M', '-P1M', 'P-1M', 'p1m', 'P1M ', 'PT1.2345S', 'P1S'])(
    'rejects %j as not a duration',
    (text) => {
      expect(() => parseInterval(text)).toThrow(`"${text}" is not an ISO-8601 duration such as P1M or PT30S`);
    },
  );

  it.each(['PT5S', 'PT9.999S', 'PT0S', 'P0D', 'P0M'])('rejects %s as shorter than the minimum', (text) => {
    expect(MIN_INTERVAL_MS).toBe(10_000);
    expect(() => parseInterval(text)).toThrow(
      `"${text}" is shorter than the minimum billing interval of 10 seconds`,
    );
  });

  it.each(['P11Y', 'P121M', 'P10Y1M'])('rejects %s as longer than ten years', (text) => {
    expect(() => parseInterval(text)).toThrow(`"${text}" is longer than ten years`);
  });
});

describe('daysInMonth / zoneOffsetMs', () => {
  it.each([
    [2028, 2, 29],
    [2027, 2, 28],
    [2032, 2, 29],
    [2100, 2, 28],
    [2000, 2, 29],
    [2027, 1, 31],
    [2027, 4, 30],
    [2027, 12, 31],
    [2027, 11, 30],
  ])('daysInMonth(%i, %i) = %i', (y, m, d) => {
    expect(daysInMonth(y, m)).toBe(d);
  });

  it('reads zone offsets, following DST', () => {
    const winter = Date.parse('2026-01-15T12:00:00Z');
    const summer = Date.parse('2026-07-15T12:00:00Z');
    expect(zoneOffsetMs(winter, TAIPEI)).toBe(8 * HOUR);
    expect(zoneOffsetMs(summer, TAIPEI)).toBe(8 * HOUR);
    expect(zoneOffsetMs(winter, BANGKOK)).toBe(7 * HOUR);
    expect(zoneOffsetMs(winter, NEW_YORK)).toBe(-5 * HOUR);
    expect(zoneOffsetMs(summer, NEW_YORK)).toBe(-4 * HOUR);
    expect(zoneOffsetMs(winter, LONDON)).toBe(0);
    expect(zoneOffsetMs(summer, LONDON)).toBe(HOUR);
    expect(zoneOffsetMs(summer + 123, 'UTC')).toBe(0);
  });
});

describe('addIntervals: month-end clamping in Asia/Taipei', () => {
  it('P1M from Jan 31 in a leap year (2028): Feb 29, Mar 31, Apr 30, May 31', () => {
    expect(dues('2028-01-31T10:15:00+08:00', 'P1M', 6, TAIPEI)).toEqual([
      '2028-01-31T02:15:00.000Z',
      '2028-02-29T02:15:00.000Z',
      '2028-03-31T02:15:00.000Z',
      '2028-04-30T02:15:00.000Z',
      '2028-05-31T02:15:00.000Z',
      '2028-06-30T02:15:00.000Z',
    ]);
  });

  it('P1M from Jan 31 in a non-leap year (2027): Feb 28, then recovers to the 31st', () => {
    expect(dues('2027-01-31T23:30:00+08:00', 'P1M', 4, TAIPEI)).toEqual([
      '2027-01-31T15:30:00.000Z',
      '2027-02-28T15:30:00.000Z',
      '2027-03-31T15:30:00.000Z',
      '2027-04-30T15:30:00.000Z',
    ]);
  });

  it('clamps by the day in the zone, not the UTC day (00:30 Taipei is the previous UTC day)', () => {
    // Local Jan 31 00:30 = UTC Jan 30 16:30. A UTC-based calendar would land on Feb 29 16:30Z.
    expect(dues('2028-01-31T00:30:00+08:00', 'P1M', 3, TAIPEI)).toEqual([
      '2028-01-30T16:30:00.000Z',
      '2028-02-28T16:30:00.000Z',
      '2028-03-30T16:30:00.000Z',
    ]);
  });

  it('computes every due date from the anchor, never cumulatively', () => {
    const anchor = Date.parse('2027-01-31T09:00:00+08:00');
    const iv = parseInterval('P1M');
    const feb = addIntervals(anchor, iv, 1, TAIPEI);
    // Stepping from the clamped Feb 28 would give Mar 28; the calendar gives Mar 31.
    expect(new Date(addIntervals(feb, iv, 1, TAIPEI)).toISOString()).toBe('2027-03-28T01:00:00.000Z');
    expect(new Date(addIntervals(anchor, iv, 2, TAIPEI)).toISOString()).toBe('2027-03-31T01:00:00.000Z');
  });

  it('P3M from Aug 31: Nov 30, Feb 29 (2028), May 31, Aug 31, Nov 30', () => {
    expect(dues('2027-08-31T12:00:00+08:00', 'P3M', 6, TAIPEI)).toEqual([
      '2027-08-31T04:00:00.000Z',
      '2027-11-30T04:00:00.000Z',
      '2028-02-29T04:00:00.000Z',
      '2028-05-31T04:00:00.000Z',
      '2028-08-31T04:00:00.000Z',
      '2028-11-30T04:00:00.000Z',
    ]);
  });

  it('P1Y from Feb 29 2028: Feb 28 in non-leap years, Feb 29 again in 2032', () => {
    expect(dues('2028-02-29T12:00:00+08:00', 'P1Y', 6, TAIPEI)).toEqual([
      '2028-02-29T04:00:00.000Z',
      '2029-02-28T04:00:00.000Z',
      '2030-02-28T04:00:00.000Z',
      '2031-02-28T04:00:00.000Z',
      '2032-02-29T04:00:00.000Z',
      '2033-02-28T04:00:00.000Z',
    ]);
  });

  it('P1Y crosses year boundaries and P12M equals P1Y', () => {
    expect(dues('2027-12-31T08:00:00+08:00', 'P12M', 3, TAIPEI)).toEqual(
      dues('2027-12-31T08:00:00+08:00', 'P1Y', 3, TAIPEI),
    );
    expect(dues('2027-11-30T08:00:00+08:00', 'P1M', 4, TAIPEI)).toEqual([
      '2027-11-30T00:00:00.000Z',
      '2027-12-30T00:00:00.000Z',
      '2028-01-30T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ]);
  });

  it('P1W and P1D keep the time of day and run through Feb 29', () => {
    expect(dues('2028-02-26T09:00:00+08:00', 'P1W', 3, TAIPEI)).toEqual([
      '2028-02-26T01:00:00.000Z',
      '2028-03-04T01:00:00.000Z',
      '2028-03-11T01:00:00.000Z',
    ]);
    expect(dues('2028-02-28T09:00:00+08:00', 'P1D', 3, TAIPEI)).toEqual([
      '2028-02-28T01:00:00.000Z',
      '2028-02-29T01:00:00.000Z',
      '2028-03-01T01:00:00.000Z',
    ]);
  });

  it('preserves milliseconds of the anchor', () => {
    expect(dues('2028-01-31T10:15:42.123+08:00', 'P1M', 2, TAIPEI)[1]).toBe('2028-02-29T02:15:42.123Z');
  });

  it('Asia/Bangkok (UTC+7) clamps in its own zone', () => {
    expect(dues('2027-01-31T20:00:00+07:00', 'P1M', 3, BANGKOK)).toEqual([
      '2027-01-31T13:00:00.000Z',
      '2027-02-28T13:00:00.000Z',
      '2027-03-31T13:00:00.000Z',
    ]);
  });
});

describe('addIntervals: time units are exact elapsed time', () => {
  it('PT30S adds exactly 30 000 ms per cycle in any zone', () => {
    const anchor = Date.parse('2026-03-08T06:59:45.500Z'); // 01:59:45.5 EST, 15 s before the NY gap
    const iv = parseInterval('PT30S');
    for (const tz of [NEW_YORK, TAIPEI, LONDON]) {
      expect(addIntervals(anchor, iv, 0, tz)).toBe(anchor);
      expect(addIntervals(anchor, iv, 1, tz)).toBe(anchor + 30_000);
      expect(addIntervals(anchor, iv, 1000, tz)).toBe(anchor + 30_000_000);
    }
  });

  it('PT24H is elapsed time across DST while P1D is wall-clock time', () => {
    const anchor = Date.parse('2026-03-07T14:00:00Z'); // 09:00 EST, the day before DST starts
    expect(new Date(addIntervals(anchor, parseInterval('PT24H'), 1, NEW_YORK)).toISOString()).toBe(
      '2026-03-08T14:00:00.000Z', // 10:00 EDT
    );
    expect(new Date(addIntervals(anchor, parseInterval('P1D'), 1, NEW_YORK)).toISOString()).toBe(
      '2026-03-08T13:00:00.000Z', // 09:00 EDT
    );
  });

  it('rejects negative, fractional and non-finite offsets', () => {
    const iv = parseInterval('P1M');
    expect(() => addIntervals(0, iv, -1, TAIPEI)).toThrow(
      'cycle offset must be a non-negative integer, got -1',
    );
    expect(() => addIntervals(0, iv, 1.5, TAIPEI)).toThrow(
      'cycle offset must be a non-negative integer, got 1.5',
    );
    expect(() => addIntervals(0, iv, Number.NaN, TAIPEI)).toThrow(
      'cycle offset must be a non-negative integer, got NaN',
    );
  });
});

describe('addIntervals: DST zones keep the wall-clock time', () => {
  it('America/New_York P1W: 09:00 EST → 09:00 EDT across the March change', () => {
    expect(dues('2026-03-01T09:00:00-05:00', 'P1W', 3, NEW_YORK)).toEqual([
      '2026-03-01T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
      '2026-03-15T13:00:00.000Z',
    ]);
  });

  it('America/New_York P1D: 09:00 EDT → 09:00 EST across the November change', () => {
    expect(dues('2026-10-31T09:00:00-04:00', 'P1D', 3, NEW_YORK)).toEqual([
      '2026-10-31T13:00:00.000Z',
      '2026-11-01T14:00:00.000Z',
      '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('New York gap: 02:30 does not exist on 2026-03-08, so it moves forward to 03:30 EDT; next month is 02:30 again', () => {
    expect(dues('2026-02-08T02:30:00-05:00', 'P1M', 3, NEW_YORK)).toEqual([
      '2026-02-08T07:30:00.000Z',
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-04-08T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('New York fold: 01:30 on 2026-11-01 happens twice; the earlier (EDT) instant wins', () => {
    expect(dues('2026-10-01T01:30:00-04:00', 'P1M', 3, NEW_YORK)).toEqual([
      '2026-10-01T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, not 01:30 EST (06:30Z)
      '2026-12-01T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('an anchor in the second pass of a fold is itself cycle 0 (not moved an hour earlier)', () => {
    const anchor = Date.parse('2026-11-01T01:30:00-05:00'); // 01:30 EST, second pass
    for (const interval of ['P1M', 'P1D', 'P1W']) {
      expect(addIntervals(anchor, parseInterval(interval), 0, NEW_YORK)).toBe(anchor);
    }
    const cal: BillingCalendar = {
      anchor,
      firstCycle: 1,
      interval: parseInterval('P1M'),
      timeZone: NEW_YORK,
    };
    expect(dueAt(cal, 1)).toBe(anchor);
    expect(new Date(dueAt(cal, 2)).toISOString()).toBe('2026-12-01T06:30:00.000Z');
  });

  it('Europe/London: 09:00 GMT stays 09:00 BST', () => {
    expect(dues('2026-03-01T09:00:00Z', 'P1M', 3, LONDON)).toEqual([
      '2026-03-01T09:00:00.000Z',
      '2026-04-01T08:00:00.000Z',
      '2026-05-01T08:00:00.000Z',
    ]);
  });

  it('Europe/London gap (01:30 on 2026-03-29) moves to 02:30 BST; fold (01:30 on 2026-10-25) takes BST', () => {
    expect(dues('2026-01-29T01:30:00Z', 'P1M', 4, LONDON)).toEqual([
      '2026-01-29T01:30:00.000Z',
      '2026-02-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z', // 02:30 BST
      '2026-04-29T00:30:00.000Z', // 01:30 BST
    ]);
    expect(dues('2026-09-25T01:30:00+01:00', 'P1M', 3, LONDON)).toEqual([
      '2026-09-25T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // 01:30 BST (first pass)
      '2026-11-25T01:30:00.000Z', // 01:30 GMT
    ]);
  });
});

describe('dueAt', () => {
  const cal: BillingCalendar = {
    anchor: Date.parse('2028-01-31T10:00:00+08:00'),
    firstCycle: 1,
    interval: parseInterval('P1M'),
    timeZone: TAIPEI,
  };

  it('cycle firstCycle is the anchor; later cycles count from it', () => {
    expect(dueAt(cal, 1)).toBe(cal.anchor);
    expect(new Date(dueAt(cal, 2)).toISOString()).toBe('2028-02-29T02:00:00.000Z');
    expect(new Date(dueAt(cal, 13)).toISOString()).toBe('2029-01-31T02:00:00.000Z');
  });

  it('refuses cycles before the first', () => {
    expect(() => dueAt(cal, 0)).toThrow("cycle 0 precedes the calendar's first cycle");
  });
});

describe('firstCycleDueAtOrAfter', () => {
  const cal: BillingCalendar = {
    anchor: Date.parse('2028-01-31T10:00:00+08:00'),
    firstCycle: 0,
    interval: parseInterval('P1M'),
    timeZone: TAIPEI,
  };

  it('returns the cycle due exactly at the instant, or the next one just after it', () => {
    const feb = dueAt(cal, 1);
    expect(firstCycleDueAtOrAfter(cal, feb, 0)).toBe(1);
    expect(firstCycleDueAtOrAfter(cal, feb + 1, 0)).toBe(2);
    expect(firstCycleDueAtOrAfter(cal, feb - 1, 0)).toBe(1);
  });

  it('never returns less than minCycle or the first cycle', () => {
    expect(firstCycleDueAtOrAfter(cal, cal.anchor - 365 * DAY, 5)).toBe(5);
    expect(firstCycleDueAtOrAfter({ ...cal, firstCycle: 3 }, cal.anchor - 365 * DAY, 0)).toBe(3);
  });

  it('jumps far ahead correctly (10 years of monthly cycles)', () => {
    const t = Date.parse('2038-02-15T00:00:00Z');
    // Due dates: ... 2038-01-31, 2038-02-28 (cycle 121).
    expect(firstCycleDueAtOrAfter(cal, t, 0)).toBe(121);
    expect(new Date(dueAt(cal, 121)).toISOString()).toBe('2038-02-28T02:00:00.000Z');
  });
});

// ---- properties --------------------------------------------------------------------------------

const ZONES = [TAIPEI, NEW_YORK, LONDON, BANGKOK, 'UTC'] as const;
const INTERVALS = ['P1M', 'P3M', 'P1Y', 'P1W', 'P1D', 'PT30S'] as const;
const MIN_ANCHOR = Date.parse('2020-01-01T00:00:00Z');
const MAX_ANCHOR = Date.parse('2040-12-31T23:59:59Z');

const anchorArb = fc.integer({ min: MIN_ANCHOR, max: MAX_ANCHOR });
const zoneArb = fc.constantFrom(...ZONES);
const intervalArb = fc.constantFrom(...INTERVALS);

/** Whether `w` names a wall-clock time that does not exist in `timeZone` (DST gap) near `near`. */
function inGap(localMs: number, timeZone: string): boolean {
  for (const offset of [zoneOffsetMs(localMs - DAY, timeZone), zoneOffsetMs(localMs + DAY, timeZone)]) {
    const t = localMs - offset;
    const w = wall(t, timeZone);
    if (Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms) === localMs) return false;
  }
  return true;
}

describe('properties', () => {
  it('due(n) is strictly increasing in n', () => {
    fc.assert(
      fc.property(
        anchorArb,
        zoneArb,
        intervalArb,
        fc.integer({ min: 0, max: 400 }),
        (anchor, tz, text, n) => {
          const iv = parseInterval(text);
          expect(addIntervals(anchor, iv, n + 1, tz)).toBeGreaterThan(addIntervals(anchor, iv, n, tz));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('month intervals land on min(anchor day, days in month) in the zone, at the anchor’s wall time', () => {
    fc.assert(
      fc.property(
        anchorArb,
        zoneArb,
        fc.constantFrom('P1M', 'P3M', 'P1Y'),
        fc.integer({ min: 0, max: 200 }),
        (anchor, tz, text, n) => {
          const iv = parseInterval(text);
          const a = wall(anchor, tz);
          const due = addIntervals(anchor, iv, n, tz);
          const d = wall(due, tz);
          const monthIndex = a.year * 12 + a.month - 1 + iv.months * n;
          expect(d.year).toBe(Math.floor(monthIndex / 12));
          expect(d.month).toBe((monthIndex % 12) + 1);
          expect(d.day).toBe(Math.min(a.day, daysInMonth(d.year, d.month)));
          const wanted = Date.UTC(d.year, d.month - 1, d.day, a.hour, a.minute, a.second, a.ms);
          const got = Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second, d.ms);
          if (n === 0) expect(due).toBe(anchor);
          else if (inGap(wanted, tz))
            expect(got - wanted).toBe(HOUR); // pushed forward past the gap
          else expect(got).toBe(wanted);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('day intervals keep the wall time and advance the calendar date by n × days', () => {
    fc.assert(
      fc.property(
        anchorArb,
        zoneArb,
        fc.constantFrom('P1W', 'P1D'),
        fc.integer({ min: 0, max: 800 }),
        (anchor, tz, text, n) => {
          const iv = parseInterval(text);
          const a = wall(anchor, tz);
          const due = addIntervals(anchor, iv, n, tz);
          const d = wall(due, tz);
          const date = new Date(Date.UTC(a.year, a.month - 1, a.day + iv.days * n));
          expect([d.year, d.month, d.day]).toEqual([
            date.getUTCFullYear(),
            date.getUTCMonth() + 1,
            date.getUTCDate(),
          ]);
          const wanted = Date.UTC(d.year, d.month - 1, d.day, a.hour, a.minute, a.second, a.ms);
          const got = Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second, d.ms);
          if (n === 0) expect(due).toBe(anchor);
          else if (inGap(wanted, tz)) expect(got - wanted).toBe(HOUR);
          else expect(got).toBe(wanted);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no drift: dueAt(firstCycle + n) equals anchor + n × interval, and re-basing on an unclamped due date changes nothing', () => {
    fc.assert(
      fc.property(
        anchorArb,
        zoneArb,
        intervalArb,
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 120 }),
        (anchor, tz, text, firstCycle, k, m) => {
          const iv = parseInterval(text);
          const cal: BillingCalendar = { anchor, firstCycle, interval: iv, timeZone: tz };
          const direct = addIntervals(anchor, iv, k + m, tz);
          expect(dueAt(cal, firstCycle + k + m)).toBe(direct);
          // Independent oracle from the wall clock: the calendar date n intervals on (month ends
          // clamped), with the anchor's minutes, seconds and milliseconds.
          const n = k + m;
          const due = wall(dueAt(cal, firstCycle + n), tz);
          const a0 = wall(anchor, tz);
          if (iv.ms > 0) {
            expect(dueAt(cal, firstCycle + n) - anchor).toBe(iv.ms * n);
          } else {
            const monthIndex = a0.year * 12 + (a0.month - 1) + iv.months * n;
            const lastDay = new Date(
              Date.UTC(Math.floor(monthIndex / 12), (monthIndex % 12) + 1, 0),
            ).getUTCDate();
            const date = new Date(
              Date.UTC(Math.floor(monthIndex / 12), monthIndex % 12, Math.min(a0.day, lastDay) + iv.days * n),
            );
            expect([due.year, due.month, due.day]).toEqual([
              date.getUTCFullYear(),
              date.getUTCMonth() + 1,
              date.getUTCDate(),
            ]);
            expect([due.minute, due.second, due.ms]).toEqual([a0.minute, a0.second, a0.ms]);
          }
          // Re-basing is only lossless where nothing was clamped or shifted: day ≤ 28 and away
          // from the 01:00-03:00 DST window of New York and London.
          const a = wall(anchor, tz);
          fc.pre(
            iv.ms > 0 || (a.day <= 28 && (a.hour >= 4 || tz === TAIPEI || tz === BANGKOK || tz === 'UTC')),
          );
          const rebased = addIntervals(addIntervals(anchor, iv, k, tz), iv, m, tz);
          expect(rebased).toBe(direct);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('firstCycleDueAtOrAfter returns the least cycle ≥ max(minCycle, firstCycle) due at or after the instant', () => {
    const approx: Record<(typeof INTERVALS)[number], number> = {
      P1M: 30 * DAY,
      P3M: 91 * DAY,
      P1Y: 365 * DAY,
      P1W: 7 * DAY,
      P1D: DAY,
      PT30S: 30_000,
    };
    fc.assert(
      fc.property(
        anchorArb,
        zoneArb,
        intervalArb,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: -3, max: 150, noNaN: true }),
        fc.boolean(),
        (anchor, tz, text, firstCycle, minCycle, position, exact) => {
          const cal: BillingCalendar = { anchor, firstCycle, interval: parseInterval(text), timeZone: tz };
          let instant = anchor + Math.round(position * approx[text]);
          if (exact && position >= 0) instant = dueAt(cal, firstCycle + Math.floor(position));
          let expected = Math.max(minCycle, firstCycle);
          while (dueAt(cal, expected) < instant) expected += 1;
          expect(firstCycleDueAtOrAfter(cal, instant, minCycle)).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('interval bounds', () => {
  it.each(['P4000D', 'P600W', 'PT999999H'])('refuses %s as longer than ten years', (text) => {
    expect(() => parseInterval(text)).toThrow(`"${text}" is longer than ten years`);
  });
});
