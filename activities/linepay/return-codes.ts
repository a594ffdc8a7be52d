import type { LinePayApi } from './types.js';

/**
 * Why a LINE Pay call did not succeed; the discriminant of `LinePayError.code`.
 * `not_sent` and `unknown_outcome` also come from the transport, the rest only from return codes.
 */
export type LinePayErrorCode =
  | 'not_sent'
  | 'unknown_outcome'
  | 'duplicate_order'
  | 'declined_soft'
  | 'declined_hard'
  | 'regkey_dead'
  | 'merchant_config'
  | 'not_found'
  | 'already_processed'
  | 'transient';

export type ReturnCodeCategory = 'ok' | Exclude<LinePayErrorCode, 'not_sent'>;

export interface ReturnCodeRow {
  /** Category on every API not listed in `byApi`. */
  category: ReturnCodeCategory;
  meaning: string;
  /** Overrides for APIs where the same code means something else. */
  byApi?: Partial<Record<LinePayApi, ReturnCodeCategory>>;
}

const RETRYABLE_ON_REFUND_VOID = { refund: 'transient', void: 'transient' } as const;

/**
 * Every return code we know (reference §10), classified for recurring billing. RK codes follow §7
 * "Our rule": the union of the v2 and current regKey-killing lists plus 1190, 1193, 1154.
 */
export const RETURN_CODES: Readonly<Record<string, ReturnCodeRow>> = {
  '0000': { category: 'ok', meaning: 'success (check status: waiting for the user)' },
  '0110': { category: 'ok', meaning: 'check status: user authenticated, ready to confirm' },
  '0121': { category: 'ok', meaning: 'check status: cancelled by the user or expired' },
  '0122': { category: 'ok', meaning: 'check status: payment failed' },
  '0123': { category: 'ok', meaning: 'check status: payment completed' },
  '1101': { category: 'declined_hard', meaning: 'purchaser is not a LINE Pay member' },
  '1102': { category: 'declined_hard', meaning: 'purchaser cannot transact' },
  '1104': { category: 'merchant_config', meaning: 'merchant not found (sandbox/production mix-up?)' },
  '1105': { category: 'merchant_config', meaning: 'merchant cannot use LINE Pay' },
  '1106': { category: 'merchant_config', meaning: 'header error (IP, headers or signature)' },
  '1110': { category: 'declined_hard', meaning: 'credit card cannot be used' },
  '1124': { category: 'merchant_config', meaning: 'amount scale error' },
  '1141': { category: 'regkey_dead', meaning: 'account status error; stored card cannot be authorized' },
  '1142': { category: 'declined_soft', meaning: 'insufficient balance' },
  '1145': { category: 'unknown_outcome', meaning: 'payment in progress' },
  '1150': {
    category: 'merchant_config',
    meaning: 'no such transaction',
    byApi: { details: 'not_found' },
  },
  '1152': { category: 'already_processed', meaning: 'transaction already processed' },
  '1153': { category: 'merchant_config', meaning: 'amount differs from the request' },
  '1154': { category: 'regkey_dead', meaning: 'preapproved payment method unavailable' },
  '1155': { category: 'merchant_config', meaning: 'transaction not eligible' },
  '1159': {
    category: 'merchant_config',
    meaning: 'no such payment request',
    byApi: { details: 'not_found' },
  },
  '1163': { category: 'declined_hard', meaning: 'refund window has passed' },
  '1164': { category: 'merchant_config', meaning: 'refund exceeds the refundable amount' },
  '1165': { category: 'already_processed', meaning: 'already refunded or voided' },
  '1169': { category: 'transient', meaning: 'user has not finished authentication' },
  '1170': { category: 'unknown_outcome', meaning: 'balance changed during the operation' },
  '1172': { category: 'duplicate_order', meaning: 'a transaction with this orderId exists' },
  '1177': { category: 'merchant_config', meaning: 'more than 100 transactions queried' },
  '1178': { category: 'merchant_config', meaning: 'currency not supported' },
  '1179': { category: 'merchant_config', meaning: 'state cannot be processed' },
  '1180': { category: 'declined_hard', meaning: 'payment expired' },
  '1183': { category: 'merchant_config', meaning: 'amount must be greater than 0' },
  '1184': { category: 'merchant_config', meaning: 'amount above the requested amount' },
  '1190': { category: 'regkey_dead', meaning: 'regKey does not exist' },
  '1193': { category: 'regkey_dead', meaning: 'regKey expired' },
  '1194': { category: 'merchant_config', meaning: 'merchant not allowed preapproved payments' },
  '1197': { category: 'unknown_outcome', meaning: 'regKey in use by another payment' },
  '1198': { category: 'unknown_outcome', meaning: 'request being processed or duplicate call' },
  '1199': { category: 'unknown_outcome', meaning: 'internal error' },
  '1280': { category: 'declined_soft', meaning: 'temporary card-processing error' },
  '1281': { category: 'regkey_dead', meaning: 'card payment error' },
  '1282': { category: 'regkey_dead', meaning: 'card authorization error' },
  '1283': { category: 'regkey_dead', meaning: 'suspected fraud' },
  '1284': { category: 'regkey_dead', meaning: 'card payments temporarily stopped' },
  '1285': { category: 'regkey_dead', meaning: 'card information missing' },
  '1286': { category: 'regkey_dead', meaning: 'card information wrong' },
  '1287': { category: 'regkey_dead', meaning: 'card expired' },
  '1288': { category: 'declined_soft', meaning: 'insufficient funds on the card' },
  '1289': { category: 'declined_soft', meaning: 'card limit exceeded' },
  '1290': { category: 'regkey_dead', meaning: 'per-transaction limit exceeded' },
  '1291': { category: 'regkey_dead', meaning: 'card reported stolen' },
  '1292': { category: 'regkey_dead', meaning: 'card suspended' },
  '1293': { category: 'regkey_dead', meaning: 'CVN invalid' },
  '1294': { category: 'regkey_dead', meaning: 'card blacklisted' },
  '1295': { category: 'regkey_dead', meaning: 'card number invalid' },
  '1296': { category: 'declined_hard', meaning: 'amount cannot be processed by the card' },
  '1298': { category: 'declined_soft', meaning: 'card declined' },
  '1900': { category: 'unknown_outcome', meaning: 'temporary error', byApi: RETRYABLE_ON_REFUND_VOID },
  '1902': { category: 'unknown_outcome', meaning: 'temporary error', byApi: RETRYABLE_ON_REFUND_VOID },
  '1999': {
    category: 'merchant_config',
    meaning: 'request differs from the previous one',
    byApi: RETRYABLE_ON_REFUND_VOID,
  },
  '2101': { category: 'merchant_config', meaning: 'parameter error' },
  '2102': { category: 'merchant_config', meaning: 'JSON format error' },
  '2103': { category: 'merchant_config', meaning: 'request rejected (seen with capture=false on sandbox)' },
  '9000': { category: 'unknown_outcome', meaning: 'internal error' },
};

export interface ReturnCodeClass {
  category: ReturnCodeCategory;
  meaning: string;
  /** False when the code is not in the table (then classified `merchant_config`). */
  known: boolean;
}

/** Classifies a LINE Pay return code for the given API; unknown codes are `merchant_config`. */
export function classifyReturnCode(code: string, api: LinePayApi): ReturnCodeClass {
  const row = RETURN_CODES[code];
  if (!row) return { category: 'merchant_config', meaning: 'unknown return code', known: false };
  return { category: row.byApi?.[api] ?? row.category, meaning: row.meaning, known: true };
}
