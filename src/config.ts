/**
 * Connection settings, read once from the environment at the edge (CLI entry, worker entry)
 * into a frozen object; libraries take the parts they need as parameters. A bad value fails
 * fast and names the variable.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | TEMPORAL_ADDRESS | 127.0.0.1:7233 | Temporal frontend host:port |
 * | TEMPORAL_NAMESPACE | default | Temporal namespace |
 * | TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY | — | client certificate and key (mTLS); both or neither |
 * | TEMPORAL_TLS_CA | — | CA bundle for the server certificate |
 * | TEMPORAL_TLS_SERVER_NAME | — | override the TLS server name |
 * | TEMPORAL_API_KEY | — | API key (Temporal Cloud); implies TLS |
 * | FINEFLOW_S3_ENDPOINT | http://127.0.0.1:9000 | S3 / MinIO endpoint URL |
 * | FINEFLOW_S3_ACCESS_KEY | fineflow | access key |
 * | FINEFLOW_S3_SECRET_KEY | fineflow-secret | secret key |
 * | FINEFLOW_S3_REGION | us-east-1 | region |
 * | FINEFLOW_BUCKET | fineflow | bucket for runs, cache and the model registry |
 * | FINEFLOW_TF_BACKEND | auto | `auto` (native when it loads), `native` (fail without it), `cpu` (pure JS) |
 */
import { InvalidInputError } from './errors';

export interface TemporalConfig {
  readonly address: string;
  readonly namespace: string;
  readonly tls?: {
    readonly clientCertPath?: string;
    readonly clientKeyPath?: string;
    readonly caPath?: string;
    readonly serverName?: string;
  };
  readonly apiKey?: string;
}

export interface S3Config {
  readonly endPoint: string;
  readonly port: number;
  readonly useSSL: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  /** Bucket holding runs/, cache/ and models/. */
  readonly bucket: string;
}

export type TfBackendPreference = 'auto' | 'native' | 'cpu';
/** How training steps execute (src/ml/train/engine.ts): `auto` = graph when possible. */
export type TrainEnginePreference = 'auto' | 'graph' | 'eager';

export interface FineflowConfig {
  readonly temporal: TemporalConfig;
  readonly s3: S3Config;
  readonly tfBackend: TfBackendPreference;
  readonly trainEngine: TrainEnginePreference;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function parseS3Endpoint(raw: string, variable = 'FINEFLOW_S3_ENDPOINT'): Pick<S3Config, 'endPoint' | 'port' | 'useSSL'> {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new InvalidInputError(`${variable}=${raw} is not a URL; expected e.g. http://127.0.0.1:9000`, { variable });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`${variable}=${raw}: the scheme must be http or https`, { variable });
  }
  const useSSL = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : useSSL ? 443 : 80;
  return { endPoint: url.hostname, port, useSSL };
}

export function loadConfig(env: Env = process.env): FineflowConfig {
  const address = nonEmpty(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) {
    throw new InvalidInputError(`TEMPORAL_ADDRESS=${address} must be host:port, e.g. 127.0.0.1:7233`, { variable: 'TEMPORAL_ADDRESS' });
  }
  const cert = nonEmpty(env, 'TEMPORAL_TLS_CERT');
  const key = nonEmpty(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(cert) !== Boolean(key)) {
    throw new InvalidInputError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and its key)', {
      variable: cert ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT',
    });
  }
  const ca = nonEmpty(env, 'TEMPORAL_TLS_CA');
  const serverName = nonEmpty(env, 'TEMPORAL_TLS_SERVER_NAME');
  const apiKey = nonEmpty(env, 'TEMPORAL_API_KEY');
  const tls =
    cert || ca || serverName || apiKey
      ? { ...(cert ? { clientCertPath: cert } : {}), ...(key ? { clientKeyPath: key } : {}), ...(ca ? { caPath: ca } : {}), ...(serverName ? { serverName } : {}) }
      : undefined;

  const endpoint = parseS3Endpoint(nonEmpty(env, 'FINEFLOW_S3_ENDPOINT') ?? 'http://127.0.0.1:9000');
  const bucket = nonEmpty(env, 'FINEFLOW_BUCKET') ?? 'fineflow';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidInputError(`FINEFLOW_BUCKET=${bucket} is not a valid bucket name (3-63 lowercase letters, digits, dots, dashes)`, {
      variable: 'FINEFLOW_BUCKET',
    });
  }
  const tfBackend = (nonEmpty(env, 'FINEFLOW_TF_BACKEND') ?? 'auto') as TfBackendPreference;
  if (!['auto', 'native', 'cpu'].includes(tfBackend)) {
    throw new InvalidInputError(`FINEFLOW_TF_BACKEND=${tfBackend} must be auto, native or cpu`, { variable: 'FINEFLOW_TF_BACKEND' });
  }
  const trainEngine = (nonEmpty(env, 'FINEFLOW_TRAIN_ENGINE') ?? 'auto') as TrainEnginePreference;
  if (!['auto', 'graph', 'eager'].includes(trainEngine)) {
    throw new InvalidInputError(`FINEFLOW_TRAIN_ENGINE=${trainEngine} must be auto, graph or eager`, { variable: 'FINEFLOW_TRAIN_ENGINE' });
  }
  return Object.freeze({
    temporal: Object.freeze({
      address,
      namespace: nonEmpty(env, 'TEMPORAL_NAMESPACE') ?? 'default',
      ...(tls ? { tls: Object.freeze(tls) } : {}),
      ...(apiKey ? { apiKey } : {}),
    }),
    s3: Object.freeze({
      ...endpoint,
      accessKey: nonEmpty(env, 'FINEFLOW_S3_ACCESS_KEY') ?? 'fineflow',
      secretKey: nonEmpty(env, 'FINEFLOW_S3_SECRET_KEY') ?? 'fineflow-secret',
      region: nonEmpty(env, 'FINEFLOW_S3_REGION') ?? 'us-east-1',
      bucket,
    }),
    tfBackend,
    trainEngine,
  });
}
