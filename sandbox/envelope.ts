import { LosslessNumber, stringify } from 'lossless-json';

/** What a LINE Pay API handler produces; `info` may hold {@link idNumber} values. */
export interface ApiResult {
  returnCode: string;
  returnMessage: string;
  info?: unknown;
}

const MESSAGES: Record<string, string> = {
  '0000': 'Success.',
  '0110': 'Authentication completed.',
  '0121': 'The transaction was cancelled by the user or expired.',
  '0122': 'Payment failed.',
  '0123': 'Payment completed.',
  '1106': 'Header information error.',
  '1124': 'Amount info error (scale).',
  '1142': 'Insufficient balance remains.',
  '1150': 'Transaction record not found.',
  '1152': 'Existing transaction record for the transactionId.',
  '1153': 'The payment amount differs from the requested amount.',
  '1164': 'Exceeds the refundable amount.',
  '1165': 'The transaction has already been refunded or voided.',
  '1169': 'Payment method and password must be authenticated on LINE Pay.',
  '1172': 'Existing same orderId.',
  '1177': 'Exceeded the maximum number of transactions (100) that can be retrieved.',
  '1178': 'Unsupported currency.',
  '1179': 'The transaction status cannot be processed.',
  '1180': 'The payment time has expired.',
  '1183': 'The payment amount must be greater than 0.',
  '1184': 'The amount exceeds the authorized amount.',
  '1190': 'The regKey does not exist.',
  '1193': 'The regKey has expired.',
  '1197': 'A payment with the regKey is already being processed.',
  '1198': 'The request is already being processed.',
  '1199': 'Internal request error.',
  '1288': 'Card payment declined: insufficient funds.',
  '1298': 'Card payment declined.',
  '2101': 'Parameter error.',
  '2102': 'JSON data format error.',
  '2103': 'Request rejected: this merchant cannot make capture=false preapproved payments.',
  '9000': 'Internal error.',
};

export function result(returnCode: string, info?: unknown, returnMessage?: string): ApiResult {
  const out: ApiResult = { returnCode, returnMessage: returnMessage ?? MESSAGES[returnCode] ?? '-' };
  if (info !== undefined) out.info = info;
  return out;
}

/** A parameter error naming the offending field, as LINE Pay's 2101 messages do. */
export function paramError(field: string, why = 'is invalid'): ApiResult {
  return result('2101', undefined, `Parameter error: ${field} ${why}.`);
}

/** A 19-digit id emitted as an unquoted JSON number (never through a JS number). */
export function idNumber(digits: string): LosslessNumber {
  return new LosslessNumber(digits);
}

export function serialize(body: ApiResult): string {
  return stringify(body) ?? '{}';
}
