import { isInteger, isSafeNumber, parse } from 'lossless-json';

/** Fields that are LINE Pay transaction ids: always strings, however small the number. */
export const ID_FIELDS: ReadonlySet<string> = new Set([
  'transactionId',
  'refundTransactionId',
  'originalTransactionId',
]);

/** Carries a number literal's source text from the parser to the reviver. */
class RawNumber {
  constructor(readonly text: string) {}
}

/**
 * Parses a LINE Pay response without losing digits: id fields become their exact digit strings,
 * other integers beyond 2^53 become strings, every other number stays a `number`.
 * Throws `SyntaxError` on invalid JSON.
 */
export function parseLinePayJson(text: string): unknown {
  return parse(
    text,
    (key, value) => {
      if (!(value instanceof RawNumber)) return value;
      if (ID_FIELDS.has(key)) return value.text;
      if (isInteger(value.text) && !isSafeNumber(value.text)) return value.text;
      return Number(value.text);
    },
    (literal) => new RawNumber(literal),
  );
}
