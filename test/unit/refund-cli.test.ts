import { describe, expect, it, vi } from 'vitest';
import { CliUsageError, parseCli, runCommand } from '../../client/cli.js';
import type { SubscriptionsClient } from '../../client/subscriptions-client.js';

const TX = '2026113227073000002';

describe('refund command', () => {
  it('parses a partial refund; the default request id is the same for the same command', () => {
    const a = parseCli(['refund', 'sub-1', TX, '--amount', '100', '--reason', 'late delivery']);
    expect(a).toMatchObject({
      command: 'refund',
      subscriptionId: 'sub-1',
      transactionId: TX,
      amount: 100,
      reason: 'late delivery',
    });
    const b = parseCli(['refund', 'sub-1', TX, '--amount', '100', '--reason', 'late delivery']);
    expect(b).toEqual(a);
    const other = parseCli(['refund', 'sub-1', TX, '--amount', '100', '--reason', 'another reason']);
    expect((other as { requestId: string }).requestId).not.toBe((a as { requestId: string }).requestId);
    expect(parseCli(['refund', 'sub-1', TX, '--reason', 'x', '--request-id', 'k1'])).toMatchObject({
      requestId: 'k1',
    });
    expect(parseCli(['refund', 'sub-1', TX, '--reason', 'x'])).not.toHaveProperty('amount');
  });

  it('refuses a missing reason, a non-digit transactionId, a missing transactionId and a zero amount', () => {
    expect(() => parseCli(['refund', 'sub-1', TX])).toThrow(CliUsageError);
    expect(() => parseCli(['refund', 'sub-1', 'abc', '--reason', 'x'])).toThrow(/transactionId/);
    expect(() => parseCli(['refund', 'sub-1', '--reason', 'x'])).toThrow(/<transactionId>/);
    expect(() => parseCli(['refund', 'sub-1', TX, '--reason', 'x', '--amount', '0'])).toThrow(/positive/);
    expect(() => parseCli(['refund', 'sub-1', TX, '--reason', 'x', '--at-period-end'])).toThrow(
      /does not apply to refund/,
    );
  });

  it('runs through the client library as the operator', async () => {
    const refundCharge = vi.fn(async () => ({
      transactionId: TX,
      refundTransactionId: '2026113227073000099',
      orderId: 'sub-1-0a1b2c3d-c0',
      amount: 100,
      currency: 'TWD' as const,
      remaining: 290,
      refundedAt: '2026-12-01T00:00:00.000Z',
      recovered: false,
    }));
    const out: string[] = [];
    const code = await runCommand(
      parseCli(['refund', 'sub-1', TX, '--amount', '100', '--reason', 'x', '--request-id', 'k1']),
      { refundCharge } as unknown as SubscriptionsClient,
      { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
    );
    expect(code).toBe(0);
    expect(refundCharge).toHaveBeenCalledWith('sub-1', {
      actor: expect.objectContaining({ kind: 'operator' }),
      transactionId: TX,
      amount: 100,
      reason: 'x',
      requestId: 'k1',
    });
    expect(out.join('\n')).toMatch(/refund: sub-1 \(.*remaining=290.*requestId=k1/);
  });
});
