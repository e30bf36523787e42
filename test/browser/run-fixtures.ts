/**
 * Run states for the browser tests, shaped as the run workflow reports them: a manual run and its stages that ran
 * once and succeeded. A test writes only what its page shows (ids, params, outputs); the rest is the same everywhere.
 */
import type { JsonObject, Plan } from '../../src/core/spec/plan-types';
import { makePlan } from '../fixtures/runtime/plans';
import type { RunState, StageState } from '../../src/core/run/run-types';

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
