/**
 * `algorithm: gp` in the `hyperparameterSweep` workflow on the real stack (Temporal dev server + MinIO):
 * real fine-tune trials, the Gaussian-process searcher suggesting inside workflow tasks, and the
 * recorded history replaying deterministically (every suggestion is recomputed on replay).
 *
 * Run with: bash scripts/test.sh integration test/integration/sweep/sweep-gp.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { FineflowConfig } from '../../../src/config';
import { connectClient, dataConverterFor } from '../../../src/client/temporal-connection';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { SWEEP_QUERIES, type SweepExecution, type SweepStatus } from '../../../src/core/sweep/sweep-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';
import {
  quietTemporalRuntime,
  randomSuffix,
  startSweep,
  startSweepWorkers,
  sweepWorkflowBundle,
  writeSweepData,
  type SweepData,
} from './sweep-fixture';

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let data: SweepData;
const suffix = randomSuffix();
const pools = { control: `sweep-gp-control-${suffix}`, train: `sweep-gp-train-${suffix}` };
let workers: Awaited<ReturnType<typeof startSweepWorkers>> | undefined;

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
  data = await writeSweepData(store, config.s3.bucket, `sweep-gp-${suffix}`);
  client = await connectClient(config.temporal);
  workers = await startSweepWorkers(config, store, pools);
});

after(async () => {
  await workers?.stop();
  await client?.connection.close();
});

test(
  'GP + ASHA sweep of real trials: every trial in the space, then the history replays',
  { timeout: 300_000 },
  async () => {
    const sweep = await startSweep(client, {
      taskQueue: taskQueueForPool(pools.control),
      runId: `sweep-gp-${suffix}`,
      bucket: config.s3.bucket,
      execution,
      inputs: {
        model: data.baseModel,
        data: data.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
        algorithm: 'gp',
        gp: { startupTrials: 2, candidates: 64 },
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 },
        maxTrials: 5,
        parallelism: 2,
        seed: 4,
        space: { learningRate: { logUniform: [0.0005, 0.05] }, batchSize: { choice: [8, 16] } },
      },
    });
    const result = await sweep.result();
    const handle = client.workflow.getHandle(sweep.workflowId);
    const final = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
    assert.equal(final.progress.completed + final.progress.stopped, 5, JSON.stringify(final.progress));
    const outputs = result.outputs as { trials: { params: { learningRate: number; batchSize: number } }[] };
    assert.equal(outputs.trials.length, 5);
    for (const { params } of outputs.trials) {
      assert.ok(params.learningRate >= 0.0005 && params.learningRate <= 0.05, JSON.stringify(params));
      assert.ok([8, 16].includes(params.batchSize), JSON.stringify(params));
    }
    // Trials 2…4 were suggested by the Gaussian process inside workflow tasks: replaying recomputes them.
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: await sweepWorkflowBundle(),
        replayName: 'gp-replay',
        dataConverter: dataConverterFor(config.temporal),
      },
      history,
    );
  },
);
