/**
 * Every attempt of one run's fine-tune stage trains on the base version its first attempt pinned, also the attempts
 * that start as a new activity without the previous heartbeat, on the real stack (Temporal dev server, MinIO, the
 * pipeline run workflow, the stage runner and the production fine-tune stage):
 * - a dependency-unavailable failure, which the run workflow retries as a new activity under the outage budget;
 * - `fineflow retry` of a stage waiting after its failure.
 * In both, attempt 1 trains on `registry://NAME@latest` = version 1 and fails after writing its checkpoints; the alias
 * then names a new version. The next attempt must train on version 1 and resume from the checkpoint (before, it
 * re-pinned the new version and trained from epoch 1). A new run pins afresh.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/base-pin-new-activity.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createFineTuneStage } from '../../../activities/fine-tune';
import type { StageImplementation } from '../../../activities/stage-runner';
import { ConflictError, DependencyUnavailableError } from '../../../src/core/errors';
import type { PlannedStage } from '../../../src/core/spec/plan-types';
import { registerModel } from '../../../src/ml/models/registry';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import { checkpointedFineTuneStage } from '../../helpers/fine-tune-stage';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { waitFor } from '../schedules/harness';
import { writeSweepData } from '../sweep/sweep-fixture';

let h: RuntimeHarness;
const suffix = randomSuffix();
const pool = `base-pin-${suffix}`;

interface TrainingCall {
  readonly runId: string;
  readonly baseModelUri?: string;
  readonly resumeFrom?: string;
}
const trainingCalls: TrainingCall[] = [];
/** Per registry model name: the error the next training call on it fails with, after training and moving `latest`. */
const failNextCall = new Map<string, () => Error>();

let data: Awaited<ReturnType<typeof writeSweepData>>;

async function registerVersion(name: string): Promise<void> {
  await registerModel(h.store, {
    bucket: h.config.s3.bucket,
    name,
    modelUri: data.baseModel,
    description: 'base-pin test base',
  });
}

/** The production fine-tune stage; a training call told to fail trains, moves `latest`, then fails. */
function failingOnce(): StageImplementation {
  const real = inProcessTrainingRunner(h.store);
  return async (input, runtime) => {
    const { runId } = input.context;
    const stage = createFineTuneStage({
      runTraining: async (request, options) => {
        trainingCalls.push({
          runId,
          ...(request.baseModelUri ? { baseModelUri: request.baseModelUri } : {}),
          ...(request.resumeFrom ? { resumeFrom: request.resumeFrom } : {}),
        });
        const result = await real(request, options);
        const name = /^registry:\/\/([^@]+)@/.exec(request.baseModelUri ?? '')?.[1] ?? '';
        const failure = failNextCall.get(name);
        if (failure) {
          failNextCall.delete(name);
          await registerVersion(name); // the alias moves while the stage is down
          throw failure();
        }
        return result;
      },
    });
    return stage(input, runtime);
  };
}

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  data = await writeSweepData(h.store, h.config.s3.bucket, `base-pin-${suffix}`);
  await h.addWorker({ pool, extraStages: { 'fine-tune': failingOnce() }, concurrency: 1, progressIntervalMs: 200 });
});

after(async () => {
  await h?.close();
});

const fineTuneStage = (name: string, overrides: Partial<PlannedStage> = {}) =>
  checkpointedFineTuneStage(
    { pool, baseModel: name, dataset: data.dataset },
    {
      heartbeatTimeoutMs: 10_000,
      retry: {
        maxAttempts: 3,
        initialIntervalMs: 200,
        backoffCoefficient: 1,
        maximumIntervalMs: 500,
        outageBudgetMs: 60_000,
      },
      ...overrides,
    },
  );

function callsOf(runId: string): { baseModelUri?: string; resumedFromCheckpoint: boolean }[] {
  return trainingCalls
    .filter((call) => call.runId === runId)
    .map((call) => ({
      ...(call.baseModelUri ? { baseModelUri: call.baseModelUri } : {}),
      resumedFromCheckpoint: /\/finetune\/checkpoints\/epoch-0002$/.test(call.resumeFrom ?? ''),
    }));
}

test(
  'a dependency-outage retry (a new activity) trains on the pinned version from its checkpoint; a new run pins afresh',
  { timeout: 180_000 },
  async () => {
    const name = `pin-outage-${suffix}`;
    await registerVersion(name); // version 1 = latest
    const plan = h.plan('base-pin-outage', [fineTuneStage(name)]);
    failNextCall.set(name, () => new DependencyUnavailableError('injected: the store went away after training', {}));
    const runId = await h.runs.submit(plan);
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    assert.match(result.stages[0]?.reason ?? '', /rode out a dependency outage \(1 retries\)/);
    assert.deepEqual(callsOf(runId), [
      { baseModelUri: `registry://${name}@1`, resumedFromCheckpoint: false },
      { baseModelUri: `registry://${name}@1`, resumedFromCheckpoint: true },
    ]);
    const metrics = result.stages[0]?.outputs?.metrics as { resumedFromEpoch?: number };
    assert.equal(metrics.resumedFromEpoch, 2, JSON.stringify(metrics));

    // A new run of the same pipeline takes the alias's current version.
    const next = await h.runs.submit(h.plan('base-pin-outage', [fineTuneStage(name)]));
    assert.equal((await h.runs.result(next)).status, 'succeeded');
    assert.deepEqual(callsOf(next), [{ baseModelUri: `registry://${name}@2`, resumedFromCheckpoint: false }]);
  },
);

test(
  '`fineflow retry` of a waiting fine-tune keeps the pinned version and resumes its checkpoint',
  { timeout: 180_000 },
  async () => {
    const name = `pin-retry-${suffix}`;
    await registerVersion(name); // version 1 = latest
    const stage = fineTuneStage(name, {
      onFailure: 'pause',
      retry: { maxAttempts: 1, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
    });
    failNextCall.set(name, () => new ConflictError('injected: a conflicting write after training', {}));
    const runId = await h.runs.submit(h.plan('base-pin-retry', [stage]));
    await waitFor(
      'the run to wait on its failed stage',
      () => h.runs.state(runId),
      (state) => state.status === 'waiting',
      120_000,
    );
    await h.runs.retry(runId);
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    assert.deepEqual(callsOf(runId), [
      { baseModelUri: `registry://${name}@1`, resumedFromCheckpoint: false },
      { baseModelUri: `registry://${name}@1`, resumedFromCheckpoint: true },
    ]);
  },
);
