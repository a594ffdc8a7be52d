import { startSandbox } from './index.js';

/** CLI entry (`npm run sandbox`): reads the environment once, listens, stops cleanly on SIGINT/SIGTERM. */
function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

const env = process.env;
const sandbox = await startSandbox({
  port: readNumber(env, 'PORT', 4000),
  host: env.HOST || '127.0.0.1',
  channelId: env.LINEPAY_CHANNEL_ID || '1234567890',
  channelSecret: env.LINEPAY_CHANNEL_SECRET || 'sandbox-channel-secret-change-me',
  seed: readNumber(env, 'SANDBOX_SEED', 1),
});

console.log(`LINE Pay sandbox listening on ${sandbox.url} (channel ${sandbox.channelId})`);
console.log(`  API: ${sandbox.url}/v3/...   control: ${sandbox.url}/__sandbox/health`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal} received, stopping sandbox`);
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
