/**
 * `fineflow rerun RUN --from STAGE`: which stages of an ended run are reused and which run
 * again. Pure: the CLI fetches the original run, this decides, the CLI starts the new run.
 *
 * - STAGE and every stage downstream of it run again, with the cache bypassed: their plan
 *   entry gets `cache.refresh: true`, so the lookup is skipped and their new results replace
 *   the entries. That is the point of a rerun: the user wants them recomputed.
 * - Every other stage that succeeded (or was served from the cache) is reused with its
 *   outputs, so nothing upstream runs again.
 * - An upstream of STAGE that did not succeed has no outputs to reuse: that is an error
 *   naming the stage to rerun from instead. A stage beside the rerun (neither upstream nor
 *   downstream of STAGE) that did not succeed simply runs again.
 * - A stage that succeeded but whose artifacts have since been deleted (`unavailable`) is not
 *   reused either: it runs again with the cache allowed, so a valid entry from another run can
 *   still serve it. Reusing it would hand its downstream a URI that no longer exists.
 */
import { InvalidInputError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../core/spec/plan-types';
import { closest } from '../core/spec/suggest';
import { stagesDownstreamOf } from '../core/run/dag';
import { paramsReferencedBy } from './cache-key';
import type { ReusedStageOutput, StageState } from '../core/run/run-types';

export interface RerunRequest {
  /** The original run's plan. */
  readonly plan: Plan;
  readonly fromRunId: string;
  readonly fromStage: string;
  /** Final stage states of the original run. */
  readonly stages: readonly StageState[];
  /** Param values the original run ended with (after any `retry --set`); default: the plan's. */
  readonly params?: { readonly [name: string]: JsonValue };
  /** `--set` overrides, already type-checked against the plan. */
  readonly overrides?: { readonly [name: string]: JsonValue };
  /** Succeeded stages whose outputs can no longer be read, with the reason (e.g. `artifact s3://… missing`). */
  readonly unavailable?: { readonly [stageId: string]: string };
}

export interface RerunSelection {
  /** Stages the new run executes, in plan order. */
  readonly rerun: readonly string[];
  /** Outputs of the stages that are not executed again. */
  readonly reuse: readonly ReusedStageOutput[];
  /** Plan of the new run: params with overrides, cache bypassed for the rerun stages. */
  readonly plan: Plan;
  /** Things the user should know (a reused stage reads an overridden param, a failed side branch runs again). */
  readonly notes: readonly string[];
  /** Why each stage of the plan runs again or is reused, one short clause per stage (the UI's rerun dialog). */
  readonly why: { readonly [stageId: string]: string };
}

const REUSABLE = new Set<StageState['status']>(['succeeded', 'cached']);

/** Every stage `stageId` depends on, transitively. */
export function upstreamOf(plan: Plan, stageId: string): Set<string> {
  const byId = new Map(plan.stages.map((stage) => [stage.id, stage]));
  const found = new Set<string>();
  const pending = [...(byId.get(stageId)?.needs ?? [])];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (found.has(id)) continue;
    found.add(id);
    pending.push(...(byId.get(id)?.needs ?? []));
  }
  return found;
}

/** The stage with its cache bypassed (`cache.refresh`): it runs again, and its new result replaces the entry. */
export function refreshCache(stage: PlannedStage): PlannedStage {
  return stage.cache.enabled ? { ...stage, cache: { ...stage.cache, refresh: true } } : stage;
}

export function selectRerun(request: RerunRequest): RerunSelection {
  const { plan, fromStage } = request;
  requireKnownStage(request);
  const states = new Map(request.stages.map((state) => [state.id, state]));
  const downstream = new Set([fromStage, ...stagesDownstreamOf(plan, fromStage)]);
  requireReusableUpstream(request, states);
  const { rerun, reuse, notes, why } = partitionStages(request, states, downstream);
  // Only the stages the user asked to rerun bypass the cache; the others run again for want of outputs.
  const newPlan: Plan = {
    ...plan,
    params: rerunParams(request),
    stages: plan.stages.map((stage) => (downstream.has(stage.id) ? refreshCache(stage) : stage)),
  };
  return { rerun, reuse, plan: newPlan, notes, why };
}

function requireKnownStage({ plan, fromRunId, fromStage }: RerunRequest): void {
  const ids = plan.stages.map((stage) => stage.id);
  if (ids.includes(fromStage)) return;
  const near = closest(fromStage, ids);
  throw new InvalidInputError(
    `--from ${shownInput(fromStage)}: run ${fromRunId} (pipeline ${plan.pipeline.name}) has no stage ` +
      `${shownInput(fromStage)}${near ? `; did you mean ${near}?` : ''} (stages: ${ids.join(', ')})`,
    {
      code: 'unknown-stage',
      stage: fromStage,
    },
  );
}

/** Every stage upstream of the rerun must have outputs to hand it; else name the earliest one to rerun from. */
function requireReusableUpstream(
  { plan, fromRunId, fromStage }: RerunRequest,
  states: ReadonlyMap<string, StageState>,
): void {
  const ids = plan.stages.map((stage) => stage.id);
  const unusable = [...upstreamOf(plan, fromStage)].filter((id) => {
    const state = states.get(id);
    return !state || !REUSABLE.has(state.status) || !state.outputs;
  });
  if (unusable.length === 0) return;
  const ordered = ids.filter((id) => unusable.includes(id));
  const first = ordered[0] as string;
  const described = ordered.map((id) => `${id} (${states.get(id)?.status ?? 'never started'})`).join(', ');
  throw new InvalidInputError(
    `cannot rerun from ${fromStage}: upstream stage${ordered.length > 1 ? 's' : ''} ${described} of run ${fromRunId} produced no outputs to reuse. ` +
      `Rerun from the earliest of them: fineflow rerun ${fromRunId} --from ${first}`,
    { code: 'upstream-not-reusable', stages: ordered },
  );
}

/** Why a stage the user asked to rerun runs again: where the rerun starts, or which rerun stages it needs. */
function rerunReason(stage: PlannedStage, fromStage: string, downstream: ReadonlySet<string>): string {
  const bypass = stage.cache.enabled ? '; cache bypassed, its new result replaces the entry' : '';
  if (stage.id === fromStage) return `the rerun starts here${bypass}`;
  const needs = stage.needs.filter((id) => downstream.has(id));
  return `downstream of ${fromStage} (needs ${needs.join(', ')})${bypass}`;
}

/** Which stages run again and which are reused, in plan order, with what the user should know about each. */
function partitionStages(
  { plan, fromRunId, fromStage, ...request }: RerunRequest,
  states: ReadonlyMap<string, StageState>,
  downstream: ReadonlySet<string>,
): { rerun: string[]; reuse: ReusedStageOutput[]; notes: string[]; why: Record<string, string> } {
  const overrides = request.overrides ?? {};
  const unavailable = request.unavailable ?? {};
  const rerun: string[] = [];
  const reuse: ReusedStageOutput[] = [];
  const notes: string[] = [];
  const why: Record<string, string> = {};
  for (const stage of plan.stages) {
    const state = states.get(stage.id);
    if (downstream.has(stage.id)) {
      rerun.push(stage.id);
      why[stage.id] = rerunReason(stage, fromStage, downstream);
      continue;
    }
    const reusable = state !== undefined && REUSABLE.has(state.status) && Boolean(state.outputs);
    if (reusable && Object.prototype.hasOwnProperty.call(unavailable, stage.id)) {
      rerun.push(stage.id);
      why[stage.id] =
        `its outputs in run ${fromRunId} are gone (${unavailable[stage.id]}); the cache may still serve it`;
      notes.push(
        `stage ${stage.id} cannot be reused from run ${fromRunId} (${unavailable[stage.id]}): ` +
          'it runs again, unless the cache holds a valid result',
      );
      continue;
    }
    if (reusable) {
      reuse.push({ stageId: stage.id, outputs: state.outputs as JsonObject, fromRunId });
      why[stage.id] =
        state.status === 'cached'
          ? `served from the cache in run ${fromRunId}: its outputs are reused`
          : `succeeded in run ${fromRunId}: its outputs are reused`;
      const stale = paramsReferencedBy(stage).filter((name) => Object.prototype.hasOwnProperty.call(overrides, name));
      if (stale.length > 0) {
        notes.push(
          `stage ${stage.id} is reused from run ${fromRunId} but reads ` +
            `${stale.map((n) => `params.${n}`).join(', ')}, which --set changes; rerun --from ${stage.id} to apply it there too`,
        );
      }
      continue;
    }
    rerun.push(stage.id);
    why[stage.id] = `${state ? `was ${state.status}` : 'never started'} in run ${fromRunId}: no outputs to reuse`;
    notes.push(
      `stage ${stage.id} ${state ? `was ${state.status}` : 'never started'} in run ${fromRunId} ` +
        `and is not downstream of ${fromStage}: it runs again`,
    );
  }
  return { rerun, reuse, notes, why };
}

/** The plan's params with the values the rerun starts with: `--set`, else the original run's, else the default. */
function rerunParams({ plan, ...request }: RerunRequest): Plan['params'] {
  const overrides = request.overrides ?? {};
  const baseParams = request.params ?? {};
  return Object.fromEntries(
    Object.entries(plan.params).map(([name, param]) => {
      const value = Object.prototype.hasOwnProperty.call(overrides, name)
        ? overrides[name]
        : Object.prototype.hasOwnProperty.call(baseParams, name)
          ? baseParams[name]
          : param.value;
      return [name, { ...param, value: value as JsonValue }];
    }),
  );
}
