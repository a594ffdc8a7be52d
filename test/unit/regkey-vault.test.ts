import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RegKeyVault } from '../../activities/regkey-vault.js';

const REG_KEY = 'RK5C38F19XTF425';
const k1 = randomBytes(32);
const k2 = randomBytes(32);

function tamperByte(sealed: string, index: number): string {
  const [version, keyId, data] = sealed.split('.');
  const raw = Buffer.from(data!, 'base64url');
  raw[index]! ^= 0x01;
  return `${version}.${keyId}.${raw.toString('base64url')}`;
}

describe('RegKeyVault', () => {
  it('round-trips a regKey', () => {
    const vault = new RegKeyVault(k1);
    expect(vault.open(vault.seal(REG_KEY))).toBe(REG_KEY);
    expect(vault.open(vault.seal(''))).toBe('');
    expect(vault.open(vault.seal('RK/ünïcødé+='))).toBe('RK/ünïcødé+=');
  });

  it('produces rk1.<keyId>.<base64url iv|tag|ciphertext>, different every time, without the regKey', () => {
    const vault = new RegKeyVault(k1);
    const a = vault.seal(REG_KEY);
    const b = vault.seal(REG_KEY);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^rk1\.k1\.[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(a.split('.')[2]!, 'base64url');
    expect(raw.length).toBe(12 + 16 + Buffer.byteLength(REG_KEY));
    for (const s of [a, b]) {
      expect(s).not.toContain(REG_KEY);
      expect(s).not.toContain(Buffer.from(REG_KEY).toString('base64url'));
      expect(Buffer.from(s.split('.')[2]!, 'base64url').includes(Buffer.from(REG_KEY))).toBe(false);
      expect(s).not.toContain(k1.toString('base64url'));
    }
  });

  it.each([
    ['iv', 0],
    ['auth tag', 12],
    ['ciphertext', 28],
    ['last ciphertext byte', 28 + REG_KEY.length - 1],
  ])('detects tampering with the %s', (_part, index) => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY);
    expect(() => vault.open(tamperByte(sealed, index))).toThrow(
      'sealed regKey failed authentication (wrong key or tampered)',
    );
  });

  it('detects a truncated ciphertext and a swapped key', () => {
    const vault = new RegKeyVault(k1);
    const sealed = vault.seal(REG_KEY);
    const [v, id, data] = sealed.split('.');
    const raw = Buffer.from(data!, 'base64url');
    const truncated = `${v}.${id}.${raw.subarray(0, raw.length - 1).toString('base64url')}`;
    expect(() => vault.open(truncated)).toThrow(
      'sealed regKey failed authentication (wrong key or tampered)',
    );
    const impostor = new RegKeyVault([{ id: 'k1', key: k2 }]);
    expect(() => impostor.open(sealed)).toThrow(
      'sealed regKey failed authentication (wrong key or tampered)',
    );
  });

  it('a token re-labelled with another loaded key id fails authentication', () => {
    const both = new RegKeyVault(
      [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      'k2',
    );
    const sealed = both.seal(REG_KEY);
    expect(() => both.open(sealed.replace('rk1.k2.', 'rk1.k1.'))).toThrow(
      'sealed regKey failed authentication',
    );
  });

  it('rotates: seals with the current key and opens tokens of any loaded key', () => {
    const old = new RegKeyVault([{ id: 'k1', key: k1 }]);
    const oldToken = old.seal(REG_KEY);
    const rotated = new RegKeyVault(
      [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      'k2',
    );
    const newToken = rotated.seal(REG_KEY);
    expect(newToken.startsWith('rk1.k2.')).toBe(true);
    expect(rotated.open(oldToken)).toBe(REG_KEY);
    expect(rotated.open(newToken)).toBe(REG_KEY);
    // Without currentKeyId the first key in the list is current.
    expect(
      new RegKeyVault([
        { id: 'k2', key: k2 },
        { id: 'k1', key: k1 },
      ])
        .seal('x')
        .startsWith('rk1.k2.'),
    ).toBe(true);
    // A Buffer with an explicit id.
    expect(new RegKeyVault(k2, 'primary').seal('x').startsWith('rk1.primary.')).toBe(true);
  });

  it('names an unknown key id without revealing any key', () => {
    const rotated = new RegKeyVault([{ id: 'k2', key: k2 }]);
    const token = new RegKeyVault([{ id: 'k1', key: k1 }]).seal(REG_KEY);
    let message = '';
    try {
      rotated.open(token);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('sealed regKey uses unknown key id "k1"');
    for (const key of [k1, k2]) {
      expect(message).not.toContain(key.toString('base64'));
      expect(message).not.toContain(key.toString('hex'));
      expect(message).not.toContain(key.toString('base64url'));
    }
    expect(message).not.toContain(REG_KEY);
  });

  it.each(['', 'plain-regkey', 'rk2.k1.AAAA', 'rk1..AAAA', 'rk1.k1.', 'rk1.k1'])(
    'rejects %j as not sealed',
    (s) => {
      expect(() => new RegKeyVault(k1).open(s)).toThrow('not a sealed regKey');
    },
  );

  it.each([0, 16, 31, 33, 64])('rejects a %i-byte key', (len) => {
    expect(() => new RegKeyVault(Buffer.alloc(len))).toThrow('regKey vault key "k1" must be 32 bytes');
    expect(() => new RegKeyVault([{ id: 'main', key: Buffer.alloc(len) }])).toThrow(
      'regKey vault key "main" must be 32 bytes',
    );
  });

  it('rejects bad key ids, an empty key list and an unknown current key', () => {
    expect(() => new RegKeyVault([{ id: 'a.b', key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(() => new RegKeyVault([{ id: '', key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(() => new RegKeyVault([{ id: 'x'.repeat(33), key: k1 }])).toThrow(
      'regKey vault key ids are 1-32 chars of [A-Za-z0-9_-]',
    );
    expect(() => new RegKeyVault([])).toThrow('RegKeyVault needs at least one key');
    expect(() => new RegKeyVault([{ id: 'k1', key: k1 }], 'k9')).toThrow('no key with id "k9"');
  });
});
