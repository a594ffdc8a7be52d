import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `tsx sandbox/server.ts` and resolves with the URL it prints. */
function startCli(env: Record<string, string>): Promise<{ url: string; output: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'sandbox/server.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ url: m[1], output: () => out });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`sandbox exited with ${code}:\n${out}`)));
  });
}

describe('npm run sandbox (server.ts)', () => {
  it('listens with the env channel, prints no secret, and stops on SIGTERM', async () => {
    const secret = 'cli-test-secret-0123456789';
    const { url, output } = await startCli({
      PORT: '0',
      LINEPAY_CHANNEL_ID: '5550001',
      LINEPAY_CHANNEL_SECRET: secret,
      SANDBOX_SEED: '9',
    });
    expect((await fetch(`${url}/__sandbox/health`)).status).toBe(200);

    const nonce = randomUUID();
    const path = '/v3/payments/requests/2026112600000000001/check';
    const signature = createHmac('sha256', secret)
      .update(secret + path + nonce)
      .digest('base64');
    const res = await fetch(url + path, {
      headers: {
        'x-line-channelid': '5550001',
        'x-line-authorization-nonce': nonce,
        'x-line-authorization': signature,
      },
    });
    expect(((await res.json()) as { returnCode: string }).returnCode).toBe('1150');

    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).not.toContain(secret);
  });
});
