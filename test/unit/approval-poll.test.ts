import { describe, expect, it } from 'vitest';
import {
  APPROVAL_POLL_OFFSETS_MS,
  applyApprovalPolled,
  approvalPollAt,
  sharedConfirm,
} from '../../workflows/approval-poll.js';
import { applyConfirmed, applyReserved } from '../../workflows/charge-outcome.js';
import { nextStep } from '../../workflows/next-step.js';
import { reservationOrderId } from '../../workflows/order-id.js';
import { normalizeSubscriptionInput, type SubscriptionInput } from '../../workflows/subscription-input.js';
import { acceptConfirm, validateConfirm } from '../../workflows/subscription-requests.js';
import {
  initialState,
  RESERVATION_LIFETIME_MS,
  type SubscriptionState,
} from '../../workflows/subscription-state.js';

// Approval without a returning browser (issue 11 item 5): the poll schedule and what each answer does.

const I = '0a1b2c3d';
const SEC = 1_000;
const MIN = 60 * SEC;
const CREATED = Date.parse('2028-01-20T03:00:00Z');
const RESERVED = CREATED + SEC;
const TXN = '2028012000000000777';

const base: SubscriptionInput = {
  subscriptionId: 'sub_p',
  customerId: 'cust-1',
  productName: 'Coffee club',
  amount: 390,
  currency: 'TWD',
  interval: 'P1M',
  redirectUrls: { confirmUrl: 'https://shop.example/confirm', cancelUrl: 'https://shop.example/cancel' },
};

function reserved(): SubscriptionState {
  const s = initialState(normalizeSubscriptionInput(base), I, CREATED);
  applyReserved(
    s,
    'approval',
    {
      orderId: reservationOrderId('sub_p', I, 0, 0),
      transactionId: TXN,
      paymentUrl: { web: 'https://pay.example/web', app: 'line://pay/app' },
    },
    390,
    RESERVED,
  );
  return s;
}

const ids = (s: SubscriptionState) => ({
  transactionId: s.reservation!.transactionId,
  orderId: s.reservation!.orderId,
});

describe('the poll schedule', () => {
  it('backs off 20 s, 40 s, 80 s, 160 s, then every 5 minutes, all inside the 20-minute reservation', () => {
    const gaps = APPROVAL_POLL_OFFSETS_MS.map((o, i) => o - (APPROVAL_POLL_OFFSETS_MS[i - 1] ?? 0));
    expect(gaps.slice(0, 4)).toEqual([20 * SEC, 40 * SEC, 80 * SEC, 160 * SEC]);
    for (const g of gaps.slice(4)) expect(g).toBeLessThanOrEqual(5 * MIN);
    expect(APPROVAL_POLL_OFFSETS_MS.at(-1)).toBeLessThan(RESERVATION_LIFETIME_MS);
  });

  it('nextStep sleeps until each poll, polls, and stops after the last one', () => {
    const s = reserved();
    let now = RESERVED + SEC;
    const seen: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const step = nextStep(s, now);
      if (step.kind === 'pollApproval') {
        seen.push(now - RESERVED);
        applyApprovalPolled(s, TXN, { status: 'waiting' }, now);
        continue;
      }
      expect(step.kind).toBe('wait');
      if (step.kind !== 'wait') return;
      if (step.summary !== 'Ask LINE Pay whether the customer approved') break; // the approval deadline
      now = Date.parse(step.until!);
    }
    expect(seen).toEqual([...APPROVAL_POLL_OFFSETS_MS]);
    expect(approvalPollAt(s, now)).toBeUndefined();
  });

  it('no poll while a confirm or a cancel link is pending, nor outside approval', () => {
    const s = reserved();
    const at = RESERVED + APPROVAL_POLL_OFFSETS_MS[0]!;
    expect(approvalPollAt(s, at)).toBe(at);
    acceptConfirm(s, ids(s));
    expect(approvalPollAt(s, at)).toBeUndefined();
    expect(nextStep(s, at).kind).toBe('confirm');
    const t = reserved();
    t.status = 'active';
    expect(approvalPollAt(t, at)).toBeUndefined();
  });
});

describe('what a poll answer does', () => {
  it('authenticated (0110): records the confirm the webhook would have made, once', () => {
    const s = reserved();
    const at = RESERVED + 20 * SEC;
    applyApprovalPolled(s, TXN, { status: 'authenticated' }, at);
    expect(s.requests.confirm).toMatchObject({ ...ids(s), seq: 1 });
    expect(s.requests.confirm!.reservation).toEqual(s.reservation);
    expect(s.audit.at(-1)!.reason).toMatch(/authenticated \(0110\); confirming without the browser/);
    expect(nextStep(s, at).kind).toBe('confirm');
    // A poll answer landing after the webhook's confirm changes nothing.
    applyApprovalPolled(s, TXN, { status: 'authenticated' }, at + SEC);
    expect(s.requests.confirm!.seq).toBe(1);
  });

  it('a webhook confirm accepted first wins; the poll after it is a no-op', () => {
    const s = reserved();
    acceptConfirm(s, ids(s));
    const seq = s.requests.confirm!.seq;
    applyApprovalPolled(s, TXN, { status: 'authenticated' }, RESERVED + 20 * SEC);
    expect(s.requests.confirm!.seq).toBe(seq);
    expect(s.requests.seq).toBe(seq);
  });

  it('cancelled in LINE (0121) or failed (0122): the reservation is dropped as a believed cancel link drops it', () => {
    for (const status of ['canceled_or_expired', 'failed'] as const) {
      const s = reserved();
      applyApprovalPolled(s, TXN, { status }, RESERVED + 20 * SEC);
      expect(s.reservation).toBeUndefined();
      expect(s.status).toBe('approval_canceled');
    }
  });

  it('an answer for an older reservation does nothing', () => {
    const s = reserved();
    applyApprovalPolled(s, '2028012000000000001', { status: 'authenticated' }, RESERVED + 20 * SEC);
    expect(s.requests.confirm).toBeUndefined();
    expect(s.reservation?.transactionId).toBe(TXN);
  });
});

describe('a late or repeated confirm shares the answer', () => {
  it('joins the pending confirm, and after activation gets its answer again', () => {
    const s = reserved();
    applyApprovalPolled(s, TXN, { status: 'authenticated' }, RESERVED + 20 * SEC);
    const input = ids(s);
    const seq = s.requests.confirm!.seq;
    expect(() => validateConfirm(s, input)).not.toThrow();
    expect(sharedConfirm(s, input)).toEqual({ seq });
    const answer = applyConfirmed(
      s,
      { outcome: 'confirmed', sealedRegKey: 'sealed', regKeyMasked: 'RK…1234', transactionId: TXN },
      RESERVED + 25 * SEC,
    );
    expect(s.status).toBe('active');
    expect(() => validateConfirm(s, input)).not.toThrow();
    expect(sharedConfirm(s, input)).toEqual({ seq, answer });
    // Other ids are still refused without saying anything about the subscription.
    expect(() => validateConfirm(s, { ...input, orderId: 'other' })).toThrow(/do not match/);
  });
});
