import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLinePayJson } from '../../../activities/linepay/json.js';

describe('parseLinePayJson', () => {
  it('keeps a 19-digit transactionId above 2^53 exact', () => {
    const parsed = parseLinePayJson('{"info":{"transactionId":2026112612345678901}}');
    expect(parsed).toEqual({ info: { transactionId: '2026112612345678901' } });
    // JSON.parse would have rounded it.
    expect(String((JSON.parse('{"a":2026112612345678901}') as { a: number }).a)).not.toBe(
      '2026112612345678901',
    );
  });

  it('makes nested refund and original ids strings, and keeps amounts numbers', () => {
    const text =
      '{"returnCode":"0000","returnMessage":"OK","info":[{"transactionId":2018123112345678910,' +
      '"originalTransactionId":2018123112345678911,"payInfo":[{"method":"CREDIT_CARD","amount":1000}],' +
      '"refundList":[{"refundTransactionId":2018123112345678912,"refundAmount":-500,' +
      '"refundTransactionDate":"2018-12-31T09:00:31Z"}],"amount":1000.5}]}';
    expect(parseLinePayJson(text)).toEqual({
      returnCode: '0000',
      returnMessage: 'OK',
      info: [
        {
          transactionId: '2018123112345678910',
          originalTransactionId: '2018123112345678911',
          payInfo: [{ method: 'CREDIT_CARD', amount: 1000 }],
          refundList: [
            {
              refundTransactionId: '2018123112345678912',
              refundAmount: -500,
              refundTransactionDate: '2018-12-31T09:00:31Z',
            },
          ],
          amount: 1000.5,
        },
      ],
    });
  });

  it('makes small id fields strings too', () => {
    expect(parseLinePayJson('{"transactionId":12,"refundTransactionId":0}')).toEqual({
      transactionId: '12',
      refundTransactionId: '0',
    });
  });

  it('keeps quoted ids and returnCode strings as they are', () => {
    expect(parseLinePayJson('{"returnCode":"0000","transactionId":"2026112612345678901"}')).toEqual({
      returnCode: '0000',
      transactionId: '2026112612345678901',
    });
  });

  it('turns any other unsafe integer into a string', () => {
    expect(parseLinePayJson('{"x":[9007199254740993, 9007199254740991, -9007199254740993]}')).toEqual({
      x: ['9007199254740993', 9007199254740991, '-9007199254740993'],
    });
  });

  it('throws SyntaxError on non-JSON', () => {
    expect(() => parseLinePayJson('<html>502 Bad Gateway</html>')).toThrow(SyntaxError);
  });

  it('round-trips random 19-digit ids exactly', () => {
    const digits19 = fc
      .tuple(
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 18, maxLength: 18 }),
      )
      .map(([first, rest]) => `${first}${rest.join('')}`);
    fc.assert(
      fc.property(digits19, digits19, fc.integer({ min: 0, max: 1_000_000 }), (id, refundId, amount) => {
        const text = `{"info":[{"transactionId":${id},"amount":${amount},"refundList":[{"refundTransactionId":${refundId}}]}]}`;
        expect(parseLinePayJson(text)).toEqual({
          info: [{ transactionId: id, amount, refundList: [{ refundTransactionId: refundId }] }],
        });
      }),
    );
  });
});
