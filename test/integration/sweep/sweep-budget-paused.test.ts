/**
 * A time-budgeted promotion sweep where nothing runs and no trial completed when the budget stops launching: trials 0
 * and 1 pause at rung 0, trial 2 runs past the budget and then fails. The sweep used to end with "no trial completed";
 * now the best paused trial finishes and the sweep log says why. Real Temporal, MinIO and training; only trial 2's
 * training is replaced, by one that waits for the budget (read from the sweep's own state query) and fails.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/sweep/sweep-budget-paused.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { FineflowConfig } from '../../../src/config';
import { trialTableFromStatus } from '../../../src/client/sweep-trial-table';
import { connectClient, dataConverterFor, decodeHistoryPayload } from '../../../src/client/temporal-connection';
import { InvalidInputError } from '../../../src/core/errors';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { SWEEP_QUERIES, type SweepStatus } from '../../../src/core/sweep/sweep-types';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';
import {
  quietTemporalRuntime,
  randomSuffix,
  startSweep,
  startSweepWorkers,
  sweepStageLog,
  sweepWorkflowBundle,
  writeSweepData,
  type SweepData,
} from './sweep-fixture';

const suffix = randomSuffix();
const pools = { control: `budget-control-${suffix}`, train: `budget-train-${suffix}` };
const runId = `sweep-budget-${suffix}`;
const workflowId = `${runId}.sweep.sweep-1`;
/** Trial 2's learning rate (the grid's third value): its training waits for the budget, then fails. */
const FAILING_RATE = 0.03;
const BUDGET_MS = 40_000;

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let data: SweepData;
let workers: Awaited<ReturnType<typeof startSweepWorkers>> | undefined;

/** Real training, but for {@link FAILING_RATE}: that one waits until the sweep closed launching, then fails. */
function trainingUntilTheBudget(real: TrainingRunner): TrainingRunner {
  return async (request, options) => {
    if (request.hyperparameters.learningRate !== FAILING_RATE) return real(request, options);
    const handle = client.workflow.getHandle(workflowId);
    for (;;) {
      const state = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
      if (state.closedReason !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new InvalidInputError('trial 2 fails after the budget (test)', {});
  };
}

before(async () => {
  quietTemporalRuntime();
  config = await requireStack();
  store = createObjectStoreFromConfig(config);
  data = await writeSweepData(store, config.s3.bucket, `sweep-budget-${suffix}`);
  client = await connectClient(config.temporal);
  workers = await startSweepWorkers(config, store, pools, trainingUntilTheBudget(inProcessTrainingRunner(store)));
});

after(async () => {
  await workers?.stop();
  await client?.connection.close();
});

test(
  'time budget with every trial paused and none running: the best paused trial finishes; the log says why',
  {
    timeout: 240_000,
  },
  async () => {
    const sweep = await startSweep(client, {
      taskQueue: taskQueueForPool(pools.control),
      runId,
      bucket: config.s3.bucket,
      execution: {
        pool: pools.train,
        segmentTimeoutMs: 120_000,
        heartbeatTimeoutMs: 30_000,
        retry: { maxAttempts: 1, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
      },
      inputs: {
        model: data.baseModel,
        data: data.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
        algorithm: 'grid',
        // η = 3, rung at epoch 1: a rung of one or two trials promotes nobody, so trials 0 and 1 pause there.
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true },
        maxTrials: 4,
        maxFailedTrials: 1,
        parallelism: 1,
        timeBudget: `${BUDGET_MS / 1000}s`,
        space: { learningRate: { choice: [0.01, 0.02, FAILING_RATE, 0.04] } },
      },
    });
    const result = await sweep.result();
    const outputs = result.outputs as { bestMetric: number; trials: { trialId: number; status: string }[] };
    const log = await sweepStageLog(store, config.s3.bucket, runId);
    assert.match(log, /trial 0 paused at epoch 1/);
    assert.match(log, /trial 1 paused at epoch 1/);
    assert.match(log, /trial 2 failed/);
    const resumed = new RegExp(
      'trial ([01]) resumed from rung 0 \\(epoch 1\\): the best paused trial of the highest rung, since no new ' +
        `trial may start and none completed \\(time budget spent \\(${BUDGET_MS / 1000} s\\)\\)`,
    ).exec(log);
    assert.ok(resumed, log);
    const finisher = Number(resumed[1]);
    assert.deepEqual(
      outputs.trials.map((trial) => `${trial.trialId}:${trial.status}`),
      [0, 1, 2].map((id) => `${id}:${id === 2 ? 'failed' : id === finisher ? 'completed' : 'stopped'}`),
    );
    assert.equal(typeof outputs.bestMetric, 'number');
    // `fineflow status` without the results file asks the closed sweep: the trial left paused reads as everywhere else.
    const closed = await client.workflow.getHandle(workflowId).query<SweepStatus>(SWEEP_QUERIES.state);
    assert.deepEqual(
      trialTableFromStatus('sweep', closed).rows.map((row) => `${row.trialId}:${row.state}`),
      [0, 1, 2].map((id) => `${id}:${id === 2 ? 'failed' : id === finisher ? 'finished' : 'stopped-while-paused'}`),
    );
    // The change is behind a patch: the history, with its marker, replays on this code.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const markers = history.events?.flatMap((event) => event.markerRecordedEventAttributes ?? []) ?? [];
    const patchIds = await Promise.all(
      markers
        .flatMap((marker) => marker.details?.['patch-data']?.payloads ?? [])
        .map(async (payload) => {
          const data = await decodeHistoryPayload(client, payload);
          return (data as { id?: unknown } | undefined)?.id;
        }),
    );
    assert.ok(patchIds.includes('fineflow-sweep-finish-paused-after-close'), `patch markers: ${patchIds.join(', ')}`);
    const replay = { replayName: 'budget-replay', dataConverter: dataConverterFor(config.temporal) };
    await Worker.runReplayHistory({ ...replay, workflowBundle: await sweepWorkflowBundle() }, history);
  },
);
