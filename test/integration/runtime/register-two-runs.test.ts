/**
 * Two pipeline runs register the same model at the same time, on the real stack (Temporal dev server, MinIO, the
 * pipeline run workflow, the stage runner and the production register-model stage): one version is added, both runs'
 * register stages name it (one wrote it, the other says `unchanged`), and both runs' aliases and tags apply to it
 * (tags.json merges every registration's keys; docs/pipeline-reference.md, register-model's `tags`).
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/register-two-runs.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StageImplementation } from '../../../activities/stage-runner';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { Plan } from '../../../src/core/spec/plan-types';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { listVersions, readAliases, readVersionTags } from '../../../src/ml/models/registry';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { stages as testStages } from '../../stage-types';

const { tf } = loadTf({ preference: 'cpu' });
let h: RuntimeHarness;
const name = `two-runs-${randomSuffix()}`;

/** Both runs' `meet` stages finish only once both have started, so their register stages start together. */
let arrived = 0;
let bothArrived!: () => void;
const meeting = new Promise<void>((resolve) => (bothArrived = resolve));
const meet: StageImplementation = async () => {
  arrived += 1;
  if (arrived === 2) bothArrived();
  await meeting;
  return { outputs: {} };
};

function pipeline(modelUri: string, alias: string, tags: Readonly<Record<string, string>>): Plan {
  return h.plan(name, [
    { id: 'meet', uses: 'meet' },
    { id: 'register', uses: 'register-model', needs: ['meet'], with: { model: modelUri, name, alias, tags } },
  ]);
}

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  await h.addWorker({ pool: h.pools.cpu, concurrency: 4, extraStages: { ...testStages, meet } });
});

after(async () => {
  await h?.close();
});

test('two runs registering one model at once add one version; both see it, both runs’ aliases and tags apply', async () => {
  const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
  const directory = `s3://${h.config.s3.bucket}/scratch-${name}/model`;
  await saveModel(tf, h.store, model, directory);
  model.dispose();
  const modelUri = `${directory}/model.json`;

  const runIds = await Promise.all([
    h.runs.submit(pipeline(modelUri, 'champion', { team: 'vision' })),
    h.runs.submit(pipeline(modelUri, 'staging', { ticket: 'ML-7' })),
  ]);
  const results = await Promise.all(runIds.map((runId) => h.runs.result(runId)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['succeeded', 'succeeded'],
  );
  const outputs = results.map((r) => r.stages.find((s) => s.id === 'register')?.outputs);
  assert.deepEqual(
    outputs.map((o) => [o?.model, o?.version]),
    [
      [`registry://${name}@1`, 1],
      [`registry://${name}@1`, 1],
    ],
    'both runs name the one version',
  );
  assert.deepEqual(outputs.map((o) => o?.unchanged).sort(), [false, true], 'one wrote it, the other found it');
  assert.deepEqual(await listVersions(h.store, h.config.s3.bucket, name), [1], 'one version added');
  assert.deepEqual(await readAliases(h.store, h.config.s3.bucket, name), { champion: 1, staging: 1 });
  assert.deepEqual(await readVersionTags(h.store, h.config.s3.bucket, name, 1), { team: 'vision', ticket: 'ML-7' });
  const unchangedRun = runIds[outputs.findIndex((o) => o?.unchanged === true)] as string;
  const [log] = await listStageLogs(h.store, h.config.s3.bucket, unchangedRun, 'register');
  assert.ok(log, 'the unchanged run has a register log');
  assert.match(await stageLogText(h.store, log), /unchanged, version 1: .* no version added; /);
  // No number besides version 1 holds anything: the one that yielded gave its claim back.
  const keys = (await h.store.list(`s3://${h.config.s3.bucket}/models/${name}/`)).map((info) => info.key);
  assert.deepEqual(
    keys.filter((key) => !key.startsWith(`models/${name}/1/`) && key !== `models/${name}/aliases.json`),
    [],
  );
});
