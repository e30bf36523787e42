/**
 * Every activity a Fineflow worker can run, built from injected services (the object store),
 * as in Temporal's dependency-injection sample. Stage activities are keyed by stage type name
 * (the `uses:` of a stage), which is the activity type the `pipelineRun` workflow schedules.
 *
 * To add a stage type: write `activities/<stage-type>.ts` exporting a `StageImplementation`
 * (see ./stage-runner) and add one line to STAGE_IMPLEMENTATIONS below.
 */
import { InvalidInputError } from '../src/core/errors';
import { STAGE_TYPE_NAME } from '../src/core/spec/validate-plan';
import type { ObjectStore } from '../src/storage/object-store';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import { loadCommandConfig, type CommandConfig } from '../src/command/command-config';
import { createCacheActivities } from './cache';
import { createCommandStage } from './command';
import { createDataWatchActivities } from './data-watch';
import { evaluateStage } from './evaluate';
import { fineTuneStage } from './fine-tune';
import { predictStage } from './predict';
import { notifyStage } from './notify';
import { prepareDataStage } from './prepare-data';
import { createRunStateActivities } from './run-state';
import { registerModelStage } from './register-model';
import { selectModelStage } from './select-model';
import { createSweepTrialActivities } from './sweep-trial';
import { createSweepTrialStageActivities } from './sweep-trial-stage';
import { stageActivity, type StageImplementation, type StageOrigin, type StageRunnerDeps } from './stage-runner';

/** Built-in stage types: type name → implementation. */
export const STAGE_IMPLEMENTATIONS: { readonly [typeName: string]: StageImplementation } = {
  'select-model': selectModelStage,
  'prepare-data': prepareDataStage,
  'fine-tune': fineTuneStage,
  evaluate: evaluateStage,
  'register-model': registerModelStage,
  predict: predictStage,
  notify: notifyStage,
};

export interface ActivityDeps extends StageRunnerDeps {
  readonly store: ObjectStore;
  /** Bucket of runs/, cache/ and models/ (config.s3.bucket). */
  readonly bucket: string;
  /** What `command` stages may run here (config.command); default: nothing, every command stage is refused. */
  readonly command?: CommandConfig;
  /** Extra stage types (tests, plugins loaded with `fineflow worker --stage-module`). */
  readonly extraStages?: { readonly [typeName: string]: StageImplementation };
}

/** A worker without FINEFLOW_COMMAND_ALLOW runs no programs (the stage fails with command-not-allowed). */
const NO_COMMANDS: CommandConfig = loadCommandConfig({});

export type StageActivity = (input: StageActivityInput) => Promise<StageActivityResult>;

/** Names of the stage types a worker with these deps runs. */
export function stageTypeNames(deps: Pick<ActivityDeps, 'extraStages'>): string[] {
  return Object.keys({ ...STAGE_IMPLEMENTATIONS, command: true, ...deps.extraStages }).sort();
}

/**
 * Stage activities (and the sweep's trial segments, which run on a stage's pool): what every pool's worker registers.
 */
export function createStageActivities(deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>> {
  const command = createCommandStage(deps.command ?? NO_COMMANDS);
  const all: { readonly [typeName: string]: StageImplementation } = {
    ...STAGE_IMPLEMENTATIONS,
    command,
    ...deps.extraStages,
  };
  // A stage module must not register a name the workflow would refuse, nor shadow a runtime activity.
  const misnamed = Object.keys(all).filter((name) => !STAGE_TYPE_NAME.test(name));
  if (misnamed.length > 0)
    throw new InvalidInputError(
      `stage type names must be lower-case letters, digits and dashes: ${misnamed.join(', ')}`,
      { stageTypes: misnamed },
    );
  const originOf = (typeName: string): StageOrigin =>
    deps.extraStages && Object.prototype.hasOwnProperty.call(deps.extraStages, typeName) ? 'module' : 'builtin';
  const stages: Record<string, StageActivity> = Object.fromEntries(
    Object.entries(all).map(([typeName, implementation]) => [
      typeName,
      stageActivity(typeName, implementation, deps, originOf(typeName)),
    ]),
  );
  // A sweep's trialStage trial runs the same implementation, its progress also forwarded to the sweep.
  const trialStage = createSweepTrialStageActivities((uses, onProgress) => {
    const implementation = Object.prototype.hasOwnProperty.call(all, uses) ? all[uses] : undefined;
    return implementation ? stageActivity(uses, implementation, { ...deps, onProgress }, originOf(uses)) : undefined;
  });
  return {
    ...createSweepTrialActivities({
      store: deps.store,
      ...(deps.ml ? { ml: deps.ml } : {}),
      ...(deps.resources ? { resources: deps.resources } : {}),
    }),
    ...trialStage,
    ...stages,
  };
}

/** Runtime activities the workflows call on their own (control) task queue. */
export function createRuntimeActivities(deps: ActivityDeps) {
  return {
    ...createCacheActivities(deps.store, deps.bucket, {
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      knownStageTypes: stageTypeNames(deps),
    }),
    ...createDataWatchActivities(deps.store, deps.bucket),
    ...createRunStateActivities(deps.store),
  };
}

/** Every activity: stage activities plus runtime activities. */
export function createActivities(deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>> {
  // Runtime activity names must not be shadowed by a stage type of the same name.
  return { ...createStageActivities(deps), ...createRuntimeActivities(deps) };
}
