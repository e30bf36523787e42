/**
 * Opening connections to Temporal from the config (src/config.ts). Only the CLI/client and
 * the worker entry call these; libraries receive a Client.
 */
import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConfig } from '../config';
import { DependencyUnavailableError, ensureError } from '../errors';

async function tlsOptions(config: TemporalConfig): Promise<ConnectionOptions['tls']> {
  if (!config.tls && !config.apiKey) return undefined;
  const tls = config.tls ?? {};
  const [crt, key, ca] = await Promise.all([
    tls.clientCertPath ? readFile(tls.clientCertPath) : undefined,
    tls.clientKeyPath ? readFile(tls.clientKeyPath) : undefined,
    tls.caPath ? readFile(tls.caPath) : undefined,
  ]);
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
}

function unavailable(config: TemporalConfig, thrown: unknown): DependencyUnavailableError {
  const error = ensureError(thrown);
  return new DependencyUnavailableError(
    `cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${error.message}. ` +
      'Start the local stack with `fineflow dev up`, or set TEMPORAL_ADDRESS.',
    { address: config.address },
    { cause: error },
  );
}

export async function connectClient(config: TemporalConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({
      address: config.address,
      tls: await tlsOptions(config),
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
      connectTimeout: '10s',
    });
    return new Client({ connection, namespace: config.namespace });
  } catch (thrown) {
    throw unavailable(config, thrown);
  }
}

export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  try {
    const tls = (await tlsOptions(config)) as NativeConnectionOptions['tls'];
    return await NativeConnection.connect({
      address: config.address,
      ...(tls ? { tls } : {}),
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    });
  } catch (thrown) {
    throw unavailable(config, thrown);
  }
}
