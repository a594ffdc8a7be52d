import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../client/config.js';
import { readLedgerConfig } from '../../ledger/config.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

function failure(env: Record<string, string>): ConfigError {
  try {
    readLedgerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('ledger configuration', () => {
  it('defaults to PGlite in .data without DATABASE_URL', () => {
    const c = readLedgerConfig({});
    expect(c.database).toMatchObject({ kind: 'pglite' });
    expect(c.database.kind === 'pglite' && c.database.dataDir.endsWith('.data')).toBe(true);
    expect(c.webhooks.urls).toEqual([]);
    expect(c.reconciliation.schedule).toMatch(/^\S+ \S+ \* \* \*$/);
  });

  it.each([
    ['not a url', 'DATABASE_URL'],
    ['mysql://u:p@h/db', 'DATABASE_URL'],
    ['postgres://user:hunter2@host:5432', 'DATABASE_URL'],
  ])('refuses DATABASE_URL %s naming the variable, never its value', (url, variable) => {
    const err = failure({ DATABASE_URL: url });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith('DATABASE_URL ')).toBe(true);
    expect(err.message).not.toContain('hunter2');
  });

  it.each([['whsec_'], ['whsec_***'], [`whsec_${randomBytes(8).toString('base64')}`], ['abc']])(
    'refuses WEBHOOK_SECRET %s',
    (value) => {
      const err = failure({ WEBHOOK_SECRET: value, WEBHOOK_URLS: 'https://shop.example/hooks' });
      expect(err.variable).toBe('WEBHOOK_SECRET');
      expect(err.message).not.toContain(value.slice(6) || '\u0000');
    },
  );

  it('needs a secret with endpoints, and http(s) endpoints', () => {
    expect(failure({ WEBHOOK_URLS: 'https://shop.example/hooks' }).variable).toBe('WEBHOOK_SECRET');
    expect(failure({ WEBHOOK_URLS: 'ftp://x', WEBHOOK_SECRET: secret }).variable).toBe('WEBHOOK_URLS');
    const c = readLedgerConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/ledger',
      WEBHOOK_URLS: 'https://a.example/h, https://b.example/h',
      WEBHOOK_SECRET: secret,
    });
    expect(c.database.kind).toBe('postgres');
    expect(c.webhooks.urls).toEqual(['https://a.example/h', 'https://b.example/h']);
    expect(c.webhooks.secret).toHaveLength(32);
  });
});
