/**
 * The rules of a `pipeline` stage at run time (src/spec/pipeline-stage-type.ts): the child run's id,
 * its input (the compiled child plan with the stage's resolved params, and the stages a failed
 * earlier attempt already finished), and the stage's outputs from the child's stages. Pure and
 * workflow-safe: the `pipelineRun` workflow starts the child with `executeChild`.
 */
import { InvalidInputError } from '../errors';
import { collectConditionReferences, collectReferences } from '../spec/expressions';
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../spec/plan-types';
import { checkParamOverrides, paramValues, type ParamValues } from './params';
import type { PipelineRunInput, ReusedStageOutput, StageState } from './run-types';

/**
 * Workflow id of the child run of one attempt of a `pipeline` stage: derived from the parent run and
 * the stage (a fan-out instance's id included), so it is stable across replays and findable by
 * `fineflow status`. One child per attempt: a retried stage starts a fresh child.
 */
export function subPipelineRunId(runId: string, stageId: string, attempt: number): string {
  return `${runId}.${stageId}.pipeline-${attempt}`;
}

/**
 * The child run's input. `params` is the stage's resolved `with.params`; a value that does not fit the
 * child's declared type fails the stage as invalid input (validate checked literals; an upstream
 * output is known only now). `reuse`: stages a failed earlier attempt finished, not run again.
 */
export function subPipelineRunInput(
  stage: PlannedStage,
  inputs: JsonObject,
  parent: Pick<PipelineRunInput, 'trigger' | 'bucket' | 'historyEventLimit' | 'resultInlineChars'>,
  reuse: readonly ReusedStageOutput[] = [],
): PipelineRunInput {
  const child = stage.subPipeline;
  if (!child) throw new InvalidInputError(`stage ${stage.id} has no sub-pipeline plan`, { stageId: stage.id });
  const given = inputs.params;
  const params =
    given !== null && given !== undefined && typeof given === 'object' && !Array.isArray(given)
      ? (given as JsonObject)
      : {};
  const check = checkParamOverrides(child.plan, params, { strict: true });
  if (!check.ok)
    throw new InvalidInputError(`${stage.id}: params for ${child.file} do not fit: ${check.problems.join('; ')}`, {
      stageId: stage.id,
      file: child.file,
    });
  const missing = Object.entries(child.plan.params)
    .filter(([name, p]) => p.value === null && !(name in check.values))
    .map(([name]) => name);
  if (missing.length > 0)
    throw new InvalidInputError(`${stage.id}: ${child.file} needs params ${missing.join(', ')}`, {
      stageId: stage.id,
      file: child.file,
    });
  const values: Record<string, JsonValue> = check.values;
  return {
    plan: {
      ...child.plan,
      params: Object.fromEntries(
        Object.entries(child.plan.params).map(([name, p]) => [
          name,
          { ...p, value: Object.prototype.hasOwnProperty.call(values, name) ? (values[name] as JsonValue) : p.value },
        ]),
      ),
    },
    trigger: parent.trigger,
    ...(parent.bucket !== undefined ? { bucket: parent.bucket } : {}),
    ...(parent.historyEventLimit !== undefined ? { historyEventLimit: parent.historyEventLimit } : {}),
    ...(parent.resultInlineChars !== undefined ? { resultInlineChars: parent.resultInlineChars } : {}),
    ...(reuse.length > 0 ? { reuse } : {}),
  };
}

/** The stage's outputs: each child stage's outputs under its id (a fan-out's are its lists; instances are left out). */
export function subPipelineOutputs(stages: readonly StageState[]): JsonObject {
  const outputs: Record<string, JsonValue> = {};
  for (const stage of stages)
    if (stage.instanceOf === undefined && stage.outputs !== undefined) outputs[stage.id] = stage.outputs;
  return outputs;
}

/**
 * Params each stage of a plan depends on: those its `with`, `when` and fan-out read, and those of every stage it needs.
 */
function paramDependencies(plan: Plan): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>();
  // Plan stages are in topological order: a stage's needs are settled before it.
  for (const stage of plan.stages) {
    const refs = [
      ...collectReferences(stage.with),
      ...(stage.fanOut ? collectReferences(stage.fanOut as unknown as JsonValue) : []),
      ...(stage.when !== undefined ? collectConditionReferences(stage.when) : []),
    ];
    const own = new Set(refs.filter((r) => r.kind === 'param').map((r) => r.name));
    for (const need of stage.needs) for (const name of deps.get(need) ?? []) own.add(name);
    deps.set(stage.id, own);
  }
  return deps;
}

/**
 * What the next attempt of the stage reuses from a failed child: its stages that succeeded or came from
 * the cache, unless a param they depend on (directly or through the stages they need) changed since.
 */
export function reusableChildStages(
  previous: { readonly childRunId: string; readonly params: ParamValues; readonly stages: readonly StageState[] },
  next: PipelineRunInput['plan'],
): ReusedStageOutput[] {
  const deps = paramDependencies(next);
  const values = paramValues(next);
  const unchanged = (stageId: string): boolean =>
    [...(deps.get(stageId) ?? [])].every(
      (name) => JSON.stringify(previous.params[name] ?? null) === JSON.stringify(values[name] ?? null),
    );
  return previous.stages
    .filter(
      (s) =>
        s.instanceOf === undefined &&
        (s.status === 'succeeded' || s.status === 'cached') &&
        s.outputs !== undefined &&
        deps.has(s.id) &&
        unchanged(s.id),
    )
    .map((s) => ({ stageId: s.id, outputs: s.outputs as JsonObject, fromRunId: previous.childRunId }));
}

/** The stages of a failed child run, from the details of its failure (the `pipelineRun` result shape). */
export function failedRunStages(details: unknown): readonly StageState[] | undefined {
  if (details === null || typeof details !== 'object' || !('stages' in details)) return undefined;
  const stages = (details as { stages: unknown }).stages;
  return Array.isArray(stages) ? (stages as StageState[]) : undefined;
}
