/**
 * The `hyperparameterSweep` workflow on the real stack (Temporal dev server + MinIO): trials are
 * real fine-tune runs of a tiny MLP on MNIST digits, trained in-process by the worker's
 * activities (the e2e test uses the child-process runner of production).
 *
 * Run with: bash scripts/test.sh integration test/integration/sweep/sweep-workflow.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { createSweepTrialActivities, inProcessTrainingRunner } from '../../../activities/sweep-trial';
import type { FineflowConfig } from '../../../src/config';
import { connectClient, connectWorker } from '../../../src/runtime/temporal-connection';
import { taskQueueForPool } from '../../../src/runtime/task-queues';
import type { SweepResultsDocument } from '../../../src/runtime/sweep-results';
import { SWEEP_QUERIES, type SweepExecution, type SweepStatus } from '../../../src/runtime/sweep-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';
import { quietTemporalRuntime, randomSuffix, startSweep, sweepWorkflowBundle, writeSweepData, type SweepData } from './sweep-fixture';

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let connection: NativeConnection;
let data: SweepData;
const suffix = randomSuffix();
const pools = { control: `sweep-control-${suffix}`, train: `sweep-train-${suffix}` };
const workers: Worker[] = [];
const running: Promise<void>[] = [];

const execution: SweepExecution = {
  pool: pools.train,
  segmentTimeoutMs: 120_000,
  heartbeatTimeoutMs: 30_000,
  retry: { maxAttempts: 2, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
};

before(async () => {
  quietTemporalRuntime();
  config = await requireStack();
  store = createObjectStoreFromConfig(config);
  data = await writeSweepData(store, config.s3.bucket, `sweep-it-${suffix}`);
  connection = await connectWorker(config.temporal);
  client = await connectClient(config.temporal);
  const bundle = await sweepWorkflowBundle();
  const control = await Worker.create({ connection, namespace: config.temporal.namespace, taskQueue: taskQueueForPool(pools.control), workflowBundle: bundle });
  const train = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueueForPool(pools.train),
    activities: createSweepTrialActivities({ store, runTraining: inProcessTrainingRunner(store), workerIdentity: 'in-process-trainer' }),
    maxConcurrentActivityTaskExecutions: 2,
  });
  for (const worker of [control, train]) {
    workers.push(worker);
    running.push(worker.run());
  }
});

after(async () => {
  for (const worker of workers) worker.shutdown();
  await Promise.allSettled(running);
  await connection?.close();
  await client?.connection.close();
});

function sweepInputs(extra: Record<string, unknown>) {
  return {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
    ...extra,
  } as never;
}

test('TPE + ASHA sweep of real trials: outputs, results table, segments end on the rungs', { timeout: 240_000 }, async () => {
  const runId = `sweep-asha-${suffix}`;
  const sweep = await startSweep(client, {
    taskQueue: taskQueueForPool(pools.control),
    runId,
    bucket: config.s3.bucket,
    execution,
    inputs: sweepInputs({
      algorithm: 'tpe',
      tpe: { startupTrials: 2 },
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
      maxTrials: 5,
      parallelism: 2,
      seed: 3,
      space: { learningRate: { logUniform: [0.0005, 0.05] }, batchSize: { choice: [8, 16] } },
    }),
  });
  // Live status while it runs (what `fineflow status` shows), then the outputs.
  const handle = client.workflow.getHandle(sweep.workflowId);
  let live: SweepStatus | undefined;
  for (let i = 0; i < 100 && !(live && live.progress.started > 0); i++) {
    live = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
    if (live.progress.started === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(live && live.progress.started > 0 && live.progress.maxTrials === 5, JSON.stringify(live));
  assert.ok(live.progress.running <= 2, 'never more than parallelism trials at once');
  const result = await sweep.result();
  const final = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
  assert.equal(final.progress.completed + final.progress.stopped, 5, JSON.stringify(final.progress));
  assert.equal(final.trials.length, 5);
  const outputs = result.outputs as {
    best: { learningRate: number; batchSize: number };
    bestModel: string;
    bestMetric: number;
    trials: { trialId: number; status: string; epochs?: number; metricByEpoch: { epoch: number }[] }[];
    results: string;
  };
  assert.equal(outputs.trials.length, 5);
  assert.ok(outputs.best.learningRate >= 0.0005 && outputs.best.learningRate <= 0.05, JSON.stringify(outputs.best));
  assert.ok([8, 16].includes(outputs.best.batchSize));
  assert.ok(outputs.bestMetric > 0 && outputs.bestMetric <= 1);
  assert.ok(await store.stat(outputs.bestModel), `best model ${outputs.bestModel} exists`);
  for (const trial of outputs.trials) {
    assert.ok(['completed', 'stopped'].includes(trial.status), JSON.stringify(trial));
    if (trial.status === 'completed') assert.equal(trial.epochs, 4);
    else assert.ok((trial.epochs ?? 0) < 4, `a stopped trial trained fewer epochs: ${JSON.stringify(trial)}`);
  }
  const document = await store.getJson<SweepResultsDocument>(outputs.results);
  assert.equal(document.format, 'fineflow-sweep-results/v1');
  assert.deepEqual(document.rungEpochs, [1, 2]);
  // Every segment ends on a rung or the budget: ASHA decides between segments, never mid-segment.
  for (const segment of document.segments) {
    assert.ok([1, 2, 4].includes(segment.toEpoch), JSON.stringify(segment));
    assert.ok([0, 1, 2].includes(segment.fromEpoch), JSON.stringify(segment));
  }
  const csv = (await store.getBytes(outputs.results.replace(/\.json$/, '.csv'))).toString('utf8');
  assert.equal(csv.trim().split('\n').length, 6, csv);
  assert.ok(result.artifacts?.some((artifact) => artifact.uri === outputs.results));
  // The trial's checkpoints and model live under the stage's trials/ prefix.
  const listed = await store.list(`s3://${config.s3.bucket}/runs/${runId}/sweep/trials/`);
  assert.ok(listed.some((object) => /trial-0000\/checkpoints\/epoch-0001\//.test(object.key)));
});

test('continue-as-new mid-sweep: the new run resumes in-flight trials and nothing reruns', { timeout: 240_000 }, async () => {
  const runId = `sweep-can-${suffix}`;
  const sweep = await startSweep(client, {
    taskQueue: taskQueueForPool(pools.control),
    runId,
    bucket: config.s3.bucket,
    execution: { ...execution, continueAsNewAfterEvents: 40 },
    inputs: sweepInputs({
      algorithm: 'random',
      earlyStopping: { type: 'median', reductionFactor: 3, minEpochs: 1 },
      maxTrials: 4,
      parallelism: 2,
      seed: 5,
      space: { learningRate: { logUniform: [0.001, 0.03] } },
    }),
  });
  const result = await sweep.result();
  const described = await client.workflow.getHandle(sweep.workflowId).describe();
  assert.notEqual(described.runId, sweep.firstRunId, 'the sweep continued as new at least once');
  const document = await store.getJson<SweepResultsDocument>(result.outputs.results as string);
  assert.equal(document.rows.length, 4);
  // Each trial's segments tile its epochs exactly once: no epoch was trained twice across runs.
  for (const row of document.rows) {
    const own = document.segments.filter((segment) => segment.trialId === row.trialId).sort((a, b) => a.fromEpoch - b.fromEpoch);
    let epoch = 0;
    for (const segment of own) {
      assert.equal(segment.fromEpoch, epoch, `trial ${row.trialId} segments ${JSON.stringify(own)}`);
      epoch = segment.toEpoch;
    }
    assert.equal(epoch, row.epochs, `trial ${row.trialId} trained ${row.epochs} epochs`);
  }
});

test('a failing trial is recorded, not fatal; more failures than tolerated fail the stage', { timeout: 240_000 }, async () => {
  // adagrad is accepted by the spec but not by the training loop: those trials fail (non-retryable).
  const space = { optimizer: { choice: ['adam', 'adagrad'] }, learningRate: { choice: [0.01] } };
  const tolerant = await startSweep(client, {
    taskQueue: taskQueueForPool(pools.control),
    runId: `sweep-fail-ok-${suffix}`,
    bucket: config.s3.bucket,
    execution,
    inputs: sweepInputs({ algorithm: 'grid', maxFailedTrials: 1, parallelism: 2, space, trial: { epochs: 2, batchSize: 16, freeze: 'none' } }),
  });
  const outputs = (await tolerant.result()).outputs as { best: { optimizer: string }; trials: { status: string; params: { optimizer: string }; error?: string }[] };
  assert.equal(outputs.best.optimizer, 'adam');
  const failed = outputs.trials.filter((trial) => trial.status === 'failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.params.optimizer, 'adagrad');
  assert.match(failed[0]?.error ?? '', /adagrad/);

  const strict = await startSweep(client, {
    taskQueue: taskQueueForPool(pools.control),
    runId: `sweep-fail-${suffix}`,
    bucket: config.s3.bucket,
    execution,
    inputs: sweepInputs({ algorithm: 'grid', maxFailedTrials: 0, parallelism: 1, space, trial: { epochs: 2, batchSize: 16, freeze: 'none' } }),
  });
  await assert.rejects(strict.result(), (error: unknown) => {
    assert.ok(error instanceof WorkflowFailedError);
    assert.match(String(error.cause?.message), /1 trial\(s\) failed, more than maxFailedTrials \(0\)/);
    return true;
  });
});
