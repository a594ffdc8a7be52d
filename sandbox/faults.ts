/** The LINE Pay API a fault rule targets; `'*'` matches every API. */
export type FaultApi =
  | 'request'
  | 'confirm'
  | 'preapprovedPay'
  | 'checkRegKey'
  | 'expireRegKey'
  | 'details'
  | 'checkStatus'
  | 'refund'
  | 'capture'
  | 'void'
  | '*';

/**
 * What a fault does. "Commit" is the moment the sandbox applies the call (charges, refunds, uses up the
 * orderId). Before-commit kinds leave no trace but the request log; after-commit kinds change the
 * sandbox first and then lie about it or lose the answer.
 */
export type FaultAction =
  /** Waits `ms`, then commits and answers normally (the commit happens AFTER the wait, even if the client left). */
  | { kind: 'latency'; ms: number }
  /** HTTP `status` without an envelope; nothing committed. */
  | { kind: 'http_error'; status: number }
  /** Commits, then destroys the connection without a reply. */
  | { kind: 'drop_after_commit' }
  /** Commits, then never answers (or answers after `ms`). */
  | { kind: 'hang_after_commit'; ms?: number }
  /**
   * preapprovedPay only: a definite decline (`code`, default 1142) that uses up the orderId whatever
   * `declinedAttemptConsumesOrderId` says, then the connection is destroyed without a reply.
   */
  | { kind: 'decline_then_drop'; code?: string }
  /**
   * Commits, then answers an error: HTTP `status` (500..599) without an envelope, or an envelope with
   * `code` (HTTP `status` or 200). Neither given: return code 9000 over HTTP 200.
   */
  | { kind: 'error_after_commit'; status?: number; code?: string }
  /**
   * A return code the sandbox does not document (default 1297, which is in no LINE Pay list). Before
   * commit by default (nothing happens; preapprovedPay's orderId is used up only with
   * `consumesOrderId: true`); with `afterCommit: true` the call is applied first.
   */
  | { kind: 'unknown_return_code'; code?: string; afterCommit?: boolean; consumesOrderId?: boolean }
  /**
   * An answer later than the client's read timeout (pick `ms` above it). `commit` says when the call is
   * applied: `before_delay` (the client times out on a committed call) or `after_delay` (the call is
   * applied once `ms` have passed, even though the client has given up; the regKey stays busy meanwhile).
   */
  | { kind: 'delayed_answer'; ms: number; commit: 'before_delay' | 'after_delay' }
  | {
      kind: 'return_code';
      code: string;
      message?: string;
      /**
       * Whether a preapprovedPay attempt failed this way uses up its orderId (a retry with it gets 1172).
       * Default: `behaviour.declinedAttemptConsumesOrderId` for decline codes; never for ambiguous
       * codes (1145, 1170, 1197, 1198, 1199, 9000, 1900, 1902).
       */
      consumesOrderId?: boolean;
    };

/** One fault: applies to calls of `api` whose context matches every field of `match`. */
export type FaultRule = {
  api: FaultApi;
  match?: { orderId?: string; amount?: number; regKey?: string; transactionId?: string };
  times?: number;
  probability?: number;
  action: FaultAction;
};

/** What the app knows about a call when faults are decided; lists because details takes several ids. */
export interface FaultContext {
  orderIds: string[];
  transactionIds: string[];
  amount?: number;
  regKey?: string;
}

export type TerminalFault = Exclude<FaultAction, { kind: 'latency' }>;

/** Default code of `unknown_return_code`: 1297 sits between documented codes and is in no list. */
export const DEFAULT_UNKNOWN_RETURN_CODE = '1297';
/** Default code of `decline_then_drop`: insufficient balance, a soft decline. */
export const DEFAULT_DECLINE_CODE = '1142';
/** Default code of `error_after_commit` without `status`/`code`. */
export const DEFAULT_ERROR_AFTER_COMMIT_CODE = '9000';

/**
 * Every return code LINE Pay documents (reference §10); `unknown_return_code` refuses these so a
 * rule meant to test the unknown-code path cannot silently test a known one.
 */
const DOCUMENTED_CODES: ReadonlySet<string> = new Set([
  ...['0000', '0110', '0121', '0122', '0123', '1101', '1102', '1104', '1105', '1106', '1110', '1124'],
  ...['1141', '1142', '1145', '1150', '1152', '1153', '1154', '1155', '1159', '1163', '1164', '1165'],
  ...['1169', '1170', '1172', '1177', '1178', '1179', '1180', '1183', '1184', '1190', '1193', '1194'],
  ...['1197', '1198', '1199', '1900', '1902', '1999', '2101', '2102', '2103', '9000'],
  ...Array.from({ length: 19 }, (_, i) => String(1280 + i)).filter((c) => c !== '1297'),
]);

export function isDocumentedReturnCode(code: string): boolean {
  return DOCUMENTED_CODES.has(code);
}

export interface FaultDecision {
  latencyMs: number;
  /** The first matching non-latency rule, if any. */
  action?: TerminalFault;
  /** Human-readable names of the rules that fired, for the request log. */
  applied: string[];
}

const AMBIGUOUS_CODES = new Set(['1145', '1170', '1197', '1198', '1199', '9000', '1900', '1902']);

/** Whether a faked business error should be treated as a definite decline (may consume the orderId). */
export function isDeclineCode(code: string): boolean {
  return !AMBIGUOUS_CODES.has(code);
}

export function describeFault(action: FaultAction): string {
  switch (action.kind) {
    case 'latency':
      return `latency:${action.ms}`;
    case 'http_error':
      return `http_error:${action.status}`;
    case 'return_code':
      return `return_code:${action.code}`;
    case 'hang_after_commit':
      return action.ms === undefined ? 'hang_after_commit' : `hang_after_commit:${action.ms}`;
    case 'drop_after_commit':
      return 'drop_after_commit';
    case 'decline_then_drop':
      return `decline_then_drop:${action.code ?? DEFAULT_DECLINE_CODE}`;
    case 'error_after_commit': {
      const code = action.code ?? (action.status === undefined ? DEFAULT_ERROR_AFTER_COMMIT_CODE : undefined);
      const parts = [
        'error_after_commit',
        code,
        action.status === undefined ? undefined : `http${action.status}`,
      ];
      return parts.filter((p) => p !== undefined).join(':');
    }
    case 'unknown_return_code':
      return `unknown_return_code:${action.code ?? DEFAULT_UNKNOWN_RETURN_CODE}${action.afterCommit ? ':after_commit' : ''}`;
    case 'delayed_answer':
      return `delayed_answer:${action.ms}:${action.commit}`;
  }
}

/** Validates a rule coming from the control API; throws a readable Error on nonsense. */
export function parseFaultRule(value: unknown): FaultRule {
  if (typeof value !== 'object' || value === null) throw new Error('fault rule must be an object');
  const rule = value as Partial<FaultRule>;
  const apis: FaultApi[] = [
    'request',
    'confirm',
    'preapprovedPay',
    'checkRegKey',
    'expireRegKey',
    'details',
    'checkStatus',
    'refund',
    'capture',
    'void',
    '*',
  ];
  if (!rule.api || !apis.includes(rule.api))
    throw new Error(`fault rule api must be one of ${apis.join(', ')}`);
  const action = rule.action as Partial<FaultAction> | undefined;
  if (!action || typeof action !== 'object') throw new Error('fault rule needs an action');
  switch (action.kind) {
    case 'latency':
      if (typeof action.ms !== 'number' || action.ms < 0) throw new Error('latency needs ms >= 0');
      break;
    case 'http_error':
      if (typeof action.status !== 'number' || action.status < 100 || action.status > 599)
        throw new Error('http_error needs a status 100..599');
      break;
    case 'return_code':
      if (!isFourDigits(action.code)) throw new Error('return_code needs a 4-digit code string');
      break;
    case 'hang_after_commit':
      if (action.ms !== undefined && (typeof action.ms !== 'number' || action.ms < 0))
        throw new Error('hang_after_commit ms must be >= 0');
      break;
    case 'drop_after_commit':
      break;
    case 'decline_then_drop':
      if (rule.api !== 'preapprovedPay')
        throw new Error('decline_then_drop applies to api preapprovedPay only');
      if (action.code !== undefined && !isFourDigits(action.code))
        throw new Error('decline_then_drop code must be a 4-digit code string');
      if (action.code !== undefined && (action.code === '0000' || !isDeclineCode(action.code)))
        throw new Error(`decline_then_drop code ${action.code} is not a definite decline`);
      break;
    case 'error_after_commit': {
      const lowest = action.code === undefined ? 500 : 200;
      if (
        action.status !== undefined &&
        (!Number.isInteger(action.status) || action.status < lowest || action.status > 599)
      )
        throw new Error(`error_after_commit status must be ${lowest}..599`);
      if (action.code !== undefined && (!isFourDigits(action.code) || action.code === '0000'))
        throw new Error('error_after_commit code must be a 4-digit code string other than 0000');
      break;
    }
    case 'unknown_return_code':
      if (
        action.code !== undefined &&
        (typeof action.code !== 'string' || !/^[0-9A-Za-z]{1,16}$/.test(action.code))
      )
        throw new Error('unknown_return_code code must be 1 to 16 letters or digits');
      if (action.code !== undefined && isDocumentedReturnCode(action.code))
        throw new Error(
          `unknown_return_code code ${action.code} is a documented LINE Pay code; use return_code`,
        );
      if (action.afterCommit !== undefined && typeof action.afterCommit !== 'boolean')
        throw new Error('unknown_return_code afterCommit must be a boolean');
      if (action.consumesOrderId !== undefined && typeof action.consumesOrderId !== 'boolean')
        throw new Error('unknown_return_code consumesOrderId must be a boolean');
      if (action.afterCommit && action.consumesOrderId !== undefined)
        throw new Error('unknown_return_code consumesOrderId applies before commit only');
      break;
    case 'delayed_answer':
      if (typeof action.ms !== 'number' || !Number.isFinite(action.ms) || action.ms < 0)
        throw new Error('delayed_answer needs ms >= 0');
      if (action.commit !== 'before_delay' && action.commit !== 'after_delay')
        throw new Error("delayed_answer needs commit: 'before_delay' or 'after_delay'");
      break;
    default:
      throw new Error('unknown fault action kind');
  }
  if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 0))
    throw new Error('times must be a non-negative integer');
  if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1))
    throw new Error('probability must be within 0..1');
  return rule as FaultRule;
}

function isFourDigits(code: unknown): code is string {
  return typeof code === 'string' && /^\d{4}$/.test(code);
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

/**
 * Holds the fault rules and decides, per call, which ones fire. Rules are checked in order; all matching
 * latency rules add up, and the first matching other rule decides the outcome. `times` counts calls a
 * rule actually fired on; `probability` is drawn from the seeded PRNG.
 */
export class FaultBook {
  #rules: ActiveRule[] = [];
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  set(rules: FaultRule[]): void {
    this.#rules = rules.map((rule) => ({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }));
  }

  add(rule: FaultRule): void {
    this.#rules.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#rules = [];
  }

  list(): FaultRule[] {
    return this.#rules.filter((r) => r.remaining > 0).map((r) => r.rule);
  }

  decide(api: Exclude<FaultApi, '*'>, ctx: FaultContext): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, applied: [] };
    for (const active of this.#rules) {
      const { rule } = active;
      if (active.remaining <= 0) continue;
      if (rule.api !== '*' && rule.api !== api) continue;
      if (rule.action.kind !== 'latency' && decision.action) continue;
      if (!matches(rule, ctx)) continue;
      if (rule.probability !== undefined && rule.probability < 1 && this.#random() >= rule.probability)
        continue;
      active.remaining -= 1;
      decision.applied.push(describeFault(rule.action));
      if (rule.action.kind === 'latency') decision.latencyMs += rule.action.ms;
      else decision.action = rule.action;
    }
    return decision;
  }
}

function matches(rule: FaultRule, ctx: FaultContext): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.orderId !== undefined && !ctx.orderIds.includes(m.orderId)) return false;
  if (m.transactionId !== undefined && !ctx.transactionIds.includes(String(m.transactionId))) return false;
  if (m.regKey !== undefined && ctx.regKey !== m.regKey) return false;
  if (m.amount !== undefined && ctx.amount !== m.amount) return false;
  return true;
}
