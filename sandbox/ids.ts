/** Seeded PRNG (mulberry32): the same seed gives the same ids and the same probabilistic faults. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REG_KEY_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const RESERVE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ID_BASE = 2026112600000000000n;

/**
 * Generates LINE Pay-shaped identifiers. Transaction ids are 19-digit decimal strings above 2^53 whose
 * low digits vary and that are never exactly representable as a JS number, so any client that routes
 * them through `JSON.parse`/`Number` corrupts them, as with real LINE Pay.
 */
export class IdFactory {
  readonly #random: () => number;
  #next: bigint;

  constructor(random: () => number) {
    this.#random = random;
    this.#next = ID_BASE + BigInt(Math.floor(random() * 1_000_000)) * 1_000_000n + 1n;
  }

  /** A 19-digit transactionId / refundTransactionId, as a digit string. */
  transactionId(): string {
    this.#next += 1n + BigInt(Math.floor(this.#random() * 97));
    // Multiples of 256 at this magnitude are exact doubles; skip them so precision loss always shows.
    if (this.#next % 256n === 0n) this.#next += 1n;
    return this.#next.toString();
  }

  /** A 15-character regKey such as `RK5C38F19XTF425`. */
  regKey(): string {
    return `RK${this.#pick(REG_KEY_ALPHABET, 13)}`;
  }

  /** The opaque id in `paymentUrl.web` / `paymentUrl.app`. */
  reserveId(): string {
    return this.#pick(RESERVE_ALPHABET, 32);
  }

  /** A 12-digit `paymentAccessToken`. */
  paymentAccessToken(): string {
    return this.#pick('0123456789', 12);
  }

  #pick(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.#random() * alphabet.length)] ?? '0';
    return out;
  }
}

/** `RK5C38F19XTF425` → `RK…F425`: what logs, the request log and the ledger show instead of a regKey. */
export function maskRegKey(regKey: string): string {
  if (regKey.length <= 6) return '…';
  return `${regKey.slice(0, 2)}…${regKey.slice(-4)}`;
}
