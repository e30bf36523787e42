/**
 * A sweep with `trial.architecture` and no `model`: the real `sweepTrialSegment` (MockActivityEnvironment, in-memory
 * store) trains each trial from random weights, shaped by the trial's sampled `hiddenLayers` × `hiddenUnits`, and pins
 * no base model.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
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

/** `count` rows of 6 numbers; the class is whether the first two sum above 1. */
function rows(count: number, seed: number): LabelledSet {
  const random = mulberry32(seed);
  const features = new Float32Array(count * 6).map(() => random());
  const labels = Int32Array.from({ length: count }, (_, i) =>
    (features[i * 6] ?? 0) + (features[i * 6 + 1] ?? 0) > 1 ? 1 : 0,
  );
  return { featureShape: [6], classes: ['low', 'high'], features, labels };
}

before(async () => {
  store = memoryStore();
  ({ manifestUri: dataset } = await writeDataset(store, 's3://fineflow/runs/prep/prepare/table', {
    train: rows(64, 1),
    validation: rows(16, 2),
  }));
});

/** The dense layers (name → units) of a saved tfjs model (a Sequential topology, maybe in model_config). */
async function denseLayers(modelJson: string): Promise<Record<string, number>> {
  interface Topology {
    readonly config?: { readonly layers?: { class_name: string; config: { name: string; units?: number } }[] };
    readonly model_config?: Topology;
  }
  const { modelTopology } = await store.getJson<{ modelTopology: Topology }>(modelJson);
  const layers = (modelTopology.model_config ?? modelTopology).config?.layers ?? [];
  return Object.fromEntries(
    layers.filter((layer) => layer.class_name === 'Dense').map((layer) => [layer.config.name, layer.config.units ?? 0]),
  );
}

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
  const activities = createSweepTrialActivities({
    store,
    runTraining: inProcessTrainingRunner(store, { tfBackend: 'cpu' }),
    workerIdentity: 'unit',
  });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const result: SweepTrialSegmentResult = await env.run(activities.sweepTrialSegment, input);
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
