/**
 * Run states for the browser tests, shaped as the run workflow reports them: a manual run and its stages that ran
 * once and succeeded. A test writes only what its page shows (ids, params, outputs); the rest is the same everywhere.
 */
import type { JsonObject, Plan } from '../../src/core/spec/plan-types';
import { makePlan } from '../fixtures/runtime/plans';
import type { RunState, StageState } from '../../src/core/run/run-types';
import type { SweepTrialTable } from '../../src/client/sweep-trial-table';

/** The pipeline a run id names (`quickstart-20261206-080121-yn0l` → `quickstart`, see newRunId). */
export function pipelineOfRunId(runId: string): string {
  return runId.replace(/-\d{8}-.*$/, '');
}

/** A run started by hand: status succeeded, no params, the pipeline its id names, unless `fields` say otherwise. */
export function manualRun(
  fields: Pick<RunState, 'runId' | 'startedAt' | 'stages'> & Partial<Omit<RunState, 'trigger'>>,
): RunState {
  return {
    pipeline: pipelineOfRunId(fields.runId),
    status: 'succeeded',
    trigger: { kind: 'manual' },
    params: {},
    ...fields,
  };
}

/** A stage that succeeded on its first attempt with these outputs (`extra`: start and end times, …). */
export function succeededStage(
  id: string,
  uses: string,
  pool: string,
  outputs: JsonObject,
  extra: Partial<StageState> = {},
): StageState {
  return { id, uses, pool, status: 'succeeded', attempts: 1, outputs, ...extra };
}

/**
 * A plan that fine-tunes, evaluates and registers one model, its register stage taking the evaluate stage's metrics:
 * the runs behind a model page's versions.
 */
export function registeringPlan(pipeline: string): Plan {
  const model = '${{ stages.finetune.outputs.model }}';
  return makePlan(pipeline, [
    { id: 'finetune', uses: 'fine-tune' },
    { id: 'evaluate', uses: 'evaluate', with: { model, split: 'test' }, needs: ['finetune'] },
    {
      id: 'register',
      uses: 'register-model',
      with: { model, metrics: '${{ stages.evaluate.outputs.metrics }}' },
      needs: ['evaluate'],
    },
  ]);
}

/** The line a two-trial sweep sends its run while trial 0 finished (0.3) and trial 1 runs. */
export const TWO_TRIAL_SWEEP_LINE =
  'trials 1/2 done (1 running, 0 pruned, 0 failed) best validation.loss=0.3 (trial 0)';

/** A two-trial sweep stage `sweep` that started at `startedAt`, as it reports itself: one trial done, one running. */
export function twoTrialSweepStage(startedAt: string): StageState {
  return {
    id: 'sweep',
    uses: 'hyperparameter-sweep',
    pool: 'cpu',
    status: 'running',
    attempts: 0,
    startedAt,
    progress: {
      message: TWO_TRIAL_SWEEP_LINE,
      fraction: 0.5,
      detail: {
        started: 2,
        running: 1,
        completed: 1,
        stopped: 0,
        failed: 0,
        maxTrials: 2,
        bestValue: 0.3,
        bestTrialId: 0,
      },
    },
  };
}

/** That sweep's live trial table: trial 0 finished and best, trial 1 in `trialState` (with `note` when retrying). */
export function twoTrialSweepTable(trialState: 'running' | 'retrying', note: string): SweepTrialTable {
  return {
    stageId: 'sweep',
    source: 'live',
    metric: 'validation.loss',
    goal: 'minimize',
    partial: false,
    bestTrialId: 0,
    rows: [
      { trialId: 0, state: 'finished', params: { units: 4 }, epochs: 9, objective: 0.3, best: true },
      {
        trialId: 1,
        state: trialState,
        params: { units: 6 },
        epochs: 3,
        best: false,
        ...(trialState === 'retrying' ? { note } : {}),
      },
    ],
  };
}
