/**
 * Opening connections to Temporal from the config (src/config.ts). Only the CLI/client and
 * the worker entry call these; libraries receive a Client. Both sides use the same data converter
 * ({@link dataConverterFor}): payloads are encrypted unless the operator opted out, and a missing
 * key refuses to connect (why: src/security/payload-codec.ts).
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { Client, Connection, isGrpcServiceError, type ClientOptions, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { DataConverter, Payload } from '@temporalio/common';
import type { TemporalConfig } from '../config';
import { DependencyUnavailableError, InvalidInputError, ensureError } from '../core/errors';
import { AesGcmPayloadCodec } from '../security/payload-codec';

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

/** The fix for an unreachable address, naming the variable that chose it (or that it is unset). */
function addressFix(config: TemporalConfig): string {
  const start = 'start the local stack with `fineflow dev up`';
  if (config.addressFrom === 'default')
    return (
      `TEMPORAL_ADDRESS is not set, so the default ${config.address} was tried: ${start} (with its ports, export ` +
      "the TEMPORAL_ADDRESS it prints), or set TEMPORAL_ADDRESS to your Temporal frontend's host:port."
    );
  if (config.addressFrom === 'TEMPORAL_ADDRESS')
    return (
      `TEMPORAL_ADDRESS=${config.address} chose it: ${start}, ` +
      "or set TEMPORAL_ADDRESS to your Temporal frontend's host:port."
    );
  return 'Start the local stack with `fineflow dev up`, or set TEMPORAL_ADDRESS.';
}

function unavailable(config: TemporalConfig, thrown: unknown): DependencyUnavailableError {
  const error = ensureError(thrown);
  return new DependencyUnavailableError(
    `cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${error.message}. ` +
      addressFix(config),
    { address: config.address, variable: 'TEMPORAL_ADDRESS' },
    { cause: error },
  );
}

/** Thrown inside the connect functions when the probe finds nothing listening; `unavailable` adds the address. */
const NOTHING_LISTENS = 'nothing listens there (connection refused)';

/**
 * The data converter every client and worker passes to Temporal (`Worker.create({dataConverter})`,
 * `new Client({dataConverter})`). Throws when no key is configured and encryption was not turned off.
 */
export function dataConverterFor(config: TemporalConfig): DataConverter {
  const codec = config.codec;
  if (codec.mode === 'off') return {};
  if (codec.mode === 'missing') {
    throw new InvalidInputError(
      'no payload encryption key is configured, so Fineflow will not talk to Temporal (payloads would reach its history ' +
        'in plaintext). Set FINEFLOW_CODEC_KEYS=<id>:<base64 of 32 random bytes> or FINEFLOW_CODEC_KEY_FILE (the same ' +
        'key for every worker and client; `head -c 32 /dev/urandom | base64` makes one), start the local stack with ' +
        '`fineflow dev up` (it writes one to its state dir), or set FINEFLOW_CODEC=off to opt out explicitly.',
      { variable: 'FINEFLOW_CODEC_KEYS' },
    );
  }
  return { payloadCodecs: [new AesGcmPayloadCodec(codec.keys)] };
}

/**
 * A payload read from raw history (`fetchHistory()`), decoded as the SDK decodes arguments:
 * through the client's codecs (decryption), then its payload converter.
 */
export async function decodeHistoryPayload(client: Client, payload: Payload): Promise<unknown> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let payloads = [payload];
  // Codecs encode in order, so they decode in reverse.
  for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
  const [decoded] = payloads;
  return decoded === undefined ? undefined : payloadConverter.fromPayload(decoded);
}

/** gRPC status UNAVAILABLE: the server did not answer (refused, reset, restarting), as opposed to an answer. */
const GRPC_UNAVAILABLE = 14;

/**
 * True when a client call failed because Temporal itself did not answer (gRPC UNAVAILABLE anywhere
 * in the cause chain), not because a worker, the workflow or the request was at fault. The client's
 * channel reconnects by itself, so such a call can simply be repeated later.
 */
export function isTemporalUnreachable(thrown: unknown): boolean {
  let error: unknown = thrown;
  for (let depth = 0; error !== undefined && error !== null && depth < 8; depth++) {
    if (isGrpcServiceError(error) && error.code === GRPC_UNAVAILABLE) return true;
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}

/** The address a client talks to (for messages), when its connection is the SDK's own. */
export function temporalAddressOf(client: Client): string | undefined {
  return client.connection instanceof Connection ? client.connection.options.address : undefined;
}

/** How long the refusal probe waits for one address before it leaves the answer to the gRPC connect. */
const PROBE_TIMEOUT_MS = 1_000;

/** Whether one TCP connection to host:port is refused (RST at once), not accepted, slow or failed otherwise. */
function refusedAt(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const settle = (refused: boolean): void => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => settle(false));
    socket.once('connect', () => settle(false));
    socket.once('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNREFUSED'));
  });
}

/**
 * True when nothing listens at a `host:port` Temporal address: every address the host resolves to
 * refused a TCP connection. A host that does not resolve, a slow or silent server, and a route through
 * a gRPC/HTTP proxy (the variables grpc-js honours) all give false, so the SDK's connect keeps its retries
 * up to its deadline for them.
 */
export async function nothingListensAt(address: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env.grpc_proxy || env.https_proxy || env.http_proxy || env.GRPC_PROXY || env.HTTPS_PROXY || env.HTTP_PROXY)
    return false;
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return false;
  let addresses: readonly string[];
  try {
    addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch {
    return false;
  }
  if (addresses.length === 0) return false;
  const refused = await Promise.all(addresses.map((ip) => refusedAt(ip, port)));
  return refused.every(Boolean);
}

/**
 * `interceptors`: e.g. `fineflow submit`'s tracing of the start call (src/observability/client-tracing.ts).
 * An address nothing listens on fails at once (the SDK's connect would retry the refused port until its
 * 10 s deadline); any other failure keeps the SDK's retries. The probe costs one TCP handshake.
 */
export async function connectClient(
  config: TemporalConfig,
  options: { readonly interceptors?: ClientOptions['interceptors'] } = {},
): Promise<Client> {
  const dataConverter = dataConverterFor(config);
  try {
    // Probed before any gRPC channel exists: a channel, once trying, keeps the process alive until its deadline.
    if (await nothingListensAt(config.address)) throw new Error(NOTHING_LISTENS);
    const connection = await Connection.connect({
      address: config.address,
      tls: await tlsOptions(config),
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
      connectTimeout: '10s',
    });
    return new Client({
      connection,
      namespace: config.namespace,
      dataConverter,
      ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    });
  } catch (thrown) {
    throw unavailable(config, thrown);
  }
}

/**
 * A worker connection; pass `dataConverterFor(config)` to `Worker.create` with it. A refused address fails
 * with the same message as {@link connectClient}'s (the core's own is a Rust debug dump). Only this first
 * connect is probed: a worker that loses Temporal later keeps the core's reconnects.
 */
export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  dataConverterFor(config); // refuse before connecting, with the message that names the fix
  try {
    if (await nothingListensAt(config.address)) throw new Error(NOTHING_LISTENS);
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
