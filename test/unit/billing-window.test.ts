import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zoneOffsetMs } from '../../workflows/billing-calendar.js';
import {
  type BillingWindow,
  BillingWindowError,
  billingWindowInstant,
  hashKey,
} from '../../workflows/billing-window.js';

const HOUR = 3_600_000;
const ZONES = ['Asia/Taipei', 'Asia/Bangkok', 'America/New_York', 'Europe/London', 'Australia/Sydney', 'UTC'];

/** Local wall-clock minutes after midnight and local date, by an independent formatter. */
function local(instant: number, timeZone: string): { date: string; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

// Window bounds away from 01:00-04:00, where these zones move their clocks, so the wall-clock check holds.
const bound = fc.integer({ min: 0, max: 20 * 4 }).map((q) => (q < 4 ? q * 15 : 240 + (q - 4) * 15));
const windowArb = fc
  .tuple(bound, bound)
  .filter(([a, b]) => a !== b)
  .map(([a, b]): BillingWindow => ({ start: hhmm(a), end: hhmm(b) }));
const instantArb = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 11, 31) });
const keyArb = fc.string({ minLength: 1, maxLength: 40 });

function inWindow(minutes: number, w: BillingWindow): boolean {
  const [s, e] = [w.start, w.end].map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)));
  return s! < e! ? minutes >= s! && minutes < e! : minutes >= s! || minutes < e!;
}

describe('billingWindowInstant', () => {
  it('is deterministic: same inputs, same instant', () => {
    fc.assert(
      fc.property(instantArb, fc.constantFrom(...ZONES), windowArb, keyArb, (due, zone, w, key) => {
        expect(billingWindowInstant(due, zone, w, key)).toBe(billingWindowInstant(due, zone, w, key));
      }),
    );
    // Pinned, so a change of hash or rule shows up as a diff (it would move live subscriptions' slots).
    expect(hashKey('sub_1:0a1b2c3d')).toBe(3_600_502_849);
    expect(
      new Date(
        billingWindowInstant(
          Date.UTC(2026, 11, 31, 16),
          'Asia/Taipei',
          { start: '00:00', end: '06:00' },
          'k',
        ),
      ).toISOString(),
    ).toBe(
      new Date(Date.UTC(2026, 11, 31, 16) + Math.floor((hashKey('k') / 2 ** 32) * 6 * HOUR)).toISOString(),
    );
  });

  it('lands inside the local window, never before the due instant, within two days', () => {
    fc.assert(
      fc.property(instantArb, fc.constantFrom(...ZONES), windowArb, keyArb, (due, zone, w, key) => {
        const at = billingWindowInstant(due, zone, w, key);
        expect(at).toBeGreaterThanOrEqual(due);
        expect(at - due).toBeLessThan(2 * 24 * HOUR + 2 * HOUR);
        expect(inWindow(local(at, zone).minutes, w)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('charges on the due date when the due instant precedes that day’s window', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        windowArb,
        keyArb,
        fc.integer({ min: 0, max: 400 }),
        (zone, w, key, d) => {
          const s = Number(w.start.slice(0, 2)) * 60 + Number(w.start.slice(3));
          fc.pre(s > 0 && s < Number(w.end.slice(0, 2)) * 60 + Number(w.end.slice(3)));
          // Just after local midnight of a day in 2026: before that day's window.
          const wall = Date.UTC(2026, 0, 1 + d);
          const due = wall - zoneOffsetMs(wall - zoneOffsetMs(wall, zone), zone) + 1;
          fc.pre(local(due, zone).minutes === 0);
          const at = billingWindowInstant(due, zone, w, key);
          expect(local(at, zone).date).toBe(local(due, zone).date);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads a month-start burst uniformly over the window', () => {
    const due = Date.UTC(2026, 11, 31, 16); // 2027-01-01 00:00 in Taipei
    const w = { start: '00:00', end: '06:00' };
    const buckets = new Array<number>(6).fill(0);
    const keys = 6_000;
    for (let i = 0; i < keys; i++) {
      const at = billingWindowInstant(due, 'Asia/Taipei', w, `sub_${i}:${(i * 2654435761) >>> 0}`);
      buckets[Math.floor((at - due) / HOUR)]! += 1;
    }
    // 1,000 per hour expected; a fair spread stays well within ±12 %.
    for (const count of buckets) expect(Math.abs(count - keys / 6)).toBeLessThan(120);
    // Sequential ids do not cluster either: neighbours land far apart on average.
    let gap = 0;
    for (let i = 0; i < 300; i++) {
      gap += Math.abs(
        billingWindowInstant(due, 'Asia/Taipei', w, `s${i}`) -
          billingWindowInstant(due, 'Asia/Taipei', w, `s${i + 1}`),
      );
    }
    expect(gap / 300).toBeGreaterThan(1.5 * HOUR);
  });

  it('uses the real length of the window on DST days (America/New_York)', () => {
    const w = { start: '00:00', end: '06:00' };
    const cases = [
      // 2026-03-08: 02:00 EST → 03:00 EDT, so 00:00-06:00 local is 05:00Z-10:00Z, five hours.
      { due: Date.UTC(2026, 2, 8, 5), start: Date.UTC(2026, 2, 8, 5), end: Date.UTC(2026, 2, 8, 10) },
      // 2026-11-01: 02:00 EDT → 01:00 EST, so 00:00-06:00 local is 04:00Z-11:00Z, seven hours.
      { due: Date.UTC(2026, 10, 1, 4), start: Date.UTC(2026, 10, 1, 4), end: Date.UTC(2026, 10, 1, 11) },
    ];
    for (const c of cases) {
      const slots = Array.from({ length: 1000 }, (_, i) =>
        billingWindowInstant(c.due, 'America/New_York', w, `dst-${i}`),
      );
      expect(Math.min(...slots)).toBeGreaterThanOrEqual(c.start);
      expect(Math.max(...slots)).toBeLessThan(c.end);
      // The whole real window is used: the last slots are near its real end, not six hours in.
      expect(c.end - Math.max(...slots)).toBeLessThan(0.05 * HOUR);
      expect(Math.min(...slots) - c.start).toBeLessThan(0.05 * HOUR);
    }
  });

  it('moves a window that starts in the spring-forward gap to the first real minute after it', () => {
    // 02:30 does not exist in New York on 2026-03-08; 03:30 EDT (07:30Z) is the first instant at or past it.
    const due = Date.UTC(2026, 2, 8, 5);
    for (let i = 0; i < 200; i++) {
      const at = billingWindowInstant(due, 'America/New_York', { start: '02:30', end: '04:00' }, `gap-${i}`);
      expect(at).toBeGreaterThanOrEqual(Date.UTC(2026, 2, 8, 7, 30));
      expect(at).toBeLessThan(Date.UTC(2026, 2, 8, 8));
    }
  });

  it('runs past midnight when end is before start, and the next window when today’s slot has passed', () => {
    const zone = 'Asia/Bangkok'; // UTC+7, no DST
    const w = { start: '22:00', end: '02:00' };
    const due = Date.UTC(2026, 5, 1, 17); // 2026-06-02 00:00 local: inside the window that opened at 22:00
    for (let i = 0; i < 200; i++) {
      const at = billingWindowInstant(due, zone, w, `x${i}`);
      expect(at).toBeGreaterThanOrEqual(due);
      const inOpenWindow = at < Date.UTC(2026, 5, 1, 19); // 02:00 local
      const inTonights = at >= Date.UTC(2026, 5, 2, 15) && at < Date.UTC(2026, 5, 2, 19);
      expect(inOpenWindow || inTonights).toBe(true);
    }
  });

  it('rejects a bad window, zone or instant with a typed error', () => {
    const bad: [unknown, string, number, string][] = [
      [{ start: '25:00', end: '06:00' }, 'UTC', 0, 'invalid_window'],
      [{ start: '00:00', end: '6:00' }, 'UTC', 0, 'invalid_window'],
      [{ start: '24:00', end: '06:00' }, 'UTC', 0, 'invalid_window'],
      [{ start: '03:00', end: '03:00' }, 'UTC', 0, 'invalid_window'],
      [{ start: '00:00', end: '06:00' }, 'Mars/Olympus', 0, 'invalid_time_zone'],
      [{ start: '00:00', end: '06:00' }, 'UTC', Number.NaN, 'invalid_instant'],
    ];
    for (const [w, zone, due, code] of bad) {
      let caught: unknown;
      try {
        billingWindowInstant(due, zone, w as BillingWindow, 'k');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(BillingWindowError);
      expect((caught as BillingWindowError).code).toBe(code);
    }
    expect(billingWindowInstant(0, 'UTC', { start: '00:00', end: '24:00' }, 'k')).toBeLessThan(24 * HOUR);
  });
});
