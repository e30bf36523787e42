/**
 * The `predict` stage type: batch predictions inside a pipeline. A model (an upstream stage's
 * `model` or a registry URI) scores raw records — images, CSV rows, JSONL objects — read from one
 * dataset version of an `s3://` prefix or object, and the predictions (class and one probability
 * per class) are written as one CSV or JSONL object. The implementation (activities/predict.ts)
 * shares every step with `fineflow predict`: src/ml/predict/.
 *
 * A file of its own, like ./command-stage-type.ts, so the registry (./stage-types.ts) gains one line.
 */
import { pinnedSourceProblem } from '../datasets/dataset-source';
import type { JsonObject } from '../core/spec/plan-types';
import type { StageInputProblem, StageTypeDefinition } from './stage-type-definition';

/** Bounds of the inputs; the activity enforces the same ones. */
export const PREDICT_LIMITS = Object.freeze({
  /** Records one stage scores before it fails (a prefix that grew by mistake must not run for days). */
  maxRecords: 50_000_000,
  defaultMaxRecords: 1_000_000,
  maxBatchSize: 4096,
  defaultBatchSize: 256,
});

const MODEL_SCHEMES = ['registry', 's3', 'file', 'http', 'https'];

function checkPredictInputs(inputs: JsonObject): StageInputProblem[] {
  const source = inputs.source;
  const problem = typeof source === 'string' ? pinnedSourceProblem(source) : undefined;
  return problem ? [{ path: 'source', message: problem }] : [];
}

export const PREDICT_STAGE_TYPE: StageTypeDefinition = {
  name: 'predict',
  version: '1.0.0',
  description:
    'Score raw records (images, CSV rows, JSONL objects) of a dataset with a model and its stored preprocessing; ' +
    'write the predictions with class probabilities.',
  inputs: {
    type: 'object',
    properties: {
      model: {
        type: 'uri',
        schemes: MODEL_SCHEMES,
        description:
          "model to score with: an upstream stage's `model`, registry://NAME@ALIAS|VERSION, or s3:// (its " +
          'preprocessing.json is applied)',
      },
      source: {
        type: 'uri',
        schemes: ['s3'],
        description:
          'records to score: an s3:// prefix (every .png/.jpg/.jpeg, .csv, .jsonl under it) or one object; pin a ' +
          'dataset version with s3://bucket/prefix/@<version> (`fineflow data versions`), else the prefix is sealed into a version first',
      },
      format: {
        type: 'enum',
        values: ['csv', 'jsonl'],
        default: 'csv',
        description:
          'predictions file: csv (`input,predicted,confidence,p_<class>…`) or jsonl (one object per record with ' +
          '`probabilities`)',
      },
      batchSize: {
        type: 'integer',
        minimum: 1,
        maximum: PREDICT_LIMITS.maxBatchSize,
        default: PREDICT_LIMITS.defaultBatchSize,
        description: 'records scored together',
      },
      maxRecords: {
        type: 'integer',
        minimum: 1,
        maximum: PREDICT_LIMITS.maxRecords,
        default: PREDICT_LIMITS.defaultMaxRecords,
        description: 'the stage fails (without partial output) when the source holds more records than this',
      },
    },
    required: ['model', 'source'],
  },
  outputs: {
    predictions: { type: 'uri', description: 's3:// URI of the predictions file (CSV or JSONL)' },
    count: { type: 'integer', description: 'records scored' },
    classCounts: { type: 'object', description: 'predicted class → number of records, every class listed' },
    classes: { type: 'array', description: "the model's class names, in probability-column order" },
    meanConfidence: { type: 'number', description: 'mean probability of the predicted class (0 with no records)' },
    datasetVersion: { type: 'string', description: 'id of the dataset version that was scored' },
  },
  checkInputs: checkPredictInputs,
};
