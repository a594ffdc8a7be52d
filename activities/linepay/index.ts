export { isLinePayError, LinePayError, type LinePayErrorInit } from './errors.js';
export { ID_FIELDS, parseLinePayJson } from './json.js';
export {
  DEADLINE_MARGIN_MS,
  DEFAULT_TIMEOUTS,
  LinePayClient,
  type LinePayClientOptions,
  PRODUCTION_BASE_URL,
  paidAmount,
  paymentMatches,
  SANDBOX_BASE_URL,
} from './linepay-client.js';
export { maskRegKey, redactRegKey } from './regkey.js';
export { RequestRate } from './request-rate.js';
export {
  classifyReturnCode,
  type LinePayErrorCode,
  RETURN_CODES,
  type ReturnCodeCategory,
  type ReturnCodeClass,
  type ReturnCodeRow,
} from './return-codes.js';
export { sign } from './signature.js';
export type * from './types.js';
