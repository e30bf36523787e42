/**
 * What a training run reports describes the weights it saved, and what it keeps of its
 * checkpoints: `keepLast` (plus the best epoch's), and resume from the newest checkpoint that
 * verifies, whatever a (stale) hint names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { loadModel } from '../../../src/ml/models/load-model';
import { checkpointDirectory, listCheckpointEpochs, newestVerifiedCheckpoint } from '../../../src/ml/train/checkpoint';
import { requestKeyOf, trainModel } from '../../../src/ml/train/fine-tune';
import type { TrainingRequest } from '../../../src/ml/train/types';
import { mulberry32, randomNormal } from '../../../src/ml/random';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'auto' });

/** Two Gaussian blobs in 6-D; `flipped` swaps the labels, so learning the training set hurts on it. */
function blobs(count: number, seed: number, flipped = false): LabelledSet {
  const random = mulberry32(seed);
  const features = new Float32Array(count * 6);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = i % 2;
    labels[i] = flipped ? 1 - label : label;
    for (let d = 0; d < 6; d += 1)
      features[i * 6 + d] = randomNormal(random) + (label === 1 ? 1.5 : -1.5) * (d < 3 ? 1 : 0);
  }
  return { featureShape: [6], classes: ['a', 'b'], features, labels };
}

/** Mean cross-entropy of the saved model on `set`. */
async function savedModelLoss(
  store: ReturnType<typeof createMemoryObjectStore>,
  uri: string,
  set: LabelledSet,
): Promise<number> {
  const model = await loadModel(tf, store, uri, { registryBucket: 'b' });
  const probabilities = (
    model.predict(tf.tensor(set.features, [set.labels.length, 6])) as ReturnType<typeof tf.tensor>
  ).dataSync();
  let sum = 0;
  set.labels.forEach((label, i) => (sum -= Math.log(Math.max(1e-7, probabilities[i * 2 + label] ?? 0))));
  return sum / set.labels.length;
}

async function setup(): Promise<{
  store: ReturnType<typeof createMemoryObjectStore>;
  manifestUri: string;
  validation: LabelledSet;
}> {
  const store = createMemoryObjectStore();
  const validation = blobs(16, 2, true);
  const { manifestUri } = await writeDataset(store, 's3://b/flipped', { train: blobs(32, 1), validation });
  return { store, manifestUri, validation };
}

function request(manifestUri: string, extra: Partial<TrainingRequest> = {}): TrainingRequest {
  return {
    mode: 'from-scratch',
    datasetUri: manifestUri,
    outputUri: 's3://b/model',
    registryBucket: 'b',
    checkpoint: { uri: 's3://b/ckpt', everyEpochs: 1 },
    hyperparameters: { epochs: 6, batchSize: 8, learningRate: 0.005, seed: 3 },
    ...extra,
  };
}

describe('metrics of the saved weights', () => {
  it('without early stopping: the final weights are saved and every reported metric is the last epoch', async () => {
    const { store, manifestUri, validation } = await setup();
    const result = await trainModel(store, request(manifestUri));
    const last = result.epochs[result.epochs.length - 1];
    // The validation labels are flipped: validation loss is best early, so "best" and "saved" differ.
    assert.ok(result.bestEpoch < 6, `best epoch ${result.bestEpoch} precedes the last`);
    assert.equal(result.weightsEpoch, 6);
    assert.equal(result.final.validationLoss, last?.validationLoss);
    const measured = await savedModelLoss(store, 's3://b/model', validation);
    assert.ok(
      Math.abs(measured - (result.final.validationLoss ?? Number.NaN)) < 1e-3,
      `saved model loss ${measured} vs reported ${result.final.validationLoss}`,
    );
  });

  it('with early stopping: the best weights are restored and reported', async () => {
    const { store, manifestUri, validation } = await setup();
    const result = await trainModel(
      store,
      request(manifestUri, {
        hyperparameters: {
          epochs: 6,
          batchSize: 8,
          learningRate: 0.005,
          seed: 3,
          earlyStopping: { monitor: 'validation.loss', patience: 10 },
        },
      }),
    );
    assert.equal(result.weightsEpoch, result.bestEpoch);
    const best = result.epochs.find((epoch) => epoch.epoch === result.bestEpoch);
    assert.equal(result.final.validationLoss, best?.validationLoss);
    const measured = await savedModelLoss(store, 's3://b/model', validation);
    assert.ok(
      Math.abs(measured - (best?.validationLoss ?? Number.NaN)) < 1e-3,
      `saved model loss ${measured} vs best ${best?.validationLoss}`,
    );
  });
});

describe('checkpoint retention and verified resume', () => {
  it('keepLast keeps the newest N and the best epoch', async () => {
    const { store, manifestUri } = await setup();
    const result = await trainModel(
      store,
      request(manifestUri, { checkpoint: { uri: 's3://b/ckpt', everyEpochs: 1, keepLast: 2 } }),
    );
    const expected = [...new Set([6, 5, result.bestEpoch])].sort((a, b) => b - a);
    assert.deepEqual(await listCheckpointEpochs(store, 's3://b/ckpt'), expected);
  });

  it('resumes from the newest checkpoint that verifies, not from a stale hint or a torn write', async () => {
    const { store, manifestUri } = await setup();
    const trained = request(manifestUri);
    await trainModel(store, trained);
    const requestKey = requestKeyOf(trained);
    const hint = checkpointDirectory('s3://b/ckpt', 2);
    assert.equal((await newestVerifiedCheckpoint(store, 's3://b/ckpt', { requestKey, hint }))?.state.epochsDone, 6);
    // Epoch 6's weights torn (killed mid-upload and rewritten short): not verified, epoch 5 is next.
    store.objects.set('s3://b/ckpt/epoch-0006/weights.bin', Buffer.alloc(8));
    assert.equal(
      (await newestVerifiedCheckpoint(store, 's3://b/ckpt', { requestKey, hint }))?.directory,
      checkpointDirectory('s3://b/ckpt', 5),
    );
    // Epoch 5's index never written (killed before it): epoch 4.
    await store.remove(`${checkpointDirectory('s3://b/ckpt', 5)}/checkpoint.json`);
    assert.equal((await newestVerifiedCheckpoint(store, 's3://b/ckpt', { requestKey }))?.state.epochsDone, 4);
    // A window, as sweep segments use; and another request's checkpoints never match.
    assert.equal(
      (await newestVerifiedCheckpoint(store, 's3://b/ckpt', { requestKey, maxEpoch: 3 }))?.state.epochsDone,
      3,
    );
    assert.equal(await newestVerifiedCheckpoint(store, 's3://b/ckpt', { requestKey: 'other' }), undefined);
  });
});
