/**
 * `fineflow rerun --from evaluate` registers the model it registered before: on the real stack (Temporal dev server,
 * MinIO, the pipeline run workflow, the stage runner and the production register-model stage) the rerun's register
 * stage adds no version, says "unchanged, version N" in its outputs and log, applies its own tags to that version, and
 * a run that trains a new model adds one.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/register-unchanged.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StageImplementation } from '../../../activities/stage-runner';
import { startRerun } from '../../../src/client/rerun';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { Plan } from '../../../src/core/spec/plan-types';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { readAliases, showModel } from '../../../src/ml/models/registry';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { stages as testStages } from '../../stage-types';

const { tf } = loadTf({ preference: 'cpu' });

/** `make-model`: a freshly initialised model (new weights on every run), saved under the stage's output prefix. */
const makeModel: StageImplementation = async ({ context }, runtime) => {
  const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
  const directory = `${context.outputPrefix}model`;
  await saveModel(tf, runtime.store, model, directory);
  model.dispose();
  return { outputs: { model: `${directory}/model.json` } };
};

let h: RuntimeHarness;
const name = `unchanged-${randomSuffix()}`;

function pipeline(): Plan {
  return h.plan(
    name,
    [
      { id: 'train', uses: 'make-model' },
      { id: 'evaluate', needs: ['train'], with: { value: '${{ stages.train.outputs.model }}' } },
      {
        id: 'register',
        uses: 'register-model',
        needs: ['train', 'evaluate'],
        with: {
          model: '${{ stages.train.outputs.model }}',
          name,
          alias: 'champion',
          tags: { note: '${{ params.note }}' },
        },
      },
    ],
    { note: 'first' },
  );
}

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  await h.addWorker({ pool: h.pools.cpu, concurrency: 2, extraStages: { ...testStages, 'make-model': makeModel } });
});

after(async () => {
  await h?.close();
});

async function registerLog(runId: string): Promise<string> {
  const [log] = await listStageLogs(h.store, h.config.s3.bucket, runId, 'register');
  assert.ok(log, `run ${runId} has a register log`);
  return stageLogText(h.store, log);
}

test('a rerun from evaluate registers no second copy of the same model; a new model is a new version', async () => {
  const firstRunId = await h.runs.submit(pipeline());
  const first = await h.runs.result(firstRunId);
  assert.equal(first.status, 'succeeded');
  assert.equal(first.stages.find((s) => s.id === 'register')?.outputs?.version, 1);

  const tagsOf = (version: number) => h.store.getJson(`s3://${h.config.s3.bucket}/models/${name}/${version}/tags.json`);
  assert.deepEqual(await tagsOf(1), { note: 'first' });
  const started = await startRerun(h.runs, h.store, {
    runId: firstRunId,
    fromStage: 'evaluate',
    set: { note: 'rerun' },
  });
  const rerun = await h.runs.result(started.runId);
  assert.equal(rerun.status, 'succeeded');
  const train = rerun.stages.find((s) => s.id === 'train');
  assert.deepEqual(train?.reusedFrom, { runId: firstRunId, stage: 'train' }, 'the model is the first run’s');
  assert.equal(rerun.stages.find((s) => s.id === 'register')?.outputs?.version, 1, 'the version registered before');
  assert.deepEqual(rerun.stages.find((s) => s.id === 'register')?.outputs, {
    model: `registry://${name}@1`,
    version: 1,
    unchanged: true,
  });
  assert.deepEqual(
    (await showModel(h.store, h.config.s3.bucket, name)).versions.map((card) => card.version),
    [1],
    'no version added',
  );
  assert.match(
    await registerLog(started.runId),
    /unchanged, version 1: .* no version added; .*tags: \{"note":"rerun"\}/,
  );
  assert.deepEqual(await tagsOf(1), { note: 'rerun' }, "the rerun's tags apply to the version it found");
  assert.deepEqual(first.stages.find((s) => s.id === 'register')?.outputs, {
    model: `registry://${name}@1`,
    version: 1,
    unchanged: false,
  });

  const second = await h.runs.result(await h.runs.submit(pipeline()));
  assert.deepEqual(second.stages.find((s) => s.id === 'register')?.outputs, {
    model: `registry://${name}@2`,
    version: 2,
    unchanged: false,
  });
  assert.deepEqual(await readAliases(h.store, h.config.s3.bucket, name), { champion: 2 });
});
