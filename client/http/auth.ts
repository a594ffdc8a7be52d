import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time token comparison; hashing first removes the length leak of `timingSafeEqual`. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** True when `given` equals one of `expected`; every candidate is compared, so timing tells nothing. */
export function anyTokenMatches(given: string, expected: readonly string[]): boolean {
  let ok = false;
  for (const token of expected) if (tokenMatches(given, token)) ok = true;
  return ok;
}
