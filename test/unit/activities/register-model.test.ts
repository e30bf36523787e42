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
  assert.deepEqual(result.outputs, { model: 'registry://shapes-classifier@1', version: 1 });
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
