/** `fineflow worker --pool P`: run the activities of pool P (the control pool also runs workflows). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as WorkerModule from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { EXIT, STAGE_MODULE_OPTION, UsageError, stageModulePaths, type CliCommand, type ParsedArgs } from '../command';
import type * as ConfigModule from '../../config';
import type * as MetricsModule from '../../observability/metrics';
import type * as MetricsServerModule from '../../observability/metrics-server';
import type { RunningMetricsServer, WorkerHealth } from '../../observability/metrics-server';
import { ensureError } from '../../core/errors';
import { parseDuration } from '../../core/spec/durations';
import { describeResources, type WorkerCapacity } from '../../core/spec/resources';
import { taskQueueForPool } from '../../core/run/task-queues';
import type * as RunWorkerModule from '../../worker/run-worker';
import type { FineflowWorker } from '../../worker/run-worker';
import type * as JsonLogModule from '../../observability/json-log';
import type * as TracingModule from '../../observability/tracing';
import type * as GraphAddonModule from '../../ml/graph/graph-addon';
import type * as OutageModule from '../../worker/temporal-outage';
import type { TemporalOutageWatch } from '../../worker/temporal-outage';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('@temporalio/worker') as typeof WorkerModule;
  const m1 = require('../../config') as typeof ConfigModule;
  const m2 = require('../../observability/metrics') as typeof MetricsModule;
  const m3 = require('../../observability/metrics-server') as typeof MetricsServerModule;
  const m4 = require('../../worker/run-worker') as typeof RunWorkerModule;
  const m5 = require('../../observability/json-log') as typeof JsonLogModule;
  const m6 = require('../../ml/graph/graph-addon') as typeof GraphAddonModule;
  const m7 = require('../../worker/temporal-outage') as typeof OutageModule;
  // OpenTelemetry loads only when an endpoint is configured (tracing is off by default).
  const tracing = () => require('../../observability/tracing') as typeof TracingModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    DefaultLogger: m0.DefaultLogger,
    LogTimestamp: m0.LogTimestamp,
    Runtime: m0.Runtime,
    loadConfig: m1.loadConfig,
    parseListenAddress: m1.parseListenAddress,
    parseWorkerCapacity: m1.parseWorkerCapacity,
    createFineflowMetrics: m2.createFineflowMetrics,
    freeLoopbackPort: m3.freeLoopbackPort,
    startMetricsServer: m3.startMetricsServer,
    runWorker: m4.runWorker,
    jsonSdkLogger: m5.jsonSdkLogger,
    jsonStageLogEcho: m5.jsonStageLogEcho,
    graphAddonStartupWarning: m6.graphAddonStartupWarning,
    TemporalOutageWatch: m7.TemporalOutageWatch,
    outageText: m7.outageText,
    outageJson: m7.outageJson,
    createTracing: (...args: Parameters<typeof TracingModule.createTracing>) => tracing().createTracing(...args),
  };
}

/** How often the health file is rewritten; probes treat a file older than a minute as dead. */
const HEALTH_FILE_INTERVAL_MS = 10_000;

/**
 * Rewrites `file` every 10 s while the worker polls, so an exec probe (`find FILE -mmin -1`) can
 * tell a live worker from a stuck or stopped one without a port. Returns the stop function.
 */
function keepHealthFile(file: string, worker: FineflowWorker, pool: string): () => void {
  const write = (): void => {
    const state = worker.worker.getState();
    if (state === 'RUNNING')
      writeFileSync(file, `${JSON.stringify({ pool, state, pid: process.pid, at: new Date().toISOString() })}\n`);
  };
  write();
  const timer = setInterval(write, HEALTH_FILE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** `--cpu/--memory/--gpu`, bounded as FINEFLOW_WORKER_* are; a bad value is a usage error naming the flag. */
function capacityFlags(
  values: { readonly [name: string]: string | undefined },
  parse: typeof ConfigModule.parseWorkerCapacity,
): Partial<WorkerCapacity> {
  const { cpu, memory, gpu } = values;
  try {
    return parse(
      {
        ...(cpu !== undefined ? { cpu } : {}),
        ...(memory !== undefined ? { memory } : {}),
        ...(gpu !== undefined ? { gpu } : {}),
      },
      { cpu: '--cpu', memory: '--memory', gpu: '--gpu' },
    );
  } catch (error) {
    throw new UsageError(ensureError(error).message);
  }
}

/** Before `onReady` the worker is connecting: alive, not ready. Only a polling worker is ready. */
function workerHealth(pool: string, worker: FineflowWorker | undefined): WorkerHealth {
  const state = worker ? worker.worker.getState() : 'STARTING';
  return { pool, state, live: state !== 'FAILED' && state !== 'STOPPED', ready: state === 'RUNNING' };
}

interface WorkerFlags {
  readonly pool: string;
  readonly concurrency: number;
  readonly graceMs: number;
  readonly progressMs: number | undefined;
}

/** `--pool`, `--concurrency`, `--grace` and `--progress-interval`, checked; a bad value is a usage error. */
function readWorkerFlags(args: ParsedArgs): WorkerFlags {
  const pool = args.values.pool;
  if (!pool) throw new UsageError('--pool is required');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(pool))
    throw new UsageError(`--pool ${pool}: use lower-case letters, digits and dashes`);
  const concurrency = args.values.concurrency === undefined ? 4 : Number(args.values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError('--concurrency must be a positive integer');
  const graceMs = args.values.grace === undefined ? 30_000 : parseDuration(args.values.grace);
  if (graceMs === undefined) throw new UsageError(`--grace ${args.values.grace}: write a duration such as 30s or 2m`);
  const progress = args.values['progress-interval'];
  const progressMs = progress === undefined ? undefined : parseDuration(progress);
  if (progress !== undefined && progressMs === undefined)
    throw new UsageError(`--progress-interval ${progress}: write a duration such as 10s`);
  return { pool, concurrency, graceMs, progressMs };
}

/**
 * A pool given as its task queue (`--pool fineflow-cpu`) polls `fineflow-fineflow-cpu`, where no stage of pool `cpu`
 * goes: the worker would start, say ready and never get work. Such a pool name is legal (a stage may say
 * `pool: fineflow-cpu`), so this warns rather than refuses.
 */
export function taskQueueAsPoolWarning(pool: string): string | undefined {
  const prefix = taskQueueForPool('');
  if (!pool.startsWith(prefix) || pool.length === prefix.length) return undefined;
  const meant = pool.slice(prefix.length);
  return (
    `--pool ${pool} polls task queue ${taskQueueForPool(pool)}, which gets the stages whose pool: is ${pool}. ` +
    `--pool takes a pool name, not a task queue: for the stages of pool ${meant} (task queue ${pool}), ` +
    `run \`fineflow worker --pool ${meant}\``
  );
}

/**
 * What the SDK warns about on every start of a worker as Fineflow runs it: a pool worker runs no workflows by design
 * (only the control pool does), so its `No workflows registered` warning reads as a fault to an operator. Kept
 * with FINEFLOW_DEBUG.
 */
const EXPECTED_SDK_WARNINGS: ReadonlySet<string> = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * `logger` without the {@link EXPECTED_SDK_WARNINGS} (unless `debug`) and without the core's retry warnings of a
 * running worker that lost Temporal, which `outage` reads and replaces with its two lines
 * (src/worker/temporal-outage.ts).
 */
export function workerSdkLogger(
  logger: Logger,
  options: {
    readonly debug: boolean;
    readonly outage?: Pick<TemporalOutageWatch, 'consume'>;
    /** The key of the core's own timestamp (nanoseconds) in a forwarded entry's meta. */
    readonly timestampKey?: symbol;
  },
): Logger {
  const { debug, outage, timestampKey } = options;
  const loggedAt = (meta: Record<string, unknown> | undefined): number | undefined => {
    const nanos = timestampKey && meta ? (meta as Record<symbol, unknown>)[timestampKey] : undefined;
    return typeof nanos === 'bigint' ? Number(nanos / 1_000_000n) : undefined;
  };
  const kept = (message: string, meta: Record<string, unknown> | undefined): boolean => {
    // Read even with FINEFLOW_DEBUG (the outage lines still come); only printed then.
    const readAsOutage = outage?.consume(message, meta, loggedAt(meta)) ?? false;
    return debug || (!EXPECTED_SDK_WARNINGS.has(message) && !readAsOutage);
  };
  return {
    log: (level, message, meta) => (kept(message, meta) ? logger.log(level, message, meta) : undefined),
    trace: (message, meta) => logger.trace(message, meta),
    debug: (message, meta) => logger.debug(message, meta),
    info: (message, meta) => logger.info(message, meta),
    warn: (message, meta) => (kept(message, meta) ? logger.warn(message, meta) : undefined),
    error: (message, meta) => logger.error(message, meta),
  };
}

/**
 * The SDK's logger (JSON lines or its default) with the core's log forwarded to it, and, when /metrics is served, its
 * private metrics exporter. Returns the runtime, which the command shuts down on its way out: with the core's log
 * forwarded, a runtime left installed keeps the process alive (a worker that failed to start would not exit).
 */
function installSdkRuntime(
  deps: Pick<ReturnType<typeof load>, 'Runtime' | 'DefaultLogger' | 'jsonSdkLogger' | 'LogTimestamp'>,
  options: {
    readonly pool: string;
    readonly json: boolean;
    readonly debug: boolean;
    readonly write: (line: string) => void;
    readonly sdkMetricsPort: number | undefined;
    readonly outage: TemporalOutageWatch;
  },
): WorkerModule.Runtime {
  const { pool, sdkMetricsPort, debug } = options;
  // The SDK logs every worker state change at INFO; operators need warnings and errors.
  const level = debug ? 'DEBUG' : 'WARN';
  const logger = options.json ? deps.jsonSdkLogger(level, pool, options.write) : new deps.DefaultLogger(level);
  return deps.Runtime.install({
    logger: workerSdkLogger(logger, { debug, outage: options.outage, timestampKey: deps.LogTimestamp }),
    telemetryOptions: {
      // The core's own log (WARN and up, as before) reaches `logger` rather than stderr, so it can be read.
      logging: { forward: {} },
      ...(sdkMetricsPort
        ? // `pool` on the SDK's series too, so one dashboard variable filters both families.
          { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` }, globalTags: { pool } } }
        : {}),
    },
  });
}

/** What the outage watch asks of the running worker. */
function watchedWorker(worker: FineflowWorker): OutageModule.WatchedWorker {
  return {
    probe: () => worker.probeTemporal(),
    activity: () => ({ taskQueue: worker.taskQueue, runningStages: worker.worker.getStatus().numInFlightActivities }),
  };
}

/** The watch that prints the worker's two lines about an outage of Temporal: JSON on stdout, or text on stderr. */
function outageWatch(
  deps: Pick<ReturnType<typeof load>, 'TemporalOutageWatch' | 'outageJson' | 'outageText'>,
  io: Pick<Parameters<CliCommand['run']>[1], 'stdout' | 'stderr'>,
  where: { readonly pool: string; readonly address: string; readonly jsonLines: boolean },
): TemporalOutageWatch {
  const { pool, address, jsonLines } = where;
  return new deps.TemporalOutageWatch({
    report: (event) =>
      jsonLines
        ? io.stdout.write(deps.outageJson(event, { pool, address }))
        : io.stderr.write(`fineflow worker: ${deps.outageText(event, address)}\n`),
  });
}

/** The line printed once the worker polls: JSON, or one sentence for a terminal. */
function readyMessage(
  worker: FineflowWorker,
  pool: string,
  where: { readonly metrics?: string; readonly traces: string | undefined },
  jsonLines: boolean,
): string {
  if (jsonLines) {
    const line = {
      event: 'ready',
      pool,
      taskQueue: worker.taskQueue,
      pid: process.pid,
      stageTypes: worker.stageTypes,
      capacity: worker.capacity,
      ...(where.metrics ? { metrics: where.metrics } : {}),
      // The collector's URL only: OTEL_EXPORTER_OTLP_HEADERS may carry its key.
      ...(where.traces ? { traces: where.traces } : {}),
    };
    return `${JSON.stringify(line)}\n`;
  }
  const stageTypes = worker.stageTypes.join(', ') || '(none)';
  return (
    `worker ready: pool ${pool} (task queue ${worker.taskQueue}, pid ${process.pid}), stage types: ${stageTypes}, ` +
    `offers ${describeResources(worker.capacity)}` +
    `${where.metrics ? `, metrics ${where.metrics}` : ''}${where.traces ? `, traces to ${where.traces}` : ''}\n`
  );
}

export const command: CliCommand = {
  name: 'worker',
  summary: 'run a worker for a pool (the control pool also runs pipeline workflows)',
  usage:
    'worker --pool P [--concurrency N] [--cpu N] [--memory SIZE] [--gpu N] [--stage-module PATH]… [--grace DURATION]',
  description: [
    'Polls the task queue of pool P (fineflow-P) and runs every stage type. The `control` pool also',
    'runs the pipeline workflows and the runtime activities (stage cache). SIGINT/SIGTERM drain the',
    'worker: it takes no new work, a running stage gets --grace to finish (default 30s), after that',
    'it is cancelled and its retry policy moves it to another worker.',
    "--cpu/--memory/--gpu declare what the worker offers the stages' `resources:` (default the host's cores and",
    'memory, no GPU): a stage runs only while its request fits what the running stages leave free.',
    'A worker that loses Temporal says so once and keeps retrying; once Temporal answers it says how long it was gone.',
  ].join('\n'),
  examples: [
    { command: 'fineflow worker --pool control', explanation: 'run pipeline workflows and control-pool stages' },
    {
      command: 'fineflow worker --pool train --concurrency 1 --stage-module ./stages/index.js',
      explanation: "a training worker that also runs a team's stages",
    },
    {
      command: 'fineflow worker --pool train --cpu 8 --memory 30Gi --gpu 1',
      explanation: 'a GPU host: stages asking for more than 8 cores, 30Gi or 1 GPU go to a larger worker',
    },
    {
      command: 'fineflow worker --pool cpu --metrics 0.0.0.0:9464 --health-file /tmp/fineflow-alive',
      explanation: 'with Prometheus metrics and a liveness file',
    },
  ],
  json: true,
  options: [
    { name: 'pool', kind: 'string', valueName: 'P', description: 'pool name (required), e.g. control, cpu, train' },
    { name: 'concurrency', kind: 'string', valueName: 'N', description: 'stages run at once (default 4)' },
    {
      name: 'cpu',
      kind: 'string',
      valueName: 'N',
      description:
        "CPU cores offered to stages' resources.cpu, 0.01-256 (default FINEFLOW_WORKER_CPU, else the host's)",
    },
    {
      name: 'memory',
      kind: 'string',
      valueName: 'SIZE',
      description: "memory offered to resources.memory, e.g. 16Gi (default FINEFLOW_WORKER_MEMORY, else the host's)",
    },
    {
      name: 'gpu',
      kind: 'string',
      valueName: 'N',
      description: 'whole GPUs offered to resources.gpu, 0-64 (default FINEFLOW_WORKER_GPU, else 0)',
    },
    {
      ...STAGE_MODULE_OPTION,
      description: 'also run the stage implementations a module exports as `stages`',
    },
    {
      name: 'grace',
      kind: 'string',
      valueName: 'DURATION',
      description: 'time a running stage gets to finish on shutdown (default 30s)',
    },
    { name: 'workflows', kind: 'boolean', description: 'run workflows too, whatever the pool name' },
    {
      name: 'progress-interval',
      kind: 'string',
      valueName: 'DURATION',
      description: "how often a running stage's heartbeat, with its live progress, reaches Temporal (default 10s)",
    },
    {
      name: 'metrics',
      kind: 'string',
      valueName: 'HOST:PORT',
      description:
        'serve Prometheus /metrics, and /healthz and /readyz for probes, here (default FINEFLOW_METRICS_ADDRESS; ' +
        'port 0 = any free port)',
    },
    {
      name: 'health-file',
      kind: 'string',
      valueName: 'PATH',
      description: 'rewrite PATH every 10s while polling, for liveness probes (find PATH -mmin -1)',
    },
  ],
  async run(args, io) {
    const deps = load();
    const flags = readWorkerFlags(args);
    const { pool, concurrency } = flags;
    const config = deps.loadConfig(io.env);
    const capacity = capacityFlags(args.values, deps.parseWorkerCapacity);
    const metricsAddress =
      args.values.metrics === undefined
        ? config.observability.metricsAddress
        : deps.parseListenAddress(args.values.metrics, '--metrics');
    // The SDK's own metrics go to a private loopback exporter; /metrics appends them to Fineflow's.
    const sdkMetricsPort = metricsAddress ? await deps.freeLoopbackPort() : undefined;
    const json = config.observability.logFormat === 'json';
    const write = (line: string): void => void io.stdout.write(line);
    const jsonLines = args.flags.json || json;
    const outage = outageWatch(deps, io, { pool, address: config.temporal.address, jsonLines });
    const debug = Boolean(io.env.FINEFLOW_DEBUG);
    const runtime = installSdkRuntime(deps, { pool, json, debug, write, sdkMetricsPort, outage });
    const metrics = metricsAddress ? deps.createFineflowMetrics({ pool, slots: concurrency }) : undefined;
    let metricsServer: RunningMetricsServer | undefined;
    let running: FineflowWorker | undefined;
    if (metricsAddress && metrics)
      metricsServer = await deps.startMetricsServer({
        ...metricsAddress,
        metrics,
        sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
        health: () => workerHealth(pool, running),
      });
    let stopHealthFile = (): void => undefined;
    const healthFile = args.values['health-file'];
    const tracingConfig = config.observability.tracing;
    const tracing = tracingConfig ? deps.createTracing(tracingConfig) : undefined;
    // A pool given as a task queue; `auto` training without the graph addon (slower): said once, where operators look.
    const warnings = [taskQueueAsPoolWarning(pool), deps.graphAddonStartupWarning(config)];
    for (const warning of warnings.filter((text) => text !== undefined))
      if (jsonLines)
        io.stdout.write(`${JSON.stringify({ event: 'warning', pool, pid: process.pid, message: warning })}\n`);
      else io.stderr.write(`fineflow worker: ${warning}\n`);
    try {
      await deps.runWorker({
        pool,
        config,
        concurrency,
        capacity,
        shutdownGraceMs: flags.graceMs,
        ...(metrics ? { metrics } : {}),
        ...(tracing ? { tracing } : {}),
        ...(json ? { logEcho: deps.jsonStageLogEcho(pool, write) } : {}),
        ...(flags.progressMs !== undefined ? { progressIntervalMs: flags.progressMs } : {}),
        stageModules: stageModulePaths(args, io.cwd),
        ...(args.flags.workflows ? { runsWorkflows: true } : {}),
        onReady: (worker) => {
          running = worker;
          outage.start(watchedWorker(worker));
          if (healthFile) stopHealthFile = keepHealthFile(path.resolve(io.cwd, healthFile), worker, pool);
          const where = { ...(metricsServer ? { metrics: metricsServer.url } : {}), traces: tracingConfig?.endpoint };
          io.stdout.write(readyMessage(worker, pool, where, jsonLines));
        },
      });
      io.stdout.write(
        jsonLines
          ? `${JSON.stringify({ event: 'stopped', pool, pid: process.pid })}\n`
          : `worker stopped: pool ${pool}\n`,
      );
      return EXIT.ok;
    } finally {
      outage.stop();
      stopHealthFile();
      await metricsServer?.close();
      // Spans of the last stages are still buffered: send them before the process ends.
      await tracing?.shutdown().catch((error: unknown) => {
        io.stderr.write(`fineflow worker: could not export the last traces: ${ensureError(error).message}\n`);
      });
      // Already down after a clean stop; after a failed start it may still hold the forwarded log open.
      await runtime.shutdown();
    }
  },
};
