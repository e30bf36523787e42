/**
 * In-process Fineflow for the schedule and data-watcher tests, against the real Temporal dev
 * server and MinIO (scripts/test.sh starts them), with the runtime's own workers
 * (src/worker/run-worker.ts: workflows/index.ts and activities/index.ts, which include the data
 * watcher). Own task queues per harness (random suffix), so tests never pick up each other's tasks.
 */
import { randomBytes } from 'node:crypto';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import { loadConfig, type FineflowConfig } from '../../../src/config';
import type { PipelineRunInput, PipelineRunResult } from '../../../src/core/run/run-types';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import type { DataWatchClientOptions } from '../../../src/schedules/data-watch-client';
import { runsQuery } from '../../../src/core/schedules/schedule-search-attributes';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { connectClient, connectWorker, decodeHistoryPayload } from '../../../src/client/temporal-connection';
import { compilePlan } from '../../../src/spec/compile';
import type { Plan } from '../../../src/core/spec/plan-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createWorker, type FineflowWorker } from '../../../src/worker/run-worker';
import { registerTestStageTypes, stages as testStages } from '../../stage-types';
import { requireStack } from '../../helpers/stack';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import type { DataWatcherStatus } from '../../../src/core/schedules/data-watch-types';

export interface ScheduleHarness {
  readonly config: FineflowConfig;
  readonly suffix: string;
  readonly store: ObjectStore;
  readonly client: Client;
  readonly schedules: ScheduleService;
  /** Pool names of this harness: workflows on `control`, stages on `cpu`. */
  readonly pools: { readonly control: string; readonly cpu: string };
  /** Compile pipeline YAML with the real spec (test stage types registered); throws on diagnostics. */
  compile(yaml: string, set?: readonly string[]): Plan;
  /** Runs of a pipeline started by a trigger kind, from the visibility store, oldest first. */
  runs(pipeline: string, trigger: 'schedule' | 'new-data' | 'manual'): Promise<WorkflowExecutionInfo[]>;
  result(runId: string): Promise<PipelineRunResult>;
  /** The input a run was started with (its first history event): what the schedule or watcher sent. */
  runInput(runId: string): Promise<PipelineRunInput>;
  /** The workflow task timeout a run was started with (from its execution config), in ms. */
  taskTimeoutMs(runId: string): Promise<number>;
  /** Terminate the runs of a pipeline that are still going (test cleanup). */
  terminateRuns(pipeline: string): Promise<void>;
  /** Stop the control worker (workflows) and start a fresh one: a worker restart. */
  restartControlWorker(): Promise<void>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export interface ScheduleHarnessOptions extends Pick<DataWatchClientOptions, 'pollsPerExecution' | 'uiUrl'> {
  /** The store the control worker's activities (the watcher's looks) use, made from the real one: a fault to inject. */
  readonly controlStore?: (store: ObjectStore) => ObjectStore;
}

export async function startScheduleHarness(options: ScheduleHarnessOptions = {}): Promise<ScheduleHarness> {
  const { controlStore, ...clientOptions } = options;
  const config = await requireStack(loadConfig(process.env));
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Installed by another harness in this process.
    }
  }
  registerTestStageTypes();
  const suffix = randomBytes(4).toString('hex');
  const pools = { control: `sctl-${suffix}`, cpu: `scpu-${suffix}` };
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const connection: NativeConnection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);

  let control: { worker: FineflowWorker; running: Promise<void> } | undefined;
  const startControl = async (): Promise<void> => {
    const worker = await createWorker({
      pool: pools.control,
      runsWorkflows: true,
      config,
      store: controlStore ? controlStore(store) : store,
      connection,
      extraStages: testStages,
      shutdownGraceMs: 2_000,
    });
    control = { worker, running: worker.run() };
  };
  const stopControl = async (): Promise<void> => {
    if (!control) return;
    const { worker, running } = control;
    control = undefined;
    await worker.shutdown();
    await running.catch(() => undefined);
  };
  await startControl();
  const cpu: FineflowWorker = await createWorker({
    pool: pools.cpu,
    config,
    store,
    connection,
    extraStages: testStages,
    runsWorkflows: false,
    shutdownGraceMs: 2_000,
    concurrency: 8,
  });
  const cpuRunning = cpu.run();

  return {
    config,
    suffix,
    store,
    client,
    pools,
    schedules: new ScheduleService(client, {
      bucket: config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(pools.control),
      ...clientOptions,
    }),
    compile(yaml, set = []) {
      const compiled = compilePlan(yaml, 'test.yaml', { set });
      if (!compiled.plan) throw new Error(`test pipeline does not compile: ${JSON.stringify(compiled.diagnostics)}`);
      return compiled.plan;
    },
    async runs(pipeline, trigger) {
      const found: WorkflowExecutionInfo[] = [];
      for await (const info of client.workflow.list({ query: runsQuery(pipeline, trigger) })) found.push(info);
      return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    },
    result(runId) {
      return client.workflow.getHandle(runId).result() as Promise<PipelineRunResult>;
    },
    async runInput(runId) {
      const history = await client.workflow.getHandle(runId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      if (!payload) throw new Error(`run ${runId} has no start input`);
      return (await decodeHistoryPayload(client, payload)) as PipelineRunInput;
    },
    async taskTimeoutMs(runId) {
      const { raw } = await client.workflow.getHandle(runId).describe();
      const timeout = raw.executionConfig?.defaultWorkflowTaskTimeout;
      return Number(timeout?.seconds ?? 0) * 1000 + (timeout?.nanos ?? 0) / 1e6;
    },
    async terminateRuns(pipeline) {
      const query = `WorkflowType = 'pipelineRun' AND FineflowPipeline = '${pipeline}' AND ExecutionStatus = 'Running'`;
      for await (const info of client.workflow.list({ query })) {
        await client.workflow
          .getHandle(info.workflowId)
          .terminate('schedule test cleanup')
          .catch(() => undefined);
      }
    },
    async restartControlWorker() {
      await stopControl();
      await startControl();
    },
    async close() {
      await stopControl();
      await cpu.shutdown();
      await cpuRunning.catch(() => undefined);
      await connection.close();
      await client.connection.close();
    },
  };
}

/** A pipeline applied with one `newData` trigger on `prefix` (1 s debounce and poll), its watcher's id and status. */
export interface WatchedPipeline {
  readonly plan: Plan;
  readonly watcherId: string;
  /** The watcher's status; undefined when a query the loaded machine did not answer in time (ask again). */
  status(): Promise<DataWatcherStatus | undefined>;
}

/**
 * Apply a pipeline whose only trigger watches `prefix` (one `test-echo` stage on the harness's cpu pool, failing at
 * once): the fixture the watcher tests share. Deleted, with its runs stopped, when `t` ends.
 */
export async function applyWatchedPipeline(
  h: ScheduleHarness,
  t: { after(fn: () => Promise<void>): void },
  name: string,
  prefix: string,
): Promise<WatchedPipeline> {
  t.after(async () => {
    await h.schedules.delete(name).catch(() => undefined);
    await h.terminateRuns(name).catch(() => undefined);
  });
  const plan = h.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {dataset: ${prefix}}
defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: x}}
`);
  await h.schedules.apply(plan);
  const watcherId = watcherIdFor(name, prefix);
  return {
    plan,
    watcherId,
    status: () => h.schedules.watchers.status(watcherId).catch(() => undefined),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `probe` until it returns a value that passes `done`, or fail after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (done(last)) return last;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}
