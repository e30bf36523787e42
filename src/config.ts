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
 * | FINEFLOW_S3_ACCESS_KEY | fineflow (loopback endpoint only) | access key; required for any other endpoint |
 * | FINEFLOW_S3_SECRET_KEY | fineflow-secret (loopback endpoint only) | secret key; required for any other endpoint |
 * | FINEFLOW_S3_CA | — | PEM CA bundle that signs an `https://` endpoint's certificate (private CA) |
 * | FINEFLOW_S3_REGION | us-east-1 | region |
 * | FINEFLOW_BUCKET | fineflow | bucket for runs, cache and the model registry |
 * | FINEFLOW_DATASET_BUCKETS | datasets | buckets `data push` may create besides FINEFLOW_BUCKET (`*`: any) |
 * | FINEFLOW_TF_BACKEND | auto | `auto` (native when it loads), `native` (fail without it), `cpu` (pure JS) |
 * | FINEFLOW_OUTBOUND_ALLOW | — (none) | comma-separated URL prefixes that `http(s)://` sources (models, data, cache fingerprints) may start with, e.g. `https://models.example.com/v1/`; none: every http(s) source is refused (docs/security.md) |
 * | FINEFLOW_OUTBOUND_ALLOW_ADDRESSES | — (none) | comma-separated IPs or CIDR ranges that allowed URLs may resolve to although they are loopback, private or link-local, e.g. `127.0.0.1/32`; a cloud-metadata address only when named exactly |
 * | FINEFLOW_FILE_ROOTS | — (none) | comma-separated absolute directories that `file://` sources may lie in (symlinks resolved); none: every file:// source is refused |
 * | FINEFLOW_OUTBOUND_MAX_BYTES | 536870912 | cap on one download or file read from an http(s)/file source (bytes) |
 * | FINEFLOW_CODEC_KEYS | — | payload encryption keys `id:base64key`, comma-separated, newest first (the first encrypts) |
 * | FINEFLOW_CODEC_KEY_FILE | — | the same, one key a line, in a file (mode 600) |
 * | FINEFLOW_CODEC | on | `off`: no payload encryption, an explicit opt-out; otherwise a missing key refuses to connect |
 * | FINEFLOW_CODEC_SERVER_TOKEN | — | bearer token `fineflow codec-server` requires (at least 24 characters; it refuses to start without) |
 * | FINEFLOW_CODEC_SERVER_ORIGINS | http://127.0.0.1:8233,http://localhost:8233 | Temporal UI origins the codec server's CORS allows (port from FINEFLOW_TEMPORAL_UI_PORT) |
 * | FINEFLOW_STACK_DIR | .fineflow/dev in a clone, ~/.local/state/fineflow/dev installed | the local stack's state dir (relative to the working directory); with no key set and a loopback Temporal, its `codec-keys` file (written by `dev up`) is used |
 * | FINEFLOW_UI_URL | — | base URL of `fineflow ui` (e.g. http://127.0.0.1:8090): every run (started by the CLI, the UI, a schedule or a data watcher) carries a link to its page there in the Temporal UI (memo `fineflowUi`; workflow details too, except for scheduled runs) |
 * | FINEFLOW_UI_PORT | 8090 | port of the web UI `fineflow dev up` starts on 127.0.0.1 (read by src/cli/commands/dev.ts with the stack's other ports) |
 * | FINEFLOW_UI_TOKEN | — | token `fineflow ui` requires on every request; mandatory when it listens beyond loopback |
 * | FINEFLOW_TEMPORAL_UI_URL | — | base URL of the Temporal UI, for links from `fineflow ui` to a run's workflow |
 * | FINEFLOW_SERVE_TOKEN | — | bearer token `fineflow serve` requires on every request but /healthz (at least 16 characters); mandatory beyond loopback |
 * | FINEFLOW_EXPORT_PYTHON | the venv of infra/keras/setup-venv.sh, if created | Python with TensorFlow 2.16+ (Keras 3) that `fineflow models export --format keras\|savedmodel` runs its bundled converter in |
 * | FINEFLOW_CACHE_DIR | ~/.cache/fineflow | cache root of the setup scripts (native TensorFlow, the Keras venv under `keras/`) |
 * | FINEFLOW_WORKFLOW_BUNDLE_CACHE | — (off) | absolute dir where workers share a clone's workflow bundle (README) |
 * | FINEFLOW_LOG_FORMAT | text | `json`: `fineflow worker` writes one JSON object a line (time, level, msg, pool, runId, stageId, stageType, attempt): SDK, workflow and stage log lines |
 * | OTEL_EXPORTER_OTLP_TRACES_ENDPOINT | — (off) | OTLP/HTTP (JSON) URL where `fineflow worker` sends OpenTelemetry traces (run → stage → activity) and `fineflow submit` its own span (the run's parent), e.g. `http://otel-collector:4318/v1/traces`; unset (and no OTEL_EXPORTER_OTLP_ENDPOINT): no tracing |
 * | OTEL_EXPORTER_OTLP_ENDPOINT | — (off) | the collector's base URL; traces go to `<it>/v1/traces` (the traces variable wins) |
 * | OTEL_EXPORTER_OTLP_HEADERS | — | headers sent with every export, `name=value` comma-separated (e.g. a collector's API key); never logged |
 * | OTEL_SERVICE_NAME | fineflow-worker; fineflow-cli for `fineflow submit` | `service.name` of the spans |
 * | FINEFLOW_METRICS_ADDRESS | — (off) | `host:port` where `fineflow worker` serves Prometheus `/metrics` (Fineflow's and the Temporal SDK's), e.g. `0.0.0.0:9464` |
 * | FINEFLOW_SECRET_ENV | — (none) | comma-separated environment variables of the worker that a pipeline's `secrets: {env: …}` may name (`PREFIX_*` allowed) |
 * | FINEFLOW_SECRET_FILE_ROOTS | — (none) | comma-separated absolute directories that a pipeline's `secrets: {file: …}` may lie in (e.g. /run/secrets) |
 * | FINEFLOW_COMMAND_ALLOW | — (none) | executables `command` stages may run: comma-separated `name=/abs/path` (or `/abs/path`, named by its basename); a pipeline's `run[0]` must be one of the names; none: every command stage is refused |
 * | FINEFLOW_COMMAND_WORK_DIR | $TMPDIR/fineflow-command | where each command stage attempt gets its fresh work directory (removed afterwards) |
 * | FINEFLOW_COMMAND_MAX_BYTES | 2147483648 | cap on what one command stage downloads as inputs, and separately on what it uploads as outputs (bytes) |
 * | FINEFLOW_WORKER_CPU | the host's cores | CPU cores `fineflow worker` offers stages' `resources.cpu` (`--cpu` overrides), 0.01–256 |
 * | FINEFLOW_WORKER_MEMORY | the host's memory | memory the worker offers `resources.memory`, with a unit, e.g. `16Gi` (`--memory` overrides) |
 * | FINEFLOW_WORKER_GPU | 0 | whole GPUs the worker offers `resources.gpu` (`--gpu` overrides), 0–64 |
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { isIP } from 'node:net';
import { InvalidInputError } from './core/errors';
import { shownInput } from './core/shown-input';
import { stackDir } from './package-paths';
import { parseCodecKeys, type CodecKeyRing } from './security/payload-codec';
import { loadCommandConfig, type CommandConfig } from './command/command-config';
import { parseMemory, RESOURCE_BOUNDS, type WorkerCapacity } from './core/spec/resources';

export interface TemporalConfig {
  readonly address: string;
  /** Where `address` came from, for messages that name the fix: TEMPORAL_ADDRESS, or its default when unset. */
  readonly addressFrom?: 'TEMPORAL_ADDRESS' | 'default';
  readonly namespace: string;
  readonly tls?: {
    readonly clientCertPath?: string;
    readonly clientKeyPath?: string;
    readonly caPath?: string;
    readonly serverName?: string;
  };
  readonly apiKey?: string;
  /** Payload encryption (src/security/payload-codec.ts): keys, an explicit opt-out, or missing. */
  readonly codec: CodecSetting;
}

export type CodecSetting =
  | {
      readonly mode: 'encrypt';
      readonly keys: CodecKeyRing;
      /** variable or file the keys came from */ readonly source: string;
    }
  | { readonly mode: 'off' }
  | { readonly mode: 'missing' };

export interface S3Config {
  readonly endPoint: string;
  readonly port: number;
  readonly useSSL: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  /** PEM CA bundle path for an https endpoint signed by a private CA. */
  readonly caPath?: string;
  readonly region: string;
  /** Bucket holding runs/, cache/ and models/. */
  readonly bucket: string;
  /**
   * Dataset buckets a command may create besides `bucket` (FINEFLOW_DATASET_BUCKETS, default `datasets`; `*` any),
   * so a mistyped bucket in `data push s3://…` is refused, not created (src/storage/bucket-guard.ts).
   */
  readonly datasetBuckets?: readonly string[];
}

export type TfBackendPreference = 'auto' | 'native' | 'cpu';
/** How training steps execute (src/ml/train/engine.ts): `auto` = graph when possible. */
export type TrainEnginePreference = 'auto' | 'graph' | 'eager';

/** What `http(s)://` and `file://` sources may reach (src/security/outbound.ts); empty lists refuse all. */
export interface OutboundConfig {
  /** Normalised URL prefixes (FINEFLOW_OUTBOUND_ALLOW). */
  readonly allowUrlPrefixes: readonly string[];
  /** IPs or CIDR ranges allowed although not public (FINEFLOW_OUTBOUND_ALLOW_ADDRESSES). */
  readonly allowAddresses: readonly string[];
  /** Absolute directories for `file://` sources (FINEFLOW_FILE_ROOTS). */
  readonly fileRoots: readonly string[];
  /** Cap on one download or file read (FINEFLOW_OUTBOUND_MAX_BYTES). */
  readonly maxDownloadBytes: number;
}

/** Where `secrets:` references may point on this worker (src/security/secrets.ts); empty lists allow none. */
export interface SecretsConfig {
  /** Variable names, or prefixes ending in `*` (FINEFLOW_SECRET_ENV). */
  readonly allowEnv: readonly string[];
  /** Absolute directories (FINEFLOW_SECRET_FILE_ROOTS). */
  readonly fileRoots: readonly string[];
}

export interface FineflowConfig {
  readonly temporal: TemporalConfig;
  readonly s3: S3Config;
  readonly tfBackend: TfBackendPreference;
  readonly trainEngine: TrainEnginePreference;
  readonly outbound: OutboundConfig;
  /** Memory cap of each training child process in MiB (FINEFLOW_TRAIN_MEMORY_MB, default 4096). */
  readonly trainMemoryMb?: number;
  /**
   * What a worker offers the stages' `resources:` (FINEFLOW_WORKER_CPU, FINEFLOW_WORKER_MEMORY such as
   * 16Gi, FINEFLOW_WORKER_GPU); unset keys default to the host's cores and memory, and 0 GPUs.
   */
  readonly workerCapacity: Partial<WorkerCapacity>;
  /** `fineflow ui`: access token and the Temporal UI to link to. */
  readonly ui: {
    readonly token?: string;
    readonly temporalUiUrl?: string;
    /** Base URL of `fineflow ui` (FINEFLOW_UI_URL): each run's workflow links back to its page there. */
    readonly url?: string;
  };
  /** `fineflow serve`: the bearer token clients must send (FINEFLOW_SERVE_TOKEN). */
  readonly serve: { readonly token?: string };
  /** `fineflow models export --format keras|savedmodel`: the configured Python, and the cached venv's. */
  readonly export: { readonly python?: string; readonly defaultPython: string };
  readonly secrets: SecretsConfig;
  /** What `command` stages may run on this worker (src/command/command-config.ts). */
  readonly command: CommandConfig;
  /** Metrics, logs and traces of workers and the UI (src/observability/). */
  readonly observability: ObservabilityConfig;
  /** Where workers keep their workflow bundle across processes (FINEFLOW_WORKFLOW_BUNDLE_CACHE); undefined: off. */
  readonly workflowBundleCache?: string;
}

export interface ObservabilityConfig {
  /** Where `fineflow worker` serves `/metrics` (FINEFLOW_METRICS_ADDRESS); undefined: no endpoint. */
  readonly metricsAddress?: { readonly host: string; readonly port: number };
  /** `json`: the worker logs one JSON object a line with run and stage ids (FINEFLOW_LOG_FORMAT). */
  readonly logFormat: 'text' | 'json';
  /** OpenTelemetry traces of workers (src/observability/tracing.ts); undefined: off (the default). */
  readonly tracing?: TracingConfig;
}

export interface TracingConfig {
  /** OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  readonly endpoint: string;
  /** Sent with every export (OTEL_EXPORTER_OTLP_HEADERS); may hold a collector's key, so never printed. */
  readonly headers: Readonly<Record<string, string>>;
  /** `service.name` resource attribute of a worker's spans (OTEL_SERVICE_NAME, default fineflow-worker). */
  readonly serviceName: string;
  /** `service.name` of `fineflow submit`'s span (OTEL_SERVICE_NAME, default fineflow-cli). */
  readonly cliServiceName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function parseS3Endpoint(
  raw: string,
  variable = 'FINEFLOW_S3_ENDPOINT',
): Pick<S3Config, 'endPoint' | 'port' | 'useSSL'> {
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

function listOf(env: Env, name: string): string[] {
  return (nonEmpty(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A URL prefix in the form the policy compares against (`new URL(…).href`). */
export function normaliseUrlPrefix(raw: string, variable = 'FINEFLOW_OUTBOUND_ALLOW'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(
      `${variable}: ${raw} is not a URL; expected a prefix such as https://models.example.com/v1/`,
      { variable },
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InvalidInputError(`${variable}: ${raw} must be an http:// or https:// URL with a host`, { variable });
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new InvalidInputError(`${variable}: ${raw} must not carry credentials, a query or a fragment`, { variable });
  }
  return url.href;
}

export const DEFAULT_OUTBOUND_MAX_BYTES = 512 * 1024 * 1024;

export function loadOutboundConfig(env: Env = process.env): OutboundConfig {
  const allowUrlPrefixes = listOf(env, 'FINEFLOW_OUTBOUND_ALLOW').map((raw) => normaliseUrlPrefix(raw));
  const allowAddresses = listOf(env, 'FINEFLOW_OUTBOUND_ALLOW_ADDRESSES');
  for (const entry of allowAddresses) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)))
    ) {
      throw new InvalidInputError(
        `FINEFLOW_OUTBOUND_ALLOW_ADDRESSES: ${entry} is not an IP address or CIDR range ` +
          '(e.g. 127.0.0.1/32, 10.0.0.0/8, ::1/128)',
        {
          variable: 'FINEFLOW_OUTBOUND_ALLOW_ADDRESSES',
        },
      );
    }
  }
  const fileRoots = listOf(env, 'FINEFLOW_FILE_ROOTS').map((root) => {
    if (!isAbsolute(root)) {
      throw new InvalidInputError(`FINEFLOW_FILE_ROOTS: ${root} must be an absolute directory`, {
        variable: 'FINEFLOW_FILE_ROOTS',
      });
    }
    return resolvePath(root);
  });
  const rawMax = nonEmpty(env, 'FINEFLOW_OUTBOUND_MAX_BYTES');
  const maxDownloadBytes = rawMax === undefined ? DEFAULT_OUTBOUND_MAX_BYTES : Number(rawMax);
  if (!Number.isSafeInteger(maxDownloadBytes) || maxDownloadBytes < 1) {
    throw new InvalidInputError(`FINEFLOW_OUTBOUND_MAX_BYTES=${rawMax} must be a positive number of bytes`, {
      variable: 'FINEFLOW_OUTBOUND_MAX_BYTES',
    });
  }
  return Object.freeze({
    allowUrlPrefixes: Object.freeze(allowUrlPrefixes),
    allowAddresses: Object.freeze(allowAddresses),
    fileRoots: Object.freeze(fileRoots),
    maxDownloadBytes,
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The S3 credentials. The well-known local defaults apply only to a loopback endpoint (the local
 * stack), so a deployment that forgot its credentials fails at start instead of trying them.
 */
function s3Credentials(env: Env, endPoint: string): Pick<S3Config, 'accessKey' | 'secretKey'> {
  const accessKey = nonEmpty(env, 'FINEFLOW_S3_ACCESS_KEY');
  const secretKey = nonEmpty(env, 'FINEFLOW_S3_SECRET_KEY');
  if (accessKey && secretKey) return { accessKey, secretKey };
  if (!LOOPBACK_HOSTS.has(endPoint)) {
    const missing = accessKey ? 'FINEFLOW_S3_SECRET_KEY' : 'FINEFLOW_S3_ACCESS_KEY';
    throw new InvalidInputError(
      `${missing} is not set: the S3 endpoint ${endPoint} is not local, so there are no default credentials; ` +
        'set FINEFLOW_S3_ACCESS_KEY and FINEFLOW_S3_SECRET_KEY',
      {
        variable: missing,
      },
    );
  }
  return { accessKey: accessKey ?? 'fineflow', secretKey: secretKey ?? 'fineflow-secret' };
}

function readKeyFile(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidInputError(
      `${variable}=${path} cannot be read (${code}); point it at a file of id:base64key lines`,
      { variable },
    );
  }
}

const LOOPBACK_ADDRESS = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/;

/**
 * Keys from FINEFLOW_CODEC_KEYS or FINEFLOW_CODEC_KEY_FILE; failing both, the local stack's key
 * file, but only for a loopback Temporal (the stack `dev up` and `npm test` start), so a local
 * stack is encrypted with no setup and a remote cluster never borrows a developer's key.
 */
export function loadCodecSetting(env: Env, temporalAddress: string, cwd = process.cwd()): CodecSetting {
  const mode = nonEmpty(env, 'FINEFLOW_CODEC') ?? 'on';
  if (mode !== 'on' && mode !== 'off')
    throw new InvalidInputError(`FINEFLOW_CODEC=${mode} must be on or off`, { variable: 'FINEFLOW_CODEC' });
  const inline = nonEmpty(env, 'FINEFLOW_CODEC_KEYS');
  const file = nonEmpty(env, 'FINEFLOW_CODEC_KEY_FILE');
  if (mode === 'off') {
    if (inline || file)
      throw new InvalidInputError(
        'FINEFLOW_CODEC=off contradicts the keys set in FINEFLOW_CODEC_KEYS / FINEFLOW_CODEC_KEY_FILE; unset one side',
        { variable: 'FINEFLOW_CODEC' },
      );
    return { mode: 'off' };
  }
  if (inline && file)
    throw new InvalidInputError('set FINEFLOW_CODEC_KEYS or FINEFLOW_CODEC_KEY_FILE, not both', {
      variable: 'FINEFLOW_CODEC_KEYS',
    });
  if (inline)
    return { mode: 'encrypt', keys: parseCodecKeys(inline, 'FINEFLOW_CODEC_KEYS'), source: 'FINEFLOW_CODEC_KEYS' };
  if (file)
    return {
      mode: 'encrypt',
      keys: parseCodecKeys(readKeyFile(file, 'FINEFLOW_CODEC_KEY_FILE'), `FINEFLOW_CODEC_KEY_FILE=${file}`),
      source: file,
    };
  if (!LOOPBACK_ADDRESS.test(temporalAddress)) return { mode: 'missing' };
  const stackKeys = resolvePath(stackDir(env, cwd), 'codec-keys');
  let text: string;
  try {
    text = readFileSync(stackKeys, 'utf8');
  } catch {
    return { mode: 'missing' };
  }
  return { mode: 'encrypt', keys: parseCodecKeys(text, stackKeys), source: stackKeys };
}

function uiConfig(env: Env): FineflowConfig['ui'] {
  const token = nonEmpty(env, 'FINEFLOW_UI_TOKEN');
  if (token !== undefined && token.length < 16)
    throw new InvalidInputError('FINEFLOW_UI_TOKEN must be at least 16 characters', { variable: 'FINEFLOW_UI_TOKEN' });
  const temporalUiUrl = nonEmpty(env, 'FINEFLOW_TEMPORAL_UI_URL');
  if (temporalUiUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(temporalUiUrl)) {
    throw new InvalidInputError(
      `FINEFLOW_TEMPORAL_UI_URL=${temporalUiUrl} must be an http(s) URL, e.g. http://127.0.0.1:8233`,
      { variable: 'FINEFLOW_TEMPORAL_UI_URL' },
    );
  }
  const url = nonEmpty(env, 'FINEFLOW_UI_URL');
  if (url !== undefined && !/^https?:\/\/[^\s?#]+$/.test(url)) {
    throw new InvalidInputError(
      `FINEFLOW_UI_URL=${url} must be an http(s) URL without query or fragment, e.g. http://127.0.0.1:8090`,
      { variable: 'FINEFLOW_UI_URL' },
    );
  }
  return {
    ...(token ? { token } : {}),
    ...(temporalUiUrl ? { temporalUiUrl } : {}),
    ...(url ? { url: url.replace(/\/+$/, '') } : {}),
  };
}

/** The venv infra/keras/setup-venv.sh creates with its default wheel (tensorflow-cpu 2.21.0). */
function exportConfig(env: Env): FineflowConfig['export'] {
  const cacheRoot = nonEmpty(env, 'FINEFLOW_CACHE_DIR') ?? join(homedir(), '.cache', 'fineflow');
  const python = nonEmpty(env, 'FINEFLOW_EXPORT_PYTHON');
  return {
    ...(python ? { python } : {}),
    defaultPython: join(cacheRoot, 'keras', 'venv-tensorflow-cpu-2.21.0', 'bin', 'python'),
  };
}

function serveConfig(env: Env): FineflowConfig['serve'] {
  const token = nonEmpty(env, 'FINEFLOW_SERVE_TOKEN');
  if (token !== undefined && token.length < 16)
    throw new InvalidInputError('FINEFLOW_SERVE_TOKEN must be at least 16 characters', {
      variable: 'FINEFLOW_SERVE_TOKEN',
    });
  return token ? { token } : {};
}

/** Parse `host:port` (`[::1]:9464` for IPv6) of a listening socket. */
export function parseListenAddress(raw: string, variable: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65_535)
    throw new InvalidInputError(
      `${variable}=${raw}: write host:port, e.g. 127.0.0.1:9464 ` +
        '(0.0.0.0:9464 to let Prometheus reach it from another host)',
      { variable },
    );
  return { host: match[1] ?? match[2] ?? '', port };
}

export function loadObservabilityConfig(env: Env = process.env): ObservabilityConfig {
  const metrics = nonEmpty(env, 'FINEFLOW_METRICS_ADDRESS');
  const logFormat = nonEmpty(env, 'FINEFLOW_LOG_FORMAT') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json')
    throw new InvalidInputError(`FINEFLOW_LOG_FORMAT=${logFormat}: write text (the default) or json`, {
      variable: 'FINEFLOW_LOG_FORMAT',
    });
  const tracing = loadTracingConfig(env);
  return {
    ...(metrics ? { metricsAddress: parseListenAddress(metrics, 'FINEFLOW_METRICS_ADDRESS') } : {}),
    logFormat,
    ...(tracing ? { tracing } : {}),
  };
}

/** An OTLP endpoint: http(s), a host, no credentials in the URL (they belong in OTEL_EXPORTER_OTLP_HEADERS). */
function otlpUrl(raw: string, variable: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(`${variable}=${raw}: not a URL; write e.g. http://otel-collector:4318`, { variable });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidInputError(
      `${variable}: ${url.protocol} is not supported; Fineflow exports OTLP over HTTP: ` +
        'write an http:// or https:// URL (port 4318 by convention)',
      { variable },
    );
  if (url.username || url.password)
    throw new InvalidInputError(
      `${variable}: the URL carries credentials; ` +
        'put them in OTEL_EXPORTER_OTLP_HEADERS (e.g. authorization=Bearer …) instead',
      { variable },
    );
  if (url.search || url.hash)
    throw new InvalidInputError(`${variable}: remove the query or fragment from the URL`, { variable });
  return url;
}

/** `name=value,name2=value2` (values percent-decoded, as the OpenTelemetry spec says). */
function otlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const variable = 'OTEL_EXPORTER_OTLP_HEADERS';
  for (const part of (raw ?? '').split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    const name = at > 0 ? part.slice(0, at).trim() : '';
    // The value is never quoted: it may be the collector's key.
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
      throw new InvalidInputError(`${variable}: every entry must be name=value with a header name before '='`, {
        variable,
      });
    let value: string;
    try {
      value = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      throw new InvalidInputError(`${variable}: the value of ${name} is not valid percent-encoding`, { variable });
    }
    if (/[\r\n\0]/.test(value))
      throw new InvalidInputError(`${variable}: the value of ${name} has a line break`, { variable });
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

export function loadTracingConfig(env: Env = process.env): TracingConfig | undefined {
  const traces = nonEmpty(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = nonEmpty(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!traces && !base) return undefined;
  const endpoint = traces
    ? otlpUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
    : new URL(`${otlpUrl(base ?? '', 'OTEL_EXPORTER_OTLP_ENDPOINT').href.replace(/\/+$/, '')}/v1/traces`);
  const given = nonEmpty(env, 'OTEL_SERVICE_NAME');
  if (given && given.length > 200)
    throw new InvalidInputError('OTEL_SERVICE_NAME: at most 200 characters', { variable: 'OTEL_SERVICE_NAME' });
  return {
    endpoint: endpoint.href,
    headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: given ?? 'fineflow-worker',
    cliServiceName: given ?? 'fineflow-cli',
  };
}

export function loadSecretsConfig(env: Env = process.env): SecretsConfig {
  const allowEnv = listOf(env, 'FINEFLOW_SECRET_ENV');
  for (const name of allowEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(name)) {
      throw new InvalidInputError(`FINEFLOW_SECRET_ENV: ${name} is not a variable name or a PREFIX_* pattern`, {
        variable: 'FINEFLOW_SECRET_ENV',
      });
    }
  }
  const fileRoots = listOf(env, 'FINEFLOW_SECRET_FILE_ROOTS').map((root) => {
    if (!isAbsolute(root))
      throw new InvalidInputError(`FINEFLOW_SECRET_FILE_ROOTS: ${root} must be an absolute directory`, {
        variable: 'FINEFLOW_SECRET_FILE_ROOTS',
      });
    return resolvePath(root);
  });
  return Object.freeze({ allowEnv: Object.freeze(allowEnv), fileRoots: Object.freeze(fileRoots) });
}

/** TEMPORAL_ADDRESS and the TLS settings, checked (the codec and namespace are read with the rest). */
function temporalConnection(env: Env): {
  readonly address: string;
  readonly addressFrom: 'TEMPORAL_ADDRESS' | 'default';
  readonly apiKey: string | undefined;
  readonly tls: TemporalConfig['tls'];
} {
  const given = nonEmpty(env, 'TEMPORAL_ADDRESS');
  const address = given ?? '127.0.0.1:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) {
    throw new InvalidInputError(`TEMPORAL_ADDRESS=${address} must be host:port, e.g. 127.0.0.1:7233`, {
      variable: 'TEMPORAL_ADDRESS',
    });
  }
  const cert = nonEmpty(env, 'TEMPORAL_TLS_CERT');
  const key = nonEmpty(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(cert) !== Boolean(key)) {
    throw new InvalidInputError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and its key)',
      { variable: cert ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT' },
    );
  }
  const ca = nonEmpty(env, 'TEMPORAL_TLS_CA');
  const serverName = nonEmpty(env, 'TEMPORAL_TLS_SERVER_NAME');
  const apiKey = nonEmpty(env, 'TEMPORAL_API_KEY');
  const tls =
    cert || ca || serverName || apiKey
      ? {
          ...(cert ? { clientCertPath: cert } : {}),
          ...(key ? { clientKeyPath: key } : {}),
          ...(ca ? { caPath: ca } : {}),
          ...(serverName ? { serverName } : {}),
        }
      : undefined;
  return { address, addressFrom: given ? 'TEMPORAL_ADDRESS' : 'default', apiKey, tls };
}

/** FINEFLOW_S3_ENDPOINT, FINEFLOW_S3_CA and FINEFLOW_BUCKET, checked (credentials are read with the rest). */
function s3Location(env: Env): {
  readonly endpoint: ReturnType<typeof parseS3Endpoint>;
  readonly caPath: string | undefined;
  readonly bucket: string;
} {
  const endpoint = parseS3Endpoint(nonEmpty(env, 'FINEFLOW_S3_ENDPOINT') ?? 'http://127.0.0.1:9000');
  const caPath = nonEmpty(env, 'FINEFLOW_S3_CA');
  if (caPath && !endpoint.useSSL) {
    throw new InvalidInputError(
      'FINEFLOW_S3_CA is set but FINEFLOW_S3_ENDPOINT is not https://; ' +
        'use an https endpoint or unset FINEFLOW_S3_CA',
      { variable: 'FINEFLOW_S3_CA' },
    );
  }
  const bucket = nonEmpty(env, 'FINEFLOW_BUCKET') ?? 'fineflow';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidInputError(
      `FINEFLOW_BUCKET=${bucket} is not a valid bucket name (3-63 lowercase letters, digits, dots, dashes)`,
      { variable: 'FINEFLOW_BUCKET' },
    );
  }
  return { endpoint, caPath, bucket };
}

/** FINEFLOW_DATASET_BUCKETS when unset: the dataset bucket the example pipelines and the demo use. */
export const DEFAULT_DATASET_BUCKETS: readonly string[] = ['datasets'];

/** FINEFLOW_DATASET_BUCKETS: bucket names (or `*`), checked. */
function datasetBuckets(env: Env): readonly string[] {
  const names =
    nonEmpty(env, 'FINEFLOW_DATASET_BUCKETS') === undefined
      ? [...DEFAULT_DATASET_BUCKETS]
      : listOf(env, 'FINEFLOW_DATASET_BUCKETS');
  for (const name of names)
    if (name !== '*' && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
      throw new InvalidInputError(
        `FINEFLOW_DATASET_BUCKETS: ${shownInput(name)} is not a bucket name (3-63 lowercase letters, digits, dots, ` +
          'dashes); list bucket names separated by commas, e.g. FINEFLOW_DATASET_BUCKETS=datasets,raw-images',
        { variable: 'FINEFLOW_DATASET_BUCKETS' },
      );
  return Object.freeze(names);
}

/** FINEFLOW_TF_BACKEND, FINEFLOW_TRAIN_ENGINE and FINEFLOW_TRAIN_MEMORY_MB, checked. */
function trainingSettings(env: Env): Pick<FineflowConfig, 'tfBackend' | 'trainEngine' | 'trainMemoryMb'> {
  const tfBackend = (nonEmpty(env, 'FINEFLOW_TF_BACKEND') ?? 'auto') as TfBackendPreference;
  if (!['auto', 'native', 'cpu'].includes(tfBackend)) {
    throw new InvalidInputError(`FINEFLOW_TF_BACKEND=${tfBackend} must be auto, native or cpu`, {
      variable: 'FINEFLOW_TF_BACKEND',
    });
  }
  const trainEngine = (nonEmpty(env, 'FINEFLOW_TRAIN_ENGINE') ?? 'auto') as TrainEnginePreference;
  if (!['auto', 'graph', 'eager'].includes(trainEngine)) {
    throw new InvalidInputError(`FINEFLOW_TRAIN_ENGINE=${trainEngine} must be auto, graph or eager`, {
      variable: 'FINEFLOW_TRAIN_ENGINE',
    });
  }
  const trainMemoryText = nonEmpty(env, 'FINEFLOW_TRAIN_MEMORY_MB') ?? '4096';
  const trainMemoryMb = Number(trainMemoryText);
  if (!/^\d+$/.test(trainMemoryText) || trainMemoryMb < 256 || trainMemoryMb > 1_048_576) {
    throw new InvalidInputError(
      `FINEFLOW_TRAIN_MEMORY_MB=${trainMemoryText} must be a whole number of MiB from 256 to 1048576`,
      { variable: 'FINEFLOW_TRAIN_MEMORY_MB' },
    );
  }
  return { tfBackend, trainEngine, trainMemoryMb };
}

export function loadConfig(env: Env = process.env): FineflowConfig {
  // Checked in this order, so the first bad variable reported does not depend on the split.
  const { address, addressFrom, apiKey, tls } = temporalConnection(env);
  const { endpoint, caPath, bucket } = s3Location(env);
  const { tfBackend, trainEngine, trainMemoryMb } = trainingSettings(env);
  return Object.freeze({
    temporal: Object.freeze({
      address,
      addressFrom,
      namespace: nonEmpty(env, 'TEMPORAL_NAMESPACE') ?? 'default',
      ...(tls ? { tls: Object.freeze(tls) } : {}),
      ...(apiKey ? { apiKey } : {}),
      codec: Object.freeze(loadCodecSetting(env, address)),
    }),
    s3: Object.freeze({
      ...endpoint,
      ...s3Credentials(env, endpoint.endPoint),
      ...(caPath ? { caPath } : {}),
      region: nonEmpty(env, 'FINEFLOW_S3_REGION') ?? 'us-east-1',
      bucket,
      datasetBuckets: datasetBuckets(env),
    }),
    tfBackend,
    trainEngine,
    outbound: loadOutboundConfig(env),
    trainMemoryMb,
    workerCapacity: Object.freeze(loadWorkerCapacity(env)),
    ui: Object.freeze(uiConfig(env)),
    serve: Object.freeze(serveConfig(env)),
    export: Object.freeze(exportConfig(env)),
    observability: Object.freeze(loadObservabilityConfig(env)),
    secrets: loadSecretsConfig(env),
    command: loadCommandConfig(env),
    ...workflowBundleCache(env),
  });
}

/** FINEFLOW_WORKFLOW_BUNDLE_CACHE: an absolute directory (created when first written), or off. */
function workflowBundleCache(env: Env): { workflowBundleCache?: string } {
  const dir = nonEmpty(env, 'FINEFLOW_WORKFLOW_BUNDLE_CACHE');
  if (dir === undefined) return {};
  if (!isAbsolute(dir) || dir.length > 4096 || dir.includes('\0')) {
    throw new InvalidInputError(
      `FINEFLOW_WORKFLOW_BUNDLE_CACHE: ${JSON.stringify(dir.slice(0, 200))} must be an absolute directory path, ` +
        'e.g. /home/me/fineflow/.fineflow/workflow-bundles; unset it to bundle in each worker process',
      { variable: 'FINEFLOW_WORKFLOW_BUNDLE_CACHE' },
    );
  }
  return { workflowBundleCache: resolvePath(dir) };
}

/**
 * A worker's declared capacity, bounded like the stages' requests (src/core/spec/resources.ts);
 * `fineflow worker --cpu/--memory/--gpu` parse their values here too.
 */
export function parseWorkerCapacity(
  values: { readonly cpu?: string; readonly memory?: string; readonly gpu?: string },
  names: { readonly cpu: string; readonly memory: string; readonly gpu: string },
): Partial<WorkerCapacity> {
  const capacity: { cpu?: number; memoryMb?: number; gpu?: number } = {};
  if (values.cpu !== undefined) {
    const cpu = Number(values.cpu);
    const { min, max } = RESOURCE_BOUNDS.cpu;
    if (!/^[0-9]+(\.[0-9]+)?$/.test(values.cpu) || cpu < min || cpu > max)
      throw new InvalidInputError(
        `${names.cpu}=${values.cpu} must be a number of cores from ${min} to ${max}, e.g. 4`,
        {
          variable: names.cpu,
        },
      );
    capacity.cpu = cpu;
  }
  if (values.memory !== undefined) {
    const memoryMb = parseMemory(values.memory);
    if (memoryMb === undefined || memoryMb > RESOURCE_BOUNDS.memoryMb.max)
      throw new InvalidInputError(`${names.memory}=${values.memory} must be memory with a unit up to 4Ti, e.g. 16Gi`, {
        variable: names.memory,
      });
    capacity.memoryMb = memoryMb;
  }
  if (values.gpu !== undefined) {
    const gpu = Number(values.gpu);
    if (!/^[0-9]+$/.test(values.gpu) || gpu > RESOURCE_BOUNDS.gpu.max)
      throw new InvalidInputError(
        `${names.gpu}=${values.gpu} must be a whole number of GPUs from 0 to ${RESOURCE_BOUNDS.gpu.max}`,
        {
          variable: names.gpu,
        },
      );
    capacity.gpu = gpu;
  }
  return capacity;
}

function loadWorkerCapacity(env: Env): Partial<WorkerCapacity> {
  const cpu = nonEmpty(env, 'FINEFLOW_WORKER_CPU');
  const memory = nonEmpty(env, 'FINEFLOW_WORKER_MEMORY');
  const gpu = nonEmpty(env, 'FINEFLOW_WORKER_GPU');
  return parseWorkerCapacity(
    {
      ...(cpu !== undefined ? { cpu } : {}),
      ...(memory !== undefined ? { memory } : {}),
      ...(gpu !== undefined ? { gpu } : {}),
    },
    { cpu: 'FINEFLOW_WORKER_CPU', memory: 'FINEFLOW_WORKER_MEMORY', gpu: 'FINEFLOW_WORKER_GPU' },
  );
}

export interface CodecServerConfig {
  readonly token: string;
  readonly allowedOrigins: readonly string[];
}

const MIN_TOKEN_LENGTH = 24;

function parseOrigin(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== raw) {
    throw new InvalidInputError(
      `FINEFLOW_CODEC_SERVER_ORIGINS: '${raw}' is not an origin; ` +
        'write scheme://host[:port], e.g. https://temporal.example.com',
      {
        variable: 'FINEFLOW_CODEC_SERVER_ORIGINS',
      },
    );
  }
  return raw;
}

/** Settings of `fineflow codec-server`; it refuses to start without a token. */
export function loadCodecServerConfig(env: Env = process.env): CodecServerConfig {
  const token = nonEmpty(env, 'FINEFLOW_CODEC_SERVER_TOKEN');
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new InvalidInputError(
      `FINEFLOW_CODEC_SERVER_TOKEN must be set to a random token of at least ${MIN_TOKEN_LENGTH} characters ` +
        '(e.g. `head -c 32 /dev/urandom | base64`): the codec server decrypts payloads for whoever presents it',
      { variable: 'FINEFLOW_CODEC_SERVER_TOKEN' },
    );
  }
  const uiPort = nonEmpty(env, 'FINEFLOW_TEMPORAL_UI_PORT') ?? '8233';
  const origins =
    nonEmpty(env, 'FINEFLOW_CODEC_SERVER_ORIGINS') ?? `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`;
  const allowedOrigins = origins
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map(parseOrigin);
  return Object.freeze({ token, allowedOrigins: Object.freeze(allowedOrigins) });
}
