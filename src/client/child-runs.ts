/**
 * Sub-pipelines in a run's state (`fineflow status`): a `pipeline` stage records the id of its child
 * run (StageState.childRunId, src/core/run/sub-pipeline.ts); this asks each child for its state and
 * lists the child's stages right after the parent stage, as `<stage> › <child stage>` with
 * `parentStage` set, down to the nesting limit. A child that cannot answer adds a note, not an error.
 */
import type { RunState, StageState } from '../core/run/run-types';
import { MAX_SUB_PIPELINE_DEPTH } from '../core/spec/validate-plan';

/** How nested stage ids are written: `train › finetune`, `train › tune.0`. */
export const NESTED_STAGE_SEPARATOR = ' › ';

function nestedStage(parent: string, stage: StageState): StageState {
  return {
    ...stage,
    id: `${parent}${NESTED_STAGE_SEPARATOR}${stage.id}`,
    parentStage: stage.parentStage !== undefined ? `${parent}${NESTED_STAGE_SEPARATOR}${stage.parentStage}` : parent,
    ...(stage.instanceOf !== undefined ? { instanceOf: `${parent}${NESTED_STAGE_SEPARATOR}${stage.instanceOf}` } : {}),
  };
}

/** `state` with the stages of its `pipeline` stages' child runs (and theirs) listed under them. */
export async function withChildRuns(
  state: RunState,
  fetchState: (runId: string) => Promise<RunState>,
  depth = 0,
): Promise<RunState> {
  if (depth >= MAX_SUB_PIPELINE_DEPTH || !state.stages.some((s) => s.childRunId !== undefined)) return state;
  const children = await Promise.all(
    state.stages.map(async (stage): Promise<readonly StageState[]> => {
      if (stage.childRunId === undefined) return [];
      try {
        const child = await withChildRuns(await fetchState(stage.childRunId), fetchState, depth + 1);
        return child.stages.map((s) => nestedStage(stage.id, s));
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        return [
          {
            id: `${stage.id}${NESTED_STAGE_SEPARATOR}?`,
            uses: 'pipeline',
            pool: stage.pool,
            status: 'pending',
            attempts: 0,
            parentStage: stage.id,
            reason: `child run ${stage.childRunId} did not answer: ${why}`,
          },
        ];
      }
    }),
  );
  return { ...state, stages: state.stages.flatMap((stage, index) => [stage, ...(children[index] ?? [])]) };
}
