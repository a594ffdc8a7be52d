const DURATION =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/** The parts of an ISO-8601 duration, as written (`P1Y2M3W4DT5H6M7.5S`). */
export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function parseDurationParts(text: string): DurationParts {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T'))
    throw new Error(`"${text}" is not an ISO-8601 duration such as P1M or PT30S`);
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  return { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A fixed-length duration in milliseconds, for timeouts and dunning offsets. Days count as 24 hours;
 * months and years have no fixed length, so they are refused here (the billing calendar handles them).
 */
export function parseDuration(text: string): number {
  const p = parseDurationParts(text);
  if (p.years !== 0 || p.months !== 0)
    throw new Error(`"${text}" uses months or years, which have no fixed length`);
  return (p.weeks * 7 + p.days) * DAY + p.hours * HOUR + p.minutes * MINUTE + Math.round(p.seconds * 1000);
}
