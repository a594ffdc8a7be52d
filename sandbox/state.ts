import type { Socket } from 'node:net';
import { FaultBook } from './faults.js';
import { createPrng, IdFactory } from './ids.js';
import { SandboxStore } from './store.js';

/** Answers to LINE Pay's open questions (reference §12); each is a knob with the reference's default. */
export interface SandboxBehaviour {
  /** A definite decline on preapprovedPay uses up its orderId (a retry with it → 1172). Default true. */
  declinedAttemptConsumesOrderId: boolean;
  /** Code for a bad/missing signature, unknown channel or reused nonce. Default '1106'. */
  badSignatureReturnCode: string;
  /** Code when package/product sums do not add up. Default '2101'. */
  sumMismatchReturnCode: string;
  /** How long after user approval a confirm is still accepted (else 1180). Default 20 min. */
  authenticatedConfirmWindowMs: number;
  /** Lifetime of a capture=false authorization. Default 7 days. */
  authorizationLifetimeMs: number;
  /**
   * The channel may send a PREAPPROVED Request with capture=false (LINE Pay enables capture
   * separation per merchant). Default false: LINE Pay's sandbox answered 2103 to it (PY6).
   */
  preapprovedAuthorization: boolean;
  /** Append transactionId & orderId to cancelUrl too. Default true. */
  cancelUrlAppendsParams: boolean;
  /** Details shows refundAmount as a negative number. Default true. */
  negativeRefundAmountInDetails: boolean;
  /** preapprovedPay `info` carries orderId. Default true. */
  preapprovedInfoIncludesOrderId: boolean;
  /** A repeated confirm (1152) still carries `info` with the regKey. Default false. */
  repeatConfirmReturnsInfo: boolean;
  /** Accept `/v4/...` as an alias of `/v3/...`. Default true. */
  acceptV4Prefix: boolean;
}

export const DEFAULT_BEHAVIOUR: SandboxBehaviour = {
  declinedAttemptConsumesOrderId: true,
  badSignatureReturnCode: '1106',
  sumMismatchReturnCode: '2101',
  authenticatedConfirmWindowMs: 20 * 60_000,
  authorizationLifetimeMs: 7 * 24 * 3_600_000,
  preapprovedAuthorization: false,
  cancelUrlAppendsParams: true,
  negativeRefundAmountInDetails: true,
  preapprovedInfoIncludesOrderId: true,
  repeatConfirmReturnsInfo: false,
  acceptV4Prefix: true,
};

export interface SandboxConfig {
  channelId: string;
  channelSecret: string;
  merchantName: string;
  seed: number;
  reservationTtlMs: number;
  regKeyIdleLifetimeMs: number;
  /** Public base URL (no trailing slash), known once the server listens. */
  baseUrl: string;
}

/**
 * Milliseconds since the epoch, synchronously or not. An async clock lets the sandbox follow a
 * time-skipping test server (`() => testEnv.currentTimeMs()`).
 */
export type SandboxClock = () => number | Promise<number>;

/** Everything the request handler works on: config, clock, data, faults and id generation. */
export interface SandboxState {
  config: SandboxConfig;
  behaviour: SandboxBehaviour;
  /**
   * The time the handlers use: a sync clock is read on every call; an async one gives its latest
   * reading (each API call reads it right before it is applied, see {@link readClock}).
   */
  now: () => number;
  /** Reads the clock, awaiting an async one, and makes that reading the latest. */
  readClock(): Promise<number>;
  store: SandboxStore;
  faults: FaultBook;
  ids: IdFactory;
  /** Sockets held open by hang_after_commit, and pending timers; destroyed/cleared on close. */
  held: { sockets: Set<Socket>; timers: Set<NodeJS.Timeout> };
  /** Re-seeds PRNGs and empties the store. */
  reset(): void;
}

export interface SandboxStateOptions {
  channelId?: string;
  channelSecret?: string;
  seed?: number;
  merchantName?: string;
  reservationTtlMs?: number;
  regKeyIdleLifetimeMs?: number;
  now?: SandboxClock;
  behaviour?: Partial<SandboxBehaviour>;
  baseUrl?: string;
}

export const DEFAULT_CHANNEL_ID = '1234567890';
export const DEFAULT_CHANNEL_SECRET = 'sandbox-channel-secret-change-me';

export function createSandboxState(opts: SandboxStateOptions = {}): SandboxState {
  const seed = opts.seed ?? 1;
  const config: SandboxConfig = {
    channelId: opts.channelId ?? DEFAULT_CHANNEL_ID,
    channelSecret: opts.channelSecret ?? DEFAULT_CHANNEL_SECRET,
    merchantName: opts.merchantName ?? 'Sandbox Merchant',
    seed,
    reservationTtlMs: opts.reservationTtlMs ?? 20 * 60_000,
    regKeyIdleLifetimeMs: opts.regKeyIdleLifetimeMs ?? 180 * 24 * 3_600_000,
    baseUrl: opts.baseUrl ?? 'http://127.0.0.1:4000',
  };
  const clock = createClock(opts.now ?? Date.now);
  const state: SandboxState = {
    config,
    behaviour: { ...DEFAULT_BEHAVIOUR, ...opts.behaviour },
    now: clock.now,
    readClock: clock.read,
    store: new SandboxStore(),
    faults: new FaultBook(createPrng(seed ^ 0x5eed)),
    ids: new IdFactory(createPrng(seed)),
    held: { sockets: new Set(), timers: new Set() },
    reset() {
      state.store.reset();
      state.faults = new FaultBook(createPrng(seed ^ 0x5eed));
      state.ids = new IdFactory(createPrng(seed));
    },
  };
  return state;
}

function checkReading(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`sandbox clock must return milliseconds, got ${String(value)}`);
  return value;
}

/**
 * Wraps a sync or async clock. An async clock's `now()` is its highest reading so far (the
 * time-skipping clock never goes back, but readings may resolve out of order), or Date.now() before
 * the first one.
 */
function createClock(source: SandboxClock): { now: () => number; read: () => Promise<number> } {
  const first = source();
  if (!(first instanceof Promise)) {
    checkReading(first);
    const now = () => checkReading(source());
    return { now, read: async () => now() };
  }
  let latest: number | undefined;
  const record = (value: number): number => {
    latest = latest === undefined ? value : Math.max(latest, value);
    return latest;
  };
  // A bad first reading surfaces on the first readClock() (startSandbox awaits one).
  first.then((value) => record(checkReading(value))).catch(() => undefined);
  return {
    now: () => latest ?? Date.now(),
    read: async () => record(checkReading(await source())),
  };
}
