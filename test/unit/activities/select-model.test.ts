/**
 * select-model through MockActivityEnvironment with the in-memory store: candidates ranked by a
 * linear probe (and kNN) on their frozen features; a candidate that does not load or does not
 * fit the data is reported, not fatal; none scorable fails non-retryably.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectModelStage } from '../../../activities/select-model';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { randomWeights } from '../../../src/ml/select';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { preparedBars, registeredBase, SIZE } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let mlp: string;

before(async () => {
  store = memoryStore();
  dataset = await preparedBars(store, `s3://${BUCKET}/runs/sel/prepare/dataset`);
  await registeredBase(store, 'tiny-base');
  await registeredBase(store, 'tiny-base'); // version 2: `latest` now means 2
  const { tf } = loadTf({ preference: 'cpu' });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [4] }, { numClasses: 2 });
  mlp = `s3://${BUCKET}/elsewhere/mlp`;
  await saveModel(tf, store, model, mlp);
  model.dispose();
});

test('ranks the candidates, reports the ones that fail, and outputs the winner pinned to a version', async () => {
  const { result, heartbeats } = await runStage(
    'select-model',
    selectModelStage,
    store,
    stageContext('select', { runId: 'sel' }),
    {
      candidates: ['registry://missing-model@latest', mlp, 'registry://tiny-base@latest', 'registry://tiny-base@1'],
      data: dataset,
      rankBy: 'linear-probe',
      sampleSize: 30,
    },
  );
  assert.equal(result.outputs.model, 'registry://tiny-base@1', 'ties are broken by URI; both tiny-base versions score');
  const ranking = result.outputs.ranking as { uri: string; model?: string; score?: number; error?: string }[];
  assert.deepEqual(
    ranking.slice(0, 2).map((r) => typeof r.score),
    ['number', 'number'],
    'scored candidates first, best first',
  );
  assert.deepEqual(
    ranking.slice(2).map((r) => r.uri),
    ['registry://missing-model@latest', mlp],
    'then the failures, in input order',
  );
  const scored = ranking.filter((r) => typeof r.score === 'number');
  assert.equal(scored.length, 2);
  assert.ok(scored.every((r) => (r.score as number) >= 0 && (r.score as number) <= 1));
  assert.ok((scored[0]?.score as number) >= (scored[1]?.score as number), 'best first');
  assert.equal(ranking.find((r) => r.uri === 'registry://tiny-base@latest')?.model, 'registry://tiny-base@2');
  assert.match(ranking.find((r) => r.uri === 'registry://missing-model@latest')?.error ?? '', /not in the registry/);
  assert.match(ranking.find((r) => r.uri === mlp)?.error ?? '', /shape/);
  assert.ok(heartbeats.some((h) => h.detail?.candidates === 4 && h.detail.candidate === 3));
});

test('kNN ranking works too', async () => {
  const { result } = await runStage(
    'select-model',
    selectModelStage,
    store,
    stageContext('select', { runId: 'sel-knn' }),
    { candidates: ['registry://tiny-base@2'], data: dataset, rankBy: 'knn' },
  );
  assert.equal(result.outputs.model, 'registry://tiny-base@2');
});

test('rankBy knn uses k: with every other example voting, leave-one-out on balanced classes always loses', async () => {
  const scoreAt = async (k: number): Promise<{ score: number; k: number }> => {
    const { result } = await runStage(
      'select-model',
      selectModelStage,
      store,
      stageContext('select', { runId: `sel-k${k}` }),
      { candidates: ['registry://tiny-base@2'], data: dataset, rankBy: 'knn', k },
    );
    return (result.outputs.ranking as { score: number; k: number }[])[0] ?? { score: NaN, k: NaN };
  };
  const everyone = await scoreAt(1_000);
  assert.equal(everyone.score, 0);
  assert.equal(everyone.k, 1_000);
  assert.ok((await scoreAt(1)).score > 0);
});

test('without data the first candidate that loads wins', async () => {
  const { result } = await runStage(
    'select-model',
    selectModelStage,
    store,
    stageContext('select', { runId: 'sel-nodata' }),
    { candidates: ['registry://missing-model@latest', 'registry://tiny-base@latest'] },
  );
  assert.equal(result.outputs.model, 'registry://tiny-base@2');
});

test('when no candidate can be scored the stage fails non-retryably', async () => {
  const failure = await stageFailure(
    runStage('select-model', selectModelStage, store, stageContext('select', { runId: 'sel-none' }), {
      candidates: ['registry://missing-model@latest', mlp],
      data: dataset,
    }),
  );
  assert.equal(failure.type, 'FineflowInvalidInput');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /missing-model@latest: .*not in the registry/);
  const bad = await stageFailure(
    runStage('select-model', selectModelStage, store, stageContext('select', { runId: 'sel-bad' }), {
      candidates: [],
      data: dataset,
    }),
  );
  assert.equal(bad.details.field, 'candidates');
});

test('training from scratch is a candidate: transfer gain, recommendation, warning, requireTransferGain', async () => {
  // A base whose weights are exactly what the from-scratch probe draws with seed 0: its gain is 0.
  const { tf } = loadTf({ preference: 'cpu' });
  const model = buildModel(
    tf,
    { kind: 'cnn', inputShape: [SIZE, SIZE, 1], filters: [4], featureUnits: 8 },
    { numClasses: 2 },
  );
  const fresh = randomWeights(tf, model, 0);
  model.setWeights(fresh);
  tf.dispose(fresh);
  const random = `s3://${BUCKET}/elsewhere/random-weights`;
  await saveModel(tf, store, model, random);
  model.dispose();
  const { result } = await runStage(
    'select-model',
    selectModelStage,
    store,
    stageContext('select', { runId: 'sel-scratch' }),
    { candidates: [random], data: dataset, sampleSize: 30, seed: 0 },
  );
  const gain = result.outputs.transferGain as { candidate: string; estimate: number; low: number; high: number };
  assert.deepEqual([gain.candidate, gain.estimate, gain.low, gain.high], [random, 0, 0, 0]);
  const scratch = result.outputs.fromScratch as { score: number; architectureOf: string };
  assert.equal(scratch.architectureOf, random);
  assert.equal(scratch.score, (result.outputs.ranking as { score: number }[])[0]?.score);
  assert.equal(result.outputs.recommendation, 'from-scratch');
  assert.match(
    String((result.outputs.warnings as string[])[0]),
    /no candidate base is expected to beat training from scratch/,
  );

  const failure = await stageFailure(
    runStage('select-model', selectModelStage, store, stageContext('select', { runId: 'sel-require' }), {
      candidates: [random],
      data: dataset,
      sampleSize: 30,
      seed: 0,
      requireTransferGain: true,
    }),
  );
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.details.field, 'requireTransferGain');

  const off = await runStage('select-model', selectModelStage, store, stageContext('select', { runId: 'sel-off' }), {
    candidates: [random],
    data: dataset,
    fromScratch: false,
  });
  assert.equal(off.result.outputs.transferGain, undefined);
  assert.equal(off.result.outputs.recommendation, undefined);
});
