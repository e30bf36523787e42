/**
 * The DAG scheduler of a pipeline run, as pure functions over the plan and the stage statuses:
 * which stages can start, which must be skipped, and what the run's status is. Bundled into
 * the `pipelineRun` workflow, so: no Node built-ins, no clock, no randomness.
 *
 * Skip propagation (the rule, in one place):
 * - A stage becomes eligible when every stage in its `needs` has settled as `succeeded`,
 *   `cached` or `skipped`.
 * - If one of those upstreams was `skipped` AND the stage reads that upstream's outputs (a
 *   `${{ stages.X.outputs… }}` reference in its `with` or `when`), the stage is skipped too:
 *   the values it needs do not exist. A stage that only orders itself after a skipped stage
 *   (an explicit `needs` without reading its outputs) runs: that is how a "cleanup" or
 *   "notify" stage is written.
 * - Its own `when` is evaluated afterwards, by the workflow (it needs the expression engine).
 * - `finally:` stages are left alone until every normal stage settled (phase `finally`).
 */
import { downstreamOf } from '../spec/dag';
import { collectConditionReferences, collectReferences } from '../spec/expressions';
import type { JsonObject, Plan, PlannedStage } from '../spec/plan-types';
import type { RunStatus, StageStatus } from './run-types';

/** Statuses after which a stage never changes again unless retried. */
export const SETTLED_OK: ReadonlySet<StageStatus> = new Set<StageStatus>(['succeeded', 'cached', 'skipped']);

/**
 * Current stage statuses: a record (tests, snapshots) or a lookup (the workflow's tracker,
 * which avoids building an object on every scheduling step of a 200-stage fan-out).
 */
export type StageStatuses =
  { readonly [stageId: string]: StageStatus } | ((stageId: string) => StageStatus | undefined);

export interface SkipDecision {
  readonly stageId: string;
  readonly reason: string;
}

export interface SchedulingStep {
  /** Pending stages whose upstreams have all settled and that read no skipped output: start them (after `when`). */
  readonly ready: readonly string[];
  /** Pending stages that must be skipped because an upstream they read from was skipped. */
  readonly skip: readonly SkipDecision[];
}

// Plans are immutable: parse each stage's expressions once, not on every scheduling step.
const readsByStage = new WeakMap<PlannedStage, ReadonlySet<string>>();

/** Ids of the stages whose outputs this stage's `with` or `when` reads. */
export function stagesReadBy(stage: PlannedStage): ReadonlySet<string> {
  let reads = readsByStage.get(stage);
  if (!reads) {
    const references = [
      ...collectReferences(stage.with),
      ...(stage.fanOut ? collectReferences(stage.fanOut as unknown as JsonObject) : []),
      ...(stage.when === undefined ? [] : collectConditionReferences(stage.when)),
    ];
    reads = new Set(references.filter((ref) => ref.kind === 'stage-output').map((ref) => ref.name));
    readsByStage.set(stage, reads);
  }
  return reads;
}

/** Status of a stage, `pending` when the map does not know it yet. */
export function statusOf(statuses: StageStatuses, stageId: string): StageStatus {
  return (typeof statuses === 'function' ? statuses(stageId) : statuses[stageId]) ?? 'pending';
}

/** Which stages a scheduling step considers: the normal ones, or (once they all settled) the `finally:` ones. */
export type SchedulingPhase = 'main' | 'finally';

/**
 * In the finally phase a finally stage waits only for the finally stages it needs (the others
 * have all settled, however they ended); it is skipped when one of those failed or was cancelled.
 */
function finallyNeedsBlock(plan: Plan, stage: PlannedStage, statuses: StageStatuses): 'wait' | string | undefined {
  for (const need of stage.needs) {
    if (plan.stages.find((s) => s.id === need)?.finally !== true) continue;
    const status = statusOf(statuses, need);
    if (status === 'failed' || status === 'cancelled') return `finally stage ${need} ${status}`;
    if (!SETTLED_OK.has(status)) return 'wait';
  }
  return undefined;
}

/**
 * One scheduling step: what to start and what to skip now. Stages are returned in plan order
 * (topological, ties by id), so starting order is stable across replays.
 */
export function nextSchedulingStep(
  plan: Plan,
  statuses: StageStatuses,
  phase: SchedulingPhase = 'main',
): SchedulingStep {
  const ready: string[] = [];
  const skip: SkipDecision[] = [];
  for (const stage of plan.stages) {
    if ((stage.finally === true) !== (phase === 'finally')) continue;
    if (statusOf(statuses, stage.id) !== 'pending') continue;
    if (phase === 'finally') {
      const block = finallyNeedsBlock(plan, stage, statuses);
      if (block === 'wait') continue;
      if (block !== undefined) {
        skip.push({ stageId: stage.id, reason: block });
        continue;
      }
    } else if (!stage.needs.every((need) => SETTLED_OK.has(statusOf(statuses, need)))) continue;
    const skippedReads = [...stagesReadBy(stage)].filter((id) => statusOf(statuses, id) === 'skipped').sort();
    if (skippedReads.length > 0) {
      skip.push({
        stageId: stage.id,
        reason: `reads outputs of skipped stage${skippedReads.length > 1 ? 's' : ''} ${skippedReads.join(', ')}`,
      });
    } else {
      ready.push(stage.id);
    }
  }
  return { ready, skip };
}

/**
 * The run's status from its normal stages (`finally:` stages are judged by src/core/run/finally.ts):
 * - `failed` as soon as a stage failed (only `onFailure: fail` stages end as `failed`; the
 *   workflow still waits for running stages to be cancelled before it ends);
 * - `cancelled` when a stage was cancelled and nothing failed;
 * - `succeeded` when every stage settled as succeeded, cached or skipped;
 * - `waiting` when a stage waits for `fineflow retry` and nothing else can make progress;
 * - `running` otherwise.
 */
export function deriveRunStatus(plan: Plan, statuses: StageStatuses): RunStatus {
  // One pass, no allocation: this runs after every stage completion.
  let failed = false;
  let cancelled = false;
  let running = false;
  let waiting = false;
  let settled = 0;
  let total = 0;
  for (const stage of plan.stages) {
    if (stage.finally === true) continue;
    total++;
    const status = statusOf(statuses, stage.id);
    if (status === 'failed') failed = true;
    else if (status === 'cancelled') cancelled = true;
    else if (status === 'running') running = true;
    else if (status === 'waiting') waiting = true;
    else if (SETTLED_OK.has(status)) settled++;
  }
  if (failed) return 'failed';
  if (cancelled) return 'cancelled';
  if (settled === total) return 'succeeded';
  if (running || !waiting) return 'running';
  const step = nextSchedulingStep(plan, statuses);
  return step.ready.length > 0 || step.skip.length > 0 ? 'running' : 'waiting';
}

/** Stages downstream of `stageId` (transitively), in plan order: the validator's graph walk over the plan's needs. */
export function stagesDownstreamOf(plan: Plan, stageId: string): string[] {
  const reached = downstreamOf(stageId, new Map(plan.stages.map((stage) => [stage.id, stage.needs])));
  return plan.stages.filter((stage) => reached.has(stage.id)).map((stage) => stage.id);
}
