/**
 * `finally:` stages (Argo's `onExit`, KFP's `ExitHandler`): they run once every normal stage has
 * settled, whatever the outcome (succeeded, failed or cancelled), and read the outcome as
 * `${{ run.status }}`, `${{ run.failedStages }}`, `${{ run.cancelledStages }}` and
 * `${{ stages.X.status }}`. Pure functions over the plan and the stage statuses; bundled into
 * the `pipelineRun` workflow, so: no Node built-ins, no clock, no randomness.
 *
 * Rules:
 * - A failed finally stage fails a run whose normal stages succeeded; it never hides the failure
 *   or cancellation of a normal stage (that stays the run's outcome).
 * - After a cancel the finally stages still run, with one attempt each (a cancel means "stop
 *   spending"), and the phase is cut after {@link finallyDeadlineMs}: the sum of their timeouts.
 */
import type { Plan, PlannedStage } from '../spec/plan-types';
import { SETTLED_OK, statusOf, type StageStatuses } from './dag';
import type { RunStatus } from './run-types';

/** How the normal stages ended: what `run.*` shows to finally stages. */
export interface RunOutcome {
  readonly status: Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>;
  /** Normal stages (and fan-out instances) that failed, in plan order. */
  readonly failedStages: readonly string[];
  readonly cancelledStages: readonly string[];
}

export function hasFinallyStages(plan: Plan): boolean {
  return plan.stages.some((stage) => stage.finally === true);
}

export function finallyStages(plan: Plan): PlannedStage[] {
  return plan.stages.filter((stage) => stage.finally === true);
}

/** The outcome of the normal stages; `cancelled` when the run itself was cancelled. */
export function runOutcome(
  plan: Plan,
  statuses: StageStatuses,
  ended: RunOutcome['status'],
  instanceIds: (stageId: string) => readonly string[] = () => [],
): RunOutcome {
  const failedStages: string[] = [];
  const cancelledStages: string[] = [];
  for (const stage of plan.stages) {
    if (stage.finally === true) continue;
    for (const id of [stage.id, ...instanceIds(stage.id)]) {
      const status = statusOf(statuses, id);
      if (status === 'failed' || status === 'waiting') failedStages.push(id);
      else if (status === 'cancelled') cancelledStages.push(id);
    }
  }
  return { status: ended, failedStages, cancelledStages };
}

/** True once every finally stage settled (succeeded, cached, skipped, failed or cancelled). */
export function finallyPhaseDone(plan: Plan, statuses: StageStatuses): boolean {
  return finallyStages(plan).every((stage) => {
    const status = statusOf(statuses, stage.id);
    return SETTLED_OK.has(status) || status === 'failed' || status === 'cancelled';
  });
}

/** The first finally stage that failed, if any (it fails a run whose normal stages succeeded). */
export function failedFinallyStage(plan: Plan, statuses: StageStatuses): string | undefined {
  return finallyStages(plan).find((stage) => statusOf(statuses, stage.id) === 'failed')?.id;
}

/** Upper bound of the finally phase of a cancelled run: one attempt of every finally stage, one after another. */
export function finallyDeadlineMs(plan: Plan): number {
  return finallyStages(plan).reduce((sum, stage) => sum + stage.timeoutMs, 0);
}

/** A finally stage as it runs after a cancel: one attempt, no riding out of outages. */
export function singleAttempt(stage: PlannedStage): PlannedStage {
  return { ...stage, retry: { ...stage.retry, maxAttempts: 1, outageBudgetMs: 0 } };
}
