import { zoneFormatter } from './billing-calendar.js';

/**
 * A daily local-time window in which charges may run, e.g. `{ start: '00:00', end: '06:00' }`.
 * `end` may be `24:00`; an `end` at or before `start` means the window runs past midnight.
 */
export interface BillingWindow {
  start: string;
  end: string;
}

export type BillingWindowErrorCode = 'invalid_window' | 'invalid_time_zone' | 'invalid_instant';

export class BillingWindowError extends Error {
  override readonly name = 'BillingWindowError';
  constructor(
    readonly code: BillingWindowErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

function minutesOf(field: 'start' | 'end', text: unknown): number {
  const m = typeof text === 'string' ? /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text) : null;
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  if (!m || minutes > 24 * 60 || (field === 'start' && minutes === 24 * 60)) {
    throw new BillingWindowError(
      'invalid_window',
      `window ${field} must be HH:MM (00:00-23:59, end up to 24:00)`,
    );
  }
  return minutes;
}

/** The window in minutes after local midnight; `end` > 1440 when it runs past midnight. */
export function parseBillingWindow(window: BillingWindow): { startMin: number; endMin: number } {
  const startMin = minutesOf('start', window?.start);
  let endMin = minutesOf('end', window?.end);
  if (endMin === startMin) throw new BillingWindowError('invalid_window', 'window start and end are equal');
  if (endMin < startMin) endMin += 24 * 60;
  return { startMin, endMin };
}

/** Offset of `timeZone` from UTC at `instant`, in ms (whole seconds; same rule as billing-calendar.ts). */
function offsetMs(instant: number, timeZone: string): number {
  const f = zoneFormatter(timeZone);
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instant))) p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  const floorSecond = Math.floor(instant / 1000) * 1000;
  return wall - floorSecond;
}

/**
 * The instant that local wall-clock time `localMs` (a UTC-encoded wall time) names in `timeZone`. In a DST
 * gap the later offset wins; in a fold the earlier instant wins, as in billing-calendar.ts.
 */
function instantOfLocal(localMs: number, timeZone: string): number {
  const before = localMs - offsetMs(localMs - DAY_MS, timeZone);
  const after = localMs - offsetMs(localMs + DAY_MS, timeZone);
  const exact = [before, after].filter((t) => t + offsetMs(t, timeZone) === localMs);
  return exact.length > 0 ? Math.min(...exact) : before;
}

/** FNV-1a over the key's UTF-16 code units, then murmur3's finalizer so near-identical keys spread. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * When a charge due at `dueAtMs` runs under a billing window: the subscription's own slot in the first
 * window (in `timeZone`'s wall clock) whose slot is at or after the due instant. The slot sits at the
 * fraction `hashKey(key) / 2^32` of the window, so a month-start burst spreads uniformly over the window,
 * and the same key always gets the same place. Never earlier than `dueAtMs`; a due instant before the
 * window on its local date is charged that same date, one past its slot the next day.
 *
 * `key` must be stable for the subscription instance, e.g. `${subscriptionId}:${instanceId}`.
 * Pure and deterministic (Intl time-zone data only): safe in workflow code.
 */
export function billingWindowInstant(
  dueAtMs: number,
  timeZone: string,
  window: BillingWindow,
  key: string,
): number {
  if (!Number.isFinite(dueAtMs))
    throw new BillingWindowError('invalid_instant', 'due instant must be a finite number of ms');
  const { startMin, endMin } = parseBillingWindow(window);
  let offset: number;
  try {
    offset = offsetMs(dueAtMs, timeZone);
  } catch {
    throw new BillingWindowError('invalid_time_zone', `unknown time zone "${timeZone}"`);
  }
  const fraction = hashKey(key) / 2 ** 32;
  const localMidnight = Math.floor((dueAtMs + offset) / DAY_MS) * DAY_MS;
  // The window that started yesterday can still be open (past-midnight windows); tomorrow's always is later.
  for (let day = endMin > 24 * 60 ? -1 : 0; day <= 2; day++) {
    const base = localMidnight + day * DAY_MS;
    const start = instantOfLocal(base + startMin * MINUTE_MS, timeZone);
    const end = instantOfLocal(base + endMin * MINUTE_MS, timeZone);
    const slot = start + Math.floor(fraction * (end - start));
    if (slot >= dueAtMs) return slot;
  }
  // Unreachable: the window two days on starts after the due instant.
  throw new BillingWindowError('invalid_instant', 'no billing window after the due instant');
}
