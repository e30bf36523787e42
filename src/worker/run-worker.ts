/**
 * A Fineflow worker for one pool: polls `taskQueueForPool(pool)` and runs every stage
 * activity; the control pool also runs the workflows and the runtime (cache) activities.
 * SIGINT/SIGTERM drain it: no new tasks are taken, a running stage gets `shutdownGraceMs` to
 * finish, then it is cancelled and its retry policy moves it to another worker.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import path from 'node:path';
import {
  DefaultLogger,
  Worker,
  bundleWorkflowCode,
  type NativeConnection,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { NamespaceNotFoundError } from '@temporalio/common';
import { createActivities, createStageActivities, stageTypeNames } from '../../activities';
import { DEFAULT_PROGRESS_INTERVAL_MS, type StageImplementation } from '../../activities/stage-runner';
import type { FineflowConfig } from '../config';
import { AccessDeniedError, InvalidInputError } from '../core/errors';
import { connectWorker, dataConverterFor } from '../client/temporal-connection';
import { CONTROL_POOL, taskQueueForPool } from '../core/run/task-queues';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS } from '../core/run/run-types';
import { createObjectStoreFromConfig } from '../storage/minio-store';
import type { ObjectStore } from '../storage/object-store';
import { createOutboundPolicy, installOutboundPolicy, type OutboundPolicy } from '../security/outbound';
import { createSecretResolver } from '../security/secrets';
import { PREBUILT_WORKFLOW_BUNDLE, RUNNING_FROM_SOURCE } from '../package-paths';
import type { FineflowMetrics } from '../observability/metrics';
import type { StageLogRecord } from '../observability/json-log';
import { instrumentStore } from '../observability/instrumented-store';
import { capacityTag, type WorkerCapacity } from '../core/spec/resources';
import { moduleLoadReason, resolveStageModule } from '../spec/stage-module';
import { capacitySlotSupplier, ResourceLedger } from './resource-ledger';
import { cachedWorkflowBundle } from './workflow-bundle-cache';
import type { Tracing } from '../observability/tracing';

export const WORKFLOWS_PATH = path.resolve(__dirname, `../../workflows/index${path.extname(__filename)}`);

export interface WorkerOptions {
  /** Pool name; the task queue is `taskQueueForPool(pool)`. */
  readonly pool: string;
  readonly config: FineflowConfig;
  /** Stage activities run at once (default 4; the control pool's workflows are not limited by it). */
  readonly concurrency?: number;
  /** Modules exporting `stages: {[typeName]: StageImplementation}` (test or team stage types). */
  readonly stageModules?: readonly string[];
  /** Extra stage implementations given directly (in-process tests). */
  readonly extraStages?: { readonly [typeName: string]: StageImplementation };
  /** Run workflows and runtime activities too. Default: pool is `control`. */
  readonly runsWorkflows?: boolean;
  /** How long a running stage may finish after SIGTERM before it is cancelled. Default 30 s. */
  readonly shutdownGraceMs?: number;
  /** Inject a store (tests); default: MinIO from config, bucket ensured. */
  readonly store?: ObjectStore;
  /** Reuse a connection (tests running several workers); default: a new one from config. */
  readonly connection?: NativeConnection;
  readonly identity?: string;
  /**
   * How often a running stage's heartbeat, which carries its live progress, reaches Temporal
   * (the SDK's heartbeat throttle; default 10 s). Heartbeats add no history events.
   */
  readonly progressIntervalMs?: number;
  /** @deprecated The name from when progress was signalled to the run; same as `progressIntervalMs`. */
  readonly progressSignalIntervalMs?: number;
  /** Plain activities registered as they are (benchmarks, runtime extensions). */
  readonly extraActivities?: { readonly [name: string]: (...args: never[]) => Promise<unknown> };
  /** Workflow module to bundle instead of workflows/index.ts (benchmarks add their own workflows). */
  readonly workflowsPath?: string;
  /** Environment that `secrets: {env: …}` read (tests); default process.env. */
  readonly secretEnv?: Readonly<Record<string, string | undefined>>;
  /** Outbound policy for this process (tests inject a resolver); default: built from `config.outbound`. */
  readonly outbound?: OutboundPolicy;
  /** Count stages, cache lookups and store requests here (src/observability/metrics.ts); default: not counted. */
  readonly metrics?: FineflowMetrics;
  /** Every stage log line also goes here (FINEFLOW_LOG_FORMAT=json, src/observability/json-log.ts). */
  readonly logEcho?: (record: StageLogRecord) => void;
  /** What this worker offers the stages' `resources:` (`--cpu/--memory/--gpu`); default: config, then the host. */
  readonly capacity?: Partial<WorkerCapacity>;
  /** OpenTelemetry traces of runs, stages and attempts (src/observability/tracing.ts); default: none. */
  readonly tracing?: Tracing;
}

/** Declared capacity, the host's cores and memory for what is not declared, and no GPU unless declared. */
export function workerCapacity(declared: Partial<WorkerCapacity>): WorkerCapacity {
  return {
    cpu: declared.cpu ?? availableParallelism(),
    memoryMb: declared.memoryMb ?? Math.floor(totalmem() / 2 ** 20),
    gpu: declared.gpu ?? 0,
  };
}

/** The SDK's defaults for the slot types Fineflow does not tune (what maxConcurrent*… would give). */
const DEFAULT_WORKFLOW_TASK_SLOTS = 40;
const DEFAULT_LOCAL_ACTIVITY_SLOTS = 100;

/**
 * How long one workflow activation may run before the SDK fails it. The SDK's default, 5 s, is an
 * option it accepts but does not type (WorkerOptionsWithDefaults.isolateExecutionTimeout): on a
 * loaded host the first activation of a 1,000-stage fan-out (start every stage) took longer, failed,
 * and Temporal retried it with growing backoff (7 minutes before one attempt got through, scale bench).
 * Half the runs' workflow task timeout (RUN_WORKFLOW_TASK_TIMEOUT_MS): a truly stuck activation still
 * fails before its task times out.
 */
export const WORKFLOW_ACTIVATION_TIMEOUT_MS = RUN_WORKFLOW_TASK_TIMEOUT_MS / 2;

/** Options Worker.create reads (addDefaultWorkerOptions spreads them) but WorkerOptions does not declare. */
export function untypedWorkerOptions(options: { readonly isolateExecutionTimeout: number }): Record<string, unknown> {
  return options;
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap | { code: string }>>();

/**
 * The workflow bundle, built once per process (a few seconds) and shared by every worker. An
 * installed package runs the bundle `npm run build` wrote (dist/workflow-bundle.js), so a worker
 * starts without webpack; a clone bundles its sources, so an edit is never hidden by a stale build.
 * With `cacheDir` (FINEFLOW_WORKFLOW_BUNDLE_CACHE; scripts/test.sh sets it) a clone's bundle is also kept on disk,
 * keyed by its sources and options, and other processes reuse it (src/worker/workflow-bundle-cache.ts).
 * With tracing the bundle also holds the OpenTelemetry workflow interceptors (always bundled here:
 * a bundle without them, the default, makes no spans and calls no sink).
 */
export function workflowBundle(
  workflowsPath = WORKFLOWS_PATH,
  options: { readonly tracingModule?: string; readonly cacheDir?: string } = {},
): Promise<WorkflowBundleWithSourceMap | { code: string } | { codePath: string }> {
  const tracing = options.tracingModule;
  if (
    tracing === undefined &&
    !RUNNING_FROM_SOURCE &&
    workflowsPath === WORKFLOWS_PATH &&
    existsSync(PREBUILT_WORKFLOW_BUNDLE)
  ) {
    return Promise.resolve({ codePath: PREBUILT_WORKFLOW_BUNDLE });
  }
  const workflowInterceptorModules = tracing ? [tracing] : [];
  const key = JSON.stringify([workflowsPath, workflowInterceptorModules, options.cacheDir ?? null]);
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = options.cacheDir
      ? cachedWorkflowBundle(options.cacheDir, { workflowsPath, workflowInterceptorModules })
      : bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN'), workflowInterceptorModules });
    bundles.set(key, bundle);
  }
  return bundle;
}

/**
 * A stage module written in TypeScript needs a loader in compiled mode (a clone already runs
 * under tsx): tsx's CommonJS hook when it is installed, else an error that says how to fix it.
 */
function registerTypeScriptLoader(modulePath: string): void {
  if (RUNNING_FROM_SOURCE || !/\.[cm]?ts$/.test(modulePath)) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('tsx/cjs/api') as { register: () => unknown }).register();
  } catch {
    throw new InvalidInputError(
      `stage module ${modulePath} is TypeScript: compile it to .js, or install tsx beside fineflow (npm install tsx)`,
      { module: modulePath },
    );
  }
}

/** Load `stages` from each module: a path resolved against `cwd`, or an installed package's name. */
export function loadStageModules(
  paths: readonly string[],
  cwd = process.cwd(),
): { [typeName: string]: StageImplementation } {
  const stages: Record<string, StageImplementation> = {};
  for (const modulePath of paths) {
    let mod: { stages?: unknown };
    registerTypeScriptLoader(modulePath);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(resolveStageModule(modulePath, cwd)) as { stages?: unknown };
    } catch (error) {
      throw new InvalidInputError(
        `cannot load stage module ${modulePath}: ${moduleLoadReason(modulePath, error)}`,
        { module: modulePath },
        { cause: error },
      );
    }
    if (!mod.stages || typeof mod.stages !== 'object') {
      throw new InvalidInputError(
        `stage module ${modulePath} must export \`stages\`: an object of stage type name → implementation`,
        { module: modulePath },
      );
    }
    for (const [name, implementation] of Object.entries(mod.stages as Record<string, unknown>)) {
      if (typeof implementation !== 'function')
        throw new InvalidInputError(`stage module ${modulePath}: stages['${name}'] is not a function`, {
          module: modulePath,
        });
      stages[name] = implementation as StageImplementation;
    }
  }
  return stages;
}

export interface FineflowWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** Stage types this worker runs. */
  readonly stageTypes: readonly string[];
  /** What it offers the stages' `resources:` (declared, else the host's cores and memory, 0 GPUs). */
  readonly capacity: WorkerCapacity;
  /** Whether Temporal answers a cheap call (GetSystemInfo) on the worker's connection within `timeoutMs`. */
  probeTemporal(timeoutMs?: number): Promise<boolean>;
  /** Resolves when the worker stopped (after shutdown); rejects on a fatal worker error. */
  run(): Promise<void>;
  /** Drain and stop; resolves when `run()` has ended. */
  shutdown(): Promise<void>;
}

/**
 * A bucket the worker may not check or create reads as bad credentials to the store; more often FINEFLOW_BUCKET
 * names a bucket that does not exist or is not the stack's (S3 answers 403 for both when the policy covers only the
 * stack's bucket), so the message names the variable first.
 */
function bucketRefused(thrown: unknown, bucket: string): unknown {
  if (!(thrown instanceof AccessDeniedError)) return thrown;
  return new AccessDeniedError(
    `bucket ${bucket} (FINEFLOW_BUCKET): these credentials may not check or create it (access denied). ` +
      'Set FINEFLOW_BUCKET to the bucket your stack uses (the local stack’s is fineflow), have the bucket created, ' +
      'or check FINEFLOW_S3_ACCESS_KEY / FINEFLOW_S3_SECRET_KEY.',
    { ...thrown.details, bucket, variable: 'FINEFLOW_BUCKET' },
    { cause: thrown },
  );
}

/** The object store stages use: the given one or the configured one (bucket created), counted when metrics are on. */
async function workerStore(options: WorkerOptions): Promise<ObjectStore> {
  let store = options.store;
  if (!store) {
    store = createObjectStoreFromConfig(options.config);
    const { bucket } = options.config.s3;
    await store.ensureBucket(bucket).catch((thrown: unknown) => {
      throw bucketRefused(thrown, bucket);
    });
  }
  return options.metrics ? instrumentStore(store, options.metrics) : store;
}

/** What the activities are built from; loads the custom stage modules (after the outbound policy is in place). */
function activityDependencies(options: WorkerOptions, store: ObjectStore, progressIntervalMs: number) {
  const extraStages = { ...loadStageModules(options.stageModules ?? []), ...options.extraStages };
  return {
    store,
    bucket: options.config.s3.bucket,
    extraStages,
    ml: {
      tfBackend: options.config.tfBackend,
      trainEngine: options.config.trainEngine,
      ...(options.config.trainMemoryMb ? { trainMemoryMb: options.config.trainMemoryMb } : {}),
    },
    command: options.config.command,
    // Secret values come from this worker's environment and mounted files, as the operator allows.
    secrets: createSecretResolver(options.config.secrets, options.secretEnv ?? process.env),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.logEcho ? { logEcho: options.logEcho } : {}),
    progressIntervalMs,
    resources: new ResourceLedger(workerCapacity({ ...options.config.workerCapacity, ...options.capacity })),
  };
}

/** Workflow options of a worker that runs workflows: the bundle (with tracing) and the activation timeout. */
async function workflowOptions(options: WorkerOptions) {
  return {
    workflowBundle: await workflowBundle(options.workflowsPath, {
      ...(options.tracing ? { tracingModule: options.tracing.workflowModule } : {}),
      ...(options.config.workflowBundleCache ? { cacheDir: options.config.workflowBundleCache } : {}),
    }),
    ...untypedWorkerOptions({ isolateExecutionTimeout: WORKFLOW_ACTIVATION_TIMEOUT_MS }),
  };
}

/** gRPC's status code NOT_FOUND (what DescribeNamespace answers for a namespace the server lacks). */
const GRPC_NOT_FOUND = 5;

/** How long the namespace check at start-up waits for Temporal's answer. */
const NAMESPACE_CHECK_TIMEOUT_MS = 30_000;

/**
 * Refuses a namespace Temporal lacks before the worker is created: Worker.create's own check fails after the core
 * made its native worker, which then keeps the process alive (and ignoring SIGTERM) after the error was reported.
 */
async function requireNamespace(connection: NativeConnection, namespace: string): Promise<void> {
  try {
    await connection.withDeadline(Date.now() + NAMESPACE_CHECK_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
  } catch (thrown) {
    if ((thrown as { code?: unknown }).code === GRPC_NOT_FOUND) throw new NamespaceNotFoundError(namespace);
    throw thrown;
  }
}

/** How long {@link FineflowWorker.probeTemporal} waits for an answer by default. */
const TEMPORAL_PROBE_TIMEOUT_MS = 5_000;

/** Create (not start) a worker for a pool. */
export async function createWorker(options: WorkerOptions): Promise<FineflowWorker> {
  const runsWorkflows = options.runsWorkflows ?? options.pool === CONTROL_POOL;
  const taskQueue = taskQueueForPool(options.pool);
  const store = await workerStore(options);
  // Every http(s)/file access of stage code in this process goes through this policy.
  installOutboundPolicy(options.outbound ?? createOutboundPolicy(options.config.outbound));
  const progressIntervalMs =
    options.progressIntervalMs ?? options.progressSignalIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const deps = activityDependencies(options, store, progressIntervalMs);
  const activities = {
    ...(runsWorkflows ? createActivities(deps) : createStageActivities(deps)),
    ...options.extraActivities,
  };
  const ownsConnection = !options.connection;
  const connection = options.connection ?? (await connectWorker(options.config.temporal));
  const traced = options.tracing?.workerOptions();
  const identity = options.identity ?? `${options.pool}@${hostname()}:${process.pid}`;
  let worker: Worker;
  try {
    await requireNamespace(connection, options.config.temporal.namespace);
    worker = await Worker.create({
      connection,
      namespace: options.config.temporal.namespace,
      taskQueue,
      dataConverter: dataConverterFor(options.config.temporal),
      // The capacity rides in the identity: DescribeTaskQueue shows it to `fineflow status`
      // (src/client/worker-presence.ts).
      identity: `${identity} ${capacityTag(deps.resources.capacity)}`,
      activities,
      ...(runsWorkflows ? await workflowOptions(options) : {}),
      ...(traced ? { interceptors: { activity: traced.activityInterceptors }, sinks: traced.sinks } : {}),
      tuner: {
        workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: DEFAULT_WORKFLOW_TASK_SLOTS },
        activityTaskSlotSupplier: capacitySlotSupplier(deps.resources, options.concurrency ?? 4),
        localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: DEFAULT_LOCAL_ACTIVITY_SLOTS },
        nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: DEFAULT_LOCAL_ACTIVITY_SLOTS },
      },
      shutdownGraceTime: options.shutdownGraceMs ?? 30_000,
      // Live progress rides on heartbeats (src/core/run/progress.ts): send them this often.
      defaultHeartbeatThrottleInterval: progressIntervalMs,
      maxHeartbeatThrottleInterval: progressIntervalMs,
    });
  } catch (thrown) {
    // A worker that could not be created (e.g. a namespace Temporal lacks) leaves no connection behind: the
    // Temporal runtime then has nothing left and shuts down, so the process can exit with the error.
    if (ownsConnection) await connection.close().catch(() => undefined);
    throw thrown;
  }
  let running: Promise<void> | undefined;
  return {
    worker,
    taskQueue,
    stageTypes: stageTypeNames(deps),
    capacity: deps.resources.capacity,
    probeTemporal: (timeoutMs = TEMPORAL_PROBE_TIMEOUT_MS) =>
      connection
        .withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}))
        .then(
          () => true,
          () => false,
        ),
    run: () =>
      (running ??= worker.run().finally(async () => {
        if (ownsConnection) await connection.close();
      })),
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/**
 * Run a worker until SIGINT/SIGTERM (the Temporal runtime turns those into a graceful
 * `shutdown()` of every worker in the process). `onReady` is called once it polls.
 */
export async function runWorker(
  options: WorkerOptions & { readonly onReady?: (worker: FineflowWorker) => void },
): Promise<void> {
  const created = await createWorker(options);
  const done = created.run();
  options.onReady?.(created);
  await done;
}
