/**
 * `head:` of fine-tune (src/ml/train/head-choice.ts, keepHead in src/ml/train/fine-tune.ts): a base fine-tuned on data
 * with its own classes keeps its head — outputs reordered when the data orders the classes differently — so training
 * starts from the base's predictions; other class sets, unknown ones or a new head shape get a fresh head.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadModel } from '../../../src/ml/models/load-model';
import { mulberry32, randomNormal } from '../../../src/ml/random';
import { keepHead, trainModel } from '../../../src/ml/train/fine-tune';
import { decideHead, type HeadContext } from '../../../src/ml/train/head-choice';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'cpu' });

const context = (overrides: Partial<HeadContext>): HeadContext => ({
  baseClasses: ['crack', 'scratch', 'spot'],
  dataClasses: ['crack', 'scratch', 'spot'],
  newHeadSettings: [],
  ...overrides,
});

describe('decideHead', () => {
  it('auto keeps the head for the base own classes, mapping a different order', () => {
    assert.deepEqual(decideHead('auto', context({})), {
      keep: true,
      classOrder: [0, 1, 2],
      reason: "the data's classes are the base's [crack, scratch, spot]",
    });
    const reordered = decideHead('auto', context({ dataClasses: ['spot', 'crack', 'scratch'] }));
    assert.deepEqual(reordered.keep && reordered.classOrder, [2, 0, 1]);
    assert.match(reordered.reason, /outputs reordered to \[spot, crack, scratch\]/);
  });

  it('auto replaces it for other classes, a base without recorded classes, or a new head shape', () => {
    const cases: [Partial<HeadContext>, RegExp][] = [
      [{ dataClasses: ['crack', 'scratch'] }, /the data's classes \[crack, scratch\] are not the base's/],
      [{ dataClasses: ['crack', 'scratch', 'dent'] }, /are not the base's/],
      [{ baseClasses: undefined }, /records no classes/],
      [{ newHeadSettings: ['headUnits', 'dropout'] }, /headUnits and dropout shape a new head/],
    ];
    for (const [overrides, why] of cases) {
      const decision = decideHead('auto', context(overrides));
      assert.equal(decision.keep, false, JSON.stringify(overrides));
      assert.match(decision.reason, why);
    }
    assert.deepEqual(decideHead('replace', context({})), { keep: false, reason: 'head: replace' });
  });

  it('keep refuses, naming why, when the head cannot serve the data', () => {
    assert.throws(
      () => decideHead('keep', context({ dataClasses: ['a', 'b', 'c'] })),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        /^head: keep cannot keep the base model's head: the data's classes \[a, b, c\]/.test(error.message),
    );
  });
});

describe('keepHead', () => {
  it("keeps the base's predictions, with the head's outputs in the data's class order", () => {
    const base = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [6] }, { numClasses: 3, seed: 2 });
    const input = tf.randomNormal([5, 4], 0, 1, 'float32', 7);
    const before = (base.predict(input) as ReturnType<typeof tf.tensor>).arraySync() as number[][];
    const same = keepHead(tf, base, [0, 1, 2]);
    assert.deepEqual((same.predict(input) as ReturnType<typeof tf.tensor>).arraySync(), before);
    const reordered = keepHead(tf, base, [2, 0, 1]);
    const after = (reordered.predict(input) as ReturnType<typeof tf.tensor>).arraySync() as number[][];
    for (const [row, scores] of after.entries()) {
      const original = before[row] as number[];
      for (const [i, from] of [2, 0, 1].entries())
        assert.ok(Math.abs((scores[i] ?? 0) - (original[from] ?? 0)) < 1e-6, `row ${row} output ${i}`);
    }
    assert.throws(() => keepHead(tf, base, [0, 1]), /not a dense layer with one output per class \(2\)/);
    input.dispose();
    base.dispose();
  });

  it('trainModel with keepHead starts from the base: before any step it scores as the base does', async () => {
    const store = createMemoryObjectStore();
    const random = mulberry32(4);
    const count = 60;
    const features = Float32Array.from(
      { length: count * 4 },
      (_, i) => randomNormal(random) + (Math.floor(i / 4) % 2 === 1 ? 0.5 : -0.5),
    );
    const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
    const set = { featureShape: [4], classes: ['a', 'b'], features, labels };
    const { manifestUri } = await writeDataset(store, 's3://b/data', { train: set, validation: set, test: set });
    // A base that already separates a from b: trained from scratch on the same data.
    await trainModel(store, {
      mode: 'from-scratch',
      architecture: { kind: 'mlp', inputShape: [4] },
      datasetUri: manifestUri,
      outputUri: 's3://b/base',
      hyperparameters: { epochs: 3, batchSize: 8, learningRate: 0.01, seed: 1 },
      registryBucket: 'b',
      tfBackend: 'cpu',
    });
    // One epoch at a learning rate too small to move anything: what is measured is where training started.
    const fineTune = (keep: boolean) =>
      trainModel(store, {
        mode: 'fine-tune',
        baseModelUri: 's3://b/base',
        datasetUri: manifestUri,
        outputUri: `s3://b/out-${keep ? 'kept' : 'new'}`,
        hyperparameters: { epochs: 1, batchSize: 8, learningRate: 1e-9, unfreezeLayers: 0, seed: 3 },
        registryBucket: 'b',
        tfBackend: 'cpu',
        ...(keep ? { keepHead: { classOrder: [0, 1] } } : {}),
      });
    await fineTune(true);
    await fineTune(false);
    const inputs = tf.tensor2d(features, [count, 4]);
    const scores = async (uri: string): Promise<number[][]> => {
      const model = await loadModel(tf, store, uri, { registryBucket: 'b' });
      const out = (model.predict(inputs) as ReturnType<typeof tf.tensor>).arraySync() as number[][];
      model.dispose();
      return out;
    };
    const base = await scores('s3://b/base');
    const largestGap = (other: number[][]): number =>
      Math.max(...other.flatMap((row, i) => row.map((value, j) => Math.abs(value - (base[i]?.[j] ?? NaN)))));
    assert.ok(largestGap(await scores('s3://b/out-kept')) < 1e-4, 'the kept head scores every example as the base');
    const gap = largestGap(await scores('s3://b/out-new'));
    assert.ok(gap > 0.1, `a fresh head starts from other scores (largest difference ${gap})`);
    inputs.dispose();
  });
});
