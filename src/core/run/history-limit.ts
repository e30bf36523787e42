/**
 * When a run's execution drains towards continue-as-new: one rule for the workflow (workflows/pipeline-run.ts, which
 * then starts and decides nothing of its main phase until its running stages settled) and for a reader of its history
 * without a worker (src/client/execution-stage-events.ts), which must decide no more than the execution did. Both
 * read the same facts: each workflow task's history length and Temporal's suggestion, both recorded in its
 * WorkflowTaskStarted event. Bundled into the workflow, so: pure, no Node built-ins.
 */
import { DEFAULT_HISTORY_EVENT_LIMIT } from './run-types';

/**
 * patched(): runs recorded before bounded histories never continue as new. The workflow asks it only once a task is
 * past the limit, so its marker in an execution's history means every such task of that execution drained.
 */
export const CONTINUE_AS_NEW_PATCH = 'fineflow-13-continue-as-new';

/** What a workflow task knows of its execution's history when it starts (its WorkflowTaskStarted event). */
export interface WorkflowTaskHistory {
  /** The task's WorkflowTaskStarted event id. */
  readonly historyLength: number;
  /** Temporal's `suggestContinueAsNew` on that event (the history grew large in bytes or events). */
  readonly continueAsNewSuggested: boolean;
}

/**
 * True once the execution's history passed the run's event threshold (`historyEventLimit`, counted from
 * `eventsBefore`: the history length at which a continued execution had read its state back, else 0) or Temporal
 * suggests continuing as new. Runs recorded before this existed never got there: the caller's patch marks the
 * executions that did.
 */
export function historyPastLimit(
  task: WorkflowTaskHistory,
  eventsBefore: number,
  historyEventLimit: number | undefined,
): boolean {
  const limit = historyEventLimit ?? DEFAULT_HISTORY_EVENT_LIMIT;
  return task.continueAsNewSuggested || task.historyLength - eventsBefore >= limit;
}
