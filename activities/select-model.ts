/**
 * Stage `select-model`: ranks candidate base models (registry://, s3://, file://, http(s)://)
 * for the target data by a linear probe (or kNN) on their frozen features over a seeded sample
 * (src/ml/select.ts), and picks the best. A candidate that fails to load or does not fit the data
 * is listed in the ranking with its error; the stage fails only when none can be scored. Without
 * `data`, the first candidate that loads wins.
 *
 * The winner is output pinned to a version (`registry://name@3`), so downstream stages and
 * retries use the model that was ranked even if the alias moves.
 *
 * Training from scratch is a candidate too (`fromScratch`, default on): each architecture is probed
 * again with fresh random weights, and the winner's transfer gain (with an interval) decides
 * `recommendation` and warns when no base is expected to beat from-scratch (src/ml/select.ts).
 */
import { CancelledError, ensureError, InvalidInputError } from '../src/core/errors';
import { loadTf } from '../src/ml/backend';
import { readManifest } from '../src/ml/data/shards';
import { loadModel } from '../src/ml/models/load-model';
import { parseRegistryUri, resolveVersion } from '../src/ml/models/registry';
import { selectModel, transferVerdict, type RankMethod, type TransferGain } from '../src/ml/select';
import type { JsonObject } from '../src/core/spec/plan-types';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import type { ObjectStore } from '../src/storage/object-store';
import type { StageImplementation, StageRuntime } from './stage-runner';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import { checkStageInputs, modelHttpOptions, toJsonValue } from './ml-stage-support';

/** `registry://name@alias` → `registry://name@<version>`; other URIs unchanged. */
async function pinned(store: ObjectStore, uri: string, bucket: string): Promise<string> {
  if (!uri.startsWith('registry://')) return uri;
  const reference = parseRegistryUri(uri);
  return `registry://${reference.name}@${await resolveVersion(store, bucket, reference)}`;
}

function errorMessage(thrown: unknown, uri: string): string {
  // selectModel names the candidate again in its "none could be scored" message: keep the reason only.
  return ensureError(thrown).message.replace(`no candidate model could be scored: ${uri}: `, '');
}

/** The `select-model` stage's inputs as its implementation reads them (checked, defaults filled in). */
type SelectModelInputs = StageInputValues['select-model'];

/** What every step of one select-model attempt reads. */
interface Selection {
  readonly inputs: SelectModelInputs;
  readonly runtime: StageRuntime;
  readonly bucket: string;
  readonly modelHttp: ReturnType<typeof modelHttpOptions>;
}

/** A scored candidate: its `ranking` entry, and the figures the winner's outputs are built from. */
interface RankedCandidate {
  readonly entry: JsonObject;
  readonly uri: string;
  readonly model: string;
  readonly score: number;
  readonly fromScratchScore?: number;
  readonly transferGain?: TransferGain;
}

function noCandidate(what: 'loaded' | 'scored', failures: readonly JsonObject[]): InvalidInputError {
  return new InvalidInputError(
    `no candidate model could be ${what}: ${failures.map((f) => `${String(f.uri)}: ${String(f.error)}`).join('; ')}`,
    { field: 'candidates' },
  );
}

/** No data to rank on: the first candidate that loads wins. */
async function firstLoadable(selection: Selection): Promise<StageActivityResult> {
  const { runtime, inputs, bucket, modelHttp } = selection;
  const { candidates } = inputs;
  const failures: JsonObject[] = [];
  // Loading TensorFlow blocks this worker for a while: start the heartbeat window afresh.
  runtime.heartbeat({ message: `loading ${candidates.length} candidate(s)`, fraction: 0 });
  const { tf } = loadTf({ preference: runtime.ml.tfBackend });
  for (const [index, uri] of candidates.entries()) {
    runtime.heartbeat({
      message: `loading candidate ${index + 1}/${candidates.length}: ${uri}`,
      fraction: index / candidates.length,
      detail: { candidate: index + 1, candidates: candidates.length },
    });
    try {
      const model = await loadModel(tf, runtime.store, uri, {
        registryBucket: bucket,
        ...(modelHttp ? { http: modelHttp } : {}),
      });
      model.dispose();
      const winner = await pinned(runtime.store, uri, bucket);
      const chosen = {
        uri,
        model: winner,
        score: null,
        note: 'no data given: the first candidate that loads is chosen',
      };
      runtime.log(`no data to rank on; chose the first loadable candidate ${uri} (${winner})`);
      return { outputs: { model: winner, ranking: [chosen, ...failures] }, artifacts: [] };
    } catch (thrown) {
      failures.push({ uri, error: errorMessage(thrown, uri) });
      runtime.log(`candidate ${uri} failed to load: ${errorMessage(thrown, uri)}`);
    }
  }
  throw noCandidate('loaded', failures);
}

/** One candidate ranked on the sample (the sample is the same for each: same seed). */
async function rankCandidate(
  selection: Selection,
  uri: string,
  sample: { readonly datasetUri: string; readonly samplePerClass: number },
): Promise<{ readonly ranked: RankedCandidate; readonly sampleSize: number }> {
  const { runtime, inputs, bucket, modelHttp } = selection;
  const method = inputs.rankBy;
  const result = await selectModel(runtime.store, {
    candidates: [uri],
    datasetUri: sample.datasetUri,
    method,
    samplePerClass: sample.samplePerClass,
    seed: inputs.seed,
    k: inputs.k,
    registryBucket: bucket,
    tfBackend: runtime.ml.tfBackend,
    fromScratch: inputs.fromScratch,
    ...(modelHttp ? { modelHttp } : {}),
  });
  const scored = result.best;
  const model = await pinned(runtime.store, uri, bucket);
  const transfer = scored.transferGain
    ? { fromScratchScore: scored.fromScratchScore, transferGain: scored.transferGain }
    : {};
  const entry = toJsonValue({
    uri,
    model,
    score: scored.score,
    method,
    ...(method === 'knn' ? { k: inputs.k } : {}),
    sampleSize: result.sampleSize,
    featureDimension: scored.featureDimension,
    seconds: scored.seconds,
    ...transfer,
  }) as JsonObject;
  const gain = scored.transferGain
    ? `; random weights ${scored.fromScratchScore?.toFixed(3)}, transfer gain ` +
      `${scored.transferGain.estimate.toFixed(3)} [${scored.transferGain.low.toFixed(3)}, ${scored.transferGain.high.toFixed(3)}]`
    : '';
  runtime.log(
    `candidate ${uri}: ${method} accuracy ${scored.score.toFixed(3)} on a sample of ${result.sampleSize} ` +
      `(${scored.featureDimension} features, ${scored.seconds.toFixed(1)} s)${gain}`,
  );
  return { ranked: { entry, uri, model, score: scored.score, ...transfer }, sampleSize: result.sampleSize };
}

/** Every candidate ranked on a seeded sample of `data`; the best one wins. */
async function rankCandidates(selection: Selection, datasetUri: string): Promise<StageActivityResult> {
  const { runtime, inputs } = selection;
  const { candidates, rankBy: method } = inputs;
  const manifest = await readManifest(runtime.store, datasetUri);
  // The stage's sampleSize counts examples in total; the ranking samples per class.
  const samplePerClass = Math.max(2, Math.ceil(inputs.sampleSize / Math.max(1, manifest.classes.length)));
  const ranking: RankedCandidate[] = [];
  const failures: JsonObject[] = [];
  let sampleSize = 0;
  for (const [index, uri] of candidates.entries()) {
    if (runtime.signal.aborted) throw new CancelledError('select-model was cancelled', { candidate: uri });
    runtime.heartbeat({
      message: `ranking candidate ${index + 1}/${candidates.length}: ${uri} (${method})`,
      fraction: index / candidates.length,
      detail: { candidate: index + 1, candidates: candidates.length },
    });
    try {
      const ranked = await rankCandidate(selection, uri, { datasetUri, samplePerClass });
      ranking.push(ranked.ranked);
      sampleSize = ranked.sampleSize;
    } catch (thrown) {
      failures.push({ uri, error: errorMessage(thrown, uri) });
      runtime.log(`candidate ${uri} could not be scored: ${errorMessage(thrown, uri)}`);
    }
  }
  ranking.sort((a, b) => b.score - a.score || a.uri.localeCompare(b.uri));
  const best = ranking[0];
  if (!best) throw noCandidate('scored', failures);
  runtime.heartbeat({
    message: `chose ${best.model} (${method} ${best.score.toFixed(3)})`,
    fraction: 1,
    detail: { candidate: candidates.length, candidates: candidates.length },
  });
  return {
    outputs: {
      model: best.model,
      ranking: [...ranking.map((ranked) => ranked.entry), ...failures],
      ...transferOutputs(best, method, sampleSize, runtime, inputs.requireTransferGain),
    },
    artifacts: [],
  };
}

export const selectModelStage: StageImplementation = async (
  input: StageActivityInput,
  runtime: StageRuntime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('select-model', input.inputs);
  const selection: Selection = { inputs, runtime, bucket: input.context.bucket, modelHttp: modelHttpOptions(inputs) };
  return inputs.data ? rankCandidates(selection, inputs.data) : firstLoadable(selection);
};

/**
 * The from-scratch candidate, the winner's transfer gain and the recommendation; with
 * `requireTransferGain`, a winner not expected to beat training from scratch fails the stage
 * before any fine-tuning compute is spent.
 */
function transferOutputs(
  best: RankedCandidate,
  method: RankMethod,
  sampleSize: number,
  runtime: StageRuntime,
  required: boolean,
): JsonObject {
  const gain = best.transferGain;
  if (!gain) return {};
  const verdict = transferVerdict(best.uri, gain, sampleSize);
  if (verdict.warning) runtime.log(`warning: ${verdict.warning}`);
  if (required && verdict.recommendation === 'from-scratch')
    throw new InvalidInputError(`requireTransferGain: ${verdict.warning ?? ''}`, { field: 'requireTransferGain' });
  return toJsonValue({
    fromScratch: {
      score: best.fromScratchScore,
      architectureOf: best.uri,
      method,
      note: "the winner's architecture with fresh random weights, probed the same way",
    },
    transferGain: { candidate: best.model, ...gain },
    recommendation: verdict.recommendation,
    warnings: verdict.warning ? [verdict.warning] : [],
  }) as JsonObject;
}
