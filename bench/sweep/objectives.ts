/**
 * The real objectives of the sweep benchmark: three small training problems run through Fineflow's
 * own training code (`trainModel`, the function the `fine-tune` stage and every sweep trial call),
 * chosen to differ in difficulty and in the kind of space they search:
 *
 * - `defect-cnn`: fine-tune a CNN pre-trained on one production line's surface-defect images to a
 *   few labels of the other line, over learning rate, frozen layers, dropout, batch size, warmup;
 * - `tabular-mlp`: an MLP from scratch on shifted sensor rows (pass/fail), over learning rate,
 *   batch size, dropout and L2;
 * - `digits-categorical`: an MLP on MNIST digits whose space is mostly categorical and conditional:
 *   optimizer (adam, sgd, rmsprop), momentum (used only by sgd), head layers, learning-rate decay.
 *
 * Data and models are tiny on purpose (a trial epoch costs tens of milliseconds of CPU), so 20
 * seeds × 5 methods × 3 objectives fit on a shared 2-core machine. Changing anything here that
 * changes a training result must bump the objective's `version`: it keys the result cache.
 */
import { loadTf } from '../../src/ml/backend';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { generateDefects, type SurfaceKind } from '../../src/ml/generators/defects';
import type { LabelledSet } from '../../src/ml/generators/image-set';
import { loadMnist, type MnistShift } from '../../src/ml/generators/mnist';
import {
  generateTabular,
  TABULAR_CLASSES,
  TABULAR_LINES,
  type TabularOptions,
  type TabularRow,
} from '../../src/ml/generators/tabular';
import { buildModel } from '../../src/ml/models/architectures';
import { saveModel } from '../../src/ml/models/load-model';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { Hyperparameters, LearningRateDecay, OptimizerName, TrainingRequest } from '../../src/ml/train/types';
import type { ParameterValues } from '../../src/core/sweep/space';
import type { ObjectStore } from '../../src/storage/object-store';
import { BENCH_TRAIN_ENGINE } from './train-engine';

/** Where an objective's prepared data and base model live in the bench's object store. */
export interface PreparedObjective {
  readonly datasetUri: string;
  readonly baseModelUri?: string;
  /** The engine that trained the base model (since session 11; a snapshot prepared before has none). */
  readonly baseEngine?: 'graph' | 'eager';
}

export interface BenchObjective {
  /** Names the objective in tables and keys its cache entries. */
  readonly id: string;
  /** Bumped whenever a change here changes training results (invalidates cached curves). */
  readonly version: number;
  readonly description: string;
  /**
   * Validation accuracy to reach, fixed before any method was compared: the 5th best of 80
   * configurations drawn from the prior and trained to the budget under calibration seeds
   * (1000…1079, disjoint from the compared seeds; raised past ties so at most 5 reach it), so a
   * random trial reaches it with p ≤ 1/16 and random search needs a median of 11 trials or more. `npm run bench -- --only sweep -- --calibrate`
   * recomputes it.
   */
  readonly target: number;
  /** The `space:` of a `hyperparameter-sweep` stage (raw YAML/JSON form). */
  readonly space: Readonly<Record<string, unknown>>;
  /** Epoch budget of one trial: 9, so ASHA (η = 3) decides at epochs 1 and 3 and Hyperband has three brackets. */
  readonly epochsPerTrial: number;
  /** Writes the dataset (and trains the base model, when fine-tuning) into `store` under `prefix`. */
  prepare(store: ObjectStore, prefix: string): Promise<PreparedObjective>;
  /**
   * Data that moved, for `--scenario retrain-moved`: the earlier sweep whose trials seed the warm rows
   * ran on this data instead of the objective's own. Absent when the generator offers no honest shift.
   */
  readonly moved?: MovedData;
  /** The training request of one trial (`epochs` = the trial budget; the caller adds checkpoints). */
  request(prepared: PreparedObjective, params: ParameterValues, seed: number, outputUri: string): TrainingRequest;
}

/** The data an earlier sweep of the same stage ran on before the data moved (see {@link BenchObjective.moved}). */
export interface MovedData {
  /** What moved, as the bench prints it. */
  readonly description: string;
  /**
   * The earlier sweep's own target on the moved data, where it stopped: computed by the rule of
   * {@link BenchObjective.target} on this data (`--calibrate --scenario retrain-moved`), before any comparison.
   */
  readonly target: number;
  /** Writes the moved dataset (and base model) into `store` under `prefix`; requests are the objective's own. */
  prepare(store: ObjectStore, prefix: string): Promise<PreparedObjective>;
}

/**
 * The objective an earlier sweep on moved data solved: the same space, budget and training requests on
 * the moved data, under its own id (so its curves are cached apart) and its own target.
 */
export function movedObjective(objective: BenchObjective): BenchObjective | undefined {
  const { moved } = objective;
  if (!moved) return undefined;
  const { moved: _own, ...rest } = objective;
  return {
    ...rest,
    id: `${objective.id}-moved`,
    description: moved.description,
    target: moved.target,
    prepare: (store, prefix) => moved.prepare(store, prefix),
  };
}

const BUCKET = 'bench';

function hyperparameters(epochs: number, seed: number, values: Omit<Hyperparameters, 'epochs' | 'seed'>) {
  return { epochs, seed, ...values } satisfies Hyperparameters;
}

/**
 * 12 training and 40 validation images per class of `surface`'s line, and the base CNN trained on 60/class of
 * the brushed line (other generator seeds than the fine-tuning images, whichever line they come from).
 */
async function prepareDefects(store: ObjectStore, prefix: string, surface: SurfaceKind): Promise<PreparedObjective> {
  const { manifestUri } = await writeDataset(store, `s3://${BUCKET}/${prefix}/data`, {
    train: generateDefects({ perClass: 12, seed: 7, surface }),
    validation: generateDefects({ perClass: 40, seed: 8, surface }),
    test: generateDefects({ perClass: 1, seed: 9, surface }),
  });
  const base = await writeDataset(store, `s3://${BUCKET}/${prefix}/base-data`, {
    train: generateDefects({ perClass: 60, seed: 101, surface: 'brushed' }),
    validation: generateDefects({ perClass: 10, seed: 102, surface: 'brushed' }),
  });
  const baseModelUri = `s3://${BUCKET}/${prefix}/base`;
  const trained = await trainModel(store, {
    mode: 'from-scratch',
    architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [6, 12], featureUnits: 24, pooling: 'max' },
    datasetUri: base.manifestUri,
    outputUri: baseModelUri,
    hyperparameters: hyperparameters(8, 1, { learningRate: 0.01, batchSize: 16 }),
    registryBucket: BUCKET,
    // The base model every curve starts from, on the curves' engine: `auto` would fall back to eager without the
    // addon, and the prepared snapshot would keep that base for every later run (a v2 base was eager-trained).
    engine: BENCH_TRAIN_ENGINE,
  });
  return { datasetUri: manifestUri, baseModelUri: `${baseModelUri}/model.json`, baseEngine: trained.engine };
}

/** Few labels of the `cast` line, a base CNN trained on the `brushed` line. */
const defectCnn: BenchObjective = {
  id: 'defect-cnn',
  target: 100 / 160, // calibrated (see BenchObjective.target)
  // 2: dropout masks drawn so a resumed run matches an uninterrupted one (70c4eb5) changed the curves.
  // 3: every curve retrained on the graph engine; v2 mixed graph and eager curves (docs/sweep-benchmark.md).
  version: 3,
  description: 'fine-tune a defect CNN (brushed line) to 12 labels/class of the cast line; 160 validation images',
  space: {
    learningRate: { logUniform: [1e-5, 1] },
    unfreezeLayers: { int: [0, 6] },
    dropout: { uniform: [0, 0.9] },
    batchSize: { choice: [4, 8, 16, 32, 48] },
    warmupEpochs: { uniform: [0, 4] },
  },
  epochsPerTrial: 9,
  prepare: (store, prefix) => prepareDefects(store, prefix, 'cast'),
  moved: {
    description:
      'the same fine-tune to 12 labels/class of the brushed line (the base model’s own line) instead of the cast line',
    target: 112 / 160, // calibrated (see MovedData.target)
    prepare: (store, prefix) => prepareDefects(store, prefix, 'brushed'),
  },
  request(prepared, params, seed, outputUri) {
    return {
      mode: 'fine-tune',
      baseModelUri: prepared.baseModelUri as string,
      datasetUri: prepared.datasetUri,
      outputUri,
      registryBucket: BUCKET,
      hyperparameters: hyperparameters(this.epochsPerTrial, seed, {
        learningRate: params.learningRate as number,
        unfreezeLayers: params.unfreezeLayers as number,
        dropout: params.dropout as number,
        batchSize: params.batchSize as number,
        warmupEpochs: params.warmupEpochs as number,
      }),
    };
  },
};

/** Standardised sensor columns plus a one-hot production line: 8 features. */
function tabularSet(rows: readonly TabularRow[]): LabelledSet {
  const numeric = ['temperature', 'pressure', 'vibration', 'speed', 'humidity'] as const;
  const stats = numeric.map((column) => {
    const values = rows.map((row) => row[column] ?? 0);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
    return { mean, std: Math.sqrt(variance) || 1 };
  });
  const width = numeric.length + TABULAR_LINES.length;
  const features = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    numeric.forEach((column, c) => {
      const { mean, std } = stats[c] as { mean: number; std: number };
      features[r * width + c] = ((row[column] ?? mean) - mean) / std;
    });
    features[r * width + numeric.length + TABULAR_LINES.indexOf(row.line as (typeof TABULAR_LINES)[number])] = 1;
  });
  const labels = Int32Array.from(rows, (row) => TABULAR_CLASSES.indexOf(row.label as (typeof TABULAR_CLASSES)[number]));
  return { featureShape: [width], classes: [...TABULAR_CLASSES], features, labels };
}

/** 120 training, 400 validation and 1 test row of the generated plant. */
async function prepareTabular(store: ObjectStore, prefix: string, options: TabularOptions): Promise<PreparedObjective> {
  const rows = generateTabular(options);
  const { manifestUri } = await writeDataset(store, `s3://${BUCKET}/${prefix}/data`, {
    train: tabularSet(rows.slice(0, 120)),
    validation: tabularSet(rows.slice(120, 520)),
    test: tabularSet(rows.slice(520)),
  });
  return { datasetUri: manifestUri };
}

const tabularMlp: BenchObjective = {
  id: 'tabular-mlp',
  // 365/400 since session 11: on the graph-engine curves of version 3, 364/400 is reached by 7 of the 80
  // calibration configurations (p = 0.0875, a median of 8 random trials, under the rule's 10); `--calibrate`
  // printed 0.9125, set before any method ran on version 3.
  target: 365 / 400, // calibrated (see BenchObjective.target)
  // 2: dropout masks drawn so a resumed run matches an uninterrupted one (70c4eb5) changed the curves.
  // 3: every curve retrained on the graph engine; v2 mixed graph and eager curves (docs/sweep-benchmark.md).
  version: 3,
  description: 'MLP from scratch on 120 rows of the shifted plant (pass/fail); 400 validation rows',
  space: {
    learningRate: { logUniform: [1e-5, 1] },
    batchSize: { choice: [4, 8, 16, 32, 64] },
    dropout: { uniform: [0, 0.9] },
    l2: { logUniform: [1e-6, 1] },
  },
  epochsPerTrial: 9,
  prepare: (store, prefix) => prepareTabular(store, prefix, { rows: 521, seed: 11, domain: 'target' }),
  moved: {
    description:
      'the same MLP on other rows of the source plant, before the shift (other sensor offsets; vibration weighs less in failures)',
    target: 363 / 400, // calibrated (see MovedData.target)
    prepare: (store, prefix) => prepareTabular(store, prefix, { rows: 521, seed: 12, domain: 'source' }),
  },
  request(prepared, params, seed, outputUri) {
    return {
      mode: 'from-scratch',
      architecture: { kind: 'mlp', inputShape: [8], hidden: [16, 8] },
      datasetUri: prepared.datasetUri,
      outputUri,
      registryBucket: BUCKET,
      hyperparameters: hyperparameters(this.epochsPerTrial, seed, {
        learningRate: params.learningRate as number,
        batchSize: params.batchSize as number,
        dropout: params.dropout as number,
        l2: params.l2 as number,
      }),
    };
  },
};

const DECAYS: Readonly<Record<string, LearningRateDecay>> = {
  none: { kind: 'none' },
  cosine: { kind: 'cosine' },
  exponential: { kind: 'exponential', rate: 0.85 },
};

/** 20 training and 30 validation digits per class from MNIST index `offset` on, and a fixed, seeded MLP body. */
async function prepareDigits(
  store: ObjectStore,
  prefix: string,
  { offset, shift }: { offset: number; shift: MnistShift },
): Promise<PreparedObjective> {
  const flat = (set: LabelledSet): LabelledSet => ({ ...set, featureShape: [28 * 28] });
  const { manifestUri } = await writeDataset(store, `s3://${BUCKET}/${prefix}/data`, {
    train: flat(loadMnist({ perClass: 20, offset, seed: 1, shift })),
    validation: flat(loadMnist({ perClass: 30, offset: offset + 20, seed: 2, shift })),
    test: flat(loadMnist({ perClass: 1, offset: offset + 50, seed: 3, shift })),
  });
  // A fixed, seeded MLP body: trials replace its head (the conditional part of the space).
  const { tf } = loadTf({ preference: 'auto' });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [28 * 28], hidden: [32] }, { numClasses: 10, seed: 5 });
  await saveModel(tf, store, model, `s3://${BUCKET}/${prefix}/base`);
  model.dispose();
  return { datasetUri: manifestUri, baseModelUri: `s3://${BUCKET}/${prefix}/base/model.json` };
}

const digitsCategorical: BenchObjective = {
  id: 'digits-categorical',
  target: 244 / 300, // calibrated (see BenchObjective.target)
  // 2: every curve retrained on the graph engine; v1 mixed graph and eager curves (docs/sweep-benchmark.md).
  version: 2,
  description:
    'MLP on MNIST digits (20/class, 300 validation) over optimizer, sgd-only momentum, head layers, decay, lr',
  space: {
    optimizer: { choice: ['adam', 'sgd', 'rmsprop'] },
    momentum: { uniform: [0, 0.99] },
    headUnits: { choice: ['none', '32', '64-32', '16-16'] },
    decay: { choice: ['none', 'cosine', 'exponential'] },
    learningRate: { logUniform: [1e-5, 1] },
  },
  epochsPerTrial: 9,
  prepare: (store, prefix) => prepareDigits(store, prefix, { offset: 0, shift: 'none' }),
  moved: {
    description: 'the same MLP on other MNIST digits (indices 60…109), inverted: dark digits on a light page',
    target: 142 / 300, // calibrated (see MovedData.target)
    prepare: (store, prefix) => prepareDigits(store, prefix, { offset: 60, shift: 'invert' }),
  },
  request(prepared, params, seed, outputUri) {
    const optimizer = params.optimizer as OptimizerName;
    const headUnits = params.headUnits === 'none' ? [] : String(params.headUnits).split('-').map(Number);
    return {
      mode: 'fine-tune',
      baseModelUri: prepared.baseModelUri as string,
      datasetUri: prepared.datasetUri,
      outputUri,
      registryBucket: BUCKET,
      hyperparameters: hyperparameters(this.epochsPerTrial, seed, {
        learningRate: params.learningRate as number,
        batchSize: 16,
        optimizer,
        ...(optimizer === 'sgd' ? { momentum: params.momentum as number } : {}),
        headUnits,
        decay: DECAYS[params.decay as string] ?? { kind: 'none' },
        unfreezeLayers: 1_000_000,
      }),
    };
  },
};

export const BENCH_OBJECTIVES: readonly BenchObjective[] = [defectCnn, tabularMlp, digitsCategorical];
