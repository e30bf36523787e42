/**
 * The base model the fine-tuning tests start from: a small CNN (two 4-filter convolutions, 8 feature units) trained
 * from scratch for one epoch on 6 generated defect images per class, saved at `s3://b/base` (registry bucket `b`).
 */
import { writeDataset } from '../../../../src/ml/data/write-dataset';
import { generateDefects } from '../../../../src/ml/generators/defects';
import type { EngineKind } from '../../../../src/ml/train/engine';
import { trainModel } from '../../../../src/ml/train/fine-tune';
import type { ObjectStore } from '../../../../src/storage/object-store';

const DEFECT_BASE_URI = 's3://b/base';

/** Trains and saves the base in `store`, on `engine` when given (else the default engine). */
export async function trainDefectBase(store: ObjectStore, engine?: EngineKind): Promise<void> {
  const source = await writeDataset(store, 's3://b/source', { train: generateDefects({ perClass: 6, seed: 1 }) });
  await trainModel(store, {
    mode: 'from-scratch',
    architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [4, 4], featureUnits: 8, pooling: 'max' },
    datasetUri: source.manifestUri,
    outputUri: DEFECT_BASE_URI,
    registryBucket: 'b',
    hyperparameters: { epochs: 1, batchSize: 8, learningRate: 0.01 },
    ...(engine ? { engine } : {}),
  });
}
