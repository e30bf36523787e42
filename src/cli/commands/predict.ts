/**
 * `fineflow predict MODEL INPUT… [--output FILE] [--format csv|jsonl] [--batch-size N]`: class
 * probabilities for image files or folders, CSV or JSONL files, local or `s3://`, scored by a model
 * with the preprocessing stored beside it. Streams: records are read, batched and written as they go.
 */
import path from 'node:path';
import { once } from 'node:events';
import type * as ConfigModule from '../../config';
import type * as AtomicOutputModule from '../atomic-output';
import type * as BackendModule from '../../ml/backend';
import type * as PredictionInputsModule from '../../ml/predict/prediction-inputs';
import type { PredictionFormat } from '../../ml/predict/prediction-output';
import type * as PredictorModule from '../../ml/predict/predictor';
import type * as WritePredictionsModule from '../../ml/predict/write-predictions';
import type * as OutboundModule from '../../security/outbound';
import type * as PredictStageTypeModule from '../../spec/predict-stage-type';
import type * as MinioStoreModule from '../../storage/minio-store';
import { EXIT, UsageError, type CliCommand, type CliIo } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../ml/backend') as typeof BackendModule;
  const m2 = require('../../ml/predict/prediction-inputs') as typeof PredictionInputsModule;
  const m3 = require('../../ml/predict/predictor') as typeof PredictorModule;
  const m4 = require('../../ml/predict/write-predictions') as typeof WritePredictionsModule;
  const m5 = require('../../security/outbound') as typeof OutboundModule;
  const m6 = require('../../spec/predict-stage-type') as typeof PredictStageTypeModule;
  const m7 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m8 = require('../atomic-output') as typeof AtomicOutputModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    loadConfig: m0.loadConfig,
    loadTf: m1.loadTf,
    predictionRecords: m2.predictionRecords,
    loadPredictor: m3.loadPredictor,
    writePredictions: m4.writePredictions,
    unknownCategoryLines: m4.unknownCategoryLines,
    createOutboundPolicy: m5.createOutboundPolicy,
    PREDICT_LIMITS: m6.PREDICT_LIMITS,
    createObjectStoreFromConfig: m7.createObjectStoreFromConfig,
    openAtomicOutput: m8.openAtomicOutput,
  };
}

function formatOf(flag: string | undefined, output: string | undefined): PredictionFormat {
  const value = flag ?? (output && /\.(jsonl|ndjson)$/i.test(output) ? 'jsonl' : 'csv');
  if (value !== 'csv' && value !== 'jsonl') throw new UsageError(`--format ${value}: use csv or jsonl`);
  return value;
}

function batchSizeOf(value: string | undefined): number {
  const { PREDICT_LIMITS } = load();
  if (value === undefined) return PREDICT_LIMITS.defaultBatchSize;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > PREDICT_LIMITS.maxBatchSize)
    throw new UsageError(`--batch-size ${value}: a whole number from 1 to ${PREDICT_LIMITS.maxBatchSize}`);
  return size;
}

async function writeLine(out: NodeJS.WritableStream, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

export const command: CliCommand = {
  name: 'predict',
  summary: 'class probabilities for images, CSV or JSONL files (local or s3://) from a model',
  usage: 'predict MODEL INPUT… [--output FILE] [--format csv|jsonl] [--batch-size N]',
  description: `MODEL: registry://NAME@ALIAS|VERSION or the s3:// URI of a model a fine-tune stage wrote (its
preprocessing.json — scaling, vocabularies, image size, class names — is applied to every input).
INPUT: .png/.jpg/.jpeg images, .csv files with a header row, .jsonl files of objects, or folders and
s3:// prefixes holding them (hidden files skipped). Local paths must lie in FINEFLOW_FILE_ROOTS or the
current directory. Output: one line per record — input (file:line for tables), predicted class,
confidence and one probability per class — to stdout or --output. A category the model never saw is
scored as missing and named on stderr with counts (at most 20 values a column, each cut to 80 characters);
in JSONL (--json) the row's line also carries "unknownCategories": {"COLUMN": "VALUE"}.

Exit codes: 0 ok, 1 invalid input or model (the message names the file and line), 2 usage, 3 MinIO unreachable.`,
  examples: [
    {
      command: 'fineflow predict registry://surface-defects@champion ./photos/ --output predictions.csv',
      explanation: 'score a folder of images with the champion',
    },
    {
      command: 'fineflow predict s3://fineflow/runs/R/finetune/model/model.json rows.jsonl --format jsonl',
      explanation: "score JSONL rows with a run's model; --json is --format jsonl",
    },
  ],
  json: true,
  options: [
    {
      name: 'output',
      short: 'o',
      kind: 'string',
      valueName: 'FILE',
      description: 'write predictions here, replaced only if every record is scored (default stdout)',
    },
    {
      name: 'format',
      kind: 'string',
      valueName: 'csv|jsonl',
      description: 'output format (default from --output, else csv)',
    },
    { name: 'batch-size', kind: 'string', valueName: 'N', description: 'records scored together (default 256)' },
  ],
  async run(args, io) {
    const [model, ...inputs] = args.positionals;
    if (!model || inputs.length === 0) throw new UsageError('give a MODEL and at least one INPUT');
    const output = args.values.output;
    const format = args.flags.json ? 'jsonl' : formatOf(args.values.format, output);
    const batchSize = batchSizeOf(args.values['batch-size']);
    return predict(io, { model, inputs, format, batchSize, ...(output ? { output } : {}) });
  },
};

interface PredictRequest {
  readonly model: string;
  readonly inputs: readonly string[];
  readonly format: PredictionFormat;
  readonly batchSize: number;
  readonly output?: string;
}

async function predict(io: CliIo, request: PredictRequest): Promise<number> {
  const {
    loadConfig,
    loadTf,
    predictionRecords,
    loadPredictor,
    writePredictions,
    unknownCategoryLines,
    createOutboundPolicy,
    createObjectStoreFromConfig,
    openAtomicOutput,
  } = load();
  const config = loadConfig(io.env);
  const store = createObjectStoreFromConfig(config);
  // The operator's own command may read the directory it runs in, besides the configured roots.
  const outbound = createOutboundPolicy({ ...config.outbound, fileRoots: [...config.outbound.fileRoots, io.cwd] });
  // All or nothing: a predict that fails leaves no empty or half-written --output behind.
  const file = request.output ? await openAtomicOutput(path.resolve(io.cwd, request.output)) : undefined;
  const out = file?.stream ?? io.stdout;
  try {
    const { tf } = loadTf({ preference: config.tfBackend });
    const predictor = await loadPredictor(tf, store, request.model, { registryBucket: config.s3.bucket, outbound });
    const records = predictionRecords(request.inputs, { store, outbound }, io.cwd);
    const summary = await writePredictions(predictor, records, {
      format: request.format,
      batchSize: request.batchSize,
      writeLine: (line) => writeLine(out, line),
    });
    predictor.model.dispose();
    await file?.commit();
    if (request.output) io.stderr.write(`${summary.count} predictions written to ${request.output}\n`);
    // Scored as all zeros, like a missing cell: say so, or a typo in the data (`retird`) passes unseen.
    for (const line of unknownCategoryLines(summary))
      io.stderr.write(`fineflow predict: warning: categories the model never saw (scored as missing) in ${line}\n`);
    return EXIT.ok;
  } finally {
    await file?.abort();
  }
}
