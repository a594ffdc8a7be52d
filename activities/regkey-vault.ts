import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { RegKeyOwner } from '../workflows/activity-contract.js';

/** Version 2 binds each token to its owner; version 1 tokens (unbound) are no longer opened. */
const VERSION = 'rk2';

/**
 * The key id and the owner are authenticated: a token cannot be relabelled to another key, and a
 * copied token opens for no other subscription instance. JSON keeps the fields unambiguous.
 */
function aadFor(keyId: string, owner: RegKeyOwner): Buffer {
  return Buffer.from(
    JSON.stringify(['linepay-subscriptions/regkey/v2', keyId, owner.subscriptionId, owner.instanceId]),
  );
}

export type RegKeyVaultErrorCode =
  /** Not a token this vault writes (wrong shape or version). */
  | 'malformed'
  /** Sealed under a key id this worker does not hold. */
  | 'unknown_key'
  /** Authentication failed: another owner, another key under the same id, or tampering. */
  | 'not_authentic'
  /** The owner given is not a usable subscriptionId/instanceId pair. */
  | 'bad_owner';

/** Why a sealed regKey could not be opened; messages never hold a key or a regKey. */
export class RegKeyVaultError extends Error {
  override name = 'RegKeyVaultError' as const;
  readonly code: RegKeyVaultErrorCode;

  constructor(code: RegKeyVaultErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface VaultKey {
  id: string;
  key: Buffer;
}

/**
 * Seals regKeys with AES-256-GCM before they enter workflow state, so history holds only ciphertext
 * even where no payload codec is configured, and binds each to its subscription instance. Several keys
 * can be loaded; sealing uses the current one and opening picks the key named in the token, so keys
 * rotate without rewriting history.
 */
export class RegKeyVault {
  readonly #keys: Map<string, Buffer>;
  readonly #currentKeyId: string;

  constructor(keys: Buffer | ReadonlyArray<VaultKey>, currentKeyId?: string) {
    const list = Buffer.isBuffer(keys) ? [{ id: currentKeyId ?? 'k1', key: keys }] : keys;
    if (list.length === 0) throw new Error('RegKeyVault needs at least one key');
    this.#keys = new Map();
    for (const { id, key } of list) {
      if (key.length !== 32) throw new Error(`regKey vault key "${id}" must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id))
        throw new Error('regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]');
      if (this.#keys.has(id)) throw new Error(`regKey vault key id "${id}" is listed twice`);
      this.#keys.set(id, key);
    }
    this.#currentKeyId = currentKeyId ?? list[0]!.id;
    if (!this.#keys.has(this.#currentKeyId)) throw new Error(`no key with id "${this.#currentKeyId}"`);
  }

  /** The key ids this vault can open, current first (for a start-up log line; never the keys). */
  get keyIds(): string[] {
    return [this.#currentKeyId, ...[...this.#keys.keys()].filter((id) => id !== this.#currentKeyId)];
  }

  seal(regKey: string, owner: RegKeyOwner): string {
    assertRegKeyOwner(owner);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentKeyId)!, iv, {
      authTagLength: 16,
    });
    cipher.setAAD(aadFor(this.#currentKeyId, owner));
    const body = Buffer.concat([cipher.update(regKey, 'utf8'), cipher.final()]);
    return `${VERSION}.${this.#currentKeyId}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** Opens a token sealed for `owner`; throws `RegKeyVaultError` for any other owner. */
  open(sealed: string, owner: RegKeyOwner): string {
    assertRegKeyOwner(owner);
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    const [version, keyId, data] = parts;
    if (parts.length !== 3 || version !== VERSION || !keyId || !data)
      throw new RegKeyVaultError('malformed', 'not a sealed regKey');
    const key = this.#keys.get(keyId);
    if (!key) throw new RegKeyVaultError('unknown_key', `sealed regKey uses unknown key id "${keyId}"`);
    const raw = Buffer.from(data, 'base64url');
    if (raw.length < 12 + 16) throw new RegKeyVaultError('malformed', 'not a sealed regKey');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aadFor(keyId, owner));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new RegKeyVaultError(
        'not_authentic',
        'sealed regKey failed authentication (another subscription instance, wrong key or tampered)',
      );
    }
  }
}

/** Throws `RegKeyVaultError('bad_owner')` unless `owner` names a subscription instance. */
export function assertRegKeyOwner(owner: RegKeyOwner): void {
  if (
    !owner ||
    typeof owner.subscriptionId !== 'string' ||
    owner.subscriptionId.length === 0 ||
    typeof owner.instanceId !== 'string' ||
    owner.instanceId.length === 0
  ) {
    throw new RegKeyVaultError('bad_owner', 'a regKey owner needs a subscriptionId and an instanceId');
  }
}

/**
 * A vault key derived from a payload key, for the demo and tests only: the HTTP service and CLI users
 * hold payload keys too. Production sets `REGKEY_VAULT_KEY` (worker/config.ts refuses otherwise).
 */
export function deriveVaultKey(payloadKey: { id: string; key: Uint8Array }): VaultKey {
  const derived = hkdfSync(
    'sha256',
    payloadKey.key,
    Buffer.alloc(0),
    'linepay-subscriptions/regkey-vault/v1',
    32,
  );
  return { id: payloadKey.id, key: Buffer.from(derived) };
}
