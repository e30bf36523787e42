/**
 * What a model version's numbers measure and where they come from, for the model page: the training and validation
 * metrics of the fine-tune stage that trained the weights (the card's `train.*` and `validation.*`, copied from its
 * training record), and the test metrics of the evaluate stage whose `metrics` the register stage put on the card
 * (read from the registering run: its plan says which evaluate stage, its state holds that stage's outputs). The card
 * alone flattens both into one list with no word of which stage measured what. Also where each lineage box leads: the
 * dataset version's prefix, found in one bounded listing of the manifests.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { formatS3Uri } from '../core/storage/uri';
import { producerOf } from '../core/run/stage-producer';
import { evaluateStagesFor, gateReasons, parseRecordedEvaluations } from '../core/run/register-evaluations';
import type { JsonObject, JsonValue, PlannedStage } from '../core/spec/plan-types';
import type { RunState } from '../core/run/run-types';
import { isDatasetVersionId, parseDatasetVersionKey } from '../datasets/dataset-version';
import { showModel, type ModelCard } from '../ml/models/registry';
import { InvalidInputError } from '../core/errors';
import { readRunInput } from './run-plan';
import type { RunClient } from '../client/run-client';
import type { ObjectStore } from '../storage/object-store';
import { MEASURE_WORDING, type ClassMeasure, type MeasureSource, type ModelMeasures } from './web/model-measure-types';

/** What the measures read: the UI server's services (api.ts `UiServices`), named here so api.ts can import this. */
interface MeasureServices {
  readonly runs: RunClient;
  readonly store: ObjectStore;
  readonly bucket: string;
}

/** Manifests listed to find a dataset version's prefix (the datasets page's bound). */
const DATASET_LISTING = 20_000;
/** Classes of a per-class table sent to the page. */
const MAX_CLASSES = 200;

const TRAINING_PREFIXES = ['train.', 'validation.'];
/** What a training record adds to a card beside `train.*` and `validation.*` (fine-tune's `metrics` output). */
const TRAINING_BOOKKEEPING = new Set([
  'weightsEpoch',
  'bestEpoch',
  'epochs',
  'epochsTrained',
  'resumedFromEpoch',
  'stoppedEarly',
  'trainExamples',
  'trainSeconds',
  'seconds',
  'samplesPerSecond',
]);
/** gRPC's NOT_FOUND: what Temporal answers for a workflow whose history it no longer has. */
const GRPC_NOT_FOUND = 5;

function numbers(entries: readonly (readonly [string, JsonValue | undefined])[]): [string, number][] {
  return entries.flatMap(([k, v]) => (typeof v === 'number' && Number.isFinite(v) ? [[k, v] as [string, number]] : []));
}

/** The card's training and validation metrics, from the training record of the stage that trained the weights. */
function trainingSource(card: ModelCard): MeasureSource | undefined {
  const lineage = card.lineage as ModelCard['lineage'] & { trainedInRun?: string; trainedByStage?: string };
  const metrics = numbers(
    Object.entries(card.metrics ?? {}).filter(([key]) => TRAINING_PREFIXES.some((p) => key.startsWith(p))),
  );
  if (metrics.length === 0) return undefined;
  const runId = lineage.trainedInRun ?? lineage.runId;
  const stage = lineage.trainedByStage;
  const epoch = card.metrics?.weightsEpoch;
  return {
    kind: 'training',
    what: MEASURE_WORDING.trainingMetrics + (epoch !== undefined ? ` (epoch ${epoch})` : ''),
    ...(runId ? { runId } : {}),
    ...(stage ? { stage } : {}),
    metrics,
  };
}

function perClassOf(value: JsonValue | undefined): ClassMeasure[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value)
    .slice(0, MAX_CLASSES)
    .map(([name, m]) => {
      const o = (m && typeof m === 'object' && !Array.isArray(m) ? m : {}) as JsonObject;
      const n = (key: string): number | undefined => (typeof o[key] === 'number' ? (o[key] as number) : undefined);
      return { name, precision: n('precision'), recall: n('recall'), f1: n('f1'), support: n('support') };
    });
}

function evaluationSource(bucket: string, runId: string, planned: PlannedStage, state: RunState): MeasureSource {
  const stage = state.stages.find((s) => s.id === planned.id);
  const split = typeof planned.with.split === 'string' ? planned.with.split : 'test';
  const base = {
    kind: 'evaluation' as const,
    what: MEASURE_WORDING.splitMetrics(split),
    runId,
    stage: planned.id,
    split,
  };
  const found = stage?.outputs?.metrics;
  if (!stage || !found || typeof found !== 'object' || Array.isArray(found))
    return { ...base, metrics: [], problem: `stage ${planned.id} has no metrics (${stage?.status ?? 'not run'})` };
  const metrics = found as JsonObject;
  const producer = producerOf(bucket, runId, stage);
  const count = metrics.count;
  return {
    ...base,
    metrics: numbers(Object.entries(metrics).filter(([key]) => key !== 'count')),
    ...(typeof count === 'number' ? { examples: count } : {}),
    perClass: perClassOf(metrics.perClass),
    ...(typeof stage.outputs?.passed === 'boolean'
      ? { passed: stage.outputs.passed, gateReasons: gateReasons(stage.outputs) }
      : {}),
    ...(producer.runId !== runId || producer.stageId !== planned.id
      ? { computedIn: { runId: producer.runId, stage: producer.stageId } }
      : {}),
  };
}

/** Whether Temporal no longer has the run: deleted, or past the namespace's retention period. */
function runIsGone(thrown: unknown): boolean {
  if (thrown instanceof InvalidInputError && thrown.details.code === 'no-run') return true;
  return isGrpcServiceError(thrown) && thrown.code === GRPC_NOT_FOUND;
}

/**
 * The evaluation's numbers as the card records them (register-model copied the evaluate stage's `metrics` beside the
 * training record's), for a version whose registering run is gone, or whose evaluate stage ran inside a sub-pipeline
 * (the run's own stages do not include it): what the card knows of how it scored.
 */
function cardEvaluation(card: ModelCard, runId: string, stage: string, runGone: boolean): MeasureSource | undefined {
  const entries = Object.entries(card.metrics ?? {}).filter(
    ([key]) => !TRAINING_PREFIXES.some((p) => key.startsWith(p)) && !TRAINING_BOOKKEEPING.has(key),
  );
  const recorded = parseRecordedEvaluations(card.evaluations)?.[0];
  // A card whose register stage was given no `metrics:` still records the evaluation's headline numbers.
  const kept = entries.length > 0 ? entries : Object.entries(recorded?.metrics ?? {});
  const metrics = numbers(kept.filter(([key]) => !key.includes('.') && key !== 'count'));
  if (metrics.length === 0 && !recorded) return undefined;
  const perClass = new Map<string, Record<string, number>>();
  for (const [key, value] of entries) {
    const match = /^perClass\.(.+)\.(precision|recall|f1|support)$/.exec(key);
    if (match?.[1] && match[2]) perClass.set(match[1], { ...perClass.get(match[1]), [match[2]]: value });
  }
  const count = card.metrics?.count ?? recorded?.metrics.count;
  // Cards written since register-model records the evaluation say which stage scored the model, on which split, and
  // the gate's verdict; older ones only the numbers.
  return {
    kind: 'evaluation',
    what: recorded ? MEASURE_WORDING.splitMetrics(recorded.split) : MEASURE_WORDING.cardMetrics,
    runId,
    stage,
    ...(recorded
      ? { evaluatedBy: recorded.stage, split: recorded.split, passed: recorded.passed, gateReasons: recorded.reasons }
      : {}),
    metrics,
    ...(typeof count === 'number' ? { examples: count } : {}),
    perClass: perClassOf(Object.fromEntries(perClass)),
    fromCard: true,
    ...(runGone ? { runGone: true } : {}),
  };
}

/** The prefix whose recorded versions include `id`, from one bounded listing of `datasets/`. */
async function datasetPrefixOf(services: MeasureServices, id: string | undefined): Promise<string | undefined> {
  if (!id || !isDatasetVersionId(id)) return undefined;
  const listed = await services.store
    .list(formatS3Uri({ bucket: services.bucket, key: 'datasets/' }), { maxKeys: DATASET_LISTING })
    .catch(() => []);
  for (const info of listed) {
    const parsed = parseDatasetVersionKey(info.key);
    if (parsed?.kind === 'manifest' && parsed.id === id) return parsed.prefix;
  }
  return undefined;
}

/** Where a model version's numbers come from, and where its lineage's dataset version lives. */
export async function modelMeasures(services: MeasureServices, name: string, version: number): Promise<ModelMeasures> {
  const card = (await showModel(services.store, services.bucket, name)).versions.find((v) => v.version === version);
  if (!card) throw new InvalidInputError(`model ${name} has no version ${version}`, { code: 'not-found' });
  const sources: MeasureSource[] = [];
  const training = trainingSource(card);
  let problem: string | undefined;
  let runGone: string | undefined;
  const { runId, stage } = card.lineage;
  if (runId && stage) {
    try {
      const [input, state] = await Promise.all([readRunInput(services.runs.client, runId), services.runs.state(runId)]);
      for (const planned of evaluateStagesFor(input.plan.stages, stage))
        sources.push(evaluationSource(services.bucket, runId, planned, state));
      const recorded = sources.length === 0 ? cardEvaluation(card, runId, stage, false) : undefined;
      if (recorded?.evaluatedBy) sources.push(recorded);
      else if (sources.length === 0) problem = `run ${runId} has no evaluate stage that scored this model`;
    } catch (thrown) {
      if (runIsGone(thrown)) {
        runGone = runId;
        problem = MEASURE_WORDING.runGone(
          runId,
          parseRecordedEvaluations(card.evaluations)?.length ? 'gate' : 'numbers',
        );
        const kept = cardEvaluation(card, runId, stage, true);
        if (kept) sources.push(kept);
      } else problem = `the evaluation could not be read from run ${runId}: ${(thrown as Error).message}`;
    }
  }
  if (training) sources.push(training.runId === runGone ? { ...training, runGone: true } : training);
  const datasetPrefix = await datasetPrefixOf(services, card.lineage.datasetVersion);
  return {
    sources,
    ...(problem ? { problem } : {}),
    ...(runGone ? { runGone } : {}),
    ...(datasetPrefix ? { datasetPrefix } : {}),
  };
}
