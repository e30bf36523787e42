/**
 * A stage's progress report without a detail keeps the last detail, on the real stack (Temporal dev server,
 * MinIO, the pipeline run workflow, the stage runner and the production fine-tune stage): the detail is what a
 * retry resumes from. Attempt 1 of a fine-tune trains on `registry://NAME@latest` pinned to version 1, reports
 * its message-only "trained on …" line, and fails once the server holds that heartbeat; the alias then names
 * version 2. The server-held heartbeat must still carry the pin and the checkpoint, and attempt 2 must train on
 * version 1 from that checkpoint (before, it re-pinned version 2 and trained again from the start).
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/progress-detail-retry.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { createFineTuneStage } from '../../../activities/fine-tune';
import type { StageImplementation, StageRuntime } from '../../../activities/stage-runner';
import { readPendingStageActivities } from '../../../src/client/live-stages';
import { ConflictError } from '../../../src/core/errors';
import type { StageHeartbeat } from '../../../src/core/run/progress';
import { registerModel } from '../../../src/ml/models/registry';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { ObjectStore } from '../../../src/storage/object-store';
import { checkpointedFineTuneStage } from '../../helpers/fine-tune-stage';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { waitFor } from '../schedules/harness';
import { writeSweepData } from '../sweep/sweep-fixture';

let h: RuntimeHarness;
const suffix = randomSuffix();
const pool = `detail-retry-${suffix}`;
const name = `detail-retry-${suffix}`;
/** What each training call was asked: the base it trains on and the checkpoint it resumes from. */
const trainingCalls: { attempt: number; baseModelUri?: string; resumeFrom?: string }[] = [];
/** The heartbeat the server held when attempt 1 failed. */
let heldAtFailure: StageHeartbeat | undefined;
let runId = '';

async function register(modelUri: string): Promise<void> {
  await registerModel(h.store, { bucket: h.config.s3.bucket, name, modelUri, description: 'detail-retry base' });
}

/** The stage's latest heartbeat as Temporal holds it (what the next attempt's `heartbeatDetails` will be). */
async function heldHeartbeat(): Promise<StageHeartbeat | undefined> {
  const description = await h.client.workflow.getHandle(runId).describe();
  return (await readPendingStageActivities(h.client, description)).get('finetune')?.heartbeat;
}

/**
 * The production fine-tune stage. In attempt 1, the first listing after the message-only "trained on" report
 * (the stage's artifact listing) waits until the server holds that report, moves the alias, and fails retryably.
 */
function failingAfterTrainedReport(): StageImplementation {
  const real = inProcessTrainingRunner(h.store);
  const stage = createFineTuneStage({
    runTraining: async (request, options) => {
      trainingCalls.push({
        attempt: Context.current().info.attempt,
        ...(request.baseModelUri ? { baseModelUri: request.baseModelUri } : {}),
        ...(request.resumeFrom ? { resumeFrom: request.resumeFrom } : {}),
      });
      return real(request, options);
    },
  });
  return async (input, runtime) => {
    if (Context.current().info.attempt !== 1) return stage(input, runtime);
    let trainedReported = false;
    const list: ObjectStore['list'] = async (...args) => {
      if (!trainedReported) return runtime.store.list(...args);
      heldAtFailure = await waitFor('the message-only report on the server', heldHeartbeat, (held) =>
        Boolean(held?.message?.startsWith('trained on')),
      );
      await register(data.baseModel); // version 2 = `latest`
      // Retried by Temporal as attempt 2 of the same activity (a dependency-unavailable failure would instead be
      // a new activity under the run's outage budget, which starts without the previous heartbeat and finds the pin
      // in the stage's record instead: base-pin-new-activity.test.ts).
      throw new ConflictError('injected: the artifact listing failed after training', {});
    };
    const heartbeat: StageRuntime['heartbeat'] = (progress) => {
      if (progress?.message?.startsWith('trained on')) trainedReported = true;
      runtime.heartbeat(progress);
    };
    return stage(input, overriding(runtime, { heartbeat, store: overriding(runtime.store, { list }) }));
  };
}

let data: Awaited<ReturnType<typeof writeSweepData>>;

/** `target` with some methods replaced; the others stay bound to it. */
function overriding<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get: (object, key) => {
      if (key in methods) return methods[key as keyof T];
      const value = Reflect.get(object, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  data = await writeSweepData(h.store, h.config.s3.bucket, `detail-retry-${suffix}`);
  await register(data.baseModel); // version 1 = `latest`
  await h.addWorker({
    pool,
    extraStages: { 'fine-tune': failingAfterTrainedReport() },
    concurrency: 1,
    progressIntervalMs: 200,
  });
});

after(async () => {
  await h?.close();
});

test(
  'a retry after a message-only progress report trains on the pinned base from the last checkpoint',
  { timeout: 180_000 },
  async () => {
    const plan = h.plan('detail-retry', [
      checkpointedFineTuneStage(
        { pool, baseModel: name, dataset: data.dataset },
        {
          heartbeatTimeoutMs: 4_000,
          retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
        },
      ),
    ]);
    runId = await h.runs.submit(plan);
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const stage = result.stages[0];
    assert.equal(stage?.attempts, 2, 'attempt 1 failed after training, attempt 2 succeeded');

    // The heartbeat details survived the message-only report.
    assert.match(heldAtFailure?.message ?? '', /^trained on /);
    assert.equal(heldAtFailure?.detail?.baseModel, `registry://${name}@1`, JSON.stringify(heldAtFailure));
    assert.match(String(heldAtFailure?.detail?.checkpoint), /\/finetune\/checkpoints\/epoch-0002$/);

    // The retry resumed from the pin: the same base version and the last checkpoint, nothing trained again.
    assert.deepEqual(
      trainingCalls.map(({ attempt, baseModelUri }) => ({ attempt, baseModelUri })),
      [
        { attempt: 1, baseModelUri: `registry://${name}@1` },
        { attempt: 2, baseModelUri: `registry://${name}@1` },
      ],
    );
    assert.match(trainingCalls[1]?.resumeFrom ?? '', /\/finetune\/checkpoints\/epoch-0002$/);
    const metrics = stage?.outputs?.metrics as { resumedFromEpoch?: number; epochsTrained?: number };
    assert.equal(metrics.resumedFromEpoch, 2, JSON.stringify(metrics));
  },
);
