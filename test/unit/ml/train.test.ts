import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { generateDefects } from '../../../src/ml/generators/defects';
import { subsetOf, type LabelledSet } from '../../../src/ml/generators/image-set';
import { loadModel } from '../../../src/ml/models/load-model';
import { learningRateAt } from '../../../src/ml/train/schedule';
import { readCheckpoint, findCheckpoint } from '../../../src/ml/train/checkpoint';
import { trainModel } from '../../../src/ml/train/fine-tune';
import type { TrainingProgress, TrainingRequest } from '../../../src/ml/train/types';
import { mulberry32, randomNormal } from '../../../src/ml/random';
import { trainDefectBase } from './helpers/defect-base';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'auto' });

/** Two Gaussian blobs in 6-D: learnable in a few epochs by a tiny MLP. */
function blobs(count: number, seed: number): LabelledSet {
  const random = mulberry32(seed);
  const features = new Float32Array(count * 6);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = i % 2;
    labels[i] = label;
    for (let d = 0; d < 6; d += 1)
      features[i * 6 + d] = randomNormal(random) + (label === 1 ? 1.5 : -1.5) * (d < 3 ? 1 : 0);
  }
  return { featureShape: [6], classes: ['a', 'b'], features, labels };
}

async function predictions(store: ReturnType<typeof createMemoryObjectStore>, uri: string): Promise<number[]> {
  const model = await loadModel(tf, store, uri, { registryBucket: 'b' });
  return Array.from(
    (model.predict(tf.tensor(blobs(8, 99).features, [8, 6])) as ReturnType<typeof tf.tensor>).dataSync(),
  );
}

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays', () => {
    const base = { baseRate: 0.1, stepsPerEpoch: 10, totalEpochs: 10 };
    assert.equal(learningRateAt({ ...base, step: 0, warmupEpochs: 1 }), 0.01);
    assert.equal(learningRateAt({ ...base, step: 9, warmupEpochs: 1 }), 0.1);
    assert.ok(
      Math.abs(learningRateAt({ ...base, step: 20, decay: { kind: 'exponential', rate: 0.5 } }) - 0.025) < 1e-12,
    );
    assert.equal(
      learningRateAt({ ...base, step: 35, decay: { kind: 'step', everyEpochs: 2, factor: 0.1 } }),
      0.1 * 0.1,
    );
    assert.ok(learningRateAt({ ...base, step: 99, decay: { kind: 'cosine' } }) < 0.002);
  });

  it('never decays below minLearningRate, for every kind', () => {
    const base = { baseRate: 0.1, stepsPerEpoch: 10, totalEpochs: 10 };
    const close = (actual: number, expected: number): void =>
      assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);
    // Without a floor cosine ends at 1% of the base rate (the behaviour before floors existed); exponential and step have none.
    close(learningRateAt({ ...base, step: 100, decay: { kind: 'cosine' } }), 0.001);
    close(
      learningRateAt({ ...base, step: 100, decay: { kind: 'step', everyEpochs: 1, factor: 0.1 } }),
      0.1 * 0.1 ** 10,
    );
    // With one, cosine ends exactly on it and passes through the midpoint between it and the base.
    close(learningRateAt({ ...base, step: 100, decay: { kind: 'cosine', minLearningRate: 0.02 } }), 0.02);
    close(learningRateAt({ ...base, step: 50, decay: { kind: 'cosine', minLearningRate: 0.02 } }), 0.06);
    close(learningRateAt({ ...base, step: 100, decay: { kind: 'cosine', minLearningRate: 0 } }), 0);
    close(
      learningRateAt({ ...base, step: 90, decay: { kind: 'exponential', rate: 0.5, minLearningRate: 0.01 } }),
      0.01,
    );
    close(
      learningRateAt({ ...base, step: 10, decay: { kind: 'exponential', rate: 0.5, minLearningRate: 0.01 } }),
      0.05,
    );
    close(
      learningRateAt({
        ...base,
        step: 60,
        decay: { kind: 'step', everyEpochs: 2, factor: 0.1, minLearningRate: 0.005 },
      }),
      0.005,
    );
    // A floor above a phase's base rate (the lower rate of a second phase) holds it, never raises it.
    close(
      learningRateAt({
        ...base,
        baseRate: 0.001,
        step: 50,
        decay: { kind: 'exponential', rate: 0.5, minLearningRate: 0.01 },
      }),
      0.001,
    );
    // Warmup is not floored: it starts low by design.
    close(
      learningRateAt({ ...base, step: 0, warmupEpochs: 1, decay: { kind: 'cosine', minLearningRate: 0.05 } }),
      0.01,
    );
  });
});

describe('training', () => {
  it('resumes from a checkpoint after a crash without redoing epochs', async () => {
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/blobs', {
      train: blobs(64, 1),
      validation: blobs(16, 2),
    });
    const request = (outputUri: string, checkpointUri: string): TrainingRequest => ({
      mode: 'from-scratch',
      architecture: { kind: 'mlp', inputShape: [6], hidden: [8] },
      datasetUri: manifestUri,
      outputUri,
      checkpoint: { uri: checkpointUri, everyEpochs: 1 },
      registryBucket: 'b',
      hyperparameters: { epochs: 4, batchSize: 16, learningRate: 0.05, seed: 3, decay: { kind: 'cosine' } },
    });
    const controller = new AbortController();
    const seen: number[] = [];
    const crashed = trainModel(store, request('s3://b/resumed', 's3://b/ckpt'), {
      signal: controller.signal,
      onEpoch: (progress: TrainingProgress) => {
        seen.push(progress.epoch);
        if (progress.epoch === 2) controller.abort('crash');
      },
    });
    await assert.rejects(crashed, { type: 'FineflowCancelled' });
    assert.deepEqual(seen, [1, 2]);
    const directory = await findCheckpoint(store, 's3://b/ckpt');
    assert.ok(directory?.endsWith('epoch-0002'));
    const checkpoint = await readCheckpoint(store, directory as string);
    assert.equal(checkpoint.state.epochsDone, 2);
    assert.ok(checkpoint.optimizer.length > 0);

    const resumedSeen: number[] = [];
    const resumed = await trainModel(
      store,
      { ...request('s3://b/resumed', 's3://b/ckpt'), resumeFrom: 's3://b/ckpt' },
      { onEpoch: (progress) => void resumedSeen.push(progress.epoch) },
    );
    assert.deepEqual(resumedSeen, [3, 4]);
    assert.equal(resumed.resumedFromEpoch, 2);
    assert.deepEqual(
      resumed.epochs.map((epoch) => epoch.epoch),
      [1, 2, 3, 4],
    );
    // The resumed epoch 3 starts from epoch 2's weights (not a fresh init), so its loss continues the curve.
    const [, second, third] = resumed.epochs;
    assert.ok(
      third && second && third.trainLoss <= second.trainLoss * 1.2,
      `epoch 3 loss ${third?.trainLoss} continues from epoch 2 loss ${second?.trainLoss}`,
    );
    assert.ok((resumed.final.validationAccuracy ?? 0) > 0.8);
    // Seeded initialisation and shuffling: the crashed-and-resumed run ends where an uninterrupted one does.
    await trainModel(store, request('s3://b/uninterrupted', 's3://b/ckpt-uninterrupted'));
    const expected = await predictions(store, 's3://b/uninterrupted');
    const actual = await predictions(store, 's3://b/resumed');
    actual.forEach((value, i) =>
      assert.ok(Math.abs(value - (expected[i] ?? Number.NaN)) < 1e-4, `prediction ${i}: ${value} vs ${expected[i]}`),
    );
    await assert.rejects(
      trainModel(store, {
        ...request('s3://b/x', 's3://b/ckpt'),
        resumeFrom: 's3://b/ckpt',
        hyperparameters: { epochs: 5, batchSize: 16, learningRate: 0.02 },
      }),
      /different training request/,
    );
  });

  it("starts from another request's checkpoint with inheritFrom: its weights and epoch, new hyperparameters", async () => {
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/blobs', {
      train: blobs(64, 1),
      validation: blobs(16, 2),
    });
    const request = (
      outputUri: string,
      learningRate: number,
      extra: Partial<TrainingRequest> = {},
    ): TrainingRequest => ({
      mode: 'from-scratch',
      architecture: { kind: 'mlp', inputShape: [6], hidden: [8] },
      datasetUri: manifestUri,
      outputUri,
      registryBucket: 'b',
      hyperparameters: { epochs: 4, batchSize: 16, learningRate, seed: 3 },
      ...extra,
    });
    const parent = await trainModel(
      store,
      request('s3://b/parent', 0.05, { checkpoint: { uri: 's3://b/parent-ckpt', everyEpochs: 1 } }),
    );
    const seen: number[] = [];
    const child = await trainModel(
      store,
      request('s3://b/child', 0.01, {
        inheritFrom: 's3://b/parent-ckpt/epoch-0002',
        checkpoint: { uri: 's3://b/child-ckpt', everyEpochs: 1 },
      }),
      { onEpoch: (progress) => void seen.push(progress.epoch) },
    );
    // Epochs 3 and 4 only, under the child's learning rate; the first two are the parent's.
    assert.deepEqual(seen, [3, 4]);
    assert.equal(child.resumedFromEpoch, 2);
    assert.deepEqual(
      child.epochs.slice(0, 2).map((epoch) => epoch.validationAccuracy),
      parent.epochs.slice(0, 2).map((epoch) => epoch.validationAccuracy),
    );
    assert.ok(child.epochs.slice(2).every((epoch) => Math.abs(epoch.learningRate - 0.01) < 1e-9));
    // Started from epoch 2's weights, not a fresh init: its first epoch continues the parent's loss.
    const [, second, third] = child.epochs;
    assert.ok(
      third && second && third.trainLoss <= second.trainLoss * 1.2,
      `${third?.trainLoss} vs ${second?.trainLoss}`,
    );
    // Its own checkpoints are keyed by where it started: resuming the child resumes it, never a fresh run's.
    const own = await readCheckpoint(store, (await findCheckpoint(store, 's3://b/child-ckpt')) as string);
    const parentKey = (await readCheckpoint(store, 's3://b/parent-ckpt/epoch-0002')).requestKey;
    assert.notEqual(own.requestKey, parentKey);
    await assert.rejects(
      trainModel(store, { ...request('s3://b/x', 0.01), resumeFrom: 's3://b/child-ckpt' }),
      /different training request/,
    );
    const resumed = await trainModel(
      store,
      request('s3://b/child-again', 0.01, {
        inheritFrom: 's3://b/parent-ckpt/epoch-0002',
        resumeFrom: 's3://b/child-ckpt',
      }),
    );
    assert.equal(resumed.resumedFromEpoch, 4);
    // With the optimizer's state carried too and the same hyperparameters, the run is the parent's, epoch for epoch.
    const again = await trainModel(
      store,
      request('s3://b/same', 0.05, { inheritFrom: 's3://b/parent-ckpt/epoch-0002', inheritOptimizer: true }),
    );
    const restarted = await trainModel(
      store,
      request('s3://b/restarted', 0.05, { inheritFrom: 's3://b/parent-ckpt/epoch-0002' }),
    );
    assert.notEqual(restarted.epochs[2]?.trainLoss, parent.epochs[2]?.trainLoss, 'a fresh optimizer steps differently');
    // The graph engine's optimizer names its slots up front, so a fit is checked; tfjs's eager optimizers make theirs
    // at the first step, so there the optimizer starts fresh, as documented.
    assert.deepEqual(
      again.epochs.map((epoch) => epoch.validationLoss),
      (again.engine === 'graph' ? parent : restarted).epochs.map((epoch) => epoch.validationLoss),
    );
    // Refused, naming the checkpoint: another architecture, or nothing left to train.
    await assert.rejects(
      trainModel(store, {
        ...request('s3://b/y', 0.01, { inheritFrom: 's3://b/parent-ckpt/epoch-0002' }),
        architecture: { kind: 'mlp', inputShape: [6], hidden: [5] },
      }),
      /checkpoint s3:\/\/b\/parent-ckpt\/epoch-0002 cannot start this request: its .* is 6x8, this model's is 6x5/,
    );
    await assert.rejects(
      trainModel(store, request('s3://b/z', 0.01, { inheritFrom: 's3://b/parent-ckpt/epoch-0004' })),
      /cannot start this request: it ended epoch 4 .* leave nothing to train/,
    );
    await assert.rejects(
      trainModel(store, request('s3://b/w', 0.01, { inheritFrom: 's3://b/nowhere' })),
      /inheritFrom names s3:\/\/b\/nowhere, where no checkpoint is/,
    );
  });

  it('stops early on a plateau and restores the best weights', async () => {
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/blobs', {
      train: blobs(32, 1),
      validation: blobs(16, 2),
    });
    const result = await trainModel(store, {
      mode: 'from-scratch',
      datasetUri: manifestUri,
      outputUri: 's3://b/model',
      registryBucket: 'b',
      hyperparameters: {
        epochs: 10,
        batchSize: 8,
        learningRate: 1e-9,
        earlyStopping: { monitor: 'validation.loss', patience: 2, minDelta: 0.1 },
      },
    });
    assert.equal(result.stoppedEarly, true);
    assert.equal(result.epochs.length, 3);
    assert.equal(result.bestEpoch, 1);
  });

  it('early stopping ends only the phase it triggers in: a plateau in the head phase moves on to fine-tuning', async () => {
    const store = createMemoryObjectStore();
    await trainDefectBase(store);
    const target = generateDefects({ perClass: 4, seed: 2, surface: 'cast' });
    const targetSet = await writeDataset(store, 's3://b/target', { train: target, validation: target });
    // A learning rate this small cannot move validation loss by minDelta: the head phase plateaus at once.
    const result = await trainModel(store, {
      mode: 'fine-tune',
      baseModelUri: 's3://b/base',
      datasetUri: targetSet.manifestUri,
      outputUri: 's3://b/tuned',
      registryBucket: 'b',
      hyperparameters: {
        epochs: 10,
        batchSize: 8,
        learningRate: 1e-9,
        headEpochs: 6,
        unfreezeLayers: 2,
        fineTuneLearningRate: 1e-9,
        earlyStopping: { monitor: 'validation.loss', patience: 2, minDelta: 0.1 },
      },
    });
    assert.deepEqual(
      result.epochs.map((epoch) => epoch.phase),
      ['head', 'head', 'head', 'fine-tune', 'fine-tune', 'fine-tune'],
    );
    assert.equal(result.stoppedEarly, true, 'the last phase plateaued too');
    assert.equal(result.bestEpoch, 4, 'best of the last phase: its first epoch');
  });

  it('fine-tunes: replaces the head, keeps frozen layers (and their batch-norm statistics) unchanged, trains two phases', async () => {
    const store = createMemoryObjectStore();
    await trainDefectBase(store);
    // Target: 3 classes (ok, scratch, spot) → a new 3-way head.
    const target = generateDefects({ perClass: 4, seed: 2, surface: 'cast' });
    const keep = Array.from(target.labels).flatMap((label, i) => (label < 3 ? [i] : []));
    const three = { ...subsetOf(target, keep), classes: ['ok', 'scratch', 'spot'] };
    const targetSet = await writeDataset(store, 's3://b/target', { train: three, validation: three });
    const base = await loadModel(tf, store, 's3://b/base', { registryBucket: 'b' });
    const baseWeights = new Map(
      base.weights.map((weight) => [weight.originalName, Array.from(weight.read().dataSync())]),
    );

    const headOnly = await trainModel(store, {
      mode: 'fine-tune',
      baseModelUri: 's3://b/base',
      datasetUri: targetSet.manifestUri,
      outputUri: 's3://b/head-only',
      registryBucket: 'b',
      hyperparameters: {
        epochs: 2,
        batchSize: 4,
        learningRate: 0.05,
        augmentation: { shift: 2, flipHorizontal: true, noise: 0.02 },
        classWeights: 'balanced',
        dropout: 0.2,
        l2: 1e-4,
      },
    });
    assert.deepEqual(headOnly.classes, ['ok', 'scratch', 'spot']);
    assert.deepEqual(
      headOnly.epochs.map((epoch) => epoch.phase),
      ['head', 'head'],
    );
    const tuned = await loadModel(tf, store, 's3://b/head-only', { registryBucket: 'b' });
    assert.equal(tuned.outputs[0]?.shape[1], 3);
    for (const weight of tuned.weights) {
      const before = baseWeights.get(weight.originalName);
      if (weight.originalName.startsWith('head')) continue;
      assert.ok(before, `base has ${weight.originalName}`);
      assert.deepEqual(Array.from(weight.read().dataSync()), before, `${weight.originalName} stayed frozen`);
    }

    const twoPhase = await trainModel(store, {
      mode: 'fine-tune',
      baseModelUri: 's3://b/base',
      datasetUri: targetSet.manifestUri,
      outputUri: 's3://b/two-phase',
      registryBucket: 'b',
      hyperparameters: {
        epochs: 3,
        batchSize: 4,
        learningRate: 0.05,
        headEpochs: 1,
        unfreezeLayers: 2,
        optimizer: 'sgd',
        warmupEpochs: 0.5,
      },
    });
    assert.deepEqual(
      twoPhase.epochs.map((epoch) => epoch.phase),
      ['head', 'fine-tune', 'fine-tune'],
    );
    assert.ok(Math.abs((twoPhase.epochs[1]?.learningRate ?? 0) - 0.005) < 1e-9);
    const unfrozen = await loadModel(tf, store, 's3://b/two-phase', { registryBucket: 'b' });
    const changed = unfrozen.weights.filter(
      (weight) =>
        !weight.originalName.startsWith('head') &&
        JSON.stringify(Array.from(weight.read().dataSync())) !== JSON.stringify(baseWeights.get(weight.originalName)),
    );
    // The top two weight layers below the head (features dense; last batch norm) trained; conv1 did not.
    assert.ok(changed.some((weight) => weight.originalName.startsWith('features')));
    assert.ok(!changed.some((weight) => weight.originalName.startsWith('conv1')));
    await assert.rejects(
      trainModel(store, {
        mode: 'fine-tune',
        baseModelUri: 's3://b/base',
        datasetUri: targetSet.manifestUri,
        outputUri: 's3://b/x',
        registryBucket: 'b',
        hyperparameters: { epochs: 1, batchSize: 4, learningRate: 0.01, unfreezeLayers: ['nope'] },
      }),
      /unfreezeLayers names nope/,
    );
  });
});
