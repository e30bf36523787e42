/**
 * The open registry of stage types. Each type declares its inputs (in the schema language of
 * ./schema-language), its outputs with types, and a version that becomes part of the cache
 * key. Built-ins are registered here; a team adds its own with {@link registerStageType} or by
 * listing modules for {@link loadStageTypeModules}, and they are validated the same way.
 */
import { pinnedSourceProblem } from '../datasets/dataset-source';
import { splitProblems } from '../datasets/split-sources';
import { InvalidInputError } from '../core/errors';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { OBJECTIVE_METRICS, planSweep } from '../core/sweep/sweep-plan';
import { TRIAL_METRIC_PATTERN } from '../core/sweep/trial-stage';
import { SWEEP_HISTORY_LIMITS, WARM_START_DEFAULTS } from '../core/sweep/sweep-history';
import { fromJson } from './located';
import { moduleLoadReason } from './stage-module';
import {
  OUTPUT_TYPES,
  checkSchemaDefinition,
  checkValue,
  describeSchema,
  type InputSchema,
  type ObjectSchema,
  type OutputType,
} from './schema-language';
import { isReservedKey, ownValue, RESERVED_KEY_HINT } from '../core/spec/reserved';
import { unknownNameHint } from '../core/spec/suggest';
import { COMMAND_STAGE_TYPE } from './command-stage-type';
import { PREDICT_STAGE_TYPE } from './predict-stage-type';
import { NOTIFY_STAGE_TYPE } from './notify-stage-type';
import { PIPELINE_STAGE_TYPE } from './pipeline-stage-type';
import { checkTrialStageSweep, spaceCandidates } from './sweep-trial-stage-check';
import type { StageInputProblem, StageTypeDefinition } from './stage-type-definition';

/** Bounds of an mlp trained from scratch (`hiddenLayers`, `hiddenUnits`): a pipeline author sets or searches them. */
export const MLP_LIMITS = { hiddenLayers: 8, hiddenUnits: 1024 } as const;

/**
 * Bounds of a small CNN trained from scratch (`convFilters`, `denseUnits`). Four conv blocks halve a 32×32 image to
 * 2×2; 256 filters and 1024 units keep one model within what a CPU worker trains in minutes.
 */
export const CNN_LIMITS = { convBlocks: 4, convFilters: 256, denseUnits: 1024 } as const;

/** The architectures `convFilters` and `denseUnits` shape. */
const CNN_ARCHITECTURES: readonly string[] = ['small-cnn', 'small-cnn-global-pool'];

export type { StageInputProblem, StageOutput, StageTypeDefinition } from './stage-type-definition';

// ---------------------------------------------------------------------------------------
// Shared pieces of the built-in schemas

/** Keras' names for what the training loop measures each epoch, which a newcomer writes first. */
const KERAS_METRIC_NAMES: { readonly [kerasName: string]: string } = {
  val_loss: 'validation.loss',
  val_accuracy: 'validation.accuracy',
  val_acc: 'validation.accuracy',
  loss: 'train.loss',
  accuracy: 'train.accuracy',
  acc: 'train.accuracy',
};

const MODEL_SCHEMES = ['registry', 's3', 'file', 'http', 'https'];
const DATA_SCHEMES = ['s3', 'file', 'http', 'https'];

const modelUri = (description: string): InputSchema => ({ type: 'uri', schemes: MODEL_SCHEMES, description });
const datasetUri = (description: string): InputSchema => ({ type: 'uri', schemes: DATA_SCHEMES, description });
const fraction = (description: string, dflt?: number): InputSchema => ({
  type: 'number',
  minimum: 0,
  maximum: 1,
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});
/** A data-quality check's policy (prepare-data `quality:`). */
const policyEnum = (values: readonly string[], fallback: string, description: string): InputSchema => ({
  type: 'enum',
  values,
  default: fallback,
  description,
});
const layerSelection = (description: string): InputSchema => ({
  type: 'oneOf',
  description,
  variants: [
    { type: 'integer', minimum: 0, maximum: 1000, description: 'a number of layers' },
    { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description: 'layer names' },
  ],
});

/** Training settings shared by `fine-tune` and the `trial` of `hyperparameter-sweep`. */
const TRAINING_PROPERTIES: { readonly [name: string]: InputSchema } = {
  epochs: { type: 'integer', minimum: 1, maximum: 10_000, default: 10, description: 'passes over the training split' },
  batchSize: { type: 'integer', minimum: 1, maximum: 65_536, default: 32, description: 'examples per gradient step' },
  learningRate: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 10,
    default: 0.001,
    description: 'initial learning rate',
  },
  optimizer: {
    type: 'enum',
    // Exactly what the training loop implements (activities/fine-tune.ts); the property test keeps them equal.
    values: ['adam', 'sgd', 'momentum', 'rmsprop'],
    default: 'adam',
    description: 'gradient optimizer',
  },
  momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1, description: 'momentum for `momentum` and `rmsprop`' },
  warmupEpochs: {
    type: 'integer',
    minimum: 0,
    maximum: 10_000,
    default: 0,
    description: 'epochs over which the learning rate rises linearly to `learningRate`',
  },
  decay: {
    type: 'object',
    description: 'learning-rate decay after warmup',
    properties: {
      type: {
        type: 'enum',
        values: ['none', 'exponential', 'cosine', 'step'],
        default: 'none',
        description: 'decay curve',
      },
      rate: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 1,
        default: 0.5,
        description: 'factor per `everyEpochs` (exponential, step)',
      },
      everyEpochs: {
        type: 'integer',
        minimum: 1,
        maximum: 10_000,
        default: 1,
        description: 'epochs between decays (step)',
      },
      minLearningRate: {
        type: 'number',
        minimum: 0,
        maximum: 10,
        description:
          "floor the decayed learning rate never goes below (capped at the phase's starting rate; default: 1% of it " +
          'for cosine, none otherwise)',
      },
    },
  },
  freeze: {
    type: 'oneOf',
    description: 'base layers kept frozen: `all`, `none`, a count from the bottom, or layer names',
    default: 'all',
    variants: [
      { type: 'enum', values: ['all', 'none'] },
      { type: 'integer', minimum: 0, maximum: 1000, description: 'freeze this many layers from the bottom' },
      { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description: 'names of layers to freeze' },
    ],
  },
  unfreeze: layerSelection('base layers trained anyway: a count from the top, or layer names'),
  twoPhase: {
    type: 'oneOf',
    description: 'train the new head first, then unfreeze the top of the base with a lower learning rate',
    variants: [
      { type: 'boolean' },
      {
        type: 'object',
        properties: {
          headEpochs: {
            type: 'integer',
            minimum: 1,
            maximum: 10_000,
            default: 3,
            description: 'epochs of phase one (head only)',
          },
          unfreeze: { ...layerSelection('layers unfrozen for phase two: a count from the top, or names'), default: 2 },
          learningRateFactor: {
            type: 'number',
            exclusiveMinimum: 0,
            maximum: 1,
            default: 0.1,
            description: 'phase-two learning rate = learningRate × this',
          },
        },
      },
    ],
  },
  earlyStopping: {
    type: 'object',
    description:
      'stop when the monitored metric stops improving; with two phases, per phase (a plateau in the head phase moves ' +
      'on to unfreezing)',
    properties: {
      monitor: {
        type: 'enum',
        values: [...OBJECTIVE_METRICS],
        valueAliases: KERAS_METRIC_NAMES,
        default: 'validation.loss',
        description: 'metric to watch: what the training loop measures every epoch',
      },
      patience: {
        type: 'integer',
        minimum: 0,
        maximum: 10_000,
        default: 3,
        description: 'epochs without improvement before stopping',
      },
      minDelta: {
        type: 'number',
        minimum: 0,
        maximum: 1000,
        default: 0,
        description: 'smallest change that counts as an improvement',
      },
      mode: {
        type: 'enum',
        values: ['auto', 'min', 'max'],
        default: 'auto',
        description: 'whether lower or higher is better (auto: loss → min, else max)',
      },
      restoreBest: { type: 'boolean', default: true, description: 'end with the weights of the best epoch' },
    },
  },
  checkpoint: {
    type: 'object',
    description:
      'checkpoints (weights, optimizer state, epoch) in the store; a retry resumes from the newest one that verifies',
    properties: {
      everyEpochs: {
        type: 'integer',
        minimum: 1,
        maximum: 10_000,
        default: 1,
        description: 'epochs between checkpoints',
      },
      keepLast: {
        type: 'integer',
        minimum: 1,
        maximum: 1000,
        default: 2,
        description: 'checkpoints kept: the newest N, plus the best epoch',
      },
    },
  },
  classWeights: {
    type: 'oneOf',
    description: '`balanced` (inverse class frequency), `none`, or a weight per class name',
    variants: [
      { type: 'enum', values: ['balanced', 'none'] },
      { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 1_000_000 } },
    ],
  },
  augmentation: {
    type: 'object',
    description: 'random image augmentation of the training split',
    properties: {
      flipHorizontal: { type: 'boolean', default: false, description: 'mirror left-right' },
      flipVertical: { type: 'boolean', default: false, description: 'mirror top-bottom' },
      rotate: {
        type: 'number',
        minimum: 0,
        maximum: 180,
        default: 0,
        description: 'maximum rotation in degrees either way, about the centre (bilinear, edges replicated)',
      },
      translate: fraction('maximum shift as a fraction of the image size', 0),
      zoom: fraction(
        'maximum zoom in or out as a fraction: scale in [1 - zoom, 1 + zoom] about the centre (bilinear, ' +
          'edges replicated)',
        0,
      ),
      brightness: fraction(
        'maximum brightness change as a fraction: intensities × a factor in [1 - brightness, 1 + brightness]',
        0,
      ),
      noise: fraction('standard deviation of added Gaussian noise', 0),
    },
  },
  dropout: {
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
    default: 0,
    description: 'dropout rate before the new head',
  },
  l2: { type: 'number', minimum: 0, maximum: 100, default: 0, description: 'L2 weight regularisation of the new head' },
  headUnits: {
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 8192 },
    maxItems: 8,
    default: [],
    description:
      'hidden relu layer sizes of the new head (head_hidden1, …), trained with it (empty: a single ' +
      'dense softmax layer)',
  },
  seed: {
    type: 'integer',
    minimum: 0,
    maximum: 4_294_967_295,
    default: 0,
    description: 'seed of weight init, shuffling and augmentation',
  },
  hiddenLayers: {
    type: 'integer',
    minimum: 1,
    maximum: MLP_LIMITS.hiddenLayers,
    description: 'with `architecture: mlp`: hidden relu layers of the network trained from scratch (default 2)',
  },
  hiddenUnits: {
    type: 'integer',
    minimum: 1,
    maximum: MLP_LIMITS.hiddenUnits,
    description:
      'with `architecture: mlp`: units of each hidden layer (default 32, then 16 for the default two layers)',
  },
  head: {
    type: 'enum',
    values: ['auto', 'keep', 'replace'],
    default: 'auto',
    description:
      'fine-tuning a base model: keep its classification head, or replace it with a fresh one (random weights). ' +
      "auto keeps it when the data's classes are the base's (same names, any order) and neither headUnits nor " +
      'dropout asks for a new head; keep fails when it cannot',
  },
  convFilters: {
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: CNN_LIMITS.convFilters },
    minItems: 1,
    maxItems: CNN_LIMITS.convBlocks,
    description:
      'with `architecture: small-cnn` or `small-cnn-global-pool`: filters of each conv→batch-norm→relu→2×2-pool ' +
      'block, one number a block (default [8, 16]); each block halves the image, so 4 blocks need at least 16×16',
  },
  denseUnits: {
    type: 'integer',
    minimum: 1,
    maximum: CNN_LIMITS.denseUnits,
    description:
      'with `architecture: small-cnn` or `small-cnn-global-pool`: units of the dense feature layer before the head ' +
      '(default 32)',
  },
};

/** The built-in architecture a fine-tune (or every sweep trial) trains from random weights instead of a base model. */
const ARCHITECTURE_INPUT: InputSchema = {
  type: 'enum',
  values: ['small-cnn', 'small-cnn-global-pool', 'mlp'],
  description:
    'train from random weights with this built-in architecture instead of a base model (pretraining); give this or ' +
    '`model`. small-cnn-global-pool ends in global max pooling, so its features do not depend on where a pattern sits (defects, textures)',
};

const SPACE_ENTRY: InputSchema = {
  type: 'oneOf',
  description: 'a distribution to sample, or a fixed value',
  variants: [
    {
      type: 'object',
      properties: {
        uniform: {
          type: 'array',
          items: { type: 'number', minimum: -1_000_000_000, maximum: 1_000_000_000 },
          minItems: 2,
          maxItems: 2,
          description: '[low, high]',
        },
      },
      required: ['uniform'],
    },
    {
      type: 'object',
      properties: {
        logUniform: {
          type: 'array',
          items: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000_000 },
          minItems: 2,
          maxItems: 2,
          description: '[low, high], both > 0',
        },
      },
      required: ['logUniform'],
    },
    {
      type: 'object',
      properties: {
        int: {
          type: 'array',
          items: { type: 'integer', minimum: -1_000_000_000, maximum: 1_000_000_000 },
          minItems: 2,
          maxItems: 2,
          description: '[low, high] inclusive',
        },
        step: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
      },
      required: ['int'],
    },
    {
      type: 'object',
      properties: {
        choice: { type: 'array', items: { type: 'any' }, minItems: 1, maxItems: 1000, description: 'candidate values' },
      },
      required: ['choice'],
    },
    { type: 'object', properties: { fixed: { type: 'any', description: 'a constant' } }, required: ['fixed'] },
    { type: 'number', minimum: -1_000_000_000, maximum: 1_000_000_000 },
    { type: 'string' },
    { type: 'boolean' },
  ],
};

/** Gate metric names of the spec → the name src/ml/eval computes (activities/evaluate.ts reads this map). */
export const GATE_METRICS: Readonly<Record<string, string>> = {
  accuracy: 'accuracy',
  precision: 'precisionMacro',
  recall: 'recallMacro',
  f1: 'f1Macro',
  rocAuc: 'rocAucMacro',
  calibrationError: 'expectedCalibrationError',
  logLoss: 'logLoss',
};
/** Gate metrics where lower is better: they take `max`, never `min`. */
const LOWER_IS_BETTER = new Set(['calibrationError', 'expectedCalibrationError', 'logLoss']);

/** `gate.min` bounds a higher-is-better metric from below, `gate.max` a loss from above (as evaluate applies it). */
function checkGate(inputs: JsonObject): StageInputProblem[] {
  const gate = ownObject(inputs.gate);
  if (!gate) return [];
  const metric = typeof gate.metric === 'string' ? gate.metric : 'accuracy';
  if (metric.includes('${{')) return [];
  const lower = LOWER_IS_BETTER.has(metric);
  const wrong = lower ? 'min' : 'max';
  if (gate[wrong] === undefined) return [];
  return [
    {
      path: `gate.${wrong}`,
      message: lower
        ? `gate.min bounds ${metric} from below, but lower ${metric} is better`
        : `gate.max bounds ${metric} from above, but higher ${metric} is better`,
      hint: lower ? `write gate.max: <highest acceptable ${metric}>` : `write gate.min: <lowest acceptable ${metric}>`,
    },
  ];
}

function isLiteral(value: JsonValue | undefined): boolean {
  return value === undefined || !JSON.stringify(value).includes('${{');
}

function ownObject(value: JsonValue | undefined): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/**
 * Cross-validation scores each round on its held-out fold; early stopping that watches validation
 * metrics would pick each round's epochs on that same fold and make the estimate optimistic.
 */
function checkCrossValidation(inputs: JsonObject): StageInputProblem[] {
  const settings = { ...inputs, ...(ownObject(inputs.hyperparameters) ?? {}) };
  if (settings.crossValidation === undefined || settings.crossValidation === null) return [];
  const stopping = ownObject(settings.earlyStopping);
  if (!stopping) return [];
  const monitor = stopping.monitor ?? 'validation.loss';
  if (typeof monitor !== 'string' || monitor.includes('${{') || !monitor.startsWith('validation.')) return [];
  return [
    {
      path: stopping.monitor === undefined ? 'earlyStopping' : 'earlyStopping.monitor',
      message:
        `crossValidation scores every round on its held-out fold, and earlyStopping (monitor ${monitor}) ` +
        `would choose the epochs on that same fold, so the estimate would be too optimistic`,
      hint: 'remove earlyStopping (fix epochs), or write earlyStopping.monitor: train.loss, or drop crossValidation',
    },
  ];
}

/**
 * What the training loop refuses beyond the schema (activities/fine-tune.ts `effectiveSettings`,
 * `trainingPlan`), decidable from literal inputs: `hyperparameters` laid over the settings must
 * still be valid settings, phase one must leave epochs for phase two, and a layer count to freeze
 * needs a base model whose layers the store can list.
 */
export function checkTrainingSettings(inputs: JsonObject): StageInputProblem[] {
  const overrides = ownObject(inputs.hyperparameters);
  if (overrides && Object.keys(overrides).length > 0) {
    const { hyperparameters: _overrides, ...rest } = inputs;
    const merged = { ...rest, ...overrides };
    const schemaProblems = checkValue(fromJson(merged), fineTuneInputs(), '').map((issue) => ({
      path:
        issue.path in overrides || issue.path.split(/[.[]/)[0]! in overrides
          ? `hyperparameters.${issue.path}`
          : issue.path,
      message: `with hyperparameters applied: ${issue.message}`,
      ...(issue.hint ? { hint: issue.hint } : {}),
    }));
    if (schemaProblems.length > 0) return schemaProblems;
    return checkTrainingSettings(merged).map((problem) => ({
      ...problem,
      message: `with hyperparameters applied: ${problem.message}`,
    }));
  }
  const problems: StageInputProblem[] = [];
  const epochs = inputs.epochs ?? 10;
  const twoPhase = inputs.twoPhase;
  const phaseOne = twoPhase === true ? 3 : (ownObject(twoPhase)?.headEpochs ?? 3);
  if ((twoPhase === true || ownObject(twoPhase)) && typeof epochs === 'number' && typeof phaseOne === 'number') {
    if (phaseOne >= epochs)
      problems.push({
        path: twoPhase === true ? 'twoPhase' : 'twoPhase.headEpochs',
        message: `twoPhase.headEpochs (${phaseOne}) must be less than epochs (${epochs}), or there is no second phase`,
        hint: `raise epochs above ${phaseOne}, or write twoPhase: {headEpochs: ${Math.max(1, epochs - 1)}}`,
      });
  }
  const model = inputs.model;
  if (
    typeof inputs.freeze === 'number' &&
    typeof model === 'string' &&
    isLiteral(model) &&
    !/^(s3|registry):\/\//.test(model)
  ) {
    problems.push({
      path: 'freeze',
      message: `freeze: a layer count needs a base model in the store (s3:// or registry://) to count its layers; ${model} is not`,
      hint: 'name the layers to freeze, e.g. freeze: [conv1, conv2], or load the base model from s3:// or registry://',
    });
  }
  const trains =
    inputs.architecture === undefined
      ? 'fine-tunes a base model, whose layers are fixed'
      : `trains ${String(inputs.architecture)}`;
  for (const key of ['hiddenUnits', 'hiddenLayers'] as const)
    if (inputs[key] !== undefined && inputs.architecture !== 'mlp')
      problems.push({
        path: key,
        message: `${key} shapes an mlp trained from scratch; this ${trains}`,
        hint: `remove ${key}, or train an mlp from scratch with architecture: mlp`,
      });
  if (inputs.head === 'keep') {
    const conflicts = [
      ...(inputs.architecture !== undefined ? ['architecture (no base model, so no head to keep)'] : []),
      ...(Array.isArray(inputs.headUnits) && inputs.headUnits.length > 0 ? ['headUnits'] : []),
      ...(typeof inputs.dropout === 'number' && inputs.dropout > 0 ? ['dropout'] : []),
    ];
    if (conflicts.length > 0)
      problems.push({
        path: 'head',
        message:
          `head: keep keeps the base model's head as it is, but ${conflicts.join(' and ')} ` +
          `${conflicts.length > 1 ? 'ask' : 'asks'} for a new one`,
        hint: `remove ${conflicts.map((c) => c.split(' ')[0]).join(' and ')}, or write head: replace`,
      });
  }
  for (const key of ['convFilters', 'denseUnits'] as const)
    if (inputs[key] !== undefined && !CNN_ARCHITECTURES.includes(String(inputs.architecture)))
      problems.push({
        path: key,
        message: `${key} shapes a small CNN trained from scratch; this ${trains}`,
        hint: `remove ${key}, or train a CNN from scratch with architecture: small-cnn or small-cnn-global-pool`,
      });
  return problems;
}

/**
 * The training settings of a sweep's `trial`: a trial's checkpoint cadence is fixed (see trialCheckpointCadence), so
 * `everyEpochs` has no default here (the reference, the JSON schema and the SDK would offer one the sweep refuses).
 */
const TRIAL_TRAINING_PROPERTIES: { readonly [name: string]: InputSchema } = (() => {
  const checkpoint = TRAINING_PROPERTIES.checkpoint as ObjectSchema;
  const { default: _refusedInTrials, ...everyEpochs } = checkpoint.properties?.everyEpochs ?? {};
  return {
    ...TRAINING_PROPERTIES,
    architecture: {
      ...ARCHITECTURE_INPUT,
      description:
        'every trial trains this built-in architecture from random weights instead of fine-tuning the ' +
        "sweep's `model` (give one of the two); `space` can search hiddenUnits and hiddenLayers of an mlp, " +
        'convFilters and denseUnits of a small CNN',
    },
    checkpoint: {
      ...checkpoint,
      properties: {
        ...checkpoint.properties,
        everyEpochs: {
          ...everyEpochs,
          description: 'not for sweep trials (a validation error): a trial checkpoints every epoch; set keepLast',
        } as InputSchema,
      },
    },
  };
})();

function fineTuneInputs(): ObjectSchema {
  return (registry.get('fine-tune') ?? BUILTIN_STAGE_TYPES.find((d) => d.name === 'fine-tune'))!.inputs;
}

/**
 * The search space against the trial's input schema: every value a trial can receive, laid over
 * the trial settings as the sweep does (src/core/sweep/sweep-plan.ts `trialSettings`), must pass
 * fine-tune's own input check, or every trial drawing it fails.
 */
/** `gp:` settings on a sweep whose algorithm is not gp would be ignored silently: say so. */
function strayGpSettings(inputs: JsonObject): StageInputProblem[] {
  if (!ownObject(inputs.gp) || inputs.algorithm === 'gp') return [];
  const algorithm = String(inputs.algorithm ?? 'tpe');
  return [
    {
      path: 'gp',
      message: `gp settings apply to Gaussian-process search, but algorithm is ${algorithm}`,
      hint: 'set algorithm: gp, or remove gp',
    },
  ];
}

function checkSweepSpace(inputs: JsonObject): StageInputProblem[] {
  const space = ownObject(inputs.space);
  if (!space) return [];
  const problems: StageInputProblem[] = [];
  if ('epochs' in space)
    problems.push({
      path: 'space.epochs',
      message: 'space.epochs: the trial budget cannot be searched',
      hint:
        'remove space.epochs and set trial.epochs (or earlyStopping.maxEpochs); early stopping ' +
        'shortens weak trials',
    });
  const trial = ownObject(inputs.trial) ?? {};
  const budget = ownObject(inputs.earlyStopping)?.maxEpochs ?? trial.epochs ?? 10;
  const { epochs: _epochs, checkpoint: _checkpoint, ...trialRest } = trial;
  // The trial's model and data are resolved at run time; stand-ins of the right kind keep them out of the verdict.
  const model = typeof inputs.model === 'string' && isLiteral(inputs.model) ? inputs.model : 's3://fineflow/base/';
  const base: JsonObject = { ...trialRest, model, data: 's3://fineflow/data/', epochs: budget };
  // The trial settings alone, with the budget as epochs, as every trial gets them.
  const trialProblems = checkTrainingSettings(base);
  if (trialProblems.length > 0)
    return [
      ...problems,
      ...trialProblems.map((p) => ({
        ...p,
        path: `trial.${p.path}`,
        message: `every trial would fail (it trains ${String(budget)} epochs): ${p.message}`,
      })),
    ];
  const schema = fineTuneInputs();
  for (const [name, entry] of Object.entries(space)) {
    const setting = ownValue(TRAINING_PROPERTIES, name);
    if (!setting || name === 'epochs' || !isLiteral(entry)) continue;
    const candidates = spaceCandidates(entry);
    if ('continuous' in candidates) {
      problems.push(...checkContinuous(name, candidates.continuous, entry as JsonObject, setting, base));
      continue;
    }
    for (const { value, where } of candidates) {
      const settings = { ...base, [name]: value };
      const issues = checkValue(fromJson(settings), schema, '').map((i) => i.message);
      const found = issues.length > 0 ? issues : checkTrainingSettings(settings).map((p) => p.message);
      const first = found[0];
      if (first !== undefined)
        problems.push({
          path: `space.${name}${where}`,
          message: `space.${name}${where}: a trial given ${JSON.stringify(value)} fails: ${first}`,
          hint: `every value must be ${describeSchema(setting)}`,
        });
    }
  }
  return problems;
}

/** A continuous range: the setting must take fractional numbers, and both ends must be allowed values. */
function checkContinuous(
  name: string,
  key: string,
  entry: JsonObject,
  setting: InputSchema,
  base: JsonObject,
): StageInputProblem[] {
  if (setting.type !== 'number')
    return [
      {
        path: `space.${name}.${key}`,
        message: `space.${name}: ${key} samples fractional numbers, but ${name} must be ${describeSchema(setting)}`,
        hint:
          setting.type === 'integer'
            ? `write ${name}: {int: [low, high]}`
            : `write ${name}: {choice: [...]} with values that are ${describeSchema(setting)}`,
      },
    ];
  const range = entry[key] as JsonValue[];
  const problems: StageInputProblem[] = [];
  range.forEach((value, i) => {
    if (typeof value !== 'number') return;
    const issues = checkValue(fromJson({ ...base, [name]: value }), fineTuneInputs(), '');
    if (issues.length > 0)
      problems.push({
        path: `space.${name}.${key}[${i}]`,
        message: `space.${name}: ${key} reaches ${value}, but ${name} must be ${describeSchema(setting)}`,
        hint: `keep both ends inside the allowed range: ${describeSchema(setting)}`,
      });
  });
  return problems;
}

/** No base model for a table or an image set of one's own: what a sweep's trials can fine-tune instead. */
const NO_BASE_MODEL_HINT =
  'with no base model, let every trial train from random weights: `trial: {architecture: mlp}` (tables) or ' +
  "`small-cnn` (images), and search an mlp's `hiddenUnits` and `hiddenLayers` (a CNN's `convFilters` and " +
  '`denseUnits`) in `space`';

/**
 * A sweep of fine-tune trials (no `trialStage`): the base model and data every trial fine-tunes,
 * an objective the training loop measures, and a space of training settings.
 */
function fineTuneTrialProblems(inputs: JsonObject): StageInputProblem[] {
  const problems: StageInputProblem[] = [];
  const architecture = ownObject(inputs.trial)?.architecture;
  if (architecture !== undefined && inputs.model !== undefined)
    problems.push({
      path: 'trial.architecture',
      message:
        "give either the sweep's `model` (trials fine-tune it) or trial.architecture (trials train from " +
        'scratch), not both',
      hint: 'remove model to train every trial from random weights, or remove trial.architecture to fine-tune model',
    });
  for (const key of ['model', 'data'] as const)
    if (inputs[key] === undefined && !(key === 'model' && architecture !== undefined))
      problems.push({
        path: key,
        code: 'missing-input',
        message:
          `${key} is required: the ${key === 'model' ? 'base model' : 'prepared dataset'} every fine-tune ` +
          `trial trains on`,
        hint:
          `add ${key}: ${key === 'model' ? '${{ stages.select.outputs.model }}' : '${{ stages.prepare.outputs.dataset }}'} under with:, or make the trials another stage type with trialStage: {uses: command, with: {…}}` +
          (key === 'model' ? `; ${NO_BASE_MODEL_HINT}` : ''),
      });
  const metric = ownObject(inputs.objective)?.metric;
  if (typeof metric === 'string' && !(OBJECTIVE_METRICS as readonly string[]).includes(metric))
    problems.push({
      path: 'objective.metric',
      message: `objective.metric ${JSON.stringify(metric)} is not measured by a fine-tune trial`,
      hint: Object.prototype.hasOwnProperty.call(KERAS_METRIC_NAMES, metric)
        ? `write \`${KERAS_METRIC_NAMES[metric] as string}\` (Fineflow's name for \`${metric}\`)`
        : `write one of ${OBJECTIVE_METRICS.join(', ')}${unknownNameSuffix(metric)}`,
    });
  return [...problems, ...trialCheckpointCadence(inputs), ...checkSweepSpace(inputs)];
}

/**
 * A sweep trial writes a checkpoint at the end of every epoch whatever it asks (src/core/sweep/sweep-plan.ts): each
 * segment up to a rung must end on one the next segment or a retry resumes from. Another cadence would be ignored.
 */
function trialCheckpointCadence(inputs: JsonObject): StageInputProblem[] {
  const checkpoint = ownObject(ownObject(inputs.trial)?.checkpoint);
  if (checkpoint?.everyEpochs === undefined) return [];
  return [
    {
      path: 'trial.checkpoint.everyEpochs',
      message:
        'trial.checkpoint.everyEpochs has no effect: a sweep trial checkpoints at the end of every epoch, ' +
        'because each of its segments (up to an early-stopping rung) ends on the checkpoint ' +
        'the next segment or a retry resumes from',
      hint:
        'remove trial.checkpoint.everyEpochs; trial.checkpoint.keepLast sets how many checkpoints a trial keeps ' +
        '(default 2, plus its best epoch)',
    },
  ];
}

/** ` (did you mean X?)` for a near miss of an objective metric, else nothing. */
function unknownNameSuffix(metric: string): string {
  const hint = unknownNameHint(metric, [...OBJECTIVE_METRICS], 'metrics');
  return /did you mean/i.test(hint) ? `; ${hint}` : '';
}

/** What the sweep workflow refuses before its first trial (src/core/sweep/sweep-plan.ts), for literal inputs. */
function sweepPlanProblems(inputs: JsonObject): StageInputProblem[] {
  const { model: _model, data: _data, ...rest } = inputs;
  if (!isLiteral(rest)) return [];
  try {
    // Stand-ins for the URIs (often `${{ }}` references); a from-scratch sweep (trial.architecture) has no model.
    const fromScratch = ownObject(rest.trial)?.architecture !== undefined;
    planSweep({ ...rest, ...(fromScratch ? {} : { model: 's3://fineflow/base/' }), data: 's3://fineflow/data/' });
    return [];
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const where = error.details.field ?? error.details.path;
    return [
      {
        path: typeof where === 'string' ? where : '',
        message: error.message,
        ...(typeof error.details.hint === 'string' ? { hint: error.details.hint } : {}),
        ...(typeof error.details.code === 'string' ? { code: error.details.code } : {}),
      },
    ];
  }
}

function checkRange(entry: JsonObject, key: string, name: string): StageInputProblem[] {
  const range = entry[key];
  if (!Array.isArray(range) || range.length !== 2) return [];
  const [low, high] = range as readonly unknown[];
  if (typeof low === 'number' && typeof high === 'number' && !(low < high)) {
    return [
      {
        path: `space.${name}.${key}`,
        message: `space.${name}: ${key} [${low}, ${high}] is empty`,
        hint: 'write [low, high] with low < high',
      },
    ];
  }
  return [];
}

/** Credential for http(s):// model sources: a secret, sent as the Authorization header to their origin only. */
const MODEL_AUTH_INPUT: InputSchema = {
  type: 'string',
  secret: true,
  description:
    'Authorization header value (e.g. `Bearer …`) for http(s):// models of this stage, sent only to their origin; ' +
    'must be ${{ secrets.NAME }}',
};

export const BUILTIN_STAGE_TYPES: readonly StageTypeDefinition[] = [
  {
    name: 'select-model',
    version: '1.0.0',
    description:
      'Rank candidate pre-trained models for the target data (linear probe or kNN on frozen features) ' +
      'and pick the best.',
    inputs: {
      type: 'object',
      properties: {
        candidates: {
          type: 'array',
          items: modelUri('a candidate base model'),
          minItems: 1,
          description: 'base models to choose from: registry://NAME@ALIAS, s3://, file://, http(s)://',
        },
        data: datasetUri(
          'prepared dataset (a prepare-data `dataset`) to rank the candidates on; without it the first ' +
            'loadable candidate wins',
        ),
        rankBy: {
          type: 'enum',
          values: ['linear-probe', 'knn'],
          default: 'linear-probe',
          description: 'score of a candidate: accuracy of a linear probe or of kNN on its frozen features',
        },
        sampleSize: {
          type: 'integer',
          minimum: 1,
          maximum: 100_000,
          default: 512,
          description: 'examples sampled from the training split for ranking',
        },
        k: {
          type: 'integer',
          minimum: 1,
          maximum: 100_000,
          default: 5,
          description: 'neighbours that vote for rankBy: knn (leave-one-out on the sample)',
        },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 0, description: 'seed of the sample' },
        auth: MODEL_AUTH_INPUT,
        fromScratch: {
          type: 'boolean',
          default: true,
          description:
            'also probe each architecture with fresh random weights (training from scratch) and estimate the ' +
            'transfer gain; needs `data`',
        },
        requireTransferGain: {
          type: 'boolean',
          default: false,
          description:
            'fail the stage when the winner is not expected to beat training from scratch (gain estimate at or below ' +
            'zero), before fine-tuning spends the compute',
        },
      },
      required: ['candidates'],
    },
    outputs: {
      model: { type: 'uri', description: 'URI of the winning candidate' },
      ranking: {
        type: 'array',
        description:
          'every candidate with its score (and fromScratchScore, transferGain), or the reason it failed to ' +
          'load, best first',
      },
      fromScratch: {
        type: 'object',
        description: "the from-scratch candidate: the winner's architecture with random weights, probed the same way",
      },
      transferGain: {
        type: 'object',
        description:
          "the winner's probe accuracy minus the from-scratch candidate's on the same examples: {candidate, " +
          'estimate, low, high, confidence}',
      },
      recommendation: {
        type: 'string',
        description: 'fine-tune when the winner is expected to beat training from scratch, else from-scratch',
      },
      warnings: { type: 'array', description: 'why transfer may not pay off on this data' },
    },
  },
  {
    name: 'prepare-data',
    // 1.1: reads exactly one dataset version (entries of 1.0 read whatever the prefix held).
    // 1.2: the manifest carries the fitted preprocessing; normalize honoured for tables; naValues; alpha composited.
    // 1.3: fixed validation / test sets (split.validationSource, split.testSource).
    version: '1.3.0',
    description: 'Read, clean, encode and split a dataset, and write sharded tensors plus a manifest to the store.',
    inputs: {
      type: 'object',
      properties: {
        source: {
          // prepare-data reads raw data from the object store only (activities/prepare-data.ts).
          type: 'uri',
          schemes: ['s3'],
          description:
            'where the raw data lives, e.g. s3://datasets/defects/ (push local files with `fineflow data push DIR ' +
            's3://…`); pin a dataset version with s3://datasets/defects/@<version> (`fineflow data versions`)',
        },
        format: {
          type: 'enum',
          values: ['image-folder', 'csv', 'jsonl'],
          description: 'image-folder: one folder per label; csv / jsonl: one example per row',
        },
        image: {
          type: 'object',
          description: 'image decoding (image-folder)',
          properties: {
            size: {
              type: 'array',
              items: { type: 'integer', minimum: 1, maximum: 1024 },
              minItems: 2,
              maxItems: 2,
              default: [32, 32],
              description: '[height, width] images are resized to',
            },
            channels: { type: 'enum', values: [1, 3], default: 1, description: '1 = grayscale, 3 = RGB' },
            background: {
              type: 'array',
              items: { type: 'integer', minimum: 0, maximum: 255 },
              minItems: 3,
              maxItems: 3,
              default: [255, 255, 255],
              description: 'RGB that transparent pixels are composited onto',
            },
          },
        },
        labelColumn: { type: 'string', minLength: 1, description: 'column (csv) or field (jsonl) holding the label' },
        featureColumns: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          minItems: 1,
          description: 'columns used as features (default: every column except the label)',
        },
        split: {
          type: 'object',
          description:
            'train / validation / test fractions of the source, summing to 1; or fixed validation / test sets from ' +
            'their own sources',
          properties: {
            // No schema defaults: they depend on the fixed sets (src/datasets/split-sources.ts splitFractionsOf).
            train: fraction(
              'fraction for training; default 0.7, or what validation and test leave when a fixed set is given',
            ),
            validation: fraction(
              'fraction for validation (early stopping, sweeps); default 0.15, 0 with validationSource',
            ),
            test: fraction('fraction held out for evaluate; default 0.15, 0 with testSource'),
            stratify: { type: 'boolean', default: true, description: 'keep class proportions equal across splits' },
            seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 0, description: 'seed of the split' },
            column: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              description:
                "csv/jsonl column naming each row's split (train, validation or test): your own split; fractions are " +
                'then ignored and the column is not a feature',
            },
            validationSource: {
              type: 'uri',
              schemes: ['s3'],
              description:
                'a fixed validation set: a prefix or object of the same format, read as a dataset version like ' +
                '`source` (pin it with @<version>); the source then gives no validation fraction',
            },
            testSource: {
              type: 'uri',
              schemes: ['s3'],
              description:
                'a fixed test set (the one you report on, whatever the training data becomes): read like ' +
                'validationSource; the source then gives no test fraction',
            },
          },
        },
        clean: {
          type: 'object',
          description: 'what to drop (dropped rows are counted in the report, with examples)',
          properties: {
            dropDuplicates: { type: 'boolean', default: true, description: 'drop exact duplicate examples' },
            dropInvalid: {
              type: 'boolean',
              default: true,
              description: 'quarantine unreadable images and malformed rows instead of failing',
            },
            missing: {
              type: 'enum',
              values: ['impute', 'drop'],
              default: 'impute',
              description: 'missing numeric cells: impute the training mean (stored with the model) or drop the row',
            },
          },
        },
        limitPerClass: {
          type: 'integer',
          minimum: 1,
          maximum: 10_000_000,
          description: 'keep at most this many training examples per class (small labelled sets)',
        },
        normalize: {
          type: 'boolean',
          default: true,
          description:
            'standardise numeric features (tables) or pixels per channel (images) with statistics of the training ' +
            'split; stored with the model',
        },
        delimiter: {
          type: 'enum',
          values: [',', ';', 'tab', '|'],
          description: 'CSV field delimiter (default: sniffed from the header line)',
        },
        quality: {
          type: 'object',
          description:
            'data-quality checks: fail stops the stage listing every finding, after writing the data report ' +
            'with them (`stoppedBy`, no splits); warn counts and lists them in the data report and the log',
          properties: {
            headerMismatch: policyEnum(
              ['fail', 'warn'],
              'fail',
              'CSV files with other columns than the first (warn: skipped)',
            ),
            unsupportedFiles: policyEnum(
              ['fail', 'warn'],
              'fail',
              'image-folder files that are not PNG/JPEG (warn: skipped)',
            ),
            // No schema default: it follows clean.dropInvalid unless set.
            corruptFiles: {
              type: 'enum',
              values: ['fail', 'warn'],
              description:
                'undecodable images and unparseable rows; default warn (quarantined and listed), fail when ' +
                'clean.dropInvalid is false',
            },
            nestedFolders: policyEnum(
              ['fail', 'flatten'],
              'fail',
              'images below their class folder (labels come from the first folder level; flatten: keep them in it)',
            ),
            blankImages: policyEnum(
              ['fail', 'warn', 'drop'],
              'warn',
              'images of a single colour after alpha compositing',
            ),
            conflictingLabels: policyEnum(
              ['fail', 'warn', 'drop'],
              'fail',
              'identical examples with different labels (warn: first label wins; drop: every copy)',
            ),
            smallClasses: policyEnum(
              ['fail', 'warn'],
              'fail',
              'classes too small to reach every split with a fraction',
            ),
            imbalance: policyEnum(['fail', 'warn'], 'warn', 'largest/smallest class above maxImbalance'),
            maxImbalance: {
              type: 'number',
              minimum: 1,
              maximum: 1_000_000,
              default: 10,
              description: 'imbalance threshold',
            },
          },
        },
        naValues: {
          type: 'array',
          items: { type: 'string', maxLength: 100 },
          maxItems: 100,
          default: ['NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?', '-'],
          description: 'cells read as missing (besides the empty cell); stored with the model',
        },
        shardSize: {
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          default: 1024,
          description: 'examples per shard written to the store',
        },
      },
      required: ['source', 'format'],
    },
    outputs: {
      dataset: { type: 'uri', description: 'manifest of the prepared, sharded dataset' },
      report: { type: 'uri', description: 'data report: class balance, missing values, dropped examples' },
      classes: { type: 'array', description: 'label names, in encoding order' },
      counts: { type: 'object', description: 'examples per split and class' },
      datasetVersion: {
        type: 'string',
        description:
          "id of the dataset version read (pinned, the new-data trigger's, or the source sealed at the start)",
      },
    },
    checkInputs(inputs) {
      const problems: StageInputProblem[] = [];
      const pinProblem = typeof inputs.source === 'string' ? pinnedSourceProblem(inputs.source) : undefined;
      if (typeof inputs.source === 'string' && /^s3:\/\/[^/]*\/(?:.*\/)?\.\.?(?:\/|$)/.test(inputs.source))
        problems.push({
          path: 'source',
          message: `source ${inputs.source} has a '.' or '..' segment; dataset paths name their prefix directly`,
          hint: 'write the prefix without . or .., e.g. s3://datasets/defects/',
        });
      if (pinProblem)
        problems.push({
          path: 'source',
          message: pinProblem,
          hint: 'list the versions of the prefix with `fineflow data versions s3://bucket/prefix/`',
        });
      const split = inputs.split;
      const splitObject = split && typeof split === 'object' && !Array.isArray(split) ? (split as JsonObject) : {};
      problems.push(...splitProblems(inputs.source, splitObject));
      if ((inputs.format === 'csv' || inputs.format === 'jsonl') && inputs.labelColumn === undefined) {
        problems.push({
          path: 'labelColumn',
          message: `format ${String(inputs.format)} needs \`labelColumn\``,
          hint: 'add labelColumn: <name of the label column>',
        });
      }
      if (
        inputs.format === 'image-folder' &&
        (inputs.labelColumn !== undefined || inputs.featureColumns !== undefined)
      ) {
        problems.push({
          path: inputs.labelColumn !== undefined ? 'labelColumn' : 'featureColumns',
          message: 'image-folder takes labels from folder names; columns do not apply',
          hint: 'remove labelColumn / featureColumns, or use format: csv',
        });
      }
      return problems;
    },
  },
  {
    name: 'fine-tune',
    // 1.1: early stopping ends only the phase it triggers in; 1.2: `head: auto` keeps a base's head for its own classes
    version: '1.2.0',
    description:
      "Adapt a base model to a prepared dataset: a new head (or the base's own for the same classes), " +
      'freeze/unfreeze, optional two phases, early stopping, checkpoints that survive retries.',
    inputs: {
      type: 'object',
      properties: {
        model: modelUri('base model to start from (give this or `architecture`)'),
        architecture: ARCHITECTURE_INPUT,
        data: datasetUri('prepared dataset (a prepare-data `dataset`)'),
        hyperparameters: {
          type: 'object',
          additionalProperties: { type: 'any' },
          description: "overrides of the training settings below, e.g. a sweep's `best`",
        },
        auth: MODEL_AUTH_INPUT,
        ...TRAINING_PROPERTIES,
        crossValidation: {
          type: 'object',
          description:
            'before the final model, train once per fold of a stratified k-fold split of the train and validation ' +
            'examples and score each held-out fold: the mean and interval go to output `crossValidation`',
          properties: {
            folds: { type: 'integer', minimum: 2, maximum: 20, default: 5, description: 'folds (k)' },
            repeats: {
              type: 'integer',
              minimum: 1,
              maximum: 10,
              default: 1,
              description: 'repeat the k folds with freshly shuffled folds (repeated k-fold)',
            },
            confidence: {
              type: 'number',
              minimum: 0.5,
              maximum: 0.999,
              default: 0.95,
              description: 'coverage of the interval of the mean',
            },
            seed: {
              type: 'integer',
              minimum: 0,
              maximum: 4_294_967_295,
              description: 'seed of the fold assignment (repeat r uses seed + r − 1); default the training seed',
            },
          },
        },
      },
      required: ['data'],
    },
    outputs: {
      model: { type: 'uri', description: 'the fine-tuned model (tfjs LayersModel) in the store' },
      metrics: {
        type: 'object',
        description:
          'train and validation metrics of the saved weights (epoch weightsEpoch: the best one when early stopping ' +
          'restores it, else the last); bestEpoch is the best by the monitored metric',
      },
      history: { type: 'array', description: 'metrics per epoch' },
      backend: { type: 'string', description: 'tfjs backend that trained the model (tensorflow or cpu)' },
      engine: {
        type: 'string',
        description: 'how training steps ran: graph (one TensorFlow graph per step) or eager (tfjs op by op)',
      },
      checkpoint: { type: 'uri', description: 'last checkpoint written' },
      crossValidation: {
        type: 'object',
        description:
          'with input crossValidation: accuracy and loss on the held-out folds ({mean, std, low, high, confidence, ' +
          'scores}) and every round',
      },
    },
    checkInputs(inputs) {
      if ((inputs.model === undefined) === (inputs.architecture === undefined)) {
        return [
          {
            path: inputs.model === undefined ? '' : 'architecture',
            message:
              inputs.model === undefined
                ? 'give `model` (a base to fine-tune) or `architecture` (train from scratch)'
                : 'give either `model` or `architecture`, not both',
            hint: 'model: registry://NAME@ALIAS to fine-tune; architecture: small-cnn to pretrain',
          },
        ];
      }
      return [...checkTrainingSettings(inputs), ...checkCrossValidation(inputs)];
    },
  },
  {
    name: 'evaluate',
    // 1.1.0: bootstrap intervals, classic baselines, curves and misclassified examples in the report.
    version: '1.1.0',
    description:
      'Score a model on held-out data, per class and per slice, compare with baselines, and gate on a metric.',
    inputs: {
      type: 'object',
      properties: {
        model: modelUri('model to evaluate'),
        data: datasetUri('prepared dataset (a prepare-data `dataset`)'),
        split: { type: 'enum', values: ['test', 'validation'], default: 'test', description: 'split to evaluate on' },
        metrics: {
          type: 'array',
          items: {
            type: 'enum',
            values: ['accuracy', 'precision', 'recall', 'f1', 'confusionMatrix', 'rocAuc', 'calibrationError'],
          },
          minItems: 1,
          default: ['accuracy', 'f1', 'confusionMatrix'],
          description: 'metrics to compute (precision/recall/f1 macro and per class)',
        },
        slices: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
          description: 'columns or metadata to compute metrics per group, for bias checks',
        },
        baseline: modelUri(
          'model to compare with, e.g. registry://NAME@champion; a missing alias is reported, not fatal',
        ),
        predictions: {
          type: 'object',
          additionalProperties: { type: 'uri', schemes: ['s3'] },
          description:
            'name → s3:// predictions file (fineflow-predictions/v1) of another model on the same split, e.g. a ' +
            'scikit-learn baseline run by a `command` stage; scored with the same metrics into `comparison.predictions.<name>`',
        },
        auth: MODEL_AUTH_INPUT,
        classicBaselines: {
          type: 'array',
          items: { type: 'enum', values: ['majority', 'logistic-regression'] },
          default: ['majority', 'logistic-regression'],
          description:
            'classic baselines trained on the training split and scored on the same examples ([] for none); a gate ' +
            'names them in `beat`',
        },
        bootstrap: {
          type: 'object',
          description: 'percentile bootstrap confidence intervals on every metric and on each difference to a baseline',
          properties: {
            resamples: {
              type: 'integer',
              minimum: 0,
              maximum: 10_000,
              default: 1000,
              description: 'resamples of the evaluated examples; 0 turns intervals off',
            },
            confidence: {
              type: 'number',
              minimum: 0.5,
              maximum: 0.999,
              default: 0.95,
              description: 'coverage of each interval',
            },
          },
        },
        misclassified: {
          type: 'integer',
          minimum: 0,
          maximum: 100,
          default: 12,
          description: 'misclassified examples shown in the report (thumbnails for images, rows for tables)',
        },
        fromScratch: {
          type: 'oneOf',
          description: 'also train the same architecture from random weights on the same data, for comparison',
          variants: [
            { type: 'boolean' },
            {
              type: 'object',
              properties: {
                epochs: {
                  type: 'integer',
                  minimum: 1,
                  maximum: 10_000,
                  default: 10,
                  description: 'epochs of the from-scratch model',
                },
                learningRate: {
                  type: 'number',
                  exclusiveMinimum: 0,
                  maximum: 10,
                  default: 0.001,
                  description: 'its learning rate',
                },
                batchSize: { type: 'integer', minimum: 1, maximum: 65_536, default: 32, description: 'its batch size' },
                seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 0, description: 'its seed' },
              },
            },
          ],
        },
        gate: {
          type: 'object',
          description: 'what `passed` requires',
          properties: {
            metric: {
              type: 'enum',
              values: [...new Set([...Object.keys(GATE_METRICS), ...Object.values(GATE_METRICS)])],
              default: 'accuracy',
              description: 'metric the gate looks at',
            },
            min: {
              type: 'number',
              minimum: -1_000_000_000,
              maximum: 1_000_000_000,
              description: 'lowest acceptable value',
            },
            max: {
              type: 'number',
              minimum: -1_000_000_000,
              maximum: 1_000_000_000,
              description: 'highest acceptable value (for losses, error rates)',
            },
            beatBaseline: {
              type: 'boolean',
              default: false,
              description: 'also require beating `baseline` (when it exists)',
            },
            minImprovement: {
              type: 'number',
              minimum: 0,
              maximum: 1_000_000,
              default: 0,
              description: 'margin by which the baseline must be beaten',
            },
            beat: {
              type: 'array',
              items: { type: 'enum', values: ['baseline', 'from-scratch', 'majority', 'logistic-regression'] },
              description:
                'baselines that must be beaten on `metric` (by `minImprovement`); one that was not ' +
                'evaluated fails the gate',
            },
          },
        },
        seed: {
          type: 'integer',
          minimum: 0,
          maximum: 4_294_967_295,
          default: 0,
          description: 'seed for anything random (calibration bins, from-scratch training)',
        },
      },
      required: ['model', 'data'],
    },
    outputs: {
      passed: { type: 'boolean', description: 'whether the gate passed (true without a gate)' },
      metrics: { type: 'object', description: 'every metric computed, overall, per class and per slice' },
      report: { type: 'uri', description: 'HTML + JSON report with learning curves and the confusion matrix' },
      comparison: { type: 'object', description: 'metrics of the baseline and the from-scratch model, when requested' },
    },
    checkInputs: checkGate,
  },
  {
    name: 'hyperparameter-sweep',
    version: '1.1.0', // 1.1: a trial fine-tuning a base on its own classes keeps its head (fine-tune's head: auto)
    description:
      'Search training settings with grid, random, TPE or Gaussian-process search, stopping weak trials early ' +
      'with ASHA or the median rule.',
    inputs: {
      type: 'object',
      properties: {
        model: modelUri('base model every trial fine-tunes'),
        data: datasetUri('prepared dataset (a prepare-data `dataset`)'),
        objective: {
          type: 'object',
          description: 'what the sweep optimises',
          properties: {
            metric: {
              type: 'string',
              pattern: TRIAL_METRIC_PATTERN.source,
              maxLength: 128,
              description:
                `fine-tune trials: what every trial measures each epoch ` +
                `(${OBJECTIVE_METRICS.join(', ')}); trialStage trials: a key of the trial's outputs.metrics or a dotted path into its outputs`,
            },
            goal: { type: 'enum', values: ['maximize', 'minimize'], default: 'maximize', description: 'direction' },
            target: {
              type: 'number',
              minimum: -1_000_000_000,
              maximum: 1_000_000_000,
              description:
                'stop starting trials once a completed trial reaches this value (≥ when maximizing, ≤ when ' +
                'minimizing) and minTrials have completed; running trials finish (Katib calls it the objective goal)',
            },
          },
          required: ['metric'],
        },
        algorithm: {
          type: 'enum',
          values: ['grid', 'random', 'tpe', 'gp'],
          default: 'tpe',
          description: 'search algorithm (gp: Gaussian-process Bayesian optimisation, opt-in)',
        },
        gp: {
          type: 'object',
          description: 'Gaussian-process search settings (algorithm: gp)',
          properties: {
            startupTrials: {
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              default: 10,
              description: 'random trials before the Gaussian process takes over',
            },
            candidates: {
              type: 'integer',
              minimum: 1,
              maximum: 4096,
              default: 256,
              description:
                'random points scored by log expected improvement per suggestion ' +
                '(plus 96 perturbations of the best three trials)',
            },
          },
        },
        tpe: {
          type: 'object',
          description: 'TPE settings',
          properties: {
            startupTrials: {
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              default: 10,
              description: 'random trials before TPE takes over',
            },
            candidates: {
              type: 'integer',
              minimum: 1,
              maximum: 4096,
              default: 24,
              description: 'samples scored by expected improvement per suggestion',
            },
            gamma: {
              type: 'number',
              exclusiveMinimum: 0,
              exclusiveMaximum: 1,
              default: 0.1,
              description:
                'share of the finished trials that form the good group (⌈gamma·n⌉, at most 25); Optuna’s default 0.1',
            },
            multivariate: {
              type: 'boolean',
              default: false,
              description:
                'model the parameters jointly (one kernel per trial over all parameters, as Optuna ' +
                'multivariate=True): values that worked together are proposed together',
            },
          },
        },
        earlyStopping: {
          type: 'object',
          description: 'stop weak trials early',
          properties: {
            type: {
              type: 'enum',
              values: ['asha', 'median', 'none'],
              default: 'none',
              description: 'asha: successive halving rungs; median: stop below the median of earlier trials',
            },
            reductionFactor: {
              type: 'integer',
              minimum: 2,
              maximum: 100,
              default: 3,
              description: 'ASHA η: 1/η of the trials move up each rung',
            },
            minEpochs: {
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              default: 1,
              description: 'first rung, in epochs',
            },
            graceParameter: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              description:
                'asha: a warm-up parameter of the space (e.g. warmupEpochs); rungs ≤ its value skip the trial (opt-in)',
            },
            auditEvery: {
              type: 'integer',
              minimum: 2,
              maximum: 100,
              description:
                'asha: every N-th trial a rung would stop (after the startup trials) goes on to the next rung; a ' +
                'rung whose stopped trials keep passing it stops nobody (opt-in)',
            },
            promotion: {
              type: 'boolean',
              description: "asha: pause trials at rungs, resume a rung's top 1/η (default: true for fine-tune trials)",
            },
            maxEpochs: {
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              description: "last rung (default: the trial's epochs)",
            },
          },
        },
        maxTrials: { type: 'integer', minimum: 1, maximum: 10_000, default: 20, description: 'trials in total' },
        minTrials: {
          type: 'integer',
          minimum: 1,
          maximum: 10_000,
          default: 1,
          description: 'trials that must complete before reaching objective.target ends the sweep',
        },
        maxFailedTrials: {
          type: 'integer',
          minimum: 0,
          maximum: 10_000,
          default: 3,
          description: 'failed trials tolerated before the sweep fails',
        },
        parallelism: {
          type: 'integer',
          minimum: 1,
          maximum: 256,
          default: 2,
          description: 'trials running at once across the pool',
        },
        timeBudget: { type: 'duration', description: 'stop starting trials after this long' },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 0, description: 'seed of the search' },
        warmStart: {
          type: 'oneOf',
          description:
            'TPE only: seed the search with the finished trials of earlier sweeps of this pipeline stage; default none',
          variants: [
            { type: 'enum', values: ['none'], description: 'start cold' },
            {
              type: 'object',
              properties: {
                sweeps: {
                  type: 'integer',
                  minimum: 1,
                  maximum: SWEEP_HISTORY_LIMITS.sweeps,
                  default: WARM_START_DEFAULTS.sweeps,
                  description: 'earlier sweeps to read, newest first',
                },
                maxTrials: {
                  type: 'integer',
                  minimum: 1,
                  maximum: SWEEP_HISTORY_LIMITS.trials,
                  default: WARM_START_DEFAULTS.maxTrials,
                  description: 'their trials to use at most, newest first',
                },
              },
            },
          ],
        },
        space: {
          type: 'object',
          additionalProperties: SPACE_ENTRY,
          minProperties: 1,
          description:
            'training setting → distribution: {uniform: [a, b]}, {logUniform: [a, b]}, {int: [a, b]}, {choice: ' +
            '[...]}, {fixed: v} or a value',
        },
        trial: {
          type: 'object',
          properties: TRIAL_TRAINING_PROPERTIES,
          keyHints: {
            model: "write `model:` beside `trial:`, under the sweep's `with:`",
          },
          description: 'fine-tune settings of every trial (values in `space` override these)',
        },
        trialStage: {
          type: 'object',
          description:
            'make every trial a stage of another type instead of a fine-tune (then omit model, data and trial): ' +
            '`space` names are dotted paths into `with` (e.g. params.C)',
          properties: {
            uses: {
              type: 'string',
              pattern: '^[a-z][a-z0-9-]*$',
              maxLength: 64,
              description: 'stage type of every trial, e.g. command',
            },
            with: {
              type: 'object',
              additionalProperties: { type: 'any' },
              description: "the trial's inputs; each trial's sampled values are laid over them",
            },
          },
          required: ['uses'],
        },
      },
      required: ['objective', 'space'],
    },
    outputs: {
      best: { type: 'object', description: "the best trial's hyperparameters (feed to fine-tune `hyperparameters`)" },
      bestModel: { type: 'uri', description: "the best trial's model (fine-tune trials)" },
      bestOutputs: {
        type: 'object',
        description: "the best trial's outputs (trialStage trials), e.g. a command's values and artifacts",
      },
      bestMetric: { type: 'number', description: 'the objective value of the best trial' },
      trials: {
        type: 'array',
        description:
          'every trial: parameters, metric per rung, status, duration, workers, training `engines` (and why eager)',
      },
      results: { type: 'uri', description: 'results table (JSON and CSV) in the store' },
    },
    checkInputs(inputs) {
      const problems = inputs.trialStage === undefined ? fineTuneTrialProblems(inputs) : [];
      if (inputs.trialStage !== undefined)
        problems.push(...checkTrialStageSweep(inputs, getStageType, [...registry.keys()].sort()));
      const space = inputs.space;
      if (space && typeof space === 'object' && !Array.isArray(space)) {
        for (const [name, entry] of Object.entries(space as JsonObject)) {
          if (inputs.trialStage === undefined && !ownValue(TRAINING_PROPERTIES, name)) {
            problems.push({
              path: `space.${name}`,
              message: `space.${name} is not a training setting`,
              hint: unknownNameHint(name, Object.keys(TRAINING_PROPERTIES), 'training settings'),
            });
          }
          if (!entry || typeof entry !== 'object' || Array.isArray(entry)) continue;
          const e = entry as JsonObject;
          problems.push(
            ...checkRange(e, 'uniform', name),
            ...checkRange(e, 'logUniform', name),
            ...checkRange(e, 'int', name),
          );
          if (inputs.algorithm === 'grid' && ('uniform' in e || 'logUniform' in e)) {
            problems.push({
              path: `space.${name}`,
              message: `grid search cannot enumerate the continuous range of space.${name}`,
              hint: 'use {choice: [...]} or {int: [a, b]} with algorithm: grid, or switch to random / tpe',
            });
          }
        }
      }
      const stopping = ownObject(inputs.earlyStopping);
      if (
        stopping &&
        typeof stopping.minEpochs === 'number' &&
        typeof stopping.maxEpochs === 'number' &&
        stopping.minEpochs > stopping.maxEpochs
      ) {
        problems.push({
          path: 'earlyStopping.minEpochs',
          message: `earlyStopping.minEpochs (${stopping.minEpochs}) exceeds maxEpochs (${stopping.maxEpochs})`,
          hint: 'make minEpochs ≤ maxEpochs',
        });
      }
      if (ownObject(inputs.warmStart) && inputs.algorithm !== undefined && inputs.algorithm !== 'tpe') {
        problems.push({
          path: 'warmStart',
          message: `warmStart seeds TPE search, but algorithm is ${String(inputs.algorithm)}`,
          hint: 'set algorithm: tpe, or remove warmStart',
        });
      }
      problems.push(...strayGpSettings(inputs));
      if (
        typeof inputs.minTrials === 'number' &&
        typeof inputs.maxTrials === 'number' &&
        inputs.minTrials > inputs.maxTrials
      ) {
        problems.push({
          path: 'minTrials',
          message: `minTrials (${inputs.minTrials}) exceeds maxTrials (${inputs.maxTrials})`,
          hint: 'lower minTrials to at most maxTrials',
        });
      }
      if (
        typeof inputs.parallelism === 'number' &&
        typeof inputs.maxTrials === 'number' &&
        inputs.parallelism > inputs.maxTrials
      ) {
        problems.push({
          path: 'parallelism',
          message: `parallelism (${inputs.parallelism}) exceeds maxTrials (${inputs.maxTrials})`,
          hint: 'lower parallelism to at most maxTrials',
        });
      }
      return problems.length > 0 ? problems : sweepPlanProblems(inputs);
    },
  },
  {
    name: 'register-model',
    // 1.2: an unchanged registration applies its tags; concurrent registrations of one model add one version.
    version: '1.2.0',
    description:
      'Store a model in the registry as a new version with aliases and a model card (lineage, metrics, ' +
      'hyperparameters); a model with the files of the version an alias or latest names already adds none.',
    inputs: {
      type: 'object',
      properties: {
        model: modelUri('model to register'),
        name: {
          type: 'string',
          pattern: '^[a-z0-9][a-z0-9._-]*$',
          description: 'registry name: lower-case letters, digits, . _ -',
        },
        alias: {
          type: 'oneOf',
          description: 'alias(es) moved to the new version, e.g. champion',
          variants: [
            { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9._-]*$' },
            { type: 'array', items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9._-]*$' }, minItems: 1 },
          ],
        },
        description: { type: 'string', description: 'free text for the model card' },
        metrics: {
          type: 'object',
          additionalProperties: { type: 'any' },
          description: "metrics recorded in the card, e.g. an evaluate stage's `metrics`",
        },
        tags: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: "key/value labels, merged into the version's tags.json (also when the version is unchanged)",
        },
        lineage: {
          type: 'object',
          additionalProperties: { type: 'any' },
          description: 'extra lineage (dataset version, base model…) added to what the run records',
        },
      },
      required: ['model', 'name'],
    },
    outputs: {
      model: { type: 'uri', description: 'registry://NAME@VERSION of the new version (or of the unchanged one)' },
      version: { type: 'integer', description: 'the new version number (or the unchanged one)' },
      unchanged: {
        type: 'boolean',
        description:
          'true when the model has the files of the version an alias or latest names already, or of one a ' +
          'registration running at the same time adds: no version was added, the aliases and tags moved to it',
      },
    },
  },
  // Runs a program on the worker: src/spec/command-stage-type.ts, activities/command.ts.
  COMMAND_STAGE_TYPE,
  // Batch predictions: src/spec/predict-stage-type.ts, activities/predict.ts.
  PREDICT_STAGE_TYPE,
  // Webhook notifications (finally: stages): src/spec/notify-stage-type.ts, activities/notify.ts.
  NOTIFY_STAGE_TYPE,
  // Another pipeline file as a child run: src/spec/pipeline-stage-type.ts, src/spec/sub-pipelines.ts.
  PIPELINE_STAGE_TYPE,
];

// ---------------------------------------------------------------------------------------
// Registry

const registry = new Map<string, StageTypeDefinition>();
for (const definition of BUILTIN_STAGE_TYPES) registry.set(definition.name, definition);

const NAME = /^[a-z][a-z0-9-]*$/;
const VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Problems with a stage type definition, as text; empty when it is valid. */
export function checkStageTypeDefinition(candidate: unknown): string[] {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate))
    return ['a stage type must be an object'];
  const def = candidate as Record<string, unknown>;
  const label = typeof def.name === 'string' ? def.name : '<unnamed>';
  const problems: string[] = [];
  if (typeof def.name !== 'string' || !NAME.test(def.name))
    problems.push(`name must be lower-case letters, digits and dashes, got ${JSON.stringify(def.name)}`);
  if (typeof def.version !== 'string' || !VERSION.test(def.version))
    problems.push(`${label}: version must be semantic (1.2.3), got ${JSON.stringify(def.version)}`);
  if (typeof def.description !== 'string' || def.description.trim() === '')
    problems.push(`${label}: description must be a non-empty string`);
  const inputs = def.inputs as Record<string, unknown> | undefined;
  if (!inputs || inputs.type !== 'object')
    problems.push(`${label}: inputs must be an object schema ({type: object, properties: …})`);
  else problems.push(...checkSchemaDefinition(inputs, `${label}.inputs`));
  if (def.outputs === null || typeof def.outputs !== 'object' || Array.isArray(def.outputs))
    problems.push(`${label}: outputs must map output names to {type, description}`);
  else {
    for (const [name, output] of Object.entries(def.outputs as Record<string, unknown>)) {
      if (isReservedKey(name))
        problems.push(`${label}.outputs.${name}: \`${name}\` is a reserved name; ${RESERVED_KEY_HINT}`);
      const o = output as Record<string, unknown> | null;
      if (!o || !OUTPUT_TYPES.includes(o.type as OutputType))
        problems.push(`${label}.outputs.${name}.type must be one of ${OUTPUT_TYPES.join(', ')}`);
      if (!o || typeof o.description !== 'string')
        problems.push(`${label}.outputs.${name}.description must be a string`);
    }
  }
  if (def.checkInputs !== undefined && typeof def.checkInputs !== 'function')
    problems.push(`${label}: checkInputs must be a function`);
  return problems;
}

/**
 * Add (or replace) a stage type. Throws InvalidInputError listing every problem when the
 * definition is malformed.
 */
export function registerStageType(definition: StageTypeDefinition): void {
  const problems = checkStageTypeDefinition(definition);
  if (problems.length > 0)
    throw new InvalidInputError(`invalid stage type: ${problems.join('; ')}`, { stageType: definition?.name });
  registry.set(definition.name, definition);
}

export function getStageType(name: string): StageTypeDefinition | undefined {
  return registry.get(name);
}

/** Every registered stage type, sorted by name. */
export function listStageTypes(): StageTypeDefinition[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Load a team's stage type modules (paths resolvable by `require`), each exporting a
 * definition or an array of them (as `default`, `stageType` or `stageTypes`), validate and
 * register them. Returns the definitions loaded.
 */
export function loadStageTypeModules(paths: readonly string[]): StageTypeDefinition[] {
  const loaded: StageTypeDefinition[] = [];
  for (const modulePath of paths) {
    let exported: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(modulePath);
    } catch (error) {
      throw new InvalidInputError(
        `cannot load stage type module ${modulePath}: ${moduleLoadReason(modulePath, error)}`,
        { module: modulePath },
        { cause: error },
      );
    }
    const mod = exported as Record<string, unknown>;
    const candidate = mod.stageTypes ?? mod.stageType ?? mod.default ?? exported;
    const definitions = Array.isArray(candidate) ? candidate : [candidate];
    const problems = definitions.flatMap((d: unknown) => checkStageTypeDefinition(d));
    if (definitions.length === 0 || problems.length > 0) {
      throw new InvalidInputError(
        `stage type module ${modulePath} is invalid: ${problems.join('; ') || 'it exports no definitions'}`,
        { module: modulePath },
      );
    }
    for (const definition of definitions as StageTypeDefinition[]) {
      registry.set(definition.name, definition);
      loaded.push(definition);
    }
  }
  return loaded;
}

/** A registry snapshot to validate against: the global one, or an explicit list (tests, tools). */
export type StageTypeLookup = (name: string) => StageTypeDefinition | undefined;

export function stageTypeLookup(extra?: readonly StageTypeDefinition[]): {
  lookup: StageTypeLookup;
  names: () => string[];
} {
  const local = new Map((extra ?? []).map((d) => [d.name, d]));
  return {
    lookup: (name) => local.get(name) ?? registry.get(name),
    names: () => [...new Set([...registry.keys(), ...local.keys()])].sort(),
  };
}
