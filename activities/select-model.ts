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
import { checkStageInputs, modelHttpOptions, optionalNumber, optionalString, toJsonValue } from './ml-stage-support';

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

export const selectModelStage: StageImplementation = async (
  input: StageActivityInput,
  runtime: StageRuntime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('select-model', input.inputs);
  const { context } = input;
  const store = runtime.store;
  const candidates = inputs.candidates;
  const datasetUri = optionalString(inputs, 'data');
  const method: RankMethod = inputs.rankBy;
  const seed = optionalNumber(inputs, 'seed') ?? 0;
  const k = optionalNumber(inputs, 'k') ?? 5;
  const fromScratch = inputs.fromScratch !== false;
  let sampleSize = 0;
  const tfBackend = runtime.ml.tfBackend;
  const modelHttp = modelHttpOptions(inputs);
  const ranking: JsonObject[] = [];
  const failures: JsonObject[] = [];

  if (!datasetUri) {
    // No data to rank on: the first candidate that loads wins.
    // Loading TensorFlow blocks this worker for a while: start the heartbeat window afresh.
    runtime.heartbeat({ message: `loading ${candidates.length} candidate(s)`, fraction: 0 });
    const { tf } = loadTf({ preference: tfBackend });
    for (const [index, uri] of candidates.entries()) {
      runtime.heartbeat({
        message: `loading candidate ${index + 1}/${candidates.length}: ${uri}`,
        fraction: index / candidates.length,
        detail: { candidate: index + 1, candidates: candidates.length },
      });
      try {
        const model = await loadModel(tf, store, uri, {
          registryBucket: context.bucket,
          ...(modelHttp ? { http: modelHttp } : {}),
        });
        model.dispose();
        const winner = await pinned(store, uri, context.bucket);
        ranking.push({
          uri,
          model: winner,
          score: null,
          note: 'no data given: the first candidate that loads is chosen',
        });
        runtime.log(`no data to rank on; chose the first loadable candidate ${uri} (${winner})`);
        return { outputs: { model: winner, ranking: [...ranking, ...failures] }, artifacts: [] };
      } catch (thrown) {
        failures.push({ uri, error: errorMessage(thrown, uri) });
        runtime.log(`candidate ${uri} failed to load: ${errorMessage(thrown, uri)}`);
      }
    }
    throw new InvalidInputError(
      `no candidate model could be loaded: ${failures.map((f) => `${String(f.uri)}: ${String(f.error)}`).join('; ')}`,
      { field: 'candidates' },
    );
  }

  const manifest = await readManifest(store, datasetUri);
  // The stage's sampleSize counts examples in total; the ranking samples per class.
  const samplePerClass = Math.max(
    2,
    Math.ceil((optionalNumber(inputs, 'sampleSize') ?? 512) / Math.max(1, manifest.classes.length)),
  );
  for (const [index, uri] of candidates.entries()) {
    if (runtime.signal.aborted) throw new CancelledError('select-model was cancelled', { candidate: uri });
    runtime.heartbeat({
      message: `ranking candidate ${index + 1}/${candidates.length}: ${uri} (${method})`,
      fraction: index / candidates.length,
      detail: { candidate: index + 1, candidates: candidates.length },
    });
    try {
      // One candidate at a time, for progress; the sample is the same for each (same seed).
      const result = await selectModel(store, {
        candidates: [uri],
        datasetUri,
        method,
        samplePerClass,
        seed,
        k,
        registryBucket: context.bucket,
        tfBackend,
        fromScratch,
        ...(modelHttp ? { modelHttp } : {}),
      });
      const scored = result.best;
      ranking.push(
        toJsonValue({
          uri,
          model: await pinned(store, uri, context.bucket),
          score: scored.score,
          method,
          ...(method === 'knn' ? { k } : {}),
          sampleSize: result.sampleSize,
          featureDimension: scored.featureDimension,
          seconds: scored.seconds,
          ...(scored.transferGain
            ? { fromScratchScore: scored.fromScratchScore, transferGain: scored.transferGain }
            : {}),
        }) as JsonObject,
      );
      sampleSize = result.sampleSize;
      const gain = scored.transferGain
        ? `; random weights ${scored.fromScratchScore?.toFixed(3)}, transfer gain ${scored.transferGain.estimate.toFixed(3)} [${scored.transferGain.low.toFixed(3)}, ${scored.transferGain.high.toFixed(3)}]`
        : '';
      runtime.log(
        `candidate ${uri}: ${method} accuracy ${scored.score.toFixed(3)} on a sample of ${result.sampleSize} (${scored.featureDimension} features, ${scored.seconds.toFixed(1)} s)${gain}`,
      );
    } catch (thrown) {
      failures.push({ uri, error: errorMessage(thrown, uri) });
      runtime.log(`candidate ${uri} could not be scored: ${errorMessage(thrown, uri)}`);
    }
  }
  ranking.sort((a, b) => (b.score as number) - (a.score as number) || String(a.uri).localeCompare(String(b.uri)));
  const best = ranking[0];
  if (!best) {
    throw new InvalidInputError(
      `no candidate model could be scored: ${failures.map((f) => `${String(f.uri)}: ${String(f.error)}`).join('; ')}`,
      { field: 'candidates' },
    );
  }
  runtime.heartbeat({
    message: `chose ${String(best.model)} (${method} ${(best.score as number).toFixed(3)})`,
    fraction: 1,
    detail: { candidate: candidates.length, candidates: candidates.length },
  });
  return {
    outputs: {
      model: best.model as string,
      ranking: [...ranking, ...failures],
      ...transferOutputs(best, method, sampleSize, runtime, inputs.requireTransferGain === true),
    },
    artifacts: [],
  };
};

/**
 * The from-scratch candidate, the winner's transfer gain and the recommendation; with
 * `requireTransferGain`, a winner not expected to beat training from scratch fails the stage
 * before any fine-tuning compute is spent.
 */
function transferOutputs(
  best: JsonObject,
  method: RankMethod,
  sampleSize: number,
  runtime: StageRuntime,
  required: boolean,
): JsonObject {
  const gain = best.transferGain as unknown as TransferGain | undefined;
  if (!gain) return {};
  const verdict = transferVerdict(String(best.uri), gain, sampleSize);
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
