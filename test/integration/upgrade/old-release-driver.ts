/**
 * The previous release's half of the upgrade test (previous-release.test.ts). The test copies
 * this file into a checkout of the pinned previous release (test/integration/upgrade/previous-release.json)
 * at the same path, so every import below resolves to *that release's* sources: its workflow
 * bundle, activities, run client and schedule service. Run there as
 * `node --import tsx test/integration/upgrade/old-release-driver.ts POOL SUFFIX`, it
 *
 * 1. starts one worker of that release on pool POOL (workflows and stage activities, identity
 *    `old-release`),
 * 2. starts work that stays in flight: a run paused on a failed stage, a run mid-stage, a run whose
 *    sweep is between trials, a newData watcher past its baseline, a schedule with no run yet,
 * 3. prints one line `READY <json>` naming them, then keeps polling until SIGTERM, which drains
 *    the worker (grace 500 ms, so a running stage is cut off) and exits 0.
 *
 * Written against the API of the pinned release: when the pin moves, this file must still run on
 * it (it is typechecked against the current sources, which must agree for the calls used here).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { RunClient } from '../../../src/client/run-client';
import { connectClient, connectWorker } from '../../../src/client/temporal-connection';
import { loadConfig } from '../../../src/config';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import type { SweepStatus } from '../../../src/core/sweep/sweep-types';
import { SWEEP_QUERIES } from '../../../src/core/sweep/sweep-types';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import { compilePlan } from '../../../src/spec/compile';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { createWorker } from '../../../src/worker/run-worker';
import { makePlan } from '../../fixtures/runtime/plans';
import { registerTestStageTypes, stages as testStages } from '../../stage-types';
import { writeSweepData } from '../sweep/sweep-fixture';

/** What the old release left in flight, for the current release to finish. */
export interface InFlight {
  readonly paused: string;
  readonly midStage: string;
  readonly sweep: string;
  readonly watcher: { readonly pipeline: string; readonly id: string; readonly prefix: string };
  readonly schedule: string;
}

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 120_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && done(last)) return last;
    // Polling a query: the old release offers no event to await for these states.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`old release: timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

function compile(yaml: string): ReturnType<typeof compilePlan>['plan'] & object {
  const compiled = compilePlan(yaml, 'upgrade.yaml', { set: [] });
  if (!compiled.plan) throw new Error(`does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  return compiled.plan;
}

async function startSweepRun(runs: RunClient, pool: string, suffix: string, client: Client): Promise<string> {
  const config = loadConfig(process.env);
  const data = await writeSweepData(createObjectStoreFromConfig(config), config.s3.bucket, `upgrade-${suffix}`);
  const inputs: JsonObject = {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    trial: { epochs: 2, batchSize: 16, freeze: 'none', seed: 1 },
    algorithm: 'random',
    maxTrials: 3,
    parallelism: 1,
    seed: 5,
    space: { learningRate: { logUniform: [0.001, 0.03] } },
  };
  const runId = await runs.submit(
    makePlan('upgrade-sweep', [{ id: 'sweep', uses: 'hyperparameter-sweep', pool, with: inputs, timeoutMs: 300_000 }]),
  );
  // Between trials: the first one has its objective, the rest are still to run.
  await until(
    'the first sweep trial',
    () => client.workflow.getHandle(`${runId}.sweep.sweep-1`).query<SweepStatus>(SWEEP_QUERIES.state),
    (s) => s.trials.some((t) => t.value !== undefined),
  );
  return runId;
}

async function startWork(runs: RunClient, schedules: ScheduleService, pool: string, suffix: string): Promise<InFlight> {
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  const paused = await runs.submit(
    makePlan(
      'upgrade-pause',
      [
        {
          id: 'check',
          uses: 'test-fail-until-param',
          pool,
          with: { value: '${{ params.threshold }}', expected: 7 },
          onFailure: 'pause',
        },
        { id: 'next', needs: ['check'], pool, with: { value: '${{ stages.check.outputs.value }}' } },
      ],
      { threshold: 3 },
    ),
  );
  const watchBucket = `ffupgrade-${suffix}`;
  await store.ensureBucket(watchBucket);
  const prefix = `s3://${watchBucket}/incoming/`;
  await store.putBytes(`${prefix}existing.csv`, 'a,b\n1,2\n');
  const watched = `upgrade-watch-${suffix}`;
  await schedules.apply(
    compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${watched}}
params: {dataset: ${prefix}}
defaults: {pool: ${pool}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: new-data}}
`),
  );
  const scheduled = `upgrade-sched-${suffix}`;
  await schedules.apply(
    compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${scheduled}}
defaults: {pool: ${pool}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
schedule: {cron: "0 3 1 1 *", overlap: skip}
stages:
  echo: {uses: test-echo, cache: false, with: {value: scheduled}}
`),
  );
  const watcherId = watcherIdFor(watched, prefix);
  await until(
    'the paused stage',
    () => runs.state(paused),
    (s) => s.status === 'waiting',
  );
  await until(
    'the watcher baseline',
    () => schedules.watchers.status(watcherId),
    (s) => s.lastObservation !== undefined,
  );
  const sweep = await startSweepRun(runs, pool, suffix, runs.client);
  // Last, so its 8 s stage is still running when the driver reports ready and is stopped.
  const midStage = await runs.submit(
    makePlan('upgrade-mid-stage', [
      { id: 'first', pool, with: { value: `from-old-${suffix}` } },
      {
        id: 'slow',
        needs: ['first'],
        pool,
        with: { value: '${{ stages.first.outputs.value }}', sleepMs: 8_000, steps: 8 },
      },
      { id: 'last', needs: ['slow'], pool, with: { value: '${{ stages.slow.outputs.value }}' } },
    ]),
  );
  await until(
    'the slow stage to run',
    () => runs.state(midStage),
    (s) => s.stages.find((stage) => stage.id === 'slow')?.progress !== undefined,
  );
  return { paused, midStage, sweep, watcher: { pipeline: watched, id: watcherId, prefix }, schedule: scheduled };
}

async function main(): Promise<void> {
  const [pool, suffix] = process.argv.slice(2);
  if (!pool || !suffix) throw new Error('usage: old-release-driver.ts POOL SUFFIX');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  registerTestStageTypes();
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const connection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const worker = await createWorker({
    pool,
    config,
    store,
    connection,
    runsWorkflows: true,
    extraStages: testStages,
    identity: 'old-release',
    shutdownGraceMs: 500,
    progressSignalIntervalMs: 300,
    concurrency: 4,
  });
  // Runtime.install's default shutdown signals (SIGINT, SIGTERM) drain this worker and end run().
  const running = worker.run();
  const workflowTaskQueue = taskQueueForPool(pool);
  const runs = new RunClient(client, { bucket: config.s3.bucket, workflowTaskQueue });
  const schedules = new ScheduleService(client, { bucket: config.s3.bucket, workflowTaskQueue, pollsPerExecution: 4 });
  const inFlight = await startWork(runs, schedules, pool, suffix);
  process.stdout.write(`READY ${JSON.stringify(inFlight)}\n`);
  await running;
  await client.connection.close();
  await connection.close();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
