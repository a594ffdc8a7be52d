import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveVaultKey, RegKeyVault, RegKeyVaultError } from '../../activities/regkey-vault.js';
import type { RegKeyOwner } from '../../workflows/activity-contract.js';

const REG_KEY = 'RK5C38F19XTF425';
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const OWNER: RegKeyOwner = { subscriptionId: 'sub-42', instanceId: '0a1b2c3d' };

function tamperByte(sealed: string, index: number): string {
  const [version, keyId, data] = sealed.split('.');
  const raw = Buffer.from(data!, 'base64url');
  raw[index]! ^= 0x01;
  return `${version}.${keyId}.${raw.toString('base64url')}`;
}

function vaultError(fn: () => unknown): RegKeyVaultError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegKeyVaultError) return err;
    throw err;
  }
  throw new Error('expected a RegKeyVaultError');
}

const NOT_AUTHENTIC =
  'sealed regKey failed authentication (another subscription instance, wrong key or tampered)';

describe('RegKeyVault', () => {
  it('round-trips a regKey for its owner', () => {
    const vault = new RegKeyVault(k1);
    expect(vault.open(vault.seal(REG_KEY, OWNER), OWNER)).toBe(REG_KEY);
    expect(vault.open(vault.seal('', OWNER), OWNER)).toBe('');
    expect(vault.open(vault.seal('RK/ünïcødé+=', OWNER), OWNER)).toBe('RK/ünïcødé+=');
  });

  it('produces rk2.<keyId>.<base64url iv|tag|ciphertext>, different every time, without the regKey or owner', () => {
    const vault = new RegKeyVault(k1);
    const a = vault.seal(REG_KEY, OWNER);
    const b = vault.seal(REG_KEY, OWNER);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^rk2\.k1\.[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(a.split('.')[2]!, 'base64url');
    expect(raw.length).toBe(12 + 16 + Buffer.byteLength(REG_KEY));
    for (const s of [a, b]) {
      expect(s).not.toContain(REG_KEY);
      expect(s).not.toContain(Buffer.from(REG_KEY).toString('base64url'));
      expect(Buffer.from(s.split('.')[2]!, 'base64url').includes(Buffer.from(REG_KEY))).toBe(false);
      expect(s).not.toContain(k1.toString('base64url'));
      expect(s).not.toContain(OWNER.subscriptionId);
    }
  });

  it.each([
    ['another subscription', { subscriptionId: 'sub-43', instanceId: OWNER.instanceId }],
    [
      'another instance of the same subscription id',
      { subscriptionId: OWNER.subscriptionId, instanceId: 'ffffffff' },
    ],
    // Field boundaries are part of the associated data: moving characters across them is another owner.
    ['the same characters split differently', { subscriptionId: 'sub-420', instanceId: 'a1b2c3d' }],
  ])('a token copied to %s does not open', (_case, other) => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY, OWNER);
    const err = vaultError(() => vault.open(sealed, other));
    expect(err.code).toBe('not_authentic');
    expect(err.message).toBe(NOT_AUTHENTIC);
    expect(err.message).not.toContain(REG_KEY);
  });

  it('refuses an owner without a subscriptionId or instanceId, sealing and opening', () => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY, OWNER);
    for (const bad of [
      { subscriptionId: '', instanceId: 'x' },
      { subscriptionId: 'x', instanceId: '' },
      undefined as unknown as RegKeyOwner,
    ]) {
      expect(vaultError(() => vault.seal(REG_KEY, bad)).code).toBe('bad_owner');
      expect(vaultError(() => vault.open(sealed, bad)).code).toBe('bad_owner');
    }
  });

  it.each([
    ['iv', 0],
    ['auth tag', 12],
    ['ciphertext', 28],
    ['last ciphertext byte', 28 + REG_KEY.length - 1],
  ])('detects tampering with the %s', (_part, index) => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY, OWNER);
    const err = vaultError(() => vault.open(tamperByte(sealed, index), OWNER));
    expect(err.code).toBe('not_authentic');
  });

  it('detects a truncated ciphertext and a swapped key', () => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY, OWNER);
    const [v, id, data] = sealed.split('.');
    const raw = Buffer.from(data!, 'base64url');
    const truncated = `${v}.${id}.${raw.subarray(0, raw.length - 1).toString('base64url')}`;
    expect(() => vault.open(truncated, OWNER)).toThrow(NOT_AUTHENTIC);
    const impostor = new RegKeyVault([{ id: 'k1', key: k2 }]);
    expect(() => impostor.open(sealed, OWNER)).toThrow(NOT_AUTHENTIC);
  });

  it('a token re-labelled with another loaded key id fails authentication', () => {
    const both = new RegKeyVault(
      [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      'k2',
    );
    const sealed = both.seal(REG_KEY, OWNER);
    expect(() => both.open(sealed.replace('rk2.k2.', 'rk2.k1.'), OWNER)).toThrow(NOT_AUTHENTIC);
  });

  it('rotates: seals with the current key and opens tokens of any loaded key, owner still checked', () => {
    const old = new RegKeyVault([{ id: 'k1', key: k1 }]);
    const oldToken = old.seal(REG_KEY, OWNER);
    const rotated = new RegKeyVault(
      [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      'k2',
    );
    const newToken = rotated.seal(REG_KEY, OWNER);
    expect(newToken.startsWith('rk2.k2.')).toBe(true);
    expect(rotated.open(oldToken, OWNER)).toBe(REG_KEY);
    expect(rotated.open(newToken, OWNER)).toBe(REG_KEY);
    expect(vaultError(() => rotated.open(oldToken, { ...OWNER, instanceId: 'deadbeef' })).code).toBe(
      'not_authentic',
    );
    expect(rotated.keyIds).toEqual(['k2', 'k1']);
    // Without currentKeyId the first key in the list is current.
    expect(
      new RegKeyVault([
        { id: 'k2', key: k2 },
        { id: 'k1', key: k1 },
      ])
        .seal('x', OWNER)
        .startsWith('rk2.k2.'),
    ).toBe(true);
    // A Buffer with an explicit id.
    expect(new RegKeyVault(k2, 'primary').seal('x', OWNER).startsWith('rk2.primary.')).toBe(true);
  });

  it('names an unknown key id without revealing any key', () => {
    const rotated = new RegKeyVault([{ id: 'k2', key: k2 }]);
    const token = new RegKeyVault([{ id: 'k1', key: k1 }]).seal(REG_KEY, OWNER);
    const err = vaultError(() => rotated.open(token, OWNER));
    expect(err.code).toBe('unknown_key');
    expect(err.message).toBe('sealed regKey uses unknown key id "k1"');
    for (const key of [k1, k2]) {
      expect(err.message).not.toContain(key.toString('base64'));
      expect(err.message).not.toContain(key.toString('hex'));
      expect(err.message).not.toContain(key.toString('base64url'));
    }
    expect(err.message).not.toContain(REG_KEY);
  });

  it.each(['', 'plain-regkey', 'rk2.k1.AAAA', 'rk2..AAAA', 'rk2.k1.', 'rk2.k1', 'rk3.k1.AAAA'])(
    'rejects %j as not sealed',
    (s) => {
      const err = vaultError(() => new RegKeyVault(k1).open(s, OWNER));
      expect(err.code).toBe('malformed');
      expect(err.message).toBe('not a sealed regKey');
    },
  );

  it('no longer opens an unbound rk1 token, even with the right key', () => {
    const vault = new RegKeyVault(k1);
    const rk2 = vault.seal(REG_KEY, OWNER);
    expect(vaultError(() => vault.open(rk2.replace(/^rk2\./, 'rk1.'), OWNER)).code).toBe('malformed');
  });

  it.each([0, 16, 31, 33, 64])('rejects a %i-byte key', (len) => {
    expect(() => new RegKeyVault(Buffer.alloc(len))).toThrow('regKey vault key "k1" must be 32 bytes');
    expect(() => new RegKeyVault([{ id: 'main', key: Buffer.alloc(len) }])).toThrow(
      'regKey vault key "main" must be 32 bytes',
    );
  });

  it('rejects bad key ids, a repeated id, an empty key list and an unknown current key', () => {
    expect(() => new RegKeyVault([{ id: 'a.b', key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(() => new RegKeyVault([{ id: '', key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(() => new RegKeyVault([{ id: 'x'.repeat(33), key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(
      () =>
        new RegKeyVault([
          { id: 'k1', key: k1 },
          { id: 'k1', key: k2 },
        ]),
    ).toThrow('regKey vault key id "k1" is listed twice');
    expect(() => new RegKeyVault([])).toThrow('RegKeyVault needs at least one key');
    expect(() => new RegKeyVault([{ id: 'k1', key: k1 }], 'k9')).toThrow('no key with id "k9"');
  });
});

describe('deriveVaultKey (demo and tests only)', () => {
  it('is deterministic per payload key, keeps its id, and shares no bytes with it', () => {
    const a = deriveVaultKey({ id: 'k1', key: k1 });
    expect(a).toEqual(deriveVaultKey({ id: 'k1', key: k1 }));
    expect(a.id).toBe('k1');
    expect(a.key.length).toBe(32);
    expect(a.key.equals(k1)).toBe(false);
    expect(deriveVaultKey({ id: 'k1', key: k2 }).key.equals(a.key)).toBe(false);
  });
});
