/** `npm run server`: listens with the app from `createApp`; configuration from the environment. */
import { serve } from '@hono/node-server';
import { ConfigError, readServerConfig } from '../config.js';
import { createSubscriptionsClient } from '../subscriptions-client.js';
import { connectClient, isTemporalReachable } from '../temporal/connection.js';
import { createApp } from './app.js';

async function main(): Promise<void> {
  const config = readServerConfig(process.env);
  const client = await connectClient(config.temporal, config.encryptionKeys);
  const codec = client.options.loadedDataConverter.payloadCodecs[0];
  const app = createApp({
    subscriptions: createSubscriptionsClient({
      client,
      taskQueue: config.temporal.taskQueue,
      publicBaseUrl: config.publicBaseUrl,
    }),
    apiToken: config.apiToken,
    isReady: () => isTemporalReachable(client),
    maxBodyBytes: config.maxBodyBytes,
    ...(config.codec.enabled && codec
      ? {
          codec: {
            codec,
            corsOrigins: config.codec.corsOrigins,
            namespace: config.temporal.namespace,
            ...(config.codec.authToken !== undefined ? { authToken: config.codec.authToken } : {}),
          },
        }
      : {}),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    console.log(`http: listening on http://${info.address}:${info.port} (public ${config.publicBaseUrl})`);
    if (config.codec.enabled) {
      console.log(
        `http: codec server at ${config.publicBaseUrl}/codec${config.codec.authToken ? '' : ' (unauthenticated)'}`,
      );
    }
  });
  const stop = () => {
    server.close(() => {
      void client.connection.close().finally(() => process.exit(0));
    });
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
