import { Client, Connection } from '@temporalio/client';
import type { TemporalSettings } from '../config.js';
import { createDataConverter } from './data-converter.js';
import type { EncryptionKey } from './payload-codec.js';

/**
 * Connects a Temporal client with the project's data converter. The caller owns the connection and
 * closes it (`client.connection.close()`) on shutdown.
 */
export async function connectClient(
  temporal: TemporalSettings,
  keys: readonly EncryptionKey[],
): Promise<Client> {
  const connection = await Connection.connect(temporal.connectionOptions);
  return new Client({ connection, namespace: temporal.namespace, dataConverter: createDataConverter(keys) });
}

/** True when the frontend answers a health check within `timeoutMs`: what `/readyz` reports. */
export async function isTemporalReachable(client: Client, timeoutMs = 2_000): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflowService.getSystemInfo({}),
    );
    return true;
  } catch {
    return false;
  }
}
