/**
 * evaluate: score a model on a prepared split, slice the metrics, compare with baselines
 * (registry aliases, from-scratch models …), apply the gate, and write the JSON + HTML report.
 * A baseline that cannot be loaded is reported, not fatal: the gate then has nothing to beat
 * from it.
 */
import type { TfBackendPreference } from '../../config';
import { ensureError, errorOfType, FineflowError, InvalidInputError } from '../../core/errors';
import { closest } from '../../core/spec/suggest';
import type { ObjectStore } from '../../storage/object-store';
import { currentBackend, loadTf, type Tf } from '../backend';
import { readPreprocessingBeside } from '../data/preprocessing-file';
import { loadSplit, modelInputsOf, readManifest, type DatasetManifest, type SplitName } from '../data/shards';
import { featureLength, type LabelledSet } from '../generators/image-set';
import { loadModel, type ModelLocationOptions } from '../models/load-model';
import { resolveModelUri } from '../models/registry';
import type { HttpLoadOptions } from '../models/model-io';
import type { EpochMetrics } from '../train/types';
import { joinUri } from '../uri';
import {
  applyGate,
  classificationMetrics,
  compareMetrics,
  sliceMetrics,
  type ClassificationMetrics,
  type GateSpec,
} from './metrics';
import { metricIntervals, differenceIntervals, type BootstrapOptions } from './bootstrap';
import {
  logisticRegressionProbabilities,
  majorityClassProbabilities,
  trainLogisticRegression,
  type ClassicBaselineName,
} from './classic-baselines';
import { classCurves, reliabilityBins } from './curves';
import { misclassifiedExamples } from './misclassified';
import { predictProbabilities } from './predict';
import {
  renderReportHtml,
  type BaselineEntry,
  type EvaluationReport,
  type ReportOrigin,
  type TrialPoint,
} from './report';

export interface EvaluateOptions {
  readonly modelUri: string;
  readonly datasetUri: string;
  /** Default `test`. */
  readonly split?: SplitName;
  /** `label`, or a one-hot column of a tabular dataset (e.g. `line`). */
  readonly slices?: readonly string[];
  /** Baselines by display name → model URI. */
  readonly baselines?: Readonly<Record<string, string>>;
  readonly gate?: GateSpec;
  /** Where report.json and report.html go. */
  readonly reportPrefix: string;
  readonly registryBucket: string;
  /** Headers for http(s):// models (a secret `auth` input, resolved on the worker). */
  readonly modelHttp?: HttpLoadOptions;
  /** Learning curves to draw (the fine-tune stage's history). */
  readonly history?: readonly EpochMetrics[];
  readonly trials?: { readonly xLabel: string; readonly yLabel: string; readonly points: readonly TrialPoint[] };
  readonly tfBackend?: TfBackendPreference;
  /** Pipeline, run and stage: the report's title. */
  readonly origin?: ReportOrigin;
  /** Bootstrap intervals (default 1000 resamples, 95%); `resamples: 0` turns them off. */
  readonly bootstrap?: BootstrapOptions;
  /** Classic baselines trained on the dataset's training split and scored on the same examples. */
  readonly classicBaselines?: readonly ClassicBaselineName[];
  /** How many misclassified examples the report shows (default 12). */
  readonly misclassified?: number;
  /** The epoch whose weights the model holds, marked on the learning curves. */
  readonly bestEpoch?: number;
  /** Seed of the logistic regression's shuffling. */
  readonly seed?: number;
}

export interface EvaluateResult {
  readonly metrics: ClassificationMetrics;
  readonly passed: boolean;
  readonly reasons: readonly string[];
  readonly reportUri: string;
  readonly htmlUri: string;
  readonly report: EvaluationReport;
}

/** Exported for its unit test: the group of each example for one `slices:` entry. */
export function sliceKeys(manifest: DatasetManifest, raw: LabelledSet, attribute: string): (index: number) => string {
  if (attribute === 'label') return (index) => manifest.classes[raw.labels[index] ?? 0] ?? '?';
  const columns = manifest.columns ?? [];
  let offset = 0;
  for (const column of columns) {
    const width = column.kind === 'one-hot' ? (column.categories?.length ?? 0) : 1;
    if (column.name === attribute) {
      if (column.kind !== 'one-hot')
        throw new InvalidInputError(`slice ${attribute} is a numeric column; slice by label or a categorical column`, {
          slice: attribute,
        });
      const length = featureLength(manifest.featureShape);
      const start = offset;
      return (index) => {
        let best = -1;
        let bestValue = 0;
        for (let i = 0; i < width; i += 1) {
          const value = raw.features[index * length + start + i] ?? 0;
          if (value > bestValue) [best, bestValue] = [i, value];
        }
        return best >= 0 ? (column.categories?.[best] ?? '?') : '(missing)';
      };
    }
    offset += width;
  }
  const known = ['label', ...columns.filter((column) => column.kind === 'one-hot').map((column) => column.name)];
  const near = closest(attribute, known);
  // The slice is a literal of the pipeline file (retrying the stage cannot change it): the fix is an edit and a
  // new submit, which the stage cache makes cheap.
  throw new InvalidInputError(
    `cannot slice by ${attribute}${near ? ` (did you mean \`${near}\`?)` : ''}; slices available for this dataset: ` +
      `${known.join(', ')}. Fix \`slices\` in the evaluate stage and submit the pipeline again: the stages before it ` +
      'are served from the stage cache',
    { field: 'slices', slice: attribute },
  );
}

/**
 * The error that ends an evaluation whose gate needs a baseline that could not be read: same class
 * as the cause (access denied, corrupt and invalid stay non-retryable; an unavailable store stays
 * retryable), with a message that names the baseline and why.
 */
function baselineUnreadable(name: string, uri: string, thrown: unknown): FineflowError {
  const cause = ensureError(thrown);
  const message = `the gate compares with baseline ${name} (${uri}), which could not be read: ${cause.message}`;
  const details = { baseline: name, uri, ...(cause instanceof FineflowError ? cause.details : {}) };
  return (
    (cause instanceof FineflowError ? errorOfType(cause.type, message, details, { cause }) : undefined) ??
    new InvalidInputError(message, details, { cause })
  );
}

/**
 * The split as one model's inputs: through the preprocessing stored with the model when it has one
 * (a champion trained on other data keeps its own scaling and vocabularies), else the dataset's.
 */
async function inputsForModel(
  store: ObjectStore,
  uri: string,
  registryBucket: string,
  manifest: DatasetManifest,
  raw: LabelledSet,
  datasetInputs: LabelledSet,
): Promise<{ set: LabelledSet; preprocessing: 'model' | 'dataset' }> {
  const preprocessing = await readPreprocessingBeside(store, await resolveModelUri(store, uri, registryBucket));
  if (!preprocessing) return { set: datasetInputs, preprocessing: 'dataset' };
  const features = modelInputsOf(preprocessing, manifest, raw.features, uri);
  return { set: { ...raw, featureShape: preprocessing.featureShape, features }, preprocessing: 'model' };
}

/**
 * The split an evaluation scores: as stored (`raw`, for slices and examples) and through the dataset's
 * preprocessing.
 */
interface EvaluationData {
  readonly manifest: DatasetManifest;
  readonly split: SplitName;
  readonly raw: LabelledSet;
  readonly datasetInputs: LabelledSet;
}

async function loadEvaluationData(store: ObjectStore, options: EvaluateOptions): Promise<EvaluationData> {
  const manifest = await readManifest(store, options.datasetUri);
  const split = options.split ?? 'test';
  const raw = await loadSplit(store, manifest, split, { transform: false });
  const datasetInputs = await loadSplit(store, manifest, split);
  if (raw.labels.length === 0)
    throw new InvalidInputError(`dataset ${options.datasetUri} has no ${split} examples to evaluate on`, { split });
  return { manifest, split, raw, datasetInputs };
}

/** The evaluated model's class probabilities on its own inputs. */
async function scoreModel(
  tf: Tf,
  store: ObjectStore,
  options: EvaluateOptions,
  data: EvaluationData,
): Promise<{ set: LabelledSet; preprocessing: 'model' | 'dataset'; probabilities: Float32Array }> {
  const { manifest } = data;
  const { set, preprocessing } = await inputsForModel(
    store,
    options.modelUri,
    options.registryBucket,
    manifest,
    data.raw,
    data.datasetInputs,
  );
  const model = await loadModel(tf, store, options.modelUri, modelLocation(options));
  const outputs = model.outputs[0]?.shape[1];
  if (outputs !== manifest.classes.length) {
    throw new InvalidInputError(
      `model ${options.modelUri} predicts ${outputs} classes but the dataset has ${manifest.classes.length}`,
      { modelUri: options.modelUri },
    );
  }
  const probabilities = await predictProbabilities(tf, model, set);
  model.dispose();
  return { set, preprocessing, probabilities };
}

function modelLocation(options: EvaluateOptions): ModelLocationOptions {
  return { registryBucket: options.registryBucket, ...(options.modelHttp ? { http: options.modelHttp } : {}) };
}

/** Per-slice metrics for each attribute the options name, or undefined when they name none. */
function sliceReport(
  options: EvaluateOptions,
  data: EvaluationData,
  probabilities: Float32Array,
  labels: Int32Array,
): Record<string, Readonly<Record<string, ClassificationMetrics>>> | undefined {
  if (!options.slices || options.slices.length === 0) return undefined;
  const slices: Record<string, Readonly<Record<string, ClassificationMetrics>>> = {};
  for (const attribute of options.slices)
    slices[attribute] = sliceMetrics(
      probabilities,
      labels,
      data.manifest.classes,
      sliceKeys(data.manifest, data.raw, attribute),
    );
  return slices;
}

type Bootstrap = BootstrapOptions & { readonly resamples: number; readonly confidence: number };

/** The baselines' report entries and metrics, filled as each baseline (model or classic) is scored. */
class BaselineScores {
  readonly entries: Record<string, BaselineEntry> = {};
  /** Metrics of the model baselines (registry aliases, model URIs): what `beatBaseline` compares with. */
  readonly modelMetrics: Record<string, ClassificationMetrics> = {};
  /** Metrics of every baseline scored, model or classic: what `beat: [name]` can name. */
  readonly allMetrics: Record<string, ClassificationMetrics> = {};

  constructor(
    private readonly metrics: ClassificationMetrics,
    private readonly probabilities: Float32Array,
    private readonly labels: Int32Array,
    private readonly classes: readonly string[],
    private readonly bootstrap: Bootstrap,
  ) {}

  /** Records a baseline's scores on the evaluated examples, compared with the model's. */
  score(name: string, uri: string, scores: Float32Array): ClassificationMetrics {
    const result = classificationMetrics(scores, this.labels, this.classes);
    this.allMetrics[name] = result;
    this.entries[name] = {
      uri,
      metrics: result,
      comparison: compareMetrics(this.metrics, result),
      differences: differenceIntervals(this.probabilities, scores, this.labels, this.classes.length, this.bootstrap),
    };
    return result;
  }

  /** Scores each model baseline; one that cannot be read is reported, unless the gate needs it. */
  async scoreModels(tf: Tf, store: ObjectStore, options: EvaluateOptions, data: EvaluationData): Promise<void> {
    const { manifest } = data;
    for (const [name, uri] of Object.entries(options.baselines ?? {})) {
      try {
        const inputs = await inputsForModel(store, uri, options.registryBucket, manifest, data.raw, data.datasetInputs);
        const baseline = await loadModel(tf, store, uri, modelLocation(options));
        if (baseline.outputs[0]?.shape[1] !== manifest.classes.length)
          throw new InvalidInputError(
            `predicts ${baseline.outputs[0]?.shape[1]} classes, the dataset has ${manifest.classes.length}`,
            {},
          );
        const scores = await predictProbabilities(tf, baseline, inputs.set);
        baseline.dispose();
        this.modelMetrics[name] = this.score(name, uri, scores);
      } catch (thrown) {
        // A gate that compares with baselines never passes because one could not be read.
        if (options.gate?.beatBaseline || options.gate?.beat?.includes(name))
          throw baselineUnreadable(name, uri, thrown);
        this.entries[name] = { uri, error: ensureError(thrown).message };
      }
    }
  }
}

/** What the report shows besides the metrics, slices and baselines: intervals, calibration, curves, examples. */
function diagnostics(
  options: EvaluateOptions,
  data: EvaluationData,
  probabilities: Float32Array,
  labels: Int32Array,
  bootstrap: Bootstrap,
): Pick<EvaluationReport, 'intervals' | 'bootstrap' | 'reliability' | 'curves' | 'misclassified'> {
  const { manifest } = data;
  return {
    ...(bootstrap.resamples > 0
      ? {
          intervals: metricIntervals(probabilities, labels, manifest.classes, bootstrap),
          bootstrap: { resamples: bootstrap.resamples, confidence: bootstrap.confidence },
        }
      : {}),
    reliability: reliabilityBins(probabilities, labels, manifest.classes.length),
    curves: classCurves(probabilities, labels, manifest.classes),
    misclassified: misclassifiedExamples(
      probabilities,
      labels,
      manifest.classes,
      {
        features: data.raw.features,
        featureShape: manifest.featureShape,
        ...(manifest.columns ? { columns: manifest.columns } : {}),
      },
      options.misclassified ?? 12,
    ),
  };
}

export async function evaluateModel(store: ObjectStore, options: EvaluateOptions): Promise<EvaluateResult> {
  const { tf } = loadTf({ preference: options.tfBackend ?? 'auto' });
  const data = await loadEvaluationData(store, options);
  const { manifest } = data;
  const { set, preprocessing, probabilities } = await scoreModel(tf, store, options, data);
  const metrics = classificationMetrics(probabilities, set.labels, manifest.classes);
  const slices = sliceReport(options, data, probabilities, set.labels);

  const bootstrap = { resamples: 1000, confidence: 0.95, seed: options.seed ?? 0, ...options.bootstrap };
  const baselines = new BaselineScores(metrics, probabilities, set.labels, manifest.classes, bootstrap);
  await baselines.scoreModels(tf, store, options, data);
  // Classic baselines see the dataset's own preprocessing on both splits.
  await scoreClassicBaselines(store, manifest, data.datasetInputs, options, (name, uri, scores) =>
    baselines.score(name, uri, scores),
  );

  const gate = options.gate
    ? applyGate(options.gate, metrics, baselines.modelMetrics, baselines.allMetrics)
    : { passed: true, reasons: ['no gate'] };
  const dataReport = await findDataReport(store, options.datasetUri);
  const htmlUri = joinUri(options.reportPrefix, 'report.html');
  const dataReportHref = dataReport ? relativeHref(htmlUri, dataReport) : undefined;
  const report: EvaluationReport = {
    ...(options.origin ? { origin: options.origin } : {}),
    ...(dataReport ? { dataReport } : {}),
    ...(dataReportHref ? { dataReportHref } : {}),
    model: options.modelUri,
    dataset: options.datasetUri,
    split: data.split,
    backend: currentBackend(tf),
    preprocessing,
    metrics,
    ...diagnostics(options, data, probabilities, set.labels, bootstrap),
    ...(slices ? { slices } : {}),
    ...(Object.keys(baselines.entries).length > 0 ? { baselines: baselines.entries } : {}),
    ...(options.gate ? { gate: { ...gate, spec: options.gate } } : {}),
    ...(options.bestEpoch !== undefined ? { bestEpoch: options.bestEpoch } : {}),
    ...(options.history ? { history: options.history } : {}),
    ...(options.trials ? { trials: options.trials } : {}),
    createdAt: new Date().toISOString(),
  };
  const reportUri = joinUri(options.reportPrefix, 'report.json');
  await store.putJson(reportUri, report);
  await store.putBytes(htmlUri, renderReportHtml(report), { contentType: 'text/html; charset=utf-8' });
  return { metrics, passed: gate.passed, reasons: gate.reasons, reportUri, htmlUri, report };
}

/** Majority class and logistic regression, trained on the dataset's training split. */
async function scoreClassicBaselines(
  store: ObjectStore,
  manifest: DatasetManifest,
  set: LabelledSet,
  options: EvaluateOptions,
  score: (name: string, uri: string, probabilities: Float32Array) => ClassificationMetrics,
): Promise<void> {
  const wanted = options.classicBaselines ?? [];
  if (wanted.length === 0) return;
  if (manifest.splits.train.count === 0) {
    throw new InvalidInputError(
      `classic baselines (${wanted.join(', ')}) train on the training split of ${options.datasetUri}, which is empty`,
      { field: 'classicBaselines' },
    );
  }
  const train = await loadSplit(store, manifest, 'train');
  const data = {
    features: train.features,
    labels: train.labels,
    featureLength: featureLength(manifest.featureShape),
    classes: manifest.classes.length,
  };
  const description = `trained on the ${train.labels.length} training examples`;
  if (wanted.includes('majority'))
    score('majority', `majority class (${description})`, majorityClassProbabilities(data, set.labels.length));
  if (wanted.includes('logistic-regression')) {
    const model = trainLogisticRegression(data, { seed: options.seed ?? 0 });
    score(
      'logistic-regression',
      `logistic regression, L2 1e-3, ${model.epochs} epochs (${description})`,
      logisticRegressionProbabilities(model, set.features),
    );
  }
}

/** The data report written beside a prepared dataset's manifest (HTML preferred), if there is one. */
async function findDataReport(store: ObjectStore, datasetUri: string): Promise<string | undefined> {
  const directory = datasetUri.slice(0, datasetUri.lastIndexOf('/'));
  for (const name of ['data-report.html', 'data-report.json']) {
    const uri = `${directory}/${name}`;
    if (await store.stat(uri)) return uri;
  }
  return undefined;
}

/** A relative link from one object to another in the same bucket (e.g. served side by side), else undefined. */
export function relativeHref(fromUri: string, toUri: string): string | undefined {
  const from = /^s3:\/\/([^/]+)\/(.*)$/.exec(fromUri);
  const to = /^s3:\/\/([^/]+)\/(.*)$/.exec(toUri);
  if (!from || !to || from[1] !== to[1]) return undefined;
  const fromParts = (from[2] ?? '').split('/').slice(0, -1);
  const toParts = (to[2] ?? '').split('/');
  let common = 0;
  while (common < fromParts.length && common < toParts.length - 1 && fromParts[common] === toParts[common]) common += 1;
  return [...fromParts.slice(common).map(() => '..'), ...toParts.slice(common)].join('/');
}
