/**
 * Reading a run's trigger through reruns. A rerun's own trigger says where it comes from
 * (`fromRunId`, `fromStage`); its `origin` keeps what started the original run, so what the
 * stages retrain on (a new-data trigger's dataset version) survives any number of reruns.
 * Pure: importable from workflow code.
 */
import type { OriginTrigger, RunTrigger } from './run-types';

/** The trigger that started the lineage: the trigger itself, or a rerun's recorded origin. */
export function originOf(trigger: RunTrigger): OriginTrigger | undefined {
  return trigger.kind === 'rerun' ? trigger.origin : trigger;
}

/** Dataset version a run works on: its new-data trigger's, or the one of the run it reruns. */
export function datasetVersionOf(trigger: RunTrigger): string | undefined {
  const origin = originOf(trigger);
  return origin?.kind === 'new-data' ? origin.datasetVersion : undefined;
}

/** Trigger of a rerun of a run that was started by `original` (itself possibly a rerun). */
export function rerunTrigger(original: RunTrigger, fromRunId: string, fromStage: string): RunTrigger {
  const origin = originOf(original);
  return { kind: 'rerun', fromRunId, fromStage, ...(origin ? { origin } : {}) };
}

/**
 * The trigger a stage sees in its context: the origin for a rerun (stage code reads
 * `trigger.kind === 'new-data'` for the dataset version), plus where the rerun comes from.
 */
export function stageTriggerOf(trigger: RunTrigger): {
  readonly trigger: RunTrigger;
  readonly rerunOf?: { readonly fromRunId: string; readonly fromStage: string };
} {
  if (trigger.kind !== 'rerun') return { trigger };
  const rerunOf = { fromRunId: trigger.fromRunId, fromStage: trigger.fromStage };
  return { trigger: trigger.origin ?? trigger, rerunOf };
}

/** `new-data (rerun of R from S)`: one line for status output. */
export function describeTrigger(trigger: RunTrigger): string {
  switch (trigger.kind) {
    case 'manual':
      return `manual${trigger.scheduleId ? ` trigger of schedule ${trigger.scheduleId}` : ''}${trigger.user ? ` (${trigger.user})` : ''}`;
    case 'schedule':
      return `schedule ${trigger.scheduleId}`;
    case 'new-data': {
      const why = trigger.manual
        ? 'manual trigger, data'
        : trigger.revert
          ? 'data returned to an earlier version'
          : 'new data';
      return `${why} at ${trigger.path} (dataset version ${trigger.datasetVersion})`;
    }
    case 'rerun':
      return (
        `rerun of ${trigger.fromRunId} from ` +
        `${trigger.fromStage}${trigger.origin ? `; originally ${describeTrigger(trigger.origin)}` : ''}`
      );
  }
}
