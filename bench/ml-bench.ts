/**
 * The headline benchmark: a CNN pre-trained on one production line's surface images (brushed
 * metal, plenty of labels) is fine-tuned on a few labelled images of another line (cast metal),
 * against the same architecture trained from scratch on the same examples. Reports test
 * accuracy and seconds for both at each labels-per-class budget, training throughput, and the
 * TensorFlow backend that ran. `npm run bench` calls {@link benchFineTune}.
 */
import type { TfBackendPreference } from '../src/config';
import { loadTf } from '../src/ml/backend';
import { writeDataset } from '../src/ml/data/write-dataset';
import { classificationMetrics } from '../src/ml/eval/metrics';
import { predictProbabilities } from '../src/ml/eval/predict';
import { DEFECT_CLASSES, generateDefects } from '../src/ml/generators/defects';
import type { CnnArchitecture } from '../src/ml/models/architectures';
import { loadModel } from '../src/ml/models/load-model';
import { loadSplit } from '../src/ml/data/shards';
import { trainModel } from '../src/ml/train/fine-tune';
import type { Hyperparameters, TrainingResult } from '../src/ml/train/types';
import { createMemoryObjectStore } from '../src/storage/memory-store';
import { guardSectionArgs } from './bench-flags';

export interface BenchFineTuneOptions {
  /** Labelled target examples per class to compare at. Default [10, 50, 200] (native backend) or [10, 50] (pure JS). */
  readonly labelsPerClass?: readonly number[];
  /** Pre-training examples per class (source line). Default 600 (native backend) or 150 (pure JS). */
  readonly pretrainPerClass?: number;
  /** Default 15 (native) or 4 (pure JS, about 100× slower). */
  readonly pretrainEpochs?: number;
  /** Epochs of fine-tuning: half the new head alone, half every layer at a tenth of the rate. Default 20. */
  readonly fineTuneEpochs?: number;
  /** Epochs of training from scratch: more than fine-tuning, which starts from useful weights. Default 30. */
  readonly scratchEpochs?: number;
  /** Held-out target examples per class for the accuracy numbers. Default 100. */
  readonly testPerClass?: number;
  readonly architecture?: CnnArchitecture;
  readonly seed?: number;
  readonly tfBackend?: TfBackendPreference;
  readonly log?: (line: string) => void;
}

export interface BenchArm {
  readonly accuracy: number;
  readonly f1Macro: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly epochs: number;
}

export interface BenchRow {
  readonly labelsPerClass: number;
  readonly fineTune: BenchArm;
  readonly fromScratch: BenchArm;
  /** Fine-tuned accuracy − from-scratch accuracy, in percentage points. */
  readonly gainPoints: number;
  /** Fine-tuning beat from-scratch by ≥ 10 points and took less time. */
  readonly meetsTarget: boolean;
}

export interface BenchFineTuneResult {
  readonly backend: string;
  readonly classes: readonly string[];
  readonly pretrain: {
    readonly seconds: number;
    readonly validationAccuracy: number;
    readonly samplesPerSecond: number;
    readonly examples: number;
  };
  readonly rows: readonly BenchRow[];
  readonly totalSeconds: number;
}

const BUCKET = 'bench';

export async function benchFineTune(options: BenchFineTuneOptions = {}): Promise<BenchFineTuneResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const preference = options.tfBackend ?? 'auto';
  const { tf, backend } = loadTf({ preference });
  const native = backend === 'tensorflow';
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const seed = options.seed ?? 1;
  // Global max pooling: a defect counts wherever it sits on the surface.
  const architecture: CnnArchitecture = options.architecture ?? {
    kind: 'cnn',
    inputShape: [28, 28, 1],
    filters: [8, 16],
    featureUnits: 32,
    pooling: 'max',
  };
  const fineTuneEpochs = options.fineTuneEpochs ?? 20;
  const scratchEpochs = options.scratchEpochs ?? 30;

  const pretrainPerClass = options.pretrainPerClass ?? (native ? 600 : 150);
  const source = await writeDataset(store, `s3://${BUCKET}/source`, {
    train: generateDefects({ perClass: pretrainPerClass, seed: seed * 101, surface: 'brushed' }),
    validation: generateDefects({ perClass: 25, seed: seed * 101 + 1, surface: 'brushed' }),
  });
  log(`pre-training the base on ${pretrainPerClass * DEFECT_CLASSES.length} brushed-metal images…`);
  const pretrain = await trainModel(store, {
    mode: 'from-scratch',
    architecture,
    datasetUri: source.manifestUri,
    outputUri: `s3://${BUCKET}/base`,
    registryBucket: BUCKET,
    tfBackend: preference,
    hyperparameters: { epochs: options.pretrainEpochs ?? (native ? 15 : 4), batchSize: 32, learningRate: 0.003, seed },
  });
  log(
    `base: validation accuracy ${(pretrain.final.validationAccuracy ?? 0).toFixed(3)} in ${pretrain.seconds.toFixed(1)} s on ${pretrain.backend}`,
  );

  const testPerClass = options.testPerClass ?? 100;
  const rows: BenchRow[] = [];
  for (const labelsPerClass of options.labelsPerClass ?? (native ? [10, 50, 200] : [10, 50])) {
    const target = await writeDataset(store, `s3://${BUCKET}/target-${labelsPerClass}`, {
      train: generateDefects({ perClass: labelsPerClass, seed: seed * 7 + labelsPerClass, surface: 'cast' }),
      validation: generateDefects({
        perClass: Math.max(5, Math.round(labelsPerClass / 4)),
        seed: seed * 7 + labelsPerClass + 1,
        surface: 'cast',
      }),
      test: generateDefects({ perClass: testPerClass, seed: seed * 13, surface: 'cast' }),
    });
    const test = await loadSplit(store, target.manifest, 'test');
    const arm = async (result: TrainingResult): Promise<BenchArm> => {
      const model = await loadModel(tf, store, result.modelUri, { registryBucket: BUCKET });
      const metrics = classificationMetrics(await predictProbabilities(tf, model, test), test.labels, test.classes);
      model.dispose();
      return {
        accuracy: metrics.accuracy,
        f1Macro: metrics.f1Macro,
        seconds: result.seconds,
        samplesPerSecond: result.samplesPerSecond,
        epochs: result.epochs.length,
      };
    };
    // Same batch size and seed for both arms; no early stopping, so neither stops on a noisy validation set.
    const common: Omit<Hyperparameters, 'learningRate' | 'epochs'> = { batchSize: 16, seed };
    const fineTune = await arm(
      await trainModel(store, {
        mode: 'fine-tune',
        baseModelUri: `s3://${BUCKET}/base`,
        datasetUri: target.manifestUri,
        outputUri: `s3://${BUCKET}/fine-tuned-${labelsPerClass}`,
        registryBucket: BUCKET,
        tfBackend: preference,
        // Two phases: the new head alone, then every layer at a tenth of the rate.
        hyperparameters: {
          ...common,
          epochs: fineTuneEpochs,
          learningRate: 0.05,
          headEpochs: Math.ceil(fineTuneEpochs / 2),
          unfreezeLayers: 5,
          fineTuneLearningRate: 0.005,
        },
      }),
    );
    const fromScratch = await arm(
      await trainModel(store, {
        mode: 'from-scratch',
        architecture,
        datasetUri: target.manifestUri,
        outputUri: `s3://${BUCKET}/scratch-${labelsPerClass}`,
        registryBucket: BUCKET,
        tfBackend: preference,
        hyperparameters: { ...common, epochs: scratchEpochs, learningRate: 0.003 },
      }),
    );
    const gainPoints = (fineTune.accuracy - fromScratch.accuracy) * 100;
    rows.push({
      labelsPerClass,
      fineTune,
      fromScratch,
      gainPoints,
      meetsTarget: gainPoints >= 10 && fineTune.seconds < fromScratch.seconds,
    });
    log(
      `${labelsPerClass}/class: fine-tuned ${(fineTune.accuracy * 100).toFixed(1)}% in ${fineTune.seconds.toFixed(1)} s, ` +
        `from scratch ${(fromScratch.accuracy * 100).toFixed(1)}% in ${fromScratch.seconds.toFixed(1)} s (${gainPoints >= 0 ? '+' : ''}${gainPoints.toFixed(1)} points)`,
    );
  }
  return {
    backend: pretrain.backend,
    classes: [...DEFECT_CLASSES],
    pretrain: {
      seconds: pretrain.seconds,
      validationAccuracy: pretrain.final.validationAccuracy ?? 0,
      samplesPerSecond: pretrain.samplesPerSecond,
      examples: pretrainPerClass * DEFECT_CLASSES.length,
    },
    rows,
    totalSeconds: (performance.now() - started) / 1000,
  };
}

if (require.main === module) {
  guardSectionArgs('ml', process.argv.slice(2));
  void benchFineTune({ log: (line) => process.stdout.write(`${line}\n`) }).then((result) =>
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
  );
}
