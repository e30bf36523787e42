/**
 * register-model through MockActivityEnvironment with the in-memory store: versions, aliases,
 * the model card's lineage (from the training record fine-tune leaves beside the model), a
 * retry that must not register twice, and inputs that can never succeed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerModelStage } from '../../../activities/register-model';
import { TRAINING_RECORD_FILE, type TrainingRecord } from '../../../activities/fine-tune';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../../src/ml/models/load-model';
import { readAliases, showModel } from '../../../src/ml/models/registry';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';

const { tf } = loadTf({ preference: 'cpu' });

async function trainedModelFixture(store: MemoryObjectStore, runId: string): Promise<string> {
  const directory = `s3://${BUCKET}/runs/${runId}/finetune/model`;
  const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
  await saveModel(tf, store, model, directory);
  model.dispose();
  const record: TrainingRecord = {
    format: 'fineflow-training/v1',
    runId,
    stageId: 'finetune',
    mode: 'fine-tune',
    engine: 'graph',
    baseModel: 'registry://digits-cnn@latest',
    baseModelResolved: 'registry://digits-cnn@3',
    dataset: `s3://${BUCKET}/runs/${runId}/prepare/dataset/manifest.json`,
    hyperparameters: { epochs: 4, learningRate: 0.001, batchSize: 16 },
    classes: ['a', 'b'],
    inputShape: [4],
    backend: 'cpu',
    metrics: { validation: { accuracy: 0.75, loss: 0.5 } },
    history: [],
  };
  await store.putJson(`${directory}/${TRAINING_RECORD_FILE}`, record);
  return `${directory}/model.json`;
}

let store: MemoryObjectStore;
before(() => {
  store = memoryStore();
});

test('registers version 1 with an alias and a model card carrying lineage, metrics and hyperparameters', async () => {
  const model = await trainedModelFixture(store, 'run-a');
  const { result, heartbeats } = await runStage(
    'register-model',
    registerModelStage,
    store,
    stageContext('register', { runId: 'run-a' }),
    {
      model,
      name: 'shapes-classifier',
      alias: ['champion'],
      description: 'unit test',
      metrics: {
        accuracy: 0.9,
        perClass: { a: { f1: 0.8 } },
        confusionMatrix: [
          [1, 0],
          [0, 1],
        ],
      },
      tags: { team: 'ml' },
    },
  );
  assert.deepEqual(result.outputs, { model: 'registry://shapes-classifier@1', version: 1, unchanged: false });
  assert.ok(heartbeats.some((h) => /registered shapes-classifier version 1/.test(h.message ?? '')));
  const details = await showModel(store, BUCKET, 'shapes-classifier');
  const card = details.versions[0];
  assert.ok(card);
  assert.equal(card.lineage.runId, 'run-a');
  assert.equal(card.lineage.stage, 'register');
  assert.equal(card.lineage.baseModel, 'registry://digits-cnn@latest');
  assert.match(card.lineage.dataset ?? '', /prepare\/dataset\/manifest\.json$/);
  assert.equal(card.metrics?.accuracy, 0.9);
  assert.equal(card.metrics?.['perClass.a.f1'], 0.8);
  assert.equal(card.metrics?.['validation.accuracy'], 0.75, 'training metrics are kept too');
  assert.equal(card.metrics?.confusionMatrix, undefined, 'matrices are not numbers');
  assert.deepEqual(card.hyperparameters, { epochs: 4, learningRate: 0.001, batchSize: 16 });
  assert.equal(card.backend, 'cpu');
  assert.deepEqual(card.classes, ['a', 'b']);
  assert.deepEqual(details.aliases, { champion: 1 });
  assert.deepEqual(await store.getJson(`s3://${BUCKET}/models/shapes-classifier/1/tags.json`), { team: 'ml' });
  // The registered copy is a loadable model, and every artifact is listed with its sha256.
  assert.ok(
    result.artifacts?.some(
      (a) => a.uri.endsWith('/models/shapes-classifier/1/weights.bin') && /^[0-9a-f]{64}$/.test(a.sha256),
    ),
  );
  const loaded = await loadModel(tf, store, 'registry://shapes-classifier@champion', { registryBucket: BUCKET });
  assert.deepEqual(loaded.outputs[0]?.shape, [null, 2]);
  loaded.dispose();
});

test('a second run registers version 2 and moves the alias; `latest` is implicit and not stored', async () => {
  const model = await trainedModelFixture(store, 'run-b');
  const { result } = await runStage(
    'register-model',
    registerModelStage,
    store,
    stageContext('register', { runId: 'run-b' }),
    {
      model,
      name: 'shapes-classifier',
      alias: ['champion', 'latest'],
    },
  );
  assert.equal(result.outputs.version, 2);
  assert.deepEqual(await readAliases(store, BUCKET, 'shapes-classifier'), { champion: 2 });
});

test('a retry of a registration that already happened reuses its version instead of adding one', async () => {
  const model = `s3://${BUCKET}/runs/run-b/finetune/model/model.json`;
  const { result } = await runStage(
    'register-model',
    registerModelStage,
    store,
    stageContext('register', { runId: 'run-b', attempt: 2 }),
    {
      model,
      name: 'shapes-classifier',
      alias: 'champion',
    },
  );
  assert.equal(result.outputs.version, 2);
  assert.equal((await showModel(store, BUCKET, 'shapes-classifier')).versions.length, 2);
});

test('an invalid name fails non-retryably and names the field', async () => {
  const failure = await stageFailure(
    runStage('register-model', registerModelStage, store, stageContext('register'), {
      model: `s3://${BUCKET}/runs/run-a/finetune/model/model.json`,
      name: 'Bad Name',
    }),
  );
  assert.equal(failure.type, 'FineflowInvalidInput');
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.details.field, 'name');
});

test('a model that does not exist fails non-retryably', async () => {
  const failure = await stageFailure(
    runStage('register-model', registerModelStage, store, stageContext('register'), {
      model: `s3://${BUCKET}/runs/nope/model.json`,
      name: 'x',
    }),
  );
  assert.equal(failure.type, 'FineflowInvalidInput');
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.details.field, 'model');
});

test('a model with the files of the version an alias or latest names adds none; one only an old version has adds one', async () => {
  const register = (runId: string, model: string, alias?: string) =>
    runStage('register-model', registerModelStage, store, stageContext('register', { runId }), {
      model,
      name: 'same-files',
      ...(alias ? { alias } : {}),
    });
  const first = await trainedModelFixture(store, 'same-1');
  assert.deepEqual((await register('same-1', first, 'champion')).result.outputs, {
    model: 'registry://same-files@1',
    version: 1,
    unchanged: false,
  });
  // Another run (a rerun) with the same files: `champion` names them already.
  const again = await register('same-2', first, 'staging');
  assert.deepEqual(again.result.outputs, { model: 'registry://same-files@1', version: 1, unchanged: true });
  assert.ok(again.heartbeats.some((h) => /same-files unchanged, version 1/.test(h.message ?? '')));
  assert.deepEqual(await readAliases(store, BUCKET, 'same-files'), { champion: 1, staging: 1 });
  const card = (await showModel(store, BUCKET, 'same-files')).versions[0];
  assert.equal(card?.lineage.runId, 'same-1', 'the version keeps the card of the run that registered it');

  const other = await trainedModelFixture(store, 'same-3'); // new initial weights
  assert.equal((await register('same-3', other, 'champion')).result.outputs.version, 2);
  // Version 1's files again, while champion and latest name version 2: a new version, no alias moved back.
  const back = await register('same-4', first, 'champion');
  assert.deepEqual(back.result.outputs, { model: 'registry://same-files@3', version: 3, unchanged: false });
  // Without an alias, latest (version 3) decides.
  assert.equal((await register('same-5', first)).result.outputs.unchanged, true);
  assert.equal((await showModel(store, BUCKET, 'same-files')).versions.length, 3);
});

test('a version whose weights.bin has the same size but other bytes is not the same model', async () => {
  const model = await trainedModelFixture(store, 'bytes-1');
  await runStage('register-model', registerModelStage, store, stageContext('register', { runId: 'bytes-1' }), {
    model,
    name: 'same-size',
  });
  const weightsUri = `s3://${BUCKET}/models/same-size/1/weights.bin`;
  const weights = await store.getBytes(weightsUri);
  weights[0] = (weights[0] ?? 0) ^ 0xff;
  await store.putBytes(weightsUri, weights);
  const { result } = await runStage(
    'register-model',
    registerModelStage,
    store,
    stageContext('register', { runId: 'bytes-2' }),
    { model, name: 'same-size' },
  );
  assert.deepEqual(result.outputs, { model: 'registry://same-size@2', version: 2, unchanged: false });
});

test('the card records the gate verdict the run hands over, bounded and with no credential in a reason', async () => {
  const model = await trainedModelFixture(store, 'gate-1');
  const evaluations = [
    {
      stage: 'evaluate',
      split: 'test',
      passed: true,
      reasons: [
        'accuracy 0.9312 >= min 0.9',
        'accuracy 0.9312 > baseline https://user:token@models.example/base.json?sig=abc (0.8800)',
        ...Array.from({ length: 20 }, (_, i) => `extra reason ${i} ${'x'.repeat(400)}`),
      ],
      metrics: { accuracy: 0.9312, f1: 0.92, count: 80 },
    },
  ];
  await runStage(
    'register-model',
    registerModelStage,
    store,
    stageContext('register', { runId: 'gate-1', evaluations }),
    { model, name: 'gated', metrics: { accuracy: 0.9312 } },
  );
  const card = (await showModel(store, BUCKET, 'gated')).versions[0];
  const recorded = card?.evaluations?.[0];
  assert.ok(recorded, 'the card records the evaluation');
  assert.equal(recorded.stage, 'evaluate');
  assert.equal(recorded.split, 'test');
  assert.equal(recorded.passed, true);
  assert.deepEqual(recorded.metrics, { accuracy: 0.9312, f1: 0.92, count: 80 });
  assert.equal(recorded.reasons[0], 'accuracy 0.9312 >= min 0.9');
  assert.doesNotMatch(recorded.reasons[1] ?? '', /token|sig=abc/);
  assert.match(recorded.reasons[1] ?? '', /models\.example\/base\.json/);
  assert.equal(recorded.reasons.length, 8);
  assert.ok(recorded.reasons.every((r) => r.length <= 300));

  // A registration the run hands no evaluation (an older run's retry, a direct call) records none.
  const plain = await trainedModelFixture(store, 'gate-2');
  await runStage('register-model', registerModelStage, store, stageContext('register', { runId: 'gate-2' }), {
    model: plain,
    name: 'ungated',
  });
  assert.equal((await showModel(store, BUCKET, 'ungated')).versions[0]?.evaluations, undefined);
});
