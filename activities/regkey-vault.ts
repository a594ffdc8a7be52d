import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'rk1';
/** The key id is authenticated too, so a token cannot be relabelled to another key. */
function aadFor(keyId: string): Buffer {
  return Buffer.from(`linepay-subscriptions/regkey/${keyId}`);
}

/**
 * Seals regKeys with AES-256-GCM before they enter workflow state, so history holds only ciphertext
 * even where no payload codec is configured. Several keys can be loaded; sealing uses the current one
 * and opening picks the key named in the token, so keys rotate without rewriting history.
 */
export class RegKeyVault {
  readonly #keys: Map<string, Buffer>;
  readonly #currentKeyId: string;

  constructor(keys: Buffer | ReadonlyArray<{ id: string; key: Buffer }>, currentKeyId?: string) {
    const list = Buffer.isBuffer(keys) ? [{ id: currentKeyId ?? 'k1', key: keys }] : keys;
    if (list.length === 0) throw new Error('RegKeyVault needs at least one key');
    this.#keys = new Map();
    for (const { id, key } of list) {
      if (key.length !== 32) throw new Error(`regKey vault key "${id}" must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id))
        throw new Error('regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]');
      this.#keys.set(id, key);
    }
    this.#currentKeyId = currentKeyId ?? list[0]!.id;
    if (!this.#keys.has(this.#currentKeyId)) throw new Error(`no key with id "${this.#currentKeyId}"`);
  }

  seal(regKey: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentKeyId)!, iv, {
      authTagLength: 16,
    });
    cipher.setAAD(aadFor(this.#currentKeyId));
    const body = Buffer.concat([cipher.update(regKey, 'utf8'), cipher.final()]);
    return `${VERSION}.${this.#currentKeyId}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  open(sealed: string): string {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    const [version, keyId, data] = parts;
    if (parts.length !== 3 || version !== VERSION || !keyId || !data) throw new Error('not a sealed regKey');
    const key = this.#keys.get(keyId);
    if (!key) throw new Error(`sealed regKey uses unknown key id "${keyId}"`);
    const raw = Buffer.from(data, 'base64url');
    if (raw.length < 12 + 16) throw new Error('not a sealed regKey');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aadFor(keyId));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('sealed regKey failed authentication (wrong key or tampered)');
    }
  }
}
