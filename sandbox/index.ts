import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxApp } from './app.js';
import { createSandboxControl, type SandboxControl } from './control.js';
import { createSandboxState, type SandboxBehaviour, type SandboxClock } from './state.js';

export type { SandboxRequestHandler } from './app.js';
export { createSandboxApp } from './app.js';
export type { SandboxControl } from './control.js';
export type { FaultAction, FaultApi, FaultRule } from './faults.js';
export {
  DEFAULT_DECLINE_CODE,
  DEFAULT_ERROR_AFTER_COMMIT_CODE,
  DEFAULT_UNKNOWN_RETURN_CODE,
} from './faults.js';
export type { SandboxBehaviour, SandboxClock, SandboxState, SandboxStateOptions } from './state.js';
export {
  createSandboxState,
  DEFAULT_BEHAVIOUR,
  DEFAULT_CHANNEL_ID,
  DEFAULT_CHANNEL_SECRET,
} from './state.js';
export type { LedgerEntry, RequestLogEntry } from './store.js';

export interface SandboxOptions {
  /** Default 0 (a random free port). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  channelId?: string;
  channelSecret?: string;
  /** Seeds ids and probabilistic faults; default 1. */
  seed?: number;
  merchantName?: string;
  /** How long a reservation waits for the user; default 20 min. */
  reservationTtlMs?: number;
  /** regKey lifetime since its last payment; default 180 days. */
  regKeyIdleLifetimeMs?: number;
  /**
   * Clock (ms) for reservation, approval-window, authorization and regKey idle expiry and every date
   * the sandbox writes; sync or async, default Date.now. Fault delays use real timers.
   */
  now?: SandboxClock;
  behaviour?: Partial<SandboxBehaviour>;
}

export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:43123`, no trailing slash. */
  url: string;
  channelId: string;
  channelSecret: string;
  control: SandboxControl;
  /** Stops listening and destroys every open (including hung) connection. */
  close(): Promise<void>;
}

/** Starts a LINE Pay v3 sandbox on `host:port` (port 0 by default) for tests and local runs. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<RunningSandbox> {
  const host = opts.host ?? '127.0.0.1';
  const state = createSandboxState({
    ...(opts.channelId !== undefined ? { channelId: opts.channelId } : {}),
    ...(opts.channelSecret !== undefined ? { channelSecret: opts.channelSecret } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.merchantName !== undefined ? { merchantName: opts.merchantName } : {}),
    ...(opts.reservationTtlMs !== undefined ? { reservationTtlMs: opts.reservationTtlMs } : {}),
    ...(opts.regKeyIdleLifetimeMs !== undefined ? { regKeyIdleLifetimeMs: opts.regKeyIdleLifetimeMs } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.behaviour !== undefined ? { behaviour: opts.behaviour } : {}),
  });
  await state.readClock();
  const server = createServer(createSandboxApp(state));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  state.config.baseUrl = `http://${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: state.config.baseUrl,
    channelId: state.config.channelId,
    channelSecret: state.config.channelSecret,
    control: createSandboxControl(state),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of state.held.timers) clearTimeout(timer);
        state.held.timers.clear();
        for (const socket of state.held.sockets) socket.destroy();
        state.held.sockets.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
