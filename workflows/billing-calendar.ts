import { parseDurationParts } from './duration.js';

/**
 * A billing interval split the way calendars need it: whole months (years × 12), whole days
 * (weeks × 7) and an exact time part. Months and days follow the wall clock of the subscription's
 * time zone; the time part is added as elapsed time.
 */
export interface BillingInterval {
  months: number;
  days: number;
  ms: number;
}

/** Shortest interval we bill on; anything shorter is a typo, not a plan. */
export const MIN_INTERVAL_MS = 10_000;

export function parseInterval(text: string): BillingInterval {
  const p = parseDurationParts(text);
  const interval = {
    months: p.years * 12 + p.months,
    days: p.weeks * 7 + p.days,
    ms: Math.round(((p.hours * 60 + p.minutes) * 60 + p.seconds) * 1000),
  };
  if (interval.months === 0 && interval.days === 0 && interval.ms < MIN_INTERVAL_MS) {
    throw new Error(
      `"${text}" is shorter than the minimum billing interval of ${MIN_INTERVAL_MS / 1000} seconds`,
    );
  }
  if (interval.months > 120 || interval.days > 3660 || interval.ms > 3660 * 86_400_000) {
    throw new Error(`"${text}" is longer than ten years`);
  }
  return interval;
}

interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/**
 * One formatter per zone. Building an Intl.DateTimeFormat costs ~1–2 ms, and a replay computes
 * due dates many times: at month-start scale that was a visible share of the worker's CPU. The
 * cache holds immutable formatters and changes no result, so it is safe in workflow code.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock formatter of `timeZone` (throws RangeError for an unknown zone). */
export function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClockAt(instant: number, timeZone: string): WallClock {
  const parts = zoneFormatter(timeZone).formatToParts(new Date(instant));
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

function utcOfWallClock(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
}

/** Offset of `timeZone` from UTC at `instant`, in ms. */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  return utcOfWallClock(wallClockAt(instant, timeZone)) - instant;
}

/**
 * The instant a wall-clock time names in `timeZone`. Where a DST gap skips the time, the later
 * offset wins; where a DST fold repeats it, the earlier instant wins (as RFC 5545 and Temporal's
 * `compatible` disambiguation do).
 */
function instantOfWallClock(w: WallClock, timeZone: string): number {
  const local = utcOfWallClock(w);
  const offsetBefore = zoneOffsetMs(local - 86_400_000, timeZone);
  const offsetAfter = zoneOffsetMs(local + 86_400_000, timeZone);
  const candidates = [local - offsetBefore, local - offsetAfter].filter(
    (t) => utcOfWallClock(wallClockAt(t, timeZone)) === local,
  );
  if (candidates.length > 0) return Math.min(...candidates);
  return local - offsetBefore; // in a gap: shift forward by the gap
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * `anchor + n × interval`, computed from the anchor every time (never cumulatively), so month-end
 * anchors clamp per month and recover: Jan 31 → Feb 29 → Mar 31 → Apr 30.
 */
export function addIntervals(anchor: number, interval: BillingInterval, n: number, timeZone: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`cycle offset must be a non-negative integer, got ${n}`);
  // n = 0 is the anchor itself; re-deriving it from the wall clock would move an anchor in the
  // second pass of a DST fold to the first pass, an hour before the anchor.
  if (n === 0) return anchor;
  let t = anchor;
  if (interval.months !== 0 || interval.days !== 0) {
    const w = wallClockAt(anchor, timeZone);
    const monthIndex = w.year * 12 + (w.month - 1) + interval.months * n;
    const year = Math.floor(monthIndex / 12);
    const month = (monthIndex % 12) + 1;
    const day = Math.min(w.day, daysInMonth(year, month));
    const shifted = new Date(Date.UTC(year, month - 1, day + interval.days * n));
    t = instantOfWallClock(
      { ...w, year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() },
      timeZone,
    );
  }
  return t + interval.ms * n;
}

/** Where a subscription's billing dates come from. */
export interface BillingCalendar {
  /** Instant (ms) at which cycle `firstCycle` is due. */
  anchor: number;
  /** The cycle number due at the anchor itself. */
  firstCycle: number;
  interval: BillingInterval;
  timeZone: string;
}

export function dueAt(calendar: BillingCalendar, cycle: number): number {
  if (cycle < calendar.firstCycle) throw new Error(`cycle ${cycle} precedes the calendar's first cycle`);
  return addIntervals(calendar.anchor, calendar.interval, cycle - calendar.firstCycle, calendar.timeZone);
}

/** The first cycle ≥ `minCycle` whose due date is at or after `instant` (resuming after a pause). */
export function firstCycleDueAtOrAfter(calendar: BillingCalendar, instant: number, minCycle: number): number {
  let cycle = Math.max(minCycle, calendar.firstCycle);
  // Jump close with an estimate, then walk: calendar months vary in length.
  const approxMs =
    calendar.interval.months * 30.436875 * 86_400_000 +
    calendar.interval.days * 86_400_000 +
    calendar.interval.ms;
  const estimate = calendar.firstCycle + Math.floor((instant - calendar.anchor) / approxMs) - 1;
  if (estimate > cycle) cycle = estimate;
  while (dueAt(calendar, cycle) < instant) cycle += 1;
  while (cycle > minCycle && cycle > calendar.firstCycle && dueAt(calendar, cycle - 1) >= instant) cycle -= 1;
  return cycle;
}
