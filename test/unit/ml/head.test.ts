/**
 * Head hidden layers (`headUnits`): built with stable names and seeded weights, replaced whole
 * when fine-tuning (including an old head's hidden layers and dropout), trained with the head in
 * every phase and never counted by `unfreezeLayers`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { buildModel, type LayersModel } from '../../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../../src/ml/models/load-model';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { mulberry32, randomNormal } from '../../../src/ml/random';
import { planPhases, replaceHead, trainModel } from '../../../src/ml/train/fine-tune';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'cpu' });

function names(model: LayersModel): string[] {
  return model.layers.filter((layer) => layer.getClassName() !== 'InputLayer').map((layer) => layer.name);
}

function units(model: LayersModel, name: string): number {
  return (model.getLayer(name).getConfig() as { units: number }).units;
}

describe('headUnits', () => {
  it('builds dense relu hidden layers named head_hidden1… before the softmax head, seeded', () => {
    const model = buildModel(
      tf,
      { kind: 'mlp', inputShape: [6], hidden: [12, 10] },
      { numClasses: 3, headUnits: [8, 4], dropout: 0.2, seed: 7 },
    );
    assert.deepEqual(names(model), ['dense1', 'features', 'head_hidden1', 'head_hidden2', 'head_dropout', 'head']);
    assert.equal(units(model, 'head_hidden1'), 8);
    assert.equal(units(model, 'head_hidden2'), 4);
    assert.equal((model.getLayer('head_hidden1').getConfig() as { activation: string }).activation, 'relu');
    assert.equal((model.getLayer('head').getConfig() as { activation: string }).activation, 'softmax');
    const again = buildModel(
      tf,
      { kind: 'mlp', inputShape: [6], hidden: [12, 10] },
      { numClasses: 3, headUnits: [8, 4], dropout: 0.2, seed: 7 },
    );
    const kernel = (m: LayersModel, name: string): number[] =>
      Array.from(m.getLayer(name).getWeights()[0]?.dataSync() ?? []);
    assert.deepEqual(
      kernel(again, 'head_hidden1'),
      kernel(model, 'head_hidden1'),
      'the same seed gives the same hidden weights',
    );
    assert.notDeepEqual(
      kernel(model, 'head_hidden2'),
      kernel(model, 'head_hidden1').slice(0, 32),
      'each hidden layer has its own initialiser',
    );
    assert.throws(
      () => buildModel(tf, { kind: 'mlp', inputShape: [6] }, { numClasses: 2, headUnits: [0] }),
      /headUnits\[0\]/,
    );
    model.dispose();
    again.dispose();
  });

  it('replaceHead cuts an old head with hidden layers and dropout, then adds the new head (with or without hidden layers)', async () => {
    const store = createMemoryObjectStore();
    const base = buildModel(
      tf,
      { kind: 'mlp', inputShape: [6], hidden: [12, 10] },
      { numClasses: 3, headUnits: [9, 5], dropout: 0.3, seed: 1 },
    );
    await saveModel(tf, store, base, 's3://b/base');
    const loaded = await loadModel(tf, store, 's3://b/base', { registryBucket: 'b' });
    const plain = replaceHead(tf, loaded, { numClasses: 2, seed: 2 });
    assert.deepEqual(names(plain), ['dense1', 'features', 'head']);
    assert.deepEqual(plain.outputs[0]?.shape, [null, 2]);
    const deeper = replaceHead(tf, loaded, { numClasses: 4, headUnits: [6], seed: 2 });
    assert.deepEqual(names(deeper), ['dense1', 'features', 'head_hidden1', 'head']);
    assert.deepEqual(
      deeper.getLayer('head_hidden1').getWeights()[0]?.shape,
      [10, 6],
      'a fresh hidden layer on the features, not the old one',
    );
    assert.deepEqual(deeper.outputs[0]?.shape, [null, 4]);
    base.dispose();
  });

  it('planPhases trains the head hidden layers with the head, and unfreezeLayers counts base layers only', () => {
    const model = buildModel(tf, { kind: 'mlp', inputShape: [6], hidden: [12, 10] }, { numClasses: 2, headUnits: [8] });
    assert.deepEqual(
      planPhases(model, 'fine-tune', { epochs: 3, batchSize: 4, learningRate: 0.01 })[0]?.trainableLayers,
      ['head_hidden1', 'head'],
    );
    assert.deepEqual(
      planPhases(model, 'fine-tune', { epochs: 3, batchSize: 4, learningRate: 0.01, unfreezeLayers: 1 })[0]
        ?.trainableLayers,
      ['features', 'head_hidden1', 'head'],
    );
    const twoPhases = planPhases(model, 'fine-tune', {
      epochs: 4,
      batchSize: 4,
      learningRate: 0.01,
      unfreezeLayers: 2,
      headEpochs: 1,
    });
    assert.deepEqual(
      twoPhases.map((phase) => [phase.name, phase.trainableLayers]),
      [
        ['head', ['head_hidden1', 'head']],
        ['fine-tune', ['dense1', 'features', 'head_hidden1', 'head']],
      ],
    );
    assert.throws(
      () =>
        planPhases(model, 'fine-tune', {
          epochs: 2,
          batchSize: 4,
          learningRate: 0.01,
          unfreezeLayers: ['head_hidden1'],
        }),
      /does not have/,
    );
    model.dispose();
  });

  it('trainModel fine-tunes with a hidden head layer and saves it', async () => {
    const store = createMemoryObjectStore();
    const random = mulberry32(4);
    const count = 40;
    const features = Float32Array.from(
      { length: count * 6 },
      (_, i) => randomNormal(random) + (Math.floor(i / 6) % 2 === 1 ? 1.5 : -1.5),
    );
    const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
    const set = { featureShape: [6], classes: ['a', 'b'], features, labels };
    const { manifestUri } = await writeDataset(store, 's3://b/data', { train: set, validation: set, test: set });
    const base = buildModel(tf, { kind: 'mlp', inputShape: [6] }, { numClasses: 3, headUnits: [5], seed: 1 });
    await saveModel(tf, store, base, 's3://b/base');
    const result = await trainModel(store, {
      mode: 'fine-tune',
      baseModelUri: 's3://b/base',
      datasetUri: manifestUri,
      outputUri: 's3://b/out',
      hyperparameters: { epochs: 2, batchSize: 8, learningRate: 0.05, headUnits: [7], seed: 3 },
      registryBucket: 'b',
      tfBackend: 'cpu',
    });
    const trained = await loadModel(tf, store, result.modelUri, { registryBucket: 'b' });
    assert.deepEqual(names(trained), ['dense1', 'features', 'head_hidden1', 'head']);
    assert.equal(units(trained, 'head_hidden1'), 7);
    assert.equal(result.epochs.length, 2);
    base.dispose();
  });
});
