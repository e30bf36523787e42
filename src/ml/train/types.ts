/**
 * What a training run takes and returns. All plain JSON, because the request crosses a process
 * boundary (the training child) and the result becomes a stage output.
 */
import type { TfBackendPreference, TrainEnginePreference } from '../../config';
import type { ModelArchitecture } from '../models/architectures';

export type OptimizerName = 'adam' | 'sgd' | 'rmsprop';

/**
 * Learning-rate decay after warmup. `minLearningRate` is a floor for every kind: the rate never
 * decays below it (a floor above a phase's base rate is capped at that base rate).
 */
export type LearningRateDecay =
  | { readonly kind: 'none' }
  /** Cosine from the base rate down to `minLearningRate` (default 1% of the base rate) at the end of the phase. */
  | { readonly kind: 'cosine'; readonly minLearningRate?: number }
  /** Multiply by `rate` every epoch. */
  | { readonly kind: 'exponential'; readonly rate: number; readonly minLearningRate?: number }
  /** Multiply by `factor` every `everyEpochs` epochs. */
  | { readonly kind: 'step'; readonly everyEpochs: number; readonly factor: number; readonly minLearningRate?: number };

export type MonitoredMetric = 'validation.loss' | 'validation.accuracy' | 'train.loss' | 'train.accuracy';

export interface EarlyStopping {
  readonly monitor: MonitoredMetric;
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Smallest change that counts as an improvement. Default 0. */
  readonly minDelta?: number;
  /** Put back the weights of the best epoch when training ends. Default true. */
  readonly restoreBestWeights?: boolean;
}

export interface Augmentation {
  /** Random translation of up to this many pixels in x and y (images only). */
  readonly shift?: number;
  /** Random horizontal flips. */
  readonly flipHorizontal?: boolean;
  /** Random vertical flips. */
  readonly flipVertical?: boolean;
  /** Random rotation about the centre by up to this many degrees either way. */
  readonly rotate?: number;
  /** Random magnification by a factor in [1 - zoom, 1 + zoom] about the centre. */
  readonly zoom?: number;
  /**
   * Random brightness: every intensity of an example is multiplied by one factor in
   * [1 - brightness, 1 + brightness] (as torchvision's ColorJitter and PIL's ImageEnhance do).
   */
  readonly brightness?: number;
  /** Standard deviation of added Gaussian pixel noise. */
  readonly noise?: number;
}

export interface Hyperparameters {
  /** Total epochs over all phases. */
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Default adam. */
  readonly optimizer?: OptimizerName;
  /** SGD momentum; default 0.9 for sgd. */
  readonly momentum?: number;
  /** Linear warmup from 0 over this many epochs (fractions allowed). */
  readonly warmupEpochs?: number;
  readonly decay?: LearningRateDecay;
  /**
   * Fine-tuning: how many of the base model's top weight layers (conv, batch-norm, dense) train
   * besides the new head, or their names. 0 = only the head. Default 0.
   */
  readonly unfreezeLayers?: number | readonly string[];
  /** Layers kept frozen whatever `unfreezeLayers` says. */
  readonly freezeLayers?: readonly string[];
  /**
   * Two phases: train only the head for `headEpochs`, then unfreeze `unfreezeLayers` for the
   * remaining epochs at `fineTuneLearningRate`. Absent = one phase.
   */
  readonly headEpochs?: number;
  /** Learning rate of the second phase; default learningRate / 10. */
  readonly fineTuneLearningRate?: number;
  readonly earlyStopping?: EarlyStopping;
  /** `balanced`: weight each class by total / (classes × count); or one weight per class. */
  readonly classWeights?: 'balanced' | readonly number[];
  readonly augmentation?: Augmentation;
  /** Dropout before the head. Default 0. */
  readonly dropout?: number;
  /**
   * Hidden dense relu layers of the new head (`head_hidden1`, …) between the features and the
   * softmax `head`; they train with the head. Default none.
   */
  readonly headUnits?: readonly number[];
  /** L2 penalty on trainable kernels. Default 0. */
  readonly l2?: number;
  /** Seeds shuffling and augmentation. Default 0. */
  readonly seed?: number;
}

export interface EpochMetrics {
  /** 1-based, counted over all phases. */
  readonly epoch: number;
  readonly phase: string;
  readonly learningRate: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

/** What a training run reports after each epoch: heartbeat material. */
export interface TrainingProgress {
  readonly epoch: number;
  readonly totalEpochs: number;
  readonly phase: string;
  readonly metrics: EpochMetrics;
  /** The newest checkpoint, when one was written at this epoch or earlier. */
  readonly checkpointUri?: string;
  /**
   * What trained this epoch, as the result says for the whole run: a run stopped before its end (a sweep trial at a
   * rung) has no result, so its record of the engine comes from here.
   */
  readonly backend?: string;
  readonly engine?: string;
  /** Why `auto` trained this phase on the eager engine, when it did. */
  readonly engineFallbackReason?: string;
}

export interface CheckpointOptions {
  /** Prefix under which checkpoints are written, e.g. s3://fineflow/runs/R/finetune/checkpoints. */
  readonly uri: string;
  /** Write a checkpoint every N epochs (and always after the last). Default 1. */
  readonly everyEpochs?: number;
  /** Keep the newest N checkpoints and the best epoch's, removing older ones; absent = keep every one. */
  readonly keepLast?: number;
  /**
   * Epochs whose checkpoints `keepLast` never removes: a sweep segment's start and end (the epoch the trial pauses at
   * and later resumes from), which a child that trains past the segment's end before its abort lands would otherwise
   * prune. Not part of the request key.
   */
  readonly keep?: readonly number[];
}

export interface TrainingRequest {
  /** `fine-tune` starts from `baseModelUri`; `from-scratch` from random weights of `architecture`. */
  readonly mode: 'fine-tune' | 'from-scratch';
  readonly baseModelUri?: string;
  /** From scratch: the architecture; default the CNN for 3-D examples and the MLP for 1-D. */
  readonly architecture?: ModelArchitecture;
  /** A prepared dataset: its manifest URI or its prefix. */
  readonly datasetUri: string;
  /**
   * Fine-tune: keep the base's head instead of a fresh one (src/ml/train/head-choice.ts); `classOrder[i]` is the
   * base head's output that scores the dataset's class i. Absent: the head is replaced.
   */
  readonly keepHead?: { readonly classOrder: readonly number[] };
  /** Use at most this many training examples per class (the "few labels" setting); seeded. */
  readonly labelsPerClass?: number;
  /**
   * Train on every fold but `fold` of the dataset's train and validation examples together (stratified
   * folds, src/ml/eval/cross-validation.ts) and validate on fold `fold`: one round of k-fold cross-validation.
   */
  readonly crossValidationFold?: { readonly folds: number; readonly fold: number; readonly seed: number };
  /** Directory URI where the trained model is saved (model.json + weights.bin). */
  readonly outputUri: string;
  readonly checkpoint?: CheckpointOptions;
  /** A checkpoint directory, or the checkpoint prefix (its latest.json is followed). */
  readonly resumeFrom?: string;
  /**
   * Start from another request's checkpoint (a directory, or a prefix whose latest.json is followed): its weights
   * and its place in training (epoch, phase, step) carry over and these hyperparameters train the rest; the
   * optimizer starts fresh unless `inheritOptimizer` says otherwise. What a population-based search's "exploit"
   * step does. The model must have the same weights (names and shapes); the phases must have the same lengths. Part
   * of the request key, so this run's own checkpoints never resume a run that started elsewhere; with `resumeFrom`
   * too, a checkpoint of this very request is resumed when there is one.
   */
  readonly inheritFrom?: string;
  /**
   * With `inheritFrom`: carry the checkpoint's optimizer state too (its moments and step count) when this request's
   * optimizer has the same slots (the same optimizer over the same trainable weights); otherwise it starts fresh.
   * The graph engine checks the fit; the eager engine's optimizers make their slots at the first step, so there it
   * always starts fresh.
   */
  readonly inheritOptimizer?: boolean;
  readonly hyperparameters: Hyperparameters;
  /** Bucket of the model registry, for `registry://` base models. */
  readonly registryBucket: string;
  /** Headers for an http(s):// base model (a secret `auth` input); not part of the request key, never stored. */
  readonly modelHttp?: { readonly headers?: Readonly<Record<string, string>>; readonly timeoutMs?: number };
  readonly tfBackend?: TfBackendPreference;
  /** Training engine (src/ml/train/engine.ts; FINEFLOW_TRAIN_ENGINE via the worker's config); default auto. */
  readonly engine?: TrainEnginePreference;
}

export interface TrainingResult {
  readonly modelUri: string;
  readonly classes: readonly string[];
  readonly epochs: readonly EpochMetrics[];
  /** Epoch with the best monitored value (early stopping's monitor, else validation or train loss). */
  readonly bestEpoch: number;
  /**
   * Epoch whose weights the saved model has: `bestEpoch` when early stopping restored the best
   * weights (as Keras does, only with early stopping), otherwise the last epoch trained.
   * `final` describes this epoch.
   */
  readonly weightsEpoch: number;
  readonly stoppedEarly: boolean;
  /** Epochs already done by the checkpoint this run resumed from; 0 when it started fresh. */
  readonly resumedFromEpoch: number;
  readonly backend: string;
  /**
   * How training steps ran: `graph` (one TensorFlow graph per step, native backend) or `eager`
   * (tfjs ops one at a time). See src/ml/train/engine.ts.
   */
  readonly engine: 'graph' | 'eager';
  /** Why the graph engine was not used, when it was not. */
  readonly engineFallbackReason?: string;
  /** Training examples per second over the epochs this run executed. */
  readonly samplesPerSecond: number;
  /** Wall-clock seconds of this run, including loading and saving. */
  readonly seconds: number;
  readonly trainExamples: number;
  readonly lastCheckpointUri?: string;
  /** Metrics of `weightsEpoch`, the weights that were saved. */
  readonly final: { readonly validationLoss?: number; readonly validationAccuracy?: number };
}
