/**
 * `fine-tune`'s `crossValidation:`: before the model is trained on the whole training split, the
 * same training request runs once per fold of a stratified k-fold split of the train and
 * validation examples (repeated `repeats` times with fresh folds), each scored on its held-out
 * fold. The mean and a corrected t interval (src/ml/eval/cross-validation.ts) say how well this
 * training generalises, with far less noise than one small validation split.
 *
 * Every round writes its result beside its model (`cross-validation/repeat-R/fold-F/`): a retry
 * of the stage reuses finished rounds (same request fingerprint) and resumes the one in flight
 * from its newest verified checkpoint, so no finished round is trained twice.
 */
import { CancelledError } from '../src/core/errors';
import type { JsonObject } from '../src/core/spec/plan-types';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import { joinS3Uri } from '../src/core/storage/uri';
import { crossValidatedEstimate, type CrossValidatedEstimate } from '../src/ml/eval/cross-validation';
import { newestVerifiedCheckpoint } from '../src/ml/train/checkpoint';
import type { TrainingRunner } from '../src/ml/train/child-runner';
import { requestKeyOf } from '../src/ml/train/fine-tune';
import type { TrainingProgress, TrainingRequest } from '../src/ml/train/types';
import { formatMetrics, memoryLimit, toJsonValue, trainingFence } from './ml-stage-support';
import type { StageRuntime } from './stage-runner';

interface RoundResult {
  readonly format: 'fineflow-cross-validation-round/v1';
  readonly requestKey: string;
  readonly repeat: number;
  readonly fold: number;
  readonly accuracy: number;
  readonly loss: number;
  readonly trainExamples: number;
  readonly epochs: number;
}

export interface CrossValidationSettings {
  readonly folds: number;
  readonly repeats: number;
  readonly confidence: number;
  readonly seed: number;
}

/** The stage's `crossValidation` input with its defaults, or undefined when absent. */
export function crossValidationSettings(settings: StageInputValues['fine-tune']): CrossValidationSettings | undefined {
  const input = settings.crossValidation;
  if (!input) return undefined;
  return {
    folds: input.folds,
    repeats: input.repeats,
    confidence: input.confidence,
    seed: input.seed ?? settings.seed,
  };
}

function isRoundResult(value: unknown, requestKey: string): value is RoundResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as RoundResult).format === 'fineflow-cross-validation-round/v1' &&
    (value as RoundResult).requestKey === requestKey
  );
}

async function runRound(
  request: TrainingRequest,
  directory: string,
  label: string,
  runtime: StageRuntime,
  runTraining: TrainingRunner,
  fraction: (epochFraction: number) => number,
): Promise<{ accuracy: number; loss: number; trainExamples: number; epochs: number }> {
  const checkpoints = joinS3Uri(directory, 'checkpoints');
  const found = await newestVerifiedCheckpoint(runtime.store, checkpoints, { requestKey: requestKeyOf(request) });
  if (found) runtime.log(`${label}: resuming from ${found.directory} at epoch ${found.state.epochsDone}`);
  const onProgress = (progress: TrainingProgress): void => {
    const m = progress.metrics;
    const message =
      `${label} epoch ${progress.epoch}/${progress.totalEpochs} ` +
      `${formatMetrics({ loss: m.trainLoss, acc: m.trainAccuracy, val_loss: m.validationLoss, val_acc: m.validationAccuracy })}`;
    runtime.log(message);
    runtime.heartbeat({ message, fraction: fraction(progress.epoch / Math.max(1, progress.totalEpochs)) });
  };
  const result = await runTraining(
    {
      ...request,
      outputUri: joinS3Uri(directory, 'model'),
      checkpoint: { uri: checkpoints, everyEpochs: request.checkpoint?.everyEpochs ?? 1, keepLast: 1 },
      ...(found ? { resumeFrom: found.directory } : {}),
    },
    {
      onProgress,
      signal: runtime.signal,
      onLog: (line: string) => runtime.log(`[${label}] ${line}`),
      ...memoryLimit(runtime.ml),
      ...(await trainingFence(runtime, `start ${label}`)),
    },
  );
  return {
    accuracy: result.final.validationAccuracy ?? Number.NaN,
    loss: result.final.validationLoss ?? Number.NaN,
    trainExamples: result.trainExamples,
    epochs: result.epochs.length,
  };
}

/**
 * Runs every round of `settings` for `request` (the stage's own training request) and returns the
 * `crossValidation` output: per metric the mean, standard deviation and interval, and every round.
 */
export async function crossValidate(
  request: TrainingRequest,
  settings: CrossValidationSettings,
  outputPrefix: string,
  runtime: StageRuntime,
  runTraining: TrainingRunner,
): Promise<JsonObject> {
  const rounds: RoundResult[] = [];
  const total = settings.folds * settings.repeats;
  runtime.log(
    `cross-validation: ${settings.folds} folds × ${settings.repeats} repeat(s) of the train and validation ` +
      `examples, then the final model`,
  );
  for (let repeat = 1; repeat <= settings.repeats; repeat += 1) {
    for (let fold = 1; fold <= settings.folds; fold += 1) {
      if (runtime.signal.aborted) throw new CancelledError('fine-tune was cancelled during cross-validation', {});
      const roundRequest: TrainingRequest = {
        ...request,
        crossValidationFold: { folds: settings.folds, fold: fold - 1, seed: settings.seed + repeat - 1 },
      };
      const requestKey = requestKeyOf(roundRequest);
      const directory = joinS3Uri(outputPrefix, `cross-validation/repeat-${repeat}/fold-${fold}`);
      const resultUri = joinS3Uri(directory, 'result.json');
      const label = `cross-validation repeat ${repeat}/${settings.repeats} fold ${fold}/${settings.folds}`;
      const done = rounds.length;
      const previous = (await runtime.store.stat(resultUri)) ? await runtime.store.getJson(resultUri) : undefined;
      if (isRoundResult(previous, requestKey)) {
        runtime.log(`${label}: reusing the result of an earlier attempt (${resultUri})`);
        rounds.push(previous);
        continue;
      }
      const scored = await runRound(roundRequest, directory, label, runtime, runTraining, (epochFraction) =>
        // The final training counts as one more round.
        Math.min(1, (done + epochFraction) / (total + 1)),
      );
      const round: RoundResult = {
        format: 'fineflow-cross-validation-round/v1',
        requestKey,
        repeat,
        fold,
        ...scored,
      };
      await runtime.store.putJson(resultUri, round);
      runtime.log(`${label}: ${formatMetrics({ val_acc: round.accuracy, val_loss: round.loss })}`);
      rounds.push(round);
    }
  }
  const summary = (values: number[]): CrossValidatedEstimate =>
    crossValidatedEstimate(values, settings.folds, settings.confidence);
  const accuracy = summary(rounds.map((round) => round.accuracy));
  const loss = summary(rounds.map((round) => round.loss));
  runtime.log(
    `cross-validation accuracy ${accuracy.mean.toFixed(4)} (${Math.round(settings.confidence * 100)}% interval ` +
      `${accuracy.low.toFixed(4)}–${accuracy.high.toFixed(4)}, sd ${accuracy.std.toFixed(4)}, ${rounds.length} rounds)`,
  );
  return toJsonValue({
    folds: settings.folds,
    repeats: settings.repeats,
    seed: settings.seed,
    method: 'stratified k-fold of train+validation; corrected resampled t interval (Nadeau & Bengio)',
    accuracy,
    loss,
    rounds: rounds.map(({ repeat, fold, accuracy: a, loss: l, trainExamples, epochs }) => ({
      repeat,
      fold,
      accuracy: a,
      loss: l,
      trainExamples,
      epochs,
    })),
  }) as JsonObject;
}
