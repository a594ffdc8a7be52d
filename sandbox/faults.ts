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

export type FaultAction =
  | { kind: 'latency'; ms: number }
  | { kind: 'http_error'; status: number }
  | { kind: 'drop_after_commit' }
  | { kind: 'hang_after_commit'; ms?: number }
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
      if (typeof action.code !== 'string' || !/^\d{4}$/.test(action.code))
        throw new Error('return_code needs a 4-digit code string');
      break;
    case 'hang_after_commit':
      if (action.ms !== undefined && (typeof action.ms !== 'number' || action.ms < 0))
        throw new Error('hang_after_commit ms must be >= 0');
      break;
    case 'drop_after_commit':
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
