import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
  TERMINAL_STATUSES,
} from '../../workflows/messages.js';
import type { SubscriptionEventType } from '../../workflows/subscription-event.js';
import { normalizeSubscriptionInput } from '../../workflows/subscription-input.js';
import {
  canTransition,
  IllegalTransitionError,
  TRANSITION_TABLE,
  TRANSITIONS,
  transitionTableMarkdown,
} from '../../workflows/subscription-machine.js';
import {
  initialState,
  isTerminal,
  type SubscriptionState,
  transition,
} from '../../workflows/subscription-state.js';

const NOW = Date.parse('2028-02-01T00:00:00Z');
const system = { kind: 'system' } as const;

function stateIn(status: SubscriptionStatus): SubscriptionState {
  const s = initialState(
    normalizeSubscriptionInput({
      subscriptionId: 'sub_m',
      customerId: 'cust-1',
      productName: 'Coffee club',
      amount: 390,
      currency: 'TWD',
      interval: 'P1M',
      redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
    }),
    '0a1b2c3d',
    Date.parse('2028-01-20T03:00:00Z'),
  );
  s.status = status;
  s.cycle = 3;
  return s;
}

const inTable = (from: SubscriptionStatus, to: SubscriptionStatus) =>
  TRANSITION_TABLE.some((r) => r.from === from && r.to === to);

/** The event entering `to` from `from` must raise, per the event catalogue. */
function expectedEvent(from: SubscriptionStatus, to: SubscriptionStatus): SubscriptionEventType | undefined {
  if (from === to) return undefined;
  const byStatus: Partial<Record<SubscriptionStatus, SubscriptionEventType>> = {
    trialing: 'subscription.trial_started',
    past_due: 'subscription.past_due',
    reapproval_required: 'subscription.reapproval_required',
    paused: 'subscription.paused',
    canceled: 'subscription.canceled',
    completed: 'subscription.completed',
  };
  if (to === 'active')
    return from === 'paused'
      ? 'subscription.resumed'
      : from === 'past_due'
        ? undefined
        : 'subscription.activated';
  return byStatus[to];
}

describe('TRANSITION_TABLE', () => {
  it('names only known statuses, once per edge, each with an event and an actor', () => {
    const seen = new Set<string>();
    for (const r of TRANSITION_TABLE) {
      expect(SUBSCRIPTION_STATUSES).toContain(r.from);
      expect(SUBSCRIPTION_STATUSES).toContain(r.to);
      expect(r.event.trim()).not.toBe('');
      expect(r.actor.trim()).not.toBe('');
      const key = `${r.from}→${r.to}`;
      expect(seen.has(key), `duplicate edge ${key}`).toBe(false);
      seen.add(key);
    }
  });

  it('TRANSITIONS and canTransition say exactly what the table says', () => {
    for (const from of SUBSCRIPTION_STATUSES) {
      for (const to of SUBSCRIPTION_STATUSES) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(inTable(from, to));
        expect(TRANSITIONS[from].includes(to)).toBe(inTable(from, to));
      }
    }
  });

  it('terminal statuses have no outgoing edge; every other status has one', () => {
    for (const status of SUBSCRIPTION_STATUSES) {
      expect(TRANSITIONS[status].length === 0, status).toBe(TERMINAL_STATUSES.includes(status));
      expect(isTerminal(status)).toBe(TERMINAL_STATUSES.includes(status));
    }
  });

  it('every status is reachable from pending_approval, and every non-terminal one reaches a terminal one', () => {
    const reach = (from: SubscriptionStatus): Set<SubscriptionStatus> => {
      const seen = new Set<SubscriptionStatus>([from]);
      const queue = [from];
      while (queue.length > 0) {
        for (const to of TRANSITIONS[queue.shift()!]) {
          if (!seen.has(to)) {
            seen.add(to);
            queue.push(to);
          }
        }
      }
      return seen;
    };
    expect([...reach('pending_approval')].sort()).toEqual([...SUBSCRIPTION_STATUSES].sort());
    for (const status of SUBSCRIPTION_STATUSES.filter((s) => !isTerminal(s))) {
      const terminals = [...reach(status)].filter(isTerminal);
      expect(terminals.length, `${status} reaches no terminal status`).toBeGreaterThan(0);
      // A cancel is always possible: every non-terminal status cancels in one step.
      expect(canTransition(status, 'canceled'), status).toBe(true);
    }
  });
});

describe('transition()', () => {
  it.each(TRANSITION_TABLE.map((r) => [r.from, r.to] as const))('accepts %s → %s', (from, to) => {
    const s = stateIn(from);
    s.cancelReason = to === 'canceled' ? 'payment_failed' : undefined;
    const audit = s.audit.length;
    const events = s.events.outbox.length;
    transition(s, to, system, 'edge test', NOW);
    expect(s.status).toBe(to);
    expect(s.audit).toHaveLength(audit + 1);
    expect(s.audit.at(-1)).toEqual({
      at: new Date(NOW).toISOString(),
      from,
      to,
      actor: system,
      reason: 'edge test',
      ...(from === 'pending_approval' ? {} : { cycle: 3 }),
    });
    const type = expectedEvent(from, to);
    expect(s.events.outbox.length).toBe(events + (type ? 1 : 0));
    if (type) {
      expect(s.events.outbox.at(-1)).toMatchObject({
        type,
        sequence: 1,
        data: {
          from,
          to,
          reason: 'edge test',
          actor: 'system',
          cycle: 3,
          ...(to === 'canceled' ? { cancelReason: 'payment_failed' } : {}),
        },
      });
    }
  });

  const illegal = SUBSCRIPTION_STATUSES.flatMap((from) =>
    SUBSCRIPTION_STATUSES.filter((to) => !inTable(from, to)).map((to) => [from, to] as const),
  );

  it('the table leaves every other ordered pair of statuses as illegal', () => {
    expect(illegal.length + TRANSITION_TABLE.length).toBe(SUBSCRIPTION_STATUSES.length ** 2);
  });

  it.each(illegal)('refuses %s → %s and leaves the state untouched', (from, to) => {
    const s = stateIn(from);
    const before = structuredClone(s);
    let thrown: unknown;
    try {
      transition(s, to, system, 'edge test', NOW);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    const err = thrown as IllegalTransitionError;
    expect(err.code).toBe('illegal_transition');
    expect(err.from).toBe(from);
    expect(err.to).toBe(to);
    expect(err.message).toBe(`illegal transition ${from} → ${to}`);
    expect(s).toEqual(before);
  });
});

describe('docs/architecture.md', () => {
  /** Cells trimmed and dash runs collapsed, so a Markdown formatter's padding does not count as a change. */
  function rows(markdown: string): string[][] {
    return markdown
      .trim()
      .split('\n')
      .map((line) =>
        line
          .trim()
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((cell) =>
            cell
              .trim()
              .replace(/\s+/g, ' ')
              .replace(/^:?-{3,}:?$/, '---'),
          ),
      );
  }

  it('shows the transition table generated from the code, between its markers', () => {
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    const m = /<!-- transitions:start -->\n([\s\S]*?)\n<!-- transitions:end -->/.exec(doc);
    expect(m, 'docs/architecture.md lacks the transitions:start/end markers').not.toBeNull();
    // Regenerate with: npx tsx -e "import('./workflows/subscription-machine.ts').then(m => console.log(m.transitionTableMarkdown()))"
    expect(rows(m![1]!)).toEqual(rows(transitionTableMarkdown()));
  });

  it('the generated table has one row per edge', () => {
    const table = rows(transitionTableMarkdown());
    expect(table[0]).toEqual(['from', 'event', 'to', 'actor']);
    expect(table.slice(2)).toEqual(
      TRANSITION_TABLE.map((r) => [`\`${r.from}\``, r.event, `\`${r.to}\``, r.actor]),
    );
  });
});
