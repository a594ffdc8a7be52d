import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes.js';

// Default import: @temporalio/proto is CommonJS and Node's ESM loader cannot see its named exports.
const { temporal } = proto;

const { IndexedValueType } = temporal.api.enums.v1;
type IndexedValueTypeValue = (typeof IndexedValueType)[keyof typeof IndexedValueType];

const INDEXED_TYPE: Record<string, IndexedValueTypeValue> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Anything with the operator service: the worker's NativeConnection or the client's Connection. */
type WithOperator = Pick<NativeConnection, 'operatorService'>;

/**
 * Registers the custom search attributes the workflow writes, so a fresh namespace works. Only the
 * missing ones are added; a concurrent worker adding the same one (AlreadyExists) is fine.
 * Returns the names it added.
 */
export async function ensureSearchAttributes(connection: WithOperator, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing: Record<string, IndexedValueTypeValue> = {};
  for (const key of SEARCH_ATTRIBUTE_KEYS) {
    if (!known.has(key.name)) missing[key.name] = INDEXED_TYPE[key.type]!;
  }
  const names = Object.keys(missing);
  if (names.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // gRPC 6 = ALREADY_EXISTS: another worker won the race.
    if ((err as { code?: number }).code !== 6) throw err;
  }
  return names;
}
