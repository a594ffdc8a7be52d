import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCli } from '../../client/cli.js';

describe('CLI charge and plan', () => {
  it('parses a one-off charge and requires its request id', () => {
    expect(
      parseCli(['charge', 'sub_1', '--amount', '150', '--product', 'Add-on', '--request-id', 'addon-1']),
    ).toEqual({
      command: 'charge',
      json: false,
      subscriptionId: 'sub_1',
      amount: 150,
      productName: 'Add-on',
      requestId: 'addon-1',
    });
    expect(() => parseCli(['charge', 'sub_1', '--amount', '150', '--product', 'Add-on'])).toThrow(
      /--request-id/,
    );
    expect(() =>
      parseCli(['charge', 'sub_1', '--amount', '1.5', '--product', 'x', '--request-id', 'r']),
    ).toThrow(CliUsageError);
    expect(() => parseCli(['charge', 'sub_1', '--prorate', 'now'])).toThrow(CliUsageError);
  });

  it('parses a prorated plan change and its preview', () => {
    expect(
      parseCli(['plan', 'sub_1', '--amount', '1150', '--prorate', 'now', '--preview', '--json']),
    ).toEqual({
      command: 'plan',
      json: true,
      subscriptionId: 'sub_1',
      preview: true,
      amount: 1150,
      prorate: 'now',
    });
    expect(() => parseCli(['plan', 'sub_1', '--amount', '1150', '--prorate', 'later'])).toThrow(
      /none, now or next_cycle/,
    );
    expect(() => parseCli(['plan', 'sub_1'])).toThrow(/--amount, --product/);
  });
});
