import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { generateDefects } from '../../../src/ml/generators/defects';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import {
  knnAccuracy,
  linearProbeAccuracy,
  randomWeights,
  selectModel,
  transferGainOf,
  transferVerdict,
} from '../../../src/ml/select';
import { trainModel } from '../../../src/ml/train/fine-tune';
import { createMemoryObjectStore } from './helpers/memory-object-store';

describe('probes', () => {
  // Class c sits near the c-th axis: perfectly separable.
  const count = 30;
  const features = new Float32Array(count * 3);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    labels[i] = i % 3;
    for (let d = 0; d < 3; d += 1) features[i * 3 + d] = (d === i % 3 ? 2 : 0) + ((i * 7 + d * 3) % 5) * 0.05;
  }
  it('a linear probe and kNN separate separable features, and do not on shuffled labels', () => {
    const indices = Array.from({ length: count }, (_, i) => i);
    assert.equal(linearProbeAccuracy(features, labels, 3, 3, indices.slice(0, 20), indices.slice(20)), 1);
    assert.equal(knnAccuracy(features, labels, 3, 3), 1);
    const scrambled = Int32Array.from(labels, (_, i) => (i * 5 + Math.floor(i / 3)) % 3);
    assert.ok(knnAccuracy(features, scrambled, 3, 3) < 0.7);
  });
});

describe('selectModel', () => {
  it('ranks the candidates that load and reports the ones that do not', async () => {
    const { tf } = loadTf({ preference: 'auto' });
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/d', { train: generateDefects({ perClass: 6, seed: 1 }) });
    const cnn = { kind: 'cnn', inputShape: [28, 28, 1], filters: [2, 4], featureUnits: 6, pooling: 'max' } as const;
    await saveModel(tf, store, buildModel(tf, cnn, { numClasses: 10 }), 's3://b/a');
    await saveModel(tf, store, buildModel(tf, { ...cnn, pooling: 'flatten' }, { numClasses: 5 }), 's3://b/b');
    await saveModel(tf, store, buildModel(tf, { kind: 'mlp', inputShape: [6] }, { numClasses: 2 }), 's3://b/tabular');
    for (const method of ['linear-probe', 'knn'] as const) {
      const result = await selectModel(store, {
        candidates: ['s3://b/a', 's3://b/missing', 's3://b/b', 's3://b/tabular'],
        datasetUri: manifestUri,
        method,
        samplePerClass: 6,
        registryBucket: 'b',
      });
      assert.deepEqual(result.ranking.map((entry) => entry.uri).sort(), ['s3://b/a', 's3://b/b']);
      assert.ok(result.ranking.every((entry) => entry.score >= 0 && entry.score <= 1));
      assert.ok((result.ranking[0]?.score ?? 0) >= (result.ranking[1]?.score ?? 0));
      assert.equal(result.best, result.ranking[0]);
      assert.equal(result.ranking.find((entry) => entry.uri === 's3://b/a')?.featureDimension, 6);
      assert.deepEqual(
        result.failures.map((failure) => failure.uri),
        ['s3://b/missing', 's3://b/tabular'],
      );
      assert.match(result.failures[1]?.error ?? '', /shape \[6\]/);
      assert.equal(result.sampleSize, 24);
    }
    await assert.rejects(
      selectModel(store, { candidates: ['s3://b/missing'], datasetUri: manifestUri, registryBucket: 'b' }),
      /no candidate model could be scored/,
    );
  });
});

describe('selectModel memory', () => {
  it('frees a candidate whose input shape does not fit the data: no tensor left per rejected candidate', async () => {
    const { tf } = loadTf({ preference: 'auto' });
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/d', { train: generateDefects({ perClass: 6, seed: 1 }) });
    const cnn = { kind: 'cnn', inputShape: [28, 28, 1], filters: [2, 4], featureUnits: 6, pooling: 'max' } as const;
    const scratch = [
      buildModel(tf, cnn, { numClasses: 10 }),
      buildModel(tf, { kind: 'mlp', inputShape: [6] }, { numClasses: 2 }),
    ];
    await saveModel(tf, store, scratch[0] as (typeof scratch)[0], 's3://b/a');
    await saveModel(tf, store, scratch[1] as (typeof scratch)[0], 's3://b/tabular');
    for (const model of scratch) model.dispose();
    const options = { datasetUri: manifestUri, samplePerClass: 6, registryBucket: 'b', fromScratch: false };
    // Once first: the backend's own first-use tensors are not the candidates'.
    await selectModel(store, { ...options, candidates: ['s3://b/a'] });
    const before = tf.memory().numTensors;
    const result = await selectModel(store, {
      ...options,
      candidates: ['s3://b/a', ...Array(5).fill('s3://b/tabular')],
    });
    assert.equal(result.failures.length, 5);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('kNN neighbours (k)', () => {
  /** Unit vectors at `degrees`: cosine similarity falls with the angle between two examples. */
  function onCircle(degrees: readonly number[]): Float32Array {
    return Float32Array.from(
      degrees.flatMap((angle) => [Math.cos((angle * Math.PI) / 180), Math.sin((angle * Math.PI) / 180)]),
    );
  }
  // "Twins": each example has a same-class twin 1° away, but the pairs on either side are of the
  // other class. One neighbour is always right; five are mostly wrong.
  const twinAngles = Array.from(
    { length: 16 },
    (_, i) => Math.floor(i / 2) * 10 + (i % 2) * 1 + (i % 4 === 3 ? 0.3 : 0),
  );
  const twinLabels = Int32Array.from({ length: 16 }, (_, i) => Math.floor(i / 2) % 2);
  // "Clusters": two well separated clusters, each with one mislabelled example inside it. One
  // neighbour is fooled around the impostors; five outvote them.
  const clusterAngles = [0, 3, 7, 12, 18, 25, 33, 42, 90, 93, 97, 102, 108, 115, 123, 132];
  const clusterLabels = Int32Array.from(clusterAngles, (angle, i) => (angle < 60 !== (i === 4 || i === 12) ? 0 : 1));
  const twins = onCircle(twinAngles);
  const clusters = onCircle(clusterAngles);

  it('uses k: the two feature sets rank in opposite orders at k = 1 and k = 5', () => {
    const twinsAt = (k: number): number => knnAccuracy(twins, twinLabels, 2, 2, k);
    const clustersAt = (k: number): number => knnAccuracy(clusters, clusterLabels, 2, 2, k);
    assert.equal(twinsAt(1), 1);
    assert.ok(twinsAt(5) < 0.5, `twins at k=5: ${twinsAt(5)}`);
    assert.ok(clustersAt(1) < twinsAt(1), `clusters at k=1: ${clustersAt(1)}`);
    assert.ok(clustersAt(5) > twinsAt(5), `clusters at k=5: ${clustersAt(5)}`);
    assert.equal(knnAccuracy(twins, twinLabels, 2, 2), twinsAt(5), 'the default is k = 5');
  });

  it('selectModel passes k to the ranking: with every other example voting, leave-one-out on balanced classes always loses', async () => {
    const { tf } = loadTf({ preference: 'cpu' });
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/d', { train: generateDefects({ perClass: 6, seed: 1 }) });
    const cnn = { kind: 'cnn', inputShape: [28, 28, 1], filters: [2, 4], featureUnits: 6, pooling: 'max' } as const;
    await saveModel(tf, store, buildModel(tf, cnn, { numClasses: 4, seed: 2 }), 's3://b/a');
    const score = async (k: number | undefined): Promise<number> =>
      (
        await selectModel(store, {
          candidates: ['s3://b/a'],
          datasetUri: manifestUri,
          method: 'knn',
          samplePerClass: 6,
          registryBucket: 'b',
          tfBackend: 'cpu',
          ...(k !== undefined ? { k } : {}),
        })
      ).best.score;
    assert.equal(await score(1_000), 0);
    assert.ok((await score(1)) > 0);
    await assert.rejects(score(0), /k must be/);
  });
});

describe('transfer gain (from-scratch candidate)', () => {
  it('transferGainOf is the paired mean difference with a bootstrap interval around it', () => {
    const pretrained = Uint8Array.from({ length: 200 }, () => 1);
    const scratch = Uint8Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const gain = transferGainOf(pretrained, scratch, 0.95, 3);
    assert.equal(gain.estimate, 0.5);
    assert.ok(gain.low > 0.4 && gain.low < 0.5 && gain.high > 0.5 && gain.high < 0.6, JSON.stringify(gain));
    const none = transferGainOf(scratch, scratch, 0.95, 3);
    assert.deepEqual([none.estimate, none.low, none.high], [0, 0, 0]);
  });

  it('transferVerdict recommends from-scratch at or below zero and warns when the interval reaches zero', () => {
    const clear = transferVerdict('registry://a@1', { estimate: 0.2, low: 0.1, high: 0.3, confidence: 0.95 }, 90);
    assert.deepEqual(clear, { recommendation: 'fine-tune' });
    const unclear = transferVerdict('registry://a@1', { estimate: 0.05, low: -0.02, high: 0.12, confidence: 0.95 }, 90);
    assert.equal(unclear.recommendation, 'fine-tune');
    assert.match(unclear.warning ?? '', /not distinguishable from zero on a sample of 90; raise sampleSize/);
    const worse = transferVerdict('registry://a@1', { estimate: -0.1, low: -0.2, high: 0, confidence: 0.95 }, 90);
    assert.equal(worse.recommendation, 'from-scratch');
    assert.match(worse.warning ?? '', /no candidate base is expected to beat training from scratch.*-10\.0 points/);
  });

  it('randomWeights is seeded and follows Keras defaults: Glorot kernels, zero biases', () => {
    const { tf } = loadTf({ preference: 'auto' });
    const model = buildModel(tf, { kind: 'mlp', inputShape: [6] }, { numClasses: 3 });
    const first = randomWeights(tf, model, 5).map((t) => Array.from(t.dataSync()));
    const again = randomWeights(tf, model, 5).map((t) => Array.from(t.dataSync()));
    const other = randomWeights(tf, model, 6).map((t) => Array.from(t.dataSync()));
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
    model.weights.forEach((weight, i) => {
      const values = first[i] ?? [];
      if (weight.shape.length === 1)
        assert.ok(
          values.every((v) => v === 0),
          `${weight.name} is zero`,
        );
      else {
        const [fanIn, fanOut] = [weight.shape[0] ?? 1, weight.shape[1] ?? 1];
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        assert.ok(values.every((v) => Math.abs(v) <= limit) && values.some((v) => v !== 0), weight.name);
      }
    });
    model.dispose();
  });

  it('a base trained on related data shows a clear gain; a base that is just random weights shows none', async () => {
    const { tf } = loadTf({ preference: 'auto' });
    const store = createMemoryObjectStore();
    const cnn = { kind: 'cnn', inputShape: [28, 28, 1], filters: [4, 8], featureUnits: 16, pooling: 'max' } as const;
    // "Pretraining": the defect classes from one seed of the generator; the target data is another seed.
    const { manifestUri: source } = await writeDataset(store, 's3://b/source', {
      train: generateDefects({ perClass: 60, seed: 21 }),
    });
    const trained = await trainModel(store, {
      mode: 'from-scratch',
      architecture: cnn,
      datasetUri: source,
      outputUri: 's3://b/trained',
      hyperparameters: { epochs: 15, batchSize: 16, learningRate: 0.01, seed: 1 },
      registryBucket: 'b',
    });
    // A "base" whose weights are exactly what the from-scratch probe draws (seed 0): no gain at all.
    const random = buildModel(tf, cnn, { numClasses: 4 });
    const fresh = randomWeights(tf, random, 0);
    random.setWeights(fresh);
    tf.dispose(fresh);
    await saveModel(tf, store, random, 's3://b/random');
    const { manifestUri: target } = await writeDataset(store, 's3://b/target', {
      train: generateDefects({ perClass: 45, seed: 5 }),
    });
    const result = await selectModel(store, {
      candidates: [trained.modelUri, 's3://b/random'],
      datasetUri: target,
      samplePerClass: 45,
      registryBucket: 'b',
      seed: 0,
    });
    const byUri = new Map(result.ranking.map((entry) => [entry.uri, entry]));
    const pretrained = byUri.get(trained.modelUri)?.transferGain;
    const none = byUri.get('s3://b/random')?.transferGain;
    assert.ok(pretrained && none);
    assert.ok(pretrained.low > 0.1, `trained base: ${JSON.stringify(pretrained)}`);
    assert.deepEqual(transferVerdict(trained.modelUri, pretrained, result.sampleSize), { recommendation: 'fine-tune' });
    assert.deepEqual([none.estimate, none.low, none.high], [0, 0, 0]);
    assert.equal(transferVerdict('s3://b/random', none, result.sampleSize).recommendation, 'from-scratch');
    const off = await selectModel(store, {
      candidates: [trained.modelUri],
      datasetUri: target,
      samplePerClass: 45,
      registryBucket: 'b',
      fromScratch: false,
    });
    assert.equal(off.best.transferGain, undefined);
    assert.equal(off.best.score, byUri.get(trained.modelUri)?.score, 'the pretrained score does not depend on it');
  });
});
