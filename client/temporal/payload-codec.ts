import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

// Default import: @temporalio/proto is CommonJS and Node's ESM loader cannot see its named exports.
const { temporal } = proto;

/** Payload encoding written by this codec; anything else passes through `decode` untouched. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was sealed with, so keys can rotate. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface EncryptionKey {
  id: string;
  /** 32 random bytes (AES-256). */
  key: Uint8Array;
}

/** Thrown when a payload cannot be decrypted: unknown key id, tampering, or a malformed payload. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError' as const;
  readonly code = 'payload_decryption_failed' as const;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * AES-256-GCM payload codec. The whole original payload (metadata and data) is serialized and sealed,
 * so history shows only `binary/encrypted` and a key id. The first key encrypts; every key decrypts,
 * which is how keys rotate: add the new key first, keep the old ones until their histories are gone.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly currentKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly EncryptionKey[]) {
    const first = keys[0];
    if (!first) throw new Error('EncryptionCodec needs at least one key');
    const map = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new Error(`encryption key id ${JSON.stringify(id)} must match ${KEY_ID}`);
      if (key.byteLength !== KEY_BYTES) throw new Error(`encryption key ${id} must be ${KEY_BYTES} bytes`);
      if (map.has(id)) throw new Error(`encryption key id ${id} is listed twice`);
      map.set(id, Buffer.from(key));
    }
    this.currentKeyId = first.id;
    this.#keys = map;
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.#seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.#open(payload));
  }

  #seal(payload: Payload): Payload {
    const key = this.#keys.get(this.currentKeyId)!;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(this.currentKeyId));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: encoder.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: encoder.encode(this.currentKeyId),
      },
      data: sealed,
    };
  }

  #open(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    if (!rawId) throw new PayloadDecryptionError(`encrypted payload has no ${KEY_ID_METADATA} metadata`);
    const keyId = decoder.decode(rawId);
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `encrypted payload uses unknown key id ${JSON.stringify(keyId.slice(0, 64))}`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.byteLength < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError('encrypted payload is truncated');
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    } catch {
      throw new PayloadDecryptionError(`encrypted payload failed authentication with key ${keyId}`);
    }
  }
}

/** Binds the key id (and the format) into the GCM tag, so swapping the metadata breaks authentication. */
function aad(keyId: string): Uint8Array {
  return encoder.encode(`${ENCRYPTED_ENCODING};${keyId}`);
}
