import { type FaultRule, parseFaultRule } from './faults.js';
import { approveReservation, cancelReservation, regKeyStatus, type UserDecision } from './payments.js';
import type { SandboxBehaviour, SandboxState } from './state.js';
import type { LedgerEntry, RequestLogEntry } from './store.js';

/** Test-side handle on a running sandbox; the `/__sandbox/*` routes expose the same operations. */
export interface SandboxControl {
  setFaults(rules: FaultRule[]): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Every money movement (payments when captured, refunds), oldest first. */
  ledger(): LedgerEntry[];
  /** Every LINE Pay API call, regKeys masked. */
  requests(): RequestLogEntry[];
  /** As if the user pressed Approve; returns the confirmUrl with transactionId & orderId appended. */
  approve(transactionId: string): { redirectUrl: string };
  /** As if the user pressed Cancel; returns the cancelUrl. */
  cancel(transactionId: string): { redirectUrl: string };
  /** As if the user revoked the regKey or it aged out: later pay → 1193. */
  expireRegKey(regKey: string): void;
  /** Test-only visibility of the real (unmasked) regKeys. */
  regKeys(): { regKey: string; status: 'ACTIVE' | 'EXPIRED'; lastPaymentAt?: string }[];
  reset(): void;
  /** Changes answers to LINE Pay's open questions mid-run (e.g. a channel with capture separation). */
  setBehaviour(patch: Partial<SandboxBehaviour>): void;
  /**
   * Reads the clock. With an async clock the in-process calls above use its latest reading (API
   * calls and `/__sandbox` routes read it themselves); await this first after moving time.
   */
  readClock(): Promise<number>;
}

/** An approval with `confirmUrlType: SERVER` makes LINE Pay's server GET the confirmUrl itself. */
export function notifyMerchantServer(decision: UserDecision): void {
  if (decision.confirmUrlType !== 'SERVER' || decision.redirectUrl === '') return;
  fetch(decision.redirectUrl, { redirect: 'manual', signal: AbortSignal.timeout(20_000) }).then(
    (res) => res.body?.cancel(),
    () => undefined,
  );
}

export function createSandboxControl(state: SandboxState): SandboxControl {
  return {
    setFaults(rules) {
      state.faults.set(rules.map(parseFaultRule));
    },
    addFault(rule) {
      state.faults.add(parseFaultRule(rule));
    },
    clearFaults() {
      state.faults.clear();
    },
    ledger() {
      return state.store.ledger.map((e) => ({ ...e }));
    },
    requests() {
      return state.store.requests.map((e) => ({ ...e }));
    },
    approve(transactionId) {
      const decision = approveReservation(state, String(transactionId));
      notifyMerchantServer(decision);
      return { redirectUrl: decision.redirectUrl };
    },
    cancel(transactionId) {
      return { redirectUrl: cancelReservation(state, String(transactionId)).redirectUrl };
    },
    expireRegKey(regKey) {
      const rec = state.store.regKeys.get(regKey);
      if (!rec) throw new Error('unknown regKey');
      rec.revoked = true;
    },
    regKeys() {
      return [...state.store.regKeys.values()].map((rec) => ({
        regKey: rec.regKey,
        status: regKeyStatus(state, rec.regKey) ?? 'EXPIRED',
        lastPaymentAt: new Date(rec.lastPaymentAt).toISOString(),
      }));
    },
    reset() {
      state.reset();
    },
    setBehaviour(patch) {
      Object.assign(state.behaviour, patch);
    },
    readClock() {
      return state.readClock();
    },
  };
}
