import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EphemeralServerExecutable } from '@temporalio/testing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The cache `scripts/provision-temporal` fills; override with TEMPORAL_CACHE_DIR. */
export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_CACHE_DIR ?? path.join(ROOT, '.temporal');
}

function provisioned(env: NodeJS.ProcessEnv): Record<string, string> {
  const file = path.join(temporalCacheDir(env), 'paths.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[2]) out[m[1]!] = m[2];
  }
  return out;
}

/**
 * Where a Temporal binary comes from, in order: the env var, the provisioned cache, and last the SDK's
 * own download (which needs internet and fails on our machines).
 */
function resolve(
  variable: 'TEMPORAL_CLI_PATH' | 'TEMPORAL_TEST_SERVER_PATH',
  env: NodeJS.ProcessEnv,
): EphemeralServerExecutable {
  const candidate = env[variable] || provisioned(env)[variable];
  if (candidate && existsSync(candidate)) return { type: 'existing-path', path: candidate };
  return { type: 'cached-download' };
}

/** The Temporal CLI dev server. */
export function devServerExecutable(env: NodeJS.ProcessEnv = process.env): EphemeralServerExecutable {
  return resolve('TEMPORAL_CLI_PATH', env);
}

/** The Java time-skipping test server (a wrapper that `exec`s java). */
export function testServerExecutable(env: NodeJS.ProcessEnv = process.env): EphemeralServerExecutable {
  return resolve('TEMPORAL_TEST_SERVER_PATH', env);
}

/** Path of the CLI binary, for starting `temporal server start-dev` by hand (the demo). */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exe = devServerExecutable(env);
  return exe.type === 'existing-path' ? exe.path : undefined;
}
