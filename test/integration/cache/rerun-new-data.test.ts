/**
 * `rerun --from` of a run started by new data, on the real Temporal dev server and MinIO: the
 * rerun keeps the original trigger (its dataset version), its rerun stages see that version in
 * their context and bypass the cache through `cache.refresh`, and their new results replace the
 * cache entries (same key: the dataset version is part of it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StageImplementation } from '../../../activities/stage-runner';
import { startRerun } from '../../../src/client/rerun';
import { REFRESH_REASON } from '../../../src/cache/cache-service';
import type { RunTrigger } from '../../../src/core/run/run-types';
import type { Plan } from '../../../src/core/spec/plan-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { stages as testStages } from '../../stage-types';

/** `rerun-data-write`: records the dataset version and rerun origin its context carries, like fine-tune's card does. */
const recordTriggerStage: StageImplementation = async ({ context, inputs }, runtime) => {
  const seen = {
    stage: context.stageId,
    salt: inputs.salt ?? null,
    triggerKind: context.trigger.kind,
    datasetVersion: context.trigger.kind === 'new-data' ? context.trigger.datasetVersion : null,
    rerunOf: context.rerunOf ? `${context.rerunOf.fromRunId}#${context.rerunOf.fromStage}` : null,
  };
  const written = await runtime.store.putBytes(`${context.outputPrefix}seen.json`, JSON.stringify(seen));
  return { outputs: { file: written.uri, ...seen }, artifacts: [{ uri: written.uri, sha256: written.sha256 }] };
};

void describe('rerun of a new-data run (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  const name = `rerun-data-${randomSuffix()}`;

  function pipeline(): Plan {
    const cache = { enabled: true } as const;
    return h.plan(name, [
      { id: 'prepare', uses: 'rerun-data-write', cache, with: { salt: name } },
      {
        id: 'train',
        uses: 'rerun-data-write',
        cache,
        needs: ['prepare'],
        with: { salt: name, data: '${{ stages.prepare.outputs.file }}' },
      },
    ]);
  }

  before(async () => {
    h = await startRuntimeHarness({ cpuWorker: false });
    await h.addWorker({
      pool: h.pools.cpu,
      concurrency: 2,
      extraStages: { ...testStages, 'rerun-data-write': recordTriggerStage },
    });
  });

  after(async () => {
    await h?.close();
  });

  void it(
    'the rerun stage sees the same dataset version, bypasses the cache and replaces its entry',
    { timeout: 120_000 },
    async () => {
      const newData: RunTrigger = {
        kind: 'new-data',
        watcherId: `watch-${name}`,
        path: `s3://datasets/${name}/`,
        datasetVersion: `v-${name}`,
      };
      const originalRunId = await h.runs.submit(pipeline(), { trigger: newData });
      const original = await h.runs.result(originalRunId);
      assert.equal(original.status, 'succeeded');
      const originalTrain = original.stages.find((s) => s.id === 'train');
      assert.equal(originalTrain?.outputs?.datasetVersion, newData.datasetVersion);

      // An ordinary second run with the same version is served from the cache: the entry exists.
      const again = await h.runs.result(await h.runs.submit(pipeline(), { trigger: newData }));
      assert.equal(again.stages.find((s) => s.id === 'train')?.status, 'cached');

      const started = await startRerun(h.runs, h.store, { runId: originalRunId, fromStage: 'train' });
      assert.deepEqual(started.selection.rerun, ['train']);
      assert.equal(started.selection.plan.stages.find((s) => s.id === 'train')?.cache.refresh, true);
      const rerun = await h.runs.result(started.runId);
      assert.equal(rerun.status, 'succeeded');
      const train = rerun.stages.find((s) => s.id === 'train');
      assert.equal(train?.status, 'succeeded', 'refresh: the stage ran although an entry existed');
      assert.equal(train?.reason, REFRESH_REASON, 'status says why it ran');
      assert.equal(train?.outputs?.triggerKind, 'new-data');
      assert.equal(
        train?.outputs?.datasetVersion,
        newData.datasetVersion,
        'the rerun trains on the same dataset version',
      );
      assert.equal(train?.outputs?.rerunOf, `${originalRunId}#train`);
      assert.equal(rerun.stages.find((s) => s.id === 'prepare')?.reason, `reused from run ${originalRunId}`);

      const state = await h.runs.state(started.runId);
      assert.deepEqual(state.trigger, { kind: 'rerun', fromRunId: originalRunId, fromStage: 'train', origin: newData });

      // Same key (same dataset version): the refreshed result now serves the next new-data run.
      const next = await h.runs.result(await h.runs.submit(pipeline(), { trigger: newData }));
      const nextTrain = next.stages.find((s) => s.id === 'train');
      assert.equal(nextTrain?.status, 'cached');
      assert.equal(nextTrain?.reason?.startsWith(`cache hit from run ${started.runId}`), true, nextTrain?.reason);
    },
  );
});
