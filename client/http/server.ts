/**
 * `npm run server`: the merchant API and LINE Pay callbacks on PORT, and the codec server (when
 * enabled) on CODEC_PORT, so the two can be firewalled apart. Configuration from the environment.
 */
import { serve } from '@hono/node-server';
import type { Context } from 'hono';
import { readDatabaseConfig } from '../../ledger/config.js';
import { openLedgerDatabase } from '../../ledger/database.js';
import { LedgerStore } from '../../ledger/ledger-store.js';
import { type CodecServerConfig, ConfigError, readServerConfig } from '../config.js';
import { createSubscriptionsClient } from '../subscriptions-client.js';
import { connectClient, isTemporalReachable } from '../temporal/connection.js';
import { clientIpFromHeader, createApp } from './app.js';
import { type CodecAuth, createCodecApp } from './codec-routes.js';

function codecAuth(config: CodecServerConfig): CodecAuth {
  if (config.jwt) {
    return {
      kind: 'jwt',
      jwks: new URL(config.jwt.jwksUrl),
      ...(config.jwt.issuer !== undefined ? { issuer: config.jwt.issuer } : {}),
      ...(config.jwt.audience !== undefined ? { audience: config.jwt.audience } : {}),
    };
  }
  if (config.authToken !== undefined) return { kind: 'token', token: config.authToken };
  return { kind: 'none' };
}

async function main(): Promise<void> {
  const config = readServerConfig(process.env);
  // Embedded (no DATABASE_URL): the worker owns the PGlite; connect lazily, ledger routes answer 503 until it is up.
  const ledgerDb = await openLedgerDatabase(readDatabaseConfig(process.env), {
    migrate: true,
    embedded: 'client',
    waitForOwnerMs: 0,
  });
  const client = await connectClient(config.temporal, config.encryptionKeys);
  const codec = client.options.loadedDataConverter.payloadCodecs[0];
  const clientIp = config.clientIpHeader
    ? clientIpFromHeader(config.clientIpHeader)
    : (undefined as ((c: Context) => string) | undefined);
  const app = createApp({
    subscriptions: createSubscriptionsClient({
      client,
      taskQueue: config.temporal.taskQueue,
      publicBaseUrl: config.publicBaseUrl,
      limits: config.billingLimits,
      trialVerification: config.trialVerification,
    }),
    apiToken: config.apiTokens,
    callbackSigningKeys: config.callbackSigningKeys,
    publicBaseUrl: config.publicBaseUrl,
    callbackRateLimit: config.callbackRateLimit,
    isReady: () => isTemporalReachable(client),
    maxBodyBytes: config.maxBodyBytes,
    ...(clientIp ? { clientIp } : {}),
    ledger: new LedgerStore(ledgerDb.db),
  });
  const servers = [
    serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
      console.log(
        `http: listening on http://${info.address}:${info.port} (public ${config.publicBaseUrl}, LINEPAY_ENV=${config.linePayEnv})`,
      );
    }),
  ];
  if (config.codec.enabled && codec) {
    const auth = codecAuth(config.codec);
    const codecApp = createCodecApp({
      codec,
      auth,
      corsOrigins: config.codec.corsOrigins,
      namespace: config.temporal.namespace,
      enableEncode: config.codec.enableEncode,
      rateLimitPerMinute: config.codec.rateLimitPerMinute,
      ...(clientIp ? { clientIp } : {}),
    });
    servers.push(
      serve({ fetch: codecApp.fetch, port: config.codec.port, hostname: config.codec.host }, (info) => {
        console.log(`http: codec server on http://${info.address}:${info.port}/codec (auth: ${auth.kind})`);
      }),
    );
  }
  const stop = () => {
    let open = servers.length;
    for (const server of servers) {
      server.close(() => {
        open -= 1;
        if (open === 0) void client.connection.close().finally(() => process.exit(0));
      });
    }
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`server: configuration error: ${err.message}`);
  else console.error('server: fatal', err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
