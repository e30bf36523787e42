/**
 * A sweep with `trial.architecture` and no `model`: the real `sweepTrialSegment` (MockActivityEnvironment, in-memory
 * store) trains each trial from random weights, shaped by the trial's sampled `hiddenLayers` × `hiddenUnits` (an mlp)
 * or `convFilters` and `denseUnits` (a small CNN), and pins no base model.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { architectureFor } from '../../../activities/fine-tune';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { InvalidInputError } from '../../../src/core/errors';
import type { DatasetManifest } from '../../../src/ml/data/shards';
import { planSweep, trialSettings } from '../../../src/core/sweep/sweep-plan';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { mulberry32 } from '../../../src/ml/random';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { memoryStore, stageContext } from './helpers';

let store: MemoryObjectStore;
let dataset: string;
let images: string;

/** `count` rows of 6 numbers; the class is whether the first two sum above 1. */
function rows(count: number, seed: number): LabelledSet {
  const random = mulberry32(seed);
  const features = new Float32Array(count * 6).map(() => random());
  const labels = Int32Array.from({ length: count }, (_, i) =>
    (features[i * 6] ?? 0) + (features[i * 6 + 1] ?? 0) > 1 ? 1 : 0,
  );
  return { featureShape: [6], classes: ['low', 'high'], features, labels };
}

/** `count` 8×8 grey images; the class is whether the left half is brighter than the right. */
function pictures(count: number, seed: number): LabelledSet {
  const random = mulberry32(seed);
  const labels = Int32Array.from({ length: count }, () => (random() < 0.5 ? 0 : 1));
  const features = new Float32Array(count * 64).map((_, k) => {
    const left = k % 8 < 4;
    return random() * 0.5 + (left === (labels[Math.floor(k / 64)] === 1) ? 0.5 : 0);
  });
  return { featureShape: [8, 8, 1], classes: ['right', 'left'], features, labels };
}

before(async () => {
  store = memoryStore();
  ({ manifestUri: dataset } = await writeDataset(store, 's3://fineflow/runs/prep/prepare/table', {
    train: rows(64, 1),
    validation: rows(16, 2),
  }));
  ({ manifestUri: images } = await writeDataset(store, 's3://fineflow/runs/prep/prepare/images', {
    train: pictures(32, 3),
    validation: pictures(8, 4),
  }));
});

/** The dense (name → units) or conv (name → filters) layers of a saved tfjs model (a Sequential topology). */
async function denseLayers(modelJson: string, className = 'Dense'): Promise<Record<string, number>> {
  interface Topology {
    readonly config?: {
      readonly layers?: { class_name: string; config: { name: string; units?: number; filters?: number } }[];
    };
    readonly model_config?: Topology;
  }
  const { modelTopology } = await store.getJson<{ modelTopology: Topology }>(modelJson);
  const layers = (modelTopology.model_config ?? modelTopology).config?.layers ?? [];
  return Object.fromEntries(
    layers
      .filter((layer) => layer.class_name === className)
      .map((layer) => [layer.config.name, layer.config.units ?? layer.config.filters ?? 0]),
  );
}

const activities = () =>
  createSweepTrialActivities({
    store,
    runTraining: inProcessTrainingRunner(store, { tfBackend: 'cpu' }),
    workerIdentity: 'unit',
  });

test('a trial of a from-scratch sweep trains the mlp its sampled hiddenLayers and hiddenUnits describe', async () => {
  const plan = planSweep({
    data: dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    space: { hiddenUnits: { choice: [8, 24] }, hiddenLayers: { int: [1, 3] } },
    trial: { architecture: 'mlp', epochs: 1, batchSize: 8, learningRate: 0.01, seed: 3 },
  });
  assert.equal(plan.trialSettings.model, undefined, 'no base model to pin');
  const input: SweepTrialSegmentInput = {
    context: stageContext('sweep', { runId: 'sweep-architecture' }),
    trialId: 1,
    fromEpoch: 0,
    untilEpoch: 1,
    metric: 'validation.accuracy',
    settings: trialSettings(plan, { hiddenUnits: 24, hiddenLayers: 3 }),
  };
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const result: SweepTrialSegmentResult = await env.run(activities().sweepTrialSegment, input);
  assert.equal(result.finished, true);
  assert.equal(result.baseModel, undefined);
  assert.ok(result.finished && result.model, 'the trial saved its model');
  // Three hidden layers of 24 units (the last one is the feature layer), then the softmax head.
  const dense = await denseLayers(result.model);
  assert.deepEqual(
    Object.entries(dense).filter(([name]) => name !== 'head'),
    [
      ['dense1', 24],
      ['dense2', 24],
      ['features', 24],
    ],
  );
});

test('a trial of a from-scratch CNN sweep trains the conv blocks and feature units it sampled', async () => {
  const plan = planSweep({
    data: images,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    space: { convFilters: { choice: [[4], [3, 5]] }, denseUnits: { choice: [6, 12] } },
    trial: { architecture: 'small-cnn-global-pool', epochs: 1, batchSize: 8, learningRate: 0.01, seed: 3 },
  });
  const input: SweepTrialSegmentInput = {
    context: stageContext('sweep', { runId: 'sweep-cnn-architecture' }),
    trialId: 2,
    fromEpoch: 0,
    untilEpoch: 1,
    metric: 'validation.accuracy',
    settings: trialSettings(plan, { convFilters: [3, 5], denseUnits: 12 }),
  };
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const result: SweepTrialSegmentResult = await env.run(activities().sweepTrialSegment, input);
  assert.equal(result.baseModel, undefined);
  assert.ok(result.finished && result.model, 'the trial saved its model');
  assert.deepEqual(await denseLayers(result.model, 'Conv2D'), { conv1: 3, conv2: 5 });
  assert.deepEqual(await denseLayers(result.model), { features: 12, head: 2 });
  assert.deepEqual(Object.keys(await denseLayers(result.model, 'GlobalMaxPooling2D')), ['global_pool']);
});

test('architectureFor: CNN knobs override the built-in shape; more blocks than the image can halve are refused', () => {
  const manifest = (featureShape: number[]) => ({ featureShape }) as unknown as DatasetManifest;
  const image = manifest([32, 32, 1]);
  assert.deepEqual(architectureFor({ architecture: 'small-cnn-global-pool' }, image, 's3://d/'), {
    kind: 'cnn',
    inputShape: [32, 32, 1],
    filters: [8, 16],
    featureUnits: 32,
    pooling: 'max',
  });
  assert.deepEqual(
    architectureFor({ architecture: 'small-cnn-global-pool', convFilters: [16, 32], denseUnits: 64 }, image, 's3://d/'),
    { kind: 'cnn', inputShape: [32, 32, 1], filters: [16, 32], featureUnits: 64, pooling: 'max' },
  );
  assert.deepEqual(architectureFor({ architecture: 'small-cnn', convFilters: [4, 4, 4, 4] }, image, 's3://d/'), {
    kind: 'cnn',
    inputShape: [32, 32, 1],
    filters: [4, 4, 4, 4],
  });
  assert.throws(
    () => architectureFor({ architecture: 'small-cnn', convFilters: [4, 4, 4, 4] }, manifest([8, 8, 1]), 's3://d/'),
    (error: unknown) =>
      error instanceof InvalidInputError &&
      /4 conv blocks halve the image 4 times, which needs at least 16×16 pixels; s3:\/\/d\/ has 8×8/.test(
        error.message,
      ),
  );
});
