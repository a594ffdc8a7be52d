import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveVaultKey, RegKeyVault } from '../../activities/regkey-vault.js';
import { ConfigError, describeWorkerConfig, readVaultKeys, readWorkerConfig } from '../../worker/config.js';

const PAYLOAD = [{ id: 'k1', key: randomBytes(32) }];
const VAULT = randomBytes(32);
const OWNER = { subscriptionId: 'sub-1', instanceId: '0a1b2c3d' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('regKey vault key (REGKEY_VAULT_KEY)', () => {
  it.each([
    ['base64', VAULT.toString('base64')],
    ['base64url', VAULT.toString('base64url')],
    ['hex', VAULT.toString('hex')],
  ])('reads a 32-byte key in %s, with its own id', (_enc, text) => {
    expect(readVaultKeys({ REGKEY_VAULT_KEY: text }, PAYLOAD)).toEqual({
      keys: [{ id: 'rv1', key: VAULT }],
      source: 'REGKEY_VAULT_KEY',
    });
    expect(readVaultKeys({ REGKEY_VAULT_KEY: text, REGKEY_VAULT_KEY_ID: 'v7' }, PAYLOAD).keys[0]!.id).toBe(
      'v7',
    );
  });

  it('is required when NODE_ENV=production, and never derived from the payload key there', () => {
    const err = configError(() => readVaultKeys({ NODE_ENV: 'production' }, PAYLOAD));
    expect(err.message).toContain('REGKEY_VAULT_KEY');
    expect(err.message).toContain('NODE_ENV=production');
    expect(
      readVaultKeys({ NODE_ENV: 'production', REGKEY_VAULT_KEY: VAULT.toString('hex') }, PAYLOAD).source,
    ).toBe('REGKEY_VAULT_KEY');
  });

  it('outside production, unset means derived from the payload keys (and says so)', () => {
    const read = readVaultKeys({}, PAYLOAD);
    expect(read.source).toBe('derived');
    expect(read.keys).toEqual(PAYLOAD.map(deriveVaultKey));
    expect(read.keys[0]!.key.equals(PAYLOAD[0]!.key)).toBe(false);
  });

  it('refuses a payload key reused as the vault key', () => {
    const err = configError(() =>
      readVaultKeys({ REGKEY_VAULT_KEY: PAYLOAD[0]!.key.toString('base64') }, PAYLOAD),
    );
    expect(err.message).toContain('must not be one of the payload encryption keys');
  });

  it.each([
    ['too short', randomBytes(16).toString('base64'), 'must decode to 32 bytes'],
    ['63 hex digits', VAULT.toString('hex').slice(1), 'must decode to 32 bytes'],
    ['not base64 or hex', 'not a key!', 'neither base64 nor hex'],
  ])('refuses a key that is %s, without echoing it', (_c, text, words) => {
    const err = configError(() => readVaultKeys({ REGKEY_VAULT_KEY: text }, PAYLOAD));
    expect(err.message).toContain(words);
    expect(err.message).not.toContain(text);
  });

  it('rotates with REGKEY_VAULT_KEYS: seals with the first, opens tokens of the others', () => {
    const old = randomBytes(32);
    const before = readVaultKeys(
      { REGKEY_VAULT_KEY: old.toString('base64'), REGKEY_VAULT_KEY_ID: 'v1' },
      PAYLOAD,
    );
    const token = new RegKeyVault(before.keys).seal('RK5C38F19XTF425', OWNER);
    const after = readVaultKeys(
      { REGKEY_VAULT_KEYS: `v2:${VAULT.toString('hex')}, v1:${old.toString('base64')}` },
      PAYLOAD,
    );
    expect(after.keys.map((k) => k.id)).toEqual(['v2', 'v1']);
    const vault = new RegKeyVault(after.keys);
    expect(vault.open(token, OWNER)).toBe('RK5C38F19XTF425');
    expect(vault.seal('x', OWNER).startsWith('rk2.v2.')).toBe(true);
  });

  it.each([
    [{ REGKEY_VAULT_KEYS: 'v1' }, 'entry 1 must be'],
    [{ REGKEY_VAULT_KEYS: `a.b:${VAULT.toString('hex')}` }, 'entry 1 must be'],
    [{ REGKEY_VAULT_KEYS: `v1:${VAULT.toString('hex')},v1:${randomBytes(32).toString('hex')}` }, 'twice'],
    [
      { REGKEY_VAULT_KEYS: `v1:${VAULT.toString('hex')}`, REGKEY_VAULT_KEY: VAULT.toString('hex') },
      'not both',
    ],
    [{ REGKEY_VAULT_KEY: VAULT.toString('hex'), REGKEY_VAULT_KEY_ID: 'bad id' }, '1-32 characters'],
  ])('refuses %j', (env, words) => {
    expect(configError(() => readVaultKeys(env, PAYLOAD)).message).toContain(words);
  });

  it('readWorkerConfig carries the vault keys; the start-up description names ids, never keys', () => {
    const config = readWorkerConfig({
      LINEPAY_CHANNEL_ID: '1234567890',
      LINEPAY_CHANNEL_SECRET: 'secret',
      PAYLOAD_ENCRYPTION_KEY: PAYLOAD[0]!.key.toString('base64'),
      REGKEY_VAULT_KEY: VAULT.toString('base64'),
    });
    expect(config.vaultKeys).toEqual([{ id: 'rv1', key: VAULT }]);
    expect(config.vaultKeySource).toBe('REGKEY_VAULT_KEY');
    const described = JSON.stringify(describeWorkerConfig(config));
    expect(described).toContain('"vaultKeyIds":["rv1"]');
    for (const enc of ['base64', 'hex', 'base64url'] as const)
      expect(described).not.toContain(VAULT.toString(enc));
  });
});
