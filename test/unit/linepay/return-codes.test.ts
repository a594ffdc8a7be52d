import { describe, expect, it } from 'vitest';
import {
  classifyReturnCode,
  RETURN_CODES,
  type ReturnCodeCategory,
} from '../../../activities/linepay/return-codes.js';
import type { LinePayApi } from '../../../activities/linepay/types.js';

/** Written out by hand from reference §7, §8, §10, independent of the table under test. */
const EXPECTED: Array<[code: string, api: LinePayApi, category: ReturnCodeCategory]> = [
  ['0000', 'preapprovedPay', 'ok'],
  ['0110', 'checkStatus', 'ok'],
  ['0121', 'checkStatus', 'ok'],
  ['0122', 'checkStatus', 'ok'],
  ['0123', 'checkStatus', 'ok'],
  ['1101', 'preapprovedPay', 'declined_hard'],
  ['1102', 'preapprovedPay', 'declined_hard'],
  ['1104', 'request', 'merchant_config'],
  ['1105', 'request', 'merchant_config'],
  ['1106', 'details', 'merchant_config'],
  ['1110', 'preapprovedPay', 'declined_hard'],
  ['1124', 'preapprovedPay', 'merchant_config'],
  ['1141', 'preapprovedPay', 'regkey_dead'],
  ['1141', 'checkRegKey', 'regkey_dead'],
  ['1142', 'preapprovedPay', 'declined_soft'],
  ['1145', 'request', 'unknown_outcome'],
  ['1150', 'details', 'not_found'],
  ['1150', 'confirm', 'merchant_config'],
  ['1150', 'refund', 'merchant_config'],
  ['1152', 'confirm', 'already_processed'],
  ['1153', 'confirm', 'merchant_config'],
  ['1154', 'preapprovedPay', 'regkey_dead'],
  ['1155', 'refund', 'merchant_config'],
  ['1159', 'details', 'not_found'],
  ['1159', 'confirm', 'merchant_config'],
  ['1163', 'refund', 'declined_hard'],
  ['1164', 'refund', 'merchant_config'],
  ['1165', 'refund', 'already_processed'],
  ['1165', 'void', 'already_processed'],
  ['1169', 'confirm', 'transient'],
  ['1170', 'confirm', 'unknown_outcome'],
  ['1172', 'preapprovedPay', 'duplicate_order'],
  ['1172', 'request', 'duplicate_order'],
  ['1177', 'details', 'merchant_config'],
  ['1178', 'request', 'merchant_config'],
  ['1179', 'refund', 'merchant_config'],
  ['1180', 'confirm', 'declined_hard'],
  ['1183', 'preapprovedPay', 'merchant_config'],
  ['1184', 'capture', 'merchant_config'],
  ['1190', 'preapprovedPay', 'regkey_dead'],
  ['1190', 'checkRegKey', 'regkey_dead'],
  ['1193', 'preapprovedPay', 'regkey_dead'],
  ['1193', 'expireRegKey', 'regkey_dead'],
  ['1194', 'request', 'merchant_config'],
  ['1197', 'preapprovedPay', 'unknown_outcome'],
  ['1198', 'preapprovedPay', 'unknown_outcome'],
  ['1199', 'capture', 'unknown_outcome'],
  ['1280', 'preapprovedPay', 'declined_soft'],
  ['1281', 'preapprovedPay', 'regkey_dead'],
  ['1282', 'preapprovedPay', 'regkey_dead'],
  ['1283', 'preapprovedPay', 'regkey_dead'],
  ['1284', 'preapprovedPay', 'regkey_dead'],
  ['1285', 'preapprovedPay', 'regkey_dead'],
  ['1286', 'preapprovedPay', 'regkey_dead'],
  ['1287', 'preapprovedPay', 'regkey_dead'],
  ['1288', 'preapprovedPay', 'declined_soft'],
  ['1289', 'preapprovedPay', 'declined_soft'],
  ['1290', 'preapprovedPay', 'regkey_dead'],
  ['1291', 'preapprovedPay', 'regkey_dead'],
  ['1292', 'preapprovedPay', 'regkey_dead'],
  ['1293', 'preapprovedPay', 'regkey_dead'],
  ['1294', 'preapprovedPay', 'regkey_dead'],
  ['1295', 'preapprovedPay', 'regkey_dead'],
  ['1296', 'preapprovedPay', 'declined_hard'],
  ['1297', 'preapprovedPay', 'merchant_config'],
  ['1298', 'preapprovedPay', 'declined_soft'],
  ['1900', 'refund', 'transient'],
  ['1900', 'void', 'transient'],
  ['1900', 'preapprovedPay', 'unknown_outcome'],
  ['1902', 'refund', 'transient'],
  ['1902', 'capture', 'unknown_outcome'],
  ['1999', 'refund', 'transient'],
  ['1999', 'void', 'transient'],
  ['1999', 'preapprovedPay', 'merchant_config'],
  ['2101', 'request', 'merchant_config'],
  ['2102', 'request', 'merchant_config'],
  ['2103', 'preapprovedPay', 'merchant_config'],
  ['9000', 'preapprovedPay', 'unknown_outcome'],
  ['9000', 'details', 'unknown_outcome'],
  ['4242', 'preapprovedPay', 'merchant_config'],
  ['', 'request', 'merchant_config'],
];

describe('classifyReturnCode', () => {
  it.each(EXPECTED)('%s on %s → %s', (code, api, category) => {
    expect(classifyReturnCode(code, api).category).toBe(category);
  });

  it('marks unknown codes as such', () => {
    expect(classifyReturnCode('4242', 'request')).toEqual({
      category: 'merchant_config',
      meaning: 'unknown return code',
      known: false,
    });
    expect(classifyReturnCode('1142', 'request').known).toBe(true);
  });

  it('has a test row for every code in the table', () => {
    const tested = new Set(EXPECTED.map(([code]) => code));
    expect(Object.keys(RETURN_CODES).filter((code) => !tested.has(code))).toEqual([]);
  });

  it('covers the whole §7 regKey-killing union', () => {
    const union = ['1141', '1154', '1190', '1193', ...Array.from({ length: 7 }, (_, i) => String(1281 + i))];
    union.push(...Array.from({ length: 6 }, (_, i) => String(1290 + i)));
    for (const code of union) expect(classifyReturnCode(code, 'preapprovedPay').category).toBe('regkey_dead');
  });
});
