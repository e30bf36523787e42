/**
 * Tiny data and models for the stage tests: 8×8 grayscale images of two or three easily
 * separable classes (a bright bar in a different place per class, plus seeded noise), written
 * as a prepared dataset or as a raw image folder, and a small CNN base model in the registry.
 */
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { imageFolderFiles, writeFilesToStore } from '../../../src/ml/generators/writers';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { registerModel } from '../../../src/ml/models/registry';
import { mulberry32 } from '../../../src/ml/random';
import type { ObjectStore } from '../../../src/storage/object-store';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import { trainModel } from '../../../src/ml/train/fine-tune';
import type { TrainingRequest } from '../../../src/ml/train/types';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore } from './helpers';

export const SIZE = 8;
export const CLASSES = ['top', 'middle', 'bottom'] as const;

/** `perClass` images of each class: a bright horizontal bar at the class's row band, noisy background. */
export function barImages(perClass: number, seed: number, classes: readonly string[] = CLASSES): LabelledSet {
  const random = mulberry32(seed);
  const count = perClass * classes.length;
  const features = new Float32Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n += 1) {
    const label = n % classes.length;
    labels[n] = label;
    const band = Math.floor(((label + 0.5) * SIZE) / classes.length);
    for (let y = 0; y < SIZE; y += 1) {
      for (let x = 0; x < SIZE; x += 1) {
        const bar = Math.abs(y - band) <= 0 ? 0.9 : 0.1;
        features[n * SIZE * SIZE + y * SIZE + x] = Math.min(1, Math.max(0, bar + (random() - 0.5) * 0.2));
      }
    }
  }
  return { featureShape: [SIZE, SIZE, 1], classes: [...classes], features, labels };
}

/** A prepared dataset (manifest + shards) under `prefix`; returns the manifest URI. */
export async function preparedBars(
  store: ObjectStore,
  prefix: string,
  perClass = { train: 12, validation: 6, test: 6 },
): Promise<string> {
  const { manifestUri } = await writeDataset(store, prefix, {
    train: barImages(perClass.train, 1),
    validation: barImages(perClass.validation, 2),
    test: barImages(perClass.test, 3),
  });
  return manifestUri;
}

/** Raw PNG image folder (`<class>/<n>.png`) under `prefix`, as `fineflow data push` leaves it. */
export async function rawBars(store: ObjectStore, prefix: string, perClass: number): Promise<void> {
  await writeFilesToStore(store, prefix, imageFolderFiles(barImages(perClass, 11)));
}

/** A small CNN for 8×8×1 inputs with a 2-class head, registered as `name` (version 1, alias `latest` implicit). */
export async function registeredBase(store: ObjectStore, name = 'tiny-base'): Promise<string> {
  const { tf } = loadTf({ preference: 'cpu' });
  // Seeded: registering the same name twice gives two versions with identical weights, so tests
  // that compare versions see a real tie instead of two random initialisations.
  const model = buildModel(
    tf,
    { kind: 'cnn', inputShape: [SIZE, SIZE, 1], filters: [4], featureUnits: 8 },
    { numClasses: 2, seed: 11 },
  );
  const staging = `s3://${BUCKET}/staging/${name}`;
  await saveModel(tf, store, model, staging);
  model.dispose();
  await registerModel(store, {
    bucket: BUCKET,
    name,
    modelUri: `${staging}/model.json`,
    description: 'unit-test base',
  });
  return `registry://${name}@latest`;
}

/**
 * The store a sweep-trial test trains in: an in-memory store with the prepared bars dataset and a registered base
 * named `baseName` (the set-up every `sweepTrialSegment` test starts from).
 */
export async function sweepTrialFixture(
  baseName: string,
): Promise<{ store: MemoryObjectStore; dataset: string; base: string }> {
  const store = memoryStore();
  const dataset = await preparedBars(store, 's3://fineflow/runs/prep/prepare/dataset');
  const base = await registeredBase(store, baseName);
  return { store, dataset, base };
}

/**
 * Trains in this process with each request's own settings (unlike inProcessTrainingRunner, which pins the backend),
 * keeping every request: for tests of what reaches the training (backend, engine).
 */
export function recordingTrainingRunner(store: ObjectStore): { runner: TrainingRunner; requests: TrainingRequest[] } {
  const requests: TrainingRequest[] = [];
  const runner: TrainingRunner = (request, options) => {
    requests.push(request);
    return trainModel(store, request, { ...(options.onProgress ? { onEpoch: options.onProgress } : {}) });
  };
  return { runner, requests };
}
