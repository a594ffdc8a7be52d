import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_METADATA,
  PayloadDecryptionError,
} from '../../client/temporal/payload-codec.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

describe('EncryptionCodec', () => {
  it('round-trips payloads and hides their contents', async () => {
    const codec = new EncryptionCodec([k1]);
    const original = payloadOf({ regKey: 'RK5C38F19XTF425', customer: '王小明' });
    const [encoded] = await codec.encode([original]);
    expect(text(encoded?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded?.metadata?.[KEY_ID_METADATA])).toBe('k1');
    expect(Buffer.from(encoded!.data!).includes('RK5C38F19XTF425')).toBe(false);
    expect(Buffer.from(encoded!.data!).includes('json/plain')).toBe(false);
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({
      regKey: 'RK5C38F19XTF425',
      customer: '王小明',
    });
  });

  it('uses a fresh IV per payload', async () => {
    const codec = new EncryptionCodec([k1]);
    const [a, b] = await codec.encode([payloadOf('same'), payloadOf('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes through payloads it did not encrypt (history from before encryption)', async () => {
    const codec = new EncryptionCodec([k1]);
    const plain = payloadOf(42);
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('detects tampering with the ciphertext', async () => {
    const codec = new EncryptionCodec([k1]);
    const [encoded] = await codec.encode([payloadOf('charge 390 TWD')]);
    const data = Buffer.from(encoded!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...encoded!, data }])).rejects.toThrow(PayloadDecryptionError);
  });

  it('detects a swapped key id even when both keys are known', async () => {
    const codec = new EncryptionCodec([k1, k2]);
    const [encoded] = await codec.encode([payloadOf('x')]);
    const forged = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([forged])).rejects.toThrow(/failed authentication/);
  });

  it('rejects a truncated payload', async () => {
    const codec = new EncryptionCodec([k1]);
    const [encoded] = await codec.encode([payloadOf('x')]);
    await expect(codec.decode([{ ...encoded!, data: encoded!.data!.slice(0, 10) }])).rejects.toThrow(
      /truncated/,
    );
  });

  it('rotates: new key encrypts, old payloads still decrypt, unknown key ids fail clearly', async () => {
    const old = new EncryptionCodec([k1]);
    const [sealedWithK1] = await old.encode([payloadOf('before rotation')]);
    const rotated = new EncryptionCodec([k2, k1]);
    const [sealedWithK2] = await rotated.encode([payloadOf('after rotation')]);
    expect(text(sealedWithK2?.metadata?.[KEY_ID_METADATA])).toBe('k2');
    const decoded = await rotated.decode([sealedWithK1!, sealedWithK2!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([
      'before rotation',
      'after rotation',
    ]);
    await expect(old.decode([sealedWithK2!])).rejects.toThrow(/^encrypted payload uses unknown key id "k2"$/);
  });

  it('refuses bad keys', () => {
    expect(() => new EncryptionCodec([])).toThrow(/at least one key/);
    expect(() => new EncryptionCodec([{ id: 'k1', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new EncryptionCodec([{ id: 'bad id', key: randomBytes(32) }])).toThrow(/must match/);
    expect(() => new EncryptionCodec([k1, { ...k2, id: 'k1' }])).toThrow(/twice/);
  });

  it('never puts key material in error messages', async () => {
    const codec = new EncryptionCodec([k1]);
    const [encoded] = await codec.encode([payloadOf('x')]);
    const data = Buffer.from(encoded!.data!);
    data[data.length - 1] = data[data.length - 1]! ^ 1;
    const err: unknown = await codec.decode([{ ...encoded!, data }]).then(
      (decoded) => decoded,
      (e: unknown) => e,
    );
    // Decode must reject a tampered payload with the codec's own error, naming the key id only.
    expect(err).toBeInstanceOf(PayloadDecryptionError);
    const message = (err as Error).message;
    expect(message).toBe('encrypted payload failed authentication with key k1');
    for (const encoding of ['base64', 'hex', 'base64url'] as const) {
      expect(message).not.toContain(k1.key.toString(encoding));
      expect(String((err as Error).stack)).not.toContain(k1.key.toString(encoding));
    }
  });
});
