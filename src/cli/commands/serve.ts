/**
 * `fineflow serve MODEL [--host H] [--port P] [--max-batch N] [--max-body-mb M]`: online
 * predictions over HTTP from one model and its stored preprocessing (src/serve/predict-server.ts),
 * the same scoring code as `fineflow predict`.
 */
import type * as ConfigModule from '../../config';
import type * as BackendModule from '../../ml/backend';
import type * as PredictorModule from '../../ml/predict/predictor';
import type * as OutboundModule from '../../security/outbound';
import type * as PredictServerModule from '../../serve/predict-server';
import type * as PredictStageTypeModule from '../../spec/predict-stage-type';
import type * as MinioStoreModule from '../../storage/minio-store';
import { EXIT, UsageError, type CliCommand, type CliIo } from '../command';
import { formatHumanDuration } from '../../core/spec/durations';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../ml/backend') as typeof BackendModule;
  const m2 = require('../../ml/predict/predictor') as typeof PredictorModule;
  const m3 = require('../../security/outbound') as typeof OutboundModule;
  const m4 = require('../../serve/predict-server') as typeof PredictServerModule;
  const m5 = require('../../spec/predict-stage-type') as typeof PredictStageTypeModule;
  const m6 = require('../../storage/minio-store') as typeof MinioStoreModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    loadConfig: m0.loadConfig,
    loadTf: m1.loadTf,
    loadPredictor: m2.loadPredictor,
    createOutboundPolicy: m3.createOutboundPolicy,
    startPredictServer: m4.startPredictServer,
    PREDICT_LIMITS: m5.PREDICT_LIMITS,
    createObjectStoreFromConfig: m6.createObjectStoreFromConfig,
  };
}

export const DEFAULT_SERVE_PORT = 8095;

function wholeNumber(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--${flag} ${value}: a whole number from 1 to ${max}`);
  return n;
}

function portOf(value: string | undefined): number {
  const port = value === undefined ? DEFAULT_SERVE_PORT : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port ${value}: expected a port number 0-65535`);
  return port;
}

type PredictServer = Awaited<ReturnType<typeof PredictServerModule.startPredictServer>>;

/** Serves until `stopped` resolves; a stop before the model loaded closes the server as a stop after it does. */
async function serveUntilStopped(parts: {
  readonly io: CliIo;
  readonly model: string;
  readonly started: number;
  readonly server: PredictServer;
  readonly predictor: Promise<PredictorModule.Predictor>;
  readonly stopped: Promise<'stopped'>;
  readonly token: boolean;
}): Promise<number> {
  const { io, model, server, predictor, stopped } = parts;
  try {
    if ((await Promise.race([server.ready.then(() => 'ready' as const), stopped])) === 'stopped') {
      await server.close();
      // The aborted load ends at once; a model that had just loaded is let go.
      await predictor.then(
        (loaded) => loaded.model.dispose(),
        () => undefined,
      );
      io.stderr.write(`fineflow serve: stopped while loading ${model}\n`);
      return EXIT.ok;
    }
  } catch (error) {
    await server.close();
    throw error;
  }
  const loaded = await predictor;
  io.stdout.write(
    `fineflow serve: ${model} ready at ${server.url}/predict in ${formatHumanDuration(Date.now() - parts.started)}` +
      ` (classes ${loaded.classes.join(', ')})${parts.token ? ' (token required)' : ''}\n`,
  );
  await stopped;
  await server.close();
  loaded.model.dispose();
  return EXIT.ok;
}

export const command: CliCommand = {
  name: 'serve',
  summary: 'serve a model over HTTP: /predict (JSON instances, batched), /healthz, /readyz, /model',
  usage: 'serve MODEL [--host H] [--port P] [--max-batch N] [--max-body-mb M]',
  description: `MODEL: registry://NAME@ALIAS|VERSION or the s3:// URI of a model a fine-tune stage wrote; its
preprocessing.json is applied to every instance, exactly as \`fineflow predict\` does.

Endpoints:
  GET  /healthz   200 while the process runs
  GET  /readyz    200 once the model is loaded, 503 before (or if it failed to load)
  GET  /model     what instances look like: columns or image shape, class names
  POST /predict   {"instances": [{"column": value, …}, …]}  (table models)
                  {"instances": [{"b64": "<base64 PNG/JPEG>"}, …]}  (image models)
                  → {"model": …, "predictions": [{"input", "predicted", "confidence", "probabilities"}, …]}
Errors are JSON {"error": "…"}: 400 (names instances[i] and the column), 413 (body over --max-body-mb or
more than --max-batch instances), 415 (not JSON), 401 (token), 503 (not ready).

Listens on 127.0.0.1:${DEFAULT_SERVE_PORT} by default. Any other --host needs FINEFLOW_SERVE_TOKEN (at least 16
characters), sent by clients as Authorization: Bearer …. Runs until interrupted: Ctrl-C (SIGINT) or SIGTERM
closes the server gracefully and exits 0, also while the model is still loading.

Exit codes: 0 stopped, 1 could not start (bad model, port in use), 2 usage, 3 MinIO unreachable.`,
  examples: [
    { command: 'fineflow serve registry://churn-mlp@champion', explanation: 'serve the champion on 127.0.0.1:8095' },
    {
      command:
        `curl -s localhost:${DEFAULT_SERVE_PORT}/predict -H 'content-type: application/json' -d ` +
        `'{"instances": [{"tenureMonths": 3, "plan": "basic"}]}'`,
      explanation: 'one prediction (a missing column is named in a 400 answer)',
    },
    {
      command: 'FINEFLOW_SERVE_TOKEN=$(openssl rand -hex 16) fineflow serve registry://defects@2 --host 0.0.0.0',
      explanation: 'reachable from other machines, with a bearer token',
    },
  ],
  json: 'a server: its answers are JSON already; it prints one status line',
  options: [
    { name: 'host', kind: 'string', valueName: 'H', description: 'address to listen on (default 127.0.0.1)' },
    {
      name: 'port',
      kind: 'string',
      valueName: 'P',
      description: `port (default ${DEFAULT_SERVE_PORT}; 0 = any free port)`,
    },
    {
      name: 'max-batch',
      kind: 'string',
      valueName: 'N',
      description: 'most instances per request (default 256; more than the predict batch limit is refused)',
    },
    { name: 'max-body-mb', kind: 'string', valueName: 'M', description: 'largest request body in MiB (default 16)' },
  ],
  async run(args, io) {
    const {
      loadConfig,
      loadTf,
      loadPredictor,
      createOutboundPolicy,
      startPredictServer,
      PREDICT_LIMITS,
      createObjectStoreFromConfig,
    } = load();
    const [model, extra] = args.positionals;
    if (!model) throw new UsageError('give the MODEL to serve');
    if (extra) throw new UsageError(`unexpected argument ${extra}`);
    const port = portOf(args.values.port);
    const maxBatch = wholeNumber('max-batch', args.values['max-batch'], 256, PREDICT_LIMITS.maxBatchSize);
    const maxBodyMb = wholeNumber('max-body-mb', args.values['max-body-mb'], 16, 1024);
    const config = loadConfig(io.env);
    // A stop during the load aborts it: the store's connections close, so a store that does not answer cannot hold
    // the process open, and serve ends through the same close as after loading.
    const loading = new AbortController();
    const store = createObjectStoreFromConfig(config, { signal: loading.signal });
    const outbound = createOutboundPolicy(config.outbound);
    const { tf } = loadTf({ preference: config.tfBackend });
    const started = Date.now();
    const predictor = loadPredictor(tf, store, model, {
      registryBucket: config.s3.bucket,
      outbound,
      signal: loading.signal,
    });
    const server = await startPredictServer(predictor, {
      host: args.values.host ?? '127.0.0.1',
      port,
      ...(config.serve.token ? { token: config.serve.token } : {}),
      maxBodyBytes: maxBodyMb * 1024 * 1024,
      limits: { maxBatch },
    });
    io.stderr.write(`fineflow serve: ${server.url} (loading ${model}…)\n`);
    // Listening from before the load, so SIGINT/SIGTERM during it end serve as they do after it (graceful, exit 0),
    // not by the signal's default action (exit 130/143).
    let stop = (): void => undefined;
    const stopped = new Promise<'stopped'>((resolve) => (stop = () => resolve('stopped')));
    const onSignal = (): void => {
      stop();
      loading.abort(new Error('serve stopped'));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await serveUntilStopped({ io, model, started, server, predictor, stopped, token: !!config.serve.token });
    } finally {
      // Removed on every way out: the returned code is the only end (an in-process caller lives on).
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
