import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time token comparison; hashing first removes the length leak of `timingSafeEqual`. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
