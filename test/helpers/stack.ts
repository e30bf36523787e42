/**
 * The connection settings integration tests use, and a fast check that the local stack is up.
 * `scripts/test.sh` (`npm test`) starts a dedicated stack on test ports and exports them in the
 * environment this module reads; running an integration test file directly needs the same.
 */
import { connect } from 'node:net';
import { Client } from 'minio';
import { loadConfig, type FineflowConfig } from '../../src/config';

/** The config of the test stack, from the environment `scripts/test.sh` sets. */
export function stackConfig(env: Readonly<Record<string, string | undefined>> = process.env): FineflowConfig {
  return loadConfig(env);
}

function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function minioLive(config: FineflowConfig, timeoutMs: number): Promise<boolean> {
  const { endPoint, port, useSSL } = config.s3;
  try {
    const response = await fetch(`${useSSL ? 'https' : 'http'}://${endPoint}:${port}/minio/health/live`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** How long {@link requireStack} waits for the stack to answer: a loaded machine can take seconds per answer. */
export const STACK_READY_WITHIN_MS = 30_000;

/** Ask `probe` until it answers true or `deadline` passes; each try gets what is left, at most 5 s. */
async function answersBy(probe: (timeoutMs: number) => Promise<boolean>, deadline: number): Promise<boolean> {
  for (let pauseMs = 100; ; pauseMs = Math.min(2_000, pauseMs * 2)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    if (await probe(Math.min(5_000, left))) return true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Throws with instructions unless Temporal and MinIO answer within `withinMs` (each asked again
 * until then: under load one health check can take longer than a second or two, which is slow,
 * not down). Call it in a `before` hook of every integration test file, so a missing stack fails
 * in one clear line instead of a timeout.
 */
export async function requireStack(
  config: FineflowConfig = stackConfig(),
  withinMs = STACK_READY_WITHIN_MS,
): Promise<FineflowConfig> {
  const [host = '', portText = ''] = config.temporal.address.split(/:(?=\d+$)/);
  const deadline = Date.now() + withinMs;
  const [temporalUp, minioUp] = await Promise.all([
    answersBy((timeoutMs) => canConnect(host, Number(portText), timeoutMs), deadline),
    answersBy((timeoutMs) => minioLive(config, timeoutMs), deadline),
  ]);
  const missing = [
    ...(temporalUp ? [] : [`Temporal at ${config.temporal.address}`]),
    ...(minioUp ? [] : [`MinIO at ${config.s3.useSSL ? 'https' : 'http'}://${config.s3.endPoint}:${config.s3.port}`]),
  ];
  if (missing.length > 0) {
    throw new Error(
      `integration tests need the local stack, but ${missing.join(' and ')} did not answer within ${withinMs / 1000} s. ` +
        'Run them via `npm test` (or `bash scripts/test.sh integration <file>`), which starts the stack; ' +
        'to run a file directly, start it with `bash infra/stack.sh up` and export the same TEMPORAL_ADDRESS / FINEFLOW_S3_* variables.',
    );
  }
  return config;
}

/** The plain minio client on the stack's MinIO, for what the ObjectStore interface deliberately lacks (bucket removal,
 * writes behind its back). */
export function rawMinioClient(config: FineflowConfig): Client {
  return new Client({
    endPoint: config.s3.endPoint,
    port: config.s3.port,
    useSSL: config.s3.useSSL,
    accessKey: config.s3.accessKey,
    secretKey: config.s3.secretKey,
  });
}
