import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type EncryptionKey } from './payload-codec.js';

/**
 * The one data converter of the project: default JSON payloads sealed by the AES-GCM codec. Worker,
 * client library, CLI and codec server all build it from the same keys, or history becomes unreadable.
 */
export function createDataConverter(
  keys: readonly EncryptionKey[],
): DataConverter & { payloadCodecs: [EncryptionCodec] } {
  return { payloadCodecs: [new EncryptionCodec(keys)] };
}
