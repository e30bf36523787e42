/**
 * What the sweep tests share: a tiny real dataset (MNIST digits 0–2) and a tiny base model (an
 * MLP pre-trained for one epoch) in the test MinIO, a workflow bundle built once, and helpers to
 * start a sweep on the real Temporal dev server; `sweepTestStack` is a test file's whole set-up.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { loadConfig, type FineflowConfig } from '../../../src/config';
import { workflowBundle } from '../../../src/worker/run-worker';
import { connectClient, connectWorker, dataConverterFor } from '../../../src/client/temporal-connection';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import type { Client } from '@temporalio/client';
import { listStageLogs, printStageLogs } from '../../../src/client/run-logs';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { loadMnist } from '../../../src/ml/generators/mnist';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import type { StageActivityResult, StageContext } from '../../../src/core/run/run-types';
import type { HyperparameterSweepInput, SweepExecution } from '../../../src/core/sweep/sweep-types';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { requireStack } from '../../helpers/stack';

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

let quiet = false;
/** Keep the SDK's INFO lines out of test output. */
export function quietTemporalRuntime(): void {
  if (quiet) return;
  quiet = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed by an earlier test in this process
  }
}

/**
 * The sweep workflow bundled once per process (bundling takes seconds), and once per test run when
 * FINEFLOW_WORKFLOW_BUNDLE_CACHE is set (scripts/test.sh sets it).
 */
export function sweepWorkflowBundle(): ReturnType<typeof workflowBundle> {
  const cacheDir = loadConfig(process.env).workflowBundleCache;
  return workflowBundle(path.join(__dirname, 'sweep-workflows.ts'), cacheDir ? { cacheDir } : {});
}

/**
 * The sweep tests' workers: one on the control pool running the sweep workflow, one on the train pool running
 * the trial activities (training in-process, two at once, by `runTraining`). `stop()` shuts both down and closes the
 * connection.
 */
export async function startSweepWorkers(
  config: FineflowConfig,
  store: ObjectStore,
  pools: { readonly control: string; readonly train: string },
  runTraining: TrainingRunner = inProcessTrainingRunner(store),
): Promise<{ stop(): Promise<void> }> {
  const connection: NativeConnection = await connectWorker(config.temporal);
  const shared = { connection, namespace: config.temporal.namespace, dataConverter: dataConverterFor(config.temporal) };
  const control = await Worker.create({
    ...shared,
    taskQueue: taskQueueForPool(pools.control),
    workflowBundle: await sweepWorkflowBundle(),
  });
  const train = await Worker.create({
    ...shared,
    taskQueue: taskQueueForPool(pools.train),
    activities: createSweepTrialActivities({
      store,
      runTraining,
      workerIdentity: 'in-process-trainer',
    }),
    maxConcurrentActivityTaskExecutions: 2,
  });
  const running = [control.run(), train.run()];
  return {
    async stop() {
      control.shutdown();
      train.shutdown();
      await Promise.allSettled(running);
      await connection.close();
    },
  };
}

export interface SweepData {
  readonly dataset: string;
  readonly baseModel: string;
}

/** What a sweep test file runs against, ready once its `before` hook has run. */
export interface SweepTestStack {
  readonly config: FineflowConfig;
  readonly store: ObjectStore;
  readonly client: Client;
  readonly data: SweepData;
}

/**
 * A sweep test file's set-up, as its hooks: before its tests, the stack's config and store, the tiny dataset and base
 * model under `sweep-<name>-<suffix>`, a client and the control and train workers on pools of their own (handed to
 * `ready`); after them, the workers stopped and the client closed. Returns the pools, a random suffix for run ids and
 * the sweep's execution settings (retries fast, timeouts generous for the loaded test machine).
 */
export function sweepTestStack(
  name: string,
  ready: (stack: SweepTestStack) => void,
  /** How the train worker trains a trial's segment; default in-process, as a worker would. */
  runTraining?: (store: ObjectStore) => TrainingRunner,
): {
  readonly suffix: string;
  readonly pools: { control: string; train: string };
  readonly execution: SweepExecution;
  /** Start a sweep of run `runId` on this file's control pool and bucket, with `execution` plus `overrides`. */
  startFileSweep(runId: string, inputs: JsonObject, overrides?: Partial<SweepExecution>): ReturnType<typeof startSweep>;
} {
  const suffix = randomSuffix();
  const pools = { control: `${name}-control-${suffix}`, train: `${name}-train-${suffix}` };
  let workers: Awaited<ReturnType<typeof startSweepWorkers>> | undefined;
  let client: Client | undefined;
  let bucket: string | undefined;
  before(async () => {
    quietTemporalRuntime();
    const config = await requireStack();
    const store = createObjectStoreFromConfig(config);
    const data = await writeSweepData(store, config.s3.bucket, `sweep-${name}-${suffix}`);
    client = await connectClient(config.temporal);
    bucket = config.s3.bucket;
    workers = await startSweepWorkers(config, store, pools, runTraining?.(store));
    ready({ config, store, client, data });
  });
  after(async () => {
    await workers?.stop();
    await client?.connection.close();
  });
  const execution: SweepExecution = {
    pool: pools.train,
    segmentTimeoutMs: 120_000,
    heartbeatTimeoutMs: 30_000,
    retry: { maxAttempts: 2, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
  };
  const startFileSweep = (runId: string, inputs: JsonObject, overrides: Partial<SweepExecution> = {}) => {
    if (!client || bucket === undefined) throw new Error(`sweepTestStack(${name}): start sweeps inside tests`);
    return startSweep(client, {
      taskQueue: taskQueueForPool(pools.control),
      runId,
      bucket,
      execution: { ...execution, ...overrides },
      inputs,
    });
  };
  return { suffix, pools, execution, startFileSweep };
}

/**
 * A 3-class MNIST dataset (20 train / 10 validation per class) and an untrained-ish MLP base model, initialised from
 * a fixed seed so every run (and every fresh clone) trains the same trials to the same values.
 */
export async function writeSweepData(store: ObjectStore, bucket: string, prefix: string): Promise<SweepData> {
  await store.ensureBucket(bucket);
  const digits = [0, 1, 2];
  // Flattened to 784 features so a tiny MLP (fast on either tfjs backend) can train on them.
  const flat = (set: LabelledSet): LabelledSet => ({ ...set, featureShape: [28 * 28] });
  const { manifestUri } = await writeDataset(store, `s3://${bucket}/${prefix}/data`, {
    train: flat(loadMnist({ perClass: 20, seed: 1, digits })),
    validation: flat(loadMnist({ perClass: 10, offset: 20, seed: 2, digits })),
    test: flat(loadMnist({ perClass: 5, offset: 30, seed: 3, digits })),
  });
  const { tf } = loadTf({ preference: 'auto', warn: () => undefined });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [28 * 28], hidden: [16, 8] }, { numClasses: 3, seed: 1 });
  const baseModel = `s3://${bucket}/${prefix}/base`;
  await saveModel(tf, store, model, baseModel);
  model.dispose();
  return { dataset: manifestUri, baseModel: `${baseModel}/model.json` };
}

export function sweepContext(bucket: string, runId: string, stageId = 'sweep', pipeline = 'sweep-test'): StageContext {
  return {
    runId,
    pipeline,
    stageId,
    attempt: 1,
    outputPrefix: `s3://${bucket}/runs/${runId}/${stageId}/`,
    bucket,
    trigger: { kind: 'manual' },
  };
}

export async function startSweep(
  client: Client,
  options: {
    readonly taskQueue: string;
    readonly runId: string;
    readonly bucket: string;
    readonly inputs: JsonObject;
    readonly execution: SweepExecution;
    /** The pipeline the sweep belongs to (its history is kept per pipeline stage); default `sweep-test`. */
    readonly pipeline?: string;
  },
): Promise<{ readonly workflowId: string; readonly firstRunId: string; result(): Promise<StageActivityResult> }> {
  // The id `pipelineRun` gives the sweep of attempt 1 of stage `sweep` (what `fineflow status` looks up).
  const workflowId = `${options.runId}.sweep.sweep-1`;
  const input: HyperparameterSweepInput = {
    context: sweepContext(options.bucket, options.runId, 'sweep', options.pipeline),
    inputs: options.inputs,
    execution: options.execution,
  };
  const handle = await client.workflow.start('hyperparameterSweep', {
    taskQueue: options.taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout: '10 minutes',
  });
  return {
    workflowId,
    firstRunId: handle.firstExecutionRunId,
    result: () => handle.result() as Promise<StageActivityResult>,
  };
}

/** The sweep stage's log as `fineflow logs RUN sweep` prints it. */
export async function sweepStageLog(
  store: ObjectStore,
  bucket: string,
  runId: string,
  stageId = 'sweep',
): Promise<string> {
  let text = '';
  await printStageLogs(store, await listStageLogs(store, bucket, runId, stageId), (chunk) => (text += chunk));
  return text;
}
